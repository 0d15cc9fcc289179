package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
)

// fixture is one test's private schema holding the published mirror contract:
// access, memberships and masked_columns (views over generation tables, access_1 with
// the unique index) and current, shaped as the sync publishes them.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *pgx.Conn
	schema string
	// published is when the fixture's generation was published; builders' clocks
	// are set relative to it.
	published time.Time
}

// grant is one row of the access table.
type grant struct {
	account, email, objectType, objectName, privilege string
}

// setup creates a fresh schema with the mirror tables and a publish record, and drops
// the schema when the test ends.
func setup(t testing.TB) *fixture {
	t.Helper()
	db := pgtest.Conn(t)
	ctx := context.Background()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	f := &fixture{t: t, ctx: ctx, db: db, schema: "query_test_" + hex.EncodeToString(b[:]),
		published: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), "DROP SCHEMA "+f.schema+" CASCADE")
	})
	f.exec(`CREATE SCHEMA ` + f.schema)
	f.exec(`SET search_path TO ` + f.schema)
	// The shapes follow the sync's Postgres target: per-generation tables with "C"
	// collation, indexed after load, behind views.
	f.exec(`CREATE TABLE access_1 (account text COLLATE "C" NOT NULL, email text COLLATE "C" NOT NULL,
		object_type text COLLATE "C" NOT NULL, object_name text COLLATE "C" NOT NULL, privilege text COLLATE "C" NOT NULL)`)
	f.exec(`CREATE UNIQUE INDEX access_1_key ON access_1 (email, object_type, object_name, privilege, account)`)
	// Local grants are a second branch of the view, as in the sync's schema; the
	// builder relies only on the view's columns.
	f.exec(`CREATE TABLE local_grants (account text COLLATE "C" NOT NULL, email text COLLATE "C" NOT NULL,
		object_type text COLLATE "C" NOT NULL, object_name text COLLATE "C" NOT NULL, privilege text COLLATE "C" NOT NULL,
		until timestamptz NOT NULL, revoked_at timestamptz)`)
	f.exec(`CREATE INDEX local_grants_active ON local_grants (email, object_type, object_name, privilege, account)
		INCLUDE (until) WHERE revoked_at IS NULL`)
	f.exec(`CREATE VIEW access AS SELECT account, email, object_type, object_name, privilege FROM access_1
		UNION ALL SELECT account, email, object_type, object_name, privilege FROM local_grants
		WHERE revoked_at IS NULL AND until > now()`)
	f.exec(`CREATE TABLE memberships_1 (account text COLLATE "C" NOT NULL, email text COLLATE "C" NOT NULL, role text COLLATE "C" NOT NULL)`)
	f.exec(`CREATE INDEX memberships_1_email ON memberships_1 (email, role, account)`)
	f.exec(`CREATE VIEW memberships AS SELECT DISTINCT account, email, role FROM memberships_1`)
	f.exec(`CREATE TABLE current (generation bigint NOT NULL, published_at timestamptz NOT NULL, snapshot_at timestamptz)`)
	f.exec(`CREATE TABLE masked_1 (account text COLLATE "C" NOT NULL, object_name text COLLATE "C" NOT NULL,
		column_name text COLLATE "C" NOT NULL, reason text COLLATE "C" NOT NULL, rule text COLLATE "C" NOT NULL DEFAULT '')`)
	f.exec(`CREATE VIEW masked_columns AS SELECT account, object_name, column_name, reason, rule FROM masked_1`)
	// row_policies takes the row access rules (masked rows without a column) apart
	// as the sync's migration does; a row without a rule admits nobody.
	f.exec(`CREATE VIEW row_policies AS SELECT k.account, k.object_name,
		CASE WHEN r.translated THEN r.roles ELSE '{}' END AS admit_roles,
		CASE WHEN r.translated THEN r.emails ELSE '{}' END AS admit_emails,
		NOT r.translated AND r.fallback = 'allow' AS allow
		FROM masked_1 k CROSS JOIN LATERAL (
			SELECT coalesce(j.rule ->> 'translated' = 'true', false) AS translated,
				coalesce(j.rule ->> 'fallback', '') AS fallback,
				CASE WHEN jsonb_typeof(j.rule -> 'roles') = 'array'
					THEN ARRAY(SELECT jsonb_array_elements_text(j.rule -> 'roles')) ELSE '{}' END::text[] AS roles,
				CASE WHEN jsonb_typeof(j.rule -> 'emails') = 'array'
					THEN ARRAY(SELECT jsonb_array_elements_text(j.rule -> 'emails')) ELSE '{}' END::text[] AS emails
			FROM (SELECT CASE WHEN k.rule <> '' THEN k.rule::jsonb END AS rule) j) r
		WHERE k.column_name = ''`)
	f.exec(`INSERT INTO current VALUES (1, $1, $2)`, f.published, f.published.Add(-time.Hour))
	return f
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	_, err := f.db.Exec(f.ctx, sql, args...)
	require.NoError(f.t, err, sql)
}

