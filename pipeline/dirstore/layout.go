package dirstore

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// numParts is how many person partitions and object partitions a generation has.
// It is fixed so that the same person or object always lands in the same file and
// an unchanged file is shared between generations; 32 keeps a point lookup to a
// thirty-second of the table while the files stay few enough to open at once.
const numParts = 32

// partOf assigns a key (an email, an object name) to a partition with a hash that
// is the same in every process and every version.
func partOf(key string) int {
	// FNV-1a, 64 bits.
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return int(h % numParts)
}

// A partition file is a magic string, a kind byte and length-prefixed sections.
const magic = "GMD1"

const (
	kindPerson = 'p'
	kindObject = 'o'
	kindCore   = 'c'
	kindNames  = 'n'
	kindRoles  = 'r'
)

func frame(kind byte, sections ...[]byte) []byte {
	n := len(magic) + 1
	for _, s := range sections {
		n += binary.MaxVarintLen64 + len(s)
	}
	e := enc{b: make([]byte, 0, n)}
	e.b = append(e.b, magic...)
	e.b = append(e.b, kind)
	e.uvarint(uint64(len(sections)))
	for _, s := range sections {
		e.uvarint(uint64(len(s)))
		e.b = append(e.b, s...)
	}
	return e.b
}

// unframe splits a partition file into its sections.
func unframe(b []byte, kind byte, want int) ([][]byte, error) {
	if len(b) < len(magic)+1 || string(b[:len(magic)]) != magic || b[len(magic)] != kind {
		return nil, errCorrupt
	}
	d := dec{b: b, off: len(magic) + 1}
	n := d.count()
	if n != want {
		return nil, errCorrupt
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = d.bytes()
	}
	return out, d.err
}

// Person partition sections.
const (
	secDict = iota
	secGroups
	secRows
	secAudOffsets
	secAudience
	secMembers
	// secPeople lists every (account, email) of the partition with a digest of its
	// rows and memberships, sorted: the next publish compares digests to find the
	// people who changed without decoding rows.
	secPeople
	// secTouched, in an overlay, lists every person the overlay replaces in its
	// base: those whose rows or memberships changed, including those who are gone.
	secTouched
	personSections
)

// personKey names a person in an account.
func personKey(account, email string) string { return account + "\x00" + email }

// digestMix folds a 64-bit value into a digest.
func digestMix(h, v uint64) uint64 {
	h ^= v
	h *= 1099511628211
	return h ^ h>>29
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// objectHashes hashes each object privilege of a part once, so a person's digest
// costs one mix per row.
func objectHashes(p model.AccessPart) []uint64 {
	out := make([]uint64, len(p.Objects))
	for i, o := range p.Objects {
		out[i] = digestMix(digestMix(hashString(o.Type), hashString(o.Name)), hashString(o.Privilege))
	}
	return out
}

// personDigests computes the digest of every person of a partition input.
func personDigests(in *personInput, members []model.Membership, objHashes [][]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for pi, p := range in.parts {
		for _, ei := range in.emails[pi] {
			h := uint64(1)
			for _, id := range p.Lists[ei] {
				h = digestMix(h, objHashes[pi][id])
			}
			out[personKey(p.Account, p.Emails[ei])] = h
		}
	}
	for _, i := range in.members {
		ms := &members[i]
		k := personKey(ms.Account, ms.Email)
		h := digestMix(out[k], hashString(ms.User))
		h = digestMix(h, hashString(ms.Role))
		for _, r := range ms.Path {
			h = digestMix(h, hashString(r))
		}
		out[k] = digestMix(h, 2)
	}
	return out
}

func encodePeople(digests map[string]uint64) []byte {
	keys := make([]string, 0, len(digests))
	for k := range digests {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var e enc
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.b = binary.LittleEndian.AppendUint64(e.b, digests[k])
	}
	return e.b
}

func decodePeople(b []byte) (map[string]uint64, error) {
	d := dec{b: b}
	n := d.count()
	out := make(map[string]uint64, n)
	for range n {
		k := d.str()
		if d.err != nil || d.off+8 > len(d.b) {
			return nil, errCorrupt
		}
		out[k] = binary.LittleEndian.Uint64(d.b[d.off:])
		d.off += 8
	}
	return out, d.err
}

func encodeTouched(keys []string) []byte {
	slices.Sort(keys)
	var e enc
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
	}
	return e.b
}

func decodeTouched(b []byte) (map[string]bool, error) {
	d := dec{b: b}
	n := d.count()
	out := make(map[string]bool, n)
	for range n {
		out[d.str()] = true
	}
	return out, d.err
}

// personInput is what one person partition holds: for each account, the indexes
// of its emails that hash to the partition, and the memberships of those emails.
type personInput struct {
	parts   []model.AccessPart
	emails  [][]int // per part
	members []int   // indexes into the mirror's memberships
}

