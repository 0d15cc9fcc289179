package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

// Environment of the crashing child process of TestKilledAtEveryStep.
const (
	crashStepEnv   = "GRANTMIRROR_TEST_CRASH_STEP"
	crashSchemaEnv = "GRANTMIRROR_TEST_CRASH_SCHEMA"
)

// crashOptions are the publish options of the crashing publish: past the guard,
// keeping no older generation, so that the publish also prunes.
var crashOptions = model.PublishOptions{MaxRevokeRatio: 0.2, Force: true, Keep: 0}

// TestCrashChild is the process TestKilledAtEveryStep kills: run by it, with the
// step and the schema in the environment, it publishes the granted sample and
// kills itself with SIGKILL when the publish reaches the step. Run any other way
// it has nothing to do.
func TestCrashChild(t *testing.T) {
	step := os.Getenv(crashStepEnv)
	if step == "" {
		t.Skip("run by TestKilledAtEveryStep")
	}
	s, err := Open(context.Background(), pgtest.URL(), Options{Schema: os.Getenv(crashSchemaEnv)})
	require.NoError(t, err)
	if step == "holding" {
		// Hold the publish lock in the middle of a long statement, then die.
		conn, _, err := s.lock(context.Background())
		require.NoError(t, err)
		time.AfterFunc(300*time.Millisecond, func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) })
		_, err = conn.Exec(context.Background(), `SELECT pg_sleep(60)`)
		t.Fatalf("the statement ended before the kill: %v", err)
	}
	s.failpoint = func(_ context.Context, at string) error {
		if at == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal arrives before anything else runs
		}
		return nil
	}
	_, err = s.Publish(context.Background(), storetest.Sample(t, model.Granted), crashOptions)
	t.Fatalf("the publish went past step %s: %v", step, err)
}

// TestKilledAtEveryStep kills a process in the middle of an incremental publish,
// at each of its steps, with SIGKILL: before the commit the previous generation
// stays current, exactly (row count and checksum), and nothing the publish wrote
// remains; after it the new generation is current with its run record. The next
// publish then succeeds at once and leaves no row that no kept generation holds.
func TestKilledAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"staged", "applied", "compared", "guarded", "recorded", "committed", "pruning"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, f := setup(t)
			m := storetest.Sample(t, model.Effective)
			_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
			require.NoError(t, err)
			before := f.storage(t)
			wantN, wantSum := checksumOf(m)

			child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			child.Env = append(os.Environ(), crashStepEnv+"="+step, crashSchemaEnv+"="+f.schema)
			out, err := child.CombinedOutput()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the child must be killed, got %v:\n%s", err, out)
			status, ok := exit.Sys().(syscall.WaitStatus)
			require.True(t, ok && status.Signaled() && status.Signal() == syscall.SIGKILL, "killed by SIGKILL: %v\n%s", err, out)

			granted := storetest.Sample(t, model.Granted)
			cur, err := s.Current(ctx)
			require.NoError(t, err)
			switch step {
			case "committed", "pruning":
				require.Equal(t, 2, cur.Number, "the commit made generation 2 current")
				wantN, wantSum = checksumOf(granted)
				runs, err := s.Runs(ctx, 0)
				require.NoError(t, err)
				require.Len(t, runs, 2, "the run was recorded with the generation")
				require.Equal(t, 2, runs[0].Generation)
				require.Equal(t, model.RunPublished, runs[0].Status)
				if step == "pruning" {
					require.Equal(t, 2, f.count(t, `SELECT count(*) FROM %s.generations`), "the killed prune deleted nothing")
				}
			default:
				require.Equal(t, 1, cur.Number)
				require.Equal(t, before, f.storage(t), "nothing the killed publish wrote remains")
				runs, err := s.Runs(ctx, 0)
				require.NoError(t, err)
				require.Len(t, runs, 1, "only the first publish's")
			}
			n, sum := f.checksum(t, cur.Number)
			require.Equal(t, wantN, n)
			require.Equal(t, wantSum, sum)
			require.Equal(t, wantN, f.count(t, `SELECT count(*) FROM %s.access`))

			g, err := s.Publish(ctx, granted, crashOptions)
			require.NoError(t, err, "the next publish gets the lock and succeeds")
			n, sum = f.checksum(t, g.Number)
			wantN, wantSum = checksumOf(granted)
			require.Equal(t, wantN, n)
			require.Equal(t, wantSum, sum)
			require.Equal(t, []int{g.Number}, generationNumbers(t, s), "keep 0: only the current generation")
			require.Equal(t, wantN, f.count(t, `SELECT count(*) FROM %s.access_rows`), "no row outside the kept generation")
			require.Zero(t, f.count(t, `SELECT count(*) FROM %s.snapshot_parts WHERE generation <> $1`, g.Number))
		})
	}
}

