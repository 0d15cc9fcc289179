package snowflake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
)

const (
	testUser     = "GRANTMIRROR"
	testPassword = "pw-Sup3r-Secret!"
	acmeDir      = "testdata/acme"
	globexDir    = "testdata/globex"
)

// extractedAt is the fixed clock of the tests.
var extractedAt = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// logBuffer collects slog output; the driver may log from its own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is one fake account and a configuration pointing at it.
type fixture struct {
	srv  *fakesnowflake.Server
	cfg  Config
	out  string
	logs *logBuffer
	opts []Option
}

// setup starts a fake account serving opts.Dir (testdata/acme by default) that
// accepts testUser with testPassword, and a configuration reading it.
func setup(t testing.TB, opts fakesnowflake.Options) *fixture {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = acmeDir
	}
	if opts.Account == "" {
		opts.Account = "acme"
	}
	if opts.Users == nil {
		opts.Users = map[string]fakesnowflake.User{testUser: {Password: testPassword}}
	}
	srv := fakesnowflake.Start(t, opts)
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := &fixture{
		srv:  srv,
		out:  filepath.Join(t.TempDir(), "snapshot"),
		logs: logs,
		cfg: Config{
			QueryTimeout: 30 * time.Second,
			Accounts:     []Account{fakeAccount(srv, strings.ToUpper(opts.Account), opts.Account)},
		},
		opts: []Option{WithLogger(log), WithRetry(3, time.Millisecond), WithClock(func() time.Time { return extractedAt })},
	}
	return f
}

// fakeAccount is an account configuration logging in to srv with a password.
func fakeAccount(srv *fakesnowflake.Server, name, account string) Account {
	return Account{
		Name: name, Account: account, User: testUser, Role: "GRANTMIRROR_READER", Warehouse: "GRANTMIRROR_WH",
		Host: srv.Host(), Port: srv.Port(), Protocol: "http",
		Authenticator: AuthPassword, Password: testPassword,
	}
}

func (f *fixture) extract(ctx context.Context) (Result, error) {
	return Extract(ctx, f.cfg, f.out, f.opts...)
}

// readCSV parses a CSV file into records, so files compare by content rather
// than by quoting style.
func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err)
	return recs
}

// requireSnapshot checks that every CSV file of the served directory was
// extracted with the same header and rows, and that views the fake does not
// have are absent.
func requireSnapshot(t testing.TB, served, extracted string) {
	t.Helper()
	for _, v := range views {
		want := filepath.Join(served, v.file)
		got := filepath.Join(extracted, v.file)
		if _, err := os.Stat(want); err != nil {
			require.NoFileExists(t, got, "the fake has no %s, so the snapshot must not either", v.file)
			continue
		}
		require.Equal(t, readCSV(t, want), readCSV(t, got), v.file)
	}
	require.FileExists(t, filepath.Join(extracted, "manifest.json"))
}

func readManifest(t testing.TB, dir string) manifestFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var m manifestFile
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// requireNothingAt checks a failed extract left neither the output directory
// nor a temporary one next to it.
func requireNothingAt(t testing.TB, out string) {
	t.Helper()
	require.NoDirExists(t, out)
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	require.Empty(t, entries, "temporary directories left behind")
}

func viewResult(t testing.TB, a AccountResult, name string) ViewResult {
	t.Helper()
	for _, v := range a.Views {
		if v.View == name {
			return v
		}
	}
	t.Fatalf("no result for view %s", name)
	return ViewResult{}
}

