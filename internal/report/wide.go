package report

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// These bound what a streamed object or role view holds at once: the grants
// on a batch of objects and the rows on them, or the grants of a batch of
// roles. Each batch is one read of the store. The rows on an object vary by
// thousands (a database is used by nearly everyone, a table by a few), and
// the grants of a role as much (an owner's, a reader's): a window of at most
// batchObjects objects is cut into batches of at most batchRows possible rows
// (objectReports), and a batch of roles is sized from the batch before it
// (nextBatch) to about batchGrants grants, at most batchRoles roles.
const (
	batchObjects, batchRows             = 5000, 500_000
	firstRoles, batchRoles, batchGrants = 16, 1000, 100_000
)

// nextBatch sizes the batch after one of n elements that brought got grants:
// about target of them at the same rate, at most twice n (the next elements
// may bring many more than these) and at most limit, at least one.
func nextBatch(n, got, target, limit int) int {
	return max(min(n*target/max(got, 1), 2*n, limit), 1)
}

// wideViews reads the object and role views of a whole generation a batch at a
// time: the model holds everyone's memberships (who holds each role, and how),
// not the grants or the rows, which the views read per batch of objects (the
// grants on them and the rows on them, Focus.Objects) or of roles (their
// grants, Focus.RoleGrants).
type wideViews struct {
	ctx context.Context
	r   model.Reader
	n   int
	// objects and roles are the objects and the roles of a batch.
	objects, roles int
	// names are each account's granted objects, in ObjectNames order.
	names map[string][]string
}

// wide prepares the object and role views of a whole generation to stream:
// one slice about everyone without their rows (their memberships, and the
// snapshot with every user's access history), whose grants it drops, and the
// names of every granted object, against which access history is matched as
// the whole generation matches it. With the role view, one pass over the
// objects' grants finds the roles with grants that nobody holds; with --by
// all, the user and access views stream as everyone's user view does. It
// returns nil when the generation cannot be read that way: without a snapshot
// to name the roles from, or, with --by all, with accounts not listed in the
// order the rows are.
func wide(ctx context.Context, src Source, o Options) (*reportModel, error) {
	r := src.Reader
	head, err := r.Slice(ctx, src.Generation, model.Focus{Email: noOne})
	if err != nil {
		return nil, err
	}
	if head.Snapshot == nil {
		return nil, nil
	}
	n := head.Meta.Generation
	people, err := r.People(ctx, n)
	if err != nil {
		return nil, err
	}
	// noOne keeps the focus about somebody when the generation has nobody.
	f := model.Focus{Email: noOne, NoPersonRows: true}
	for _, p := range people {
		f.Emails = append(f.Emails, p.Email)
	}
	m, err := r.Slice(ctx, n, f)
	if err != nil {
		return nil, err
	}
	// Each batch brings the grants it needs.
	m.Grants = nil
	w := &wideViews{ctx: ctx, r: r, n: n, objects: cmp.Or(src.batch, batchObjects), roles: cmp.Or(src.batch, batchRoles), names: map[string][]string{}}
	known := map[string]map[string]bool{}
	for _, a := range m.Meta.Accounts {
		names, err := r.ObjectNames(ctx, n, a.Name)
		if err != nil {
			return nil, err
		}
		w.names[a.Name] = names
		known[a.Name] = make(map[string]bool, len(names))
		for _, name := range names {
			known[a.Name][name] = true
		}
	}
	md := newModelKnown(m, o, known)
	md.wide = w
	if o.By == ByAll {
		// The user and access views stream as the user view of everyone does:
		// a batch of people at a time beside one pass of the scan per pass over
		// the people. The header's history is the model's, of every user once.
		sorted := slices.IsSortedFunc(m.Meta.Accounts, func(a, b model.AccountMeta) int { return strings.Compare(a.Name, b.Name) })
		if !sorted {
			return nil, nil
		}
		b := &batches{ctx: ctx, r: r, n: n, size: cmp.Or(src.batch, batchPeople), people: map[string][]string{}, known: known}
		for _, p := range people {
			b.people[p.Account] = append(b.people[p.Account], p.Email)
		}
		md.batches = b
		md.scan = func(fn func(model.Row) error) error { return r.Scan(ctx, n, fn) }
	}
	if slices.Contains(o.views(), ByRole) {
		if err := w.grantedRoles(md); err != nil {
			return nil, err
		}
	}
	return md, nil
}

