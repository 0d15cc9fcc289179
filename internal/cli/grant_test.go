package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/localgrant"
	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/snaptest"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
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
	snaptest.Reseal(t, dir)
	return dir
}

// TestHistoryOnPostgres runs the command line against the real server: explain,
// diff and report answering as of a moment between two syncs.
func TestHistoryOnPostgres(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	pg := []string{"--target", pgtest.URL(), "--schema", schema, "--log-level", "error"}
	with := func(args ...string) []string { return append(args, pg...) }
	tiny := filepath.Join(repo, "testdata/sample/tiny")

	r := run(t, with("sync", "--source", "dir:"+tiny)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	between := time.Now().UTC()
	first := run(t, with("report")...)
	require.Equal(t, ExitOK, first.code, first.stderr)

	// BEN loses his role; the next sync publishes it and keeps no old generation.
	r = run(t, with("sync", "--source", "dir:"+tinyWithoutBen(t), "--force", "--keep", "0")...)
	require.Equal(t, ExitOK, r.code, r.stderr)

	// The report as of a moment between the syncs is the first sync's report,
	// from the history alone.
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
	r = run(t, with("explain", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "--at", "2020-01-01")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "first publication")

	// check --at decides as explain --at answers, from the history.
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", at)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Empty(t, r.stdout, "check is quiet")
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")...)
	require.Equal(t, ExitFindings, r.code, "now ben has lost it: %s", r.stderr)
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", "2020-01-01")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "first publication")
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", "yesterday-ish")...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "--at")

	r = run(t, with("diff", "--since", at, "--format", "csv")...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stdout, "removed,TINY,ben@tiny.example,TABLE,SHOP.PUBLIC.ITEMS,SELECT")
	require.NotContains(t, r.stdout, "anna@tiny.example", "anna's rows did not change")
	r = run(t, with("diff", "--since", "1s", "--from", "1")...)
	require.Equal(t, ExitError, r.code)
}

// webhookServer is a Slack-compatible incoming webhook that records the text of
// every message it accepts.
type webhookServer struct {
	*httptest.Server
	mu    sync.Mutex
	texts []string
}

func newWebhookServer(t *testing.T) *webhookServer {
	t.Helper()
	w := &webhookServer{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var msg struct{ Text string }
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || msg.Text == "" {
			http.Error(rw, "want {\"text\": …}", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.texts = append(w.texts, msg.Text)
		w.mu.Unlock()
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhookServer) received() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.texts)
}

// loginRole creates a login role req_… that reads the mirror's schema as readers
// do (USAGE, SELECT on its tables, now and as syncs create them), dropped at
// cleanup, and returns its name and a DSN connecting as it.
func loginRole(t *testing.T, pool *pgxpool.Pool, schema string) (string, string) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	role := "req_" + hex.EncodeToString(b)
	id, sch := pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
	for _, q := range []string{"CREATE ROLE " + id + " LOGIN", "GRANT USAGE ON SCHEMA " + sch + " TO " + id,
		"GRANT SELECT ON ALL TABLES IN SCHEMA " + sch + " TO " + id,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + sch + " GRANT SELECT ON TABLES TO " + id} {
		_, err := pool.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	t.Cleanup(func() {
		_, err := pool.Exec(ctx, "DROP OWNED BY "+id)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, "DROP ROLE "+id)
		require.NoError(t, err)
	})
	u, err := url.Parse(pgtest.URL())
	require.NoError(t, err)
	u.User = url.User(role)
	return role, u.String()
}

// TestAccessRequests runs requests through the command line, each person as
// their own database role: the actor is the session, self-approval and a config
// file's policy are refused, a pending request grants nothing to check, an
// approval grants at once, break-glass is reviewed, the webhook hears of each
// event once, and revocation ends the grant.
func TestAccessRequests(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	hook := newWebhookServer(t)
	cfg := filepath.Join(t.TempDir(), "grantmirror.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("notifications:\n  webhook_url: "+hook.URL+"/services/T0/B0/secret\n  backoff: 1ms\n"), 0o644))
	as := func(dsn string, args ...string) result {
		return run(t, append(args, "--target", dsn, "--schema", schema, "--log-level", "error", "--config", cfg)...)
	}
	admin := pgtest.URL()
	r := as(admin, "sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))
	require.Equal(t, ExitOK, r.code, r.stderr)

	people := map[string]string{}
	for _, email := range []string{"carol@tiny.example", "dave@tiny.example", "zoe@tiny.example"} {
		role, dsn := loginRole(t, pool, schema)
		people[email] = dsn
		r = as(admin, "grant", "policy", "set", "identity", role, email, "--reason", "onboarding")
		require.Equal(t, ExitOK, r.code, r.stderr)
	}
	carol, dave, zoe := people["carol@tiny.example"], people["dave@tiny.example"], people["zoe@tiny.example"]
	r = as(admin, "grant", "policy", "set", "approver", "schema", "shop.public", "dave@tiny.example", "--reason", "owns the shop")
	require.Equal(t, ExitOK, r.code, r.stderr)

	// A config that still carries a policy is refused, whatever it allows.
	wide := filepath.Join(t.TempDir(), "wide.yaml")
	require.NoError(t, os.WriteFile(wide, []byte("local_grants:\n  allow:\n    - object_type: TABLE\n      privileges: [SELECT, DELETE]\n  max_duration: 3650d\n"), 0o644))
	r = run(t, "grant", "request", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "DELETE", "--for", "3000d", "--reason", "r",
		"--approver", "dave@tiny.example", "--target", carol, "--schema", schema, "--config", wide)
	require.Equal(t, ExitError, r.code, r.stderr)
	require.Contains(t, r.stderr, "the access policy lives in the database now")
	r = as(carol, "grant", "request", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "DELETE", "--for", "1h", "--reason", "r", "--approver", "dave@tiny.example")
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stderr, "DELETE on TABLE is not allowed")

	// carol asks; naming herself, or approving, is refused.
	r = as(carol, "grant", "request", "Zoe@Tiny.Example", "shop.public.items", "select", "--for", "48h",
		"--reason", "covers for ben during the audit", "--approver", "carol@tiny.example")
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stderr, "carol@tiny.example cannot approve a request for their own access or that they make")
	r = as(carol, "grant", "request", "Zoe@Tiny.Example", "shop.public.items", "select", "--for", "48h",
		"--reason", "covers for ben during the audit", "--approver", "dave@tiny.example")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "request #1: carol@tiny.example asks for zoe@tiny.example to have SELECT on TABLE SHOP.PUBLIC.ITEMS (account TINY) for 2 days; pending")
	r = as(carol, "grant", "approve", "1")
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stderr, "nobody approves their own request")
	r = as(carol, "grant", "request", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--for", "1h", "--reason", "r", "--approver", "dave@tiny.example", "--actor", "dave@tiny.example")
	require.Equal(t, ExitError, r.code, "there is no --actor to claim another identity")

	// Pending grants nothing.
	r = as(zoe, "check", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")
	require.Equal(t, ExitFindings, r.code, r.stderr)
	r = as(dave, "grant", "requests", "--to-approve")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "#1  pending")
	r = as(carol, "grant", "requests", "--to-approve")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "no requests")

	// dave approves: in force at once.
	r = as(dave, "grant", "approve", "1")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "request #1 approved: local grant #1 gives zoe@tiny.example SELECT on TABLE SHOP.PUBLIC.ITEMS until")
	r = as(zoe, "check", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = as(zoe, "check", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "INSERT")
	require.Equal(t, ExitFindings, r.code, r.stderr)
	r = as(zoe, "explain", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "local grant #1 by carol@tiny.example approved by dave@tiny.example, until ")
	r = as(carol, "grant", "requests", "--format", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var mine struct {
		Requests []localgrant.Request `json:"requests"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &mine))
	require.Len(t, mine.Requests, 1)
	require.Equal(t, localgrant.RequestApproved, mine.Requests[0].Status)
	require.Equal(t, "dave@tiny.example", mine.Requests[0].DecidedBy)
	// Flags written before the subcommand's name, as grant once took them, still work.
	same := as(carol, "grant", "--format", "json", "requests")
	require.Equal(t, ExitOK, same.code, same.stderr)
	require.Equal(t, r.stdout, same.stdout)

	// Break-glass: at once, then reviewed by dave.
	r = as(carol, "grant", "break-glass", "zoe@tiny.example", "SHOP.PUBLIC.V_STOCK", "SELECT", "--object-type", "VIEW", "--for", "1h", "--reason", "incident 42")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "BREAK-GLASS request #2")
	r = as(zoe, "check", "zoe@tiny.example", "SHOP.PUBLIC.V_STOCK", "SELECT")
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = as(dave, "grant", "requests", "--to-approve")
	require.Contains(t, r.stdout, "#2  break_glass (review needed)")
	r = as(dave, "grant", "review", "2", "--reason", "justified")
	require.Equal(t, ExitOK, r.code, r.stderr)

	// Denial, and the policy is the admins'.
	r = as(carol, "grant", "request", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--for", "1h", "--reason", "more", "--approver", "dave@tiny.example")
	require.Equal(t, ExitFindings, r.code, "one grant per row: %s", r.stderr)
	require.Contains(t, r.stderr, "local grant #1 already gives")
	r = as(carol, "grant", "policy", "set", "max-duration", "3650d", "--reason", "longer")
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stderr, "is not a policy admin")
	r = as(carol, "grant", "policy", "show")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "max duration:     30 days")
	require.Contains(t, r.stdout, "schema    SHOP.PUBLIC dave@tiny.example")

	// People's roles cannot deliver; the sync delivers everything once.
	require.Empty(t, hook.received())
	r = as(admin, "sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))
	require.Equal(t, ExitOK, r.code, r.stderr)
	got := hook.received()
	require.Len(t, got, 3, "%q", got)
	require.Contains(t, got[0], "Access request #1: carol@tiny.example asks for zoe@tiny.example")
	require.Contains(t, got[1], "Access request #1 approved by dave@tiny.example")
	require.Contains(t, got[2], "BREAK-GLASS #2")
	r = as(admin, "sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Len(t, hook.received(), 3, "each event once")

	// dave revokes; the next revocation finds it ended.
	r = as(dave, "grant", "revoke", "1", "--reason", "ben is back")
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = as(zoe, "check", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")
	require.Equal(t, ExitFindings, r.code, "revoked at once: %s", r.stdout)
	r = as(dave, "grant", "revoke", "#1", "--reason", "again")
	require.Equal(t, ExitFindings, r.code)
	require.Contains(t, r.stderr, "has already ended")

	r = as(zoe, "grant", "report", "--format", "csv")
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[1], "1,revoked,TINY,zoe@tiny.example,TABLE,SHOP.PUBLIC.ITEMS,SELECT,carol@tiny.example,dave@tiny.example,covers for ben during the audit,")
	require.Contains(t, lines[2], "2,active,TINY,zoe@tiny.example,VIEW,SHOP.PUBLIC.V_STOCK,SELECT,carol@tiny.example,break-glass,incident 42,")
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

	// check --at decides from the generation current then, and refuses what
	// explain --at refuses.
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", between)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Empty(t, r.stdout, "check is quiet")
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT")...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--at", before.Add(-time.Hour).Format(time.RFC3339))...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "a directory target answers only for the generations it keeps")
	r = run(t, with("check", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "SELEC", "--at", between)...)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, `unknown privilege "SELEC" (did you mean SELECT?)`)

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

// TestWebhookURLIsASecret: the config command never prints the webhook's URL,
// which is its credential, and an unusable one is refused without repeating it.
func TestWebhookURLIsASecret(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "grantmirror.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("notifications:\n  webhook_url: https://hooks.example/services/T0/B0/s3cr3t\n"), 0o644))
	r := run(t, "config", "--config", cfg)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.NotContains(t, r.stdout, "s3cr3t")
	require.Contains(t, r.stdout, "webhook_url: xxxxx")
	require.NoError(t, os.WriteFile(cfg, []byte("notifications:\n  webhook_url: hooks.example/s3cr3t\n"), 0o644))
	r = run(t, "config", "--config", cfg)
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "notifications.webhook_url")
	require.NotContains(t, r.stderr, "s3cr3t")
}

func TestParsePolicyChange(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want pgstore.PolicyChange
	}{
		{[]string{"allow", "TABLE", "SELECT", "INSERT"}, pgstore.PolicyChange{Kind: pgstore.PolicyAllow, ObjectType: "TABLE", Privileges: []string{"SELECT", "INSERT"}, Allowed: true}},
		{[]string{"disallow", "VIEW", "SELECT"}, pgstore.PolicyChange{Kind: pgstore.PolicyAllow, ObjectType: "VIEW", Privileges: []string{"SELECT"}}},
		{[]string{"max-duration", "7d"}, pgstore.PolicyChange{Kind: pgstore.PolicyLimits, MaxDuration: 7 * 24 * time.Hour}},
		{[]string{"break-glass-max", "0"}, pgstore.PolicyChange{Kind: pgstore.PolicyLimits, SetBreakGlassMax: true}},
		{[]string{"activity", "3d", "30d"}, pgstore.PolicyChange{Kind: pgstore.PolicyLimits, ActivityExtension: 72 * time.Hour, ActivityCeiling: 720 * time.Hour}},
		{[]string{"activity", "off"}, pgstore.PolicyChange{Kind: pgstore.PolicyLimits, ActivityOff: true}},
		{[]string{"approver", "schema", "sales.public", "dave@x.example"}, pgstore.PolicyChange{Kind: pgstore.PolicyApprover, Scope: "schema", Name: "SALES.PUBLIC", Email: "dave@x.example", Designated: true}},
		{[]string{"no-approver", "fallback", "gina@x.example"}, pgstore.PolicyChange{Kind: pgstore.PolicyApprover, Scope: "fallback", Email: "gina@x.example"}},
		{[]string{"sensitive", "hr"}, pgstore.PolicyChange{Kind: pgstore.PolicySensitive, Name: "HR", Sensitive: true}},
		{[]string{"identity", "bot", "bot@x.example", "service"}, pgstore.PolicyChange{Kind: pgstore.PolicyIdentity, Role: "bot", Email: "bot@x.example", Service: true}},
		{[]string{"no-identity", "bob"}, pgstore.PolicyChange{Kind: pgstore.PolicyIdentity, Role: "bob"}},
		{[]string{"admin", "ops"}, pgstore.PolicyChange{Kind: pgstore.PolicyAdmin, Role: "ops", Admin: true}},
	} {
		got, err := parsePolicyChange(c.args, " why ")
		require.NoError(t, err, c.args)
		c.want.Reason = "why"
		require.Equal(t, c.want, got, c.args)
	}
	for args, want := range map[string]string{
		"allow TABLE":                     "want TYPE PRIVILEGE",
		"max-duration soon":               "want a duration",
		"approver team X a@x.example":     "SCOPE one of object, schema, database, fallback",
		"approver fallback X a@x.example": "want fallback EMAIL",
		"activity 3d":                     "EXTENSION CEILING",
		"colour blue":                     "unknown setting",
	} {
		_, err := parsePolicyChange(strings.Fields(args), "why")
		require.ErrorContains(t, err, want, args)
	}
	_, err := parsePolicyChange([]string{"admin", "ops"}, " ")
	require.ErrorContains(t, err, "--reason")
}

// TestReportsCountLocalGrants: on the real server, the access report lists the
// local grants in force, marked with their expiry, reason and approver, and its
// total is the access view's count.
func TestReportsCountLocalGrants(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	pg := []string{"--target", pgtest.URL(), "--schema", schema, "--log-level", "error"}
	with := func(args ...string) []string { return append(args, pg...) }
	r := run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	role, carol := loginRole(t, pool, schema)
	r = run(t, with("grant", "policy", "set", "identity", role, "carol@tiny.example", "--reason", "onboarding")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, with("grant", "policy", "set", "approver", "schema", "shop.public", "dave@tiny.example", "--reason", "owns the shop")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, "grant", "break-glass", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--for", "2h", "--reason", "covers for ben",
		"--target", carol, "--schema", schema, "--log-level", "error")
	require.Equal(t, ExitOK, r.code, r.stderr)

	var viewRows int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".access").Scan(&viewRows))
	require.Equal(t, 11, viewRows, "ten mirrored rows and the local grant")

	r = run(t, with("report", "--by", "access", "--format", "csv")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Equal(t, "account,email,object_type,object_name,privilege,local_grant,until,reason,approver", lines[0])
	require.Len(t, lines[1:], viewRows, "the report's rows are the access view's")
	require.Regexp(t, `(?m)^TINY,zoe@tiny\.example,TABLE,SHOP\.PUBLIC\.ITEMS,SELECT,1,\d{4}-\d\d-\d\dT[\d:]+Z,covers for ben,break-glass$`, r.stdout)
	require.Contains(t, r.stdout, "TINY,anna@tiny.example,DATABASE,SHOP,USAGE,,,,\n", "mirrored rows have empty local columns")

	r = run(t, with("report", "--by", "access", "--format", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var doc struct {
		Header struct {
			Rows        int `json:"rows"`
			LocalGrants int `json:"local_grants"`
		} `json:"header"`
		Rows []struct {
			Email string `json:"email"`
			Local *struct {
				Approver string    `json:"approver"`
				Until    time.Time `json:"until"`
			} `json:"local_grant"`
		} `json:"rows"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	require.Equal(t, viewRows, doc.Header.Rows, "the header's total is the view's")
	require.Equal(t, 1, doc.Header.LocalGrants)
	require.Len(t, doc.Rows, viewRows)
	local := 0
	for _, row := range doc.Rows {
		if row.Local != nil {
			local++
			require.Equal(t, "zoe@tiny.example", row.Email)
			require.Equal(t, "break-glass", row.Local.Approver, "break-glass grants are approved by review afterwards")
			require.True(t, row.Local.Until.After(time.Now()))
		}
	}
	require.Equal(t, 1, local)

	r = run(t, with("report", "--by", "access", "--format", "md", "--email", "zoe@tiny.example")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "SELECT (local grant #1 until ")
	r = run(t, with("report", "--by", "access", "--format", "csv", "--email", "anna@tiny.example")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.NotContains(t, r.stdout, "zoe@", "a filter keeps other people's local grants out")
}

// TestGrantSubcommandHelp: every grant subcommand's --help lists the flags it
// reads, none it does not, and an example of its own.
func TestGrantSubcommandHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path      []string
		flags     []string
		notFlags  []string
		exampleOf string
	}{
		{[]string{"request"}, []string{"--for", "--reason", "--approver", "--object-type", "--account", "--target"}, []string{"--to-approve", "--format"}, "grant request "},
		{[]string{"break-glass"}, []string{"--for", "--reason", "--object-type", "--account"}, []string{"--approver", "--all"}, "grant break-glass "},
		{[]string{"approve"}, []string{"--target", "--schema"}, []string{"--reason", "--for"}, "grant approve "},
		{[]string{"deny"}, []string{"--reason"}, []string{"--for", "--approver"}, "grant deny "},
		{[]string{"review"}, []string{"--reason"}, []string{"--for"}, "grant review "},
		{[]string{"revoke"}, []string{"--reason"}, []string{"--for"}, "grant revoke "},
		{[]string{"requests"}, []string{"--mine", "--to-approve", "--all", "--format"}, []string{"--reason"}, "grant requests"},
		{[]string{"list"}, []string{"--all", "--format"}, []string{"--reason", "--mine"}, "grant list"},
		{[]string{"report"}, []string{"--format"}, []string{"--all", "--reason"}, "grant report"},
		{[]string{"policy", "show"}, []string{"--format"}, []string{"--reason"}, "grant policy show"},
		{[]string{"policy", "set"}, []string{"--reason"}, []string{"--format", "--for"}, "grant policy set "},
	} {
		r := run(t, append(append([]string{"grant"}, tc.path...), "--help")...)
		require.Equal(t, ExitOK, r.code, "%v: %s", tc.path, r.stderr)
		options := r.stdout[strings.Index(r.stdout, "OPTIONS:"):]
		for _, f := range tc.flags {
			require.Contains(t, options, "\n   "+f+" ", "%v lists %s", tc.path, f)
		}
		for _, f := range tc.notFlags {
			require.NotContains(t, options, "\n   "+f+" ", "%v does not read %s", tc.path, f)
		}
		require.Contains(t, r.stdout, "   grantmirror "+tc.exampleOf, "%v shows an example", tc.path)
	}
}

// TestGrantUsageMistakes: every mistake in how a grant subcommand is called is
// exit 2, said before any database is asked, wherever the flags are written.
func TestGrantUsageMistakes(t *testing.T) {
	t.Parallel()
	ask := []string{"bob@x.example", "SALES.PUBLIC.ORDERS", "SELECT"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(append([]string{"grant", "request"}, ask...), "--reason", "r", "--approver", "d@x.example"), "--for DURATION"},
		{append(append([]string{"grant", "request"}, ask...), "--for", "48h", "--approver", "d@x.example"), "say why with --reason"},
		{append(append([]string{"grant", "request"}, ask...), "--for", "soon", "--reason", "r", "--approver", "d@x.example"), "want a duration"},
		{append(append([]string{"grant", "request"}, ask...), "--for", "1h", "--reason", "r"), "--approver EMAIL"},
		{append(append([]string{"grant", "--for", "1h", "break-glass"}, ask...), "--approver", "d@x.example"), "grant break-glass has no flag --approver"},
		{append([]string{"grant", "break-glass"}, ask...), "--for DURATION"},
		{append(append([]string{"grant", "break-glass"}, ask...), "--for", "1h"), "say why with --reason"},
		{[]string{"grant", "request", "bob@x.example", "SALES.PUBLIC.ORDERS"}, "want EMAIL OBJECT PRIVILEGE, got 2 arguments (see grantmirror grant request --help)"},
		{[]string{"grant", "deny", "12"}, "say why with --reason"},
		{[]string{"grant", "revoke", "twelve", "--reason", "r"}, "want its number"},
		{[]string{"grant", "approve", "12", "--reason", "r"}, "grantmirror grant approve has no flag --reason"},
		{[]string{"grant", "requests", "--mine", "--all"}, "one of them"},
		{[]string{"grant", "list", "--format", "xml"}, `format "xml"`},
		{[]string{"grant", "policy", "show", "--format", "csv"}, "want text or json"},
		{[]string{"grant", "policy", "set", "max-duration", "7d"}, "--reason"},
		{[]string{"grant", "policy", "set", "colour", "blue", "--reason", "r"}, "unknown setting"},
		{[]string{"grant", "policy", "sho"}, `did you mean "show"?`},
	} {
		r := run(t, tc.args...)
		require.Equal(t, ExitError, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
	}
}

// TestGrantTypos: a request or break-glass grant whose privilege, object type or
// email is a typo is a usage mistake (exit 2) with the nearest name, said before
// anything is written; a person Snowflake does not know at all may still be
// asked for. A policy change naming a type or privilege Snowflake lacks is one too.
func TestGrantTypos(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t, pool)
	pg := []string{"--target", pgtest.URL(), "--schema", schema, "--log-level", "error"}
	with := func(args ...string) []string { return append(args, pg...) }
	r := run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	ask := []string{"--for", "1h", "--reason", "r", "--approver", "dave@tiny.example"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"request", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELEC"}, `unknown privilege "SELEC" (did you mean SELECT?)`},
		{[]string{"request", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", "--object-type", "TABLS"}, `--object-type: unknown object type "TABLS" (did you mean TABLE?)`},
		{[]string{"request", "anne@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT"}, `unknown email "anne@tiny.example" (did you mean anna@tiny.example?)`},
		{[]string{"break-glass", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "INSRT", "--for", "1h", "--reason", "r"}, `unknown privilege "INSRT" (did you mean INSERT?)`},
	} {
		args := append([]string{"grant"}, tc.args...)
		if tc.args[0] == "request" {
			args = append(args, ask...)
		}
		r := run(t, with(args...)...)
		require.Equal(t, ExitError, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
	}
	var requests int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{schema}.Sanitize()+".requests").Scan(&requests))
	require.Zero(t, requests, "nothing was requested")

	// Far from everyone: a person Snowflake does not know, refused (if at all)
	// by the database's rules, exit 1, not as a typo.
	r = run(t, with(append([]string{"grant", "request", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT"}, ask...)...)...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.NotContains(t, r.stderr, "unknown")

	for args, want := range map[string]string{
		"allow TABLS SELECT":   `unknown object type "TABLS" (did you mean TABLE?)`,
		"allow VIEW SELEC":     `unknown privilege "SELEC" (did you mean SELECT?)`,
		"disallow TABLE UPDAT": `unknown privilege "UPDAT" (did you mean UPDATE?)`,
	} {
		r := run(t, with(append(append([]string{"grant", "policy", "set"}, strings.Fields(args)...), "--reason", "r")...)...)
		require.Equal(t, ExitError, r.code, "%s: %s", args, r.stderr)
		require.Contains(t, r.stderr, want, args)
	}
}
