package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// reportModel indexes a generation once so that every view can answer "through which
// role" without scanning the whole grant list per row.
type reportModel struct {
	m        *model.Mirror
	o        Options
	accounts []*account
	// missing lists the filtered emails that no account of the generation knows.
	missing []string
	// scan, when set, streams the access rows from the store instead of m.Access,
	// so a full access report never holds the generation; err keeps its failure.
	scan func(fn func(model.Row) error) error
	err  error
	// batches, when set, gives the user view its people a batch at a time
	// (everyone); the accounts then hold no people.
	batches *batches
	// wide, when set, gives the object and role views their grants a window of
	// objects or a batch of roles at a time, and the object view who holds
	// what (wideViews); the accounts then hold everyone's memberships and no
	// grants.
	wide *wideViews
	// written are the views a streamed report has written (viewDone).
	written []View
}

// objKey names an object within one account.
type objKey struct{ typ, name string }

func (k objKey) compare(o objKey) int {
	if c := cmp.Compare(k.name, o.name); c != 0 {
		return c
	}
	return cmp.Compare(k.typ, o.typ)
}

// account is the index of one account of the generation.
type account struct {
	meta model.AccountMeta
	snap *model.Account // nil when the store kept no snapshot

	users       map[string]*model.User // active users by name, from the snapshot
	people      map[string]*person     // by email
	emails      []string               // sorted, after the email filter
	selected    map[string]bool        // the same emails, as a set
	groups      map[objKey]string      // object → database or schema it is grouped under
	roleMembers map[string][]*model.Membership
	byRole      map[string][]*model.Grant // a role's own grants, in object order
	byObject    map[objKey][]objGrant     // the grants on an object, in role order
	roleIDs     map[string]int32          // a number for every role with a grant, for held
	heldBuf     []bool
	objects     []objKey            // every granted object, sorted by name
	inherits    map[string][]string // role → roles granted to it
	inheritedBy map[string][]string // role → roles it is granted to
	roles       []string            // every known role, sorted
	through     map[string]bool     // roles the role filter lets through; nil: all
	usage       *usage              // nil without access history
	cutoff      time.Time           // access before this is not recent
	snapshotAt  time.Time           // the account's extraction time, or the report's
	// rows, when set, says which rows the object view finds instead of the
	// generation's rows: who holds what, from a scan (wideViews).
	rows interface{ Has(model.Row) bool }
}

// objGrant is a grant on an object with its role's number in account.roleIDs:
// the user view tests each grant on each of a person's objects against the
// roles the person holds, and a number indexes a slice where a name would be
// hashed, millions of times in a large account.
type objGrant struct {
	*model.Grant
	role int32
}

// held returns, indexed by role number, which of the roles with a grant p
// holds, in a buffer the account reuses: valid until the next call.
func (a *account) held(p *person) []bool {
	if len(a.heldBuf) != len(a.roleIDs) {
		a.heldBuf = make([]bool, len(a.roleIDs))
	}
	clear(a.heldBuf)
	for _, ms := range p.memberships {
		if id, ok := a.roleIDs[ms.Role]; ok {
			a.heldBuf[id] = true
		}
	}
	return a.heldBuf
}

// person is one email's memberships in one account. The roles held are read
// from the memberships (a few dozen) rather than kept as a set per person: at
// 50,000 people those sets were a tenth of a streamed report's memory.
type person struct {
	email       string
	memberships []*model.Membership
	users       []string // sorted
}

// holds reports whether p holds role.
func (p *person) holds(role string) bool {
	return slices.ContainsFunc(p.memberships, func(ms *model.Membership) bool { return ms.Role == role })
}

func newModel(m *model.Mirror, o Options) *reportModel {
	return newModelKnown(m, o, nil)
}

// newModelKnown is newModel with, per account, the object names its access
// history is matched against (newUsage); an account it has none for matches
// against the objects of its grants.
func newModelKnown(m *model.Mirror, o Options, known map[string]map[string]bool) *reportModel {
	md := &reportModel{m: m, o: o}
	snaps := map[string]*model.Account{}
	if m.Snapshot != nil {
		for _, a := range m.Snapshot.Accounts {
			snaps[a.Name] = a
		}
	}
	for _, meta := range m.Meta.Accounts {
		if len(o.Accounts) > 0 && !slices.Contains(o.Accounts, meta.Name) {
			continue
		}
		md.accounts = append(md.accounts, newAccount(m, meta, snaps[meta.Name], o, known[meta.Name]))
	}
	for _, e := range o.Emails {
		known := false
		for _, a := range md.accounts {
			if a.people[e] != nil {
				known = true
			}
		}
		if !known {
			md.missing = append(md.missing, e)
		}
	}
	return md
}

