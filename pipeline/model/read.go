package model

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// Reader answers questions about one kept generation without reading all of it:
// check, explain, diff and report --email ask a store one question each, so their
// cost follows the answer, not the size of the mirror. Both stores implement it,
// and storetest checks them against SliceOf and ChangesOf, which compute the same
// answers from a whole generation.
type Reader interface {
	// Slice returns the part of generation n (0: the current one) that concerns f,
	// as SliceOf defines it.
	Slice(ctx context.Context, n int, f Focus) (*Mirror, error)
	// Changes returns what changed from generation from to generation to, narrowed
	// to f (an empty Focus means everything), as ChangesOf defines it. f.Roles and
	// f.NoPersonRows, f.NoAudience and f.NoSnapshot are questions of a slice,
	// not of a change: Changes ignores them.
	Changes(ctx context.Context, from, to int, f Focus) (*Changes, error)
	// Scan streams every row of generation n in table order without holding the
	// generation in memory; fn's error stops the scan and is returned.
	Scan(ctx context.Context, n int, fn func(Row) error) error
	// ObjectNames returns the distinct object names the grants of generation n
	// name in an account (every account when empty), sorted: explain suggests
	// similar names from them when an object has no grant.
	ObjectNames(ctx context.Context, n int, account string) ([]string, error)
	// People returns every person generation n holds a membership for, in
	// table order (account, then email), as PeopleOf defines it: a report on
	// everyone reads their memberships a batch of people at a time instead of
	// all at once.
	People(ctx context.Context, n int) ([]Person, error)
}

// Person is one address of one account that memberships are filed under.
type Person struct {
	Account, Email string
}

// Focus narrows a question to people, to objects, or to both. Emails are
// normalized addresses as published; objects are canonical names. Email is one
// person (check and explain ask about one); Emails are several, asked at once
// (a report on an object's audience, diff's causes): a store answers them in
// one read, not one per person. A slice about both is the slice about their
// union.
type Focus struct {
	Email   string
	Emails  []string
	Objects []string
	// NoPersonRows leaves the people's own rows out of a slice (their rows on
	// f.Objects stay): a question about why people hold what they hold (diff's
	// causes, an object's audience in a report) needs their memberships and
	// grants, not the rest of what they can reach, which is most of what a
	// slice about many people would read. It narrows nothing by itself, and
	// Changes ignores it.
	NoPersonRows bool
	// NoAudience keeps, of the rows on f.Objects, only the people's (with
	// NoPersonRows too, those are all the rows a slice holds): a question about
	// one person and an object (check, explain) needs the person's rows and the
	// grants on the object and its containers, not everyone who can reach the
	// object, which on a popular object is most of what a slice would read.
	// Changes ignores it.
	NoAudience bool
	// NoSnapshot leaves the snapshot out of a slice (Snapshot is nil): rows,
	// memberships and grants decide an access question, and the snapshot's
	// tables, every user of every account among them, are what a point
	// question would otherwise spend most of its time decoding. check reads
	// it only to name a mistyped address when the answer is no. Changes
	// ignores it.
	NoSnapshot bool
	// OwnUsers keeps, of the snapshot's users and grants of roles to users,
	// only the people's own: the users whose address, mapped as the generation
	// maps addresses (Meta.Settings), is one of the people's, the users of the
	// slice's memberships (a user filed under several addresses by email
	// aliases is one of each's), and the grants to users of those names. Every
	// other table is sliced as without it. A yes from explain needs only the
	// person's sessions, a person's report only the users of their
	// memberships, and at 50,000 users the users and their grants are most of
	// what a point question decodes; why-not (near addresses, disabled users)
	// reads them all. A generation that recorded no settings keeps every user.
	// Changes ignores it.
	OwnUsers bool
	// Roles asks about every person who holds a role of one of these names, in
	// any account, directly or through nesting (a membership of that role), as
	// if Emails named them: a report's role view lists each holder of a role,
	// and a store finds them without reading every person.
	Roles []string
	// RoleGrants asks for every grant to a role of one of these names, in any
	// account, whether or not anybody holds it, without asking about anyone:
	// the role view of a whole generation lists each role's grants a batch of
	// roles at a time, roles nobody holds among them.
	RoleGrants []string
}

