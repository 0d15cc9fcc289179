package dirstore

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Operations of publications.jsonl.
const (
	opPublish  = "publish"
	opRollback = "rollback"
	// opAbandon marks a publish whose pointer update never happened (a kill
	// between the log entry and the rename of CURRENT).
	opAbandon = "abandon"
)

// publication is one line of publications.jsonl. Every publish and rollback
// appends one, durably, before it moves CURRENT; every later operation happens
// under the same lock, so when the last entry names a generation CURRENT does not,
// that operation was interrupted before its pointer update.
type publication struct {
	Op         string           `json:"op"`
	Generation int              `json:"generation"`
	At         time.Time        `json:"at"`
	Run        *model.RunRecord `json:"run,omitempty"`
}

func (s *Store) readPublications() ([]publication, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, pubsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []publication
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var p publication
		if err := json.Unmarshal(line, &p); err != nil {
			// Only the last line can be cut, by a kill during its append: its
			// operation never moved the pointer, so it is ignored.
			if i == bytes.Count(b, []byte("\n")) {
				break
			}
			return nil, fmt.Errorf("%s line %d: %w", pubsFile, i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *Store) appendPublication(p publication) error {
	p.At = time.Now().UTC()
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, pubsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	// A line cut by an earlier kill gets its own line end, so this one parses.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if r, err := os.Open(f.Name()); err == nil {
			if _, err := r.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
				b = append([]byte("\n"), b...)
			}
			r.Close()
		}
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

// publishedSet is the generations the log records as published: a publish
// counts unless abandoned, or unless it is the last entry and CURRENT does not name
// it (interrupted, or still under way in another process).
func publishedSet(log []publication, cur int) map[int]bool {
	set := map[int]bool{}
	for _, p := range log {
		switch p.Op {
		case opPublish:
			set[p.Generation] = true
		case opAbandon:
			delete(set, p.Generation)
		}
	}
	if n := len(log); n > 0 && log[n-1].Op == opPublish && log[n-1].Generation != cur {
		delete(set, log[n-1].Generation)
	}
	if cur > 0 {
		set[cur] = true
	}
	return set
}

// recover runs under the publish lock before a publish or rollback: it records an
// interrupted publish as abandoned, moves generation directories that were never
// published to the trash, and deletes what no reader holds.
func (s *Store) recover() error {
	if err := removeTemps(s.dir); err != nil {
		return err
	}
	if err := removeTemps(filepath.Join(s.dir, partsDir)); err != nil {
		return err
	}
	cur, err := s.currentNumber()
	if err != nil && !errors.Is(err, model.ErrNoGeneration) {
		return err
	}
	log, err := s.readPublications()
	if err != nil {
		return err
	}
	if n := len(log); n > 0 && log[n-1].Generation != cur {
		// The last operation did not reach its pointer update. A publish is
		// abandoned; after a rollback, the generation still current is recorded as
		// current again, so the order in which generations were current stays true.
		p := publication{Op: opAbandon, Generation: log[n-1].Generation}
		if log[n-1].Op == opRollback {
			p = publication{Op: opRollback, Generation: cur}
		}
		if err := s.appendPublication(p); err != nil {
			return err
		}
		log = append(log, p)
	}
	set := publishedSet(log, cur)
	on, err := s.dirs()
	if err != nil {
		return err
	}
	for _, n := range on {
		if !set[n] {
			if err := s.trash(n); err != nil {
				return err
			}
		}
	}
	return s.collect()
}

func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// prune keeps the current generation and the keep other published ones that
// were current most recently (after a rollback, the generation rolled back to is
// kept before newer ones that were replaced); a directory that was never
// published neither counts nor stays.
func (s *Store) prune(current, keep int) error {
	ns, _, err := s.published()
	if err != nil {
		return err
	}
	log, err := s.readPublications()
	if err != nil {
		return err
	}
	last := map[int]int{}
	for i, p := range log {
		if p.Op == opPublish || p.Op == opRollback {
			last[p.Generation] = i
		}
	}
	others := slices.DeleteFunc(slices.Clone(ns), func(n int) bool { return n == current })
	slices.SortFunc(others, func(a, b int) int {
		if c := cmp.Compare(last[b], last[a]); c != 0 {
			return c
		}
		return cmp.Compare(b, a)
	})
	for i, n := range others {
		if i < keep {
			continue
		}
		if err := s.trash(n); err != nil {
			return err
		}
	}
	if err := s.step("trashed"); err != nil {
		return err
	}
	return s.collect()
}

// trash renames a generation out of the way in one step: a reader that resolves
// it afterwards finds it gone and resolves again; one that holds it keeps it
// until it is done (see collect).
func (s *Store) trash(n int) error {
	dst, err := os.MkdirTemp(filepath.Join(s.dir, trashDir), genDir(n)+".")
	if err != nil {
		return err
	}
	return os.Rename(filepath.Join(s.dir, genDir(n)), filepath.Join(dst, genDir(n)))
}

// collect deletes the trashed generations no reader holds (a reader holds a shared
// flock on generation.json; deleting takes it exclusively, without waiting), then
// every partition file that no generation left on disk, kept or trashed, names.
func (s *Store) collect() error {
	trash := filepath.Join(s.dir, trashDir)
	entries, err := os.ReadDir(trash)
	if err != nil {
		return err
	}
	var held []string
	for _, e := range entries {
		slot := filepath.Join(trash, e.Name())
		inner, err := os.ReadDir(slot)
		if err != nil {
			return err
		}
		free := true
		for _, g := range inner {
			path := filepath.Join(slot, g.Name(), genFile)
			f, err := os.Open(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				f.Close()
				if !errors.Is(err, syscall.EWOULDBLOCK) {
					return err
				}
				free = false
				held = append(held, path)
				continue
			}
			// Removed while the exclusive lock is held: a reader that opened the file
			// before the rename blocks on its shared lock until then, and then finds
			// the path gone.
			err = os.RemoveAll(filepath.Join(slot, g.Name()))
			unlockClose(f)
			if err != nil {
				return err
			}
		}
		if free {
			if err := os.Remove(slot); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	live := map[string]bool{}
	refs := func(path string) error {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		var st stored
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if l := st.Layout; l != nil {
			live[l.Core], live[l.Names] = true, true
			for _, p := range l.Persons {
				live[p.Base] = true
				if p.Over != "" {
					live[p.Over] = true
				}
			}
			for _, o := range l.Objects {
				live[o] = true
			}
			for _, r := range l.Roles {
				live[r] = true
			}
		}
		return nil
	}
	on, err := s.dirs()
	if err != nil {
		return err
	}
	for _, n := range on {
		if err := refs(filepath.Join(s.dir, genDir(n), genFile)); err != nil {
			return err
		}
	}
	for _, path := range held {
		if err := refs(path); err != nil {
			return err
		}
	}
	parts, err := os.ReadDir(filepath.Join(s.dir, partsDir))
	if err != nil {
		return err
	}
	for _, p := range parts {
		if !live[p.Name()] && !strings.HasPrefix(p.Name(), tmpPrefix) {
			if err := os.Remove(filepath.Join(s.dir, partsDir, p.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// RecordRun appends a run to runs.jsonl.
func (s *Store) RecordRun(ctx context.Context, r model.RunRecord) error {
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

// Runs returns the newest runs first. A published generation whose sync was
// killed before recording its run is reported from its publication, which was
// written before the pointer moved, so no published generation is missing from
// the history.
func (s *Store) Runs(ctx context.Context, limit int) ([]model.RunRecord, error) {
	var all []model.RunRecord
	f, err := os.Open(filepath.Join(s.dir, runsFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var r model.RunRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", runsFile, line, err)
			}
			all = append(all, r)
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	recorded := map[int]bool{}
	for _, r := range all {
		if r.Status == model.RunPublished {
			recorded[r.Generation] = true
		}
	}
	cur, err := s.currentNumber()
	if err != nil && !errors.Is(err, model.ErrNoGeneration) {
		return nil, err
	}
	log, err := s.readPublications()
	if err != nil {
		return nil, err
	}
	set := publishedSet(log, cur)
	missing := false
	for _, p := range log {
		if p.Op == opPublish && p.Run != nil && set[p.Generation] && !recorded[p.Generation] {
			all = append(all, *p.Run)
			recorded[p.Generation] = true
			missing = true
		}
	}
	if missing {
		slices.SortStableFunc(all, func(a, b model.RunRecord) int { return a.FinishedAt.Compare(b.FinishedAt) })
	}
	var out []model.RunRecord
	for i := len(all) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		out = append(out, all[i])
	}
	return out, nil
}
