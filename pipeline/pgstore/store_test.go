package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) model.Store {
		s, _ := setup(t)
		return s
	})
}

func TestReaderConformance(t *testing.T) {
	t.Parallel()
	storetest.RunReader(t, func(t *testing.T) model.Store {
		s, _ := setup(t)
		return s
	})
}

// TestPublishedContract checks the tables and views importers read, on the
// conformance account.
func TestPublishedContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	m := storetest.Sample(t, model.Effective)
	m.Masked = append(m.Masked,
		model.MaskedColumn{Account: "ACME", ObjectName: "SALES.CRM.CUSTOMERS", Column: "EMAIL", Reason: "tag PII"},
		model.MaskedColumn{Account: "ACME", ObjectName: "SALES.CRM.CUSTOMERS", Column: "PHONE", Reason: "masking policy MASK_PHONE"})
	g, err := s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)

	rows, err := f.admin.Query(ctx, fmt.Sprintf(`SELECT account, email, object_type, object_name, privilege FROM %s.access`, pgx.Identifier{f.schema}.Sanitize()))
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[model.Row])
	require.NoError(t, err)
	slices.SortFunc(got, model.Row.Compare)
	require.Equal(t, slices.Collect(m.Access.All()), got)

	type want struct {
		name, query string
		n           int
	}
	roles := map[[3]string]bool{}
	for _, ms := range m.Memberships {
		roles[[3]string{ms.Account, ms.Email, ms.Role}] = true
	}
	for _, c := range []want{
		{"memberships are distinct roles per person", `SELECT count(*) FROM %s.memberships`, len(roles)},
		{"masked columns", `SELECT count(*) FROM %s.masked_columns`, len(m.Masked)},
		{"one current row", `SELECT count(*) FROM %s.current WHERE generation = 1`, 1},
		{"generation row", `SELECT count(*) FROM %s.generations WHERE number = 1 AND rows = ` + fmt.Sprint(g.Rows), 1},
		{"every access row has a role path", `SELECT count(DISTINCT (account, email, object_type, object_name, privilege)) FROM %s.provenance`, m.Access.Len()},
		{"role paths are arrays ending at a role the person holds", `SELECT count(*) FROM %[1]s.provenance p WHERE NOT EXISTS (
			SELECT 1 FROM %[1]s.memberships m WHERE m.email = p.email AND m.role = p.role_path[cardinality(p.role_path)])`, 0},
		{"snapshot kept in parts, a core per account", `SELECT count(*) FROM %s.snapshot_parts WHERE generation = 1 AND key = 'core'`, 1},
		{"unique index on the rows, in key order, then the range", `SELECT count(*) FROM pg_indexes WHERE schemaname = $1
			AND tablename = 'access_rows' AND indexdef LIKE 'CREATE UNIQUE INDEX % (email, object_type, object_name, privilege, account, valid_from) INCLUDE (valid_to)'`, 1},
		{"the Reader's indexes, built after the first publish", `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE c.relnamespace = $1::regnamespace AND i.indisvalid AND c.relname IN ('access_rows_object', 'grant_rows_object', 'membership_rows_user')`, 3},
		{"analyzed", `SELECT count(*) FROM pg_stats WHERE schemaname = $1 AND tablename = 'access_rows'`, 7},
		{"every view column is text", `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1
			AND table_name IN ('access', 'memberships', 'masked_columns') AND data_type <> 'text'`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var args []any
			if strings.Contains(c.query, "$1") {
				args = append(args, f.schema)
			}
			require.Equal(t, c.n, f.count(t, c.query, args...))
		})
	}
}

// TestUnmigratedSchema reads a schema nothing was published to, then publishes,
// which migrates it.
func TestUnmigratedSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.open(t, pgtest.URL())
	_, err := s.Current(ctx)
	require.ErrorIs(t, err, model.ErrNoGeneration)
	_, err = s.Open(ctx, 0)
	require.ErrorIs(t, err, model.ErrNoGeneration)
	_, err = s.Open(ctx, 3)
	require.ErrorIs(t, err, model.ErrUnknownGeneration)
	gens, err := s.Generations(ctx)
	require.NoError(t, err)
	require.Empty(t, gens)
	runs, err := s.Runs(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, runs)

	g, err := s.Publish(ctx, storetest.Sample(t, model.Granted), model.DefaultPublishOptions())
	require.NoError(t, err)
	require.Equal(t, 1, g.Number)
	require.Equal(t, int(latestVersion), f.count(t, `SELECT max(version_id) FROM %s.goose_db_version`))
	require.NoError(t, s.Migrate(ctx), "migrating an up-to-date schema is a no-op")
}

