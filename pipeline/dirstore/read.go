package dirstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/grantmirror/grantmirror/pipeline"
)

// handle is a generation held for reading: its generation.json is open with a
// shared flock, which pruning respects, so every partition it names stays on disk
// until release.
type handle struct {
	s  *Store
	n  int
	st *stored
	f  *os.File

	mu    sync.Mutex
	files map[string][]byte
}

// resolveAttempts bounds how often a reader resolves CURRENT again because the
// generation it named was pruned in between: each retry means a publish finished,
// so only a target republished this often in the time of one open fails.
const resolveAttempts = 1000

// acquire holds generation n (0: the current one).
func (s *Store) acquire(n int) (*handle, error) {
	for range resolveAttempts {
		want := n
		if n == 0 {
			cur, err := s.currentNumber()
			if err != nil {
				return nil, err
			}
			want = cur
		} else {
			ns, _, err := s.published()
			if err != nil {
				return nil, err
			}
			if !slices.Contains(ns, n) {
				return nil, fmt.Errorf("%w: %d", pipeline.ErrUnknownGeneration, n)
			}
		}
		path := filepath.Join(s.dir, genDir(want), genFile)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			if n == 0 {
				continue
			}
			return nil, fmt.Errorf("%w: %d", pipeline.ErrUnknownGeneration, n)
		}
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
			f.Close()
			return nil, err
		}
		// Pruning renames the directory before it takes its lock: a file that is
		// no longer at its path was pruned between our open and our lock.
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if now, err := os.Stat(path); err != nil || !os.SameFile(held, now) {
			f.Close()
			if n == 0 {
				continue
			}
			return nil, fmt.Errorf("%w: %d", pipeline.ErrUnknownGeneration, n)
		}
		b, err := io.ReadAll(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		st, err := parseStored(b, want)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &handle{s: s, n: want, st: st, f: f, files: map[string][]byte{}}, nil
	}
	return nil, fmt.Errorf("%s: the current generation was replaced %d times while being opened", s.dir, resolveAttempts)
}

func (h *handle) release() {
	for _, b := range h.files {
		syscall.Munmap(b)
	}
	unlockClose(h.f)
}

// mapFile maps a partition file read-only: a question touches only the pages of
// the sections it decodes. Partition files are never changed once written, and
// decoders copy every string they keep, so nothing refers to a mapping after
// release.
func mapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%s: %w", path, errCorrupt)
	}
	return syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
}

// file reads a partition file once per handle.
func (h *handle) file(hash string) ([]byte, error) {
	h.mu.Lock()
	b, ok := h.files[hash]
	h.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := mapFile(h.s.partPath(hash))
	if err != nil {
		return nil, fmt.Errorf("generation %d: %w", h.n, err)
	}
	h.mu.Lock()
	h.files[hash] = b
	h.mu.Unlock()
	return b, nil
}

// person is a decoded person partition: groups and sections; the dictionary is
// decoded on first use.
type person struct {
	secs   [][]byte
	groups []group
	dict   []pipeline.ObjectPrivilege
}

func (h *handle) person(k int) (*person, error) {
	b, err := h.file(h.st.Layout.Persons[k].File)
	if err != nil {
		return nil, err
	}
	return openPerson(b, k)
}

func openPerson(b []byte, k int) (*person, error) {
	secs, err := unframe(b, kindPerson, personSections)
	if err != nil {
		return nil, errPart("person", k, err)
	}
	gs, err := decodeGroups(secs[secGroups])
	if err != nil {
		return nil, errPart("person", k, err)
	}
	return &person{secs: secs, groups: gs}, nil
}

func (p *person) objects() ([]pipeline.ObjectPrivilege, error) {
	if p.dict == nil {
		d, err := decodeDict(p.secs[secDict])
		if err != nil {
			return nil, err
		}
		p.dict = d
	}
	return p.dict, nil
}