// newAccount indexes account meta of m; known are the object names its access
// history is matched against (newUsage), nil for the objects of its grants.
func newAccount(m *model.Mirror, meta model.AccountMeta, snap *model.Account, o Options, known map[string]bool) *account {
	a := &account{
		meta: meta, snap: snap,
		users: map[string]*model.User{}, people: map[string]*person{},
		roleMembers: map[string][]*model.Membership{}, byRole: map[string][]*model.Grant{},
		byObject: map[objKey][]objGrant{}, roleIDs: map[string]int32{}, inherits: map[string][]string{}, inheritedBy: map[string][]string{},
		groups: map[objKey]string{},
	}
	if snap != nil {
		for i := range snap.Users {
			if u := &snap.Users[i]; u.Active() {
				a.users[u.Name] = u
			}
		}
	}
	roles := map[string]bool{}
	for i := range m.Memberships {
		ms := &m.Memberships[i]
		if ms.Account != meta.Name {
			continue
		}
		p := a.people[ms.Email]
		if p == nil {
			p = &person{email: ms.Email}
			a.people[ms.Email] = p
		}
		p.memberships = append(p.memberships, ms)
		if !slices.Contains(p.users, ms.User) {
			p.users = append(p.users, ms.User)
		}
		a.roleMembers[ms.Role] = append(a.roleMembers[ms.Role], ms)
		roles[ms.Role] = true
	}
	// People with rows but no recorded memberships happen only in a generation read
	// back without provenance; they still belong in every view.
	for acct, e := range m.Access.Emails() {
		if acct == meta.Name && a.people[e] == nil {
			a.people[e] = &person{email: e}
		}
	}
	for _, p := range a.people {
		slices.Sort(p.users)
	}
	a.indexGrants(m.Grants)
	for r := range a.byRole {
		roles[r] = true
	}
	a.buildHierarchy(m)
	for r, l := range a.inherits {
		roles[r] = true
		for _, s := range l {
			roles[s] = true
		}
	}
	for r := range roles {
		a.roles = append(a.roles, r)
	}
	slices.Sort(a.roles)

	if len(o.Roles) > 0 {
		a.through = map[string]bool{}
		for _, r := range o.Roles {
			for _, s := range a.closure(r) {
				a.through[s] = true
			}
		}
	}
	for e, p := range a.people {
		if len(o.Emails) > 0 && !slices.Contains(o.Emails, e) {
			continue
		}
		if len(o.Roles) > 0 && !slices.ContainsFunc(o.Roles, p.holds) {
			continue
		}
		a.emails = append(a.emails, e)
	}
	slices.Sort(a.emails)
	a.selected = make(map[string]bool, len(a.emails))
	for _, e := range a.emails {
		a.selected[e] = true
	}
	a.snapshotAt = meta.ExtractedAt
	if a.snapshotAt.IsZero() {
		a.snapshotAt = o.Now
	}
	a.cutoff = a.snapshotAt.AddDate(0, 0, -o.Days)
	if snap != nil && snap.HasHistory {
		a.usage = newUsage(a, snap, known)
	}
	return a
}

// indexGrants files the grants of a's account by role and by object,
// numbering their roles, and sorts a.objects, every object they name.
func (a *account) indexGrants(grants []model.Grant) {
	for i := range grants {
		g := &grants[i]
		if g.Account != a.meta.Name {
			continue
		}
		a.byRole[g.Role] = append(a.byRole[g.Role], g)
		k := objKey{g.ObjectType, g.ObjectName}
		if a.byObject[k] == nil {
			a.objects = append(a.objects, k)
		}
		id, ok := a.roleIDs[g.Role]
		if !ok {
			id = int32(len(a.roleIDs))
			a.roleIDs[g.Role] = id
		}
		a.byObject[k] = append(a.byObject[k], objGrant{g, id})
	}
	slices.SortFunc(a.objects, objKey.compare)
}