// rows counts the access rows of the partition's people.
func (in *personInput) rows() int {
	n := 0
	for pi, p := range in.parts {
		for _, ei := range in.emails[pi] {
			n += len(p.Lists[ei])
		}
	}
	return n
}

// localObject is an object privilege of a partition's dictionary, with where it
// came from.
type localObject struct {
	part int
	id   int32
}

// encodePerson writes one person partition. Its rows are those of its emails in
// table order, each group's object privileges as ascending indexes into the
// partition's own dictionary (the object privileges its people hold, sorted), so
// a partition's bytes depend only on its people: one whose people did not change
// is byte for byte the same and is shared. The audience section is the same rows
// by object, for "who can use this object" without reading by person.
func encodePerson(in *personInput, members []model.Membership, digests map[string]uint64, touched []string) (file []byte, rows int) {
	// The dictionary: mark what the partition's people use, per account, then
	// merge the accounts' marked objects into one sorted list.
	remap := make([][]int32, len(in.parts))
	var lists [][]localObject
	for pi, p := range in.parts {
		if len(in.emails[pi]) == 0 {
			continue
		}
		mark := make([]bool, len(p.Objects))
		for _, ei := range in.emails[pi] {
			for _, id := range p.Lists[ei] {
				mark[id] = true
			}
		}
		var l []localObject
		for id, ok := range mark {
			if ok {
				l = append(l, localObject{pi, int32(id)})
			}
		}
		lists = append(lists, l)
		remap[pi] = make([]int32, len(p.Objects))
	}
	obj := func(o localObject) model.ObjectPrivilege { return in.parts[o.part].Objects[o.id] }
	var dict []model.ObjectPrivilege
	if len(lists) == 1 {
		for _, o := range lists[0] {
			remap[o.part][o.id] = int32(len(dict))
			dict = append(dict, obj(o))
		}
	} else {
		var all []localObject
		for _, l := range lists {
			all = append(all, l...)
		}
		slices.SortStableFunc(all, func(x, y localObject) int { return compareObject(obj(x), obj(y)) })
		for _, o := range all {
			if n := len(dict); n == 0 || dict[n-1] != obj(o) {
				dict = append(dict, obj(o))
			}
			remap[o.part][o.id] = int32(len(dict) - 1)
		}
	}

	var de enc
	encodeDict(&de, dict)

	// Groups and rows, counting rows per object for the audience.
	var ge, re enc
	groups := 0
	for pi := range in.parts {
		groups += len(in.emails[pi])
	}
	ge.uvarint(uint64(groups))
	counts := make([]int32, len(dict))
	for pi, p := range in.parts {
		for _, ei := range in.emails[pi] {
			l := p.Lists[ei]
			ge.str(p.Account)
			ge.str(p.Emails[ei])
			ge.uvarint(uint64(len(l)))
			ge.uvarint(uint64(len(re.b)))
			prev := int32(-1)
			for _, id := range l {
				local := remap[pi][id]
				re.uvarint(uint64(local - prev))
				prev = local
				counts[local]++
			}
			rows += len(l)
		}
	}

	// The audience: for each object, the groups that hold it, ascending.
	starts := make([]int32, len(dict)+1)
	for i, c := range counts {
		starts[i+1] = starts[i] + c
	}
	fill := slices.Clone(starts[:len(dict)])
	postings := make([]int32, rows)
	g := int32(0)
	for pi, p := range in.parts {
		for _, ei := range in.emails[pi] {
			for _, id := range p.Lists[ei] {
				local := remap[pi][id]
				postings[fill[local]] = g
				fill[local]++
			}
			g++
		}
	}
	offsets := make([]byte, 4*len(dict))
	var ae enc
	for i := range dict {
		binary.LittleEndian.PutUint32(offsets[4*i:], uint32(len(ae.b)))
		ps := postings[starts[i]:starts[i+1]]
		ae.uvarint(uint64(len(ps)))
		prev := int32(-1)
		for _, x := range ps {
			ae.uvarint(uint64(x - prev))
			prev = x
		}
	}

	mt := newTable()
	for _, i := range in.members {
		ms := &members[i]
		mt.str(ms.Account)
		mt.str(ms.Email)
		mt.str(ms.User)
		mt.str(ms.Role)
		mt.strs(ms.Path)
		mt.end()
	}
	var me enc
	mt.appendTo(&me)

	file = frame(kindPerson, de.b, ge.b, re.b, offsets, ae.b, me.b, encodePeople(digests), encodeTouched(touched))
	return file, rows
}

func compareObject(a, b model.ObjectPrivilege) int {
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Privilege, b.Privilege)
}

