package explain

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Kinds of misses, in the order they are most useful to someone fixing access.
const (
	MissUsage        = "missing_usage"      // holds the privilege but cannot reach the container
	MissRoleRevoked  = "role_grant_revoked" // a role that would give it was revoked from the user
	MissUserDisabled = "user_disabled"      // the person's user that holds it is disabled
	MissUserExpired  = "user_expired"       // the person's user passed its EXPIRES_AT
	MissUserDropped  = "user_dropped"       // the person's user was dropped
	MissGrantRevoked = "grant_revoked"      // the grant itself was revoked
	MissRoleInactive = "role_not_active"    // granted to the user, but its sessions use only the default role
	MissRoleNotHeld  = "role_not_granted"   // roles have it, none is the person's
	MissPrivilege    = "other_privileges"   // the object is granted, not this privilege
	MissDroppedRole  = "granted_to_dropped" // only a dropped role had it
	MissInvalidEmail = "invalid_email"      // a user of this name has no usable email
	MissUnknownEmail = "unknown_email"      // no Snowflake user maps to this address
	MissNoGrant      = "no_grant"           // nothing in the account grants this object
)

var missOrder = []string{MissUsage, MissRoleRevoked, MissUserDisabled, MissUserExpired, MissUserDropped, MissGrantRevoked,
	MissRoleInactive, MissRoleNotHeld, MissPrivilege, MissDroppedRole, MissInvalidEmail, MissUnknownEmail, MissNoGrant}

// Miss is one reason a person lacks access, with the changes that together would
// fix it (a role, and the USAGE on the containers that role lacks).
type Miss struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	Fixes  []Fix  `json:"fixes,omitempty"`
}

// Fix is one change to Snowflake (or to grantmirror's aliases). SQL is the
// statement an administrator would run.
type Fix struct {
	Action     string `json:"action"` // grant_privilege, grant_role, enable_user, unexpire_user, secondary_roles, domain_alias
	SQL        string `json:"sql,omitempty"`
	Privilege  string `json:"privilege,omitempty"`
	ObjectType string `json:"object_type,omitempty"`
	Object     string `json:"object,omitempty"`
	Role       string `json:"role,omitempty"`    // the role to grant, or that receives the privilege
	ToRole     string `json:"to_role,omitempty"` // grant_role: the role that receives Role
	User       string `json:"user,omitempty"`
	Account    string `json:"account,omitempty"`
	From       string `json:"from,omitempty"` // domain_alias
	To         string `json:"to,omitempty"`
}

// person is what a snapshot says about one email in one account.
type person struct {
	active   []*model.User // active users with this address
	inactive []*model.User // disabled or dropped users with this address
	roles    map[string][]model.Membership
}

func findPerson(a *model.Account, ix *index, norm *ident.Normalizer, email string) *person {
	p := &person{roles: ix.memberships(a.Name, email)}
	for i := range a.Users {
		u := &a.Users[i]
		if e, _ := norm.User(u.Name, u.Email); e != email {
			continue
		}
		if u.Active() {
			p.active = append(p.active, u)
		} else {
			p.inactive = append(p.inactive, u)
		}
	}
	return p
}

func whyNot(m *model.Mirror, ix *index, q Query, norm *ident.Normalizer) []Miss {
	if m.Snapshot == nil {
		return nil
	}
	var misses []Miss
	known := false
	for _, a := range m.Snapshot.Accounts {
		if q.Account != "" && a.Name != q.Account {
			continue
		}
		p := findPerson(a, ix, norm, q.Email)
		if len(p.active) == 0 {
			misses = append(misses, inactive(a, p)...)
			continue
		}
		known = true
		if len(p.roles) == 0 {
			if moved := elsewhere(m, a, p); len(moved) > 0 {
				misses = append(misses, moved...)
				continue
			}
		}
		misses = append(misses, objectMisses(m, ix, a, p, q)...)
	}
	if !known && len(misses) == 0 {
		misses = append(misses, unknownEmail(m, norm, q)...)
	}
	sort.SliceStable(misses, func(i, j int) bool {
		return slices.Index(missOrder, misses[i].Kind) < slices.Index(missOrder, misses[j].Kind)
	})
	return misses
}

