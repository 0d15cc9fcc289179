package dirstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// partRef names a person partition of a generation: a base file, and an overlay
// that replaces the people who changed since the base was written. An overlay is
// always relative to its base, never to another overlay, so reading a partition
// takes at most two files.
type partRef struct {
	Base string `json:"base"`
	Over string `json:"over,omitempty"`
}

// same reports whether two generations hold the same partition: then the guard
// and Changes skip it.
func (p partRef) same(q partRef) bool { return p.Base == q.Base && p.Over == q.Over }

// overlayShare is the largest share of a base's people an overlay replaces;
// beyond it the partition is written whole again as a new base.
const overlayShare = 4 // one in four

// layout is the part of generation.json that lists a generation's files, each a
// content hash under parts/.
type layout struct {
	// Format is the encoding of the partition files (layoutFormat when written
	// by this version; absent in the first).
	Format   int               `json:"format,omitempty"`
	Core     string            `json:"core"`
	Names    string            `json:"names"`
	Persons  []partRef         `json:"persons"`
	Objects  []string          `json:"objects"`
	Roles    []string          `json:"roles"`
	Snapshot []snapshotAccount `json:"snapshot,omitempty"`
	// HasSnapshot tells a generation without its input from one whose snapshot
	// had no account.
	HasSnapshot bool `json:"has_snapshot"`
}

// layoutFormat numbers the encoding of the partition files. A generation in
// another is refused (ErrOldLayout) rather than misread. Format 2 keyed the
// object and role partitions and the core's user index for binary search, 3
// the core's users by address and its grants to users by grantee, 4 filed a
// user under each other address of its memberships too.
const layoutFormat = 4

// current reports whether l is written in this version's encoding.
func (l *layout) current() bool { return l != nil && l.Format == layoutFormat }

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeStats is what writing a generation's partitions cost.
type writeStats struct {
	mu           sync.Mutex
	files, bytes int // written
	reused       int // already on disk
}

// encodeAll encodes every partition of m, in parallel on every core, and writes
// those not already under parts/. A worker holds one partition at a time, so the
// memory it adds is one partition's encoding (a thirty-second of the table), not
// the table.
func (s *Store) encodeAll(ctx context.Context, m *model.Mirror, cur *layout) (*layout, *writeStats, error) {
	parts := []model.AccessPart{}
	var objHashes [][]uint64
	for p := range m.Access.Parts() {
		parts = append(parts, p)
		objHashes = append(objHashes, objectHashes(p))
	}
	persons := make([]personInput, numParts)
	for k := range persons {
		persons[k] = personInput{parts: parts, emails: make([][]int, len(parts))}
	}
	for pi, p := range parts {
		for ei, e := range p.Emails {
			k := partOf(e)
			persons[k].emails[pi] = append(persons[k].emails[pi], ei)
		}
	}
	for i := range m.Memberships {
		k := partOf(m.Memberships[i].Email)
		persons[k].members = append(persons[k].members, i)
	}
	objects := make([]objectInput, numParts)
	var accounts []*model.Account
	if m.Snapshot != nil {
		accounts = m.Snapshot.Accounts
	}
	for k := range objects {
		o := &objects[k]
		o.roleGrants, o.tags, o.policies, o.history = make([][]int, len(accounts)), make([][]int, len(accounts)), make([][]int, len(accounts)), make([][]int, len(accounts))
	}
	names := make([][]string, len(accounts))
	for k := range objects {
		objects[k].names = names
	}
	roles := make([]roleInput, numParts)
	for k := range roles {
		roles[k].history = make([][]int, len(accounts))
	}
	for i := range m.Grants {
		g := &m.Grants[i]
		k := partOf(g.ObjectName)
		objects[k].grants = append(objects[k].grants, i)
		k = partOf(roleKey(g.Account, g.Role))
		roles[k].grants = append(roles[k].grants, i)
	}
	// An object is granted several privileges to several roles: canonicalize each
	// object's name once.
	type place struct{ on, catalog, schema, name, instance string }
	canonical := map[place]string{}
	for ai, a := range accounts {
		names[ai] = make([]string, len(a.RoleGrants))
		for i := range a.RoleGrants {
			if rg := &a.RoleGrants[i]; !model.KeptWhole(rg) {
				key := place{rg.GrantedOn, rg.Catalog, rg.Schema, rg.Name, rg.Instance}
				n, ok := canonical[key]
				if !ok {
					n = model.ObjectName(rg)
					canonical[key] = n
				}
				names[ai][i] = n
				k := partOf(names[ai][i])
				objects[k].roleGrants[ai] = append(objects[k].roleGrants[ai], i)
			}
		}
		for i, t := range a.Tags {
			k := partOf(model.RefObject(t.ObjectDatabase, t.ObjectSchema, t.ObjectName))
			objects[k].tags[ai] = append(objects[k].tags[ai], i)
		}
		for i, p := range a.Policies {
			k := partOf(model.RefObject(p.Database, p.Schema, p.Entity))
			objects[k].policies[ai] = append(objects[k].policies[ai], i)
		}
		for i, h := range a.History {
			k := partOf(model.HistoryObject(h.ObjectName))
			objects[k].history[ai] = append(objects[k].history[ai], i)
			k = partOf(userKey(a.Name, h.User))
			roles[k].history[ai] = append(roles[k].history[ai], i)
		}
	}

	lay := &layout{Format: layoutFormat, Persons: make([]partRef, numParts), Objects: make([]string, numParts), Roles: make([]string, numParts), HasSnapshot: m.Snapshot != nil}
	for _, a := range accounts {
		lay.Snapshot = append(lay.Snapshot, snapshotAccount{Name: a.Name, ExtractedAt: a.ExtractedAt, Source: a.Source, HasRoles: a.HasRoles, HasHistory: a.HasHistory,
			Bodies: a.Bodies, BodiesOf: a.BodiesOf})
	}
	stats := &writeStats{}
	jobs := make(chan func() error)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := job(); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	send := func(job func() error) bool {
		select {
		case jobs <- job:
			return true
		case err := <-errs:
			errs <- err
			return false
		case <-ctx.Done():
			return false
		}
	}
	feed := func() {
		for k := range numParts {
			if !send(func() (err error) {
				lay.Persons[k], err = s.writePerson(&persons[k], m.Memberships, objHashes, cur, k, stats)
				if err == nil {
					// Rows written, or found written already: the progress bar's count.
					model.Advance(ctx, persons[k].rows())
				}
				return err
			}) {
				return
			}
			if !send(func() error {
				h, err := s.writePart(encodeObject(&objects[k], m), stats)
				lay.Objects[k] = h
				return err
			}) {
				return
			}
			if !send(func() (err error) {
				lay.Roles[k], err = s.writePart(encodeRoles(&roles[k], m), stats)
				return err
			}) {
				return
			}
		}
		if !send(func() (err error) {
			lay.Core, err = s.writePart(encodeCore(m), stats)
			return err
		}) {
			return
		}
		send(func() (err error) {
			lay.Names, err = s.writePart(encodeNames(m), stats)
			return err
		})
	}
	feed()
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := syncDir(filepath.Join(s.dir, partsDir)); err != nil {
		return nil, nil, err
	}
	return lay, stats, nil
}