// TestKilledHoldingTheLock kills a sync whose session holds the publish lock in
// the middle of a long statement: the server notices the closed connection and
// ends the session, so the next publish gets the lock within its bounded wait
// instead of failing with ErrLocked for as long as the orphaned statement runs.
func TestKilledHoldingTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	child.Env = append(os.Environ(), crashStepEnv+"=holding", crashSchemaEnv+"="+s.schema)
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the child must be killed, got %v:\n%s", err, out)
	start := time.Now()
	g, err := s.Publish(ctx, storetest.Sample(t, model.Effective), model.DefaultPublishOptions())
	require.NoError(t, err, "the orphaned session released the lock")
	require.Equal(t, 1, g.Number)
	require.Less(t, time.Since(start), 30*time.Second)
	t.Logf("published %s after the kill", time.Since(start))
}

func generationNumbers(t *testing.T, s *Store) []int {
	t.Helper()
	gens, err := s.Generations(context.Background())
	require.NoError(t, err)
	var out []int
	for _, g := range gens {
		out = append(out, g.Number)
	}
	return out
}

// variant is a random change of m: some people lose rows, some gain rows on
// objects others hold, some leave, some arrive, and some memberships and grants
// change, as a day of Snowflake changes would.
func variant(rng *rand.Rand, m *model.Mirror, round int) *model.Mirror {
	var rows []model.Row
	var objects []model.Row
	for r := range m.Access.All() {
		objects = append(objects, r)
	}
	gone := map[string]bool{}
	for r := range m.Access.All() {
		switch x := rng.IntN(100); {
		case x < 4: // the row is revoked
		case x < 6:
			gone[r.Email] = true
		default:
			rows = append(rows, r)
		}
	}
	rows = slices.DeleteFunc(rows, func(r model.Row) bool { return gone[r.Email] })
	for i := range 1 + rng.IntN(20) {
		o := objects[rng.IntN(len(objects))]
		email := o.Email
		if i%3 == 0 {
			email = fmt.Sprintf("new%d-%d@example.com", round, rng.IntN(5))
		}
		rows = append(rows, model.Row{Account: o.Account, Email: email, ObjectType: o.ObjectType, ObjectName: o.ObjectName, Privilege: o.Privilege})
	}
	c := *m
	c.Access = model.NewAccess(rows)
	c.Meta.Rows = c.Access.Len()
	c.Memberships = slices.DeleteFunc(slices.Clone(m.Memberships), func(ms model.Membership) bool { return rng.IntN(10) == 0 })
	c.Grants = slices.Clone(m.Grants)
	if len(c.Grants) > 0 {
		c.Grants[rng.IntN(len(c.Grants))].Via = fmt.Sprintf("round %d", round)
	}
	return &c
}

// grouped is m's memberships and grants in the order a store returns them:
// grouped by person and by role, in key order, each group in the mirror's order.
func grouped(m *model.Mirror) ([]model.Membership, []model.Grant) {
	ms := slices.Clone(m.Memberships)
	slices.SortStableFunc(ms, func(a, b model.Membership) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Email, b.Email))
	})
	gs := slices.Clone(m.Grants)
	slices.SortStableFunc(gs, func(a, b model.Grant) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Role, b.Role))
	})
	return ms, gs
}

