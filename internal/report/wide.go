package report

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// These bound what a streamed object or role view holds at once besides
// everyone's memberships: the grants on a window of at most batchObjects
// objects, or the grants of a batch of roles. Each is one read of the store.
// The grants of a role vary by thousands (an owner's, a reader's), so a batch
// of roles is cut from their counted grants to at most batchGrants grants
// (a role with more is a batch of its own), at most batchRoles roles.
const (
	batchObjects            = 5000
	batchRoles, batchGrants = 1000, 100_000
)

// wideViews reads the object and role views of a whole generation a batch at a
// time: the model holds everyone's memberships (who holds each role, and how)
// and, for the object view, who holds what (holders), not the grants or the
// rows; the views read the grants per window of objects (Focus.Objects) or
// batch of roles (Focus.RoleGrants).
type wideViews struct {
	ctx context.Context
	r   model.Reader
	n   int
	// objects are the most objects of a window, roles the most roles of a
	// batch and grants the most grants of a batch of several roles
	// (batchObjects, batchRoles, batchGrants; tests make them small).
	objects, roles, grants int
	// names are each account's granted objects, in ObjectNames order.
	names map[string][]string
	// holders are who holds what, for the object view.
	holders *holders
	// counts are each account's grants by role, for the role view's batches
	// (grantedRoles).
	counts map[string]map[string]int
}

// wide prepares the object and role views of a whole generation to stream:
// one slice about everyone without their rows (their memberships, and the
// snapshot with every user's access history), whose grants it drops, and the
// names of every granted object, against which access history is matched as
// the whole generation matches it. With the role view, one pass over the
// objects' grants finds the roles with grants that nobody holds; with the
// object view, one pass of the scan finds who holds what; with --by
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
	names, known, err := grantedObjects(ctx, r, n, m.Meta.Accounts)
	if err != nil {
		return nil, err
	}
	w := &wideViews{ctx: ctx, r: r, n: n, objects: cmp.Or(src.batch, batchObjects), roles: cmp.Or(src.batch, batchRoles), grants: cmp.Or(src.batch, batchGrants), names: names}
	md := newModelKnown(m, o, known)
	md.wide = w
	if o.By == ByAll {
		// The user and access views stream as the user view of everyone does:
		// a batch of people at a time beside one pass of the scan per pass over
		// the people. The header's history is the model's, of every user once.
		if !accountsSorted(m.Meta.Accounts) {
			return nil, nil
		}
		md.batches = newBatches(ctx, src, n, people, known)
		md.scan = func(fn func(model.Row) error) error { return r.Scan(ctx, n, fn) }
	}
	if slices.Contains(o.views(), ByRole) {
		if err := w.grantedRoles(md); err != nil {
			return nil, err
		}
	}
	if slices.Contains(o.views(), ByObject) {
		if w.holders, err = newHolders(ctx, r, n, people, w.names); err != nil {
			return nil, err
		}
	}
	return md, nil
}

// viewDone tells the model that view v is written. Once the object and role
// views of a streamed report are both written, what only they read goes:
// everyone's memberships and who holds what (at 50,000 people about 200 MB),
// so the access table of --by all streams without them.
func (md *reportModel) viewDone(v View) {
	if md.wide == nil {
		return
	}
	md.written = append(md.written, v)
	for _, x := range md.o.views() {
		if (x == ByObject || x == ByRole) && !slices.Contains(md.written, x) {
			return
		}
	}
	md.wide.holders = nil
	md.m.Memberships = nil
	for _, a := range md.accounts {
		a.people, a.roleMembers = nil, nil
	}
}