func inactive(a *model.Account, p *person) []Miss {
	var out []Miss
	for _, u := range p.inactive {
		switch {
		case !u.DeletedOn.IsZero():
			out = append(out, Miss{Kind: MissUserDropped, Detail: fmt.Sprintf("user %s was dropped on %s", u.Name, day(u.DeletedOn))})
		case u.Disabled:
			out = append(out, Miss{Kind: MissUserDisabled, Detail: fmt.Sprintf("user %s is disabled", u.Name),
				Fixes: []Fix{enableUser(a, u)}})
		case u.Expired:
			out = append(out, Miss{Kind: MissUserExpired, Detail: fmt.Sprintf("user %s expired on %s (EXPIRES_AT) and cannot sign in", u.Name, u.ExpiresAt.UTC().Format(time.RFC3339)),
				Fixes: []Fix{enableUser(a, u)}})
		}
	}
	return out
}

// enableUser is the fix that lets a user that still exists sign in again: clear
// DISABLED, or remove the expiry date (Snowflake sets EXPIRES_AT from
// DAYS_TO_EXPIRY; unsetting it means the user never expires).
func enableUser(a *model.Account, u *model.User) Fix {
	if u.Disabled {
		return Fix{Action: "enable_user", User: u.Name, Account: a.Name, SQL: fmt.Sprintf("ALTER USER %s SET DISABLED = FALSE", ident.Part(u.Name))}
	}
	return Fix{Action: "unexpire_user", User: u.Name, Account: a.Name, SQL: fmt.Sprintf("ALTER USER %s UNSET DAYS_TO_EXPIRY", ident.Part(u.Name))}
}