func TestExtractWritesServedData(t *testing.T) {
	t.Parallel()
	acmeRows := int64(len(readCSV(t, filepath.Join(acmeDir, "grants_to_roles.csv"))) - 1)
	tests := []struct {
		name        string
		opts        fakesnowflake.Options
		format      string
		grantChunks int // Arrow batches expected for GRANTS_TO_ROLES
	}{
		{name: "arrow inline", opts: fakesnowflake.Options{Format: fakesnowflake.Arrow}, format: "arrow", grantChunks: 1},
		{name: "arrow in gzipped chunks", opts: fakesnowflake.Options{ChunkRows: 2, GzipChunks: true}, format: "arrow", grantChunks: int((acmeRows + 1) / 2)},
		{name: "arrow in chunks only", opts: fakesnowflake.Options{ChunkRows: 3, NoInline: true}, format: "arrow", grantChunks: int((acmeRows + 2) / 3)},
		{name: "json inline", opts: fakesnowflake.Options{Format: fakesnowflake.JSON}, format: "json"},
		{name: "json in chunks", opts: fakesnowflake.Options{Format: fakesnowflake.JSON, ChunkRows: 2}, format: "json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tt.opts)
			res, err := f.extract(t.Context())
			require.NoError(t, err)

			requireSnapshot(t, acmeDir, f.out)
			require.Len(t, res.Accounts, 1)
			a := res.Accounts[0]
			require.Equal(t, f.out, a.Dir)
			require.Equal(t, extractedAt, a.ExtractedAt)
			for _, v := range a.Views {
				if v.Missing {
					continue
				}
				require.Equal(t, tt.format, v.Format, v.View)
				require.Equal(t, int64(len(readCSV(t, filepath.Join(acmeDir, v.File)))-1), v.Rows, v.View)
			}
			grants := viewResult(t, a, "GRANTS_TO_ROLES")
			require.Equal(t, tt.grantChunks, grants.Batches)
			require.Equal(t, acmeRows, grants.Rows)

			tags := viewResult(t, a, "TAG_REFERENCES")
			require.True(t, tags.Missing)
			require.Contains(t, tags.Reason, "002003")

			st := f.srv.Stats()
			read := len(views) - 1 // all but TAG_REFERENCES
			if tt.format == "json" {
				// Each JSON answer is fetched again by query ID and read row by row.
				require.Equal(t, 2*read, st.JSONResults)
				require.Equal(t, read, st.ResultFetches)
				require.Zero(t, st.ArrowResults)
				require.Contains(t, f.logs.String(), "answered JSON instead of Arrow")
			} else {
				require.Equal(t, read, st.ArrowResults)
				require.Zero(t, st.JSONResults)
				require.NotContains(t, f.logs.String(), "answered JSON")
			}
			if tt.opts.ChunkRows > 0 {
				require.Positive(t, st.Chunks)
			}
			require.Equal(t, "grantmirror", st.LoginParameters["QUERY_TAG"])
			require.Equal(t, "UTC", st.LoginParameters["TIMEZONE"])
			require.Equal(t, 1, st.Logins)
			require.Equal(t, 1, st.SessionsClosed)

			m := readManifest(t, f.out)
			require.Equal(t, "ACME", m.Account)
			require.Equal(t, "2024-03-01T12:00:00Z", m.ExtractedAt)
			require.Equal(t, "snowflake:acme", m.Source)
			require.Contains(t, m.Latency, "120 minutes")
			require.Equal(t, 90, m.HistoryDays)
			require.Equal(t, acmeRows, m.Rows["grants_to_roles.csv"])
			require.Equal(t, []string{"tag_references.csv"}, m.Missing)
		})
	}
}

func TestExtractSendsQueriesFromSQLFiles(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{})
	f.cfg.HistoryDays = 30
	_, err := f.extract(t.Context())
	require.NoError(t, err)

	st := f.srv.Stats()
	require.Len(t, st.SQL, len(views))
	for i, v := range views {
		require.Equal(t, v.sql, st.SQL[i])
		require.Contains(t, st.SQL[i], "SNOWFLAKE.ACCOUNT_USAGE."+v.name)
		if v.history {
			require.Equal(t, []string{"30"}, st.Bindings[i], "ACCESS_HISTORY takes history_days as its bind parameter")
		} else {
			require.Nil(t, st.Bindings[i])
		}
	}
}