// grantedObjects returns, per account, the names of every granted object in
// ObjectNames order and as a set: a streamed view matches access history
// against them as the whole generation matches it against the objects of
// all its grants, whether or not anybody holds the role of a grant.
func grantedObjects(ctx context.Context, r model.Reader, n int, accounts []model.AccountMeta) (map[string][]string, map[string]map[string]bool, error) {
	names, known := map[string][]string{}, map[string]map[string]bool{}
	for _, a := range accounts {
		l, err := r.ObjectNames(ctx, n, a.Name)
		if err != nil {
			return nil, nil, err
		}
		names[a.Name] = l
		known[a.Name] = make(map[string]bool, len(l))
		for _, name := range l {
			known[a.Name][name] = true
		}
	}
	return names, known, nil
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

// grantedRoles adds to each account's roles those with a grant, and counts
// every role's grants, read from the grants on every object without their
// rows: a role nobody holds and no role nests is known only from its grants,
// and the role view lists it.
func (w *wideViews) grantedRoles(md *reportModel) error {
	w.counts = map[string]map[string]int{}
	for _, a := range md.accounts {
		counts := make(map[string]int, len(a.roles))
		for _, r := range a.roles {
			counts[r] = 0
		}
		for _, window := range chunks(w.names[a.meta.Name], w.objects) {
			grants, err := w.grantsOn(window)
			if err != nil {
				return err
			}
			for _, g := range grants {
				if g.Account != a.meta.Name {
					continue
				}
				if _, ok := counts[g.Role]; !ok {
					// The names outlive the slice: copies, so that it can go.
					r := strings.Clone(g.Role)
					a.roles = append(a.roles, r)
					counts[r] = 0
				}
				counts[g.Role]++
			}
		}
		slices.Sort(a.roles)
		w.counts[a.meta.Name] = counts
	}
	return nil
}

// objectReports yields a's object reports a window of objects at a time,
// the grants on them from one slice without rows, beside the memberships the
// model holds and who holds what (holders); false when yield stopped or a
// read failed (md.err).
func (w *wideViews) objectReports(md *reportModel, a *account, yield func(*ObjectReport) bool) bool {
	for _, window := range chunks(w.names[a.meta.Name], w.objects) {
		grants, err := w.grantsOn(window)
		if err != nil {
			md.err = err
			return false
		}
		ba := a.withGrants(grants)
		ba.rows = w.holders
		if !md.accountObjects(ba, yield) {
			return false
		}
	}
	return true
}

// grantsOn reads the grants on a window of objects, from a slice without rows
// or snapshot. The slice also has the grants on the objects' containers,
// which are objects of their own window: those are left out.
func (w *wideViews) grantsOn(window []string) ([]model.Grant, error) {
	m, err := w.r.Slice(w.ctx, w.n, model.Focus{Objects: window, NoPersonRows: true, NoAudience: true, NoSnapshot: true})
	if err != nil {
		return nil, err
	}
	in := make(map[string]bool, len(window))
	for _, name := range window {
		in[name] = true
	}
	return slices.DeleteFunc(m.Grants, func(g model.Grant) bool { return !in[g.ObjectName] }), nil
}

// holders says who holds each privilege on each object, from one pass of
// the scan: for each object (by its place in its account's names) and
// privilege, the people of its rows (by their place in Reader.People) in
// table order, each as the varint of its distance from the one before. The
// object view asks whether a member of a role granted on an object holds the
// privilege, as the generation's rows would answer: a byte or two a row,
// where a row in memory is about 150.
type holders struct {
	people  map[model.Person]int32
	objects map[string]map[string]int32 // account → object name → place
	codes   map[string]uint64           // object type or privilege → a small number
	by      map[uint64]*holderList
	// The people of the key asked last, marked with the number of that ask:
	// the object view asks about every member of a granted role, one object
	// and privilege after another.
	last  uint64
	asked uint32
	marks []uint32
}

// holderList is the people of one object and privilege.
type holderList struct {
	prev int32
	b    []byte
}

// newHolders scans generation n once.
func newHolders(ctx context.Context, r model.Reader, n int, people []model.Person, names map[string][]string) (*holders, error) {
	h := &holders{people: make(map[model.Person]int32, len(people)), objects: map[string]map[string]int32{}, codes: map[string]uint64{},
		by: map[uint64]*holderList{}, marks: make([]uint32, len(people))}
	for i, p := range people {
		h.people[p] = int32(i)
	}
	for account, l := range names {
		h.objects[account] = make(map[string]int32, len(l))
		for i, name := range l {
			h.objects[account][name] = int32(i)
		}
	}
	err := r.Scan(ctx, n, func(row model.Row) error {
		id, k, ok := h.place(row, true)
		if !ok {
			// A person without memberships is nobody's member: the object
			// view never asks about them.
			return nil
		}
		l := h.by[k]
		if l == nil {
			l = &holderList{prev: -1}
			h.by[k] = l
		}
		if id <= l.prev {
			return fmt.Errorf("generation %d: the scan is not in table order at %s", n, row.Email)
		}
		l.b = binary.AppendUvarint(l.b, uint64(id-l.prev))
		l.prev = id
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range h.by {
		l.b = slices.Clip(l.b)
	}
	return h, nil
}

// place numbers the person of r and its object and privilege; with add, an
// object type or privilege not seen before gets a number. False when r's
// person holds no membership or its object is no granted object of its
// account (a row always has a grant behind it).
func (h *holders) place(r model.Row, add bool) (int32, uint64, bool) {
	id, ok := h.people[model.Person{Account: r.Account, Email: r.Email}]
	if !ok {
		return 0, 0, false
	}
	obj, ok := h.objects[r.Account][r.ObjectName]
	if !ok {
		return 0, 0, false
	}
	code := func(s string) (uint64, bool) {
		c, ok := h.codes[s]
		if !ok && add {
			c = uint64(len(h.codes))
			h.codes[strings.Clone(s)] = c
			ok = true
		}
		return c, ok
	}
	typ, ok1 := code(r.ObjectType)
	priv, ok2 := code(r.Privilege)
	return id, uint64(obj)<<32 | typ<<16 | priv, ok1 && ok2
}

// Has reports whether the generation has row r.
func (h *holders) Has(r model.Row) bool {
	id, k, ok := h.place(r, false)
	if !ok {
		return false
	}
	if h.asked == 0 || k != h.last {
		h.asked++
		h.last = k
		if l := h.by[k]; l != nil {
			for b, p := l.b, int32(-1); len(b) > 0; {
				d, w := binary.Uvarint(b)
				b = b[w:]
				p += int32(d)
				h.marks[p] = h.asked
			}
		}
	}
	return h.marks[id] == h.asked
}

// roleReports yields a's role reports a batch of roles at a time, each batch's
// grants from one slice; false when yield stopped or a read failed (md.err).
func (w *wideViews) roleReports(md *reportModel, a *account, yield func(*RoleReport) bool) bool {
	counts := w.counts[a.meta.Name]
	for roles := a.roles; len(roles) > 0; {
		k, sum := 1, counts[roles[0]]
		for k < len(roles) && k < w.roles && sum+counts[roles[k]] <= w.grants {
			sum += counts[roles[k]]
			k++
		}
		batch := roles[:k]
		roles = roles[k:]
		m, err := w.r.Slice(w.ctx, w.n, model.Focus{RoleGrants: batch, NoSnapshot: true})
		if err != nil {
			md.err = err
			return false
		}
		if !md.accountRoles(a.withGrants(m.Grants), batch, yield) {
			return false
		}
	}
	return true
}

// withGrants returns a copy of a that files grants instead of its own: a
// batch of the object or role view.
func (a *account) withGrants(grants []model.Grant) *account {
	b := *a
	b.byRole, b.byObject, b.roleIDs, b.objects = map[string][]*model.Grant{}, map[objKey][]objGrant{}, map[string]int32{}, nil
	b.indexGrants(grants)
	return &b
}