// chunks cuts l into runs of at most size.
func chunks[T any](l []T, size int) [][]T {
	var out [][]T
	for len(l) > 0 {
		k := min(size, len(l))
		out = append(out, l[:k])
		l = l[k:]
	}
	return out
}

// grantedRoles adds to each account's roles those with a grant, read from the
// grants on every object without their rows: a role nobody holds and no role
// nests is known only from its grants, and the role view lists it.
func (w *wideViews) grantedRoles(md *reportModel) error {
	for _, a := range md.accounts {
		roles := map[string]bool{}
		for _, batch := range chunks(w.names[a.meta.Name], w.objects) {
			m, err := w.r.Slice(w.ctx, w.n, model.Focus{Objects: batch, NoPersonRows: true, NoAudience: true, NoSnapshot: true})
			if err != nil {
				return err
			}
			for _, g := range m.Grants {
				if g.Account == a.meta.Name && !roles[g.Role] && !slices.Contains(a.roles, g.Role) {
					// The names outlive the slice: copies, so that it can go.
					roles[strings.Clone(g.Role)] = true
				}
			}
		}
		for r := range roles {
			a.roles = append(a.roles, r)
		}
		slices.Sort(a.roles)
	}
	return nil
}

// objectReports yields a's object reports a batch of objects at a time,
// beside the memberships the model holds; false when yield stopped or a read
// failed (md.err). The rows on an object are bounded by the members of the
// roles granted on it, so the grants on a window of objects are read first,
// without rows, and the window is cut into batches of at most batchRows such
// members (one object at least), each read with its rows.
func (w *wideViews) objectReports(md *reportModel, a *account, yield func(*ObjectReport) bool) bool {
	for _, window := range chunks(w.names[a.meta.Name], w.objects) {
		m, err := w.r.Slice(w.ctx, w.n, model.Focus{Objects: window, NoPersonRows: true, NoAudience: true, NoSnapshot: true})
		if err != nil {
			md.err = err
			return false
		}
		bound := make(map[string]int, len(window))
		for _, g := range m.Grants {
			if g.Account == a.meta.Name {
				bound[g.ObjectName] += len(a.roleMembers[g.Role])
			}
		}
		for len(window) > 0 {
			k, sum := 1, bound[window[0]]
			for k < len(window) && sum+bound[window[k]] <= batchRows {
				sum += bound[window[k]]
				k++
			}
			if !w.objectBatch(md, a, window[:k], yield) {
				return false
			}
			window = window[k:]
		}
	}
	return true
}

// objectBatch yields the object reports of a batch of a's objects from one
// slice of the grants and the rows on them; false when yield stopped or the
// read failed (md.err).
func (w *wideViews) objectBatch(md *reportModel, a *account, batch []string, yield func(*ObjectReport) bool) bool {
	m, err := w.r.Slice(w.ctx, w.n, model.Focus{Objects: batch, NoSnapshot: true})
	if err != nil {
		md.err = err
		return false
	}
	// The slice also has the grants on the objects' containers, which are
	// objects of their own batch.
	in := make(map[string]bool, len(batch))
	for _, name := range batch {
		in[name] = true
	}
	ba := a.withGrants(m.Grants, func(g *model.Grant) bool { return in[g.ObjectName] })
	ba.rows = m.Access
	return md.accountObjects(ba, yield)
}

// roleReports yields a's role reports a batch of roles at a time, each batch's
// grants from one slice; false when yield stopped or a read failed (md.err).
func (w *wideViews) roleReports(md *reportModel, a *account, yield func(*RoleReport) bool) bool {
	roles, size := a.roles, min(firstRoles, w.roles)
	for len(roles) > 0 {
		batch := roles[:min(size, len(roles))]
		roles = roles[len(batch):]
		m, err := w.r.Slice(w.ctx, w.n, model.Focus{RoleGrants: batch, NoSnapshot: true})
		if err != nil {
			md.err = err
			return false
		}
		size = nextBatch(len(batch), len(m.Grants), batchGrants, w.roles)
		if !md.accountRoles(a.withGrants(m.Grants, nil), batch, yield) {
			return false
		}
	}
	return true
}

// withGrants returns a copy of a that files grants (those keep accepts)
// instead of its own: a batch of the object or role view.
func (a *account) withGrants(grants []model.Grant, keep func(*model.Grant) bool) *account {
	b := *a
	b.byRole, b.byObject, b.roleIDs, b.objects = map[string][]*model.Grant{}, map[objKey][]objGrant{}, map[string]int32{}, nil
	b.indexGrants(grants, keep)
	return &b
}
