package cli

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// published syncs the acme sample into a fresh target and returns the flags that
// read it back with the same config.
func published(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(repo, "testdata/sample/acme")
	target := t.TempDir()
	r := run(t, syncArgs(dir, target)...)
	require.Equal(t, 0, r.code, r.stderr)
	return []string{"--target", "dir:" + target, "--config", filepath.Join(dir, "config.yaml")}
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	flags := published(t)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"alice.martin@acme.example", "sales.public.orders", "select"}, ExitOK},
		{[]string{"Alice.Martin@ACME-EMEA.example", "SALES.PUBLIC.ORDERS", "SELECT"}, ExitOK}, // aliased like the sync
		{[]string{"carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "SELECT"}, ExitFindings},
		{[]string{"nobody@acme.example", "SALES.PUBLIC.ORDERS", "SELECT"}, ExitFindings},
		{[]string{"alice.martin@acme.example", "SALES.PUBLIC.ORDERS"}, ExitError},
		{[]string{"alice.martin@acme.example", `SALES."unterminated`, "SELECT"}, ExitError},
	} {
		r := run(t, append(append([]string{"check"}, tc.args...), flags...)...)
		require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r.stderr)
		require.Empty(t, r.stdout, "check is quiet")
	}
	r := run(t, "check", "--target", "dir:"+t.TempDir(), "a@b.example", "X", "SELECT")
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "no generation published yet")
}

func TestExplainFormats(t *testing.T) {
	t.Parallel()
	flags := published(t)
	r := run(t, append([]string{"explain", "alice.martin@acme.example", "sales.public.orders", "select", "--format", "json"}, flags...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var ans struct {
		Allowed bool `json:"allowed"`
		Reasons []struct {
			Paths []struct{ User string } `json:"paths"`
		} `json:"reasons"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ans))
	require.True(t, ans.Allowed)
	require.Len(t, ans.Reasons[0].Paths, 2, "one path through each of alice's users")

	r = run(t, append([]string{"explain", "carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "SELECT", "--format", "dot"}, flags...)...)
	require.Equal(t, ExitFindings, r.code)
	require.Contains(t, r.stdout, "digraph explain {")
	r = run(t, append([]string{"explain", "carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "SELECT"}, flags...)...)
	require.Contains(t, r.stdout, "fix: GRANT USAGE ON SCHEMA SALES.PUBLIC TO ROLE INTERN")
	r = run(t, append([]string{"explain", "a@b.example", "X", "--format", "yaml"}, flags...)...)
	require.Equal(t, ExitError, r.code)
}

func TestLintCommand(t *testing.T) {
	t.Parallel()
	flags := published(t)
	r := run(t, append([]string{"lint"}, flags...)...)
	require.Equal(t, ExitFindings, r.code, "acme has users without a valid email: %s", r.stderr)
	require.Contains(t, r.stdout, "invalid_email [ACME] user LOADER_SVC")
	r = run(t, "lint", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"), "--format", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "[")
}
