package pgstore

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// day0 is when the first generation of a timeline is published.
var day0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// timeline is a store on a fresh schema whose clock the test moves by hand.
type timeline struct {
	s      *Store
	admin  *pgxpool.Pool
	schema string
	now    time.Time
}

// setupTimeline opens a migrated store with a hand-moved clock on a schema of its
// own, dropped when the test ends.
func setupTimeline(t *testing.T, opts Options) *timeline {
	t.Helper()
	pool := pgtest.Pool(t)
	tl := &timeline{admin: pool, schema: pgtest.Schema(t, pool), now: day0}
	opts.Schema, opts.Now = tl.schema, func() time.Time { return tl.now }
	s, err := Open(context.Background(), pgtest.URL(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(context.Background()))
	tl.s = s
	return tl
}

// count runs a query returning one number, with the schema's quoted name for %s.
func (tl *timeline) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, tl.admin.QueryRow(context.Background(), tl.sql(query), args...).Scan(&n))
	return n
}

func (tl *timeline) sql(query string) string {
	return (&fixture{schema: tl.schema}).sql(query)
}

// publishAt publishes m as if its sync ran at at, past the revocation guard.
func (tl *timeline) publishAt(t *testing.T, m *model.Mirror, at time.Time, keep int) *model.Generation {
	t.Helper()
	tl.now = at
	m.Meta.PublishedAt = at
	g, err := tl.s.Publish(context.Background(), m, model.PublishOptions{MaxRevokeRatio: 0.2, Force: true, Keep: keep})
	require.NoError(t, err)
	return g
}

// tinySeries is the tiny sample account at four moments of its life, each step
// one more change in Snowflake: as bundled; BEN loses his role; a new user CARL
// gets READER; READER loses SELECT on ITEMS.
func tinySeries(t *testing.T) []*model.Mirror {
	t.Helper()
	gone := day0.Add(-time.Hour)
	edits := []func(a *model.Account){
		func(a *model.Account) {},
		func(a *model.Account) {
			for i := range a.UserGrants {
				if a.UserGrants[i].Grantee == "BEN" {
					a.UserGrants[i].DeletedOn = gone
				}
			}
		},
		func(a *model.Account) {
			a.Users = append(a.Users, model.User{Name: "CARL", Email: "carl@tiny.example"})
			a.UserGrants = append(a.UserGrants, model.UserGrant{Role: "READER", Grantee: "CARL"})
		},
		func(a *model.Account) {
			for i := range a.RoleGrants {
				if rg := &a.RoleGrants[i]; rg.Privilege == "SELECT" && rg.Name == "ITEMS" && rg.Grantee == "READER" {
					rg.DeletedOn = gone
				}
			}
		},
	}
	var out []*model.Mirror
	for i := range edits {
		snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "sample", "tiny"))
		require.NoError(t, err)
		for _, edit := range edits[:i+1] {
			edit(snap.Accounts[0])
		}
		m, err := pipeline.Flatten(snap, pipeline.Options{Now: day0})
		require.NoError(t, err)
		if i > 0 {
			require.NotEqual(t, rowsOf(out[i-1].Access), rowsOf(m.Access), "step %d changes nothing", i)
		}
		out = append(out, m)
	}
	return out
}

func rowsOf(a *model.Access) []model.Row { return slices.Collect(a.All()) }