// rows appends group g's rows.
func (p *person) rows(g int, out []pipeline.Row) ([]pipeline.Row, error) {
	dict, err := p.objects()
	if err != nil {
		return nil, err
	}
	ids, err := groupRows(p.secs[secRows], p.groups[g], nil)
	if err != nil {
		return nil, err
	}
	gr := p.groups[g]
	for _, id := range ids {
		if int(id) >= len(dict) {
			return nil, errCorrupt
		}
		o := dict[id]
		out = append(out, pipeline.Row{Account: gr.account, Email: gr.email, ObjectType: o.Type, ObjectName: o.Name, Privilege: o.Privilege})
	}
	return out, nil
}

// onObjects appends the rows of the partition on the named objects, from the
// audience section: the dictionary is scanned without decoding it.
func (p *person) onObjects(names map[string]bool, out []pipeline.Row) ([]pipeline.Row, error) {
	type hit struct {
		id int
		o  pipeline.ObjectPrivilege
	}
	var hits []hit
	err := scanDict(p.secs[secDict], func(i int, typ string, name []byte, priv string) {
		if names[string(name)] {
			hits = append(hits, hit{i, pipeline.ObjectPrivilege{Type: typ, Name: string(name), Privilege: priv}})
		}
	})
	if err != nil {
		return nil, err
	}
	var gs []int32
	for _, h := range hits {
		if gs, err = audience(p.secs[secAudOffsets], p.secs[secAudience], h.id, gs[:0]); err != nil {
			return nil, err
		}
		for _, g := range gs {
			if int(g) >= len(p.groups) {
				return nil, errCorrupt
			}
			gr := p.groups[g]
			out = append(out, pipeline.Row{Account: gr.account, Email: gr.email, ObjectType: h.o.Type, ObjectName: h.o.Name, Privilege: h.o.Privilege})
		}
	}
	return out, nil
}

// accountOrder ranks accounts as the generation lists them: the order of every
// per-account table.
func (h *handle) accountOrder() func(string) int {
	rank := map[string]int{}
	for i, a := range h.st.Accounts {
		rank[a.Name] = i
	}
	for i, a := range h.st.Layout.Snapshot {
		if _, ok := rank[a.Name]; !ok {
			rank[a.Name] = len(h.st.Accounts) + i
		}
	}
	return func(a string) int { return rank[a] }
}

// sortMemberships puts memberships from several partitions back in table order:
// by account, then email; within an email they come from one partition, in order.
func sortMemberships(ms []pipeline.Membership, rank func(string) int) {
	slices.SortStableFunc(ms, func(a, b pipeline.Membership) int {
		return cmp.Or(cmp.Compare(rank(a.Account), rank(b.Account)), strings.Compare(a.Email, b.Email))
	})
}

// sortGrants puts grants from several partitions back in the grant table's order:
// account, role, object, and a grant as such before the same one by ownership.
func sortGrants(gs []pipeline.Grant, rank func(string) int) {
	slices.SortStableFunc(gs, func(a, b pipeline.Grant) int {
		return cmp.Or(cmp.Compare(rank(a.Account), rank(b.Account)), strings.Compare(a.Role, b.Role),
			strings.Compare(a.ObjectType, b.ObjectType), strings.Compare(a.ObjectName, b.ObjectName),
			strings.Compare(a.Privilege, b.Privilege), strings.Compare(a.Via, b.Via))
	})
}

func bySeq[T any](rs []seqRecord[T], account string) []T {
	var out []T
	var mine []seqRecord[T]
	for _, r := range rs {
		if r.account == account {
			mine = append(mine, r)
		}
	}
	slices.SortFunc(mine, func(a, b seqRecord[T]) int { return cmp.Compare(a.seq, b.seq) })
	for _, r := range mine {
		out = append(out, r.v)
	}
	return out
}

// mirror builds the Mirror of a generation from what was read of it.
func (h *handle) mirror(rows []pipeline.Row, members []pipeline.Membership, c *core, recs *objectRecords) *pipeline.Mirror {
	rank := h.accountOrder()
	sortMemberships(members, rank)
	sortGrants(recs.grants, rank)
	m := &pipeline.Mirror{Meta: h.st.Meta, Excluded: h.st.Excluded, Masked: h.st.Masked,
		Access: pipeline.NewAccess(rows), Memberships: members, Grants: recs.grants}
	if h.st.Layout.HasSnapshot {
		m.Snapshot = &pipeline.Snapshot{}
		for _, sa := range h.st.Layout.Snapshot {
			a := *c.accounts[sa.Name]
			a.RoleGrants = bySeq(append(slices.Clone(c.roleGrants), recs.roleGrants...), a.Name)
			a.Tags = bySeq(recs.tags, a.Name)
			a.Policies = bySeq(recs.policies, a.Name)
			a.History = bySeq(recs.history, a.Name)
			m.Snapshot.Accounts = append(m.Snapshot.Accounts, &a)
		}
	}
	return m
}