// encodeDict writes sorted object privileges: types and privileges through a small
// string table, names front-coded against the previous one (sorted names share
// their database and schema).
func encodeDict(e *enc, dict []model.ObjectPrivilege) {
	ids := map[string]int{}
	var strs []string
	id := func(s string) int {
		i, ok := ids[s]
		if !ok {
			i = len(strs)
			ids[s] = i
			strs = append(strs, s)
		}
		return i
	}
	var body enc
	prev := ""
	for _, o := range dict {
		body.uvarint(uint64(id(o.Type)))
		body.uvarint(uint64(id(o.Privilege)))
		common := 0
		for common < len(prev) && common < len(o.Name) && prev[common] == o.Name[common] {
			common++
		}
		body.uvarint(uint64(common))
		body.str(o.Name[common:])
		prev = o.Name
	}
	e.uvarint(uint64(len(strs)))
	for _, s := range strs {
		e.str(s)
	}
	e.uvarint(uint64(len(dict)))
	e.b = append(e.b, body.b...)
}

// scanDict calls fn for every entry of a dictionary, in order, until it returns
// false, with the name in a scratch buffer valid only during the call, so
// looking names up allocates nothing.
func scanDict(b []byte, fn func(i int, typ string, name []byte, priv string) bool) error {
	d := dec{b: b}
	strs := make([]string, d.count())
	for i := range strs {
		strs[i] = d.str()
	}
	n := d.count()
	var name []byte
	for i := 0; i < n && d.err == nil; i++ {
		t, p := d.uvarint(), d.uvarint()
		common := d.uvarint()
		suffix := d.bytes()
		if t >= uint64(len(strs)) || p >= uint64(len(strs)) || common > uint64(len(name)) {
			d.fail()
			break
		}
		name = append(name[:common], suffix...)
		if !fn(i, strs[t], name, strs[p]) {
			break
		}
	}
	return d.err
}

// dict is a person partition's object dictionary, decoded: entry i is the
// object privilege a row of index i names. A scan of the whole generation
// holds every partition's dictionary at once, so an entry is three numbers
// (its name's place in one string of the names, and its type and privilege
// among the partition's few), not an ObjectPrivilege of three strings: 12
// bytes an entry instead of 48 and its name.
type dict struct {
	names      string
	start, end []uint32
	typ, priv  []uint16
	strs       []string
}

func (d *dict) len() int { return len(d.start) }

func (d *dict) at(i int32) model.ObjectPrivilege {
	return model.ObjectPrivilege{Type: d.strs[d.typ[i]], Name: d.names[d.start[i]:d.end[i]], Privilege: d.strs[d.priv[i]]}
}

// decodeDict decodes a dictionary whose names are cut from one string, each
// name once however many privileges of it the dictionary lists.
func decodeDict(b []byte) (*dict, error) {
	d := &dict{}
	index := map[string]uint16{}
	intern := func(s string) uint16 {
		i, ok := index[s]
		if !ok {
			i = uint16(len(d.strs))
			index[s] = i
			d.strs = append(d.strs, s)
		}
		return i
	}
	var all, prev []byte
	err := scanDict(b, func(i int, typ string, name []byte, priv string) bool {
		if i == 0 || string(name) != string(prev) {
			d.start = append(d.start, uint32(len(all)))
			all = append(all, name...)
			d.end = append(d.end, uint32(len(all)))
			prev = append(prev[:0], name...)
		} else {
			d.start, d.end = append(d.start, d.start[i-1]), append(d.end, d.end[i-1])
		}
		d.typ, d.priv = append(d.typ, intern(typ)), append(d.priv, intern(priv))
		return len(d.strs) < 1<<16
	})
	if err == nil && len(d.strs) >= 1<<16 {
		// Types and privileges are a few dozen names; this many is no dictionary
		// grantmirror wrote.
		err = errCorrupt
	}
	d.names = string(all)
	return d, err
}

// group is one (account, email) of a person partition.
type group struct {
	account, email string
	rows           int
	offset         int
}

func decodeGroups(b []byte) ([]group, error) {
	d := dec{b: b}
	gs := make([]group, d.count())
	for i := range gs {
		gs[i] = group{account: d.str(), email: d.str(), rows: int(d.uvarint()), offset: int(d.uvarint())}
	}
	return gs, d.err
}

// groupRows decodes a group's dictionary indexes.
func groupRows(rows []byte, g group, out []int32) ([]int32, error) {
	if g.offset > len(rows) {
		return nil, errCorrupt
	}
	d := dec{b: rows, off: g.offset}
	prev := int64(-1)
	for range g.rows {
		prev += int64(d.uvarint())
		out = append(out, int32(prev))
	}
	return out, d.err
}

// audience decodes the groups holding dictionary entry i.
func audience(offsets, postings []byte, i int, out []int32) ([]int32, error) {
	if 4*i+4 > len(offsets) {
		return nil, errCorrupt
	}
	d := dec{b: postings, off: int(binary.LittleEndian.Uint32(offsets[4*i:]))}
	if d.off > len(postings) {
		return nil, errCorrupt
	}
	n := d.count()
	prev := int64(-1)
	for range n {
		prev += int64(d.uvarint())
		out = append(out, int32(prev))
	}
	return out, d.err
}