// Empty reports whether f narrows nothing.
func (f Focus) Empty() bool {
	return f.Email == "" && len(f.Emails) == 0 && len(f.Objects) == 0 && len(f.Roles) == 0 && len(f.RoleGrants) == 0
}

// People returns the people f names, Email and Emails together, sorted and
// without repeats (empty strings left out): the order a caller lists them in
// changes nothing.
func (f Focus) People() []string {
	out := make([]string, 0, len(f.Emails)+1)
	if f.Email != "" {
		out = append(out, f.Email)
	}
	for _, e := range f.Emails {
		if e != "" {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// personSet is f.People as a set.
func (f Focus) personSet() map[string]bool {
	set := map[string]bool{}
	for _, e := range f.People() {
		set[e] = true
	}
	return set
}

// Matches returns the filter ChangesOf applies: a changed row matches when its
// person is one of f's or its object one of f.Objects; with neither (f.Roles
// and the No… flags do not count) every row matches.
func (f Focus) Matches() func(Row) bool {
	people := f.personSet()
	if len(people) == 0 && len(f.Objects) == 0 {
		return func(Row) bool { return true }
	}
	objects := map[string]bool{}
	for _, o := range f.Objects {
		objects[o] = true
	}
	return func(r Row) bool { return people[r.Email] || objects[r.ObjectName] }
}

// objectSet is the focus objects with their containers: the names whose grants
// and snapshot records a question about the objects needs (effective access asks
// for USAGE on the database and schema too).
func (f Focus) objectSet() map[string]bool {
	set := map[string]bool{}
	for _, o := range f.Objects {
		set[o] = true
		for _, c := range ContainerNames(o) {
			set[c] = true
		}
	}
	return set
}

// ContainerNames returns the database and schema names above a canonical name:
// the containers whose grants and records a question about the name needs.
func ContainerNames(name string) []string {
	parts := ident.Parts(name)
	switch {
	case len(parts) >= 3:
		return []string{parts[0], parts[0] + "." + parts[1]}
	case len(parts) == 2:
		return []string{parts[0]}
	}
	return nil
}

// Changes is what changed between two generations: rows added and removed, in
// table order.
type Changes struct {
	From, To int
	Added    []Row
	Removed  []Row
}

// All yields the added and removed rows together in table order, as Diff does
// for two whole tables.
func (c *Changes) All() iter.Seq[Change] {
	return func(yield func(Change) bool) {
		i, j := 0, 0
		for i < len(c.Added) || j < len(c.Removed) {
			if j == len(c.Removed) || i < len(c.Added) && c.Added[i].Compare(c.Removed[j]) < 0 {
				if !yield(Change{c.Added[i], true}) {
					return
				}
				i++
				continue
			}
			if !yield(Change{c.Removed[j], false}) {
				return
			}
			j++
		}
	}
}

// SliceOf is the answer Reader.Slice must give, computed from a whole generation
// m. The people of f are f.People(), Email and Emails alike, and every holder of
// a role f.Roles names (RoleHolders). The slice keeps m's
// Meta, Excluded and Masked, and:
//
//   - Access: every row of the people (all accounts; none with NoPersonRows),
//     and every row on f.Objects (only the people's with NoAudience);
//   - Memberships: those of the people, and those of every user who holds one of
//     them (the same Snowflake user filed under another address by email
//     aliases);
//   - Grants: those on f.Objects and their containers, and every grant to a role
//     of those memberships in its account (what the people hold and why: the
//     roles behind each of their rows, which report --email shows), and every
//     grant to a role f.RoleGrants names;
//   - Snapshot: every user, role and role-to-user grant (small tables, which
//     why-not needs whole to find the person's users and the role graph;
//     with OwnUsers, only the people's own users, those of the memberships
//     and the grants to them); of
//     grants_to_roles the rows on f.Objects and their containers and every
//     role-to-role grant; tags and policies on f.Objects; access history on
//     f.Objects and of the users of those memberships (user names compared
//     case-insensitively), which a person's report marks used or unused; none
//     with NoSnapshot.
//
// A slice about several people is the union of their one-person slices (with
// the objects' part once). With an empty Focus the slice is m itself.
func SliceOf(m *Mirror, f Focus) *Mirror {
	if f.Empty() {
		return m
	}
	objects := f.objectSet()
	people := f.personSet()
	for _, e := range RoleHolders(m.Memberships, f.Roles) {
		people[e] = true
	}
	focus := map[string]bool{}
	for _, o := range f.Objects {
		focus[o] = true
	}
	out := &Mirror{Meta: m.Meta, Excluded: m.Excluded, Masked: m.Masked}
	var rows []Row
	for r := range m.Access.All() {
		if people[r.Email] && !f.NoPersonRows || focus[r.ObjectName] && (!f.NoAudience || people[r.Email]) {
			rows = append(rows, r)
		}
	}
	out.Access = NewAccess(rows)
	users := map[[2]string]bool{}
	for _, ms := range m.Memberships {
		if people[ms.Email] {
			users[[2]string{ms.Account, ms.User}] = true
		}
	}
	roles := map[[2]string]bool{}
	granted := map[string]bool{}
	for _, r := range f.RoleGrants {
		granted[r] = true
	}
	historyUsers := map[[2]string]bool{}
	for _, ms := range m.Memberships {
		if users[[2]string{ms.Account, ms.User}] {
			out.Memberships = append(out.Memberships, ms)
			roles[[2]string{ms.Account, ms.Role}] = true
			historyUsers[[2]string{ms.Account, strings.ToUpper(ms.User)}] = true
		}
	}
	for _, g := range m.Grants {
		if objects[g.ObjectName] || roles[[2]string{g.Account, g.Role}] || granted[g.Role] {
			out.Grants = append(out.Grants, g)
		}
	}
	if m.Snapshot != nil && !f.NoSnapshot {
		var own func(account string, u *User) bool
		if f.OwnUsers && m.Meta.Settings != nil {
			norm := m.Meta.Normalizer()
			own = func(account string, u *User) bool {
				e, _ := norm.User(u.Name, u.Email)
				return people[e] || users[[2]string{account, u.Name}]
			}
		}
		out.Snapshot = &Snapshot{}
		for _, a := range m.Snapshot.Accounts {
			out.Snapshot.Accounts = append(out.Snapshot.Accounts, sliceAccount(a, objects, historyUsers, own))
		}
	}
	return out
}

// RoleHolders returns the people of the memberships that hold a role of one of
// the names roles lists, in any account, sorted and without repeats: who
// Focus.Roles asks about.
func RoleHolders(ms []Membership, roles []string) []string {
	if len(roles) == 0 {
		return nil
	}
	var out []string
	for _, m := range ms {
		if slices.Contains(roles, m.Role) {
			out = append(out, m.Email)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sliceAccount keeps what SliceOf keeps of one account's snapshot; users holds
// (account, upper-cased user name) of the users whose access history is kept,
// and own, when not nil, says which users (and grants to their names) to keep.
func sliceAccount(a *Account, objects map[string]bool, users map[[2]string]bool, own func(string, *User) bool) *Account {
	b := *a
	if own != nil {
		b.Users, b.UserGrants = nil, nil
		names := map[string]bool{}
		for i := range a.Users {
			if own(a.Name, &a.Users[i]) {
				b.Users = append(b.Users, a.Users[i])
				names[a.Users[i].Name] = true
			}
		}
		for _, g := range a.UserGrants {
			if names[g.Grantee] {
				b.UserGrants = append(b.UserGrants, g)
			}
		}
	}
	b.RoleGrants = nil
	for _, rg := range a.RoleGrants {
		if KeptWhole(&rg) || objects[ObjectName(&rg)] {
			b.RoleGrants = append(b.RoleGrants, rg)
		}
	}
	b.Tags = nil
	for _, t := range a.Tags {
		if objects[RefObject(t.ObjectDatabase, t.ObjectSchema, t.ObjectName)] {
			b.Tags = append(b.Tags, t)
		}
	}
	b.Policies = nil
	for _, p := range a.Policies {
		if objects[RefObject(p.Database, p.Schema, p.Entity)] {
			b.Policies = append(b.Policies, p)
		}
	}
	b.History = nil
	for _, h := range a.History {
		if objects[HistoryObject(h.ObjectName)] || users[[2]string{a.Name, strings.ToUpper(h.User)}] {
			b.History = append(b.History, h)
		}
	}
	return &b
}

// KeptWhole reports whether every slice keeps a grants_to_roles row whatever its
// focus: role-to-role grants (nesting), which why-not needs for the role graph,
// and grants to applications and shares, which no person reaches but every answer
// lists as not mirrored (NotMirrored).
func KeptWhole(rg *RoleGrant) bool {
	switch rg.GrantedOn {
	case "ROLE", "DATABASE_ROLE", "APPLICATION_ROLE", "INSTANCE_ROLE":
		return true
	}
	return rg.GrantedTo == "APPLICATION" || rg.GrantedTo == "SHARE"
}

// ChangesOf is the answer Reader.Changes must give, computed from two whole
// generations: the rows of to missing from from (added) and the reverse
// (removed), narrowed to the rows f.Matches.
func ChangesOf(from, to *Mirror, fromN, toN int, f Focus) *Changes {
	match := f.Matches()
	c := &Changes{From: fromN, To: toN}
	for r := range to.Access.All() {
		if match(r) && !from.Access.Has(r) {
			c.Added = append(c.Added, r)
		}
	}
	for r := range from.Access.All() {
		if match(r) && !to.Access.Has(r) {
			c.Removed = append(c.Removed, r)
		}
	}
	return c
}

// ObjectNamesOf is the answer Reader.ObjectNames must give, from a whole generation.
func ObjectNamesOf(m *Mirror, account string) []string {
	var names []string
	for _, g := range m.Grants {
		if account == "" || g.Account == account {
			names = append(names, g.ObjectName)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// PeopleOf is the answer Reader.People must give, from a whole generation: the
// distinct (account, email) of its memberships, sorted.
func PeopleOf(m *Mirror) []Person {
	var out []Person
	for _, ms := range m.Memberships {
		out = append(out, Person{ms.Account, ms.Email})
	}
	return SortPeople(out)
}

func comparePeople(a, b Person) int {
	if c := strings.Compare(a.Account, b.Account); c != 0 {
		return c
	}
	return strings.Compare(a.Email, b.Email)
}

// SortPeople sorts people in table order and drops repeats.
func SortPeople(p []Person) []Person {
	slices.SortFunc(p, comparePeople)
	return slices.Compact(p)
}

// HistoryObject canonicalizes a dotted name as access history records it, so it
// compares with published names; a name that does not parse is kept upper-cased.
func HistoryObject(name string) string {
	if c, err := ident.Canonical(name); err == nil {
		return c
	}
	return strings.ToUpper(name)
}

// RefObject is the canonical name of the object a tag or policy reference is on,
// from its database, schema and name columns; empty columns are left out, so a
// reference to a database or schema names that container.
func RefObject(database, schema, name string) string {
	var parts []string
	for _, p := range []string{database, schema, name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return ident.Join(parts...)
}

// wholeReader answers Reader questions by reading whole generations with Open.
type wholeReader struct{ s Store }

// ReaderOf returns s's own Reader when it has one; otherwise a Reader that reads
// whole generations, correct but as slow as Open.
func ReaderOf(s Store) Reader {
	if r, ok := s.(Reader); ok {
		return r
	}
	return wholeReader{s}
}

func (w wholeReader) Slice(ctx context.Context, n int, f Focus) (*Mirror, error) {
	m, err := w.s.Open(ctx, n)
	if err != nil {
		return nil, err
	}
	return SliceOf(m, f), nil
}

func (w wholeReader) Changes(ctx context.Context, from, to int, f Focus) (*Changes, error) {
	a, err := w.s.Open(ctx, from)
	if err != nil {
		return nil, err
	}
	b, err := w.s.Open(ctx, to)
	if err != nil {
		return nil, err
	}
	return ChangesOf(a, b, a.Meta.Generation, b.Meta.Generation, f), nil
}

func (w wholeReader) Scan(ctx context.Context, n int, fn func(Row) error) error {
	m, err := w.s.Open(ctx, n)
	if err != nil {
		return err
	}
	for r := range m.Access.All() {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (w wholeReader) ObjectNames(ctx context.Context, n int, account string) ([]string, error) {
	m, err := w.s.Open(ctx, n)
	if err != nil {
		return nil, err
	}
	return ObjectNamesOf(m, account), nil
}

func (w wholeReader) People(ctx context.Context, n int) ([]Person, error) {
	m, err := w.s.Open(ctx, n)
	if err != nil {
		return nil, err
	}
	return PeopleOf(m), nil
}
