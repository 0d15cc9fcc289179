package dirstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Layout of a target directory:
//
//	CURRENT              {"generation": N}, replaced by rename: the publish step
//	lock                 flock'ed while a sync publishes or rolls back
//	publications.jsonl   every publish and rollback, appended before the pointer moves
//	runs.jsonl           one line per sync
//	parts/<sha256>       partition files, named by the hash of their content and
//	                     shared by every generation that has the same partition
//	gen-000001/
//	  generation.json    Meta, counts, excluded users, masked columns, and the
//	                     generation's partition files: 32 person partitions (rows
//	                     and memberships by email), 32 object partitions (grants and
//	                     snapshot records by object name), the core (the small
//	                     snapshot tables) and the object names
//	trash/               generations being pruned, deleted once no reader holds them
//
// A generation directory is written as .tmp-*, renamed into place, recorded in
// publications.jsonl, and only then made current by replacing CURRENT. A directory
// that publications.jsonl does not record as published (a kill between the rename
// and the pointer update) is never listed, kept or rolled back to: the next
// publish or rollback removes it.
const (
	currentFile = "CURRENT"
	lockFile    = "lock"
	runsFile    = "runs.jsonl"
	pubsFile    = "publications.jsonl"
	partsDir    = "parts"
	trashDir    = "trash"
	genPrefix   = "gen-"
	tmpPrefix   = ".tmp-"
	genFile     = "generation.json"
)

// Store is a directory target. It is safe to read while another process publishes
// and prunes: a reader holds a shared lock on the generation it reads.
type Store struct {
	dir string
	// failpoint, when set, is called at each step of Publish and Rollback; an error
	// aborts there, as a crash would. Tests use it to prove crash safety.
	failpoint func(step string) error
	// shedRows is how many rows Scan reads between two sheds of its mapped
	// pages (shedRows unless a test sheds more often).
	shedRows int
}

// Open opens (creating if needed) a directory target.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", model.ErrTarget)
	}
	for _, d := range []string{dir, filepath.Join(dir, partsDir), filepath.Join(dir, trashDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrTarget, err)
		}
	}
	return &Store{dir: dir, shedRows: shedRows}, nil
}

// Close releases nothing: a directory store holds no open handles between calls.
func (s *Store) Close() error { return nil }

// stored is generation.json.
type stored struct {
	model.Meta
	Added    int                  `json:"added"`
	Removed  int                  `json:"removed"`
	Excluded []model.Exclusion    `json:"excluded"`
	Masked   []model.MaskedColumn `json:"masked"`
	Layout   *layout              `json:"layout"`
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
			return nil, fmt.Errorf("%w: %s", model.ErrLocked, s.dir)
		}
		return nil, err
	}
	return func() { unlockClose(f) }, nil
}

// unlockClose releases a flock before closing: a child process forked meanwhile
// (any exec) shares the open file, and closing alone would leave the lock held
// until that child execs.
func unlockClose(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

func (s *Store) currentNumber() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, currentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, model.ErrNoGeneration
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

// dirs lists the generation directories on disk, ascending, published or not.
func (s *Store) dirs() ([]int, error) {
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

// published lists the generations that were really published and are still on
// disk, ascending, with the current one.
func (s *Store) published() (ns []int, cur int, err error) {
	cur, err = s.currentNumber()
	if err != nil && !errors.Is(err, model.ErrNoGeneration) {
		return nil, 0, err
	}
	log, err := s.readPublications()
	if err != nil {
		return nil, 0, err
	}
	set := publishedSet(log, cur)
	on, err := s.dirs()
	if err != nil {
		return nil, 0, err
	}
	for _, n := range on {
		if set[n] {
			ns = append(ns, n)
		}
	}
	return ns, cur, nil
}

func readStoredFile(path string, n int) (*stored, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
	}
	if err != nil {
		return nil, err
	}
	return parseStored(b, n)
}

func parseStored(b []byte, n int) (*stored, error) {
	var st stored
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("generation %d: %w", n, err)
	}
	if st.Layout == nil {
		return nil, fmt.Errorf("generation %d: %w", n, ErrOldLayout)
	}
	return &st, nil
}