// generateAccount writes an account of the given size as a snapshot directory.
func generateAccount(t testing.TB, dir string, users, roles, grants int) {
	t.Helper()
	write := func(name string, header []string, n int, row func(i int) []string) {
		f, err := os.Create(filepath.Join(dir, name))
		require.NoError(t, err)
		w := csv.NewWriter(f)
		require.NoError(t, w.Write(header))
		for i := 0; i < n; i++ {
			require.NoError(t, w.Write(row(i)))
		}
		w.Flush()
		require.NoError(t, w.Error())
		require.NoError(t, f.Close())
	}
	role := func(i int) string { return "ROLE_" + strconv.Itoa(i%roles) }
	write("users.csv", []string{"NAME", "LOGIN_NAME", "DISPLAY_NAME", "EMAIL", "TYPE", "DISABLED", "DEFAULT_ROLE", "DELETED_ON"}, users, func(i int) []string {
		n := "USER_" + strconv.Itoa(i)
		return []string{n, n, "User " + strconv.Itoa(i), "user" + strconv.Itoa(i) + "@example.com", "PERSON", "false", role(i), ""}
	})
	write("roles.csv", []string{"NAME", "ROLE_TYPE", "ROLE_DATABASE_NAME", "OWNER", "DELETED_ON"}, roles, func(i int) []string {
		return []string{role(i), "ROLE", "", "SECURITYADMIN", ""}
	})
	write("grants_to_users.csv", []string{"ROLE", "GRANTED_TO", "GRANTEE_NAME", "GRANTED_BY", "CREATED_ON", "DELETED_ON"}, 3*users, func(i int) []string {
		return []string{role(i * 7), "USER", "USER_" + strconv.Itoa(i%users), "SECURITYADMIN", "2023-01-01 00:00:00.000 +0000", ""}
	})
	write("grants_to_roles.csv", []string{"PRIVILEGE", "GRANTED_ON", "NAME", "TABLE_CATALOG", "TABLE_SCHEMA", "GRANTED_TO", "GRANTEE_NAME", "GRANT_OPTION", "GRANTED_BY", "CREATED_ON", "DELETED_ON"}, grants, func(i int) []string {
		deleted := ""
		if i%50 == 0 {
			deleted = "2024-01-01 00:00:00.000 +0000"
		}
		return []string{"SELECT", "TABLE", "T_" + strconv.Itoa(i), "DB_" + strconv.Itoa(i%40), "SCHEMA_" + strconv.Itoa(i%400), "ROLE", role(i), "false", "SYSADMIN", "2023-01-01 00:00:00.000 +0000", deleted}
	})
}

func TestExtractStreamsLargeResultsAsArrowBatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	generateAccount(t, dir, 500, 50, 20000)
	f := setup(t, fakesnowflake.Options{Dir: dir, ChunkRows: 1000, GzipChunks: true})
	f.opts = append(f.opts, WithPrefetch(3))
	res, err := f.extract(t.Context())
	require.NoError(t, err)

	requireSnapshot(t, dir, f.out)
	grants := viewResult(t, res.Accounts[0], "GRANTS_TO_ROLES")
	require.Equal(t, "arrow", grants.Format)
	require.Equal(t, int64(20000), grants.Rows)
	require.Equal(t, 20, grants.Batches, "one inline batch and 19 downloaded chunks")
	st := f.srv.Stats()
	require.Zero(t, st.JSONResults)
	require.Zero(t, st.ResultFetches, "an Arrow result is never fetched again")
	require.Equal(t, 19+1, st.Chunks, "19 chunks of grants_to_roles and 1 of grants_to_users")
}

func TestExtractMultiAccount(t *testing.T) {
	t.Parallel()
	acme := setup(t, fakesnowflake.Options{ChunkRows: 4})
	globex := fakesnowflake.Start(t, fakesnowflake.Options{
		Dir: globexDir, Account: "globex", Format: fakesnowflake.JSON,
		Users: map[string]fakesnowflake.User{testUser: {Password: testPassword}},
	})
	acme.cfg.Accounts = append(acme.cfg.Accounts, fakeAccount(globex, "GLOBEX", "globex"))
	res, err := acme.extract(t.Context())
	require.NoError(t, err)

	require.Len(t, res.Accounts, 2)
	for _, a := range []struct{ name, dir, account string }{{"ACME", acmeDir, "acme"}, {"GLOBEX", globexDir, "globex"}} {
		sub := filepath.Join(acme.out, a.name)
		requireSnapshot(t, a.dir, sub)
		m := readManifest(t, sub)
		require.Equal(t, a.name, m.Account)
		require.Equal(t, "snowflake:"+a.account, m.Source)
	}
	require.Equal(t, filepath.Join(acme.out, "GLOBEX"), res.Accounts[1].Dir)
	require.NoFileExists(t, filepath.Join(acme.out, "users.csv"), "several accounts go in subdirectories")
	require.True(t, viewResult(t, res.Accounts[1], "ACCESS_HISTORY").Missing)
	require.False(t, viewResult(t, res.Accounts[1], "TAG_REFERENCES").Missing)
	require.Zero(t, viewResult(t, res.Accounts[1], "POLICY_REFERENCES").Rows, "an empty view still gets its header")
	require.Equal(t, 1, globex.Stats().Logins)
}

