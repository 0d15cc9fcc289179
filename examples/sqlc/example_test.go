package sqlcexample

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/examples/sqlc/db"
	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

// database creates a database of its own, dropped at cleanup, so that the mirror
// can live in the schema grantmirror the guard names, as it does in production,
// without meeting another test's.
func database(t *testing.T) string {
	t.Helper()
	admin := pgtest.Conn(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "rls_test_sqlc_" + hex.EncodeToString(b)
	ctx := context.Background()
	_, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		require.NoError(t, err)
	})
	u, err := url.Parse(pgtest.URL())
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// publish makes rows the current generation of the mirror, extracted at extractedAt.
func publish(t *testing.T, s *pgstore.Store, extractedAt time.Time, rows ...model.Row) {
	t.Helper()
	m := &model.Mirror{Meta: model.Meta{
		Accounts: []model.AccountMeta{{Name: "ACME", ExtractedAt: extractedAt, Source: "test"}},
		Mode:     model.Effective, Roles: model.AllRoles, PublishedAt: time.Now(),
	}}
	m.Access = model.NewAccess(rows)
	m.Meta.Rows = m.Access.Len()
	opts := model.DefaultPublishOptions()
	opts.Force = true
	_, err := s.Publish(context.Background(), m, opts)
	require.NoError(t, err)
}

func TestGeneratedQueriesAreGuarded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := database(t)
	store, err := pgstore.Open(ctx, dsn, pgstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	require.NoError(t, store.Migrate(ctx))
	alice := model.Row{Account: "ACME", Email: "alice@example.com", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"}
	bob := model.Row{Account: "ACME", Email: "bob@example.com", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.ORDERS", Privilege: "INSERT"}
	publish(t, store, time.Now().Add(-time.Hour), alice, bob)

	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	schema, err := os.ReadFile("schema.sql")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, string(schema))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO app.events (id, table_name, payload) VALUES
		(1, 'SALES.PUBLIC.ORDERS', 'first order'), (2, 'SALES.PUBLIC.SECRET', 'hidden'), (3, 'SALES.PUBLIC.ORDERS', 'second order')`)
	require.NoError(t, err)

	q := db.New(conn)
	const sixHours = 6 * 60 * 60
	list := func(viewer string, maxAge int32) []int64 {
		rows, err := q.ListEvents(ctx, db.ListEventsParams{Viewer: viewer, MaxStalenessSeconds: maxAge, PageSize: 50})
		require.NoError(t, err)
		ids := []int64{}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return ids
	}
	require.Equal(t, []int64{3, 1}, list("alice@example.com", sixHours), "alice reads ORDERS, newest first, and not SECRET")
	require.Equal(t, []int64{3, 1}, list("Alice@Example.com", sixHours), "the viewer is compared in lower case")
	require.Empty(t, list("bob@example.com", sixHours), "bob may insert into ORDERS, not select from it")
	require.Empty(t, list("alice@example.com", 30*60), "a snapshot an hour old is stale for a 30 minute limit")

	got, err := q.GetEvent(ctx, db.GetEventParams{Viewer: "alice@example.com", MaxStalenessSeconds: sixHours, ID: 3})
	require.NoError(t, err)
	require.Equal(t, "second order", got.Payload)
	_, err = q.GetEvent(ctx, db.GetEventParams{Viewer: "alice@example.com", MaxStalenessSeconds: sixHours, ID: 2})
	require.True(t, errors.Is(err, pgx.ErrNoRows), "a row alice may not see is not there: %v", err)

	// A Snowflake row access policy on ORDERS that admits only AUDITOR hides its
	// rows from alice; one that names her admits her again.
	rowPolicy := func(rule string) {
		_, err := conn.Exec(ctx, `DELETE FROM grantmirror.masked_rows WHERE column_name = ''`)
		require.NoError(t, err)
		_, err = conn.Exec(ctx, `INSERT INTO grantmirror.masked_rows (account, ord, object_name, column_name, reason, valid_from, rule)
			SELECT 'ACME', 1, 'SALES.PUBLIC.ORDERS', '', 'row access policy GOV.P.ROWS', c.generation, $1 FROM grantmirror.current c`, rule)
		require.NoError(t, err)
	}
	rowPolicy(`{"kind":"row_access","policy":"GOV.P.ROWS","translated":true,"roles":["AUDITOR"]}`)
	require.Empty(t, list("alice@example.com", sixHours), "the row access policy does not admit alice")
	rowPolicy(`{"kind":"row_access","policy":"GOV.P.ROWS","translated":true,"roles":["AUDITOR"],"emails":["alice@example.com"]}`)
	require.Equal(t, []int64{3, 1}, list("alice@example.com", sixHours), "the policy names alice")

	// A newer generation extracted long ago: the same queries fail closed.
	publish(t, store, time.Now().Add(-48*time.Hour), alice, bob)
	require.Empty(t, list("alice@example.com", sixHours))
}

// TestGuardIsOneText: the README and every query carry guard.sql verbatim, so
// what people copy is what the test runs.
func TestGuardIsOneText(t *testing.T) {
	t.Parallel()
	guard, err := os.ReadFile("guard.sql")
	require.NoError(t, err)
	g := strings.TrimSpace(string(guard))
	queries, err := os.ReadFile("query.sql")
	require.NoError(t, err)
	require.Equal(t, strings.Count(string(queries), "-- name:"), strings.Count(string(queries), g), "every query in query.sql carries the guard")
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), "```sql\n"+g+"\n```", "README.md shows guard.sql")
}
