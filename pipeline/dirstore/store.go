package dirstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/grantmirror/grantmirror/pipeline"
)

// Layout of a target directory:
//
//	CURRENT              {"generation": N}, replaced by rename: the publish step
//	lock                 flock'ed while a sync publishes
//	runs.jsonl           one line per sync
//	gen-000001/          a complete generation (written as .tmp-*, then renamed)
//	  generation.json    Meta, counts, excluded users, masked columns
//	  access.parquet     account, email, object_type, object_name, privilege
//	  memberships.parquet, grants.parquet   provenance
//	  snapshot/          the input, in snapshot format, for explain and lint
const (
	currentFile = "CURRENT"
	lockFile    = "lock"
	runsFile    = "runs.jsonl"
	genPrefix   = "gen-"
	tmpPrefix   = ".tmp-"
	genFile     = "generation.json"
)

// Store is a directory target. It is safe to read while another process publishes.
type Store struct {
	dir string
	// failpoint, when set, is called at each step of Publish; an error aborts the
	// publish there, as a crash would. Tests use it to prove crash safety.
	failpoint func(step string) error
}

// Open opens (creating if needed) a directory target.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", pipeline.ErrTarget)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", pipeline.ErrTarget, err)
	}
	return &Store{dir: dir}, nil
}

// Close releases nothing: a directory store holds no open handles between calls.
func (s *Store) Close() error { return nil }

// stored is generation.json.
type stored struct {
	pipeline.Meta
	Added    int                     `json:"added"`
	Removed  int                     `json:"removed"`
	Excluded []pipeline.Exclusion    `json:"excluded"`
	Masked   []pipeline.MaskedColumn `json:"masked"`
}

func genDir(n int) string { return fmt.Sprintf("%s%06d", genPrefix, n) }

func (s *Store) step(name string) error {
	if s.failpoint != nil {
		return s.failpoint(name)
	}
	return nil
}

// lock takes the publish lock without waiting: a second sync fails fast with
// ErrLocked rather than queueing behind a long one.
func (s *Store) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", pipeline.ErrLocked, s.dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