func TestInvalidSchema(t *testing.T) {
	t.Parallel()
	for _, schema := range []string{"Grantmirror", "grant-mirror", "1st", "pg_mirror", `a"b`, strings.Repeat("x", 64)} {
		t.Run(schema, func(t *testing.T) {
			t.Parallel()
			_, err := Open(context.Background(), pgtest.URL(), Options{Schema: schema})
			require.ErrorIs(t, err, model.ErrTarget)
		})
	}
}

// TestConnectionErrors checks that failures to connect say what is wrong and
// never print the password.
func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const password = "pw-s3cret-4711"
	name, dsn := f.role(t, password)

	// A port nothing listens on: bind one, then free it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	wrong := withUser(t, pgtest.URL(), name, "wrong-"+password)
	if c, err := pgx.Connect(context.Background(), wrong); err == nil {
		// Trust authentication (pg_hba) admits any password: a wrong password
		// cannot fail here, so the login failure is checked with a role that
		// does not exist, which the server refuses the same way.
		c.Close(context.Background())
		t.Logf("the server accepts any password for %s (trust auth); checking a nonexistent role instead", model.RedactDSN(wrong))
		wrong = withUser(t, pgtest.URL(), randomName("gm_test_nobody_"), password)
	}

	for _, c := range []struct {
		name string
		dsn  string
		want error
	}{
		{"unreachable", strings.Replace(dsn, "127.0.0.1:5432", fmt.Sprintf("127.0.0.1:%d", closedPort), 1), ErrUnreachable},
		{"login refused", wrong, ErrAuth},
		{"no database", strings.Replace(dsn, "/test?", "/gm_test_no_such_db?", 1), ErrNoDatabase},
		{"keyword form, unreachable", fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=test sslmode=disable", closedPort, name, password), ErrUnreachable},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, c.dsn, dsn, "the case must change the DSN")
			_, err := Open(context.Background(), c.dsn, Options{Schema: f.schema})
			require.ErrorIs(t, err, c.want)
			require.NotContains(t, err.Error(), password)
			t.Log(err)
		})
	}
}

// TestReadOnlyUser publishes as a user who may only read: the publish fails
// clearly and nothing changes.
func TestReadOnlyUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	m := storetest.Sample(t, model.Effective)
	_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	const password = "ro-s3cret-0815"
	name, dsn := f.role(t, password)
	role := pgx.Identifier{name}.Sanitize()
	f.exec(t, "GRANT USAGE ON SCHEMA %s TO "+role)
	f.exec(t, "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO "+role)

	ro := f.open(t, dsn)
	back, err := ro.Open(ctx, 0)
	require.NoError(t, err, "a read-only user can read")
	require.Equal(t, m.Access.Len(), back.Access.Len())
	stored := f.storage(t)

	_, err = ro.Publish(ctx, storetest.Sample(t, model.Granted), model.DefaultPublishOptions())
	require.ErrorIs(t, err, ErrPermission)
	require.Contains(t, err.Error(), "permission denied")
	t.Log(err)
	require.NotContains(t, err.Error(), password)
	_, err = ro.Rollback(ctx, 1)
	require.ErrorIs(t, err, ErrPermission)
	err = ro.RecordRun(ctx, model.RunRecord{Status: model.RunFailed, Source: "dir:x"})
	require.ErrorIs(t, err, ErrPermission)

	cur, err := s.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, cur.Number)
	require.Equal(t, stored, f.storage(t), "no row written or deleted")
	require.Equal(t, m.Access.Len(), f.count(t, `SELECT count(*) FROM %s.access`))
	runs, err := s.Runs(ctx, 0)
	require.NoError(t, err)
	require.Len(t, runs, 1, "only the first publish's own record")
	require.Equal(t, 1, runs[0].Generation)
}