func (s *Store) readStored(n int) (*stored, error) {
	return readStoredFile(filepath.Join(s.dir, genDir(n), genFile), n)
}

func (st *stored) generation(current int) model.Generation {
	g := model.Generation{Number: st.Generation, PublishedAt: st.PublishedAt, SnapshotAt: st.SnapshotAt(),
		Rows: st.Rows, Added: st.Added, Removed: st.Removed, Mode: st.Mode, Current: st.Generation == current}
	for _, a := range st.Accounts {
		g.Accounts = append(g.Accounts, a.Name)
	}
	return g
}

// Current describes the published generation.
func (s *Store) Current(ctx context.Context) (*model.Generation, error) {
	h, err := s.acquire(0)
	if err != nil {
		return nil, err
	}
	defer h.release()
	g := h.st.generation(h.n)
	return &g, nil
}

// Generations lists kept generations, newest first: only those that were
// published, so a directory left by a kill before its pointer update is not one.
func (s *Store) Generations(ctx context.Context) ([]model.Generation, error) {
	ns, cur, err := s.published()
	if err != nil {
		return nil, err
	}
	var out []model.Generation
	for i := len(ns) - 1; i >= 0; i-- {
		st, err := s.readStored(ns[i])
		if errors.Is(err, model.ErrUnknownGeneration) {
			continue // pruned since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st.generation(cur))
	}
	return out, nil
}

// Publish writes m as the next generation and points CURRENT at it.
func (s *Store) Publish(ctx context.Context, m *model.Mirror, opts model.PublishOptions) (*model.Generation, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("clean up after an interrupted publish: %w", err)
	}

	// The guard compares against what readers see now, under the lock, so two
	// syncs cannot both pass it against the same old generation.
	var old *stored
	cur, err := s.currentNumber()
	switch {
	case err == nil:
		if old, err = s.readStored(cur); err != nil {
			return nil, fmt.Errorf("read current generation %d: %w", cur, err)
		}
	case !errors.Is(err, model.ErrNoGeneration):
		return nil, err
	}
	var curLayout *layout
	if old != nil {
		// A sync that changes nothing writes nothing: checked before encoding.
		// A current generation this version cannot read is replaced anyway.
		if old.Layout.current() {
			if err := model.CheckUnchanged(old.generation(cur), old.Digest, m, opts); err != nil {
				return nil, err
			}
		}
		curLayout = old.Layout
	}
	lay, _, err := s.encodeAll(ctx, m, curLayout)
	if err != nil {
		return nil, fmt.Errorf("write partitions: %w", err)
	}
	if err := s.step("parts"); err != nil {
		return nil, err
	}
	added, removed := m.Access.Len(), 0
	if old != nil {
		byAdded, byRemoved, err := s.compare(old.Layout, lay)
		if err != nil {
			return nil, fmt.Errorf("compare with current generation %d: %w", cur, err)
		}
		var accounts []string
		for _, a := range old.Accounts {
			accounts = append(accounts, a.Name)
		}
		changes := model.AccountChanges(accounts, m, byAdded, byRemoved)
		if err := model.CheckChanges(changes, opts); err != nil {
			// The partitions written for the refused generation go now.
			if gcErr := s.collect(); gcErr != nil {
				return nil, errors.Join(err, gcErr)
			}
			return nil, err
		}
		added, removed = 0, 0
		for _, c := range changes {
			added, removed = added+c.Added, removed+c.Removed
		}
	}

	ns, err := s.dirs()
	if err != nil {
		return nil, err
	}
	next := 1
	if len(ns) > 0 {
		next = ns[len(ns)-1] + 1
	}
	if log, err := s.readPublications(); err != nil {
		return nil, err
	} else if len(log) > 0 {
		next = max(next, log[len(log)-1].Generation+1, maxGeneration(log)+1)
	}
	tmp, err := os.MkdirTemp(s.dir, tmpPrefix)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	st := &stored{Meta: m.Meta, Added: added, Removed: removed, Excluded: m.Excluded, Masked: m.Masked, Layout: lay}
	st.Generation = next
	st.Rows = m.Access.Len()
	if err := writeFileSync(filepath.Join(tmp, genFile), st); err != nil {
		return nil, fmt.Errorf("write generation %d: %w", next, err)
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	if err := s.step("written"); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, genDir(next))); err != nil {
		return nil, err
	}
	if err := syncDir(s.dir); err != nil {
		return nil, err
	}
	if err := s.step("renamed"); err != nil {
		return nil, err
	}
	g := st.generation(next)
	run := runOf(st)
	if err := s.appendPublication(publication{Op: opPublish, Generation: next, Run: &run}); err != nil {
		return nil, fmt.Errorf("record publication of generation %d: %w", next, err)
	}
	if err := s.step("logged"); err != nil {
		return nil, err
	}
	if err := s.point(next); err != nil {
		return nil, fmt.Errorf("publish generation %d: %w", next, err)
	}
	if err := s.step("pointed"); err != nil {
		return nil, err
	}
	if err := s.prune(next, opts.Keep); err != nil {
		return nil, fmt.Errorf("prune old generations: %w", err)
	}
	g.Current = true
	return &g, nil
}

