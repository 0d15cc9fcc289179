package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Column lists of the row tables (third migration) a publish copies into.
var (
	accessColumns     = []string{"account", "email", "object_type", "object_name", "privilege"}
	accessRowColumns  = []string{"account", "email", "object_type", "object_name", "privilege", "valid_from"}
	membershipColumns = []string{"account", "email", "ord", "user_name", "role", "path", "valid_from"}
	grantColumns      = []string{"account", "role", "ord", "object_type", "object_name", "privilege", "via", "valid_from"}
	maskedColumns     = []string{"account", "ord", "object_name", "column_name", "reason", "rule", "valid_from"}
	digestColumns     = []string{"kind", "account", "key", "digest", "rows", "objects", "valid_from"}
	keyColumns        = []string{"kind", "account", "key"}
	partColumns       = []string{"generation", "account", "key", "digest"}
	blobColumns       = []string{"digest", "content"}
)

// Publish stores m as the next generation and makes it current, in one
// transaction under the publish lock (a second sync waits a moment, then gets
// model.ErrLocked). The generation is written as the difference from the
// newest kept one: the per-group digests say which people, roles and accounts
// changed, only their rows are compared, and only the rows added are inserted
// and the rows removed closed; everything else is shared. The same transaction
// weighs what it would revoke, records the access history, the generation, the
// audit entry and the run, and points current at it. Readers never wait for
// it, and it never waits for readers: nothing on the read path is DDL. A crash
// or error before the commit leaves the previous generation current and nothing
// behind.
func (s *Store) Publish(ctx context.Context, m *model.Mirror, opts model.PublishOptions) (_ *model.Generation, err error) {
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
	started := s.clock()
	conn, unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Expired local grants stopped counting at their until already; the sweep
	// only records it, so a failure here must not stop the sync.
	if _, err := s.sweep(ctx, conn); err != nil {
		s.log.Warn("record expired local grants; the next sync retries", "error", err)
	}
	// An unchanged mirror is told by its digest alone, before computing the
	// per-group digests a write needs; the lock keeps the answer true until the
	// publish transaction below, which compares against the same generation.
	if err := s.checkUnchanged(ctx, conn, m, opts); err != nil {
		return nil, err
	}
	// The snapshot parts are encoded and the groups digested on the client while
	// the server writes rows; the publish waits for each when it needs it.
	var parts func() ([]storedPart, error)
	if m.Snapshot != nil {
		parts = background(func() ([]storedPart, error) { return encodeParts(m) })
	}
	groups := background(func() (*mirrorGroups, error) { return digestMirror(m), nil })
	var g *model.Generation
	err = s.inTx(ctx, conn, "publish", func(tx pgx.Tx) error {
		var err error
		g, err = s.publishIn(ctx, tx, m, groups, parts, opts, started)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.step(ctx, "committed"); err != nil {
		return nil, err
	}
	published := time.Now()
	s.prune(ctx, conn, g.Number, opts.Keep)
	s.retain(ctx, conn)
	s.log.Debug("pruned", "generation", g.Number, "duration", time.Since(published))
	return g, nil
}

// checkUnchanged returns model.CheckUnchanged's answer for m against the
// current generation, if any.
func (s *Store) checkUnchanged(ctx context.Context, conn *pgxpool.Conn, m *model.Mirror, opts model.PublishOptions) error {
	prev, err := s.current(ctx, conn)
	if errNoGeneration(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var digest string
	if err := conn.QueryRow(ctx, s.stmt("generation_digest", nil), prev.Number).Scan(&digest); err != nil {
		return fmt.Errorf("read the digest of generation %d: %w", prev.Number, err)
	}
	return model.CheckUnchanged(*prev, digest, m, opts)
}

// publishIn is the publish transaction.
func (s *Store) publishIn(ctx context.Context, tx pgx.Tx, m *model.Mirror, groups func() (*mirrorGroups, error), parts func() ([]storedPart, error), opts model.PublishOptions, started time.Time) (*model.Generation, error) {
	// The guard compares against what readers see now, under the lock, so two
	// syncs cannot both pass it against the same old generation.
	prev, err := s.current(ctx, tx)
	if err != nil && !errNoGeneration(err) {
		return nil, err
	}
	var base int
	if err := tx.QueryRow(ctx, s.stmt("latest_generation", nil)).Scan(&base); err != nil {
		return nil, fmt.Errorf("find the newest generation: %w", err)
	}
	next := base + 1
	log := s.log.With("generation", next)
	start := time.Now()
	written, err := s.write(ctx, tx, m, groups, parts, base, next)
	if err != nil {
		return nil, fmt.Errorf("write generation %d: %w", next, err)
	}
	wrote := time.Now()
	log.Debug("written", "groups changed", written, "duration", wrote.Sub(start))
	if err := s.step(ctx, "applied"); err != nil {
		return nil, err
	}

	rows := m.Access.Len()
	added, removed, prevNumber := rows, 0, 0
	var changes []model.AccountChange
	if prev != nil {
		prevNumber = prev.Number
		byAdded, byRemoved, err := s.compareIn(ctx, tx, prev.Number, next)
		if err != nil {
			return nil, fmt.Errorf("compare generation %d with %d: %w", next, prev.Number, err)
		}
		changes = model.AccountChanges(prev.Accounts, m, byAdded, byRemoved)
		added, removed = 0, 0
		for _, c := range changes {
			added, removed = added+c.Added, removed+c.Removed
		}
	}
	compared := time.Now()
	log.Debug("compared", "added", added, "removed", removed, "duration", compared.Sub(wrote))
	if err := s.step(ctx, "compared"); err != nil {
		return nil, err
	}
	if err := model.CheckChanges(changes, opts); err != nil {
		return nil, err
	}
	if err := s.step(ctx, "guarded"); err != nil {
		return nil, err
	}
	unforced := opts
	unforced.Force = false
	forced := opts.Force && model.CheckChanges(changes, unforced) != nil
	g, err := s.record(ctx, tx, next, prevNumber, m, added, removed, forced, started)
	if err != nil {
		return nil, err
	}
	if err := s.step(ctx, "recorded"); err != nil {
		return nil, err
	}
	log.Info("published", "rows", rows, "added", added, "removed", removed, "write", wrote.Sub(start),
		"compare", compared.Sub(wrote), "record", time.Since(compared))
	return g, nil
}

// write stores generation next as its difference from generation base, the
// newest (0: none), and returns how many groups changed. digested and parts
// wait for the mirror's group digests and its encoded snapshot parts (parts is
// nil when the mirror has no snapshot).
func (s *Store) write(ctx context.Context, tx pgx.Tx, m *model.Mirror, digested func() (*mirrorGroups, error), parts func() ([]storedPart, error), base, next int) (int, error) {
	if _, err := tx.Exec(ctx, s.stmt("stage_create", nil)); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	if base == 0 {
		// Nothing to compare with: every row is new, copied straight in, while
		// the groups are still being digested.
		src := newRowSource(advancing(ctx, m.Access.All()), int64(next))
		n, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "access_rows"}, accessRowColumns, src)
		src.stop()
		if err != nil {
			return 0, fmt.Errorf("copy access rows: %w", err)
		}
		if int(n) != m.Access.Len() {
			return 0, fmt.Errorf("copy access rows: copied %d of %d", n, m.Access.Len())
		}
		if err := s.step(ctx, "copied"); err != nil {
			return 0, err
		}
	}
	old := map[groupKey][]byte{}
	if base != 0 {
		rows, err := tx.Query(ctx, s.stmt("read_digests", nil), base)
		if err != nil {
			return 0, fmt.Errorf("read digests: %w", err)
		}
		var k groupKey
		var d []byte
		_, err = pgx.ForEachRow(rows, []any{&k.kind, &k.account, &k.key, &d}, func() error {
			old[k] = d
			d = nil // the next row scans into a fresh slice
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("read digests: %w", err)
		}
	}
	groups, err := digested()
	if err != nil {
		return 0, err
	}
	changed := groups.changed(old)
	v := vars{"gen": next, "prev": base}
	if base != 0 {
		people := map[[2]string]bool{}
		for _, k := range changed {
			if k.kind == groupAccess {
				people[[2]string{k.account, k.key}] = true
			}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"gm_keys"}, keyColumns, pgx.CopyFromSlice(len(changed), func(i int) ([]any, error) {
			return []any{changed[i].kind, changed[i].account, changed[i].key}, nil
		}))
		if err != nil {
			return 0, fmt.Errorf("stage changed groups: %w", err)
		}
		src := newRowSource(advancing(ctx, peopleRows(m.Access, people)), 0)
		staged, err := tx.CopyFrom(ctx, pgx.Identifier{"gm_stage"}, accessColumns, src)
		src.stop()
		if err != nil {
			return 0, fmt.Errorf("stage the rows of changed people: %w", err)
		}
		// Everyone else's rows are in the generation already: written, as far as
		// the progress bar is concerned.
		model.Advance(ctx, m.Access.Len()-int(staged))
		if err := s.step(ctx, "staged"); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, s.stmt("stage_analyze", nil)); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, s.stmt("apply_access", v)); err != nil {
			return 0, fmt.Errorf("apply access changes: %w", err)
		}
		if _, err := tx.Exec(ctx, s.stmt("close_groups", v)); err != nil {
			return 0, fmt.Errorf("close changed groups: %w", err)
		}
	}
	if err := s.copyGroups(ctx, tx, m, groups, changed, next); err != nil {
		return 0, err
	}
	if base == 0 {
		// Built once over the first generation's rows, in its transaction: a
		// sorted build costs a fraction of maintaining the indexes row by row
		// during the COPY, and CREATE INDEX locks out writers only, not readers.
		if _, err := tx.Exec(ctx, s.stmt("index_rows", nil)); err != nil {
			return 0, fmt.Errorf("index: %w", err)
		}
	}
	if parts != nil {
		encoded, err := parts()
		if err == nil {
			err = s.storeParts(ctx, tx, next, encoded)
		}
		if err != nil {
			return 0, fmt.Errorf("store snapshot: %w", err)
		}
	}
	if base == 0 || len(changed) > len(groups.digests)/4 {
		if _, err := tx.Exec(ctx, s.stmt("analyze_rows", nil)); err != nil {
			return 0, fmt.Errorf("analyze: %w", err)
		}
	}
	return len(changed), nil
}

