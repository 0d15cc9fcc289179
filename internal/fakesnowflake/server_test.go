package fakesnowflake

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// These tests speak the protocol by hand, as gosnowflake does; the driver
// itself runs against the fake in pipeline/snowflake, the only package that
// imports it.

const usersCSV = "NAME,EMAIL,DELETED_ON\nALICE,alice@example.com,\nBOB,\"bob \"\"jr\"\", esq@example.com\",2024-01-01\nCAROL,carol@example.com,\n"

type client struct {
	t     *testing.T
	srv   *Server
	token string
}

// setup starts a fake serving a directory with users.csv and returns a client.
func setup(t *testing.T, opts Options) *client {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(opts.Dir, "users.csv"), []byte(usersCSV), 0o644))
	}
	return &client{t: t, srv: Start(t, opts)}
}

// response is the part of an answer the tests read.
type response struct {
	Success bool   `json:"success"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Token             string       `json:"token"`
		MasterToken       string       `json:"masterToken"`
		SessionToken      string       `json:"sessionToken"`
		QueryID           string       `json:"queryId"`
		SQLState          string       `json:"sqlState"`
		GetResultURL      string       `json:"getResultUrl"`
		QueryResultFormat string       `json:"queryResultFormat"`
		Total             int          `json:"total"`
		RowType           []rowType    `json:"rowtype"`
		RowSet            [][]*string  `json:"rowset"`
		RowSetBase64      string       `json:"rowsetBase64"`
		Qrmk              string       `json:"qrmk"`
		Chunks            []chunkMeta  `json:"chunks"`
		Queries           []queryState `json:"queries"`
	} `json:"data"`
}

type rowType struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type chunkMeta struct {
	URL      string `json:"url"`
	RowCount int    `json:"rowCount"`
}

type queryState struct {
	Status string `json:"status"`
}

func (c *client) do(method, path, token string, body any) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.srv.URL+path, rd)
	require.NoError(c.t, err)
	if token != "" {
		req.Header.Set("Authorization", `Snowflake Token="`+token+`"`)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	var r response
	require.NoError(c.t, json.NewDecoder(resp.Body).Decode(&r))
	return r
}

func (c *client) login(data map[string]any) response {
	c.t.Helper()
	r := c.do("POST", "/session/v1/login-request?roleName=READER", "", map[string]any{"data": data})
	if r.Success {
		c.token = r.Data.Token
	}
	return r
}

func (c *client) query(sql string) response {
	c.t.Helper()
	return c.do("POST", "/queries/v1/query-request?requestId=1", c.token, map[string]any{"sqlText": sql, "sequenceId": 1})
}

func (c *client) chunk(url, key string) []byte {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), "GET", url, nil)
	require.NoError(c.t, err)
	req.Header.Set("x-amz-server-side-encryption-customer-key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return b
}

func str(s string) *string { return &s }

var wantRows = [][]*string{
	{str("ALICE"), str("alice@example.com"), nil},
	{str("BOB"), str(`bob "jr", esq@example.com`), str("2024-01-01")},
	{str("CAROL"), str("carol@example.com"), nil},
}

func TestNewNeedsDirectory(t *testing.T) {
	t.Parallel()
	_, err := New(Options{Dir: filepath.Join(t.TempDir(), "absent")})
	require.ErrorIs(t, err, ErrNoDir)
	_, err = New(Options{Dir: t.TempDir(), Format: "xml"})
	require.ErrorContains(t, err, `unknown format "xml"`)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	users := map[string]User{"GM": {Password: "pw", PublicKey: &key.PublicKey, OAuthToken: "tok"}}
	tests := []struct {
		name string
		data map[string]any
		code string // "" means success
	}{
		{"password", map[string]any{"ACCOUNT_NAME": "ACME", "LOGIN_NAME": "gm", "PASSWORD": "pw"}, ""},
		{"wrong password", map[string]any{"ACCOUNT_NAME": "ACME", "LOGIN_NAME": "gm", "PASSWORD": "nope"}, "390100"},
		{"wrong account", map[string]any{"ACCOUNT_NAME": "OTHER", "LOGIN_NAME": "gm", "PASSWORD": "pw"}, "390100"},
		{"oauth", map[string]any{"ACCOUNT_NAME": "acme", "AUTHENTICATOR": "OAUTH", "TOKEN": "tok"}, ""},
		{"bad oauth", map[string]any{"ACCOUNT_NAME": "acme", "AUTHENTICATOR": "OAUTH", "TOKEN": "x"}, "390303"},
		{"jwt", map[string]any{"ACCOUNT_NAME": "acme", "AUTHENTICATOR": "SNOWFLAKE_JWT", "TOKEN": signJWT(t, key, &key.PublicKey, "ACME.GM")}, ""},
		{"jwt other key", map[string]any{"ACCOUNT_NAME": "acme", "AUTHENTICATOR": "SNOWFLAKE_JWT", "TOKEN": signJWT(t, other, &other.PublicKey, "ACME.GM")}, "390144"},
		{"jwt wrong fingerprint", map[string]any{"ACCOUNT_NAME": "acme", "AUTHENTICATOR": "SNOWFLAKE_JWT", "TOKEN": signJWT(t, key, &other.PublicKey, "ACME.GM")}, "390144"},
		{"jwt other account", map[string]any{"ACCOUNT_NAME": "acme", "AUTHENTICATOR": "SNOWFLAKE_JWT", "TOKEN": signJWT(t, key, &key.PublicKey, "OTHER.GM")}, "390144"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t, Options{Account: "acme", Users: users})
			r := c.login(tt.data)
			st := c.srv.Stats()
			if tt.code != "" {
				require.False(t, r.Success)
				require.Equal(t, tt.code, r.Code)
				require.Equal(t, 1, st.FailedLogins)
				return
			}
			require.True(t, r.Success, r.Message)
			require.NotEmpty(t, r.Data.Token)
			require.NotEmpty(t, r.Data.MasterToken)
			require.Equal(t, 1, st.Logins)
			q := c.query("SELECT 1")
			require.True(t, q.Success)
			require.Equal(t, []rowType{{"1", "text"}}, q.Data.RowType)
		})
	}
}

// signJWT signs a token the way gosnowflake does, with the issuer naming pub.
func signJWT(t *testing.T, key *rsa.PrivateKey, pub *rsa.PublicKey, sub string) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	sum := sha256.Sum256(der)
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": sub + ".SHA256:" + base64.StdEncoding.EncodeToString(sum[:]),
		"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}).SignedString(key)
	require.NoError(t, err)
	return tok
}

func TestJSONResultInChunks(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{Format: JSON, ChunkRows: 1, GzipChunks: true})
	require.True(t, c.login(map[string]any{"LOGIN_NAME": "anyone"}).Success)
	r := c.query("SELECT NAME FROM snowflake.account_usage.users")
	require.True(t, r.Success)
	require.Equal(t, "json", r.Data.QueryResultFormat)
	require.Equal(t, 3, r.Data.Total)
	require.Equal(t, []rowType{{"NAME", "text"}, {"EMAIL", "text"}, {"DELETED_ON", "text"}}, r.Data.RowType)
	require.Equal(t, wantRows[:1], r.Data.RowSet)
	require.Len(t, r.Data.Chunks, 2)

	got := r.Data.RowSet
	for _, ch := range r.Data.Chunks {
		zr, err := gzip.NewReader(bytes.NewReader(c.chunk(ch.URL, r.Data.Qrmk)))
		require.NoError(t, err)
		body, err := io.ReadAll(zr)
		require.NoError(t, err)
		// A JSON chunk is rows without the enclosing brackets.
		var rows [][]*string
		require.NoError(t, json.Unmarshal(append(append([]byte("["), body...), ']'), &rows))
		require.Len(t, rows, ch.RowCount)
		got = append(got, rows...)
	}
	require.Equal(t, wantRows, got)
	require.Equal(t, 2, c.srv.Stats().Chunks)
}

func TestArrowResult(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{ChunkRows: 2})
	require.True(t, c.login(map[string]any{"LOGIN_NAME": "anyone"}).Success)
	r := c.query(`SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE."USERS"`)
	require.True(t, r.Success)
	require.Equal(t, "arrow", r.Data.QueryResultFormat)
	require.Empty(t, r.Data.RowSet)
	first, err := base64.StdEncoding.DecodeString(r.Data.RowSetBase64)
	require.NoError(t, err)
	require.Len(t, r.Data.Chunks, 1)

	var got [][]*string
	for _, stream := range [][]byte{first, c.chunk(r.Data.Chunks[0].URL, r.Data.Qrmk)} {
		rd, err := ipc.NewReader(bytes.NewReader(stream))
		require.NoError(t, err)
		require.Equal(t, "NAME", rd.Schema().Field(0).Name)
		for rd.Next() {
			rec := rd.Record()
			for i := 0; i < int(rec.NumRows()); i++ {
				row := make([]*string, rec.NumCols())
				for j, col := range rec.Columns() {
					if s := col.(*array.String); s.IsValid(i) {
						row[j] = str(s.Value(i))
					}
				}
				got = append(got, row)
			}
		}
		require.NoError(t, rd.Err())
		rd.Release()
	}
	require.Equal(t, wantRows, got)
	require.Equal(t, 1, c.srv.Stats().ArrowResults)
}

func TestChunkNeedsResultKey(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{ChunkRows: 1, FailChunks: 1})
	require.True(t, c.login(map[string]any{}).Success)
	r := c.query("SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.USERS")
	status := func(key string) int {
		req, err := http.NewRequestWithContext(t.Context(), "GET", r.Data.Chunks[0].URL, nil)
		require.NoError(t, err)
		req.Header.Set("x-amz-server-side-encryption-customer-key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusForbidden, status(r.Data.Qrmk), "the first download fails as an expired URL")
	require.Equal(t, http.StatusBadRequest, status("wrong key"))
	require.Equal(t, http.StatusOK, status(r.Data.Qrmk))
	require.Equal(t, 1, c.srv.Stats().ChunkFailures)
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{Errors: map[string]QueryError{"grants_to_roles": InsufficientPrivileges("GRANTS_TO_ROLES")}})
	require.True(t, c.login(map[string]any{}).Success)
	tests := []struct {
		sql, code, state, msg string
	}{
		{"SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES", "003001", "42501", "Insufficient privileges"},
		{"SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES", "002003", "02000", "'SNOWFLAKE.ACCOUNT_USAGE.TAG_REFERENCES' does not exist or not authorized"},
		{"DROP DATABASE PROD", "001003", "42000", "syntax error"},
	}
	for _, tt := range tests {
		r := c.query(tt.sql)
		require.False(t, r.Success, tt.sql)
		require.Equal(t, tt.code, r.Code)
		require.Equal(t, tt.state, r.Data.SQLState)
		require.Contains(t, r.Message, tt.msg)
		require.NotEmpty(t, r.Data.QueryID)
	}
	c.srv.SetError("GRANTS_TO_ROLES", nil)
	require.Equal(t, "002003", c.query("SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES").Code, "no file either")
	require.Equal(t, 4, c.srv.Stats().Failed)
}

// TestMissingColumns: a view without a column answers a query naming it, outside
// comments, with Snowflake's invalid identifier error at its line and position,
// and leaves it out of every result.
func TestMissingColumns(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{Format: JSON, MissingColumns: map[string][]string{"users": {"deleted_on"}}})
	require.True(t, c.login(map[string]any{}).Success)
	r := c.query("-- DELETED_ON in a comment is no reference\nSELECT NAME,\n  DELETED_ON FROM SNOWFLAKE.ACCOUNT_USAGE.USERS")
	require.False(t, r.Success)
	require.Equal(t, "000904", r.Code)
	require.Equal(t, "42000", r.Data.SQLState)
	require.Equal(t, "SQL compilation error: error line 3 at position 2\ninvalid identifier 'DELETED_ON'", r.Message)

	r = c.query("-- without DELETED_ON\nSELECT NAME, EMAIL FROM SNOWFLAKE.ACCOUNT_USAGE.USERS")
	require.True(t, r.Success, r.Message)
	require.Equal(t, []rowType{{"NAME", "text"}, {"EMAIL", "text"}}, r.Data.RowType)
	require.Equal(t, []*string{str("BOB"), str(`bob "jr", esq@example.com`)}, r.Data.RowSet[1])
}

func TestSessionExpiresAndRenews(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{SessionQueries: 1})
	login := c.login(map[string]any{})
	require.True(t, c.query("SELECT 1").Success)
	expired := c.query("SELECT 1")
	require.False(t, expired.Success)
	require.Equal(t, "390112", expired.Code)

	bad := c.do("POST", "/session/token-request", "not-the-master", map[string]any{"oldSessionToken": c.token, "requestType": "RENEW"})
	require.Equal(t, "390114", bad.Code)
	r := c.do("POST", "/session/token-request", login.Data.MasterToken, map[string]any{"oldSessionToken": c.token, "requestType": "RENEW"})
	require.True(t, r.Success)
	require.NotEqual(t, c.token, r.Data.SessionToken)
	old := c.token
	c.token = r.Data.SessionToken
	require.True(t, c.query("SELECT 1").Success)
	c.token = old
	require.Equal(t, "390111", c.query("SELECT 1").Code, "the old token is gone")
	st := c.srv.Stats()
	require.Equal(t, 1, st.Renewals)
	require.Equal(t, 1, st.Expirations)
}

func TestAsyncPolling(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{AsyncPolls: 2})
	require.True(t, c.login(map[string]any{}).Success)
	r := c.query("SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.USERS")
	require.Equal(t, "333334", r.Code)
	require.Equal(t, "/queries/"+r.Data.QueryID+"/result", r.Data.GetResultURL)
	status := c.do("GET", "/monitoring/queries/"+r.Data.QueryID, c.token, nil)
	require.Equal(t, "RUNNING", status.Data.Queries[0].Status)
	for range 2 {
		require.Equal(t, "333334", c.do("GET", r.Data.GetResultURL, c.token, nil).Code)
	}
	done := c.do("GET", r.Data.GetResultURL, c.token, nil)
	require.True(t, done.Success)
	require.Empty(t, done.Code)
	require.Equal(t, 3, done.Data.Total)
	require.Equal(t, "SUCCESS", c.do("GET", "/monitoring/queries/"+r.Data.QueryID, c.token, nil).Data.Queries[0].Status)
	st := c.srv.Stats()
	require.Equal(t, 2, st.Polls)
	require.Equal(t, 1, st.ResultFetches)
	require.Equal(t, 2, st.StatusChecks)
}

func TestStallUntilClientGivesUp(t *testing.T) {
	t.Parallel()
	stalled := make(chan string, 1)
	c := setup(t, Options{StallViews: map[string]bool{"USERS": true}, OnStall: func(v string) { stalled <- v }})
	require.True(t, c.login(map[string]any{}).Success)
	ctx, cancel := context.WithCancel(t.Context())
	body := strings.NewReader(`{"sqlText":"SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.USERS"}`)
	req, err := http.NewRequestWithContext(ctx, "POST", c.srv.URL+"/queries/v1/query-request", body)
	require.NoError(t, err)
	req.Header.Set("Authorization", `Snowflake Token="`+c.token+`"`)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	require.Equal(t, "USERS", <-stalled)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	c.srv.SetStall("USERS", false)
	require.True(t, c.query("SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.USERS").Success)
}

func TestCloseReleasesStalledRequests(t *testing.T) {
	t.Parallel()
	stalled := make(chan string, 1)
	srv, err := New(Options{Dir: t.TempDir(), StallLogin: true, OnStall: func(v string) { stalled <- v }})
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/session/v1/login-request", "application/json", strings.NewReader(`{"data":{}}`))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	require.Equal(t, "login", <-stalled)
	srv.Close() // returns although the login never ended on the client's side
	<-errc
	srv.Close() // and is idempotent
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	c := setup(t, Options{})
	login := c.login(map[string]any{"SESSION_PARAMETERS": map[string]any{"QUERY_TAG": "grantmirror"}})
	require.True(t, login.Success)
	require.True(t, c.do("POST", "/session/heartbeat", c.token, nil).Success)
	require.True(t, c.do("POST", "/telemetry/send", c.token, map[string]any{"logs": []any{}}).Success)
	require.True(t, c.do("POST", "/queries/v1/abort-request", c.token, map[string]any{"requestId": "1"}).Success)
	require.True(t, c.do("POST", "/session?delete=true", c.token, nil).Success)
	require.Equal(t, "390111", c.query("SELECT 1").Code)
	st := c.srv.Stats()
	require.Equal(t, "grantmirror", st.LoginParameters["QUERY_TAG"])
	require.Equal(t, 1, st.SessionsClosed)
	require.Equal(t, 1, st.Aborts)
	require.Equal(t, []string{"SELECT 1"}, st.SQL)
	require.NotEmpty(t, c.srv.Host())
	require.Positive(t, c.srv.Port())
}
