package dirstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/grantmirror/grantmirror/pipeline/model"
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
				return nil, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
			}
		}
		path := filepath.Join(s.dir, genDir(want), genFile)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			if n == 0 {
				continue
			}
			return nil, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
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
			return nil, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
		}
		b, err := io.ReadAll(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		st, err := parseStored(b, want)
		if err == nil && !st.Layout.current() {
			err = fmt.Errorf("generation %d: %w", want, ErrOldLayout)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		return &handle{s: s, n: want, st: st, f: f, files: map[string][]byte{}}, nil
	}
	return nil, fmt.Errorf("%s: the current generation was replaced %d times while being opened", s.dir, resolveAttempts)
}

// shedRows is how many rows a scan reads between two sheds (handle.shed): at
// about 12 bytes a row on disk, a few tens of MB of mapped pages.
const shedRows = 2_000_000

// shed drops the handle's mapped pages from the process (shedPages). A scan
// touches every page of the person partitions once: without this a scan of
// 23M rows kept 110 MB of file pages in the report's resident set.
func (h *handle) shed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.files {
		shedPages(b)
	}
}

// shedPerson drops the mapped pages of a person partition's files.
func (h *handle) shedPerson(p *person) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range []*pfile{p.base, p.over} {
		if f != nil {
			shedPages(h.files[f.name])
		}
	}
}

// shedPages drops the pages of a mapped file from the process's resident set
// once they are decoded: a mapped page stays resident until it is unmapped,
// so a slice about everyone held every partition it read (110 MB at 50,000
// people) until it returned. The files are immutable and nothing refers to
// a mapping's bytes after decoding (mapFile), so a page touched again is only
// faulted back in from the page cache. The advice cannot fail on a mapping
// the handle holds; were it refused, the pages would only stay resident.
func shedPages(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }

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

// pfile is one decoded person partition file, a base or an overlay: groups and
// sections; the dictionary is decoded on first use.
type pfile struct {
	name    string // the content hash it is stored under
	secs    [][]byte
	groups  []group
	dict    *dict
	touched map[string]bool
	// picked is set once a group's entries were read without the whole
	// dictionary (see entries).
	picked bool
}

func openPFile(name string, b []byte) (*pfile, error) {
	secs, err := unframe(b, kindPerson, personSections)
	if err != nil {
		return nil, err
	}
	gs, err := decodeGroups(secs[secGroups])
	if err != nil {
		return nil, err
	}
	touched, err := decodeTouched(secs[secTouched])
	if err != nil {
		return nil, err
	}
	return &pfile{name: name, secs: secs, groups: gs, touched: touched}, nil
}

func (p *pfile) objects() (*dict, error) {
	if p.dict == nil {
		d, err := decodeDict(p.secs[secDict])
		if err != nil {
			return nil, err
		}
		p.dict = d
	}
	return p.dict, nil
}

// ids decodes group g's dictionary indexes, checked against the dictionary.
func (p *pfile) ids(g int, out []int32) ([]int32, error) {
	dict, err := p.objects()
	if err != nil {
		return nil, err
	}
	out, err = groupRows(p.secs[secRows], p.groups[g], out)
	if err != nil {
		return nil, err
	}
	for _, id := range out {
		if int(id) >= dict.len() {
			return nil, errCorrupt
		}
	}
	return out, nil
}

// onObjects appends the rows of the file on the named objects, from the audience
// section (the dictionary is scanned without decoding it), leaving out the people
// skip names.
func (p *pfile) onObjects(names map[string]bool, skip map[string]bool, out []model.Row) ([]model.Row, error) {
	type hit struct {
		id int
		o  model.ObjectPrivilege
	}
	var hits []hit
	err := scanDict(p.secs[secDict], func(i int, typ string, name []byte, priv string) bool {
		if names[string(name)] {
			hits = append(hits, hit{i, model.ObjectPrivilege{Type: typ, Name: string(name), Privilege: priv}})
		}
		return true
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
			if skip[personKey(gr.account, gr.email)] {
				continue
			}
			out = append(out, model.Row{Account: gr.account, Email: gr.email, ObjectType: h.o.Type, ObjectName: h.o.Name, Privilege: h.o.Privilege})
		}
	}
	return out, nil
}

