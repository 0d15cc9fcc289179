package sql

import "embed"

// Snowflake holds the extraction queries, one file per snapshot file:
// snowflake/users.sql produces users.csv, and so on (users_without_optional.sql
// is the users query for accounts whose USERS view lacks its optional columns).
// Every query reads a view of
// SNOWFLAKE.ACCOUNT_USAGE and renders each column as text, so that a snapshot does
// not depend on how a client converts Snowflake types.
//
//go:embed snowflake/*.sql
var Snowflake embed.FS
