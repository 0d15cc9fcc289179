package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
)

// tinyWithoutBen copies the tiny sample into a new directory with BEN's only
// role revoked, as the next extract after the revocation would read.
func tinyWithoutBen(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repo, "testdata/sample/tiny")
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		if e.Name() == "grants_to_users.csv" {
			b = []byte(strings.Replace(string(b), "WRITER,USER,BEN,", "WRITER,USER,BEN,2026-11-02 00:00:00.000 +0000", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644))
	}
	return dir
}

// TestLocalGrantsAndHistory runs the command line against the real server: local
// grants added, refused, listed, explained, revoked and reported; and explain,
// diff and report answering as of a moment between two syncs.
func TestLocalGrantsAndHistory(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	pg := []string{"--target", pgtest.URL(), "--schema", schema, "--log-level", "error"}
	with := func(args ...string) []string { return append(args, pg...) }
	tiny := filepath.Join(repo, "testdata/sample/tiny")

	r := run(t, with("sync", "--source", "dir:"+tiny)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	between := time.Now().UTC()

	// A grant within the default policy, from the person's own spelling.
	r = run(t, with("grant", "add", "Zoe@Tiny.Example", "shop.public.items", "select", "--for", "48h",
		"--reason", "covers for ben during the audit", "--approver", "dave@tiny.example", "--actor", "carol@tiny.example")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "local grant #1: zoe@tiny.example may use SELECT on TABLE SHOP.PUBLIC.ITEMS (account TINY) until")

	// Outside the default allow-list, and beyond a configured duration.
	r = run(t, with("grant", "add", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "INSERT", "--for", "1h",
		"--reason", "load a fix", "--approver", "dave@tiny.example", "--actor", "carol@tiny.example")...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stderr, "INSERT on TABLE is not allowed")
	cfg := filepath.Join(t.TempDir(), "grantmirror.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`local_grants:
  allow:
    - object_type: TABLE
      privileges: [SELECT, INSERT]
  max_duration: 3d
`), 0o644))
	r = run(t, with("grant", "add", "anna@tiny.example", "SHOP.PUBLIC.ITEMS", "INSERT", "--for", "4d", "--config", cfg,
		"--reason", "load a fix", "--approver", "dave@tiny.example", "--actor", "carol@tiny.example")...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stderr, "more than local_grants.max_duration (3 days)")
	r = run(t, with("grant", "add", "anna@tiny.example", "SHOP.PUBLIC.ITEMS", "INSERT", "--until", time.Now().Add(24*time.Hour).Format(time.RFC3339),
		"--config", cfg, "--reason", "load a fix", "--approver", "dave@tiny.example", "--actor", "carol@tiny.example")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "local grant #2")
	r = run(t, with("grant", "add", "yuri@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--reason", "r", "--approver", "dave@tiny.example", "--actor", "carol@tiny.example")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "--until TIME or --for DURATION")

	r = run(t, with("grant", "list", "--format", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var list struct {
		Grants []struct {
			ID       int64  `json:"id"`
			Email    string `json:"email"`
			Approver string `json:"approver"`
			InForce  bool   `json:"in_force"`
		} `json:"local_grants"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list.Grants, 2)
	require.Equal(t, "zoe@tiny.example", list.Grants[0].Email)
	require.True(t, list.Grants[0].InForce)

	// Explain shows the grant as the reason, with what Snowflake alone lacks.
	r = run(t, with("explain", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "local grant #1 by carol@tiny.example approved by dave@tiny.example, until ")
	require.Contains(t, r.stdout, "reason covers for ben during the audit")
	require.Contains(t, r.stdout, "unknown_email")
	// check counts it too, as guarded reads do.
	r = run(t, with("check", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, with("check", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "DELETE")...)
	require.Equal(t, ExitFindings, r.code, r.stderr)

	first := run(t, with("report")...)
	require.Equal(t, ExitOK, first.code, first.stderr)

	// BEN loses his role; the next sync publishes it and keeps no old generation.
	r = run(t, with("sync", "--source", "dir:"+tinyWithoutBen(t), "--force", "--keep", "0")...)
	require.Equal(t, ExitOK, r.code, r.stderr)

	// The report as of a moment between the syncs is the first sync's report,
	// from the history alone; the local grants are not part of it.
	r = run(t, with("report", "--at", between.Format(time.RFC3339Nano))...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Equal(t, first.stdout, r.stdout)
	require.NotEqual(t, first.stdout, run(t, with("report")...).stdout)
	r = run(t, with("report", "--at", between.Format(time.RFC3339Nano), "--by", "user", "--format", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "ben@tiny.example")
	for _, by := range []string{"object", "role", "all"} {
		r = run(t, with("report", "--at", between.Format(time.RFC3339Nano), "--by", by, "--format", "json")...)
		require.Equal(t, ExitError, r.code, "report --by %s needs role paths", by)
		require.Contains(t, r.stderr, "no role paths; use --by access or --by user")
	}
	r = run(t, with("report", "--at", "1h", "--generation", "1")...)
	require.Equal(t, ExitError, r.code)

	r = run(t, with("explain", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	at := between.Format(time.RFC3339Nano)
	r = run(t, with("explain", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", at)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "as of "+between.Format(time.RFC3339)+": generation 1")
	require.Contains(t, r.stdout, "role paths unavailable: generation 1 is no longer kept")
	require.Contains(t, r.stdout, "ALLOWED: ben@tiny.example has SELECT on TABLE SHOP.PUBLIC.ITEMS")
	r = run(t, with("explain", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", at)...)
	require.Equal(t, ExitFindings, r.code, "the local grant was made after that moment: %s", r.stdout)
	r = run(t, with("explain", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "--at", "2020-01-01")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "first publication")

	r = run(t, with("diff", "--since", at, "--format", "csv")...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stdout, "removed,TINY,ben@tiny.example,TABLE,SHOP.PUBLIC.ITEMS,SELECT")
	require.NotContains(t, r.stdout, "anna@tiny.example", "anna's rows did not change")
	r = run(t, with("diff", "--since", "1s", "--from", "1")...)
	require.Equal(t, ExitError, r.code)

	r = run(t, with("grant", "revoke", "1", "--reason", "ben is back", "--actor", "dave@tiny.example")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, with("explain", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")...)
	require.Equal(t, ExitFindings, r.code, "revoked at once: %s", r.stdout)
	r = run(t, with("grant", "revoke", "#1", "--reason", "again", "--actor", "dave@tiny.example")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "already ended")

	r = run(t, with("grant", "report", "--format", "csv")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3)
	require.True(t, strings.HasSuffix(lines[0], ",usage,last_accessed"), lines[0])
	require.Contains(t, lines[1], "1,revoked,TINY,zoe@tiny.example,TABLE,SHOP.PUBLIC.ITEMS,SELECT,carol@tiny.example,dave@tiny.example,covers for ben during the audit,")
	require.Contains(t, lines[1], ",dave@tiny.example,ben is back,unknown,")
	require.Contains(t, lines[2], "2,active,TINY,anna@tiny.example,TABLE,SHOP.PUBLIC.ITEMS,INSERT,")
	r = run(t, with("grant", "report")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "2 local grants: 1 active, 0 expired, 1 revoked; 0 used, 0 unused, 2 unknown")
}

// TestHistoryOnDirectoryTargets answers --at from the generations a directory
// keeps, and refuses moments before them; local grants need Postgres.
func TestHistoryOnDirectoryTargets(t *testing.T) {
	t.Parallel()
	target := t.TempDir()
	dir := []string{"--target", "dir:" + target, "--log-level", "error"}
	with := func(args ...string) []string { return append(args, dir...) }
	before := time.Now().UTC()
	r := run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	between := time.Now().UTC().Format(time.RFC3339Nano)
	first := run(t, with("report", "--by", "object", "--format", "md")...)
	require.Equal(t, ExitOK, first.code, first.stderr)
	r = run(t, with("sync", "--source", "dir:"+tinyWithoutBen(t), "--force")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, with("report", "--by", "object", "--format", "md", "--at", between)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Equal(t, stripMade(first.stdout), stripMade(r.stdout), "the kept generation current then, role paths and all")

	r = run(t, with("explain", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", between)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "ben@tiny.example ← user BEN ← WRITER ← READER ← SELECT on TABLE SHOP.PUBLIC.ITEMS", "a kept generation has its role paths")
	r = run(t, with("diff", "--since", between)...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stdout, "generation 1 → 2")
	require.Contains(t, r.stdout, "0 added, 7 removed")

	r = run(t, with("explain", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", before.Add(-time.Hour).Format(time.RFC3339))...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "a directory target answers only for the generations it keeps")
	r = run(t, with("explain", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "--at", "yesterday-ish")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "--at")

	r = run(t, with("grant", "list")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "local grants need a postgres:// target")
}

func TestParseMoment(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-03-03T12:30:00Z", time.Date(2026, 3, 3, 12, 30, 0, 0, time.UTC)},
		{"2026-03-03T12:30:00+02:00", time.Date(2026, 3, 3, 10, 30, 0, 0, time.UTC)},
		{"2026-03-03 12:30", time.Date(2026, 3, 3, 12, 30, 0, 0, time.UTC)},
		{"2026-03-03", time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
		{"72h", now.Add(-72 * time.Hour)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
	} {
		got, err := parseMoment(c.in, now)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	for _, bad := range []string{"", "tomorrow", "-3h", "2026-13-01"} {
		_, err := parseMoment(bad, now)
		require.Error(t, err, bad)
	}
}

// stripMade drops the line saying when a report was made, the one line two runs
// of the same report differ in.
func stripMade(report string) string {
	var keep []string
	for _, l := range strings.Split(report, "\n") {
		if !strings.HasPrefix(l, "| Report made |") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
