package privilege

import "slices"

// Ownership is the privilege that implies all others on its object.
const Ownership = "OWNERSHIP"

// Usage is the privilege containers must grant for their contents to be reachable,
// and the privilege that, on a role, means inheritance.
const Usage = "USAGE"

// implied lists, per GRANTED_ON word, what OWNERSHIP adds (SNOWFLAKE.md). Types not
// listed gain nothing beyond OWNERSHIP itself. No other privilege implies another.
var implied = map[string][]string{
	"DATABASE": {"USAGE", "MONITOR", "MODIFY", "CREATE SCHEMA", "CREATE DATABASE ROLE", "APPLYBUDGET"},
	"SCHEMA": {"USAGE", "MONITOR", "MODIFY", "ADD SEARCH OPTIMIZATION", "CREATE TABLE", "CREATE VIEW",
		"CREATE MATERIALIZED VIEW", "CREATE DYNAMIC TABLE", "CREATE STAGE", "CREATE FILE FORMAT",
		"CREATE SEQUENCE", "CREATE FUNCTION", "CREATE PROCEDURE", "CREATE PIPE", "CREATE STREAM",
		"CREATE TASK", "CREATE EXTERNAL TABLE", "CREATE TAG", "CREATE MASKING POLICY",
		"CREATE ROW ACCESS POLICY"},
	"TABLE":             {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "REBUILD", "EVOLVE SCHEMA", "APPLYBUDGET"},
	"VIEW":              {"SELECT", "REFERENCES"},
	"EXTERNAL_TABLE":    {"SELECT", "REFERENCES"},
	"MATERIALIZED_VIEW": {"SELECT", "REFERENCES", "APPLYBUDGET"},
	"DYNAMIC_TABLE":     {"SELECT", "OPERATE", "MONITOR"},
	"WAREHOUSE":         {"USAGE", "OPERATE", "MONITOR", "MODIFY", "APPLYBUDGET"},
	"STAGE":             {"USAGE", "READ", "WRITE"},
	"FUNCTION":          {"USAGE"},
	"PROCEDURE":         {"USAGE"},
	"SEQUENCE":          {"USAGE"},
	"FILE_FORMAT":       {"USAGE"},
	"INTEGRATION":       {"USAGE"},
	"STREAM":            {"SELECT"},
	"TASK":              {"MONITOR", "OPERATE"},
	"PIPE":              {"MONITOR", "OPERATE"},
}

// Implied returns the privileges OWNERSHIP of an object of this type adds, not
// including OWNERSHIP itself. The slice must not be modified.
func Implied(objectType string) []string {
	return implied[objectType]
}

// Implies reports whether holding held on an object of objectType gives want.
func Implies(objectType, held, want string) bool {
	return held == want || held == Ownership && slices.Contains(implied[objectType], want)
}

// roleTypes are the GRANTED_ON words whose USAGE grant means the grantee inherits
// the named role: account roles, database roles, application roles (granted to an
// account role, another application role of the same application or a user) and
// instance roles of class instances (granted to account or database roles).
var roleTypes = map[string]bool{"ROLE": true, "DATABASE_ROLE": true, "APPLICATION_ROLE": true, "INSTANCE_ROLE": true}

// IsRoleType reports whether a GRANTED_ON or GRANTED_TO word names a kind of role.
func IsRoleType(word string) bool { return roleTypes[word] }

// RoleWords are how Snowflake names each kind of role in prose and in SQL (GRANT
// APPLICATION ROLE …): the noun, and the keyword before a role's name.
func RoleWords(kind string) (noun, keyword string) {
	switch kind {
	case "DATABASE_ROLE":
		return "database role", "DATABASE ROLE"
	case "APPLICATION_ROLE":
		return "application role", "APPLICATION ROLE"
	case "INSTANCE_ROLE":
		return "instance role", "INSTANCE ROLE"
	}
	return "role", "ROLE"
}

// IsInheritance reports whether a grant row nests roles rather than granting a
// privilege on an object. OWNERSHIP of a role is not inheritance.
func IsInheritance(privilege, grantedOn string) bool {
	return privilege == Usage && roleTypes[grantedOn]
}