// copyGroups copies the rows and digests of the changed groups the mirror has,
// valid from generation next on. Rows are made as COPY asks for them, so the
// client encodes while the server writes, and no table is held twice.
func (s *Store) copyGroups(ctx context.Context, tx pgx.Tx, m *model.Mirror, groups *mirrorGroups, changed []groupKey, next int) error {
	for _, c := range []struct {
		table   string
		columns []string
		kind    string // the groups whose members are the table's rows; "" for the digests
		row     func(ord, i int) ([]any, error)
	}{
		{"membership_rows", membershipColumns, groupMemberships, func(ord, i int) ([]any, error) {
			r := &m.Memberships[i]
			return []any{r.Account, r.Email, ord, r.User, r.Role, r.Path, next}, nil
		}},
		{"grant_rows", grantColumns, groupGrants, func(ord, i int) ([]any, error) {
			r := &m.Grants[i]
			return []any{r.Account, r.Role, ord, r.ObjectType, r.ObjectName, r.Privilege, r.Via, next}, nil
		}},
		{"masked_rows", maskedColumns, groupMasked, func(ord, i int) ([]any, error) {
			r := &m.Masked[i]
			rule, err := encodeRule(r.Rule)
			return []any{r.Account, ord, r.ObjectName, r.Column, r.Reason, rule, next}, err
		}},
		{"digests", digestColumns, "", nil},
	} {
		// ki is the changed group being copied, members its rows not copied yet.
		ki, ord, members := -1, 0, []int(nil)
		src := pgx.CopyFromFunc(func() ([]any, error) {
			for len(members) == 0 {
				if ki++; ki >= len(changed) {
					return nil, nil
				}
				k := changed[ki]
				d, ok := groups.digests[k]
				switch {
				case !ok:
				case c.kind == "":
					return []any{k.kind, k.account, k.key, d.sum, d.rows, jsonObjects(d.objects), next}, nil
				case k.kind == c.kind:
					ord, members = 0, groups.members[k]
				}
			}
			i := members[0]
			members = members[1:]
			ord++
			return c.row(ord-1, i)
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, c.table}, c.columns, src); err != nil {
			return fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	return nil
}

// compareIn compares generations prev and n (compare.sql) into the
// transaction's gm_changes table, for the revocation guard and the access
// history, and counts what n adds and removes.
func (s *Store) compareIn(ctx context.Context, tx pgx.Tx, prev, n int) (added, removed map[string]int, err error) {
	if _, err := tx.Exec(ctx, s.stmt("stage_changes", nil)+s.stmt("compare", nil), prev, n); err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, s.stmt("count_changes", nil))
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

// record writes generation n into generations, its changes against generation
// prev (0: none) into the access history, makes it current, and adds the audit
// entry and the run record, all in the publish transaction. forced says the
// revocation guard would have refused it.
func (s *Store) record(ctx context.Context, tx pgx.Tx, n, prev int, m *model.Mirror, added, removed int, forced bool, started time.Time) (*model.Generation, error) {
	meta := m.Meta
	meta.Generation, meta.Rows = n, m.Access.Len()
	if meta.PublishedAt.IsZero() {
		meta.PublishedAt = time.Now()
	}
	meta.PublishedAt = meta.PublishedAt.UTC().Truncate(time.Microsecond)
	g := &model.Generation{Number: n, PublishedAt: meta.PublishedAt, SnapshotAt: meta.SnapshotAt(),
		Rows: meta.Rows, Added: added, Removed: removed, Mode: meta.Mode, Current: true, Accounts: []string{}}
	var sources []string
	for _, a := range meta.Accounts {
		g.Accounts = append(g.Accounts, a.Name)
		if a.Source != "" && !slices.Contains(sources, a.Source) {
			sources = append(sources, a.Source)
		}
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
	if _, err := tx.Exec(ctx, s.stmt("insert_generation", nil), n, g.PublishedAt, nullTime(g.SnapshotAt),
		g.Rows, added, removed, string(g.Mode), g.Accounts, json.RawMessage(metaJSON), json.RawMessage(excludedJSON)); err != nil {
		return nil, err
	}
	if _, err := s.becomeCurrent(ctx, tx, n, prev, g.PublishedAt, kindPublish, true); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, s.stmt("make_current", nil), n); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, s.clock(), s.actor, actionPublish, fmt.Sprintf("generation %d", n), reason, details); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, s.stmt("publish_run", nil), started, s.clock(), strings.Join(sources, ","),
		nullTime(g.SnapshotAt), n, g.Rows, added, removed); err != nil {
		return nil, fmt.Errorf("record the run: %w", err)
	}
	return g, nil
}

