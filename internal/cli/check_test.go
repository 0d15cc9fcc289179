package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
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
	// Typos are usage mistakes, said with the nearest name, by check and explain alike.
	for args, want := range map[string]string{
		"alice.martin@acme.example SALES.PUBLIC.ORDERS SELEC":  `unknown privilege "SELEC" (did you mean SELECT?)`,
		"alice.martin@acme.example SALES.PUBLIC.ORDERS UPDAT":  `unknown privilege "UPDAT" (did you mean UPDATE?)`,
		"alice.martn@acme.example SALES.PUBLIC.ORDERS SELECT":  `unknown email "alice.martn@acme.example" (did you mean alice.martin@acme.example?)`,
		"alice.martin@acme.example SALES.PUBLIC.ORDERS FROBN8": `unknown privilege "FROBN8"`,
	} {
		for _, cmd := range []string{"check", "explain"} {
			r := run(t, append(append([]string{cmd}, strings.Fields(args)...), flags...)...)
			require.Equal(t, ExitError, r.code, "%s %s: %s", cmd, args, r.stdout)
			require.Contains(t, r.stderr, want, "%s %s", cmd, args)
			require.NotContains(t, r.stdout, "GRANT", "%s %s: no fix for a typo", cmd, args)
		}
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

// TestReadersUseTheGenerationsSettings: explain, check and lint judge a
// published generation by the settings it was built with, so they answer the
// same with and without the config of the sync; a config that differs is
// named, not applied.
func TestReadersUseTheGenerationsSettings(t *testing.T) {
	t.Parallel()
	flags := published(t)
	target := flags[:2]
	for _, q := range [][]string{
		{"alice.martin@acme.example", "SALES.PUBLIC.ORDERS", "SELECT"},
		{"bob.okafor@acme-emea.example", "ANALYTICS.MARTS.DIM_CUSTOMER"},   // the generation aliases the domain
		{"data-platform@acme.example", "ANALYTICS.MARTS.FCT_REVENUE_LIVE"}, // AIRFLOW, by an override
		{"carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "SELECT"},
		{"bob.khan@acme.example", "FINANCE.PUBLIC.INVOICES", "SELECT"}, // a disabled user
	} {
		for _, format := range []string{"text", "json"} {
			args := append(append([]string{"explain"}, q...), "--format", format)
			with := run(t, append(args, flags...)...)
			without := run(t, append(args, target...)...)
			require.Equal(t, with, without, "explain %v --format %s", q, format)
			require.NotContains(t, with.stdout, "differs", "the sync's own config differs in nothing")
		}
		if len(q) == 3 {
			with := run(t, append(append([]string{"check"}, q...), flags...)...)
			without := run(t, append(append([]string{"check"}, q...), target...)...)
			require.Equal(t, with, without, "check %v", q)
		}
	}
	r := run(t, append([]string{"explain", "bob.okafor@acme-emea.example", "ANALYTICS.MARTS.DIM_CUSTOMER"}, target...)...)
	require.Contains(t, r.stdout, "ALLOWED: bob.okafor@acme.example", "asked under the subsidiary's domain, answered for the person the generation knows")
	r = run(t, append([]string{"explain", "bob.khan@acme.example", "FINANCE.PUBLIC.INVOICES", "SELECT"}, target...)...)
	require.Contains(t, r.stdout, "user_disabled", "without --config too: the generation says how users map")

	for _, format := range []string{"text", "json", "csv"} {
		with := run(t, append([]string{"lint", "--format", format}, flags...)...)
		without := run(t, append([]string{"lint", "--format", format}, target...)...)
		require.Equal(t, with, without, "lint --format %s", format)
	}
	lint := run(t, append([]string{"lint"}, target...)...)
	require.Contains(t, lint.stdout, "user AIRFLOW is mapped to data-platform@acme.example by an override")
	for _, line := range strings.Split(lint.stdout, "\n") {
		require.False(t, strings.HasPrefix(line, "ERROR") && strings.Contains(line, "AIRFLOW"), "a bare lint must not flag a user the generation maps: %s", line)
	}

	// A config that differs is named in the output and not applied.
	other := append(slices.Clone(target), "--config", writeConfig(t, "email:\n  domain_aliases: {}\n"))
	r = run(t, append([]string{"explain", "bob.okafor@acme-emea.example", "ANALYTICS.MARTS.DIM_CUSTOMER"}, other...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "note: generation 1 was built with its own settings, which this answer uses; your config differs in email.domain_aliases (built with {acme-emea.example: acme.example}; yours {})")
	require.Contains(t, r.stdout, "ALLOWED: bob.okafor@acme.example")
	require.NotContains(t, r.stdout, "email.overrides", "a key the config does not set is not compared")
	r = run(t, append([]string{"lint", "--format", "csv"}, other...)...)
	require.Contains(t, r.stdout, "info,config_differs,,generation 1,")
	require.NotContains(t, r.stdout, "error,invalid_email,ACME,AIRFLOW")
}
