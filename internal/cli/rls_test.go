package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/rls"
)

// TestRLSCommands runs rls enable, status and disable against the real server,
// on a table of a schema of its own, guarded with a mirror synced from the tiny
// sample, and reads it as the tiny sample's people through the policy.
func TestRLSCommands(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	schema := pgtest.Schema(t, pool)
	app := pgtest.Schema(t, pool)
	table := app + ".events"
	pg := []string{"--target", pgtest.URL(), "--schema", schema, "--log-level", "error"}
	with := func(args ...string) []string { return append(args, pg...) }

	r := run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	_, err := pool.Exec(ctx, `CREATE TABLE `+pgx.Identifier{app, "events"}.Sanitize()+` (id bigint PRIMARY KEY, table_name text NOT NULL)`)
	require.NoError(t, err)
	// One row per object of the mirror, and one of an object it does not know.
	_, err = pool.Exec(ctx, `INSERT INTO `+pgx.Identifier{app, "events"}.Sanitize()+` (id, table_name)
		SELECT row_number() OVER (ORDER BY object_name), object_name FROM (SELECT DISTINCT object_name FROM `+
		pgx.Identifier{schema, "access"}.Sanitize()+` WHERE object_type = 'TABLE') o
		UNION ALL SELECT 1000, 'SHOP.PUBLIC.NOBODY_KNOWS'`)
	require.NoError(t, err)

	r = run(t, with("rls", "enable", table, "--object-column", "table_name; DROP TABLE x")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, `invalid identifier: "table_name; DROP TABLE x"`)

	// The tiny sample's snapshot is old: a staleness limit of a century keeps it
	// usable for the test.
	r = run(t, with("rls", "enable", table, "--object-column", "table_name", "--type", "table", "--privilege", "select",
		"--max-staleness", "36500d")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, `guarded "`+app+`"."events": a row shows when the viewer holds SELECT on the TABLE its table_name names`)
	require.Contains(t, r.stdout, "bypass it (--force-owner guards the owner too)")

	r = run(t, with("rls", "status", "--format", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var tables []rls.Table
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tables))
	require.Len(t, tables, 1)
	require.True(t, tables[0].Guarded)
	require.Equal(t, "table_name", tables[0].Settings.ObjectColumn)

	r = run(t, with("rls", "status", table)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "table_name")
	require.Contains(t, r.stdout, "on")

	// Through the policy, as a role that is not the owner: each person sees the
	// rows of the tables the mirror says they may select, and only those.
	suffix := make([]byte, 6)
	rand.Read(suffix)
	reader := "rls_test_cli_" + hex.EncodeToString(suffix)
	q := pgx.Identifier{reader}.Sanitize()
	for _, s := range []string{
		`CREATE ROLE ` + q,
		`GRANT USAGE ON SCHEMA ` + pgx.Identifier{app}.Sanitize() + `, ` + pgx.Identifier{schema}.Sanitize() + ` TO ` + q,
		`GRANT SELECT ON ` + pgx.Identifier{app, "events"}.Sanitize() + `, ` + pgx.Identifier{schema, "access"}.Sanitize() + `, ` +
			pgx.Identifier{schema, "current"}.Sanitize() + ` TO ` + q,
	} {
		_, err := pool.Exec(ctx, s)
		require.NoError(t, err, s)
	}
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), `DROP OWNED BY `+q)
		require.NoError(t, err)
		_, err = pool.Exec(context.Background(), `DROP ROLE `+q)
		require.NoError(t, err)
	})
	read := func(viewer string) (seen, want []string) {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT object_name ORDER BY object_name), '{}') FROM `+
				pgx.Identifier{schema, "access"}.Sanitize()+` WHERE email = $1 AND object_type = 'TABLE' AND privilege = 'SELECT'`,
				viewer).Scan(&want); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SET LOCAL ROLE `+q); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SELECT set_config('grantmirror.viewer', $1, true)`, viewer); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT table_name FROM `+pgx.Identifier{app, "events"}.Sanitize()+` ORDER BY table_name`)
			if err != nil {
				return err
			}
			seen, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		require.NoError(t, err)
		if seen == nil {
			seen = []string{}
		}
		return seen, want
	}
	var people []string
	require.NoError(t, pool.QueryRow(ctx, `SELECT array_agg(DISTINCT email ORDER BY email) FROM `+
		pgx.Identifier{schema, "access"}.Sanitize()).Scan(&people))
	require.NotEmpty(t, people)
	sawSome, sawLess := false, false
	var total int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{app, "events"}.Sanitize()).Scan(&total))
	for _, p := range people {
		seen, want := read(p)
		require.Equal(t, want, seen, p)
		sawSome = sawSome || len(seen) > 0
		sawLess = sawLess || len(seen) < total
	}
	require.True(t, sawSome && sawLess, "the sample has people who see some rows and not all")
	seen, _ := read("")
	require.Empty(t, seen, "no viewer, no rows")

	r = run(t, with("rls", "disable", table)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "row-level security is off")
	seen, _ = read("")
	require.Len(t, seen, total)

	r = run(t, with("rls", "disable", table)...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "table has no grantmirror policy")
}