// requireGeneration checks that generation n of s reads back as m.
func requireGeneration(t *testing.T, s *Store, f *fixture, n int, m *model.Mirror) {
	t.Helper()
	back, err := s.Open(context.Background(), n)
	require.NoError(t, err)
	require.Equal(t, rowsOf(m.Access), rowsOf(back.Access), "generation %d", n)
	ms, gs := grouped(m)
	require.Equal(t, ms, back.Memberships, "generation %d", n)
	require.Equal(t, gs, back.Grants, "generation %d", n)
	gotN, sum := f.checksum(t, back.Meta.Generation)
	wantN, wantSum := checksumOf(m)
	require.Equal(t, wantN, gotN)
	require.Equal(t, wantSum, sum)
}

// requireCounts checks that viewer_objects counts, for every person, account,
// object type and privilege, exactly the objects the access view lists (none of
// the tests' local grants duplicates a mirror row), and has no other row.
func requireCounts(t *testing.T, f *fixture) {
	t.Helper()
	listed := `SELECT account, email, object_type, privilege, count(*) FROM %[1]s.access GROUP BY 1, 2, 3, 4`
	counted := `SELECT account, email, object_type, privilege, sum(objects) FROM %[1]s.viewer_objects GROUP BY 1, 2, 3, 4`
	require.Positive(t, f.count(t, `SELECT count(*) FROM (`+counted+`) c`))
	require.Zero(t, f.count(t, `SELECT count(*) FROM ((`+listed+`) EXCEPT (`+counted+`)) d`), "a count differs from the listed objects")
	require.Zero(t, f.count(t, `SELECT count(*) FROM ((`+counted+`) EXCEPT (`+listed+`)) d`), "a count has no listed objects")
}

// accountChanges is the guard's view of a full comparison of two mirrors, per
// account.
func accountChanges(current, next *model.Mirror, c *model.Changes) []model.AccountChange {
	added, removed := map[string]int{}, map[string]int{}
	for _, r := range c.Added {
		added[r.Account]++
	}
	for _, r := range c.Removed {
		removed[r.Account]++
	}
	var accounts []string
	for _, a := range current.Meta.Accounts {
		accounts = append(accounts, a.Name)
	}
	return model.AccountChanges(accounts, next, added, removed)
}