func TestExtractSkipsUnreadableOptionalViews(t *testing.T) {
	t.Parallel()
	denied := fakesnowflake.InsufficientPrivileges("ROLES")
	f := setup(t, fakesnowflake.Options{Errors: map[string]fakesnowflake.QueryError{"ROLES": denied}})
	res, err := f.extract(t.Context())
	require.NoError(t, err)

	for _, tt := range []struct{ view, code string }{{"ROLES", "003001"}, {"TAG_REFERENCES", "002003"}} {
		v := viewResult(t, res.Accounts[0], tt.view)
		require.True(t, v.Missing, tt.view)
		require.Contains(t, v.Reason, tt.code)
		require.NoFileExists(t, filepath.Join(f.out, v.File))
		require.Contains(t, f.logs.String(), `"level":"WARN","msg":"optional view not readable; its file is left out of the snapshot","account":"ACME","view":"`+tt.view+`"`)
	}
	require.Equal(t, []string{"roles.csv", "tag_references.csv"}, readManifest(t, f.out).Missing)
	require.FileExists(t, filepath.Join(f.out, "grants_to_roles.csv"))
}

func TestExtractFailsOnUnreadableRequiredView(t *testing.T) {
	t.Parallel()
	tests := []struct {
		view string
		err  fakesnowflake.QueryError
		code int
	}{
		{"USERS", fakesnowflake.NotAuthorized("USERS"), 2003},
		{"GRANTS_TO_USERS", fakesnowflake.InsufficientPrivileges("GRANTS_TO_USERS"), 3001},
		{"GRANTS_TO_ROLES", fakesnowflake.NotAuthorized("GRANTS_TO_ROLES"), 2003},
	}
	for _, tt := range tests {
		t.Run(tt.view, func(t *testing.T) {
			t.Parallel()
			f := setup(t, fakesnowflake.Options{Errors: map[string]fakesnowflake.QueryError{tt.view: tt.err}})
			_, err := f.extract(t.Context())
			require.ErrorIs(t, err, ErrPermission)
			var se *Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.code, se.Code)
			require.NotEmpty(t, se.QueryID)
			msg := err.Error()
			require.Contains(t, msg, "extract account ACME: read SNOWFLAKE.ACCOUNT_USAGE."+tt.view)
			require.Contains(t, msg, tt.err.Code)
			require.Contains(t, msg, "IMPORTED PRIVILEGES")
			requireNothingAt(t, f.out)
		})
	}
}

func TestExtractAllowPartial(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{true, false} {
		t.Run(map[bool]string{true: "allowed", false: "not allowed"}[allow], func(t *testing.T) {
			t.Parallel()
			f := setup(t, fakesnowflake.Options{})
			broken := fakesnowflake.Start(t, fakesnowflake.Options{
				Dir: globexDir, Errors: map[string]fakesnowflake.QueryError{"GRANTS_TO_ROLES": fakesnowflake.NotAuthorized("GRANTS_TO_ROLES")},
			})
			f.cfg.Accounts = append(f.cfg.Accounts, fakeAccount(broken, "GLOBEX", "globex"))
			if allow {
				f.cfg.AllowPartial = []string{"globex"}
			}
			res, err := f.extract(t.Context())
			if !allow {
				require.ErrorIs(t, err, ErrPermission)
				require.Contains(t, err.Error(), "extract account GLOBEX")
				requireNothingAt(t, f.out)
				return
			}
			require.NoError(t, err)
			require.Len(t, res.Accounts, 1)
			require.Len(t, res.Skipped, 1)
			require.Equal(t, "GLOBEX", res.Skipped[0].Name)
			require.ErrorIs(t, res.Skipped[0].Err, ErrPermission)
			requireSnapshot(t, acmeDir, filepath.Join(f.out, "ACME"))
			require.NoDirExists(t, filepath.Join(f.out, "GLOBEX"))
			require.Contains(t, f.logs.String(), "allow_partial")
		})
	}
}

