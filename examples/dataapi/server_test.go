package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/query"
)

// published is when the fixture's mirror generation was published.
var published = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// setup creates a schema holding the published mirror contract and a copy of query
// history, and returns a pool and the schema name. The schema is dropped at cleanup;
// without a database the test fails under CI=true and is skipped otherwise.
func setup(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	schema := "dataapi_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	for _, sql := range []string{
		`CREATE SCHEMA ` + schema,
		`CREATE TABLE ` + schema + `.access_7 (account text COLLATE "C" NOT NULL, email text COLLATE "C" NOT NULL,
			object_type text COLLATE "C" NOT NULL, object_name text COLLATE "C" NOT NULL, privilege text COLLATE "C" NOT NULL)`,
		`CREATE UNIQUE INDEX ON ` + schema + `.access_7 (email, object_type, object_name, privilege, account)`,
		`CREATE VIEW ` + schema + `.access AS SELECT * FROM ` + schema + `.access_7`,
		`CREATE TABLE ` + schema + `.memberships_7 (account text COLLATE "C" NOT NULL, email text COLLATE "C" NOT NULL,
			role text COLLATE "C" NOT NULL)`,
		`CREATE VIEW ` + schema + `.memberships AS SELECT DISTINCT * FROM ` + schema + `.memberships_7`,
		`CREATE TABLE ` + schema + `.current (generation bigint NOT NULL, published_at timestamptz NOT NULL, snapshot_at timestamptz NOT NULL)`,
		`CREATE TABLE ` + schema + `.masked_columns (account text NOT NULL, object_name text NOT NULL, column_name text NOT NULL, reason text NOT NULL)`,
		`CREATE TABLE ` + schema + `.row_policies (account text COLLATE "C" NOT NULL, object_name text COLLATE "C" NOT NULL,
			admit_roles text[] NOT NULL, admit_emails text[] NOT NULL, allow boolean NOT NULL)`,
		`CREATE TABLE ` + schema + `.query_history (id bigint PRIMARY KEY, warehouse_name text NOT NULL,
			user_email text, query_text text, started_at timestamptz NOT NULL)`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.current VALUES (7, $1, $1)`, published)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.access_7 VALUES
		('ACME', 'alice@example.com', 'WAREHOUSE', 'ANALYTICS_WH', 'USAGE'),
		('ACME', 'alice@example.com', 'WAREHOUSE', 'LOADING_WH', 'MONITOR'),
		('ACME', 'bob@example.com', 'WAREHOUSE', 'LOADING_WH', 'USAGE'),
		('ACME', 'bob@example.com', 'WAREHOUSE', 'ANALYTICS_WH', 'MONITOR')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.memberships_7 VALUES
		('ACME', 'alice@example.com', 'PUBLIC'), ('ACME', 'alice@example.com', 'PII_READER'),
		('ACME', 'bob@example.com', 'PUBLIC'), ('ACME', 'bob@example.com', 'LOADER')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.query_history
		SELECT g, CASE WHEN g % 3 = 0 THEN 'LOADING_WH' WHEN g % 3 = 1 THEN 'ANALYTICS_WH' ELSE 'ADMIN_WH' END,
			'user' || g || '@corp.example', 'select secret_' || g, $1::timestamptz - g * interval '1 minute'
		FROM generate_series(1, 30) g`, published)
	require.NoError(t, err)
	return pool, schema
}

func server(t *testing.T, pool *pgxpool.Pool, schema string, now time.Time) *Server {
	t.Helper()
	s, _ := serverIn(t, pool, schema, now, query.Enforce)
	return s
}

// serverIn serves in a mode, with the builder and the server logging as JSON into the
// returned buffer.
func serverIn(t *testing.T, pool *pgxpool.Pool, schema string, now time.Time, mode query.Mode) (*Server, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	g, err := query.New(query.Options{Schema: schema, MaxStaleness: 3 * time.Hour, Mode: mode, Logger: log,
		EmailDomains: map[string]string{"corp.example": "example.com"},
		Now:          func() time.Time { return now }})
	require.NoError(t, err)
	return NewServer(pool, g, schema+".query_history", log), logs
}