// prune keeps the current generation and the keep newest others, and deletes
// the rows no kept generation holds any more, in one transaction. It runs after
// the publish committed, so a failure only delays the cleanup to the next
// publish; a kill in the middle leaves everything as it was.
func (s *Store) prune(ctx context.Context, conn *pgxpool.Conn, current, keep int) {
	if err := s.pruneOnce(ctx, conn, current, keep); err != nil {
		s.log.Warn("prune old generations; the next publish retries", "error", err)
	}
}

func (s *Store) pruneOnce(ctx context.Context, conn *pgxpool.Conn, current, keep int) error {
	gens, err := s.generations(ctx, conn)
	if err != nil {
		return err
	}
	var drop []int
	newest, kept := 0, 0
	for _, g := range gens {
		switch {
		case g.Number == current:
		case kept < keep:
			kept++
		default:
			drop = append(drop, g.Number)
			continue
		}
		newest = max(newest, g.Number)
	}
	if len(drop) == 0 {
		return nil
	}
	err = s.inTx(ctx, conn, "prune", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.stmt("prune_generations", nil), drop); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.stmt("prune_snapshots", nil)); err != nil {
			return err
		}
		if slices.Max(drop) > newest {
			if _, err := tx.Exec(ctx, s.stmt("prune_newer", vars{"gen": newest})); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, s.stmt("prune_rows", nil)); err != nil {
			return err
		}
		return s.step(ctx, "pruning")
	})
	if err != nil {
		return err
	}
	s.log.Debug("pruned", "generations", drop)
	return nil
}