// TestAccessAtEveryMoment publishes four generations a day apart, keeping none
// but the current one, and asks the history about moments around each publish:
// every moment gives exactly the rows of the generation current then.
func TestAccessAtEveryMoment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupTimeline(t, Options{})
	series := tinySeries(t)
	at := func(i int) time.Time { return day0.Add(time.Duration(i) * 24 * time.Hour) }
	for i, m := range series {
		g := tl.publishAt(t, m, at(i), 0)
		require.Equal(t, i+1, g.Number)
	}
	tl.now = at(len(series))

	for i, m := range series {
		for _, moment := range []time.Time{at(i), at(i).Add(time.Second), at(i).Add(23 * time.Hour), at(i + 1).Add(-time.Microsecond)} {
			got, err := tl.s.AccessAt(ctx, moment)
			require.NoError(t, err, moment)
			require.Equal(t, rowsOf(m.Access), rowsOf(got), "at %s", moment)

			mirror, withPaths, err := tl.s.MirrorAt(ctx, moment)
			require.NoError(t, err)
			require.Equal(t, i == len(series)-1, withPaths, "only the current generation is kept")
			require.Equal(t, i+1, mirror.Meta.Generation)
			require.Equal(t, rowsOf(m.Access), rowsOf(mirror.Access))
			if !withPaths {
				require.Empty(t, mirror.Memberships)
				require.Equal(t, model.Effective, mirror.Meta.Mode, "the metadata outlives the generation")
			}
		}
	}
	_, err := tl.s.AccessAt(ctx, at(0).Add(-time.Second))
	require.ErrorIs(t, err, model.ErrNoGeneration)
	require.ErrorContains(t, err, "first publication")

	require.Equal(t, 4, tl.count(t, `SELECT count(*) FROM %s.publications WHERE kind = 'publish'`))
	require.Equal(t, series[3].Access.Len(), tl.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at IS NULL`),
		"the open history rows are the current generation")
}

// TestRollbackIsAPublication rolls back between two publishes: from the
// rollback on, the history answers with the rolled-back-to rows, and before it
// with the ones it replaced.
func TestRollbackIsAPublication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupTimeline(t, Options{Actor: "oncall@tiny.example"})
	series := tinySeries(t)
	tl.publishAt(t, series[0], day0, 3)
	tl.publishAt(t, series[1], day0.Add(time.Hour), 3)
	tl.now = day0.Add(2 * time.Hour)
	g, err := tl.s.Rollback(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, 1, g.Number)
	tl.publishAt(t, series[2], day0.Add(3*time.Hour), 3)

	for _, c := range []struct {
		at   time.Duration
		want *model.Mirror
		gen  int
	}{
		{30 * time.Minute, series[0], 1},
		{90 * time.Minute, series[1], 2},
		{2 * time.Hour, series[0], 1},
		{150 * time.Minute, series[0], 1},
		{3 * time.Hour, series[2], 3},
	} {
		got, err := tl.s.AccessAt(ctx, day0.Add(c.at))
		require.NoError(t, err)
		require.Equal(t, rowsOf(c.want.Access), rowsOf(got), "at +%s", c.at)
		m, withPaths, err := tl.s.MirrorAt(ctx, day0.Add(c.at))
		require.NoError(t, err)
		require.True(t, withPaths, "every generation is still kept")
		require.Equal(t, c.gen, m.Meta.Generation, "at +%s", c.at)
	}
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.publications WHERE kind = 'rollback' AND generation = 1 AND at = $1`, day0.Add(2*time.Hour)))
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'rollback' AND actor = 'oncall@tiny.example'
		AND target = 'generation 1' AND reason = 'roll back from generation 2' AND at = $1`, day0.Add(2*time.Hour)))
	require.Equal(t, 3, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'publish' AND actor = 'oncall@tiny.example'`))
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'publish' AND target = 'generation 2'
		AND reason = 'sync, forced past the revocation guard' AND (details->>'removed')::int > 0`))
}

// TestPublishTimeNeverGoesBack publishes a generation stamped before the last
// publication: the history keeps its order and answers with the newest rows from
// the last publication on.
func TestPublishTimeNeverGoesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupTimeline(t, Options{})
	series := tinySeries(t)
	tl.publishAt(t, series[0], day0.Add(time.Hour), 1)
	tl.publishAt(t, series[1], day0, 1)
	got, err := tl.s.AccessAt(ctx, day0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, rowsOf(series[1].Access), rowsOf(got))
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at < added_at`))
}