// person is a person partition as a generation has it: its base with the people
// of its overlay replaced. groups is the result in table order, each group read
// from file src[g] at index idx[g].
type person struct {
	base, over *pfile
	groups     []group
	src        []*pfile
	idx        []int
}

func (h *handle) person(k int) (*person, error) {
	p, err := h.s.openRef(h.st.Layout.Persons[k], h.file)
	if err != nil {
		return nil, errPart("person", k, err)
	}
	return p, nil
}

// openRef opens a partition's base and overlay through read.
func (s *Store) openRef(ref partRef, read func(string) ([]byte, error)) (*person, error) {
	b, err := read(ref.Base)
	if err != nil {
		return nil, err
	}
	base, err := openPFile(ref.Base, b)
	if err != nil {
		return nil, err
	}
	p := &person{base: base}
	if ref.Over == "" {
		p.groups = base.groups
		p.src = make([]*pfile, len(base.groups))
		p.idx = make([]int, len(base.groups))
		for i := range p.groups {
			p.src[i], p.idx[i] = base, i
		}
		return p, nil
	}
	if b, err = read(ref.Over); err != nil {
		return nil, err
	}
	if p.over, err = openPFile(ref.Over, b); err != nil {
		return nil, err
	}
	i, j := 0, 0
	for i < len(base.groups) || j < len(p.over.groups) {
		if i < len(base.groups) && p.over.touched[personKey(base.groups[i].account, base.groups[i].email)] {
			i++
			continue
		}
		if j == len(p.over.groups) || i < len(base.groups) && compareGroup(base.groups[i], p.over.groups[j]) < 0 {
			p.groups, p.src, p.idx = append(p.groups, base.groups[i]), append(p.src, base), append(p.idx, i)
			i++
		} else {
			p.groups, p.src, p.idx = append(p.groups, p.over.groups[j]), append(p.src, p.over), append(p.idx, j)
			j++
		}
	}
	return p, nil
}

func compareGroup(a, b group) int {
	return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.email, b.email))
}

// entries returns the object privileges of group g's rows. The first group
// asked of a file decodes only the dictionary entries it names, up to the
// last: a point question reads one person of the partition. A second decodes
// the whole dictionary once, which every later group shares.
func (p *pfile) entries(g int) ([]model.ObjectPrivilege, error) {
	if p.dict != nil || p.picked {
		ids, err := p.ids(g, nil)
		if err != nil {
			return nil, err
		}
		out := make([]model.ObjectPrivilege, len(ids))
		for i, id := range ids {
			out[i] = p.dict.at(id)
		}
		return out, nil
	}
	p.picked = true
	ids, err := groupRows(p.secs[secRows], p.groups[g], nil)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	// Indexes are ascending: each is found in one pass of the dictionary.
	out := make([]model.ObjectPrivilege, 0, len(ids))
	err = scanDict(p.secs[secDict], func(i int, typ string, name []byte, priv string) bool {
		if int32(i) == ids[len(out)] {
			o := model.ObjectPrivilege{Type: typ, Name: string(name), Privilege: priv}
			for len(out) < len(ids) && ids[len(out)] == int32(i) {
				out = append(out, o)
			}
		}
		return len(out) < len(ids)
	})
	if err == nil && len(out) < len(ids) {
		err = errCorrupt
	}
	return out, err
}

// rows appends group g's rows.
func (p *person) rows(g int, out []model.Row) ([]model.Row, error) {
	objs, err := p.src[g].entries(p.idx[g])
	if err != nil {
		return nil, err
	}
	gr := p.groups[g]
	for _, o := range objs {
		out = append(out, model.Row{Account: gr.account, Email: gr.email, ObjectType: o.Type, ObjectName: o.Name, Privilege: o.Privilege})
	}
	return out, nil
}

func (p *person) onObjects(names map[string]bool, out []model.Row) ([]model.Row, error) {
	if p.over == nil {
		return p.base.onObjects(names, nil, out)
	}
	out, err := p.base.onObjects(names, p.over.touched, out)
	if err != nil {
		return nil, err
	}
	return p.over.onObjects(names, nil, out)
}