// decodeMembers decodes the memberships keep accepts (all when nil). emails,
// when not nil, names the only addresses wanted: the others' records are
// skipped without making strings of them.
func decodeMembers(b []byte, emails map[string]bool, keep func(*model.Membership) bool) ([]model.Membership, error) {
	t := readTable(&dec{b: b})
	var out []model.Membership
	var ps paths
	for range t.n {
		t.next()
		acc, email := t.raw(), t.raw()
		if emails != nil && !emails[string(email.b)] {
			t.raw()
			t.raw()
			for range t.d.count() {
				t.raw()
			}
			continue
		}
		ms := model.Membership{Account: t.strOf(acc), Email: t.strOf(email), User: t.str(), Role: t.str(), Path: t.path(&ps)}
		if keep == nil || keep(&ms) {
			out = append(out, ms)
		}
	}
	return out, t.err("memberships")
}

// scanMembers calls fn with the account, email and role of each membership
// record of a memberships section, in file order, as bytes of b: listing the
// people of a partition, or the holders of roles, makes no string of what it
// skips.
func scanMembers(b []byte, fn func(account, email, role []byte)) error {
	t := readTable(&dec{b: b})
	for range t.n {
		t.next()
		acc, email := t.raw(), t.raw()
		t.raw()
		role := t.raw()
		fn(acc.b, email.b, role.b)
		for range t.d.count() {
			t.raw()
		}
	}
	return t.err("memberships")
}

// Object partition sections: the provenance and snapshot records on the objects
// whose names hash to the partition.
const (
	secGrants = iota
	secRoleGrants
	secTags
	secPolicies
	secHistory
	objectSections
)

// objectInput is what one object partition holds: indexes into the mirror's
// grants and into each account's snapshot tables.
type objectInput struct {
	grants []int
	// names are each snapshot account's grants_to_roles object names, computed
	// once for the whole generation.
	names      [][]string
	roleGrants [][]int // per snapshot account
	tags       [][]int
	policies   [][]int
	history    [][]int
}

func encodeObject(in *objectInput, m *model.Mirror) []byte {
	var gt, rt, tt, pt, ht keyed
	for _, i := range in.grants {
		g := &m.Grants[i]
		writeGrant(gt.at(g.ObjectName), g)
	}
	if m.Snapshot != nil {
		for ai, a := range m.Snapshot.Accounts {
			for _, i := range in.roleGrants[ai] {
				t := rt.at(in.names[ai][i])
				t.str(a.Name)
				t.uint(uint64(i))
				writeRoleGrant(t, &a.RoleGrants[i])
			}
			for _, i := range in.tags[ai] {
				tg := &a.Tags[i]
				t := tt.at(model.RefObject(tg.ObjectDatabase, tg.ObjectSchema, tg.ObjectName))
				t.str(a.Name)
				t.uint(uint64(i))
				for _, s := range []string{tg.TagDatabase, tg.TagSchema, tg.TagName, tg.TagValue, tg.ObjectDatabase, tg.ObjectSchema, tg.ObjectName, tg.Column, tg.Domain} {
					t.str(s)
				}
				t.end()
			}
			for _, i := range in.policies[ai] {
				p := &a.Policies[i]
				t := pt.at(model.RefObject(p.Database, p.Schema, p.Entity))
				t.str(a.Name)
				t.uint(uint64(i))
				for _, s := range []string{p.PolicyName, p.PolicyKind, p.Database, p.Schema, p.Entity, p.Column,
					p.PolicyDatabase, p.PolicySchema, p.EntityDomain, p.TagDatabase, p.TagSchema, p.TagName, p.Status} {
					t.str(s)
				}
				t.end()
			}
			for _, i := range in.history[ai] {
				h := &a.History[i]
				writeHistory(ht.at(model.HistoryObject(h.ObjectName)), a.Name, i, h)
			}
		}
	}
	secs := make([][]byte, objectSections)
	for i, k := range []*keyed{&gt, &rt, &tt, &pt, &ht} {
		secs[i] = k.bytes()
	}
	return frame(kindObject, secs...)
}

func writeGrant(t *table, g *model.Grant) {
	t.str(g.Account)
	t.str(g.Role)
	t.str(g.ObjectType)
	t.str(g.ObjectName)
	t.str(g.Privilege)
	t.str(g.Via)
	t.end()
}

func readGrant(t *tableReader) model.Grant {
	return model.Grant{Account: t.str(), Role: t.str(), ObjectType: t.str(), ObjectName: t.str(), Privilege: t.str(), Via: t.str()}
}