// options returns Options pointing at the fixture's schema, with a clock one hour
// after the publish.
func (f *fixture) options() Options {
	return Options{
		Schema:       f.schema,
		AccessTable:  f.schema + ".access",
		MaxStaleness: 3 * time.Hour,
		Now:          func() time.Time { return f.published.Add(time.Hour) },
	}
}

func (f *fixture) builder(o Options) *Builder {
	f.t.Helper()
	b, err := New(o)
	require.NoError(f.t, err)
	return b
}

func (f *fixture) grant(gs ...grant) {
	f.t.Helper()
	rows := make([][]any, len(gs))
	for i, g := range gs {
		rows[i] = []any{g.account, g.email, g.objectType, g.objectName, g.privilege}
	}
	_, err := f.db.CopyFrom(f.ctx, pgx.Identifier{f.schema, "access_1"},
		[]string{"account", "email", "object_type", "object_name", "privilege"}, pgx.CopyFromRows(rows))
	require.NoError(f.t, err)
}

// localGrant adds a grant in force for a day, as grantmirror grant add does.
func (f *fixture) localGrant(g grant) {
	f.t.Helper()
	f.exec(`INSERT INTO local_grants VALUES ($1, $2, $3, $4, $5, now() + interval '1 day', NULL)`,
		g.account, g.email, g.objectType, g.objectName, g.privilege)
}

func (f *fixture) member(account, email string, roles ...string) {
	f.t.Helper()
	for _, r := range roles {
		f.exec(`INSERT INTO memberships_1 VALUES ($1, $2, $3)`, account, email, r)
	}
}

// ids runs a statement whose first column is an integer id and returns the ids.
func (f *fixture) ids(s *Stmt) []int64 {
	f.t.Helper()
	rows, err := s.Query(f.ctx, f.db)
	require.NoError(f.t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
		v, err := r.Values()
		if err != nil {
			return 0, err
		}
		switch id := v[0].(type) {
		case int64:
			return id, nil
		case int32:
			return int64(id), nil
		}
		return 0, fmt.Errorf("first column is %T, not an integer id", v[0])
	})
	require.NoError(f.t, err)
	if out == nil {
		out = []int64{}
	}
	return out
}

// maps runs a statement and returns every row as column name → value.
func (f *fixture) maps(s *Stmt) []map[string]any {
	f.t.Helper()
	rows, err := s.Query(f.ctx, f.db)
	require.NoError(f.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(f.t, err)
	return out
}

// rawMaps runs a statement's SQL directly, not through Stmt.Query, so that a Shadow
// statement's visible column is among the columns returned.
func (f *fixture) rawMaps(s *Stmt) []map[string]any {
	f.t.Helper()
	sql, args, err := s.ToSql()
	require.NoError(f.t, err)
	rows, err := f.db.Query(f.ctx, sql, args...)
	require.NoError(f.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(f.t, err)
	return out
}

// publishCounts (re)creates viewer_objects as the sync publishes it: how many
// objects each person holds each privilege on in the mirror (a table here, a
// column of the digests there), with local grants in force counted on top. wrong
// replaces a person's published counts by n, or drops them when n is 0, so that a
// test can show a wrong count changes the shape a read takes and never its rows.
func (f *fixture) publishCounts(wrong map[string]int64) {
	f.t.Helper()
	f.dropCounts()
	f.exec(`CREATE TABLE viewer_counts AS SELECT account, email, object_type, privilege, count(*)::bigint AS objects
		FROM access_1 GROUP BY account, email, object_type, privilege`)
	f.exec(`CREATE INDEX viewer_counts_email ON viewer_counts (email, object_type, privilege, account)`)
	for email, n := range wrong {
		if n == 0 {
			f.exec(`DELETE FROM viewer_counts WHERE email = $1`, email)
		} else {
			f.exec(`UPDATE viewer_counts SET objects = $2 WHERE email = $1`, email, n)
		}
	}
	f.exec(`CREATE VIEW viewer_objects AS SELECT account, email, object_type, privilege, objects FROM viewer_counts
		UNION ALL SELECT account, email, object_type, privilege, count(*) FROM local_grants
		WHERE revoked_at IS NULL AND until > now() GROUP BY account, email, object_type, privilege`)
	f.exec(`ANALYZE viewer_counts`)
}

// dropCounts takes viewer_objects away, as in a schema migrated before it.
func (f *fixture) dropCounts() {
	f.t.Helper()
	f.exec(`DROP VIEW IF EXISTS viewer_objects`)
	f.exec(`DROP TABLE IF EXISTS viewer_counts`)
}