// elsewhere finds the person's users under another address in the mirror: the sync
// ran with email aliases this question was not asked with.
func elsewhere(m *model.Mirror, a *model.Account, p *person) []Miss {
	var out []Miss
	for _, u := range p.active {
		for _, ms := range m.Memberships {
			if ms.Account == a.Name && ms.User == u.Name {
				out = append(out, Miss{Kind: MissUnknownEmail, Detail: fmt.Sprintf("this generation files user %s under %s (email aliases): ask about that address, or use the config the sync used", u.Name, ms.Email)})
				break
			}
		}
	}
	return out
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// unknownEmail looks for the address under another domain, a user of its name
// without a usable one, or the addresses a typo away (those Ask and Check
// refuse the question with: see CheckEmail; Explain answers it).
func unknownEmail(m *model.Mirror, norm *ident.Normalizer, q Query) []Miss {
	local, domain, _ := strings.Cut(q.Email, "@")
	var out []Miss
	seen := map[string]bool{}
	for _, a := range m.Snapshot.Accounts {
		for i := range a.Users {
			u := &a.Users[i]
			e, _ := norm.User(u.Name, u.Email)
			if !u.Active() || seen[e] {
				continue
			}
			l, d, _ := strings.Cut(e, "@")
			switch {
			case l == local && d != domain && d != "":
				seen[e] = true
				out = append(out, Miss{Kind: MissUnknownEmail, Detail: fmt.Sprintf("no Snowflake user has %s, but user %s has %s: alias the domain %s to %s?", q.Email, u.Name, e, d, domain),
					Fixes: []Fix{{Action: "domain_alias", From: d, To: domain}}})
			case !ident.ValidEmail(e) && strings.EqualFold(u.Name, local):
				seen[e] = true
				out = append(out, Miss{Kind: MissInvalidEmail, Detail: fmt.Sprintf("user %s has no usable email (%q); set its EMAIL or add an override", u.Name, u.Email)})
			}
		}
	}
	for _, n := range nearEmails(m, norm, q.Email) {
		if !seen[n.email] {
			out = append(out, Miss{Kind: MissUnknownEmail, Detail: fmt.Sprintf("no Snowflake user has %s; did you mean %s (user %s)?", q.Email, n.email, n.user)})
		}
	}
	if len(out) == 0 {
		out = append(out, Miss{Kind: MissUnknownEmail, Detail: fmt.Sprintf("no active Snowflake user has the email %s (after aliases)", q.Email)})
	}
	return out
}

// objectMisses explains, for a known person, why no row grants the object.
func objectMisses(m *model.Mirror, ix *index, a *model.Account, p *person, q Query) []Miss {
	var out []Miss
	var relevant, onObject []model.Grant
	for _, g := range m.Grants {
		if g.Account == a.Name && g.ObjectName == q.Object {
			onObject = append(onObject, g)
			if q.Privilege == "" || g.Privilege == q.Privilege {
				relevant = append(relevant, g)
			}
		}
	}
	graph := model.NewRoleGraph(a)
	fx := &fixer{ix: ix, graph: graph, p: p, account: a.Name, email: q.Email, roles: m.Meta.Roles}
	target := receivingRole(p)

	// Held but not effective: the person's roles have the privilege, not the USAGE.
	for _, g := range relevant {
		ms, held := p.roles[g.Role]
		if !held {
			continue
		}
		row := fx.row(g.ObjectType, g.ObjectName, g.Privilege)
		for _, u := range containers(row) {
			if fx.holds(nil, u) {
				continue
			}
			out = append(out, Miss{Kind: MissUsage,
				Detail: fmt.Sprintf("holds %s on %s %s through role %s (user %s), but none of their roles has USAGE on %s %s%s",
					g.Privilege, g.ObjectType, g.ObjectName, g.Role, ms[0].User, u.ObjectType, u.ObjectName, holders(ix, u)),
				Fixes: []Fix{fx.grantPrivilege(a.Name, privilege.Usage, u.ObjectType, u.ObjectName, g.Role)}})
		}
		if len(out) > 0 {
			return dedupe(out)
		}
	}

	for _, role := range distinctRoles(relevant) {
		out = append(out, fx.roleMisses(a, role, relevant)...)
	}

	// Revoked grants and grants to dropped roles: what the account used to say.
	for i := range a.RoleGrants {
		rg := &a.RoleGrants[i]
		if model.ObjectName(rg) != q.Object || q.Privilege != "" && !privilege.Implies(rg.GrantedOn, rg.Privilege, q.Privilege) {
			continue
		}
		role := model.GranteeRole(rg)
		priv := orWanted(q.Privilege, rg.Privilege)
		switch {
		case role == "":
		case !rg.DeletedOn.IsZero():
			to := pick(p, role, target)
			out = append(out, Miss{Kind: MissGrantRevoked, Detail: fmt.Sprintf("%s on %s %s was granted to %s and revoked on %s", rg.Privilege, rg.GrantedOn, q.Object, role, day(rg.DeletedOn)),
				Fixes: fx.withUsage(fx.grantPrivilege(a.Name, priv, rg.GrantedOn, q.Object, to), to, rg.GrantedOn, q.Object, priv)})
		case !graph.Dropped[role].IsZero():
			out = append(out, Miss{Kind: MissDroppedRole, Detail: fmt.Sprintf("%s on %s %s is granted to role %s, which was dropped on %s", rg.Privilege, rg.GrantedOn, q.Object, role, day(graph.Dropped[role])),
				Fixes: fx.withUsage(fx.grantPrivilege(a.Name, priv, rg.GrantedOn, q.Object, target), target, rg.GrantedOn, q.Object, priv)})
		}
	}

	if len(relevant) == 0 && len(onObject) > 0 {
		var privs []string
		for _, g := range onObject {
			privs = append(privs, g.Privilege)
		}
		slices.Sort(privs)
		typ := onObject[0].ObjectType
		out = append(out, Miss{Kind: MissPrivilege,
			Detail: fmt.Sprintf("no role has %s on %s %s; roles hold %s on it", q.Privilege, typ, q.Object, strings.Join(slices.Compact(privs), ", ")),
			Fixes:  fx.withUsage(fx.grantPrivilege(a.Name, q.Privilege, typ, q.Object, target), target, typ, q.Object, q.Privilege)})
	}
	if len(out) == 0 && len(onObject) == 0 {
		out = append(out, Miss{Kind: MissNoGrant, Detail: fmt.Sprintf("no grant on %s exists in account %s%s", q.Object, a.Name, similar(ix.names(a.Name), q.Object))})
	}
	return dedupe(out)
}

// fixer builds fixes that work in effective mode: a privilege is only usable with
// USAGE on its database and schema, so a fix that brings the privilege also brings
// the USAGE the person would still lack.
type fixer struct {
	ix      *index
	graph   *model.RoleGraph
	p       *person
	account string
	email   string
	roles   model.RoleMode // the configured default for users without their own
}

func (f *fixer) row(typ, name, priv string) model.Row {
	return model.Row{Account: f.account, Email: f.email, ObjectType: typ, ObjectName: name, Privilege: priv}
}

// holds reports whether the person's roles, plus extra, have the grant of r.
func (f *fixer) holds(extra map[string]bool, r model.Row) bool {
	for _, g := range f.ix.grants[grantKey{r.Account, r.ObjectType, r.ObjectName, r.Privilege}] {
		if _, ok := f.p.roles[g.Role]; ok || extra[g.Role] {
			return true
		}
	}
	return false
}

// withUsage completes first, which makes the person hold the privilege through role
// receiver (held already, or granted by first), with USAGE grants to receiver on
// each container the person could not otherwise use.
func (f *fixer) withUsage(first Fix, receiver, typ, name, priv string) []Fix {
	fixes := []Fix{first}
	extra := f.graph.Closure(receiver)
	for _, u := range containers(f.row(typ, name, priv)) {
		if !f.holds(extra, u) {
			fixes = append(fixes, f.grantPrivilege(f.account, privilege.Usage, u.ObjectType, u.ObjectName, receiver))
		}
	}
	return fixes
}

func orWanted(want, held string) string {
	if want != "" {
		return want
	}
	return held
}

// pick grants to role when the person holds it already, else to their own role.
func pick(p *person, role, target string) string {
	if _, ok := p.roles[role]; ok {
		return role
	}
	return target
}

// roleMisses explains why the person does not hold role, which has the privilege.
func (f *fixer) roleMisses(a *model.Account, role string, relevant []model.Grant) []Miss {
	var out []Miss
	p := f.p
	g := relevant[slices.IndexFunc(relevant, func(g model.Grant) bool { return g.Role == role })]
	what := fmt.Sprintf("%s on %s %s", g.Privilege, g.ObjectType, g.ObjectName)
	// A revoked grant of a role that reaches it, to one of the person's users.
	for i := range a.UserGrants {
		ug := &a.UserGrants[i]
		if ug.DeletedOn.IsZero() || !isUserOf(p, ug.Grantee) || !f.graph.Reaches(ident.Part(ug.Role), role) {
			continue
		}
		granted := ident.Part(ug.Role)
		out = append(out, Miss{Kind: MissRoleRevoked, Detail: fmt.Sprintf("role %s (which gives %s) was granted to user %s and revoked on %s", granted, what, ug.Grantee, day(ug.DeletedOn)),
			Fixes: f.withUsage(f.grantRole(a.Name, granted, ug.Grantee, ""), granted, g.ObjectType, g.ObjectName, g.Privilege)})
	}
	// The role is held by one of the person's disabled users.
	for _, u := range p.inactive {
		if !u.DeletedOn.IsZero() {
			continue
		}
		for i := range a.UserGrants {
			ug := &a.UserGrants[i]
			if ug.Grantee == u.Name && ug.DeletedOn.IsZero() && f.graph.Reaches(ident.Part(ug.Role), role) {
				kind, state := MissUserDisabled, "is disabled"
				if !u.Disabled {
					kind, state = MissUserExpired, "expired on "+u.ExpiresAt.UTC().Format(time.RFC3339)
				}
				out = append(out, Miss{Kind: kind, Detail: fmt.Sprintf("user %s, which %s, holds role %s (which gives %s)", u.Name, state, ident.Part(ug.Role), what),
					Fixes: []Fix{enableUser(a, u)}})
			}
		}
	}
	// Granted to one of the person's users, but that user's sessions hold only
	// its default role: secondary roles are off for it.
	inactive := false
	for _, u := range p.active {
		if model.SessionRoles(u, f.roles) != model.PrimaryRole {
			continue
		}
		for i := range a.UserGrants {
			ug := &a.UserGrants[i]
			granted := ident.Part(ug.Role)
			if ug.Grantee != u.Name || !ug.DeletedOn.IsZero() || granted == ident.Part(u.DefaultRole) || !f.graph.Reaches(granted, role) {
				continue
			}
			inactive = true
			def := ident.Part(u.DefaultRole)
			if u.DefaultRole == "" {
				def = "none set, so PUBLIC"
			}
			out = append(out, Miss{Kind: MissRoleInactive,
				Detail: fmt.Sprintf("user %s holds role %s (which gives %s), but its sessions use only DEFAULT_ROLE (%s): it has no secondary roles", u.Name, granted, what, def),
				Fixes:  []Fix{{Action: "secondary_roles", User: u.Name, Account: a.Name, SQL: fmt.Sprintf("ALTER USER %s SET DEFAULT_SECONDARY_ROLES = ('ALL')", ident.Part(u.Name))}}})
		}
	}
	if inactive {
		return out
	}
	var fixes []Fix
	switch {
	case strings.HasPrefix(role, "USER "):
		to := receivingRole(p)
		fixes = f.withUsage(f.grantPrivilege(a.Name, g.Privilege, g.ObjectType, g.ObjectName, to), to, g.ObjectType, g.ObjectName, g.Privilege)
	case f.graph.Kind(role) != "ROLE":
		// Database, application and instance roles are best granted to the
		// person's own account role, which keeps them in the role hierarchy.
		fixes = f.withUsage(f.grantRole(a.Name, role, "", receivingRole(p)), role, g.ObjectType, g.ObjectName, g.Privilege)
	default:
		fixes = f.withUsage(f.grantRole(a.Name, role, p.active[0].Name, ""), role, g.ObjectType, g.ObjectName, g.Privilege)
	}
	noun, _ := privilege.RoleWords(f.graph.Kind(role))
	out = append(out, Miss{Kind: MissRoleNotHeld, Detail: fmt.Sprintf("%s is granted to %s %s, which none of the person's users (%s) holds", what, noun, role, userNames(p)), Fixes: fixes})
	return out
}

func isUserOf(p *person, name string) bool {
	for _, u := range p.active {
		if u.Name == name {
			return true
		}
	}
	return false
}

func userNames(p *person) string {
	var names []string
	for _, u := range p.active {
		names = append(names, u.Name)
	}
	return strings.Join(names, ", ")
}

// receivingRole is the role a fix grants to: the first role granted to the person's
// first user, or PUBLIC when they hold nothing else.
func receivingRole(p *person) string {
	best := ""
	for role, ms := range p.roles {
		for _, m := range ms {
			if len(m.Path) == 1 && m.User == p.active[0].Name && role != model.PublicRole && !strings.HasPrefix(role, "USER ") && (best == "" || role < best) {
				best = role
			}
		}
	}
	if best == "" {
		return model.PublicRole
	}
	return best
}

// holders names the roles that do hold a USAGE, for the person to ask for.
func holders(ix *index, r model.Row) string {
	var roles []string
	for _, g := range ix.grants[grantKey{r.Account, r.ObjectType, r.ObjectName, r.Privilege}] {
		roles = append(roles, g.Role)
	}
	if len(roles) == 0 {
		return "; no role has it"
	}
	slices.Sort(roles)
	return "; roles that have it: " + strings.Join(slices.Compact(roles), ", ")
}

func distinctRoles(gs []model.Grant) []string {
	var roles []string
	for _, g := range gs {
		roles = append(roles, g.Role)
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

// similar suggests, among the distinct granted object names of an account,
// those that look like object.
func similar(granted []string, object string) string {
	parts := ident.Parts(object)
	last := parts[len(parts)-1]
	var names []string
	for _, name := range granted {
		p := ident.Parts(name)
		if strings.EqualFold(strings.Trim(p[len(p)-1], `"`), strings.Trim(last, `"`)) || ident.Distance(name, object) <= 2 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return " (check the name: unquoted parts are upper-cased, quote a part to match it exactly)"
	}
	slices.Sort(names)
	if len(names) > 5 {
		names = names[:5]
	}
	return "; similar objects: " + strings.Join(names, ", ")
}

func (f *fixer) grantPrivilege(account, priv, typ, object, role string) Fix {
	fix := Fix{Action: "grant_privilege", Account: account, Privilege: priv, ObjectType: typ, Object: object, Role: role}
	kind := f.graph.Kind(role)
	_, kw := privilege.RoleWords(kind)
	// An instance role's privileges come from its class; no GRANT gives it more.
	if kind != "INSTANCE_ROLE" {
		fix.SQL = fmt.Sprintf("GRANT %s ON %s %s TO %s %s", priv, strings.ReplaceAll(typ, "_", " "), object, kw, role)
	}
	return fix
}

// grantRole grants role to a user, or to another role when toRole is set. Granting
// an instance role names the instance's class, which the snapshot does not hold, so
// that fix carries no statement.
func (f *fixer) grantRole(account, role, user, toRole string) Fix {
	kind := f.graph.Kind(role)
	_, kw := privilege.RoleWords(kind)
	fix := Fix{Action: "grant_role", Account: account, Role: role, User: user, ToRole: toRole}
	switch {
	case kind == "INSTANCE_ROLE":
	case toRole != "":
		_, to := privilege.RoleWords(f.graph.Kind(toRole))
		fix.SQL = fmt.Sprintf("GRANT %s %s TO %s %s", kw, role, to, toRole)
	default:
		fix.SQL = fmt.Sprintf("GRANT %s %s TO USER %s", kw, role, ident.Part(user))
	}
	return fix
}

func dedupe(ms []Miss) []Miss {
	seen := map[string]bool{}
	out := ms[:0]
	for _, m := range ms {
		if k := m.Kind + "\x00" + m.Detail; !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}