// TestRandomChangeSets publishes random changes, rolling back now and then: each
// publish counts what a full comparison with the generation current before it
// counts (model.ChangesOf), the guard refuses exactly when the full count
// says it must (per account, removals and additions), the access history's open rows are the current generation, and
// rollback restores every kept generation exactly.
func TestRandomChangeSets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	rng := rand.New(rand.NewPCG(15, 20))
	base := generated(40, 12)
	base.Memberships = base.Memberships[:60]
	mirrors := map[int]*model.Mirror{}
	opts := model.PublishOptions{MaxRevokeRatio: 0.1, MaxAddRatio: 0.05, Keep: 20}
	g, err := s.Publish(ctx, base, opts)
	require.NoError(t, err)
	mirrors[g.Number] = base
	current := base
	refused := 0
	// A local grant of an object nobody holds is counted on top of the mirror's.
	f.exec(t, `INSERT INTO %s.local_grants (account, email, object_type, object_name, privilege, granted_by, approver, reason, created_at, until)
		VALUES ('ACME', 'person000001@example.com', 'TABLE', 'LOCAL.ONLY.T', 'SELECT', 'a', 'b', 'test', now(), now() + interval '1 day')`)
	requireCounts(t, f)
	for round := range 12 {
		if round%4 == 3 {
			back := 1 + rng.IntN(len(mirrors))
			g, err := s.Rollback(ctx, back)
			require.NoError(t, err)
			current = mirrors[g.Number]
			requireGeneration(t, s, f, 0, current)
			requireCounts(t, f)
			continue
		}
		next := variant(rng, current, round)
		want := model.ChangesOf(current, next, 0, 0, model.Focus{})
		wantRefused := model.CheckChanges(accountChanges(current, next, want), opts) != nil
		g, err := s.Publish(ctx, next, opts)
		if wantRefused {
			require.ErrorIs(t, err, model.ErrRevokeGuard, "round %d", round)
			refused++
			forced := opts
			forced.Force = true
			g, err = s.Publish(ctx, next, forced)
		}
		require.NoError(t, err, "round %d", round)
		require.Equal(t, len(want.Added), g.Added, "round %d", round)
		require.Equal(t, len(want.Removed), g.Removed, "round %d", round)
		mirrors[g.Number], current = next, next
		requireGeneration(t, s, f, g.Number, next)
		requireCounts(t, f)
		require.Equal(t, next.Access.Len(), f.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_at IS NULL`),
			"the open history rows are the current generation")
		require.Equal(t, len(want.Added), f.count(t, `SELECT count(*) FROM %s.access_history WHERE added_gen = $1`, g.Number))
		require.Equal(t, len(want.Removed), f.count(t, `SELECT count(*) FROM %s.access_history WHERE removed_gen = $1`, g.Number))
	}
	require.Positive(t, refused, "some change sets must trip the guard")
	for n, m := range mirrors {
		requireGeneration(t, s, f, n, m)
		_, err := s.Rollback(ctx, n)
		require.NoError(t, err)
		requireGeneration(t, s, f, 0, m)
		requireCounts(t, f)
		require.Equal(t, m.Access.Len()+1, f.count(t, `SELECT count(*) FROM %s.access`))
	}
	total := 0
	for _, m := range mirrors {
		total += m.Access.Len()
	}
	stored := f.count(t, `SELECT count(*) FROM %s.access_rows`)
	require.Less(t, stored, total/3, "kept generations share their unchanged rows")
	t.Logf("%d generations, %d rows in all, %d stored", len(mirrors), total, stored)
}

// TestReadersDuringPublishes reads in a loop at every isolation level while
// incremental publishes, rollbacks and pruning run: every read is one complete
// generation, the one current names in the same snapshot, never empty, never an
// error, and within a transaction memberships and access agree.
func TestReadersDuringPublishes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	rng := rand.New(rand.NewPCG(20, 15))
	// The sequence is fixed in advance, so generation n is mirrors[n-1] whoever
	// reads it.
	mirrors := []*model.Mirror{generated(200, 20)}
	for round := range 9 {
		mirrors = append(mirrors, variant(rng, mirrors[len(mirrors)-1], round))
	}
	type want struct {
		n   int
		sum string
	}
	wants := map[int]want{}
	for i, m := range mirrors {
		n, sum := checksumOf(m)
		wants[i+1] = want{n, sum}
	}
	opts := model.PublishOptions{MaxRevokeRatio: 0.2, Force: true, Keep: 2}
	_, err := s.Publish(ctx, mirrors[0], opts)
	require.NoError(t, err)

	q := f.sql(`SELECT (SELECT generation FROM %[1]s.current), count(*),
		coalesce(md5(string_agg(concat_ws(' ', account, email, object_type, object_name, privilege), E'\n'
			ORDER BY account, email, object_type, object_name, privilege)), '')
		FROM %[1]s.access`)
	qm := f.sql(`SELECT (SELECT generation FROM %[1]s.current), count(*) FROM %[1]s.memberships`)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 3)
	reads := make([]int, 3)
	for i, level := range []pgx.TxIsoLevel{pgx.ReadCommitted, pgx.RepeatableRead, pgx.Serializable} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				err := pgx.BeginTxFunc(ctx, f.admin, pgx.TxOptions{IsoLevel: level, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
					var mgen, memberships int
					if err := tx.QueryRow(ctx, qm).Scan(&mgen, &memberships); err != nil {
						return err
					}
					for range 2 {
						var gen, n int
						var sum string
						if err := tx.QueryRow(ctx, q).Scan(&gen, &n, &sum); err != nil {
							return err
						}
						if w := wants[gen]; n == 0 || w.n != n || w.sum != sum {
							return fmt.Errorf("%s: generation %d read as %d rows (%s), want %d (%s)", level, gen, n, sum, w.n, w.sum)
						}
						if level != pgx.ReadCommitted && gen != mgen {
							return fmt.Errorf("%s: memberships of generation %d, access of %d", level, mgen, gen)
						}
						if memberships == 0 {
							return fmt.Errorf("%s: no memberships", level)
						}
					}
					return nil
				})
				if err != nil {
					errs[i] = err
					return
				}
				reads[i]++
			}
		}()
	}
	for i, m := range mirrors[1:] {
		g, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
		require.Equal(t, i+2, g.Number)
		if i%3 == 2 {
			_, err := s.Rollback(ctx, 0)
			require.NoError(t, err)
		}
	}
	close(done)
	wg.Wait()
	for i := range errs {
		require.NoError(t, errs[i])
		require.Positive(t, reads[i])
	}
	t.Logf("reads at RC, RR, SERIALIZABLE: %v", reads)
}

// TestReadOnlyRoleCannotMoveTheClock: a role that may only read cannot bring an
// expired local grant back, by a session setting, a DSN option or replacing the
// clock, and still sees the grants in force.
func TestReadOnlyRoleCannotMoveTheClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	_, err := s.Publish(ctx, storetest.Sample(t, model.Effective), model.DefaultPublishOptions())
	require.NoError(t, err)
	f.exec(t, `INSERT INTO %s.local_grants (account, email, object_type, object_name, privilege, granted_by, approver, reason, created_at, until)
		VALUES ('ACME', 'expired@example.com', 'TABLE', 'SALES.CRM.CUSTOMERS', 'SELECT', 'carol@example.com', 'dave@example.com', 'cover', now() - interval '2 days', now() - interval '1 day'),
		       ('ACME', 'inforce@example.com', 'TABLE', 'SALES.CRM.CUSTOMERS', 'SELECT', 'carol@example.com', 'dave@example.com', 'cover', now() - interval '1 day', now() + interval '1 day')`)
	name, dsn := f.role(t, "clock-pw")
	role := pgx.Identifier{name}.Sanitize()
	f.exec(t, "GRANT USAGE ON SCHEMA %s TO "+role)
	f.exec(t, "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO "+role)

	visible := func(conn *pgx.Conn, email string) int {
		var n int
		require.NoError(t, conn.QueryRow(ctx, f.sql(`SELECT count(*) FROM %s.access WHERE email = $1`), email).Scan(&n))
		return n
	}
	for _, c := range []struct{ name, dsn string }{
		{"session", dsn},
		{"dsn option", dsn + "&options=-c%20grantmirror.now%3D2000-01-01"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := pgx.Connect(ctx, c.dsn)
			require.NoError(t, err)
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, `SELECT set_config('grantmirror.now', '2000-01-01', false)`)
			require.NoError(t, err)
			require.Zero(t, visible(conn, "expired@example.com"), "the expired grant stays expired")
			require.Equal(t, 1, visible(conn, "inforce@example.com"), "the grant in force is seen")
			_, err = conn.Exec(ctx, f.sql(`CREATE OR REPLACE FUNCTION %s.clock() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT timestamptz '2000-01-01' $$`))
			require.Equal(t, codeInsufficientPriv, pgCode(err), "only the owner replaces the clock: %v", err)
			require.Zero(t, visible(conn, "expired@example.com"))
		})
	}
}

// TestUpgradeConvertsGenerations takes a schema back to the per-generation
// tables of the second migration and upgrades it again: every kept generation
// reads back exactly, the views and the history are unchanged, the old tables
// are gone, and the next publish, which compares everyone once (no digests yet),
// counts what a full comparison counts.
func TestUpgradeConvertsGenerations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	rng := rand.New(rand.NewPCG(3, 3))
	mirrors := []*model.Mirror{generated(30, 10)}
	mirrors = append(mirrors, variant(rng, mirrors[0], 0), variant(rng, mirrors[0], 1))
	opts := model.PublishOptions{MaxRevokeRatio: 0.2, Force: true, Keep: 5}
	for _, m := range mirrors {
		_, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
	}
	_, err := s.Rollback(ctx, 2)
	require.NoError(t, err)
	history := f.count(t, `SELECT count(*) FROM %s.access_history`)

	p, closeDB, err := s.provider()
	require.NoError(t, err)
	defer closeDB()
	_, err = p.DownTo(ctx, 2)
	require.NoError(t, err)
	for n, m := range mirrors {
		require.Equal(t, m.Access.Len(), f.count(t, fmt.Sprintf(`SELECT count(*) FROM %%s.access_%d`, n+1)))
	}
	require.Equal(t, mirrors[1].Access.Len(), f.count(t, `SELECT count(*) FROM %s.access`), "the view is on generation 2's table")

	require.NoError(t, s.Migrate(ctx))
	require.Zero(t, f.count(t, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename ~ '_[0-9]+$'`, f.schema))
	for n, m := range mirrors {
		requireGeneration(t, s, f, n+1, m)
	}
	cur, err := s.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, cur.Number)
	require.Equal(t, mirrors[1].Access.Len(), f.count(t, `SELECT count(*) FROM %s.access`))
	require.Equal(t, history, f.count(t, `SELECT count(*) FROM %s.access_history`))
	require.Zero(t, f.count(t, `SELECT count(*) FROM %s.digests WHERE digest IS NOT NULL`))

	next := variant(rng, mirrors[1], 2)
	want := model.ChangesOf(mirrors[1], next, 0, 0, model.Focus{})
	g, err := s.Publish(ctx, next, opts)
	require.NoError(t, err)
	require.Equal(t, 4, g.Number)
	require.Equal(t, len(want.Added), g.Added)
	require.Equal(t, len(want.Removed), g.Removed)
	requireGeneration(t, s, f, 4, next)
	for n, m := range mirrors {
		requireGeneration(t, s, f, n+1, m)
	}
}

