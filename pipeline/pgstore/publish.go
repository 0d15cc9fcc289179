package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/pipeline"
)

// Column lists of the per-generation tables, in the order of create_generation.sql.
var (
	accessColumns     = []string{"account", "email", "object_type", "object_name", "privilege"}
	membershipColumns = []string{"ord", "account", "email", "user_name", "role", "path"}
	grantColumns      = []string{"ord", "account", "role", "object_type", "object_name", "privilege", "via"}
	maskedColumns     = []string{"ord", "account", "object_name", "column_name", "reason"}
	peopleColumns     = []string{"account", "email", "digest", "rows"}
	snapshotColumns   = []string{"generation", "path", "content"}
)

func genTable(prefix string, n int) string { return fmt.Sprintf("%s_%d", prefix, n) }

// Publish loads m into fresh tables of the next generation, indexes and analyzes
// them, weighs the rows it would revoke, and makes it current in one short
// transaction. All of it happens under the publish lock; a second sync gets
// pipeline.ErrLocked at once. If anything fails before the final transaction
// commits, the old generation stays current; tables a killed sync leaves behind
// are dropped by the next publish.
func (s *Store) Publish(ctx context.Context, m *pipeline.Mirror, opts pipeline.PublishOptions) (_ *pipeline.Generation, err error) {
	defer s.boundary(&err)
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if m == nil || m.Access == nil {
		return nil, errors.New("publish: the mirror has no access table")
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	conn, unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.dropLeftovers(ctx, conn); err != nil {
		return nil, err
	}
	// Expired local grants stopped counting at their until already; the sweep
	// only records it, so a failure here must not stop the sync.
	if _, err := s.sweep(ctx, conn); err != nil {
		s.log.Warn("record expired local grants; the next sync retries", "error", err)
	}

	// The guard compares against what readers see now, under the lock, so two
	// syncs cannot both pass it against the same old generation.
	prev, err := s.current(ctx, conn)
	if err != nil && !errNoGeneration(err) {
		return nil, err
	}
	var next int
	if err := conn.QueryRow(ctx, s.stmt("next_generation", nil)).Scan(&next); err != nil {
		return nil, fmt.Errorf("number the next generation: %w", err)
	}
	log := s.log.With("generation", next)

	start := time.Now()
	if err := s.build(ctx, conn, next, m, log); err != nil {
		return nil, err
	}
	built := time.Now()
	rows := m.Access.Len()
	added, removed := rows, 0
	var changes []pipeline.AccountChange
	if prev != nil {
		byAdded, byRemoved, err := s.compare(ctx, conn, prev.Number, next)
		if err != nil {
			return nil, err
		}
		changes = pipeline.AccountChanges(prev.Accounts, m, byAdded, byRemoved)
		added, removed = 0, 0
		for _, c := range changes {
			added, removed = added+c.Added, removed+c.Removed
		}
	}
	compared := time.Now()
	log.Debug("compared", "added", added, "removed", removed, "duration", compared.Sub(built))
	if err := pipeline.CheckChanges(changes, opts); err != nil {
		if derr := s.dropGeneration(context.WithoutCancel(ctx), conn, next); derr != nil {
			log.Warn("drop refused generation; the next publish drops it", "error", derr)
		}
		return nil, err
	}
	if err := s.step(ctx, "guarded"); err != nil {
		return nil, err
	}

	var prevNumber int
	if prev != nil {
		prevNumber = prev.Number
	}
	unforced := opts
	unforced.Force = false
	forced := opts.Force && pipeline.CheckChanges(changes, unforced) != nil
	g, err := s.swap(ctx, conn, next, prevNumber, m, added, removed, forced)
	if err != nil {
		return nil, err
	}
	published := time.Now()
	log.Info("published", "rows", rows, "added", added, "removed", removed, "build", built.Sub(start),
		"compare", compared.Sub(built), "swap", published.Sub(compared))
	s.prune(ctx, conn, next, opts.Keep)
	s.retain(ctx, conn)
	log.Debug("pruned", "duration", time.Since(published))
	return g, nil
}

// build loads generation n into its tables, then indexes and analyzes them, with
// a failpoint after each step.
func (s *Store) build(ctx context.Context, conn *pgxpool.Conn, n int, m *pipeline.Mirror, log *slog.Logger) error {
	start := time.Now()
	if err := s.load(ctx, conn, n, m); err != nil {
		return fmt.Errorf("load generation %d: %w", n, err)
	}
	loaded := time.Now()
	log.Debug("loaded", "rows", m.Access.Len(), "duration", loaded.Sub(start))
	if err := s.step(ctx, "loaded"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, s.stmt("index_generation", vars{"gen": n})); err != nil {
		return fmt.Errorf("index generation %d: %w", n, err)
	}
	log.Debug("indexed and analyzed", "duration", time.Since(loaded))
	return s.step(ctx, "indexed")
}

// compare finds, in SQL, the rows generation n adds to generation prev and the
// rows it removes, for the revocation guard to weigh and the access history to
// record (compare_generations.sql), and counts them per account.
func (s *Store) compare(ctx context.Context, conn *pgxpool.Conn, prev, n int) (added, removed map[string]int, err error) {
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		added, removed, err = s.compareIn(ctx, tx, prev, n)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("compare generation %d with %d: %w", n, prev, err)
	}
	return added, removed, nil
}