func maxGeneration(log []publication) int {
	n := 0
	for _, p := range log {
		n = max(n, p.Generation)
	}
	return n
}

// runOf is the run record a publish knows of itself: kept with the publication
// so that a kill before the sync records its run loses nothing (Runs reports it).
func runOf(st *stored) model.RunRecord {
	var sources []string
	for _, a := range st.Accounts {
		sources = append(sources, a.Source)
	}
	return model.RunRecord{StartedAt: st.PublishedAt, FinishedAt: st.PublishedAt, Status: model.RunPublished,
		Source: strings.Join(sources, ","), SnapshotAt: st.SnapshotAt(), Generation: st.Generation,
		Rows: st.Rows, Added: st.Added, Removed: st.Removed}
}

func writeFileSync(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// compare counts per account what next adds to and removes from old, partition
// by partition: a person partition that is the same in both costs nothing, one
// with a new overlay on the same base costs the overlays' people, so an unchanged
// sync reads no rows at all.
func (s *Store) compare(old, next *layout) (added, removed map[string]int, err error) {
	added, removed = map[string]int{}, map[string]int{}
	for k := range numParts {
		o, n := old.Persons[k], next.Persons[k]
		if o.same(n) {
			continue
		}
		po, err := s.openRef(o, s.readPart)
		if err != nil {
			return nil, nil, errPart("person", k, err)
		}
		pn, err := s.openRef(n, s.readPart)
		if err != nil {
			return nil, nil, errPart("person", k, err)
		}
		_, _, a, r, err := diffPartition(po, pn, nil, false)
		if err != nil {
			return nil, nil, errPart("person", k, err)
		}
		for acc, c := range a {
			added[acc] += c
		}
		for acc, c := range r {
			removed[acc] += c
		}
	}
	return added, removed, nil
}

func (s *Store) readPart(hash string) ([]byte, error) { return os.ReadFile(s.partPath(hash)) }

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

// Rollback points CURRENT at a kept generation (0: the newest one before current).
// Only a generation that was published is a target.
func (s *Store) Rollback(ctx context.Context, n int) (*model.Generation, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("clean up after an interrupted publish: %w", err)
	}
	ns, cur, err := s.published()
	if err != nil {
		return nil, err
	}
	if cur == 0 {
		return nil, model.ErrNoGeneration
	}
	if n == 0 {
		for _, k := range ns {
			if k < cur {
				n = k
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: no generation kept before %d", model.ErrUnknownGeneration, cur)
		}
	}
	if !slices.Contains(ns, n) {
		return nil, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
	}
	st, err := s.readStored(n)
	if err != nil {
		return nil, err
	}
	if !st.Layout.current() {
		return nil, fmt.Errorf("roll back to generation %d: %w", n, ErrOldLayout)
	}
	if err := s.appendPublication(publication{Op: opRollback, Generation: n}); err != nil {
		return nil, err
	}
	if err := s.step("rollback-logged"); err != nil {
		return nil, err
	}
	if err := s.point(n); err != nil {
		return nil, err
	}
	g := st.generation(n)
	return &g, nil
}