// writePart stores b under its hash unless a file of that name is already there:
// an unchanged partition costs its encoding and one stat, no write.
func (s *Store) writePart(b []byte, stats *writeStats) (string, error) {
	h := hashOf(b)
	path := s.partPath(h)
	if _, err := os.Stat(path); err == nil {
		stats.mu.Lock()
		stats.reused++
		stats.mu.Unlock()
		return h, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Join(s.dir, partsDir), tmpPrefix)
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o444)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	stats.mu.Lock()
	stats.files++
	stats.bytes += len(b)
	stats.mu.Unlock()
	return h, nil
}

func (s *Store) partPath(hash string) string { return filepath.Join(s.dir, partsDir, hash) }

// writePerson writes person partition k: nothing when nobody in it changed since
// the current generation's base, an overlay of the people who changed when they
// are few, the whole partition otherwise. People are compared by digest, so an
// unchanged partition costs one digest per person and no encoding.
func (s *Store) writePerson(in *personInput, members []model.Membership, objHashes [][]uint64, cur *layout, k int, stats *writeStats) (partRef, error) {
	digests := personDigests(in, members, objHashes)
	if cur != nil {
		base := cur.Persons[k].Base
		b, err := os.ReadFile(s.partPath(base))
		if err != nil {
			return partRef{}, err
		}
		secs, err := unframe(b, kindPerson, personSections)
		if err != nil {
			return partRef{}, errPart("person", k, err)
		}
		old, err := decodePeople(secs[secPeople])
		if err != nil {
			return partRef{}, errPart("person", k, err)
		}
		touched := map[string]bool{}
		for key, d := range digests {
			if od, ok := old[key]; !ok || od != d {
				touched[key] = true
			}
		}
		for key := range old {
			if _, ok := digests[key]; !ok {
				touched[key] = true
			}
		}
		if len(touched) == 0 {
			stats.mu.Lock()
			stats.reused++
			stats.mu.Unlock()
			return partRef{Base: base}, nil
		}
		if len(touched)*overlayShare <= len(old) {
			sub := &personInput{parts: in.parts, emails: make([][]int, len(in.parts))}
			for pi, p := range in.parts {
				for _, ei := range in.emails[pi] {
					if touched[personKey(p.Account, p.Emails[ei])] {
						sub.emails[pi] = append(sub.emails[pi], ei)
					}
				}
			}
			for _, i := range in.members {
				if touched[personKey(members[i].Account, members[i].Email)] {
					sub.members = append(sub.members, i)
				}
			}
			subDigests := map[string]uint64{}
			keys := make([]string, 0, len(touched))
			for key := range touched {
				keys = append(keys, key)
				if d, ok := digests[key]; ok {
					subDigests[key] = d
				}
			}
			file, _ := encodePerson(sub, members, subDigests, keys)
			h, err := s.writePart(file, stats)
			return partRef{Base: base, Over: h}, err
		}
	}
	file, _ := encodePerson(in, members, digests, nil)
	h, err := s.writePart(file, stats)
	return partRef{Base: h}, err
}
