package report

import (
	"context"
	"io"
	"slices"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Source is where Generate reads a generation: a target's read layer.
type Source struct {
	Reader model.Reader
	// Generation is the generation to report on; 0 means the current one.
	Generation int
	// Normalizer maps the filtered emails the way a generation maps addresses
	// (the aliases it was built with).
	Normalizer func(model.Meta) *ident.Normalizer
	// batch is the people per batch of a streamed user view; 0 means
	// batchPeople. Tests make it small, to cross batches in a small account.
	batch int
}

// noOne is an address no person has (a published email always has a local part
// and a domain): the slice about it is a generation's meta, exclusions and small
// snapshot tables, without rows. It must be text every store can compare, so no
// NUL byte, which Postgres refuses.
const noOne = "@"

// Generate writes the report o asks for, reading no more of the generation
// than the report needs:
//
//   - the access view without filters, in every format, streams from the store
//     row by row (Reader.Scan);
//   - the user view without filters, in every format, reads the people
//     (Reader.People) and then, a batch of people at a time, a slice of their
//     memberships and grants without their rows (everyone), and streams the
//     rows person by person from Reader.Scan, once per pass the format makes
//     over the people;
//   - the object, role and all views without filters, in every format, read
//     one slice of everyone's memberships without their rows or grants, then
//     a window of objects at a time the grants on them, or a batch of roles
//     at a time their grants (Focus.RoleGrants), once per pass the format
//     makes; the object view first scans the rows once for who holds what, a
//     byte or two a row, and the role view reads every object's grants, for the
//     roles nobody holds; the user and access views of --by all stream as
//     those views alone do;
//   - a report on objects, in every view, reads the slice of the objects, whose
//     rows name their audience, then one slice about the objects and that
//     audience together; the role view adds every holder of the roles with a
//     grant on the objects (Focus.Roles), whom it lists as their members;
//   - a report on people or on the holders of roles, in the user, access or role
//     view, reads one slice about them;
//   - every other report (an object view of people, a filter by account
//     alone) reads the generation whole.
//
// o.Emails are trimmed, lower-cased addresses; Generate maps them with the
// generation's aliases.
//
// A narrowed report shows its views as the whole generation does. Its header
// counts what its slice holds of the snapshot: the access history of its people
// and objects, and of the policies not mirrored those on its objects.
func Generate(ctx context.Context, w io.Writer, src Source, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	r, n := src.Reader, src.Generation
	switch {
	case o.By == ByAccess && !o.Filtered():
		head, err := r.Slice(ctx, n, model.Focus{Email: noOne})
		if err != nil {
			return err
		}
		md := newModel(head, o)
		md.scan = func(fn func(model.Row) error) error { return r.Scan(ctx, head.Meta.Generation, fn) }
		return write(w, md)
	case o.By == ByUser && !o.Filtered():
		md, err := everyone(ctx, src, o)
		if err != nil {
			return err
		}
		if md != nil {
			return write(w, md)
		}
	case (o.By == ByObject || o.By == ByRole || o.By == ByAll) && !o.Filtered():
		md, err := wide(ctx, src, o)
		if err != nil {
			return err
		}
		if md != nil {
			return write(w, md)
		}
	case len(o.Objects) > 0:
		m, err := audience(ctx, src, &o)
		if err != nil {
			return err
		}
		return write(w, newModel(m, o))
	case (len(o.Emails) > 0 || len(o.Roles) > 0) && (o.By == ByAccess || o.By == ByUser || o.By == ByRole):
		m, err := people(ctx, src, &o)
		if err != nil {
			return err
		}
		return write(w, newModel(m, o))
	}
	m, err := r.Slice(ctx, n, model.Focus{})
	if err != nil {
		return err
	}
	o.Emails = mapEmails(src.Normalizer(m.Meta), o.Emails)
	return write(w, newModel(m, o))
}

// everyone prepares the user view of a whole generation to stream: the
// generation's meta and small snapshot tables from a slice about nobody, the
// people from Reader.People, and then, a batch of people at a time, a slice of
// their memberships, their roles' grants and their users without their rows,
// beside one pass of Reader.Scan that hands out each person's rows (once per
// pass the format makes over the people). An account with access history
// reads the batches once more first, for the history totals the header states.
// It returns nil when the generation cannot be streamed that way: without a
// snapshot to name the roles from, or with accounts not listed in the order
// the rows are.
func everyone(ctx context.Context, src Source, o Options) (*reportModel, error) {
	head, err := src.Reader.Slice(ctx, src.Generation, model.Focus{Email: noOne})
	if err != nil {
		return nil, err
	}
	if head.Snapshot == nil || !accountsSorted(head.Meta.Accounts) {
		return nil, nil
	}
	n := head.Meta.Generation
	people, err := src.Reader.People(ctx, n)
	if err != nil {
		return nil, err
	}
	_, known, err := grantedObjects(ctx, src.Reader, n, head.Meta.Accounts)
	if err != nil {
		return nil, err
	}
	b := newBatches(ctx, src, n, people, known)
	md := newModel(head, o)
	md.batches = b
	md.scan = func(fn func(model.Row) error) error { return src.Reader.Scan(ctx, n, fn) }
	for _, a := range md.accounts {
		if a.usage != nil {
			if err := b.history(a); err != nil {
				return nil, err
			}
		}
	}
	return md, nil
}

// people reads one slice about the people o.Emails names, mapped with the
// generation's aliases, and the holders of the roles o.Roles names. The aliases are the generation's own, so the first
// slice, about the addresses as given, says how they map; only when the
// mapping changes one is a second slice read, of the generation the first
// found, so a publish in between cannot mix two generations into one report.
func people(ctx context.Context, src Source, o *Options) (*model.Mirror, error) {
	given := o.Emails
	m, err := src.Reader.Slice(ctx, src.Generation, model.Focus{Emails: given, Roles: o.Roles, OwnUsers: true})
	if err != nil {
		return nil, err
	}
	o.Emails = mapEmails(src.Normalizer(m.Meta), given)
	if sameSet(given, o.Emails) {
		return m, nil
	}
	return src.Reader.Slice(ctx, m.Meta.Generation, model.Focus{Emails: o.Emails, Roles: o.Roles, OwnUsers: true})
}

// audience reads what a report on the objects o.Objects names needs: the
// slice of the objects (each filter name and, for a database or schema, every
// granted object inside it), whose rows are the people who can use them, then
// one slice about the objects and those people together, which has the
// memberships and grants that say through which roles each of them can. The
// people o.Emails names are asked about too, so a report on a person who
// cannot use the objects says so as the whole generation does. A report with
// the role view asks about the holders of every role with a grant on the
// objects, and of the roles o.Roles names: the view lists each role's members,
// whether or not they can use the objects.
func audience(ctx context.Context, src Source, o *Options) (*model.Mirror, error) {
	r := src.Reader
	objects := slices.Clone(o.Objects)
	m, err := r.Slice(ctx, src.Generation, model.Focus{Objects: objects})
	if err != nil {
		return nil, err
	}
	// Later reads name the generation the first found.
	n := m.Meta.Generation
	if slices.ContainsFunc(o.Objects, mayContain) {
		names, err := r.ObjectNames(ctx, n, "")
		if err != nil {
			return nil, err
		}
		md := &reportModel{o: *o}
		for _, name := range names {
			if md.objectAllowed(name) && !slices.Contains(objects, name) {
				objects = append(objects, name)
			}
		}
		if len(objects) > len(o.Objects) {
			if m, err = r.Slice(ctx, n, model.Focus{Objects: objects}); err != nil {
				return nil, err
			}
		}
	}
	o.Emails = mapEmails(src.Normalizer(m.Meta), o.Emails)
	people := slices.Clone(o.Emails)
	for _, e := range m.Access.Emails() {
		people = append(people, e)
	}
	var roles []string
	if slices.Contains(o.views(), ByRole) {
		md := &reportModel{o: *o}
		roles = slices.Clone(o.Roles)
		for _, g := range m.Grants {
			if md.objectAllowed(g.ObjectName) && !slices.Contains(roles, g.Role) {
				roles = append(roles, g.Role)
			}
		}
	}
	if len(people) == 0 && len(roles) == 0 {
		// Nobody can use the objects and nobody else is asked about: the
		// objects' slice is the answer.
		return m, nil
	}
	// The views read only the rows on the objects: the rest of what the
	// audience can reach is left unread.
	return r.Slice(ctx, n, model.Focus{Emails: people, Roles: roles, Objects: objects, NoPersonRows: true})
}

// mayContain reports whether a filter name can have granted objects inside it:
// a database or a schema (one or two parts). An object in a schema contains no
// other object.
func mayContain(name string) bool { return len(ident.Parts(name)) < 3 }

// sameSet reports whether two lists of addresses name the same people.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// mapEmails maps addresses with norm, keeping their order, without repeats.
func mapEmails(norm *ident.Normalizer, emails []string) []string {
	var out []string
	for _, e := range emails {
		m, _ := norm.Email(e)
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