func TestExtractNoAccountWhenAllSkipped(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{Errors: map[string]fakesnowflake.QueryError{"USERS": fakesnowflake.NotAuthorized("USERS")}})
	f.cfg.AllowPartial = []string{"ACME"}
	_, err := f.extract(t.Context())
	require.ErrorIs(t, err, ErrNoAccount)
	require.ErrorIs(t, err, ErrPermission)
	requireNothingAt(t, f.out)
}

// testKey is the RSA key in testdata/keys, decrypted once.
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	pemBytes, err := os.ReadFile("testdata/keys/rsa_key_aes256.p8")
	if err != nil {
		return nil, err
	}
	return parsePrivateKey(pemBytes, []byte("correct horse battery staple"))
})

func TestExtractAuthentication(t *testing.T) {
	t.Parallel()
	key, err := testKey()
	require.NoError(t, err)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	users := map[string]fakesnowflake.User{testUser: {Password: testPassword, PublicKey: &key.PublicKey, OAuthToken: "good-token"}}

	tests := []struct {
		name  string
		edit  func(a *Account)
		code  int    // 0 means the login succeeds
		authn string // AUTHENTICATOR the fake saw
	}{
		{name: "password", edit: func(a *Account) {}, authn: ""},
		{name: "wrong password", edit: func(a *Account) { a.Password = "not-it" }, code: 390100},
		{name: "unknown user", edit: func(a *Account) { a.User = "MALLORY" }, code: 390100},
		{name: "key pair from encrypted file", edit: func(a *Account) {
			*a = jwtAccount(*a)
			a.PrivateKeyFile, a.PrivateKeyPassphraseFile = "testdata/keys/rsa_key_aes256.p8", "testdata/keys/passphrase.txt"
		}, authn: "SNOWFLAKE_JWT"},
		{name: "key pair, AES-128 and SHA-1", edit: func(a *Account) {
			*a = jwtAccount(*a)
			a.PrivateKeyFile, a.PrivateKeyPassphrase = "testdata/keys/rsa_key_aes128_sha1.p8", "correct horse battery staple"
		}, authn: "SNOWFLAKE_JWT"},
		{name: "key pair inline", edit: func(a *Account) {
			*a = jwtAccount(*a)
			a.PrivateKey = pemPKCS8(t, key)
		}, authn: "SNOWFLAKE_JWT"},
		{name: "wrong key", edit: func(a *Account) {
			*a = jwtAccount(*a)
			a.PrivateKey = pemPKCS8(t, otherKey)
		}, code: 390144},
		{name: "oauth", edit: func(a *Account) {
			a.Authenticator, a.Password, a.Token = AuthOAuth, "", "good-token"
		}, authn: "OAUTH"},
		{name: "bad oauth token", edit: func(a *Account) {
			a.Authenticator, a.Password, a.Token = AuthOAuth, "", "stolen-token"
		}, code: 390303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, fakesnowflake.Options{Users: users})
			tt.edit(&f.cfg.Accounts[0])
			_, err := f.extract(t.Context())
			st := f.srv.Stats()
			if tt.code == 0 {
				require.NoError(t, err)
				require.Equal(t, []string{tt.authn}, st.Authenticators)
				requireSnapshot(t, acmeDir, f.out)
				return
			}
			require.ErrorIs(t, err, ErrAuth)
			var se *Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.code, se.Code)
			require.Contains(t, err.Error(), "extract account ACME: login as ")
			require.Equal(t, 1, st.FailedLogins, "authentication failures are not retried")
			require.Zero(t, st.Queries)
			requireNothingAt(t, f.out)
		})
	}
}

func jwtAccount(a Account) Account {
	a.Authenticator, a.Password = AuthJWT, ""
	return a
}

