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

func (h *handle) release() { h.f.Close() }

// file reads a partition file once per handle.
func (h *handle) file(hash string) ([]byte, error) {
	h.mu.Lock()
	b, ok := h.files[hash]
	h.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := os.ReadFile(h.s.partPath(hash))
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
		added, removed, err := s.diffPartition(pa.File, pb.File, match, a)
		if err != nil {
			return nil, err
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

// diffPartition lists the rows of partition file b missing from a (added) and the
// reverse (removed), keeping those match accepts (all when nil). Groups are merged
// by account and email; a group whose encoded rows are the same bytes in both,
// under the same dictionary, is equal without decoding.
func (s *Store) diffPartition(fileA, fileB string, match func(pipeline.Row) bool, h *handle) (added, removed []pipeline.Row, err error) {
	read := func(hash string) ([]byte, error) {
		if h != nil {
			return h.file(hash)
		}
		return os.ReadFile(s.partPath(hash))
	}
	ba, err := read(fileA)
	if err != nil {
		return nil, nil, err
	}
	bb, err := read(fileB)
	if err != nil {
		return nil, nil, err
	}
	pa, err := openPerson(ba, -1)
	if err != nil {
		return nil, nil, err
	}
	pb, err := openPerson(bb, -1)
	if err != nil {
		return nil, nil, err
	}
	sameDict := string(pa.secs[secDict]) == string(pb.secs[secDict])
	keep := func(out []pipeline.Row, rs []pipeline.Row) []pipeline.Row {
		for _, r := range rs {
			if match == nil || match(r) {
				out = append(out, r)
			}
		}
		return out
	}
	encoded := func(p *person, g int) []byte {
		gr := p.groups[g]
		end := len(p.secs[secRows])
		if g+1 < len(p.groups) {
			end = p.groups[g+1].offset
		}
		return p.secs[secRows][gr.offset:end]
	}
	var ra, rb []pipeline.Row
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
		switch {
		case c < 0:
			if ra, err = pa.rows(i, ra[:0]); err != nil {
				return nil, nil, err
			}
			removed = keep(removed, ra)
			i++
		case c > 0:
			if rb, err = pb.rows(j, rb[:0]); err != nil {
				return nil, nil, err
			}
			added = keep(added, rb)
			j++
		default:
			if sameDict && pa.groups[i].rows == pb.groups[j].rows && string(encoded(pa, i)) == string(encoded(pb, j)) {
				i, j = i+1, j+1
				continue
			}
			if ra, err = pa.rows(i, ra[:0]); err != nil {
				return nil, nil, err
			}
			if rb, err = pb.rows(j, rb[:0]); err != nil {
				return nil, nil, err
			}
			x, y := 0, 0
			for x < len(ra) || y < len(rb) {
				switch {
				case y == len(rb) || x < len(ra) && ra[x].Compare(rb[y]) < 0:
					removed = keep(removed, ra[x:x+1])
					x++
				case x == len(ra) || rb[y].Compare(ra[x]) < 0:
					added = keep(added, rb[y:y+1])
					y++
				default:
					x, y = x+1, y+1
				}
			}
			i, j = i+1, j+1
		}
	}
	return added, removed, nil
}

var _ pipeline.Store = (*Store)(nil)
var _ pipeline.Reader = (*Store)(nil)