// buildHierarchy reads role inheritance from the snapshot when the generation kept
// it, which has every edge; otherwise it falls back to the edges of the recorded
// role paths, which are the ones that give somebody a role.
func (a *account) buildHierarchy(m *model.Mirror) {
	if a.snap != nil {
		g := model.NewRoleGraph(a.snap)
		for r, l := range g.Inherits {
			a.inherits[r] = slices.Clone(l)
		}
	} else {
		for i := range m.Memberships {
			ms := &m.Memberships[i]
			if ms.Account != a.meta.Name {
				continue
			}
			for j := 1; j < len(ms.Path); j++ {
				if !slices.Contains(a.inherits[ms.Path[j-1]], ms.Path[j]) {
					a.inherits[ms.Path[j-1]] = append(a.inherits[ms.Path[j-1]], ms.Path[j])
				}
			}
		}
	}
	for r, l := range a.inherits {
		slices.Sort(l)
		for _, s := range l {
			a.inheritedBy[s] = append(a.inheritedBy[s], r)
		}
	}
	for _, l := range a.inheritedBy {
		slices.Sort(l)
	}
}

// closure is a role with every role it inherits, transitively and across cycles.
func (a *account) closure(role string) []string {
	seen := map[string]bool{role: true}
	out := []string{role}
	for i := 0; i < len(out); i++ {
		for _, s := range a.inherits[out[i]] {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// roleAllowed reports whether access through role passes the role filter.
func (a *account) roleAllowed(role string) bool {
	return a.through == nil || a.through[role]
}

// objectAllowed reports whether an object passes the object filter: equal to a
// filter name or inside the database or schema it names.
func (md *reportModel) objectAllowed(name string) bool {
	if len(md.o.Objects) == 0 {
		return true
	}
	for _, f := range md.o.Objects {
		if name == f || strings.HasPrefix(name, f+".") {
			return true
		}
	}
	return false
}

// grantingRoles returns the roles p holds that grant priv on the object, in name
// order, after the role filter.
func (a *account) grantingRoles(p *person, k objKey, priv string) []string {
	var out []string
	for _, g := range a.byObject[k] {
		if g.Privilege == priv && p.holds(g.Role) && a.roleAllowed(g.Role) {
			out = append(out, g.Role)
		}
	}
	return out
}

// rowAllowed reports whether one access row passes the object and role filters.
func (md *reportModel) rowAllowed(a *account, p *person, r model.Row) bool {
	if !md.objectAllowed(r.ObjectName) {
		return false
	}
	if a.through == nil {
		return true
	}
	return len(a.grantingRoles(p, objKey{r.ObjectType, r.ObjectName}, r.Privilege)) > 0
}

// group is the schema an object lives in, or its database, or "" for account
// objects; objects repeat across people, so it is worked out once per object.
func (a *account) group(k objKey) string {
	g, ok := a.groups[k]
	if !ok {
		db, schema := container(k.typ, k.name)
		g = schema
		if g == "" {
			g = db
		}
		a.groups[k] = g
	}
	return g
}

// container splits an object into the database and schema it lives in, for grouping.
// Account objects (warehouses, integrations, roles) have neither.
func container(typ, name string) (db, schema string) {
	parts, err := ident.Split(name)
	if err != nil {
		return "", ""
	}
	switch {
	case len(parts) == 1 && typ == "DATABASE":
		return ident.Part(parts[0]), ""
	case len(parts) == 2:
		return ident.Part(parts[0]), ""
	case len(parts) >= 3:
		return ident.Part(parts[0]), ident.Join(parts[0], parts[1])
	}
	return "", ""
}

// privilegeOrder puts the privileges people ask about first, in a fixed order, so
// privilege columns line up from one table to the next.
var privilegeOrder = []string{"OWNERSHIP", "USAGE", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE",
	"REFERENCES", "READ", "WRITE", "OPERATE", "MONITOR", "MODIFY"}

func comparePrivileges(x, y string) int {
	i, j := slices.Index(privilegeOrder, x), slices.Index(privilegeOrder, y)
	switch {
	case i >= 0 && j >= 0:
		return cmp.Compare(i, j)
	case i >= 0:
		return -1
	case j >= 0:
		return 1
	}
	return cmp.Compare(x, y)
}

// sortPrivileges orders privileges by privilegeOrder, then by name.
func sortPrivileges(p []string) []string {
	slices.SortFunc(p, comparePrivileges)
	return slices.Compact(p)
}