// members returns the partition's memberships of emails (all when nil) that
// keep accepts (all when nil), in file order: the base's for people the overlay
// does not replace, then the overlay's.
func (p *person) members(emails map[string]bool, keep func(*model.Membership) bool) ([]model.Membership, error) {
	if p.over == nil {
		return decodeMembers(p.base.secs[secMembers], emails, keep)
	}
	out, err := decodeMembers(p.base.secs[secMembers], emails, func(ms *model.Membership) bool {
		return !p.over.touched[personKey(ms.Account, ms.Email)] && (keep == nil || keep(ms))
	})
	if err != nil {
		return nil, err
	}
	more, err := decodeMembers(p.over.secs[secMembers], emails, keep)
	return append(out, more...), err
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
func sortMemberships(ms []model.Membership, rank func(string) int) {
	slices.SortStableFunc(ms, func(a, b model.Membership) int {
		return cmp.Or(cmp.Compare(rank(a.Account), rank(b.Account)), strings.Compare(a.Email, b.Email))
	})
}

// sortGrants puts grants from several partitions back in the grant table's order:
// account, role, object, and a grant as such before the same one by ownership.
func sortGrants(gs []model.Grant, rank func(string) int) {
	slices.SortStableFunc(gs, func(a, b model.Grant) int {
		return cmp.Or(cmp.Compare(rank(a.Account), rank(b.Account)), strings.Compare(a.Role, b.Role),
			strings.Compare(a.ObjectType, b.ObjectType), strings.Compare(a.ObjectName, b.ObjectName),
			strings.Compare(a.Privilege, b.Privilege), strings.Compare(a.Via, b.Via))
	})
}

// bySeq returns the records of account in the lists, in their places' order.
func bySeq[T any](account string, lists ...[]seqRecord[T]) []T {
	// The records are large (a grants_to_roles row is a dozen fields), so their
	// places are sorted, not the records, and only when they are not in order
	// already (the core's are).
	type at struct{ list, i, seq int }
	var mine []at
	for l, rs := range lists {
		for i := range rs {
			if rs[i].account == account {
				mine = append(mine, at{l, i, rs[i].seq})
			}
		}
	}
	if len(mine) == 0 {
		return nil
	}
	byPlace := func(a, b at) int { return cmp.Compare(a.seq, b.seq) }
	if !slices.IsSortedFunc(mine, byPlace) {
		slices.SortFunc(mine, byPlace)
	}
	out := make([]T, len(mine))
	for j, r := range mine {
		out[j] = lists[r.list][r.i].v
	}
	return out
}

// mirror builds the Mirror of a generation from what was read of it.
func (h *handle) mirror(rows []model.Row, members []model.Membership, c *core, recs *objectRecords) *model.Mirror {
	rank := h.accountOrder()
	sortMemberships(members, rank)
	// A grant or history record can be read twice, by object and by role or user.
	seen := map[model.Grant]bool{}
	recs.grants = slices.DeleteFunc(recs.grants, func(g model.Grant) bool {
		dup := seen[g]
		seen[g] = true
		return dup
	})
	sortGrants(recs.grants, rank)
	type at struct {
		account string
		seq     int
	}
	seenHistory := map[at]bool{}
	recs.history = slices.DeleteFunc(recs.history, func(r seqRecord[model.AccessEvent]) bool {
		dup := seenHistory[at{r.account, r.seq}]
		seenHistory[at{r.account, r.seq}] = true
		return dup
	})
	m := &model.Mirror{Meta: h.st.Meta, Excluded: h.st.Excluded, Masked: h.st.Masked,
		Access: model.NewAccess(rows), Memberships: members, Grants: recs.grants}
	if h.st.Layout.HasSnapshot && c.accounts != nil {
		m.Snapshot = &model.Snapshot{}
		for _, sa := range h.st.Layout.Snapshot {
			a := *c.accounts[sa.Name]
			a.RoleGrants = bySeq(a.Name, c.roleGrants, recs.roleGrants)
			a.Tags = bySeq(a.Name, recs.tags)
			a.Policies = bySeq(a.Name, recs.policies)
			a.History = bySeq(a.Name, recs.history)
			m.Snapshot.Accounts = append(m.Snapshot.Accounts, &a)
		}
	}
	return m
}

// core decodes the generation's core file; without tables, only the user index;
// with own, of the users only those filed under its addresses.
func (h *handle) core(tables bool, own map[string]bool) (*core, error) {
	b, err := h.file(h.st.Layout.Core)
	if err != nil {
		return nil, err
	}
	c, err := decodeCore(b, h.st.Layout.Snapshot, tables, own)
	if err != nil {
		return nil, fmt.Errorf("generation %d core: %w", h.n, err)
	}
	return c, nil
}

// Open reads generation n (0: current) back whole.
func (s *Store) Open(ctx context.Context, n int) (*model.Mirror, error) {
	h, err := s.acquire(n)
	if err != nil {
		return nil, err
	}
	defer h.release()
	var rows []model.Row
	var members []model.Membership
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
		ms, err := p.members(nil, nil)
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
		if err := decodeObject(b, nil, true, recs); err != nil {
			return nil, errPart("object", k, err)
		}
	}
	c, err := h.core(true, nil)
	if err != nil {
		return nil, err
	}
	return h.mirror(rows, members, c, recs), nil
}