func writeHistory(t *table, account string, seq int, h *model.AccessEvent) {
	t.str(account)
	t.uint(uint64(seq))
	t.str(h.User)
	t.str(h.ObjectDomain)
	t.str(h.ObjectName)
	t.time(h.LastAccessed)
	t.int(h.QueryCount)
	t.end()
}

func readHistory(t *tableReader) seqRecord[model.AccessEvent] {
	acc, seq := t.str(), int(t.uint())
	h := model.AccessEvent{User: t.str(), ObjectDomain: t.str(), ObjectName: t.str(), LastAccessed: t.time(), QueryCount: t.int()}
	return seqRecord[model.AccessEvent]{acc, seq, h}
}

func writeRoleGrant(t *table, rg *model.RoleGrant) {
	t.uint(uint64(rg.Line))
	for _, s := range []string{rg.Privilege, rg.GrantedOn, rg.Name, rg.Catalog, rg.Schema, rg.GrantedTo, rg.Grantee} {
		t.str(s)
	}
	t.bool(rg.GrantOption)
	t.time(rg.DeletedOn)
	t.str(rg.Instance)
	t.end()
}

func readRoleGrant(t *tableReader) model.RoleGrant {
	return model.RoleGrant{Line: int(t.uint()), Privilege: t.str(), GrantedOn: t.str(), Name: t.str(), Catalog: t.str(),
		Schema: t.str(), GrantedTo: t.str(), Grantee: t.str(), GrantOption: t.bool(), DeletedOn: t.time(), Instance: t.str()}
}

// seqRecord is a snapshot record with the account it belongs to and its place in
// that account's table, so records read from several partitions go back in order.
type seqRecord[T any] struct {
	account string
	seq     int
	v       T
}

// objectRecords is what an object partition decodes to, narrowed to the names a
// question needs (nil: all of them).
type objectRecords struct {
	grants     []model.Grant
	roleGrants []seqRecord[model.RoleGrant]
	tags       []seqRecord[model.TagRef]
	policies   []seqRecord[model.PolicyRef]
	history    []seqRecord[model.AccessEvent]
}

// decodeObject adds the grants on the wanted names (nil: all) and, with
// records, their snapshot records. Each section is keyed by object name, so a
// question decodes only its objects' records.
func decodeObject(b []byte, names map[string]bool, records bool, out *objectRecords) error {
	secs, err := unframe(b, kindObject, objectSections)
	if err != nil {
		return err
	}
	err = findRuns(secs[secGrants], names, func(t *tableReader) {
		for range t.n {
			t.next()
			out.grants = append(out.grants, readGrant(t))
		}
	})
	if err != nil || !records {
		return wrapErr("grants", err)
	}
	err = findRuns(secs[secRoleGrants], names, func(t *tableReader) {
		for range t.n {
			t.next()
			acc, seq := t.str(), int(t.uint())
			out.roleGrants = append(out.roleGrants, seqRecord[model.RoleGrant]{acc, seq, readRoleGrant(t)})
		}
	})
	if err != nil {
		return wrapErr("grants_to_roles", err)
	}
	err = findRuns(secs[secTags], names, func(t *tableReader) {
		for range t.n {
			t.next()
			acc, seq := t.str(), int(t.uint())
			tg := model.TagRef{TagDatabase: t.str(), TagSchema: t.str(), TagName: t.str(), TagValue: t.str(),
				ObjectDatabase: t.str(), ObjectSchema: t.str(), ObjectName: t.str(), Column: t.str(), Domain: t.str()}
			out.tags = append(out.tags, seqRecord[model.TagRef]{acc, seq, tg})
		}
	})
	if err != nil {
		return wrapErr("tag_references", err)
	}
	err = findRuns(secs[secPolicies], names, func(t *tableReader) {
		for range t.n {
			t.next()
			acc, seq := t.str(), int(t.uint())
			p := model.PolicyRef{PolicyName: t.str(), PolicyKind: t.str(), Database: t.str(), Schema: t.str(), Entity: t.str(), Column: t.str(),
				PolicyDatabase: t.str(), PolicySchema: t.str(), EntityDomain: t.str(), TagDatabase: t.str(), TagSchema: t.str(), TagName: t.str(), Status: t.str()}
			out.policies = append(out.policies, seqRecord[model.PolicyRef]{acc, seq, p})
		}
	})
	if err != nil {
		return wrapErr("policy_references", err)
	}
	err = findRuns(secs[secHistory], names, func(t *tableReader) {
		for range t.n {
			t.next()
			out.history = append(out.history, readHistory(t))
		}
	})
	return wrapErr("access_history", err)
}