func TestExtractRenewsExpiredSession(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{SessionQueries: 2, ChunkRows: 2})
	_, err := f.extract(t.Context())
	require.NoError(t, err)
	requireSnapshot(t, acmeDir, f.out)
	st := f.srv.Stats()
	// One query per view on sessions good for two: every odd query from the 3rd
	// on expires, is renewed with the master token and sent again.
	require.Equal(t, (len(views)-1)/2, st.Expirations)
	require.Equal(t, (len(views)-1)/2, st.Renewals)
	require.Equal(t, 4, st.Expirations, "ten views")
	require.Equal(t, 1, st.Logins)
}

func TestExtractPollsAsyncQueries(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{AsyncPolls: 2, ChunkRows: 4})
	res, err := f.extract(t.Context())
	require.NoError(t, err)
	requireSnapshot(t, acmeDir, f.out)
	st := f.srv.Stats()
	read := len(views) - 1
	require.Equal(t, 2*read, st.Polls, "each query answered 333334 twice before its result")
	require.Equal(t, read, st.ResultFetches)
	require.Equal(t, "arrow", viewResult(t, res.Accounts[0], "GRANTS_TO_ROLES").Format)
}

func TestExtractCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	f := setup(t, fakesnowflake.Options{
		StallViews: map[string]bool{"GRANTS_TO_ROLES": true},
		OnStall:    func(string) { cancel() },
	})
	_, err := f.extract(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrTimeout)
	requireNothingAt(t, f.out)
	require.Equal(t, 1, f.srv.Stats().Aborts, "the running query is aborted in Snowflake too")
}

func TestExtractTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    fakesnowflake.Options
		context string
	}{
		{name: "stalled query", opts: fakesnowflake.Options{StallViews: map[string]bool{"GRANTS_TO_USERS": true}}, context: "read SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_USERS"},
		{name: "stalled login", opts: fakesnowflake.Options{StallLogin: true}, context: "login as GRANTMIRROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tt.opts)
			f.cfg.QueryTimeout = 300 * time.Millisecond
			start := time.Now()
			_, err := f.extract(t.Context())
			require.ErrorIs(t, err, ErrTimeout)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Contains(t, err.Error(), tt.context)
			require.Less(t, time.Since(start), 20*time.Second)
			requireNothingAt(t, f.out)
		})
	}
}

func TestExtractRetriesFailedChunk(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{ChunkRows: 2, FailChunks: 1})
	res, err := f.extract(t.Context())
	require.NoError(t, err)
	requireSnapshot(t, acmeDir, f.out)
	users := viewResult(t, res.Accounts[0], "USERS")
	require.Equal(t, 2, users.Attempts, "the first chunk download failed and the view was read again")
	require.Equal(t, 1, viewResult(t, res.Accounts[0], "GRANTS_TO_ROLES").Attempts)
	require.Equal(t, 1, f.srv.Stats().ChunkFailures)
	require.Contains(t, f.logs.String(), "transient failure, retrying")
}

func TestExtractGivesUpAfterRetries(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{ChunkRows: 2, FailChunks: 100})
	f.opts = append(f.opts, WithPrefetch(1))
	_, err := f.extract(t.Context())
	require.ErrorIs(t, err, ErrUnavailable)
	var se *Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, 262000, se.Code)
	require.Equal(t, 3, f.srv.Stats().ChunkFailures, "three attempts, then the error")
	require.Equal(t, 2, strings.Count(f.logs.String(), "transient failure, retrying"))
	requireNothingAt(t, f.out)
}

func TestExtractChecksRowCount(t *testing.T) {
	t.Parallel()
	for _, format := range []fakesnowflake.Format{fakesnowflake.Arrow, fakesnowflake.JSON} {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			f := setup(t, fakesnowflake.Options{Format: format, ChunkRows: 2, MisreportTotal: 1})
			_, err := f.extract(t.Context())
			require.ErrorIs(t, err, ErrResult)
			require.Contains(t, err.Error(), "read 6 rows but Snowflake announced 7")
			requireNothingAt(t, f.out)
		})
	}
}