// TestHistoryRetention deletes history rows removed longer ago than the
// retention at publish, and refuses moments the deleted rows belonged to.
func TestHistoryRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupTimeline(t, Options{HistoryDays: 10})
	series := tinySeries(t)
	tl.publishAt(t, series[0], day0, 0)
	tl.publishAt(t, series[1], day0.Add(24*time.Hour), 0) // removes BEN's rows
	removedEarly := tl.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at IS NOT NULL`)
	require.Positive(t, removedEarly)

	// Within the retention nothing is deleted.
	tl.publishAt(t, series[2], day0.Add(5*24*time.Hour), 0)
	require.Equal(t, removedEarly, tl.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at IS NOT NULL`))
	got, err := tl.s.AccessAt(ctx, day0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, rowsOf(series[0].Access), rowsOf(got))

	// Thirty days on, BEN's rows are more than ten days gone.
	tl.publishAt(t, series[3], day0.Add(30*24*time.Hour), 0)
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at < $1`, day0.Add(20*24*time.Hour)))
	_, err = tl.s.AccessAt(ctx, day0.Add(time.Hour))
	require.ErrorIs(t, err, ErrHistoryExpired)
	require.ErrorContains(t, err, "2026-03-02T09:00:00Z", "the error names the oldest moment it can answer for")
	_, _, err = tl.s.MirrorAt(ctx, day0.Add(time.Hour))
	require.ErrorIs(t, err, ErrHistoryExpired)

	// From the last deleted removal on, answers are complete again.
	got, err = tl.s.AccessAt(ctx, day0.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, rowsOf(series[1].Access), rowsOf(got))
	got, err = tl.s.AccessAt(ctx, day0.Add(6*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, rowsOf(series[2].Access), rowsOf(got))
}

// TestUpgradeStartsHistoryAtTheCurrentGeneration publishes under the first
// migration only, then upgrades: the history starts with the current
// generation, and earlier moments are refused rather than answered wrong. The
// second migration's down step is exercised on the way.
func TestUpgradeStartsHistoryAtTheCurrentGeneration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupTimeline(t, Options{})
	series := tinySeries(t)
	tl.publishAt(t, series[0], day0, 1)
	tl.publishAt(t, series[1], day0.Add(time.Hour), 1)

	p, closeDB, err := tl.s.provider()
	require.NoError(t, err)
	defer closeDB()
	_, err = p.DownTo(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, series[1].Access.Len(), tl.count(t, `SELECT count(*) FROM %s.access`), "the view is the first migration's again")
	require.Zero(t, tl.count(t, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename IN ('access_history', 'local_grants', 'audit')`, tl.schema))

	tl.now = day0.Add(2 * time.Hour)
	require.NoError(t, tl.s.Migrate(ctx))
	require.Equal(t, series[1].Access.Len(), tl.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at IS NULL AND added_gen = 2`))
	got, err := tl.s.AccessAt(ctx, day0.Add(90*time.Minute))
	require.NoError(t, err)
	require.Equal(t, rowsOf(series[1].Access), rowsOf(got))
	_, err = tl.s.AccessAt(ctx, day0.Add(30*time.Minute))
	require.ErrorIs(t, err, ErrHistoryExpired)

	tl.publishAt(t, series[2], day0.Add(3*time.Hour), 1)
	got, err = tl.s.AccessAt(ctx, day0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, rowsOf(series[2].Access), rowsOf(got))
	require.Equal(t, series[2].Access.Len(), tl.count(t, `SELECT count(*) FROM %s.access`))
}

// TestHistoryOnEmptySchema asks an unpublished schema about a moment.
func TestHistoryOnEmptySchema(t *testing.T) {
	t.Parallel()
	tl := setupTimeline(t, Options{})
	_, err := tl.s.AccessAt(context.Background(), day0)
	require.ErrorIs(t, err, model.ErrNoGeneration)

	// A schema never migrated answers the same.
	pool := pgtest.Pool(t)
	s, err := Open(context.Background(), pgtest.URL(), Options{Schema: pgtest.Schema(t, pool)})
	require.NoError(t, err)
	defer s.Close()
	_, _, err = s.MirrorAt(context.Background(), day0)
	require.ErrorIs(t, err, model.ErrNoGeneration)
}

// sessionAt stops the access view's clock at at for the rest of the test and
// returns a connection to read through, released at cleanup. The clock is the
// schema's clock(), which reads the pinned moment of clock_pin, a table only the
// schema's owner can write (sql/postgres/migrations/00004_access_requests.sql): no
// session setting moves it.
func (tl *timeline) sessionAt(t *testing.T, at time.Time) *pgxpool.Conn {
	t.Helper()
	conn, err := tl.admin.Acquire(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() {
		tl.pin(t, time.Time{})
		conn.Release()
	})
	tl.setClock(t, conn, at)
	return conn
}

// setClock stops the access view's clock at at, for every session, as the
// schema's owner. conn is the connection the test reads through; it sees the
// new clock at once.
func (tl *timeline) setClock(t *testing.T, conn *pgxpool.Conn, at time.Time) {
	t.Helper()
	tl.pin(t, at)
	require.NotNil(t, conn)
}

// visible counts the access view's rows for one person and object.
func (tl *timeline) visible(t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, email, object string) int {
	t.Helper()
	var n int
	require.NoError(t, q.QueryRow(context.Background(), tl.sql(`SELECT count(*) FROM %s.access WHERE email = $1 AND object_name = $2`), email, object).Scan(&n))
	return n
}

// TestFirstGenerationHistoryIsImplicit follows the rows of the first generation,
// which the first publish records once (history_baseline) instead of row by
// row: removed, they get an explicit row of their own; a rollback brings them
// back as open rows; pruning and retention never make a removed row present
// again. Every moment answers with the generation current then.
func TestFirstGenerationHistoryIsImplicit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupTimeline(t, Options{HistoryDays: 10})
	series := tinySeries(t)
	day := 24 * time.Hour
	type when struct {
		at   time.Duration
		want *model.Mirror
	}
	var moments []when
	requireHistory := func(step string) {
		t.Helper()
		for _, m := range moments {
			got, err := tl.s.AccessAt(ctx, day0.Add(m.at))
			require.NoError(t, err, "%s: at +%s", step, m.at)
			require.Equal(t, rowsOf(m.want.Access), rowsOf(got), "%s: at +%s", step, m.at)
		}
		require.Equal(t, tl.count(t, `SELECT count(*) FROM %s.access`),
			tl.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at IS NULL`), "%s: the open rows are the current generation", step)
		require.Zero(t, tl.count(t, `SELECT count(*) FROM (SELECT 1 FROM %s.access_history WHERE removed_at IS NULL
			GROUP BY account, email, object_type, object_name, privilege HAVING count(*) > 1) d`), "%s: one open row per row", step)
	}

	tl.publishAt(t, series[0], day0, 3)
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.history_rows`), "the first publish writes no row per row")
	moments = append(moments, when{time.Hour, series[0]})
	requireHistory("first publish")

	g := tl.publishAt(t, series[1], day0.Add(day), 3) // BEN loses his role
	require.Positive(t, g.Removed)
	require.Equal(t, g.Removed, tl.count(t, `SELECT count(*) FROM %s.history_rows WHERE baseline AND added_at = $1 AND removed_gen = 2`, day0),
		"each removed baseline row gets its own row, present since the baseline")
	moments = append(moments, when{day + time.Hour, series[1]})
	requireHistory("removal")

	tl.now = day0.Add(2 * day)
	_, err := tl.s.Rollback(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, g.Removed, tl.count(t, `SELECT count(*) FROM %s.history_rows WHERE NOT baseline AND added_gen = 1 AND removed_at IS NULL`),
		"the rollback opens the removed rows again, explicitly")
	moments = append(moments, when{2*day + time.Hour, series[0]})
	requireHistory("rollback")

	// Thirty days on, BEN's first removal is past the retention, but generation 1,
	// which holds his rows, is still kept: his baseline row stays, or the history
	// would read him as present since day 0.
	tl.publishAt(t, series[2], day0.Add(30*day), 3)
	require.Equal(t, g.Removed, tl.count(t, `SELECT count(*) FROM %s.history_rows WHERE baseline`))
	moments = []when{{2*day + time.Hour, series[0]}, {30*day + time.Hour, series[2]}}
	requireHistory("retention with generation 1 kept")

	// Keeping none, generation 1 is pruned with BEN's closed rows; his baseline
	// row can go, the horizon moves past it, and the rows present since day 0
	// still read as present.
	g = tl.publishAt(t, series[3], day0.Add(31*day), 0) // READER loses SELECT on ITEMS
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.history_rows WHERE baseline AND removed_gen = 2`))
	require.Equal(t, g.Removed, tl.count(t, `SELECT count(*) FROM %s.history_rows WHERE removed_gen = $1`, g.Number))
	require.Positive(t, tl.count(t, `SELECT count(*) FROM %s.history_rows WHERE baseline AND removed_gen = $1`, g.Number),
		"rows present since day 0 and removed now get their baseline row")
	require.Positive(t, tl.count(t, `SELECT count(*) FROM %s.history_rows WHERE NOT baseline AND removed_gen = $1`, g.Number),
		"CARL's row, added later, is closed")
	moments = append(moments, when{31*day + time.Hour, series[3]})
	requireHistory("retention after pruning")
	_, err = tl.s.AccessAt(ctx, day0.Add(time.Hour))
	require.ErrorIs(t, err, ErrHistoryExpired)
}

