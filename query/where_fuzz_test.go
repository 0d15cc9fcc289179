package query

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
)

// hostileFragments are Where fragments written to get around the guard: breaking out
// of the parentheses, commenting the guard out, ending the statement, hiding a quote
// from the lexer, or reaching the table by another way.
var hostileFragments = []string{
	"true) OR (true",
	"true) --",
	"true)) OR ((true",
	"true) OR true OR (true",
	"true /* ",
	"true */ OR true /*",
	"true); SELECT * FROM secrets; --",
	"true; --",
	"d.id = 1) UNION ALL SELECT * FROM secrets WHERE (true",
	"true) UNION ALL (SELECT * FROM secrets",
	"false) OR d.id IN (SELECT id FROM secrets) OR (false",
	`a IN ('\', ') OR true OR (')`,
	`d.note = '\' ) OR true OR ( '`,
	"d.note = E'\\') OR (true' ",
	`d.note = $$ $$) OR (true$$`,
	`d.note = $a$) OR (true $a`,
	`"d") OR (true`,
	"true)\nOR (true",
	"?) OR (?",
	"$1) OR ($1",
	"d.id > 0 OR true",
	"NOT (d.id = 3) OR true",
	"d.id IN (SELECT id FROM secrets)",
	"EXISTS (SELECT 1 FROM secrets s WHERE s.id = d.id)",
	"true",
	"d.id = ?",
	"(d.note = ')' ) OR (d.note = '(')",
}

// FuzzWhereCannotWiden builds guarded reads with hostile Where fragments and runs
// them on Postgres, against a table holding a row nobody may see and rows the viewer
// may not see, under both settings of standard_conforming_strings. Whatever the
// fragment, the builder refuses it or the statement fails or it returns only rows
// the guard admits; the secret row never comes back. go test -fuzz FuzzWhereCannotWiden
// ./query explores beyond the seed corpus.
func FuzzWhereCannotWiden(f *testing.F) {
	for _, s := range hostileFragments {
		f.Add(s, "1")
	}
	fx := setup(f)
	fx.exec(`CREATE TABLE data (id bigint PRIMARY KEY, object_name text NOT NULL, note text)`)
	fx.exec(`CREATE INDEX data_object_id ON data (object_name, id)`)
	// Rows 1–3 are on an object the viewer holds, 4–5 on one only somebody else holds,
	// 6 on one nobody holds.
	fx.exec(`INSERT INTO data VALUES (1, 'DB.S.SEEN', 'a'), (2, 'DB.S.SEEN', ')'), (3, 'DB.S.SEEN', ''''),
		(4, 'DB.S.OTHER', 'b'), (5, 'DB.S.OTHER', '\'), (6, 'DB.S.SECRET', 'secret')`)
	fx.exec(`CREATE TABLE secrets (id bigint, object_name text, note text)`)
	fx.exec(`INSERT INTO secrets SELECT * FROM data WHERE id = 6`)
	fx.grant(grant{"ACME", "viewer@example.com", "TABLE", "DB.S.SEEN", "SELECT"},
		grant{"ACME", "other@example.com", "TABLE", "DB.S.OTHER", "SELECT"})
	b := fx.builder(fx.options())
	// A second connection reads strings the old way, where a backslash escapes a quote.
	legacy := pgtest.Conn(f)
	_, err := legacy.Exec(fx.ctx, "SET search_path TO "+fx.schema+"; SET standard_conforming_strings = off")
	require.NoError(f, err)
	allowed := []int64{1, 2, 3}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, fragment, arg string) {
		shapes := [][]Part{
			nil,
			{OrderBy("d.id DESC"), Limit(2)},
			{OrderBy("d.id DESC"), Limit(50)},
		}
		for _, args := range [][]any{nil, {arg}} {
			for _, shape := range shapes {
				parts := append([]Part{From("data d"), Columns("d.id"), Guard("TABLE", "d.object_name", "SELECT"),
					Where(fragment, args...)}, shape...)
				sql, sqlArgs, err := b.Select(ctx, "viewer@example.com", parts...).ToSql()
				if err != nil {
					require.True(t, IsBuildError(err), "unexpected kind of error: %v", err)
					continue
				}
				for _, db := range []*pgx.Conn{fx.db, legacy} {
					ids, err := runIDs(ctx, db, sql, sqlArgs)
					if err != nil {
						var pgErr *pgconn.PgError
						require.True(t, errors.As(err, &pgErr) || pgconn.SafeToRetry(err) ||
							errors.Is(err, context.Canceled), "%s\n%v", sql, err)
						continue
					}
					for _, id := range ids {
						require.True(t, slices.Contains(allowed, id), "fragment %q returned row %d:\n%s", fragment, id, sql)
					}
				}
			}
		}
	})
}

// runIDs runs a statement whose first column is a bigint and returns that column.
func runIDs(ctx context.Context, db *pgx.Conn, sql string, args []any) ([]int64, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	})
}

// TestHostileFragmentsRefused pins that the fragments which broke out of their
// parentheses before the lexical checks are refused with ErrFragment, by name, and that
// the statement-level structure alone keeps them harmless too: the same SQL glued by
// hand around the guarded subquery admits no extra row.
func TestHostileFragmentsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.exec(`CREATE TABLE data (id bigint PRIMARY KEY, object_name text NOT NULL)`)
	f.exec(`INSERT INTO data VALUES (1, 'DB.S.SEEN'), (2, 'DB.S.SECRET')`)
	f.grant(grant{"ACME", "viewer@example.com", "TABLE", "DB.S.SEEN", "SELECT"})
	b := f.builder(f.options())
	ctx := context.Background()
	for _, fragment := range []string{"true) OR (true", "true) --", "true); DELETE FROM data; --", "true /*"} {
		_, _, err := b.Select(ctx, "viewer@example.com", From("data d"), Columns("d.id"),
			Guard("TABLE", "d.object_name", "SELECT"), Where(fragment)).ToSql()
		require.ErrorIs(t, err, ErrFragment, fragment)
	}
	// Splice the first one in by hand where the fragment goes: the guard sits in the
	// subquery, so the OR reaches only rows the guard already admitted.
	sql, args, err := b.Select(ctx, "viewer@example.com", From("data d"), Columns("d.id"),
		Guard("TABLE", "d.object_name", "SELECT"), Where("d.id = 0"), OrderBy("d.id")).ToSql()
	require.NoError(t, err)
	spliced := replaceOnce(t, sql, "(d.id = 0)", "(true) OR (true)")
	ids, err := runIDs(ctx, f.db, spliced, args)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, ids)
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(s, old), "%q must occur exactly once in %s", old, s)
	return strings.Replace(s, old, new, 1)
}