// TestUpgradeCountsViewerObjects takes a schema back to before viewer_objects and
// upgrades it: the newest generation's people are counted exactly, and after a
// rollback to a generation published before the upgrade, the people it does not
// share with the newest have no count rather than a wrong one.
func TestUpgradeCountsViewerObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	rng := rand.New(rand.NewPCG(10, 10))
	first := generated(30, 10)
	opts := model.PublishOptions{MaxRevokeRatio: 0.5, Force: true, Keep: 5}
	for _, m := range []*model.Mirror{first, variant(rng, first, 0)} {
		_, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
	}
	p, closeDB, err := s.provider()
	require.NoError(t, err)
	defer closeDB()
	_, err = p.DownTo(ctx, 9)
	require.NoError(t, err)
	require.Zero(t, f.count(t, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'digests' AND column_name = 'objects'`, f.schema))

	require.NoError(t, s.Migrate(ctx))
	requireCounts(t, f)
	_, err = s.Rollback(ctx, 1)
	require.NoError(t, err)
	counted := `SELECT account, email, object_type, privilege, sum(objects) FROM %[1]s.viewer_objects GROUP BY 1, 2, 3, 4`
	listed := `SELECT account, email, object_type, privilege, count(*) FROM %[1]s.access GROUP BY 1, 2, 3, 4`
	require.Zero(t, f.count(t, `SELECT count(*) FROM ((`+counted+`) EXCEPT (`+listed+`)) d`), "every count is right")
	require.Positive(t, f.count(t, `SELECT count(*) FROM ((`+listed+`) EXCEPT (`+counted+`)) d`), "the people generation 1 does not share are not counted")
	require.Positive(t, f.count(t, `SELECT count(*) FROM (`+counted+`) c`), "the people it shares are")
}
