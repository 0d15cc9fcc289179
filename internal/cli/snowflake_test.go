package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
)

// TestSnowflakeSource runs sync --source snowflake and extract through the real
// gosnowflake driver against the in-process fake serving the acme sample: the mirror
// must be the one the snapshot directory gives, and the password must appear nowhere.
func TestSnowflakeSource(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(repo, "testdata/sample/acme")
	const password = "s3cret-pa55word"
	fake := fakesnowflake.Start(t, fakesnowflake.Options{Dir: dir, Account: "acme",
		Users: map[string]fakesnowflake.User{"GRANTMIRROR": {Password: password}}})
	tmp := t.TempDir()
	pwFile := filepath.Join(tmp, "password")
	require.NoError(t, os.WriteFile(pwFile, []byte(password+"\n"), 0o600))
	aliases, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	require.NoError(t, err)
	config := filepath.Join(tmp, "grantmirror.yaml")
	require.NoError(t, os.WriteFile(config, fmt.Appendf(aliases, `
snowflake:
  accounts:
    - name: ACME
      account: acme
      user: GRANTMIRROR
      role: GRANTMIRROR_READER
      warehouse: WH
      password_file: %s
      host: %s
      port: %d
      protocol: http
`, pwFile, fake.Host(), fake.Port()), 0o644))

	target := filepath.Join(tmp, "mirror")
	r := run(t, "sync", "--config", config, "--source", "snowflake", "--target", "dir:"+target, "--log-level", "debug", "--log-format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stdout+r.stderr, password)
	require.Positive(t, fake.Stats().ArrowResults, "large results come as Arrow batches")
	live := run(t, "report", "--target", "dir:"+target)
	require.Equal(t, 0, live.code, live.stderr)
	require.Equal(t, mirror(t, dir), live.stdout, "a live sync equals a replayed snapshot")

	out := filepath.Join(tmp, "snapshot")
	r = run(t, "extract", "--config", config, "--out", out, "--log-level", "error")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "from 1 accounts")
	require.Equal(t, live.stdout, mirror(t, out, "--config", filepath.Join(dir, "config.yaml")), "extract writes what sync --source dir: reads")

	r = run(t, "extract", "--config", config, "--out", out, "--log-level", "error")
	require.Equal(t, ExitError, r.code, "an existing snapshot is not overwritten without --overwrite")
}