func (s *Store) currentNumber() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, currentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, pipeline.ErrNoGeneration
	}
	if err != nil {
		return 0, err
	}
	var c struct {
		Generation int `json:"generation"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Generation <= 0 {
		return 0, fmt.Errorf("%s: unreadable pointer %q", filepath.Join(s.dir, currentFile), b)
	}
	return c.Generation, nil
}

// numbers lists the complete generations on disk, ascending.
func (s *Store) numbers() ([]int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var ns []int
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), genPrefix) {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), genPrefix)); err == nil && n > 0 {
			ns = append(ns, n)
		}
	}
	sort.Ints(ns)
	return ns, nil
}

func (s *Store) readStored(n int) (*stored, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, genDir(n), genFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %d", pipeline.ErrUnknownGeneration, n)
	}
	if err != nil {
		return nil, err
	}
	var st stored
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("generation %d: %w", n, err)
	}
	return &st, nil
}

func (st *stored) generation(current int) pipeline.Generation {
	g := pipeline.Generation{Number: st.Generation, PublishedAt: st.PublishedAt, SnapshotAt: st.SnapshotAt(),
		Rows: st.Rows, Added: st.Added, Removed: st.Removed, Mode: st.Mode, Current: st.Generation == current}
	for _, a := range st.Accounts {
		g.Accounts = append(g.Accounts, a.Name)
	}
	return g
}

// Current describes the published generation.
func (s *Store) Current(ctx context.Context) (*pipeline.Generation, error) {
	n, err := s.currentNumber()
	if err != nil {
		return nil, err
	}
	st, err := s.readStored(n)
	if err != nil {
		return nil, err
	}
	g := st.generation(n)
	return &g, nil
}

// Generations lists kept generations, newest first.
func (s *Store) Generations(ctx context.Context) ([]pipeline.Generation, error) {
	cur, err := s.currentNumber()
	if err != nil && !errors.Is(err, pipeline.ErrNoGeneration) {
		return nil, err
	}
	ns, err := s.numbers()
	if err != nil {
		return nil, err
	}
	var out []pipeline.Generation
	for i := len(ns) - 1; i >= 0; i-- {
		st, err := s.readStored(ns[i])
		if err != nil {
			return nil, err
		}
		out = append(out, st.generation(cur))
	}
	return out, nil
}

// Publish writes m as the next generation and points CURRENT at it.
func (s *Store) Publish(ctx context.Context, m *pipeline.Mirror, opts pipeline.PublishOptions) (*pipeline.Generation, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.removeTemps(); err != nil {
		return nil, err
	}

	// The guard compares against what readers see now, under the lock, so two
	// syncs cannot both pass it against the same old generation.
	added, removed := m.Access.Len(), 0
	cur, err := s.currentNumber()
	switch {
	case err == nil:
		prev, err := s.readStored(cur)
		if err != nil {
			return nil, err
		}
		var accounts []string
		for _, a := range prev.Accounts {
			accounts = append(accounts, a.Name)
		}
		byAdded, byRemoved, err := s.compare(ctx, cur, m.Access)
		if err != nil {
			return nil, fmt.Errorf("read current generation %d: %w", cur, err)
		}
		changes := pipeline.AccountChanges(accounts, m, byAdded, byRemoved)
		if err := pipeline.CheckChanges(changes, opts); err != nil {
			return nil, err
		}
		added, removed = 0, 0
		for _, c := range changes {
			added, removed = added+c.Added, removed+c.Removed
		}
	case !errors.Is(err, pipeline.ErrNoGeneration):
		return nil, err
	}

	ns, err := s.numbers()
	if err != nil {
		return nil, err
	}
	next := 1
	if len(ns) > 0 {
		next = ns[len(ns)-1] + 1
	}
	tmp, err := os.MkdirTemp(s.dir, tmpPrefix)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	st := &stored{Meta: m.Meta, Added: added, Removed: removed, Excluded: m.Excluded, Masked: m.Masked}
	st.Generation = next
	st.Rows = m.Access.Len()
	if err := s.write(ctx, tmp, m, st); err != nil {
		return nil, fmt.Errorf("write generation %d: %w", next, err)
	}
	if err := s.step("written"); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, genDir(next))); err != nil {
		return nil, err
	}
	if err := s.step("renamed"); err != nil {
		return nil, err
	}
	if err := s.point(next); err != nil {
		return nil, fmt.Errorf("publish generation %d: %w", next, err)
	}
	if err := s.prune(next, opts.Keep); err != nil {
		return nil, fmt.Errorf("prune old generations: %w", err)
	}
	g := st.generation(next)
	return &g, nil
}

func (s *Store) removeTemps() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// point makes generation n current: write the pointer aside, fsync, rename over
// CURRENT, fsync the directory. rename(2) is atomic, so a reader sees either pointer.
func (s *Store) point(n int) error {
	tmp := filepath.Join(s.dir, currentFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "{\"generation\": %d}\n", n); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, currentFile)); err != nil {
		return err
	}
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// prune keeps the current generation and the keep newest others.
func (s *Store) prune(current, keep int) error {
	ns, err := s.numbers()
	if err != nil {
		return err
	}
	kept := 0
	for i := len(ns) - 1; i >= 0; i-- {
		if ns[i] == current {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, genDir(ns[i]))); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) write(ctx context.Context, dir string, m *pipeline.Mirror, st *stored) error {
	aw, err := newTableWriter(filepath.Join(dir, "access.parquet"), stringSchema(false, "account", "email", "object_type", "object_name", "privilege"))
	if err != nil {
		return err
	}
	vals := make([]string, 5)
	for r := range m.Access.All() {
		vals[0], vals[1], vals[2], vals[3], vals[4] = r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege
		if err := aw.row(vals, nil); err != nil {
			aw.close()
			return err
		}
	}
	if err := aw.close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mw, err := newTableWriter(filepath.Join(dir, "memberships.parquet"), stringSchema(true, "account", "email", "user", "role", "path"))
	if err != nil {
		return err
	}
	vals = vals[:4]
	for _, ms := range m.Memberships {
		vals[0], vals[1], vals[2], vals[3] = ms.Account, ms.Email, ms.User, ms.Role
		if err := mw.row(vals, ms.Path); err != nil {
			mw.close()
			return err
		}
	}
	if err := mw.close(); err != nil {
		return err
	}
	gw, err := newTableWriter(filepath.Join(dir, "grants.parquet"), stringSchema(false, "account", "role", "object_type", "object_name", "privilege", "via"))
	if err != nil {
		return err
	}
	vals = make([]string, 6)
	for _, g := range m.Grants {
		vals[0], vals[1], vals[2], vals[3], vals[4], vals[5] = g.Account, g.Role, g.ObjectType, g.ObjectName, g.Privilege, g.Via
		if err := gw.row(vals, nil); err != nil {
			gw.close()
			return err
		}
	}
	if err := gw.close(); err != nil {
		return err
	}
	if m.Snapshot != nil {
		if err := pipeline.WriteSnapshot(filepath.Join(dir, "snapshot"), m.Snapshot); err != nil {
			return err
		}
	}
	// generation.json goes last: a directory with it is complete.
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, genFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return syncDir(dir)
}

// compare merges generation n's access file, sorted as it was written, with next,
// and counts per account the rows next adds and removes: the old generation
// streams from disk, so a large one is never held in memory next to the new one.
func (s *Store) compare(ctx context.Context, n int, next *pipeline.Access) (added, removed map[string]int, err error) {
	added, removed = map[string]int{}, map[string]int{}
	pull, stop := iter.Pull(next.All())
	defer stop()
	nr, ok := pull()
	err = readTable(ctx, filepath.Join(s.dir, genDir(n), "access.parquet"), func(v, _ []string) error {
		old := pipeline.Row{Account: v[0], Email: v[1], ObjectType: v[2], ObjectName: v[3], Privilege: v[4]}
		for ok && nr.Compare(old) < 0 {
			added[nr.Account]++
			nr, ok = pull()
		}
		if ok && nr.Compare(old) == 0 {
			nr, ok = pull()
		} else {
			removed[old.Account]++
		}
		return nil
	})
	for ; ok; nr, ok = pull() {
		added[nr.Account]++
	}
	return added, removed, err
}

func (s *Store) readAccess(ctx context.Context, n int) (*pipeline.Access, error) {
	var rows []pipeline.Row
	err := readTable(ctx, filepath.Join(s.dir, genDir(n), "access.parquet"), func(v, _ []string) error {
		rows = append(rows, pipeline.Row{Account: v[0], Email: v[1], ObjectType: v[2], ObjectName: v[3], Privilege: v[4]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pipeline.NewAccess(rows), nil
}

// Open reads generation n (0: current) back.
func (s *Store) Open(ctx context.Context, n int) (*pipeline.Mirror, error) {
	if n == 0 {
		var err error
		if n, err = s.currentNumber(); err != nil {
			return nil, err
		}
	}
	st, err := s.readStored(n)
	if err != nil {
		return nil, err
	}
	m := &pipeline.Mirror{Meta: st.Meta, Excluded: st.Excluded, Masked: st.Masked}
	if m.Access, err = s.readAccess(ctx, n); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, genDir(n))
	err = readTable(ctx, filepath.Join(dir, "memberships.parquet"), func(v, path []string) error {
		m.Memberships = append(m.Memberships, pipeline.Membership{Account: v[0], Email: v[1], User: v[2], Role: v[3], Path: slices.Clone(path)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readTable(ctx, filepath.Join(dir, "grants.parquet"), func(v, _ []string) error {
		m.Grants = append(m.Grants, pipeline.Grant{Account: v[0], Role: v[1], ObjectType: v[2], ObjectName: v[3], Privilege: v[4], Via: v[5]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot")); err == nil {
		if m.Snapshot, err = pipeline.ReadSnapshot(filepath.Join(dir, "snapshot")); err != nil {
			return nil, fmt.Errorf("generation %d: %w", n, err)
		}
	}
	return m, nil
}

// Rollback points CURRENT at a kept generation (0: the newest one before current).
func (s *Store) Rollback(ctx context.Context, n int) (*pipeline.Generation, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := s.currentNumber()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		ns, err := s.numbers()
		if err != nil {
			return nil, err
		}
		for _, k := range ns {
			if k < cur {
				n = k
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: no generation kept before %d", pipeline.ErrUnknownGeneration, cur)
		}
	}
	st, err := s.readStored(n)
	if err != nil {
		return nil, err
	}
	if err := s.point(n); err != nil {
		return nil, err
	}
	g := st.generation(n)
	return &g, nil
}

// RecordRun appends a run to runs.jsonl.
func (s *Store) RecordRun(ctx context.Context, r pipeline.RunRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, runsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Runs returns the newest runs first.
func (s *Store) Runs(ctx context.Context, limit int) ([]pipeline.RunRecord, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, runsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []pipeline.RunRecord
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		if lines[i] == "" {
			continue
		}
		var r pipeline.RunRecord
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", runsFile, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

var _ pipeline.Store = (*Store)(nil)