// TestHistoryStatementsProbeIndexesOnAFreshSchema pins the plans of the
// history statements in the state after a first publish, where the history's
// table is empty and never analyzed: each changed row probes the indexes of the
// rows and of the history. A publish at 50,000 people once planned
// history_materialize.sql with a scan of the history table per removed row,
// inside the INSERT that grows it (history_settings.sql says why), and ran for
// over four minutes on a 1% change; this small schema is planned with the
// probes either way, so the test guards the shape, and the 50k resync in
// BENCHMARKS.md the setting.
func TestHistoryStatementsProbeIndexesOnAFreshSchema(t *testing.T) {
	tl := setupTimeline(t, Options{})
	tl.publishAt(t, tinySeries(t)[0], day0, 3)
	ctx := context.Background()
	tx, err := tl.s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	for _, name := range []string{"stage_create", "history_settings"} {
		_, err := tx.Exec(ctx, tl.s.stmt(name, nil))
		require.NoError(t, err)
	}
	_, err = tx.Exec(ctx, tl.sql(`INSERT INTO pg_temp.gm_changes
		SELECT account, email, object_type, object_name, privilege, added FROM %s.access_rows, (VALUES (true), (false)) v(added)`))
	require.NoError(t, err)
	v := vars{"gen": 2, "prev": 1}
	for _, name := range []string{"history_add", "history_materialize", "history_remove"} {
		var plan string
		require.NoError(t, tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+tl.s.stmt(name, v), day0).Scan(&plan))
		require.NotRegexp(t, `"Node Type": "Seq Scan",[^}]*"Relation Name": "(history_rows|access_rows)"`, plan, name)
	}
}