func (s *Store) compareIn(ctx context.Context, tx pgx.Tx, prev, n int) (added, removed map[string]int, err error) {
	if _, err := tx.Exec(ctx, s.stmt("guard_settings", nil)); err != nil {
		return nil, nil, err
	}
	v := vars{"gen": n, "prev": prev}
	// Generations that both carry per-person digests are compared only where a
	// person's digest differs; older ones row by row.
	stmt := "compare_generations"
	var both bool
	if err := tx.QueryRow(ctx, s.stmt("has_people", vars{"gen": prev})).Scan(&both); err != nil {
		return nil, nil, err
	}
	if both {
		if err := tx.QueryRow(ctx, s.stmt("has_people", vars{"gen": n})).Scan(&both); err != nil {
			return nil, nil, err
		}
	}
	if both {
		stmt = "compare_changed_people"
	}
	if _, err := tx.Exec(ctx, s.stmt(stmt, v)); err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, s.stmt("count_changes", v))
	if err != nil {
		return nil, nil, err
	}
	added, removed = map[string]int{}, map[string]int{}
	var account string
	var a, r int
	_, err = pgx.ForEachRow(rows, []any{&account, &a, &r}, func() error {
		added[account], removed[account] = a, r
		return nil
	})
	return added, removed, err
}

