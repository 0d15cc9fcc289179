package model

import (
	"strings"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// roleName canonicalizes a role: account roles are one part, database and
// application roles are DB.ROLE. A name that arrives already qualified is kept.
func roleName(name, database string) string {
	if database == "" {
		return ident.Part(name)
	}
	if strings.Contains(name, ".") {
		if parts, err := ident.SplitStored(name); err == nil && len(parts) == 2 {
			return ident.Join(parts...)
		}
	}
	return ident.Join(database, name)
}

// GranteeRole returns the canonical role a grant row is granted to, or "" when no user
// can reach that grantee: an application holds its grants for its own code, and a
// share's grants reach another account.
func GranteeRole(g *RoleGrant) string {
	switch g.GrantedTo {
	case "ROLE":
		return ident.Part(g.Grantee)
	case "DATABASE_ROLE", "APPLICATION_ROLE":
		db := g.Catalog
		if g.GrantedOn == "DATABASE" {
			db = g.Name
		}
		if db == "" {
			if parts, err := ident.SplitStored(g.Grantee); err == nil && len(parts) == 2 {
				return ident.Join(parts...)
			}
			return ""
		}
		return roleName(g.Grantee, db)
	case "INSTANCE_ROLE":
		return instanceRole(g.Grantee, g.Catalog, g.Schema, "")
	case "USER":
		return UserRole(g.Grantee)
	}
	return ""
}

// instanceRole canonicalizes a role of a class instance the way Snowflake writes
// it, DB.SCHEMA.INSTANCE!ROLE. The instance comes from OBJECT_INSTANCE or from a
// name that already carries it (INSTANCE!ROLE); without either the role cannot be
// told apart from the roles of other instances, and "" leaves the row out.
func instanceRole(name, catalog, schema, instance string) string {
	inst, role, ok := strings.Cut(name, "!")
	switch {
	case ok && strings.Contains(inst, "."):
		if parts, err := ident.SplitStored(inst); err == nil && len(parts) == 3 {
			return ident.Join(parts...) + "!" + ident.Part(role)
		}
		return ""
	case ok && catalog != "" && schema != "":
		return ident.Join(catalog, schema, inst) + "!" + ident.Part(role)
	case !ok && instance != "":
		if parts, err := ident.SplitStored(instance); err == nil && len(parts) == 3 {
			return ident.Join(parts...) + "!" + ident.Part(name)
		}
	}
	return ""
}

// ObjectKind says which of SNOWFLAKE.md's container rules names the object of a
// grant row: 'd' a database, 's' a schema, 'r' a database or application role,
// 'i' an instance role, 'o' an object in a schema, 'a' an account object.
func ObjectKind(g *RoleGrant) byte {
	switch {
	case g.GrantedOn == "DATABASE":
		return 'd'
	case g.GrantedOn == "SCHEMA":
		return 's'
	case g.GrantedOn == "DATABASE_ROLE" || g.GrantedOn == "APPLICATION_ROLE":
		return 'r'
	case g.GrantedOn == "INSTANCE_ROLE":
		return 'i'
	case g.Schema != "":
		return 'o'
	}
	return 'a'
}

// GrantObject canonicalizes the object of a grant row (SNOWFLAKE.md's container rule)
// and returns the USAGE objects effective mode requires of it.
func GrantObject(g *RoleGrant) (name string, db, schema string) {
	switch ObjectKind(g) {
	case 's':
		return ident.Join(g.Catalog, g.Name), ident.Part(g.Catalog), ""
	case 'r':
		return roleName(g.Name, g.Catalog), "", ""
	case 'i':
		return instanceRole(g.Name, g.Catalog, g.Schema, g.Instance), "", ""
	case 'o':
		return ident.Join(g.Catalog, g.Schema, g.Name), ident.Part(g.Catalog), ident.Join(g.Catalog, g.Schema)
	}
	return ident.Part(g.Name), "", ""
}

// UserRole is the pseudo-role holding privileges granted straight to a user
// (GRANTED_TO = USER). Its name cannot collide with a canonical role name: those
// are bare words or start with a quote.
func UserRole(user string) string { return "USER " + ident.Part(user) }