// TestSchemaTooNew refuses a schema migrated by a newer grantmirror.
func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	f.exec(t, `INSERT INTO %s.goose_db_version (version_id, is_applied) VALUES ($1, true)`, latestVersion+1)

	_, err := Open(ctx, pgtest.URL(), Options{Schema: f.schema})
	require.ErrorIs(t, err, ErrSchemaTooNew)
	require.Contains(t, err.Error(), "upgrade grantmirror")
	require.ErrorIs(t, s.Migrate(ctx), ErrSchemaTooNew)
	_, err = s.Publish(ctx, storetest.Sample(t, model.Effective), model.DefaultPublishOptions())
	require.ErrorIs(t, err, ErrSchemaTooNew)
	require.Zero(t, f.count(t, `SELECT count(*) FROM %s.access_rows`))
}

// TestRefusedPublishLeavesNothing checks that a publish the revocation guard
// refuses writes nothing: its transaction is rolled back.
func TestRefusedPublishLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	m := storetest.Sample(t, model.Effective)
	_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	stored := f.storage(t)
	_, err = s.Publish(ctx, storetest.Truncated(m, 1), model.DefaultPublishOptions())
	require.ErrorIs(t, err, model.ErrRevokeGuard)
	require.Equal(t, stored, f.storage(t))
	require.Zero(t, f.count(t, `SELECT count(*) FROM %s.snapshot_parts WHERE generation <> 1`))
}

// TestRetentionDeletesRows checks that pruned generations take the rows only
// they held, and their snapshot parts, with them, while kept generations keep
// the rows they share with pruned ones.
func TestRetentionDeletesRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	m := storetest.Sample(t, model.Effective)
	opts := model.DefaultPublishOptions()
	opts.Keep = 1
	var mirrors []*model.Mirror
	for i := range 4 {
		// Each generation loses one more row: generations 1 and 2 hold rows that
		// 3 and 4 do not.
		next := storetest.Truncated(m, m.Access.Len()-i)
		mirrors = append(mirrors, next)
		_, err := s.Publish(ctx, next, opts)
		require.NoError(t, err)
	}
	require.Equal(t, m.Access.Len()-2, f.count(t, `SELECT count(*) FROM %s.access_rows`),
		"the rows of generation 3, shared with 4; the rows only 1 and 2 held are gone")
	for _, g := range []int{3, 4} {
		n, sum := f.checksum(t, g)
		wn, wsum := checksumOf(mirrors[g-1])
		require.Equal(t, wn, n)
		require.Equal(t, wsum, sum)
	}
	require.Equal(t, 2, f.count(t, `SELECT count(DISTINCT generation) FROM %s.snapshot_parts`))
	require.Zero(t, f.count(t, `SELECT count(*) FROM %[1]s.snapshot_blobs b WHERE NOT EXISTS (SELECT 1 FROM %[1]s.snapshot_parts p WHERE p.digest = b.digest)`))
}

// TestLocked holds the publish lock as another sync would, from a separate
// connection or another store, and checks that publish and rollback give up at
// once without changing anything.
func TestLocked(t *testing.T) {
	t.Parallel()
	for _, holder := range []string{"connection", "store"} {
		t.Run(holder, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, f := setup(t)
			m := storetest.Sample(t, model.Effective)
			_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
			require.NoError(t, err)
			_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
			require.NoError(t, err)

			stored := f.storage(t)
			switch holder {
			case "connection":
				conn, err := f.admin.Acquire(ctx)
				require.NoError(t, err)
				defer conn.Release()
				_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, s.publishKey)
				require.NoError(t, err)
				defer conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, s.publishKey)
			case "store":
				other := f.open(t, pgtest.URL())
				_, unlock, err := other.lock(ctx)
				require.NoError(t, err)
				defer unlock()
			}
			_, err = s.Publish(ctx, storetest.Sample(t, model.Granted), model.DefaultPublishOptions())
			require.ErrorIs(t, err, model.ErrLocked)
			_, err = s.Rollback(ctx, 0)
			require.ErrorIs(t, err, model.ErrLocked)
			cur, err := s.Current(ctx)
			require.NoError(t, err)
			require.Equal(t, 2, cur.Number)
			require.Equal(t, stored, f.storage(t))
		})
	}
}

