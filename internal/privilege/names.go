package privilege

import (
	"fmt"
	"slices"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// privileges are the privilege names Snowflake's GRANTS_TO_ROLES and
// GRANTS_TO_USERS report, as its GRANT <privileges> reference lists them. A
// name outside this list is still a privilege when a generation's grants use it
// (Snowflake adds privileges with new object types); see Lookup.
var privileges = []string{
	"ADD SEARCH OPTIMIZATION", "APPLY", "APPLY AGGREGATION POLICY", "APPLY AUTHENTICATION POLICY",
	"APPLY BACKUP RETENTION LOCK", "APPLY MASKING POLICY", "APPLY PACKAGES POLICY", "APPLY PASSWORD POLICY",
	"APPLY PROJECTION POLICY", "APPLY ROW ACCESS POLICY", "APPLY SESSION POLICY", "APPLY TAG", "APPLYBUDGET",
	"ATTACH LISTING", "ATTACH POLICY", "AUDIT", "BIND SERVICE ENDPOINT", "CREATE ACCOUNT", "CREATE AGGREGATION POLICY",
	"CREATE ALERT", "CREATE API INTEGRATION", "CREATE APPLICATION", "CREATE APPLICATION PACKAGE",
	"CREATE AUTHENTICATION POLICY", "CREATE COMPUTE POOL", "CREATE CORTEX SEARCH SERVICE", "CREATE CREDENTIAL",
	"CREATE DATA EXCHANGE LISTING", "CREATE DATABASE", "CREATE DATABASE ROLE", "CREATE DATASET",
	"CREATE DYNAMIC TABLE", "CREATE EVENT TABLE", "CREATE EXTERNAL TABLE", "CREATE EXTERNAL VOLUME",
	"CREATE FAILOVER GROUP", "CREATE FILE FORMAT", "CREATE FUNCTION", "CREATE GIT REPOSITORY",
	"CREATE HYBRID TABLE", "CREATE ICEBERG TABLE", "CREATE IMAGE REPOSITORY", "CREATE INTEGRATION",
	"CREATE MASKING POLICY", "CREATE MATERIALIZED VIEW", "CREATE MODEL", "CREATE NETWORK POLICY",
	"CREATE NETWORK RULE", "CREATE NOTEBOOK", "CREATE ORGANIZATION LISTING", "CREATE PACKAGES POLICY",
	"CREATE PASSWORD POLICY", "CREATE PIPE", "CREATE PRIVACY POLICY", "CREATE PROCEDURE",
	"CREATE PROJECTION POLICY", "CREATE REPLICATION GROUP", "CREATE ROLE", "CREATE ROW ACCESS POLICY",
	"CREATE SCHEMA", "CREATE SECRET", "CREATE SEMANTIC VIEW", "CREATE SEQUENCE", "CREATE SERVICE",
	"CREATE SESSION POLICY", "CREATE SHARE", "CREATE SNAPSHOT", "CREATE STAGE", "CREATE STREAM",
	"CREATE STREAMLIT", "CREATE TABLE", "CREATE TAG", "CREATE TASK", "CREATE USER", "CREATE VIEW",
	"CREATE WAREHOUSE", "DELETE", "EVOLVE SCHEMA", "EXECUTE ALERT", "EXECUTE DATA METRIC FUNCTION",
	"EXECUTE MANAGED ALERT", "EXECUTE MANAGED TASK", "EXECUTE TASK", "FAILOVER", "IMPORT SHARE",
	"IMPORTED PRIVILEGES", "INSERT", "MANAGE ACCOUNT SUPPORT CASES", "MANAGE EVENT SHARING", "MANAGE GRANTS",
	"MANAGE LISTING AUTO FULFILLMENT", "MANAGE ORGANIZATION SUPPORT CASES", "MANAGE USER SUPPORT CASES",
	"MANAGE WAREHOUSES", "MODIFY", "MODIFY LOG LEVEL", "MODIFY METRIC LEVEL", "MODIFY SESSION LOG LEVEL",
	"MODIFY SESSION METRIC LEVEL", "MODIFY SESSION TRACE LEVEL", "MODIFY TRACE LEVEL", "MONITOR",
	"MONITOR EXECUTION", "MONITOR SECURITY", "MONITOR USAGE", "OPERATE", "OVERRIDE SHARE RESTRICTIONS",
	"OWNERSHIP", "PURCHASE DATA EXCHANGE LISTING", "READ", "READ SESSION", "REBUILD", "REFERENCES",
	"REPLICATE", "RESOLVE ALL", "SELECT", "TRUNCATE", "UPDATE", "USAGE", "USE_ANY_ROLE", "WRITE",
}

// objectTypes are the GRANTED_ON words of Snowflake's grant views: an object's
// type as GRANT … ON <type> names it, spaces written as underscores.
var objectTypes = []string{
	"ACCOUNT", "AGGREGATION_POLICY", "ALERT", "APPLICATION", "APPLICATION_PACKAGE", "APPLICATION_ROLE",
	"AUTHENTICATION_POLICY", "COMPUTE_POOL", "CORTEX_SEARCH_SERVICE", "DATABASE", "DATABASE_ROLE", "DATASET",
	"DYNAMIC_TABLE", "EVENT_TABLE", "EXTERNAL_TABLE", "EXTERNAL_VOLUME", "FAILOVER_GROUP", "FILE_FORMAT",
	"FUNCTION", "GIT_REPOSITORY", "HYBRID_TABLE", "ICEBERG_TABLE", "IMAGE_REPOSITORY", "INSTANCE_ROLE",
	"INTEGRATION", "MASKING_POLICY", "MATERIALIZED_VIEW", "MODEL", "NETWORK_POLICY", "NETWORK_RULE",
	"NOTEBOOK", "PACKAGES_POLICY", "PASSWORD_POLICY", "PIPE", "PROCEDURE", "PROJECTION_POLICY",
	"REPLICATION_GROUP", "RESOURCE_MONITOR", "ROLE", "ROW_ACCESS_POLICY", "SCHEMA", "SECRET",
	"SEMANTIC_VIEW", "SEQUENCE", "SERVICE", "SESSION_POLICY", "SHARE", "STAGE", "STREAM", "STREAMLIT",
	"TABLE", "TAG", "TASK", "USER", "VIEW", "WAREHOUSE",
}

// UnknownError is a privilege or object type that neither Snowflake's list nor
// the generation asked knows: a typo, most likely, said with the nearest name.
type UnknownError struct {
	Kind       string // "privilege" or "object type"
	Name       string
	Suggestion string // the nearest known name; empty when none is near
}

func (e *UnknownError) Error() string {
	msg := fmt.Sprintf("unknown %s %q", e.Kind, e.Name)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", e.Suggestion)
	}
	return msg
}

// Lookup checks a normalized privilege name (ident.Privilege) against
// Snowflake's privileges and those seen in a generation's grants, and returns
// an *UnknownError for a name in neither.
func Lookup(name string, seen ...string) error {
	return lookup("privilege", name, privileges, seen)
}

// LookupObjectType checks a normalized GRANTED_ON word (ident.Word) against
// Snowflake's object types and those seen in a generation's grants, and
// returns an *UnknownError for a word in neither.
func LookupObjectType(word string, seen ...string) error {
	return lookup("object type", word, objectTypes, seen)
}

func lookup(kind, name string, known, seen []string) error {
	if slices.Contains(known, name) || slices.Contains(seen, name) {
		return nil
	}
	candidates := slices.Concat(known, seen)
	slices.Sort(candidates)
	return &UnknownError{Kind: kind, Name: name, Suggestion: ident.Nearest(name, slices.Compact(candidates))}
}
