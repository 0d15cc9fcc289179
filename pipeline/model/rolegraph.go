package model

import (
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
)

// DroppedRoles returns the canonical roles that roles.csv lists only as dropped, with
// when. A role missing from roles.csv altogether is not dropped: the view lags and
// may not show a role created in the last hours.
func DroppedRoles(a *Account) map[string]time.Time {
	dropped := map[string]time.Time{}
	if !a.HasRoles {
		return dropped
	}
	live := map[string]bool{}
	for i := range a.Roles {
		r := &a.Roles[i]
		db := ""
		if r.Type == "DATABASE_ROLE" || r.Type == "APPLICATION_ROLE" || r.Database != "" {
			db = r.Database
		}
		n := roleName(r.Name, db)
		if r.DeletedOn.IsZero() {
			live[n] = true
		} else if r.DeletedOn.After(dropped[n]) {
			dropped[n] = r.DeletedOn
		}
	}
	for n := range live {
		delete(dropped, n)
	}
	return dropped
}

// InheritedRole is the canonical role an inheritance row grants.
func InheritedRole(rg *RoleGrant) string {
	switch rg.GrantedOn {
	case "ROLE":
		return ident.Part(rg.Name)
	case "INSTANCE_ROLE":
		return instanceRole(rg.Name, rg.Catalog, rg.Schema, rg.Instance)
	}
	return roleName(rg.Name, rg.Catalog)
}

// ObjectName is the canonical name of the object a grants_to_roles row is on.
func ObjectName(rg *RoleGrant) string {
	n, _, _ := GrantObject(rg)
	return n
}

// RoleGraph is an account's role inheritance as flatten sees it, for explaining
// paths after the fact: canonical names, revoked grants and dropped roles left out.
type RoleGraph struct {
	// Inherits maps a role to the roles granted to it, sorted.
	Inherits map[string][]string
	// Dropped maps roles dropped per roles.csv to when.
	Dropped map[string]time.Time
	// Kinds maps roles that are not account roles to their kind as GRANTED_ON
	// writes it: DATABASE_ROLE, APPLICATION_ROLE or INSTANCE_ROLE.
	Kinds map[string]string
}

// Kind returns a canonical role's kind: ROLE for an account role, otherwise
// DATABASE_ROLE, APPLICATION_ROLE or INSTANCE_ROLE as the snapshot says. A
// two-part name the snapshot says nothing about is taken for a database role.
func (g *RoleGraph) Kind(role string) string {
	if k, ok := g.Kinds[role]; ok {
		return k
	}
	return roleKind(role)
}

// roleKind guesses a role's kind from its canonical name alone.
func roleKind(role string) string {
	switch parts := ident.Parts(role); {
	case len(parts) == 3 && strings.Contains(parts[2], "!"):
		return "INSTANCE_ROLE"
	case len(parts) == 2:
		return "DATABASE_ROLE"
	}
	return "ROLE"
}

// RoleKinds returns the kind of every role the account's rows name that is not
// an account role: from roles.csv (ROLE_TYPE), the GRANTED_ON of role grants and
// the GRANTED_TO of grantees.
func RoleKinds(a *Account) map[string]string {
	kinds := map[string]string{}
	set := func(role, kind string) {
		if role != "" && kind != "ROLE" && privilege.IsRoleType(kind) {
			kinds[role] = kind
		}
	}
	for i := range a.Roles {
		r := &a.Roles[i]
		switch r.Type {
		case "DATABASE_ROLE", "APPLICATION_ROLE":
			set(roleName(r.Name, r.Database), r.Type)
		}
	}
	for i := range a.RoleGrants {
		g := &a.RoleGrants[i]
		if privilege.IsRoleType(g.GrantedOn) {
			n, _, _ := GrantObject(g)
			set(n, g.GrantedOn)
		}
		set(GranteeRole(g), g.GrantedTo)
	}
	return kinds
}

// NewRoleGraph builds the role graph of an account.
func NewRoleGraph(a *Account) *RoleGraph {
	rg := &RoleGraph{Inherits: map[string][]string{}, Dropped: DroppedRoles(a), Kinds: RoleKinds(a)}
	for i := range a.RoleGrants {
		g := &a.RoleGrants[i]
		if !g.DeletedOn.IsZero() || !privilege.IsInheritance(g.Privilege, g.GrantedOn) {
			continue
		}
		to, from := GranteeRole(g), InheritedRole(g)
		if to == "" || from == "" || !rg.Dropped[to].IsZero() || !rg.Dropped[from].IsZero() {
			continue
		}
		rg.Inherits[to] = append(rg.Inherits[to], from)
	}
	for r, l := range rg.Inherits {
		slices.Sort(l)
		rg.Inherits[r] = slices.Compact(l)
	}
	return rg
}

// Closure is every role that holding role gives, role included.
func (g *RoleGraph) Closure(role string) map[string]bool {
	seen := map[string]bool{role: true}
	queue := []string{role}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for _, s := range g.Inherits[r] {
			if !seen[s] {
				seen[s] = true
				queue = append(queue, s)
			}
		}
	}
	return seen
}

// Reaches reports whether holding role from gives role to.
func (g *RoleGraph) Reaches(from, to string) bool { return g.Closure(from)[to] }

// Has reports whether role inherits parent directly.
func (g *RoleGraph) Has(role, parent string) bool {
	_, ok := slices.BinarySearch(g.Inherits[role], parent)
	return ok
}

// Container is an object whose USAGE effective mode requires.
type Container struct{ Type, Name string }

// Containers returns what effective mode requires USAGE on for a privilege on an
// object named canonically: its database and schema for an object in a schema, its
// database for a schema, nothing otherwise.
func Containers(objectType, name string) []Container {
	parts := ident.Parts(name)
	switch {
	case objectType == "SCHEMA" && len(parts) == 2:
		return []Container{{"DATABASE", parts[0]}}
	case len(parts) == 3 && !privilege.IsRoleType(objectType):
		return []Container{{"DATABASE", parts[0]}, {"SCHEMA", parts[0] + "." + parts[1]}}
	}
	return nil
}