// TestReadersNeverSeeAMix counts the access view from another connection, in a
// loop, while a publish replaces a large generation with one of another size:
// every count is the old total or the new one, and matches the generation the
// same statement sees as current.
func TestReadersNeverSeeAMix(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("loads 300k rows")
	}
	ctx := context.Background()
	s, f := setup(t)
	old, next := generated(2000, 100), generated(1500, 80)
	_, err := s.Publish(ctx, old, model.DefaultPublishOptions())
	require.NoError(t, err)
	totals := map[int]int{1: old.Access.Len(), 2: next.Access.Len()}

	q := fmt.Sprintf(`SELECT (SELECT generation FROM %[1]s.current), (SELECT count(*) FROM %[1]s.access)`, pgx.Identifier{f.schema}.Sanitize())
	read := func() (gen, n int, err error) {
		err = f.admin.QueryRow(ctx, q).Scan(&gen, &n)
		return gen, n, err
	}
	var (
		wg      sync.WaitGroup
		done    = make(chan struct{})
		seen    = map[int]int{}
		reads   int
		bad     []string
		readErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			gen, n, err := read()
			if err != nil {
				readErr = err
				return
			}
			reads++
			seen[gen]++
			if totals[gen] != n {
				bad = append(bad, fmt.Sprintf("generation %d with %d rows", gen, n))
			}
		}
	}()
	forced := model.DefaultPublishOptions()
	forced.Force = true
	_, err = s.Publish(ctx, next, forced)
	close(done)
	wg.Wait()
	require.NoError(t, err)
	require.NoError(t, readErr)
	require.Empty(t, bad)
	require.Positive(t, seen[1], "the reader ran during the publish")
	gen, n, err := read()
	require.NoError(t, err)
	require.Equal(t, 2, gen)
	require.Equal(t, next.Access.Len(), n)
	t.Logf("%d reads during the publish: %v", reads, seen)
}

// TestErrorsNeverShowThePassword checks the boundary scrubs a password from any
// error, whatever produced it.
func TestErrorsNeverShowThePassword(t *testing.T) {
	t.Parallel()
	err := translate(fmt.Errorf("copy: %w", errors.New("connect to postgres://gm:s3cret@db failed")), "s3cret")
	require.NotContains(t, err.Error(), "s3cret")
	require.Nil(t, translate(nil, "s3cret"))
}

// TestReaderHoldingTheViews keeps transactions open at every isolation level
// that have read the views (memberships first, then access, the order that
// used to deadlock against a publish): publishes and a rollback go through at
// once, and the readers keep seeing one complete generation, the new one from
// their next statement at READ COMMITTED, the one they started with otherwise.
func TestReaderHoldingTheViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s, err := Open(ctx, pgtest.URL(), Options{Schema: f.schema, LockTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	m := storetest.Sample(t, model.Effective)
	_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	granted := storetest.Sample(t, model.Granted)
	require.NotEqual(t, m.Access.Len(), granted.Access.Len())

	count := func(tx pgx.Tx) (gen, n, roles int) {
		require.NoError(t, tx.QueryRow(ctx, f.sql(`SELECT count(*) FROM %s.memberships`)).Scan(&roles))
		require.NoError(t, tx.QueryRow(ctx, f.sql(`SELECT (SELECT generation FROM %[1]s.current), count(*) FROM %[1]s.access`)).Scan(&gen, &n))
		return gen, n, roles
	}
	levels := []pgx.TxIsoLevel{pgx.ReadCommitted, pgx.RepeatableRead, pgx.Serializable}
	readers := make([]pgx.Tx, len(levels))
	for i, level := range levels {
		readers[i], err = f.admin.BeginTx(ctx, pgx.TxOptions{IsoLevel: level})
		require.NoError(t, err)
		defer readers[i].Rollback(ctx)
		gen, n, _ := count(readers[i])
		require.Equal(t, 1, gen)
		require.Equal(t, m.Access.Len(), n)
	}

	start := time.Now()
	g, err := s.Publish(ctx, granted, model.DefaultPublishOptions())
	require.NoError(t, err, "open readers do not hold the publish up")
	require.Equal(t, 2, g.Number)
	_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	_, err = s.Rollback(ctx, 2)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 10*time.Second)

	for i, level := range levels {
		gen, n, _ := count(readers[i])
		if level == pgx.ReadCommitted {
			require.Equal(t, 2, gen)
			require.Equal(t, granted.Access.Len(), n)
		} else {
			require.Equal(t, 1, gen, "%s keeps its snapshot", level)
			require.Equal(t, m.Access.Len(), n, "%s sees the whole old generation, not an empty one", level)
		}
		require.NoError(t, readers[i].Commit(ctx))
	}
	require.Equal(t, granted.Access.Len(), f.count(t, `SELECT count(*) FROM %s.access`))
}