// swap records generation n, writes its changes against generation prev (0: none)
// into the access history and makes it current, in one transaction, with an
// audit entry. forced says the revocation guard would have refused it.
func (s *Store) swap(ctx context.Context, conn *pgxpool.Conn, n, prev int, m *pipeline.Mirror, added, removed int, forced bool) (*pipeline.Generation, error) {
	meta := m.Meta
	meta.Generation, meta.Rows = n, m.Access.Len()
	if meta.PublishedAt.IsZero() {
		meta.PublishedAt = time.Now()
	}
	meta.PublishedAt = meta.PublishedAt.UTC().Truncate(time.Microsecond)
	g := &pipeline.Generation{Number: n, PublishedAt: meta.PublishedAt, SnapshotAt: meta.SnapshotAt(),
		Rows: meta.Rows, Added: added, Removed: removed, Mode: meta.Mode, Current: true, Accounts: []string{}}
	for _, a := range meta.Accounts {
		g.Accounts = append(g.Accounts, a.Name)
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	excludedJSON, err := json.Marshal(m.Excluded)
	if err != nil {
		return nil, err
	}
	reason := "sync"
	if forced {
		reason = "sync, forced past the revocation guard"
	}
	details := map[string]any{"generation": n, "rows": g.Rows, "added": added, "removed": removed,
		"accounts": g.Accounts, "snapshot_at": nullTime(g.SnapshotAt), "published_at": g.PublishedAt, "forced": forced}
	if prev != 0 {
		details["previous"] = prev
	}
	err = s.inTx(ctx, conn, fmt.Sprintf("publish generation %d", n), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.stmt("insert_generation", nil), n, g.PublishedAt, nullTime(g.SnapshotAt),
			g.Rows, added, removed, string(g.Mode), g.Accounts, json.RawMessage(metaJSON), json.RawMessage(excludedJSON)); err != nil {
			return err
		}
		if _, err := s.becomeCurrent(ctx, tx, n, prev, g.PublishedAt, kindPublish, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.stmt("make_current", vars{"gen": n})); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.clock(), s.actor, actionPublish, fmt.Sprintf("generation %d", n), reason, details)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// load creates the tables of generation n and fills them with COPY.
func (s *Store) load(ctx context.Context, conn *pgxpool.Conn, n int, m *pipeline.Mirror) error {
	if _, err := conn.Exec(ctx, s.stmt("create_generation", vars{"gen": n})); err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	src := newRowSource(m.Access.All())
	src.people = newDigester()
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{s.schema, genTable("access", n)}, accessColumns, src)
	src.stop()
	if err != nil {
		return fmt.Errorf("copy access rows: %w", err)
	}
	if int(copied) != m.Access.Len() {
		return fmt.Errorf("copy access rows: copied %d of %d", copied, m.Access.Len())
	}
	people := src.people.done()
	_, err = conn.CopyFrom(ctx, pgx.Identifier{s.schema, genTable("people", n)}, peopleColumns,
		pgx.CopyFromSlice(len(people), func(i int) ([]any, error) {
			p := &people[i]
			return []any{p.account, p.email, p.digest, p.rows}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy people: %w", err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{s.schema, genTable("memberships", n)}, membershipColumns,
		pgx.CopyFromSlice(len(m.Memberships), func(i int) ([]any, error) {
			ms := &m.Memberships[i]
			return []any{i, ms.Account, ms.Email, ms.User, ms.Role, ms.Path}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy memberships: %w", err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{s.schema, genTable("grants", n)}, grantColumns,
		pgx.CopyFromSlice(len(m.Grants), func(i int) ([]any, error) {
			g := &m.Grants[i]
			return []any{i, g.Account, g.Role, g.ObjectType, g.ObjectName, g.Privilege, g.Via}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy grants: %w", err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{s.schema, genTable("masked", n)}, maskedColumns,
		pgx.CopyFromSlice(len(m.Masked), func(i int) ([]any, error) {
			c := &m.Masked[i]
			return []any{i, c.Account, c.ObjectName, c.Column, c.Reason}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy masked columns: %w", err)
	}
	if m.Snapshot != nil {
		if err := s.loadSnapshot(ctx, conn, n, m.Snapshot); err != nil {
			return fmt.Errorf("store snapshot: %w", err)
		}
	}
	return nil
}

// loadSnapshot stores the snapshot as the files pipeline.WriteSnapshot produces,
// so that reading it back is the same code path as replaying a snapshot directory.
func (s *Store) loadSnapshot(ctx context.Context, conn *pgxpool.Conn, n int, snap *pipeline.Snapshot) error {
	dir, err := os.MkdirTemp("", "grantmirror-snapshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := pipeline.WriteSnapshot(dir, snap); err != nil {
		return err
	}
	var files [][]any
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, []any{n, filepath.ToSlash(rel), b})
		return nil
	})
	if err != nil {
		return err
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{s.schema, "snapshot_files"}, snapshotColumns, pgx.CopyFromRows(files))
	return err
}

// dropLeftovers drops the generations a killed or interrupted sync left loaded
// but never published.
func (s *Store) dropLeftovers(ctx context.Context, conn *pgxpool.Conn) error {
	rows, err := conn.Query(ctx, s.stmt("leftovers", nil), s.schema)
	if err != nil {
		return fmt.Errorf("find leftover generations: %w", err)
	}
	ns, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("find leftover generations: %w", err)
	}
	for _, n := range ns {
		s.log.Info("dropping a generation an interrupted sync left behind", "generation", n)
		if err := s.dropGeneration(ctx, conn, n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) dropGeneration(ctx context.Context, conn *pgxpool.Conn, n int) error {
	return s.inTx(ctx, conn, fmt.Sprintf("drop generation %d", n), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, s.stmt("drop_generation", vars{"gen": n}))
		return err
	})
}

// prune keeps the current generation and the keep newest others. It runs after
// the publish committed, so a failure only delays the cleanup to the next publish.
func (s *Store) prune(ctx context.Context, conn *pgxpool.Conn, current, keep int) {
	gens, err := s.generations(ctx, conn)
	if err != nil {
		s.log.Warn("list generations to prune; the next publish retries", "error", err)
		return
	}
	kept := 0
	for _, g := range gens {
		if g.Number == current {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		if err := s.dropGeneration(ctx, conn, g.Number); err != nil {
			s.log.Warn("prune old generation; the next publish retries", "generation", g.Number, "error", err)
			continue
		}
	}
}

// Rollback makes a kept generation current again (0: the newest one before the
// current one), under the publish lock, in one transaction like a publish.
func (s *Store) Rollback(ctx context.Context, n int) (_ *pipeline.Generation, err error) {
	defer s.boundary(&err)
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	conn, unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := s.current(ctx, conn)
	if err != nil {
		return nil, err
	}
	gens, err := s.generations(ctx, conn)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		for _, g := range gens {
			if g.Number < cur.Number && g.Number > n {
				n = g.Number
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: no generation kept before %d", pipeline.ErrUnknownGeneration, cur.Number)
		}
	}
	for _, g := range gens {
		if g.Number != n {
			continue
		}
		now := s.clock()
		err := s.inTx(ctx, conn, fmt.Sprintf("roll back to generation %d", n), func(tx pgx.Tx) error {
			at, err := s.becomeCurrent(ctx, tx, n, cur.Number, now, kindRollback, false)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.stmt("make_current", vars{"gen": n})); err != nil {
				return err
			}
			return s.audit(ctx, tx, now, s.actor, actionRollback, fmt.Sprintf("generation %d", n),
				fmt.Sprintf("roll back from generation %d", cur.Number),
				map[string]any{"from": cur.Number, "to": n, "current_from": at})
		})
		if err != nil {
			return nil, err
		}
		s.log.Info("rolled back", "from", cur.Number, "to", n)
		g.Current = true
		return &g, nil
	}
	return nil, fmt.Errorf("%w: %d (kept: %s)", pipeline.ErrUnknownGeneration, n, numbers(gens))
}

func numbers(gens []pipeline.Generation) string {
	out := ""
	for i, g := range gens {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprint(g.Number)
	}
	if out == "" {
		return "none"
	}
	return out
}

// rowSource feeds access rows to COPY straight from the mirror's iterator. Values
// points at the fields of one reused row, so copying allocates nothing per row.
// With people set, it also digests each person's rows on the way.
type rowSource struct {
	next   func() (pipeline.Row, bool)
	stop   func()
	row    pipeline.Row
	vals   []any
	people *digester
}

func newRowSource(rows iter.Seq[pipeline.Row]) *rowSource {
	next, stop := iter.Pull(rows)
	s := &rowSource{next: next, stop: stop}
	s.vals = []any{&s.row.Account, &s.row.Email, &s.row.ObjectType, &s.row.ObjectName, &s.row.Privilege}
	return s
}

func (s *rowSource) Next() bool {
	var ok bool
	s.row, ok = s.next()
	if ok && s.people != nil {
		s.people.add(s.row)
	}
	return ok
}

// personDigest is a row of people_N: a SHA-256 of one person's rows, in order.
type personDigest struct {
	account, email string
	digest         []byte
	rows           int
}

// digester digests the rows of each person as they stream past, in the table's
// order (by account, then email), so two generations can be compared person by
// person: equal digests mean equal rows.
type digester struct {
	out            []personDigest
	h              hash.Hash
	buf            []byte
	account, email string
	rows           int
}

func newDigester() *digester { return &digester{h: sha256.New()} }

func (d *digester) add(r pipeline.Row) {
	if d.rows > 0 && (r.Account != d.account || r.Email != d.email) {
		d.flush()
	}
	if d.rows == 0 {
		d.account, d.email = r.Account, r.Email
		d.h.Reset()
	}
	// NUL cannot occur in the text Postgres stores, so it separates fields safely.
	d.buf = append(append(append(append(append(append(d.buf[:0], r.ObjectType...), 0), r.ObjectName...), 0), r.Privilege...), 0)
	d.h.Write(d.buf)
	d.rows++
}

func (d *digester) flush() {
	if d.rows > 0 {
		d.out = append(d.out, personDigest{d.account, d.email, d.h.Sum(nil), d.rows})
		d.rows = 0
	}
}

// done returns the digests of everyone seen.
func (d *digester) done() []personDigest {
	d.flush()
	return d.out
}

func (s *rowSource) Values() ([]any, error) { return s.vals, nil }
func (s *rowSource) Err() error             { return nil }

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
