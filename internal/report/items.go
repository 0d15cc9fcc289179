package report

import (
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Person is one section of the user view: a person of one account, the Snowflake
// users that map to them, the roles they hold and what they can reach.
type Person struct {
	Account string        `json:"account"`
	Email   string        `json:"email"`
	Users   []UserInfo    `json:"users"`
	Roles   []HeldRole    `json:"roles,omitempty"`
	Objects []ReachObject `json:"objects"`
}

// UserInfo describes a Snowflake user of a person, as users.csv has it.
type UserInfo struct {
	Name        string `json:"name"`
	Type        string `json:"type,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	DefaultRole string `json:"default_role,omitempty"`
}

// HeldRole is a role a person holds and how: Path runs from a role granted to one
// of Users down to Role, so a path of one role is a direct grant.
type HeldRole struct {
	Role  string   `json:"role"`
	How   string   `json:"how"`
	Path  []string `json:"path"`
	Users []string `json:"users"`
}

// ReachObject is an object a person can use, with every privilege they hold on it
// and the roles those privileges come from.
type ReachObject struct {
	Group        string     `json:"group"`
	ObjectType   string     `json:"object_type"`
	ObjectName   string     `json:"object_name"`
	Privileges   []string   `json:"privileges"`
	Roles        []string   `json:"roles"`
	Usage        string     `json:"usage"`
	LastAccessed *time.Time `json:"last_accessed,omitempty"`
	QueryCount   int64      `json:"query_count,omitempty"`
}

// Ways a role is held, for HeldRole.How.
const (
	HowDirect    = "granted to user"
	HowInherited = "inherited"
	HowPublic    = "every user (PUBLIC)"
	HowOwnGrants = "privileges granted to the user itself"
)

// ObjectReport is one section of the object view: who can use an object and why.
type ObjectReport struct {
	Account    string        `json:"account"`
	ObjectType string        `json:"object_type"`
	ObjectName string        `json:"object_name"`
	Grants     []ObjectGrant `json:"grants"`
	People     []Viewer      `json:"people"`
	// Dark is set when the object has grants but nobody can use it. Such objects
	// are counted, not shown.
	Dark bool `json:"-"`
}

// ObjectGrant is a privilege a role holds on the object itself.
type ObjectGrant struct {
	Role      string `json:"role"`
	Privilege string `json:"privilege"`
	Via       string `json:"via,omitempty"`
	Members   int    `json:"members"`
}

// Viewer is a person who can use an object.
type Viewer struct {
	Email        string     `json:"email"`
	Privileges   []string   `json:"privileges"`
	Through      []Through  `json:"through"`
	Usage        string     `json:"usage"`
	LastAccessed *time.Time `json:"last_accessed,omitempty"`
	QueryCount   int64      `json:"query_count,omitempty"`
}

// Through is one role that gives a viewer privileges on the object, and the path
// by which the viewer holds that role.
type Through struct {
	Role       string   `json:"role"`
	Privileges []string `json:"privileges"`
	Path       []string `json:"path"`
	Users      []string `json:"users"`
}

// RoleReport is one section of the role view.
type RoleReport struct {
	Account     string          `json:"account"`
	Role        string          `json:"role"`
	Inherits    []string        `json:"inherits"`
	InheritedBy []string        `json:"inherited_by"`
	Members     []Member        `json:"members"`
	Privileges  []RolePrivilege `json:"privileges"`
}

// Member is a person who holds a role, directly or through other roles.
type Member struct {
	Email  string   `json:"email"`
	Direct bool     `json:"direct"`
	Path   []string `json:"path"`
	Users  []string `json:"users"`
}

// RolePrivilege is a privilege the role holds itself (not through roles it inherits).
type RolePrivilege struct {
	ObjectType string `json:"object_type"`
	ObjectName string `json:"object_name"`
	Privilege  string `json:"privilege"`
	Via        string `json:"via,omitempty"`
}

// people yields the user view, one person at a time, in account and email order.
// With unused set, each person keeps only the tracked objects not used within the
// window, and people with none are left out.
func (md *reportModel) people(unused bool) iter.Seq[*Person] {
	return func(yield func(*Person) bool) {
		// A streamed report (md.scan) reads each person's rows from one pass of
		// the store in table order, person after person, which is the order
		// people are listed in: the rows are never all held.
		var cur *rowCursor
		if md.scan != nil {
			cur = md.cursor()
			defer cur.stop()
		}
		for _, a := range md.accounts {
			if unused && a.usage == nil {
				continue
			}
			if md.batches == nil {
				if !md.walk(a, cur, unused, "", yield) {
					return
				}
				continue
			}
			// Batch after batch of the account's people; the people with rows
			// but no memberships sorting before the next batch's first are
			// listed with this one.
			batches := chunks(md.batches.people[a.meta.Name], md.batches.size)
			if len(batches) == 0 && !md.walk(a, cur, unused, "", yield) {
				return
			}
			for i, batch := range batches {
				ba, err := md.batches.account(md, a, batch)
				if err != nil {
					md.err = err
					return
				}
				bound := ""
				if i+1 < len(batches) {
					bound = batches[i+1][0]
				}
				if !md.walk(ba, cur, unused, bound, yield) {
					return
				}
			}
		}
	}
}

// walk yields a's people in email order, with the people the cursor has rows
// for that a has no memberships for, up to bound (all when empty); false when
// yield stopped.
func (md *reportModel) walk(a *account, cur *rowCursor, unused bool, bound string, yield func(*Person) bool) bool {
	for i := 0; ; {
		var p *person
		next, inScan := cur.peek(a.meta.Name)
		inScan = inScan && (bound == "" || next < bound)
		switch {
		case i < len(a.emails) && (!inScan || a.emails[i] <= next):
			p = a.people[a.emails[i]]
			i++
		case inScan:
			// Rows of an address without recorded memberships (a generation
			// read back without provenance), listed as the whole generation
			// lists them (newAccount).
			p = &person{email: next}
		}
		if p == nil {
			return true
		}
		out := md.person(a, p, unused, cur.rows(md, a.meta.Name, p.email))
		if out != nil && !yield(out) {
			return false
		}
	}
}

// rowCursor hands out the rows of one pass of a streamed report's scan, person
// by person, in table order (account, then email).
type rowCursor struct {
	next func() (model.Row, bool)
	stop func()
	head model.Row
	ok   bool
}

// cursor starts a pass of md.scan (scanned).
func (md *reportModel) cursor() *rowCursor {
	next, stop := iter.Pull(md.scanned())
	c := &rowCursor{next: next, stop: stop}
	c.head, c.ok = next()
	return c
}

// peek returns the email of the next row when it is in account. A nil cursor
// (a report of a generation in memory) has none.
func (c *rowCursor) peek(account string) (string, bool) {
	if c == nil || !c.ok || c.head.Account != account {
		return "", false
	}
	return c.head.Email, true
}

// rows yields the rows of (account, email): from the cursor, past any rows that
// sort before them, or, without one, from the generation in memory.
func (c *rowCursor) rows(md *reportModel, account, email string) iter.Seq[model.Row] {
	if c == nil {
		return md.m.Access.For(account, email)
	}
	return func(yield func(model.Row) bool) {
		for c.ok && (c.head.Account < account || c.head.Account == account && c.head.Email < email) {
			c.head, c.ok = c.next()
		}
		for c.ok && c.head.Account == account && c.head.Email == email {
			r := c.head
			c.head, c.ok = c.next()
			if !yield(r) {
				return
			}
		}
	}
}

func (md *reportModel) person(a *account, p *person, unused bool, rows iter.Seq[model.Row]) *Person {
	out := &Person{Account: a.meta.Name, Email: p.email, Users: a.userInfo(p), Objects: []ReachObject{}}
	if !unused {
		out.Roles = a.heldRoles(p)
	}
	var cur *ReachObject
	var curKey objKey
	held := a.held(p)
	flush := func() {
		if cur == nil {
			return
		}
		// One pass over the object's grants finds the roles behind all of the
		// person's privileges on it.
		for _, g := range a.byObject[curKey] {
			if held[g.role] && a.roleAllowed(g.Role) && slices.Contains(cur.Privileges, g.Privilege) {
				cur.Roles = append(cur.Roles, g.Role)
			}
		}
		cur.Privileges = sortPrivileges(cur.Privileges)
		slices.Sort(cur.Roles)
		cur.Roles = slices.Compact(cur.Roles)
		state, last, n := a.usageOf(p.email, curKey)
		cur.Usage, cur.QueryCount = state, n
		if !last.IsZero() {
			cur.LastAccessed = &last
		}
		if !unused || state == Unused && trackedTypes[curKey.typ] {
			out.Objects = append(out.Objects, *cur)
		}
		cur = nil
	}
	for r := range rows {
		if !md.rowAllowed(a, p, r) {
			continue
		}
		k := objKey{r.ObjectType, r.ObjectName}
		if cur == nil || k != curKey {
			flush()
			cur, curKey = &ReachObject{Group: a.group(k), ObjectType: k.typ, ObjectName: k.name}, k
		}
		cur.Privileges = append(cur.Privileges, r.Privilege)
	}
	flush()
	// Rows come in type order; a stable sort by group keeps the database before its
	// schemas, and account objects (no group) come first.
	slices.SortStableFunc(out.Objects, func(x, y ReachObject) int { return strings.Compare(x.Group, y.Group) })
	// A filter that names objects or roles asks about access: people with none of
	// it have nothing to say. Without such filters everyone is listed, even people
	// whose roles reach nothing, so that nobody is left out silently.
	if len(out.Objects) == 0 && (unused || len(md.o.Objects) > 0 || len(md.o.Roles) > 0) {
		return nil
	}
	return out
}

func (a *account) userInfo(p *person) []UserInfo {
	out := make([]UserInfo, 0, len(p.users))
	for _, name := range p.users {
		ui := UserInfo{Name: name}
		if u := a.users[name]; u != nil {
			ui.Type, ui.DisplayName, ui.DefaultRole = u.Type, u.DisplayName, u.DefaultRole
		}
		out = append(out, ui)
	}
	return out
}

// heldRoles merges a person's memberships: the same role by the same path through
// two users is one line naming both.
func (a *account) heldRoles(p *person) []HeldRole {
	var out []HeldRole
	index := map[string]int{}
	for _, ms := range p.memberships {
		if !a.roleAllowed(ms.Role) {
			continue
		}
		key := ms.Role + "\x00" + strings.Join(ms.Path, "\x00")
		if i, ok := index[key]; ok {
			if !slices.Contains(out[i].Users, ms.User) {
				out[i].Users = append(out[i].Users, ms.User)
			}
			continue
		}
		index[key] = len(out)
		out = append(out, HeldRole{Role: ms.Role, How: how(ms), Path: ms.Path, Users: []string{ms.User}})
	}
	slices.SortStableFunc(out, func(x, y HeldRole) int {
		if c := strings.Compare(x.Role, y.Role); c != 0 {
			return c
		}
		return len(x.Path) - len(y.Path)
	})
	return out
}

func how(ms *model.Membership) string {
	switch {
	case ms.Role == model.PublicRole:
		return HowPublic
	case strings.HasPrefix(ms.Role, "USER "):
		return HowOwnGrants
	case len(ms.Path) <= 1:
		return HowDirect
	}
	return HowInherited
}

// objectReports yields the object view: every granted object that passes the
// filters and that somebody can use, in account and name order.
func (md *reportModel) objectReports() iter.Seq[*ObjectReport] {
	return func(yield func(*ObjectReport) bool) {
		for r := range md.allObjectReports() {
			if !r.Dark && !yield(r) {
				return
			}
		}
	}
}

// allObjectReports also yields the objects nobody can use, marked Dark, so that
// the readable views can count them.
func (md *reportModel) allObjectReports() iter.Seq[*ObjectReport] {
	return func(yield func(*ObjectReport) bool) {
		for _, a := range md.accounts {
			if md.wide != nil {
				if !md.wide.objectReports(md, a, yield) {
					return
				}
				continue
			}
			if !md.accountObjects(a, yield) {
				return
			}
		}
	}
}

// accountObjects yields the object reports of a's objects; false when yield
// stopped.
func (md *reportModel) accountObjects(a *account, yield func(*ObjectReport) bool) bool {
	for _, k := range a.objects {
		if !md.objectAllowed(k.name) {
			continue
		}
		if r := md.objectReport(a, k); r != nil && !yield(r) {
			return false
		}
	}
	return true
}

func (md *reportModel) objectReport(a *account, k objKey) *ObjectReport {
	out := &ObjectReport{Account: a.meta.Name, ObjectType: k.typ, ObjectName: k.name, Grants: []ObjectGrant{}, People: []Viewer{}}
	viewers := map[string]*Viewer{}
	// In effective mode a grant counts only with USAGE on the containers; the
	// published rows already say whether it does.
	has := md.m.Access.Has
	if a.rows != nil {
		has = a.rows.Has
	}
	for _, g := range a.byObject[k] {
		if !a.roleAllowed(g.Role) {
			continue
		}
		members := map[string]bool{}
		for _, ms := range a.roleMembers[g.Role] {
			if !a.selected[ms.Email] {
				continue
			}
			row := model.Row{Account: a.meta.Name, Email: ms.Email, ObjectType: k.typ, ObjectName: k.name, Privilege: g.Privilege}
			if !has(row) {
				continue
			}
			members[ms.Email] = true
			v := viewers[ms.Email]
			if v == nil {
				v = &Viewer{Email: ms.Email}
				viewers[ms.Email] = v
			}
			v.Privileges = append(v.Privileges, g.Privilege)
			v.addThrough(g.Role, g.Privilege, ms)
		}
		out.Grants = append(out.Grants, ObjectGrant{Role: g.Role, Privilege: g.Privilege, Via: g.Via, Members: len(members)})
	}
	if len(viewers) == 0 {
		out.Dark = true
		return out
	}
	for _, v := range viewers {
		v.Privileges = sortPrivileges(v.Privileges)
		for i := range v.Through {
			v.Through[i].Privileges = sortPrivileges(v.Through[i].Privileges)
		}
		slices.SortStableFunc(v.Through, func(x, y Through) int { return strings.Compare(x.Role, y.Role) })
		state, last, n := a.usageOf(v.Email, k)
		v.Usage, v.QueryCount = state, n
		if !last.IsZero() {
			v.LastAccessed = &last
		}
		out.People = append(out.People, *v)
	}
	slices.SortFunc(out.People, func(x, y Viewer) int { return strings.Compare(x.Email, y.Email) })
	slices.SortStableFunc(out.Grants, func(x, y ObjectGrant) int {
		if c := strings.Compare(x.Role, y.Role); c != 0 {
			return c
		}
		return comparePrivileges(x.Privilege, y.Privilege)
	})
	return out
}

// addThrough records that the viewer holds role (by ms's path) and gets priv from
// it. Two users holding the role by the same path share a line; different paths
// are different reasons and get their own.
func (v *Viewer) addThrough(role, priv string, ms *model.Membership) {
	for i := range v.Through {
		t := &v.Through[i]
		if t.Role != role || !slices.Equal(t.Path, ms.Path) {
			continue
		}
		if !slices.Contains(t.Privileges, priv) {
			t.Privileges = append(t.Privileges, priv)
		}
		if !slices.Contains(t.Users, ms.User) {
			t.Users = append(t.Users, ms.User)
		}
		return
	}
	v.Through = append(v.Through, Through{Role: role, Privileges: []string{priv}, Path: ms.Path, Users: []string{ms.User}})
}

// roleReports yields the role view in account and role order. The role filter names
// the roles shown; the email filter keeps the roles those people hold; the object
// filter keeps the roles with a grant on those objects.
func (md *reportModel) roleReports() iter.Seq[*RoleReport] {
	return func(yield func(*RoleReport) bool) {
		for _, a := range md.accounts {
			if md.wide != nil {
				if !md.wide.roleReports(md, a, yield) {
					return
				}
				continue
			}
			if !md.accountRoles(a, a.roles, yield) {
				return
			}
		}
	}
}

// accountRoles yields the role reports of a's roles of the names roles lists;
// false when yield stopped.
func (md *reportModel) accountRoles(a *account, roles []string, yield func(*RoleReport) bool) bool {
	for _, role := range roles {
		if r := md.roleReport(a, role); r != nil && !yield(r) {
			return false
		}
	}
	return true
}

// roleShown reports whether the role view shows a role, without building it.
func (md *reportModel) roleShown(a *account, role string) bool {
	if len(md.o.Roles) > 0 && !slices.Contains(md.o.Roles, role) {
		return false
	}
	if len(md.o.Emails) > 0 && !slices.ContainsFunc(a.roleMembers[role], func(ms *model.Membership) bool { return a.selected[ms.Email] }) {
		return false
	}
	if len(md.o.Objects) > 0 && !slices.ContainsFunc(a.byRole[role], func(g *model.Grant) bool { return md.objectAllowed(g.ObjectName) }) {
		return false
	}
	return true
}

func (md *reportModel) roleReport(a *account, role string) *RoleReport {
	if !md.roleShown(a, role) {
		return nil
	}
	out := &RoleReport{Account: a.meta.Name, Role: role, Inherits: nonNil(a.inherits[role]), InheritedBy: nonNil(a.inheritedBy[role]),
		Members: []Member{}, Privileges: []RolePrivilege{}}
	index := map[string]int{}
	for _, ms := range a.roleMembers[role] {
		if !a.selected[ms.Email] {
			continue
		}
		key := ms.Email + "\x00" + strings.Join(ms.Path, "\x00")
		if i, ok := index[key]; ok {
			out.Members[i].Users = append(out.Members[i].Users, ms.User)
			continue
		}
		index[key] = len(out.Members)
		out.Members = append(out.Members, Member{Email: ms.Email, Direct: len(ms.Path) <= 1, Path: ms.Path, Users: []string{ms.User}})
	}
	for _, g := range a.byRole[role] {
		if md.objectAllowed(g.ObjectName) {
			out.Privileges = append(out.Privileges, RolePrivilege{ObjectType: g.ObjectType, ObjectName: g.ObjectName, Privilege: g.Privilege, Via: g.Via})
		}
	}
	slices.SortStableFunc(out.Members, func(x, y Member) int {
		if x.Direct != y.Direct {
			if x.Direct {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Email, y.Email)
	})
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
