package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// FuzzGuard feeds hostile identifiers and values to the builder. For every input,
// either the builder refuses it, or Postgres parses the statement (PREPARE) with one
// parameter per argument, and no value appears in the SQL text. The seed corpus runs
// in plain go test; go test -fuzz FuzzGuard ./query explores further.
func FuzzGuard(f *testing.F) {
	seeds := []struct {
		table, column, guardCol, maskCol, order, objectType, privilege, viewer, value string
		strategy                                                                      uint8
	}{
		{"t", "t.id", "t.name", "t.note", "t.id DESC", "TABLE", "SELECT", "alice@example.com", "x", 0},
		{"t AS x", "x.id AS ident", "name", "note", "id", "VIEW", "select", "Bob@Example.COM", "' OR 1=1 --", 1},
		{`"Weird Table" w`, `w."Mixed Col"`, `w."select"`, `w."a""b"`, `w."Mixed Col" NULLS LAST`, "table", "usage", "o'brien--@example.com", "$1", 2},
		{"t", `t."select"`, "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "?", 3},
		{"t; DROP TABLE t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id, t.note", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name) OR (true", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", `t."name"" OR ""x"`, "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note/*", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note", "t.id; SELECT 1", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE' OR ''='", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT' --", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "'); DROP TABLE t; --@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "\x00", 4},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "\xff\xfe", 5},
		{"t", `"t\x00"."id"`, "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "T.ID", "T.NAME", "T.NOTE", "T.ID ASC", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.user", "t.order", "t.from", "t.select", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "gm__a1.object_name", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", `t."$1"`, `t."?"`, `t."--"`, "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", strings.Repeat("'", 300), 1},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "😀 ü", 2},
		{"t", "t." + strings.Repeat("a", 64), "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "v", 0},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "$$ $tag$", 3},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x@example.com", "E'\\''", 4},
		{"t", "t.id", "t.name", "t.note", "t.id", "TABLE", "SELECT", "x\"@example.com", "v", 5},
	}
	for _, s := range seeds {
		f.Add(s.table, s.column, s.guardCol, s.maskCol, s.order, s.objectType, s.privilege, s.viewer, s.value, s.strategy)
	}
	fx := setup(f)
	fx.exec(`CREATE TABLE t (id int PRIMARY KEY, name text, note text, "Mixed Col" text, "select" text, "a""b" text,
		"user" text, "order" text, "from" text, "$1" text, "?" text, "--" text)`)
	fx.exec(`CREATE TABLE "Weird Table" (id int, "Mixed Col" text, "select" text, "a""b" text)`)
	fx.exec(`INSERT INTO t (id, name, note) VALUES (1, 'SALES.PUBLIC.ORDERS', 'n')`)
	o := fx.options()
	o.HashKey = []byte("fuzz key")
	b := fx.builder(o)
	var nb [8]byte
	_, err := rand.Read(nb[:])
	require.NoError(f, err)
	// The nonce is unknown to the fuzzer, so finding it in the SQL text can only mean
	// a value was spliced in.
	nonce := "nonce" + hex.EncodeToString(nb[:])
	strategies := []Strategy{Redact, Null, Hash, Partial(3), EmailDomain, Partial(0)}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, table, column, guardCol, maskCol, order, objectType, privilege, viewer, value string, strategy uint8) {
		for _, mode := range []Mode{Enforce, Shadow} {
			bm := *b
			bm.mode = mode
			s := bm.Select(ctx, nonce+viewer,
				From(table), Columns(column),
				Guard(objectType, guardCol, privilege),
				AnyOf(GuardObject("TABLE", "SALES.PUBLIC.ORDERS", privilege), Guard(objectType, guardCol, "USAGE")),
				Mask(maskCol, strategies[int(strategy)%len(strategies)], UnlessRole("PII_READER"), UnlessPrivilege(objectType, "db.s.t", privilege)),
				Where("t.note IS DISTINCT FROM ?", nonce+value),
				OrderBy(order), Limit(10), Offset(1))
			sql, args, err := s.ToSql()
			if err != nil {
				require.True(t, IsBuildError(err), "unexpected kind of error: %v", err)
				continue
			}
			require.NotContains(t, sql, nonce, "a value reached the SQL text")
			require.NotContains(t, sql, "\x00")

			_, err = fx.db.Exec(ctx, "PREPARE fuzz AS "+sql)
			if err != nil {
				var pgErr *pgconn.PgError
				require.True(t, errors.As(err, &pgErr), "%v", err)
				// Referring to a table or column that does not exist is the caller's
				// business; anything the parser rejects is the builder's fault.
				require.NotEqual(t, "42601", pgErr.Code, "syntax error in\n%s\n%v", sql, err)
				require.Contains(t, []string{"42P01", "42703", "42P18", "42883", "42804", "42702", "42712", "3F000", "42P10", "0A000"},
					pgErr.Code, "%s\n%v", sql, err)
				continue
			}
			var params int
			require.NoError(t, fx.db.QueryRow(ctx,
				"SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'fuzz'").Scan(&params))
			_, err = fx.db.Exec(ctx, "DEALLOCATE fuzz")
			require.NoError(t, err)
			require.Equal(t, len(args), params, "every argument has its own placeholder:\n%s", sql)

			// Run it too: the values travel as parameters and may only upset the
			// server as data (an invalid byte sequence), never as SQL.
			rows, err := fx.db.Query(ctx, sql, args...)
			if err == nil {
				for rows.Next() {
				}
				rows.Close()
				err = rows.Err()
			}
			if err != nil {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) {
					require.True(t, strings.HasPrefix(pgErr.Code, "22"), "%s\n%v", sql, err)
				} else {
					require.Contains(t, err.Error(), "unable to encode", "%s\n%v", sql, err)
				}
			}
		}
	})
}
