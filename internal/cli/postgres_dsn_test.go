package cli

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
)

// TestKeywordValueTarget syncs to a target named by a keyword/value DSN, as libpq
// writes them: it is accepted like a URL, and each sync has one run record,
// written with its generation and completed by the command.
func TestKeywordValueTarget(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	u, err := url.Parse(pgtest.URL())
	require.NoError(t, err)
	kv := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable", u.Hostname(), u.Port(), u.User.Username(), strings.TrimPrefix(u.Path, "/"))
	if p, ok := u.User.Password(); ok {
		kv += " password=" + p
	}
	dir := filepath.Join(repo, "testdata/sample/acme")
	pg := []string{"--target", kv, "--schema", schema}
	// --force: the second sync of the same data would otherwise find it unchanged
	// and publish nothing.
	for range 2 {
		r := run(t, append(append([]string{"sync", "--source", "dir:" + dir, "--log-level", "error", "--force"}, pg...), "--config", filepath.Join(dir, "config.yaml"))...)
		require.Equal(t, 0, r.code, r.stderr)
	}
	r := run(t, append([]string{"generations"}, pg...)...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `(?m)^2 .* current$`, r.stdout)
	var runs int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM `+schema+`.runs WHERE status = 'published' AND completed AND source LIKE 'dir:%'`).Scan(&runs))
	require.Equal(t, 2, runs, "one completed record per sync")
}