// Slice reads only what the focus concerns: the people's partitions (and those
// of other addresses of the same Snowflake users), each once however many of
// the people it holds, and the role partitions of their roles and users; the
// audience section of each person partition for the objects (unless
// NoAudience), and the object partitions of the objects and their containers.
func (s *Store) Slice(ctx context.Context, n int, f model.Focus) (*model.Mirror, error) {
	if f.Empty() {
		return s.Open(ctx, n)
	}
	h, err := s.acquire(n)
	if err != nil {
		return nil, err
	}
	defer h.release()
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
	people := f.People()
	if len(f.Roles) > 0 {
		// Memberships are filed by person: the holders of a role are found in
		// the memberships of every partition, decoded, not their rows.
		holders, roles := map[string]bool{}, map[string]bool{}
		for _, r := range f.Roles {
			roles[r] = true
		}
		for k := range numParts {
			p, err := personOf(k)
			if err != nil {
				return nil, err
			}
			if err := p.eachMember(func(_, email, role []byte) {
				if roles[string(role)] && !holders[string(email)] {
					holders[string(email)] = true
				}
			}); err != nil {
				return nil, errPart("person", k, err)
			}
		}
		for _, e := range people {
			holders[e] = true
		}
		people = slices.Sorted(maps.Keys(holders))
	}
	want := map[string]bool{}
	for _, e := range people {
		want[e] = true
	}
	var own map[string]bool
	if f.OwnUsers && h.st.Settings != nil {
		own = want
	}
	c, err := h.core(!f.NoSnapshot, own)
	if err != nil {
		return nil, err
	}
	var rows []model.Row
	var members []model.Membership
	if len(people) > 0 {
		// The people's rows, partition by partition: several people of one
		// partition cost one read of it.
		byPart := map[int]bool{}
		for _, e := range people {
			byPart[partOf(e)] = true
		}
		if f.NoPersonRows && !f.NoAudience {
			clear(byPart)
		}
		for _, k := range slices.Sorted(maps.Keys(byPart)) {
			p, err := personOf(k)
			if err != nil {
				return nil, err
			}
			for g := range p.groups {
				if want[p.groups[g].email] {
					if rows, err = p.rows(g, rows); err != nil {
						return nil, errPart("person", k, err)
					}
				}
			}
		}
		if f.NoPersonRows {
			// With NoAudience too, the people's rows on the objects are all
			// the rows the slice keeps.
			rows = slices.DeleteFunc(rows, func(r model.Row) bool { return !slices.Contains(f.Objects, r.ObjectName) })
		}
		// The people's users, and every address those users are filed under.
		users := map[[2]string]bool{}
		emails := map[string]bool{}
		for _, e := range people {
			us, err := c.usersOf(e)
			if err != nil {
				return nil, fmt.Errorf("generation %d core: %w", h.n, err)
			}
			for _, u := range us {
				users[u] = true
				es, err := c.emailsOf(u)
				if err != nil {
					return nil, fmt.Errorf("generation %d core: %w", h.n, err)
				}
				for _, e := range es {
					emails[e] = true
				}
			}
		}
		clear(byPart)
		for e := range emails {
			byPart[partOf(e)] = true
		}
		for _, k := range slices.Sorted(maps.Keys(byPart)) {
			p, err := personOf(k)
			if err != nil {
				return nil, err
			}
			ms, err := p.members(emails, func(ms *model.Membership) bool {
				return users[[2]string{ms.Account, ms.User}]
			})
			if err != nil {
				return nil, errPart("person", k, err)
			}
			members = append(members, ms...)
			h.shedPerson(p)
		}
	}
	recs := &objectRecords{}
	// What the people hold and why: every grant to their roles, and their
	// users' access history; and the grants of the roles asked for by name.
	roles, users := map[string]bool{}, map[string]bool{}
	for _, ms := range members {
		roles[roleKey(ms.Account, ms.Role)] = true
		users[userKey(ms.Account, ms.User)] = true
	}
	for _, r := range f.RoleGrants {
		for _, a := range h.st.Meta.Accounts {
			roles[roleKey(a.Name, r)] = true
		}
	}
	if f.NoSnapshot {
		// Access history is the snapshot's.
		clear(users)
	}
	if len(roles)+len(users) > 0 {
		byPart := map[int]bool{}
		for k := range roles {
			byPart[partOf(k)] = true
		}
		for k := range users {
			byPart[partOf(k)] = true
		}
		for k := range byPart {
			b, err := h.file(h.st.Layout.Roles[k])
			if err != nil {
				return nil, err
			}
			if err := decodeRoles(b, roles, users, recs); err != nil {
				return nil, errPart("role", k, err)
			}
			shedPages(b)
		}
	}
	if len(f.Objects) > 0 {
		focus := map[string]bool{}
		for _, o := range f.Objects {
			focus[o] = true
		}
		// With NoAudience the people's rows on the objects were read with theirs.
		if !f.NoAudience {
			for k := range numParts {
				p, err := personOf(k)
				if err != nil {
					return nil, err
				}
				if rows, err = p.onObjects(focus, rows); err != nil {
					return nil, errPart("person", k, err)
				}
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
			if err := decodeObject(b, names, !f.NoSnapshot, recs); err != nil {
				return nil, errPart("object", k, err)
			}
			shedPages(b)
		}
	}
	return h.mirror(rows, members, c, recs), nil
}

// objectSet is the objects with their containers, as SliceOf reads them.
func objectSet(objects []string) map[string]bool {
	set := map[string]bool{}
	for _, o := range objects {
		set[o] = true
		for _, c := range model.ContainerNames(o) {
			set[c] = true
		}
	}
	return set
}

// Scan streams generation n in table order: the person partitions are each in
// table order, and a merge of their groups by account and email interleaves them.
// It holds every partition's group list and dictionary, never the rows.
func (s *Store) Scan(ctx context.Context, n int, fn func(model.Row) error) error {
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
	var buf []model.Row
	sinceShed := 0
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
		if sinceShed += len(buf); sinceShed >= s.shedRows {
			sinceShed = 0
			h.shed()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// eachMember calls fn with the account, email and role of the partition's
// memberships, as members returns them (the base's for people the overlay does
// not replace, then the overlay's), as bytes valid during the call.
func (p *person) eachMember(fn func(account, email, role []byte)) error {
	if p.over == nil {
		return scanMembers(p.base.secs[secMembers], fn)
	}
	// A person's memberships are consecutive: one lookup each.
	var lastAccount, lastEmail []byte
	replaced := false
	err := scanMembers(p.base.secs[secMembers], func(account, email, role []byte) {
		if !bytes.Equal(email, lastEmail) || !bytes.Equal(account, lastAccount) || lastEmail == nil {
			lastAccount, lastEmail = append(lastAccount[:0], account...), append(lastEmail[:0], email...)
			replaced = p.over.touched[personKey(string(account), string(email))]
		}
		if !replaced {
			fn(account, email, role)
		}
	})
	if err != nil {
		return err
	}
	return scanMembers(p.over.secs[secMembers], fn)
}

// People lists the people of every person partition's memberships.
func (s *Store) People(ctx context.Context, n int) ([]model.Person, error) {
	h, err := s.acquire(n)
	if err != nil {
		return nil, err
	}
	defer h.release()
	var out []model.Person
	for k := range numParts {
		p, err := h.person(k)
		if err != nil {
			return nil, err
		}
		var last model.Person
		err = p.eachMember(func(account, email, _ []byte) {
			// A person's memberships are consecutive: one string each.
			if string(email) != last.Email || string(account) != last.Account {
				last = model.Person{Account: string(account), Email: string(email)}
				out = append(out, last)
			}
		})
		if err != nil {
			return nil, errPart("person", k, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return model.SortPeople(out), nil
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
func (s *Store) Changes(ctx context.Context, from, to int, f model.Focus) (*model.Changes, error) {
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
	c := &model.Changes{From: a.n, To: b.n}
	match := f.Matches()
	// A question about people alone reads only their partitions.
	var only map[int]bool
	if people := f.People(); len(f.Objects) == 0 && len(people) > 0 {
		only = map[int]bool{}
		for _, e := range people {
			only[partOf(e)] = true
		}
	}
	for k := range numParts {
		if only != nil && !only[k] {
			continue
		}
		if a.st.Layout.Persons[k].same(b.st.Layout.Persons[k]) {
			continue
		}
		pa, err := a.person(k)
		if err != nil {
			return nil, err
		}
		pb, err := b.person(k)
		if err != nil {
			return nil, err
		}
		added, removed, _, _, err := diffPartition(pa, pb, match, true)
		if err != nil {
			return nil, errPart("person", k, err)
		}
		c.Added = append(c.Added, added...)
		c.Removed = append(c.Removed, removed...)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(c.Added, model.Row.Compare)
	slices.SortFunc(c.Removed, model.Row.Compare)
	return c, nil
}

// diffPartition compares two versions of a person partition: the rows of b
// missing from a (added) and the reverse (removed). With collect it returns those
// rows that match accepts (all when match is nil); without, only their numbers,
// per account.
// Groups are merged by account and email; a group read from the same place of the
// same file in both is equal without decoding (an overlay over a shared base
// costs only its own people), others are merged row by row.
func diffPartition(pa, pb *person, match func(model.Row) bool, collect bool) (added, removed []model.Row, nAdded, nRemoved map[string]int, err error) {
	nAdded, nRemoved = map[string]int{}, map[string]int{}
	emit := func(out []model.Row, g group, o model.ObjectPrivilege) []model.Row {
		r := model.Row{Account: g.account, Email: g.email, ObjectType: o.Type, ObjectName: o.Name, Privilege: o.Privilege}
		if match == nil || match(r) {
			out = append(out, r)
		}
		return out
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
			c = compareGroup(pa.groups[i], pb.groups[j])
		}
		if c == 0 && pa.idx[i] == pb.idx[j] && pa.src[i].name == pb.src[j].name {
			i, j = i+1, j+1
			continue
		}
		ia, ib = ia[:0], ib[:0]
		var fa, fb *pfile
		if c <= 0 {
			fa = pa.src[i]
			if ia, err = fa.ids(pa.idx[i], ia); err != nil {
				return nil, nil, nil, nil, err
			}
		}
		if c >= 0 {
			fb = pb.src[j]
			if ib, err = fb.ids(pb.idx[j], ib); err != nil {
				return nil, nil, nil, nil, err
			}
		}
		x, y := 0, 0
		for x < len(ia) || y < len(ib) {
			d := 0
			switch {
			case y == len(ib):
				d = -1
			case x == len(ia):
				d = 1
			default:
				d = compareObject(fa.dict.at(ia[x]), fb.dict.at(ib[y]))
			}
			switch {
			case d < 0:
				nRemoved[pa.groups[i].account]++
				if collect {
					removed = emit(removed, pa.groups[i], fa.dict.at(ia[x]))
				}
				x++
			case d > 0:
				nAdded[pb.groups[j].account]++
				if collect {
					added = emit(added, pb.groups[j], fb.dict.at(ib[y]))
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

var _ model.Store = (*Store)(nil)
var _ model.Reader = (*Store)(nil)
