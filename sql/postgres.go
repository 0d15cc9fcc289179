package sql

import "embed"

// Postgres holds the Postgres target's statements: postgres/migrations/*.sql are
// goose migrations, numbered, and postgres/*.sql are the queries the store runs,
// one per file, named by what they do. Schema-qualified names are written as
// {{schema}} and per-generation tables as access_{{gen}}; the store replaces both
// with validated values before it sends a statement.
//
//go:embed postgres
var Postgres embed.FS