func TestExtractOutputDirectory(t *testing.T) {
	t.Parallel()
	t.Run("not empty", func(t *testing.T) {
		t.Parallel()
		f := setup(t, fakesnowflake.Options{})
		require.NoError(t, os.MkdirAll(f.out, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(f.out, "keep.txt"), []byte("mine"), 0o644))
		_, err := f.extract(t.Context())
		require.ErrorIs(t, err, ErrOutputExists)
		require.FileExists(t, filepath.Join(f.out, "keep.txt"))
		require.Zero(t, f.srv.Stats().Logins, "nothing is extracted into a directory that would be refused")
	})
	t.Run("overwrite", func(t *testing.T) {
		t.Parallel()
		f := setup(t, fakesnowflake.Options{})
		require.NoError(t, os.MkdirAll(f.out, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(f.out, "old.csv"), []byte("old"), 0o644))
		f.opts = append(f.opts, WithOverwrite())
		_, err := f.extract(t.Context())
		require.NoError(t, err)
		require.NoFileExists(t, filepath.Join(f.out, "old.csv"))
		requireSnapshot(t, acmeDir, f.out)
		entries, err := os.ReadDir(filepath.Dir(f.out))
		require.NoError(t, err)
		require.Len(t, entries, 1, "the old snapshot is removed once replaced")
	})
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		f := setup(t, fakesnowflake.Options{})
		require.NoError(t, os.MkdirAll(f.out, 0o755))
		_, err := f.extract(t.Context())
		require.NoError(t, err)
		requireSnapshot(t, acmeDir, f.out)
	})
}

func TestExtractInvalidConfig(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{})
	f.cfg.Accounts[0].PrivateKeyFile = "testdata/keys/rsa_key_aes256.p8"
	_, err := f.extract(t.Context())
	require.ErrorIs(t, err, ErrConfig)
	require.Zero(t, f.srv.Stats().Logins)
	requireNothingAt(t, f.out)

	f.cfg.Accounts[0] = jwtAccount(f.cfg.Accounts[0])
	f.cfg.Accounts[0].PrivateKeyPassphrase = "wrong passphrase"
	_, err = f.extract(t.Context())
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorContains(t, err, "the private key passphrase is wrong")
	require.Zero(t, f.srv.Stats().Logins)
}

// TestDriverLogRouted is not parallel: the driver's logger is global and
// follows the latest Extract, so no other extract may run meanwhile.
func TestDriverLogRouted(t *testing.T) {
	f := setup(t, fakesnowflake.Options{})
	_, err := f.extract(t.Context())
	require.NoError(t, err)
	// The driver logs the 002003 of TAG_REFERENCES as an error of its own.
	require.Contains(t, f.logs.String(), `"level":"DEBUG","msg":"gosnowflake","line":"time=`)
	require.Contains(t, f.logs.String(), `TAG_REFERENCES' does not exist or not authorized`)
}

func TestRetry(t *testing.T) {
	t.Parallel()
	o := defaultOptions()
	o.backoff = time.Millisecond
	transientErr := &Error{Code: 262000, Kind: ErrUnavailable}
	tests := []struct {
		name     string
		errs     []error // returned by successive attempts
		attempts int
		want     error
	}{
		{name: "first try", errs: []error{nil}, attempts: 1},
		{name: "transient then ok", errs: []error{transientErr, transientErr, nil}, attempts: 3},
		{name: "transient to the end", errs: []error{transientErr, transientErr, transientErr, nil}, attempts: 3, want: ErrUnavailable},
		{name: "permanent", errs: []error{&Error{Code: 2003, Kind: ErrPermission}, nil}, attempts: 1, want: ErrPermission},
		{name: "timeout", errs: []error{ErrTimeout, nil}, attempts: 1, want: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := retry(t.Context(), o, "test", func(attempt int) error {
				calls++
				require.Equal(t, calls, attempt)
				return tt.errs[attempt-1]
			})
			require.Equal(t, tt.attempts, calls)
			if tt.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.want)
			}
		})
	}
	t.Run("cancelled during back-off", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		slow := o
		slow.backoff = time.Hour
		err := retry(ctx, slow, "test", func(int) error {
			cancel()
			return transientErr
		})
		require.ErrorIs(t, err, context.Canceled)
	})
}