// wrapErr names the section a decoding error came from.
func wrapErr(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Core file sections: the small snapshot tables every question reads whole, and
// which addresses a Snowflake user is filed under.
const (
	secUsers = iota
	secRoles
	secUserGrants
	secRoleRoleGrants
	// secEmailUsers lists each address's Snowflake users (account, name), and
	// secUserEmails each user's addresses, both keyed for binary search: a
	// question about one person reads two entries, not an index of everyone.
	secEmailUsers
	secUserEmails
	coreSections
)

func encodeCore(m *model.Mirror) []byte {
	var ut, gt keyed
	rt, rr := newTable(), newTable()
	if m.Snapshot != nil {
		addresses := model.UserAddresses(m)
		for _, a := range m.Snapshot.Accounts {
			for i := range a.Users {
				// By each address a slice of the people's own users
				// (Focus.OwnUsers) finds the user under, all but the first
				// marked as copies.
				for c, key := range addresses(a.Name, &a.Users[i]) {
					writeUser(ut.at(key), a.Name, i, c > 0, &a.Users[i])
				}
			}
			for i := range a.UserGrants {
				g := &a.UserGrants[i]
				t := gt.at(personKey(a.Name, g.Grantee))
				t.str(a.Name)
				t.uint(uint64(i))
				t.uint(uint64(g.Line))
				t.str(g.Role)
				t.str(g.Grantee)
				t.time(g.DeletedOn)
				t.end()
			}
			for i := range a.Roles {
				r := &a.Roles[i]
				rt.str(a.Name)
				rt.uint(uint64(r.Line))
				rt.str(r.Name)
				rt.str(r.Type)
				rt.str(r.Database)
				rt.time(r.DeletedOn)
				rt.end()
			}
			for i := range a.RoleGrants {
				// The rows every slice keeps go into the core file, which every
				// question reads whole.
				if model.KeptWhole(&a.RoleGrants[i]) {
					rr.str(a.Name)
					rr.uint(uint64(i))
					writeRoleGrant(rr, &a.RoleGrants[i])
				}
			}
		}
	}
	// A user filed under several addresses (email aliases) has memberships under
	// each: the index finds a person's users, and the others from one.
	var byEmail, byUser keyed
	type key struct{ account, user, email string }
	seen := map[key]bool{}
	for i := range m.Memberships {
		ms := &m.Memberships[i]
		k := key{ms.Account, ms.User, ms.Email}
		if !seen[k] {
			seen[k] = true
			t := byEmail.at(ms.Email)
			t.str(ms.Account)
			t.str(ms.User)
			t.end()
			t = byUser.at(personKey(ms.Account, ms.User))
			t.str(ms.Email)
			t.end()
		}
	}
	secs := make([][]byte, coreSections)
	for i, t := range map[int]*table{secRoles: rt, secRoleRoleGrants: rr} {
		var e enc
		t.appendTo(&e)
		secs[i] = e.b
	}
	secs[secUsers], secs[secUserGrants] = ut.bytes(), gt.bytes()
	secs[secEmailUsers], secs[secUserEmails] = byEmail.bytes(), byUser.bytes()
	return frame(kindCore, secs...)
}

// writeUser writes a user of an account's table at place seq; dup marks the
// same record filed again under another key, which a read of every key skips.
func writeUser(t *table, account string, seq int, dup bool, u *model.User) {
	t.str(account)
	t.uint(uint64(seq))
	t.bool(dup)
	t.uint(uint64(u.Line))
	t.str(u.Name)
	t.str(u.Email)
	t.bool(u.Disabled)
	t.time(u.DeletedOn)
	t.str(u.Type)
	t.str(u.LoginName)
	t.str(u.DisplayName)
	t.str(u.DefaultRole)
	t.time(u.ExpiresAt)
	t.bool(u.Expired)
	t.bool(u.SnowflakeLock)
	t.time(u.LockedUntil)
	t.str(string(u.SecondaryRoles))
	t.str(u.SecondaryRaw)
	t.end()
}

// core is the decoded core file.
type core struct {
	accounts map[string]*model.Account // snapshot tables by account name; nil when only the user index was decoded
	// roleGrants are the role-to-role grants, to merge with an object partition's.
	roleGrants []seqRecord[model.RoleGrant]
	// emailUsers and userEmails are the core's user index, read in place.
	emailUsers, userEmails *keyedReader
}

// decodeCore decodes the core file; without tables, only what finds a person's
// users (what a slice without the snapshot needs). own, when not nil, names the
// addresses whose users (and grants to them) the tables keep.
func decodeCore(b []byte, accounts []snapshotAccount, tables bool, own map[string]bool) (*core, error) {
	secs, err := unframe(b, kindCore, coreSections)
	if err != nil {
		return nil, err
	}
	c := &core{}
	if tables {
		if err := c.decodeTables(secs, accounts, own); err != nil {
			return nil, err
		}
	}
	if c.emailUsers, err = readKeyed(secs[secEmailUsers]); err != nil {
		return nil, wrapErr("users by email", err)
	}
	if c.userEmails, err = readKeyed(secs[secUserEmails]); err != nil {
		return nil, wrapErr("emails by user", err)
	}
	return c, nil
}

// usersOf lists the (account, user) pairs filed under email.
func (c *core) usersOf(email string) ([][2]string, error) {
	t, err := c.emailUsers.find(email)
	if err != nil || t == nil {
		return nil, wrapErr("users by email", err)
	}
	out := make([][2]string, 0, t.n)
	for range t.n {
		t.next()
		out = append(out, [2]string{t.str(), t.str()})
	}
	return out, t.err("users by email")
}

// emailsOf lists the addresses a user is filed under.
func (c *core) emailsOf(u [2]string) ([]string, error) {
	t, err := c.userEmails.find(personKey(u[0], u[1]))
	if err != nil || t == nil {
		return nil, wrapErr("emails by user", err)
	}
	out := make([]string, 0, t.n)
	for range t.n {
		t.next()
		out = append(out, t.str())
	}
	return out, t.err("emails by user")
}

// decodeTables decodes the core's snapshot tables into c.accounts.
func (c *core) decodeTables(secs [][]byte, accounts []snapshotAccount, own map[string]bool) error {
	c.accounts = map[string]*model.Account{}
	for _, a := range accounts {
		c.accounts[a.Name] = a.account()
	}
	acc := func(t *tableReader) *model.Account {
		name := t.str()
		a := c.accounts[name]
		if a == nil {
			t.d.fail()
			return &model.Account{}
		}
		return a
	}
	ur, err := readKeyed(secs[secUsers])
	if err != nil {
		return wrapErr("users", err)
	}
	gr, err := readKeyed(secs[secUserGrants])
	if err != nil {
		return wrapErr("grants_to_users", err)
	}
	var users []seqRecord[model.User]
	var grants []seqRecord[model.UserGrant]
	if own == nil {
		// Every user: the tables are sized once.
		nu, err := ur.count()
		if err != nil {
			return wrapErr("users", err)
		}
		ng, err := gr.count()
		if err != nil {
			return wrapErr("grants_to_users", err)
		}
		users, grants = make([]seqRecord[model.User], 0, nu), make([]seqRecord[model.UserGrant], 0, ng)
	}
	// A user found under two of the wanted addresses is kept once.
	type place struct {
		account string
		seq     int
	}
	found := map[place]bool{}
	err = ur.findAll(own, func(t *tableReader) {
		for range t.n {
			t.next()
			account, seq, dup := t.str(), int(t.uint()), t.bool()
			u := model.User{Line: int(t.uint()), Name: t.str(), Email: t.str(), Disabled: t.bool(), DeletedOn: t.time(),
				Type: t.str(), LoginName: t.str(), DisplayName: t.str(), DefaultRole: t.str(), ExpiresAt: t.time(), Expired: t.bool(),
				SnowflakeLock: t.bool(), LockedUntil: t.time(), SecondaryRoles: model.RoleMode(t.str()), SecondaryRaw: t.str()}
			if own == nil && dup || own != nil && found[place{account, seq}] {
				continue
			}
			if own != nil {
				found[place{account, seq}] = true
			}
			users = append(users, seqRecord[model.User]{account, seq, u})
		}
	})
	if err != nil {
		return wrapErr("users", err)
	}
	// The grants to the users kept, by name (all of them when every user is).
	var grantees map[string]bool
	if own != nil {
		grantees = map[string]bool{}
		for _, u := range users {
			grantees[personKey(u.account, u.v.Name)] = true
		}
	}
	err = gr.findAll(grantees, func(t *tableReader) {
		for range t.n {
			t.next()
			account, seq := t.str(), int(t.uint())
			grants = append(grants, seqRecord[model.UserGrant]{account, seq, model.UserGrant{Line: int(t.uint()), Role: t.str(), Grantee: t.str(), DeletedOn: t.time()}})
		}
	})
	if err != nil {
		return wrapErr("grants_to_users", err)
	}
	kept := 0
	for _, a := range accounts {
		b := c.accounts[a.Name]
		b.Users, b.UserGrants = bySeq(a.Name, users), bySeq(a.Name, grants)
		kept += len(b.Users) + len(b.UserGrants)
	}
	if kept != len(users)+len(grants) {
		// A record of an account the generation does not list.
		return fmt.Errorf("users: %w", errCorrupt)
	}
	t := readTable(&dec{b: secs[secRoles]}).shareStrings()
	for range t.n {
		t.next()
		a := acc(t)
		a.Roles = append(a.Roles, model.Role{Line: int(t.uint()), Name: t.str(), Type: t.str(), Database: t.str(), DeletedOn: t.time()})
	}
	if err := t.err("roles"); err != nil {
		return err
	}
	t = readTable(&dec{b: secs[secRoleRoleGrants]}).shareStrings()
	for range t.n {
		t.next()
		name, seq := t.str(), int(t.uint())
		c.roleGrants = append(c.roleGrants, seqRecord[model.RoleGrant]{name, seq, readRoleGrant(t)})
	}
	return t.err("grants_to_roles")
}

// encodeNames writes the distinct object names the grants name, per account,
// sorted: explain's suggestions, without reading the grants.
func encodeNames(m *model.Mirror) []byte {
	t := newTable()
	var account string
	var names []string
	// Grants of one object share its name's string, so its address dedupes most
	// repeats without hashing names; the sort and compact below catch the rest.
	seen := map[*byte]bool{}
	flush := func() {
		slices.Sort(names)
		names = slices.Compact(names)
		for _, n := range names {
			t.str(account)
			t.str(n)
			t.end()
		}
		names = names[:0]
		clear(seen)
	}
	for i := range m.Grants {
		g := &m.Grants[i]
		if g.Account != account {
			flush()
			account = g.Account
		}
		if p := unsafe.StringData(g.ObjectName); !seen[p] {
			seen[p] = true
			names = append(names, g.ObjectName)
		}
	}
	flush()
	var e enc
	t.appendTo(&e)
	return frame(kindNames, e.b)
}

func decodeNames(b []byte, account string) ([]string, error) {
	secs, err := unframe(b, kindNames, 1)
	if err != nil {
		return nil, err
	}
	t := readTable(&dec{b: secs[0]})
	var out []string
	for range t.n {
		t.next()
		a, n := t.str(), t.str()
		if account == "" || a == account {
			out = append(out, n)
		}
	}
	if err := t.err("object names"); err != nil {
		return nil, err
	}
	if account == "" {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out, nil
}

// snapshotAccount is what generation.json records of a snapshot account besides
// its tables.
type snapshotAccount struct {
	Name        string    `json:"name"`
	ExtractedAt time.Time `json:"extracted_at"`
	Source      string    `json:"source"`
	HasRoles    bool      `json:"has_roles"`
	HasHistory  bool      `json:"has_history"`
	// Bodies are the policy definitions: few and small, and every slice keeps
	// them whole, so they live here rather than in a partition.
	Bodies   []model.PolicyBody `json:"policy_bodies,omitempty"`
	BodiesOf map[string]bool    `json:"policy_bodies_of,omitempty"`
}

func (s snapshotAccount) account() *model.Account {
	return &model.Account{Name: s.Name, ExtractedAt: s.ExtractedAt, Source: s.Source, HasRoles: s.HasRoles, HasHistory: s.HasHistory,
		Bodies: s.Bodies, BodiesOf: s.BodiesOf}
}

func errPart(kind string, i int, err error) error {
	return fmt.Errorf("%s partition %d: %w", kind, i, err)
}

// Role partition sections: a person's report needs every grant to the roles the
// person holds and the access history of the person's users, which the object
// partitions cannot answer without reading them all. Each section is a run of
// records per key (account and role; account and upper-cased user name), keyed
// for binary search, so a question decodes only its keys' runs.
const (
	secGrantsByRole = iota
	secHistoryByUser
	roleSections
)

// roleKey and userKey name the runs of a role partition.
func roleKey(account, role string) string { return account + "\x00" + role }
func userKey(account, user string) string { return account + "\x00" + strings.ToUpper(user) }

// roleInput is what one role partition holds: indexes into the mirror's grants,
// in order, and per snapshot account the indexes of access history records.
type roleInput struct {
	grants  []int
	history [][]int
}

func encodeRoles(in *roleInput, m *model.Mirror) []byte {
	var gr keyed
	for _, i := range in.grants {
		g := &m.Grants[i]
		writeGrant(gr.at(roleKey(g.Account, g.Role)), g)
	}
	var hr keyed
	if m.Snapshot != nil {
		for ai, a := range m.Snapshot.Accounts {
			for _, i := range in.history[ai] {
				writeHistory(hr.at(userKey(a.Name, a.History[i].User)), a.Name, i, &a.History[i])
			}
		}
	}
	return frame(kindRoles, gr.bytes(), hr.bytes())
}

// decodeRoles adds the grants of the wanted roles and the history of the wanted
// users to out.
func decodeRoles(b []byte, roles, users map[string]bool, out *objectRecords) error {
	secs, err := unframe(b, kindRoles, roleSections)
	if err != nil {
		return err
	}
	err = findRuns(secs[secGrantsByRole], roles, func(t *tableReader) {
		for range t.n {
			t.next()
			out.grants = append(out.grants, readGrant(t))
		}
	})
	if err != nil {
		return wrapErr("grants by role", err)
	}
	err = findRuns(secs[secHistoryByUser], users, func(t *tableReader) {
		for range t.n {
			t.next()
			out.history = append(out.history, readHistory(t))
		}
	})
	return wrapErr("access history by user", err)
}
