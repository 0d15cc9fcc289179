package explain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Query asks about one person and one object; Privilege empty means every privilege
// the person holds on it.
type Query struct {
	Email     string `json:"email"`     // normalized, aliases applied
	Object    string `json:"object"`    // canonical object name
	Privilege string `json:"privilege"` // normalized, or empty
	Account   string `json:"account,omitempty"`
}

// Path is one chain from a person's Snowflake user to a grant.
type Path struct {
	User  string      `json:"user"`
	Roles []string    `json:"roles"` // the role granted to User first, the grantee of Grant last
	Grant model.Grant `json:"grant"`
}

// Reason explains one row of the access table.
type Reason struct {
	model.Row
	Paths []Path `json:"paths"`
	// Usage holds, in effective mode, the USAGE rows on the object's database and
	// schema that made it reachable, each with its own paths.
	Usage []Reason `json:"usage,omitempty"`
	// Local is set when the row comes from a local grant rather than from
	// Snowflake; Paths is then empty.
	Local *LocalGrant `json:"local_grant,omitempty"`
}

// LocalGrant is access given on top of the mirror, for a while, by an approved
// request (grantmirror grant request, then grant approve). Row says what it gives; it is left out of JSON, where
// the enclosing Reason carries it.
type LocalGrant struct {
	model.Row `json:"-"`
	ID        int64     `json:"id"`
	GrantedBy string    `json:"granted_by"`
	Approver  string    `json:"approver"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
	Until     time.Time `json:"until"`
}

// String describes the grant as explain prints it: local grant #12 by
// carol@example.com approved by dave@example.com, until 2026-11-26T12:00:00Z,
// reason covers for alice.
func (g LocalGrant) String() string {
	return fmt.Sprintf("local grant #%d by %s approved by %s, until %s, reason %s",
		g.ID, g.GrantedBy, g.Approver, g.Until.UTC().Format(time.RFC3339), g.Reason)
}

// Answer is the result of Explain.
type Answer struct {
	Query   Query      `json:"query"`
	Allowed bool       `json:"allowed"`
	Meta    model.Meta `json:"generation"`
	Reasons []Reason   `json:"reasons,omitempty"`
	Misses  []Miss     `json:"misses,omitempty"`
	Known   bool       `json:"known_email"`
	// At is the moment a point-in-time answer is about (explain --at); zero for
	// the current generation.
	At time.Time `json:"at,omitzero"`
	// NoPaths says the generation current at At is no longer kept: its rows come
	// from the access history, without the role paths behind them.
	NoPaths bool `json:"paths_unavailable,omitempty"`
	// Sessions says, per active Snowflake user of the person, which roles its
	// sessions hold: the rule behind every path above.
	Sessions []Session `json:"sessions,omitempty"`
	// Notes say how the answer relates to the caller's config: the generation
	// is judged by the settings it was built with, and a config that differs is
	// named here rather than applied.
	Notes []string `json:"notes,omitempty"`
	// NotMirrored lists what of Snowflake's rules for this object (its policies,
	// grants to applications or shares) or this person the mirror does not
	// reproduce, and what it does instead.
	NotMirrored []model.Gap `json:"not_mirrored,omitempty"`
}

// gapsFor keeps the gaps about the object asked for (its columns, the schema
// and database it is in) or about the person's users.
func gapsFor(m *model.Mirror, q Query, sessions []Session) []model.Gap {
	var out []model.Gap
	parts := ident.Parts(q.Object)
	var above []string
	for i := 1; i < len(parts); i++ {
		above = append(above, strings.Join(parts[:i], ".")+".*")
	}
	for _, g := range model.NotMirrored(m) {
		if q.Account != "" && g.Account != q.Account {
			continue
		}
		hit := false
		for _, o := range g.Objects {
			hit = hit || o == q.Object || strings.HasPrefix(o, q.Object+".") || slices.Contains(above, o) ||
				strings.HasSuffix(o, " "+q.Object) || strings.Contains(o, " "+q.Object+" (")
			for _, s := range sessions {
				hit = hit || s.Account == g.Account && strings.HasPrefix(o, "user "+s.User+" (")
			}
		}
		if hit {
			out = append(out, g)
		}
	}
	return out
}

// Session is the role rule that applied to one user.
type Session struct {
	Account string `json:"account"`
	User    string `json:"user"`
	// Roles is all (secondary roles ALL: every granted role at once) or primary
	// (only DEFAULT_ROLE and what it inherits).
	Roles       string `json:"roles"`
	DefaultRole string `json:"default_role,omitempty"`
	// Source says where the rule came from: the user's DEFAULT_SECONDARY_ROLE, or
	// the configured default when the snapshot has no (known) value.
	Source string `json:"source"`
}

// String describes the rule for people.
func (s Session) String() string {
	what := "secondary roles ALL: every granted role counts"
	if s.Roles == string(model.PrimaryRole) {
		role := s.DefaultRole
		if role == "" {
			role = "none set, so PUBLIC"
		}
		what = "no secondary roles: only DEFAULT_ROLE (" + role + ") and what it inherits count"
	}
	return fmt.Sprintf("user %s: %s (%s)", s.User, what, s.Source)
}

// sessions lists the role rule of each active user with the person's address.
func sessions(m *model.Mirror, q Query, norm *ident.Normalizer) []Session {
	if m.Snapshot == nil {
		return nil
	}
	var out []Session
	for _, a := range m.Snapshot.Accounts {
		if q.Account != "" && a.Name != q.Account {
			continue
		}
		for i := range a.Users {
			u := &a.Users[i]
			if e, _ := norm.User(u.Name, u.Email); e != q.Email || !u.Active() {
				continue
			}
			s := Session{Account: a.Name, User: u.Name, Roles: string(model.SessionRoles(u, m.Meta.Roles)), DefaultRole: u.DefaultRole}
			switch {
			case u.SecondaryRoles != "":
				s.Source = fmt.Sprintf("DEFAULT_SECONDARY_ROLE is %s", orEmpty(u.SecondaryRaw))
			case u.SecondaryRaw != "":
				s.Source = fmt.Sprintf("DEFAULT_SECONDARY_ROLE %q is not a documented value; the configured --roles %s applies", u.SecondaryRaw, m.Meta.Roles)
			default:
				// NULL in ACCOUNT_USAGE.USERS: unset, which since Snowflake's 2024_08
				// bundle means ALL, though the view may not show it yet.
				s.Source = fmt.Sprintf("DEFAULT_SECONDARY_ROLE is not set or not extracted; the configured --roles %s applies", m.Meta.Roles)
			}
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y Session) int { return strings.Compare(x.Account+"\x00"+x.User, y.Account+"\x00"+y.User) })
	return out
}

func orEmpty(s string) string {
	if s == "" {
		return "empty"
	}
	return s
}

// AddLocalGrants adds the grants that answer the question (as Decide matches
// them) as reasons of their own, after Snowflake's. A question Snowflake denies
// becomes allowed and keeps its misses, which say what Snowflake alone lacks.
func (a *Answer) AddLocalGrants(grants []LocalGrant) {
	for _, g := range Decide(&model.Mirror{}, a.Query, grants).Local {
		a.Reasons = append(a.Reasons, Reason{Row: g.Row, Paths: []Path{}, Local: &g})
		a.Allowed = true
	}
}

// index is the provenance of one generation arranged for lookups.
type index struct {
	m      *model.Mirror
	grants map[grantKey][]model.Grant
	// members holds each person's memberships, by account and email.
	members map[[2]string][]model.Membership
	// names lists the objects an account's grants name, for suggestions; a
	// slice of a generation asks the store.
	names func(account string) []string
}

type grantKey struct{ account, typ, name, priv string }

func newIndex(m *model.Mirror) *index {
	ix := &index{m: m, grants: map[grantKey][]model.Grant{}, members: map[[2]string][]model.Membership{},
		names: func(account string) []string { return model.ObjectNamesOf(m, account) }}
	for _, g := range m.Grants {
		k := grantKey{g.Account, g.ObjectType, g.ObjectName, g.Privilege}
		ix.grants[k] = append(ix.grants[k], g)
	}
	for _, ms := range m.Memberships {
		k := [2]string{ms.Account, ms.Email}
		ix.members[k] = append(ix.members[k], ms)
	}
	return ix
}

// memberships returns the person's memberships in an account, by role.
func (ix *index) memberships(account, email string) map[string][]model.Membership {
	out := map[string][]model.Membership{}
	for _, ms := range ix.members[[2]string{account, email}] {
		out[ms.Role] = append(out[ms.Role], ms)
	}
	return out
}

// paths lists every (user, role path) that brings a grant of row r to the person.
func (ix *index) paths(r model.Row, roles map[string][]model.Membership) []Path {
	var out []Path
	for _, g := range ix.grants[grantKey{r.Account, r.ObjectType, r.ObjectName, r.Privilege}] {
		for _, ms := range roles[g.Role] {
			out = append(out, Path{User: ms.User, Roles: ms.Path, Grant: g})
		}
	}
	slices.SortFunc(out, func(a, b Path) int {
		if c := len(a.Roles) - len(b.Roles); c != 0 {
			return c
		}
		if c := strings.Compare(a.User, b.User); c != 0 {
			return c
		}
		return slices.Compare(a.Roles, b.Roles)
	})
	return out
}

// Explain answers q from generation m; norm maps Snowflake users to addresses the
// way the sync did, so the people behind q.Email can be found in the snapshot.
func Explain(m *model.Mirror, q Query, norm *ident.Normalizer) *Answer {
	return explain(newIndex(m), m, q, norm, nil)
}

// explain answers q from m (a generation or its slice about q), local grants
// included; the rows it explains are those Decide finds.
func explain(ix *index, m *model.Mirror, q Query, norm *ident.Normalizer, local []LocalGrant) *Answer {
	ans := &Answer{Query: q, Meta: m.Meta}
	d := Decide(m, q, local)
	for account, email := range m.Access.Emails() {
		if email == q.Email && (q.Account == "" || q.Account == account) {
			ans.Known = true
		}
	}
	for _, a := range m.Meta.Accounts {
		if q.Account != "" && a.Name != q.Account {
			continue
		}
		if len(ix.memberships(a.Name, q.Email)) > 0 {
			ans.Known = true
		}
	}
	for _, r := range d.Rows {
		roles := ix.memberships(r.Account, q.Email)
		reason := Reason{Row: r, Paths: ix.paths(r, roles)}
		if m.Meta.Mode == model.Effective {
			for _, u := range containers(r) {
				if m.Access.Has(u) {
					reason.Usage = append(reason.Usage, Reason{Row: u, Paths: ix.paths(u, roles)})
				}
			}
		}
		ans.Reasons = append(ans.Reasons, reason)
	}
	ans.Sessions = sessions(m, q, norm)
	ans.NotMirrored = gapsFor(m, q, ans.Sessions)
	if len(d.Rows) == 0 {
		ans.Misses = whyNot(m, ix, q, norm)
	}
	ans.AddLocalGrants(d.Local)
	ans.Allowed = d.Allowed()
	return ans
}

// containers returns the USAGE rows effective mode requires for r.
func containers(r model.Row) []model.Row {
	var out []model.Row
	for _, c := range model.Containers(r.ObjectType, r.ObjectName) {
		out = append(out, model.Row{Account: r.Account, Email: r.Email, ObjectType: c.Type, ObjectName: c.Name, Privilege: privilege.Usage})
	}
	return out
}