func get(t *testing.T, h http.Handler, viewer, target string) (int, Page) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if viewer != "" {
		req.Header.Set(ViewerHeader, viewer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p Page
	if rec.Code == http.StatusOK {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	}
	return rec.Code, p
}

func TestViewersSeeDifferentMaskedRows(t *testing.T) {
	t.Parallel()
	pool, schema := setup(t)
	h := server(t, pool, schema, published.Add(time.Hour))

	// Alice uses ANALYTICS_WH (ids 1, 4, 7 …) and is a PII reader: clear values.
	code, alice := get(t, h, "Alice@Example.com", "/query-history?limit=100")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, alice.Rows, 10)
	for _, r := range alice.Rows {
		require.Equal(t, int64(1), r.ID%3)
		require.Equal(t, "ANALYTICS_WH", r.Warehouse)
		require.Equal(t, "select secret_"+itoa(r.ID), *r.QueryText)
		require.Equal(t, "user"+itoa(r.ID)+"@corp.example", *r.UserEmail)
	}

	// Bob uses LOADING_WH only (MONITOR on ANALYTICS_WH is not USAGE) and holds no
	// PII role: his rows are masked.
	code, bob := get(t, h, "bob@example.com", "/query-history?limit=100")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, bob.Rows, 10)
	for _, r := range bob.Rows {
		require.Equal(t, int64(0), r.ID%3)
		require.Equal(t, "LOADING_WH", r.Warehouse)
		require.Equal(t, query.RedactedText, *r.QueryText)
		require.Equal(t, "***@corp.example", *r.UserEmail)
	}
	// Newest first.
	require.Equal(t, int64(3), bob.Rows[0].ID)

	// Paging walks Bob's rows without repeating or skipping any.
	var paged []int64
	target := "/query-history?limit=4"
	for {
		code, p := get(t, h, "bob@example.com", target)
		require.Equal(t, http.StatusOK, code)
		for _, r := range p.Rows {
			paged = append(paged, r.ID)
		}
		if p.NextOffset == nil {
			break
		}
		target = "/query-history?limit=4&offset=" + itoa(*p.NextOffset)
	}
	var want []int64
	for _, r := range bob.Rows {
		want = append(want, r.ID)
	}
	require.Equal(t, want, paged)

	// Someone the mirror does not know sees nothing.
	code, eve := get(t, h, "eve@example.com", "/query-history")
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, eve.Rows)
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	pool, schema := setup(t)
	fresh := server(t, pool, schema, published.Add(time.Hour))
	stale := server(t, pool, schema, published.Add(4*time.Hour))
	tests := []struct {
		name   string
		h      http.Handler
		viewer string
		target string
		want   int
	}{
		{"no viewer", fresh, "", "/query-history", http.StatusUnauthorized},
		{"not an email", fresh, "12345", "/query-history", http.StatusBadRequest},
		{"bad limit", fresh, "bob@example.com", "/query-history?limit=0", http.StatusBadRequest},
		{"huge limit", fresh, "bob@example.com", "/query-history?limit=100000", http.StatusBadRequest},
		{"bad offset", fresh, "bob@example.com", "/query-history?offset=-1", http.StatusBadRequest},
		{"unknown path", fresh, "bob@example.com", "/other", http.StatusNotFound},
		{"stale mirror", stale, "bob@example.com", "/query-history", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		code, _ := get(t, tt.h, tt.viewer, tt.target)
		require.Equal(t, tt.want, code, tt.name)
	}
}

// Shadow mode serves what the API served before grantmirror, every row in the clear,
// and logs per request how many of them enforcement would have hidden.
func TestShadowModeServesEverythingAndLogsMismatches(t *testing.T) {
	t.Parallel()
	pool, schema := setup(t)
	h, logs := serverIn(t, pool, schema, published.Add(time.Hour), query.Shadow)

	// Bob (signing in under the aliased domain) may use LOADING_WH only: 10 of 30 rows.
	req := httptest.NewRequest(http.MethodGet, "/query-history?limit=100", nil)
	req.Header.Set(ViewerHeader, "bob@corp.example")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NotContains(t, rec.Body.String(), "visible")
	var page Page
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
	require.Len(t, page.Rows, 30)
	warehouses := map[string]int{}
	for _, r := range page.Rows {
		warehouses[r.Warehouse]++
		require.Equal(t, "select secret_"+itoa(r.ID), *r.QueryText, "shadow mode does not mask")
	}
	require.Equal(t, map[string]int{"LOADING_WH": 10, "ANALYTICS_WH": 10, "ADMIN_WH": 10}, warehouses)

	var mismatch map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(line, &rec))
		if rec["msg"] == "grantmirror shadow mismatch" {
			require.Nil(t, mismatch, "one record per request")
			mismatch = rec
		}
	}
	require.NotNil(t, mismatch, "the mismatch is logged:\n%s", logs)
	require.Equal(t, "bob@example.com", mismatch["viewer"])
	require.EqualValues(t, 30, mismatch["rows"])
	require.EqualValues(t, 20, mismatch["hidden"])
	require.Equal(t, query.ShadowStats{Rows: 30, Hidden: 20}, h.g.ShadowTotals())

	// The same request enforced returns Bob's 10 rows, masked.
	enforced, _ := serverIn(t, pool, schema, published.Add(time.Hour), query.Enforce)
	code, p := get(t, enforced, "bob@corp.example", "/query-history?limit=100")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, p.Rows, 10)
	require.Equal(t, query.RedactedText, *p.Rows[0].QueryText)
}

func TestSettings(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	st, err := readSettings(env(map[string]string{
		"DATAAPI_DATABASE_URL": "postgres://db/app", "DATAAPI_MODE": "shadow", "DATAAPI_SCHEMA": "mirror",
		"DATAAPI_EMAIL_DOMAINS": "corp.example=example.com, eu.example = example.com", "DATAAPI_MAX_STALENESS": "90m",
		"DATAAPI_HASH_KEY": "00ff",
		// The CLI's variables mean something else and are not read.
		"GRANTMIRROR_MODE": "granted", "GRANTMIRROR_SCHEMA": "other",
	}))
	require.NoError(t, err)
	require.Equal(t, ":8080", st.addr)
	require.Equal(t, "usage.query_history", st.table)
	require.Equal(t, query.Shadow, st.options.Mode)
	require.Equal(t, "mirror", st.options.Schema)
	require.Equal(t, 90*time.Minute, st.options.MaxStaleness)
	require.Equal(t, []byte{0, 0xff}, st.options.HashKey)
	require.Equal(t, map[string]string{"corp.example": "example.com", "eu.example": "example.com"}, st.options.EmailDomains)

	for name, kv := range map[string]map[string]string{
		"no database":     {},
		"CLI mode word":   {"DATAAPI_DATABASE_URL": "x", "DATAAPI_MODE": "granted"},
		"bad staleness":   {"DATAAPI_DATABASE_URL": "x", "DATAAPI_MAX_STALENESS": "-1h"},
		"bad hash key":    {"DATAAPI_DATABASE_URL": "x", "DATAAPI_HASH_KEY": "zz"},
		"bad domain pair": {"DATAAPI_DATABASE_URL": "x", "DATAAPI_EMAIL_DOMAINS": "corp.example"},
	} {
		_, err := readSettings(env(kv))
		require.Error(t, err, name)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
