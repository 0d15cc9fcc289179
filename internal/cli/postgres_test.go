package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
)

// TestPostgresTarget runs the whole command line against the real server: two syncs,
// the same rows as the directory target, diff, generations, rollback, explain, lint.
func TestPostgresTarget(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	dir := filepath.Join(repo, "testdata/sample/acme")
	pg := []string{"--target", pgtest.URL(), "--schema", schema}
	cfg := []string{"--config", filepath.Join(dir, "config.yaml")}

	r := run(t, append(append([]string{"migrate"}, pg...), "--log-level", "error")...)
	require.Equal(t, 0, r.code, r.stderr)
	sync := append(append([]string{"sync", "--source", "dir:" + dir, "--log-level", "error"}, pg...), cfg...)
	r = run(t, sync...)
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, sync...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "unchanged; generation 1 stays current", "an identical sync publishes nothing")
	r = run(t, append(sync, "--force")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "published generation 2")
	require.Contains(t, r.stdout, "(+0 −0)")

	report := run(t, append([]string{"report"}, pg...)...)
	require.Equal(t, 0, report.code, report.stderr)
	require.Equal(t, mirror(t, dir), report.stdout, "Postgres and directory targets publish the same rows")

	r = run(t, append([]string{"diff"}, pg...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "0 added, 0 removed")

	r = run(t, append([]string{"check", "alice.martin@acme.example", "SALES.PUBLIC.ORDERS", "SELECT"}, pg...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, append(append([]string{"explain", "carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "SELECT"}, pg...), cfg...)...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stdout, "missing_usage")
	r = run(t, append(append([]string{"lint"}, pg...), cfg...)...)
	require.Equal(t, ExitFindings, r.code)
	require.Contains(t, r.stdout, "user LOADER_SVC")

	r = run(t, append([]string{"rollback", "1"}, pg...)...)
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, append([]string{"generations"}, pg...)...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `(?m)^1 .* current$`, r.stdout)
	require.Contains(t, r.stdout, "RECENT RUNS")

	// A truncated extract is refused by the guard: exit 1, nothing published.
	r = run(t, append(append([]string{"sync", "--source", "dir:" + filepath.Join(repo, "testdata/sample/tiny"), "--log-level", "error"}, pg...), cfg...)...)
	require.Equal(t, ExitFindings, r.code)
	require.Contains(t, r.stderr, "revocation guard refused")
	require.Equal(t, report.stdout, run(t, append([]string{"report"}, pg...)...).stdout)
}

func TestBadTargets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		target, want, hint string
	}{
		{"mysql://x", `target "mysql://x": want dir:PATH or postgres://`, ""},
		{"postgres://u:hunter2@127.0.0.1:1/db", "127.0.0.1:1", "hint: the service could not be reached"},
		{"postgres://u@127.0.0.1/db?sslmode=bogus", "sslmode", ""},
		{"postgres://postgres@127.0.0.1:5432/no_such_database_here", "database does not exist", "hint: the configuration cannot work"},
	} {
		r := run(t, "generations", "--target", tc.target)
		require.Equal(t, ExitError, r.code)
		require.Contains(t, r.stderr, tc.want)
		require.NotContains(t, r.stderr, "hunter2", "passwords never appear in errors")
		if tc.hint != "" {
			require.Contains(t, r.stderr, tc.hint, "the shared kind of the failure says what to look at")
		} else {
			require.NotContains(t, r.stderr, "hint:")
		}
	}
	r := run(t, "sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"), "--target", "dir:"+t.TempDir(), "--schema", "Bad Schema; DROP TABLE x", "--log-level", "error")
	require.Equal(t, 0, r.code, "the schema only matters to Postgres targets: %s", r.stderr)
	r = run(t, "sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"), "--target", pgtest.URL(), "--schema", `x"; DROP TABLE y; --`)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "schema")
}

// TestHostileNamesInPostgres: identifiers that look like SQL are data. The
// adversarial sample names a table `Robert"); DROP TABLE access; --`; it must be
// published verbatim and the mirror must stay whole.
func TestHostileNamesInPostgres(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	dir := filepath.Join(repo, "testdata/sample/adversarial")
	pg := []string{"--target", pgtest.URL(), "--schema", schema}
	r := run(t, append([]string{"sync", "--source", "dir:" + dir, "--log-level", "error"}, pg...)...)
	require.Equal(t, 0, r.code, r.stderr)
	report := run(t, append([]string{"report"}, pg...)...)
	require.Equal(t, mirror(t, dir), report.stdout)
	require.Contains(t, report.stdout, `"ADV_DB.S.""Robert""""); DROP TABLE access; --""",SELECT`, "the name, CSV-quoted")
	r = run(t, append([]string{"check", "cycle@adv.example", `adv_db.s."Robert""); DROP TABLE access; --"`, "SELECT"}, pg...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
}