// TestLeastPrivilege publishes as a user who owns a schema a DBA created for it
// and holds no other privilege: enough for every operation.
func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	name, dsn := f.role(t, "owner-pw")
	f.exec(t, "CREATE SCHEMA %s AUTHORIZATION "+pgx.Identifier{name}.Sanitize())
	require.Zero(t, f.count(t, `SELECT has_database_privilege($1, current_database(), 'CREATE')::int`, name),
		"the role must not be able to create schemas")

	s := f.open(t, dsn)
	require.NoError(t, s.Migrate(ctx))
	m := storetest.Sample(t, model.Effective)
	for range 3 {
		_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
		require.NoError(t, err)
	}
	g, err := s.Rollback(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, 2, g.Number)
	require.NoError(t, s.RecordRun(ctx, model.RunRecord{Status: model.RunPublished, Source: "dir:x", Generation: 3}))
	back, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, m.Access.Len(), back.Access.Len())
}

// TestCompareByPeople: generations with per-person digests are compared only
// where a person changed, and must count exactly what the comparison of every
// person counts (digests NULL, as in generations converted by the third
// migration).
func TestCompareByPeople(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, digests := range []bool{true, false} {
		s, f := setup(t)
		m := storetest.Sample(t, model.Effective)
		_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
		require.NoError(t, err)
		if !digests {
			f.exec(t, `UPDATE %s.digests SET digest = NULL`)
		}
		rows := slices.Collect(m.Access.All())
		alice := 0
		for _, r := range rows {
			if r.Email == "alice@example.com" {
				alice++
			}
		}
		// Everyone but alice is unchanged; alice loses one row; a new person arrives.
		next := slices.DeleteFunc(slices.Clone(rows), func(r model.Row) bool {
			return r.Email == "alice@example.com" && r.ObjectType == "WAREHOUSE"
		})
		next = append(next, model.Row{Account: "ACME", Email: "new@example.com", ObjectType: "WAREHOUSE", ObjectName: "WH", Privilege: "USAGE"})
		c := *m
		c.Access = model.NewAccess(next)
		g, err := s.Publish(ctx, &c, model.DefaultPublishOptions())
		require.NoError(t, err)
		require.Equal(t, 1, g.Added, "digests %v", digests)
		require.Equal(t, 1, g.Removed, "digests %v", digests)
		require.Positive(t, alice)
		var changes int
		require.NoError(t, f.admin.QueryRow(ctx, "SELECT count(*) FROM "+f.schema+".access_history WHERE removed_gen = 2 OR added_gen = 2").Scan(&changes))
		require.Equal(t, 2, changes, "the history records both changes")
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM %s.access_rows WHERE valid_from = 2`), "only the added row is written")
		require.Equal(t, 1, f.count(t, `SELECT count(*) FROM %s.access_rows WHERE valid_to = 2`), "only the removed row is closed")
		n, sum := f.checksum(t, 2)
		wn, wsum := checksumOf(&c)
		require.Equal(t, wn, n)
		require.Equal(t, wsum, sum)
	}
}

// TestKeywordDSN opens, publishes to and reads a target named by a keyword/value
// string, as libpq writes them, with the password nowhere in what the store
// prints.
func TestKeywordDSN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	const password = "kv s3cret 4711"
	name, dsn := f.role(t, password)
	f.exec(t, "CREATE SCHEMA %s AUTHORIZATION "+pgx.Identifier{name}.Sanitize())
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	kv := fmt.Sprintf(`host=%s port=%s user=%s password='kv s3cret 4711' dbname=%s sslmode=disable`,
		u.Hostname(), u.Port(), name, strings.TrimPrefix(u.Path, "/"))
	require.True(t, IsDSN(kv))
	require.False(t, IsDSN("dir:./data"))
	require.False(t, IsDSN("hostile"))

	s := f.open(t, kv)
	require.NotContains(t, s.String(), "s3cret")
	require.Contains(t, s.String(), "host="+u.Hostname())
	m := storetest.Sample(t, model.Effective)
	_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	back, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, m.Access.Len(), back.Access.Len())

	_, err = Open(ctx, strings.Replace(kv, "sslmode=disable", "sslmode=bogus", 1), Options{Schema: f.schema})
	require.ErrorIs(t, err, model.ErrTarget)
	require.NotContains(t, err.Error(), "s3cret")
	t.Log(err)
}