// Rollback makes a kept generation current again (0: the newest one before the
// current one), under the publish lock, in one transaction like a publish.
func (s *Store) Rollback(ctx context.Context, n int) (_ *model.Generation, err error) {
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
			return nil, fmt.Errorf("%w: no generation kept before %d", model.ErrUnknownGeneration, cur.Number)
		}
	}
	for _, g := range gens {
		if g.Number != n {
			continue
		}
		now := s.clock()
		err := s.inTx(ctx, conn, fmt.Sprintf("roll back to generation %d", n), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, s.stmt("stage_create", nil)); err != nil {
				return err
			}
			at, err := s.becomeCurrent(ctx, tx, n, cur.Number, now, kindRollback, false)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.stmt("make_current", nil), n); err != nil {
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
	return nil, fmt.Errorf("%w: %d (kept: %s)", model.ErrUnknownGeneration, n, numbers(gens))
}

func numbers(gens []model.Generation) string {
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
// With a generation, each row is copied valid from it on.
type rowSource struct {
	next func() (model.Row, bool)
	stop func()
	row  model.Row
	vals []any
}

// peopleRows yields the rows of the people (account, email) in a, by binary search
// per person: a publish that changed a few people reads only their rows.
func peopleRows(a *model.Access, people map[[2]string]bool) iter.Seq[model.Row] {
	keys := slices.SortedFunc(maps.Keys(people), func(x, y [2]string) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	return func(yield func(model.Row) bool) {
		for _, k := range keys {
			for r := range a.For(k[0], k[1]) {
				if !yield(r) {
					return
				}
			}
		}
	}
}

// progressBatch is how many rows advancing reads between two reports.
const progressBatch = 1024

// advancing yields rows, reporting them by batches to the progress of the sync
// publishing (model.Advance): every row of the mirror is read once, copied
// or, in a publish of changed people only, passed over.
func advancing(ctx context.Context, rows iter.Seq[model.Row]) iter.Seq[model.Row] {
	return func(yield func(model.Row) bool) {
		n := 0
		defer func() { model.Advance(ctx, n) }()
		for r := range rows {
			if n++; n == progressBatch {
				model.Advance(ctx, n)
				n = 0
			}
			if !yield(r) {
				return
			}
		}
	}
}

func newRowSource(rows iter.Seq[model.Row], gen int64) *rowSource {
	next, stop := iter.Pull(rows)
	s := &rowSource{next: next, stop: stop}
	s.vals = []any{&s.row.Account, &s.row.Email, &s.row.ObjectType, &s.row.ObjectName, &s.row.Privilege}
	if gen != 0 {
		s.vals = append(s.vals, gen)
	}
	return s
}

func (s *rowSource) Next() bool {
	var ok bool
	s.row, ok = s.next()
	return ok
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

// encodeRule writes a masked column's policy rule as the rule column holds it:
// JSON, or empty when the column has none.
func encodeRule(r *model.PolicyRule) (string, error) {
	if r == nil {
		return "", nil
	}
	b, err := json.Marshal(r)
	return string(b), err
}