func (h *handle) core() (*core, error) {
	b, err := h.file(h.st.Layout.Core)
	if err != nil {
		return nil, err
	}
	c, err := decodeCore(b, h.st.Layout.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("generation %d core: %w", h.n, err)
	}
	return c, nil
}

// Open reads generation n (0: current) back whole.
func (s *Store) Open(ctx context.Context, n int) (*pipeline.Mirror, error) {
	h, err := s.acquire(n)
	if err != nil {
		return nil, err
	}
	defer h.release()
	var rows []pipeline.Row
	var members []pipeline.Membership
	for k := range numParts {
		p, err := h.person(k)
		if err != nil {
			return nil, err
		}
		for g := range p.groups {
			if rows, err = p.rows(g, rows); err != nil {
				return nil, errPart("person", k, err)
			}
		}
		ms, err := decodeMembers(p.secs[secMembers], nil)
		if err != nil {
			return nil, errPart("person", k, err)
		}
		members = append(members, ms...)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	recs := &objectRecords{}
	for k := range numParts {
		b, err := h.file(h.st.Layout.Objects[k])
		if err != nil {
			return nil, err
		}
		if err := decodeObject(b, nil, recs); err != nil {
			return nil, errPart("object", k, err)
		}
	}
	c, err := h.core()
	if err != nil {
		return nil, err
	}
	return h.mirror(rows, members, c, recs), nil
}

// Slice reads only what the focus concerns: the person's partition (and those of
// other addresses of the same Snowflake users), the audience section of each
// person partition for the objects, and the object partitions of the objects and
// their containers.
func (s *Store) Slice(ctx context.Context, n int, f pipeline.Focus) (*pipeline.Mirror, error) {
	if f.Empty() {
		return s.Open(ctx, n)
	}
	h, err := s.acquire(n)
	if err != nil {
		return nil, err
	}
	defer h.release()
	c, err := h.core()
	if err != nil {
		return nil, err
	}
	persons := map[int]*person{}
	personOf := func(k int) (*person, error) {
		if p, ok := persons[k]; ok {
			return p, nil
		}
		p, err := h.person(k)
		if err == nil {
			persons[k] = p
		}
		return p, err
	}
	var rows []pipeline.Row
	var members []pipeline.Membership
	if f.Email != "" {
		k := partOf(f.Email)
		p, err := personOf(k)
		if err != nil {
			return nil, err
		}
		for g := range p.groups {
			if p.groups[g].email == f.Email {
				if rows, err = p.rows(g, rows); err != nil {
					return nil, errPart("person", k, err)
				}
			}
		}
		// The person's users, and every address those users are filed under.
		users := map[[2]string]bool{}
		emails := map[string]bool{}
		for _, u := range c.emailUsers[f.Email] {
			users[u] = true
			for _, e := range c.userEmails[u] {
				emails[e] = true
			}
		}
		byPart := map[int]bool{}
		for e := range emails {
			byPart[partOf(e)] = true
		}
		for k := range byPart {
			p, err := personOf(k)
			if err != nil {
				return nil, err
			}
			ms, err := decodeMembers(p.secs[secMembers], func(account, email, user string) bool {
				return emails[email] && users[[2]string{account, user}]
			})
			if err != nil {
				return nil, errPart("person", k, err)
			}
			members = append(members, ms...)
		}
	}
	recs := &objectRecords{}
	if len(f.Objects) > 0 {
		focus := map[string]bool{}
		for _, o := range f.Objects {
			focus[o] = true
		}
		for k := range numParts {
			p, err := personOf(k)
			if err != nil {
				return nil, err
			}
			if rows, err = p.onObjects(focus, rows); err != nil {
				return nil, errPart("person", k, err)
			}
		}
		names := objectSet(f.Objects)
		byPart := map[int]bool{}
		for name := range names {
			byPart[partOf(name)] = true
		}
		for k := range byPart {
			b, err := h.file(h.st.Layout.Objects[k])
			if err != nil {
				return nil, err
			}
			if err := decodeObject(b, names, recs); err != nil {
				return nil, errPart("object", k, err)
			}
		}
	}
	return h.mirror(rows, members, c, recs), nil
}

// objectSet is the objects with their containers, as SliceOf reads them.
func objectSet(objects []string) map[string]bool {
	set := map[string]bool{}
	for _, o := range objects {
		set[o] = true
		for _, c := range containerNames(o) {
			set[c] = true
		}
	}
	return set
}

// Scan streams generation n in table order: the person partitions are each in
// table order, and a merge of their groups by account and email interleaves them.
// It holds every partition's group list and dictionary, never the rows.
func (s *Store) Scan(ctx context.Context, n int, fn func(pipeline.Row) error) error {
	h, err := s.acquire(n)
	if err != nil {
		return err
	}
	defer h.release()
	ps := make([]*person, numParts)
	next := make([]int, numParts)
	for k := range ps {
		if ps[k], err = h.person(k); err != nil {
			return err
		}
	}
	less := func(a, b group) bool {
		if a.account != b.account {
			return a.account < b.account
		}
		return a.email < b.email
	}
	var buf []pipeline.Row
	for {
		best := -1
		for k, p := range ps {
			if next[k] < len(p.groups) && (best < 0 || less(p.groups[next[k]], ps[best].groups[next[best]])) {
				best = k
			}
		}
		if best < 0 {
			return nil
		}
		if buf, err = ps[best].rows(next[best], buf[:0]); err != nil {
			return errPart("person", best, err)
		}
		next[best]++
		for _, r := range buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// ObjectNames reads the generation's object names file.
func (s *Store) ObjectNames(ctx context.Context, n int, account string) ([]string, error) {
	h, err := s.acquire(n)
	if err != nil {
		return nil, err
	}
	defer h.release()
	b, err := h.file(h.st.Layout.Names)
	if err != nil {
		return nil, err
	}
	return decodeNames(b, account)
}

// Changes compares two generations partition by partition; a person partition
// whose rows hash is the same in both is skipped unread, so identical generations
// cost two generation.json reads.
func (s *Store) Changes(ctx context.Context, from, to int, f pipeline.Focus) (*pipeline.Changes, error) {
	a, err := s.acquire(from)
	if err != nil {
		return nil, err
	}
	defer a.release()
	b, err := s.acquire(to)
	if err != nil {
		return nil, err
	}
	defer b.release()
	c := &pipeline.Changes{From: a.n, To: b.n}
	focus := map[string]bool{}
	for _, o := range f.Objects {
		focus[o] = true
	}
	match := func(r pipeline.Row) bool {
		return f.Empty() || f.Email != "" && r.Email == f.Email || focus[r.ObjectName]
	}
	for k := range numParts {
		if len(f.Objects) == 0 && f.Email != "" && k != partOf(f.Email) {
			continue
		}
		pa, pb := a.st.Layout.Persons[k], b.st.Layout.Persons[k]
		if pa.Rows == pb.Rows {
			continue
		}
		ba, err := a.file(pa.File)
		if err != nil {
			return nil, err
		}
		bb, err := b.file(pb.File)
		if err != nil {
			return nil, err
		}
		added, removed, _, _, err := diffPartition(ba, bb, match, true)
		if err != nil {
			return nil, errPart("person", k, err)
		}
		c.Added = append(c.Added, added...)
		c.Removed = append(c.Removed, removed...)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(c.Added, pipeline.Row.Compare)
	slices.SortFunc(c.Removed, pipeline.Row.Compare)
	return c, nil
}

// diffPartition compares two versions of a person partition: the rows of b
// missing from a (added) and the reverse (removed). With collect it returns those
// rows that match accepts (all when match is nil); without, only their numbers.
// Groups are merged by account and email; a group whose encoded rows are the same
// bytes under the same dictionary is equal without decoding, and others are
// compared as integers, each dictionary entry ranked in the union of both.
func diffPartition(ba, bb []byte, match func(pipeline.Row) bool, collect bool) (added, removed []pipeline.Row, nAdded, nRemoved int, err error) {
	pa, err := openPerson(ba, -1)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	pb, err := openPerson(bb, -1)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	sameDict := string(pa.secs[secDict]) == string(pb.secs[secDict])
	da, err := pa.objects()
	if err != nil {
		return nil, nil, 0, 0, err
	}
	db, err := pb.objects()
	if err != nil {
		return nil, nil, 0, 0, err
	}
	rankA, rankB := unifiedRanks(da, db)
	emit := func(out []pipeline.Row, g group, o pipeline.ObjectPrivilege) []pipeline.Row {
		r := pipeline.Row{Account: g.account, Email: g.email, ObjectType: o.Type, ObjectName: o.Name, Privilege: o.Privilege}
		if match == nil || match(r) {
			out = append(out, r)
		}
		return out
	}
	encoded := func(p *person, g int) []byte {
		end := len(p.secs[secRows])
		if g+1 < len(p.groups) {
			end = p.groups[g+1].offset
		}
		if p.groups[g].offset > end {
			return nil
		}
		return p.secs[secRows][p.groups[g].offset:end]
	}
	var ia, ib []int32
	i, j := 0, 0
	for i < len(pa.groups) || j < len(pb.groups) {
		var c int
		switch {
		case i == len(pa.groups):
			c = 1
		case j == len(pb.groups):
			c = -1
		default:
			ga, gb := pa.groups[i], pb.groups[j]
			c = cmp.Or(strings.Compare(ga.account, gb.account), strings.Compare(ga.email, gb.email))
		}
		if c == 0 && sameDict && pa.groups[i].rows == pb.groups[j].rows && string(encoded(pa, i)) == string(encoded(pb, j)) {
			i, j = i+1, j+1
			continue
		}
		ia, ib = ia[:0], ib[:0]
		if c <= 0 {
			if ia, err = groupRows(pa.secs[secRows], pa.groups[i], ia); err != nil {
				return nil, nil, 0, 0, err
			}
		}
		if c >= 0 {
			if ib, err = groupRows(pb.secs[secRows], pb.groups[j], ib); err != nil {
				return nil, nil, 0, 0, err
			}
		}
		for _, id := range ia {
			if int(id) >= len(da) {
				return nil, nil, 0, 0, errCorrupt
			}
		}
		for _, id := range ib {
			if int(id) >= len(db) {
				return nil, nil, 0, 0, errCorrupt
			}
		}
		x, y := 0, 0
		for x < len(ia) || y < len(ib) {
			switch {
			case y == len(ib) || x < len(ia) && rankA[ia[x]] < rankB[ib[y]]:
				nRemoved++
				if collect {
					removed = emit(removed, pa.groups[i], da[ia[x]])
				}
				x++
			case x == len(ia) || rankB[ib[y]] < rankA[ia[x]]:
				nAdded++
				if collect {
					added = emit(added, pb.groups[j], db[ib[y]])
				}
				y++
			default:
				x, y = x+1, y+1
			}
		}
		if c <= 0 {
			i++
		}
		if c >= 0 {
			j++
		}
	}
	return added, removed, nAdded, nRemoved, nil
}

// unifiedRanks ranks the entries of two sorted dictionaries in their union, so
// that rows under either compare as integers.
func unifiedRanks(a, b []pipeline.ObjectPrivilege) (ra, rb []int32) {
	ra, rb = make([]int32, len(a)), make([]int32, len(b))
	i, j, r := 0, 0, int32(0)
	for i < len(a) || j < len(b) {
		c := 0
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = compareObject(a[i], b[j])
		}
		if c <= 0 {
			ra[i] = r
			i++
		}
		if c >= 0 {
			rb[j] = r
			j++
		}
		r++
	}
	return ra, rb
}

var _ pipeline.Store = (*Store)(nil)
var _ pipeline.Reader = (*Store)(nil)
