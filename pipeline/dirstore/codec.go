package dirstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The partition files are written with a small binary encoding of our own rather
// than Parquet: a point lookup decodes one person's group or one object's records
// in place, and writing is a loop of varints with no column builders (BENCHMARKS.md
// §6 has the numbers behind the choice).

// enc appends values to a byte slice.
type enc struct{ b []byte }

func (e *enc) uvarint(u uint64) { e.b = binary.AppendUvarint(e.b, u) }
func (e *enc) varint(i int64)   { e.b = binary.AppendVarint(e.b, i) }
func (e *enc) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// errCorrupt marks a partition file that does not decode: it was changed or cut
// after it was written (files are named by the hash of their content).
var errCorrupt = errors.New("corrupt partition file")

// dec reads what enc wrote; the first error sticks and every later read returns
// zero values, so callers check err once.
type dec struct {
	b   []byte
	off int
	err error
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.off = len(d.b)
}

func (d *dec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	u, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return u
}

func (d *dec) varint() int64 {
	if d.err != nil {
		return 0
	}
	i, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return i
}

// count reads a length that must fit in what is left of the input, so a corrupt
// length cannot make a decoder allocate without bound.
func (d *dec) count() int {
	u := d.uvarint()
	if u > uint64(len(d.b)-d.off) {
		d.fail()
		return 0
	}
	return int(u)
}

func (d *dec) bytes() []byte {
	n := d.count()
	if d.err != nil {
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

func (d *dec) str() string { return string(d.bytes()) }

// table is a section of records in which a string equal to the same field of
// the previous record is written as a single zero: records come sorted (grants by
// role and object, memberships by person), so most fields repeat, and this costs
// one comparison where a string table would cost a hash lookup.
type table struct {
	prev []string
	col  int
	body enc
	n    int
}

func newTable() *table { return &table{} }

// grow reserves room for n more records of about size bytes each, so a large
// table is not copied again and again as it grows.
func (t *table) grow(n, size int) *table {
	t.body.b = slices.Grow(t.body.b, n*size)
	return t
}

func (t *table) str(s string) {
	if t.col < len(t.prev) && t.prev[t.col] == s {
		t.body.uvarint(0)
	} else {
		t.body.uvarint(uint64(len(s)) + 1)
		t.body.b = append(t.body.b, s...)
		if t.col == len(t.prev) {
			t.prev = append(t.prev, s)
		}
		t.prev[t.col] = s
	}
	t.col++
}

// strs writes a list of strings; tableReader.path reads it back.
func (t *table) strs(ss []string) {
	t.body.uvarint(uint64(len(ss)))
	for _, s := range ss {
		t.str(s)
	}
}

func (t *table) uint(u uint64) { t.body.uvarint(u) }
func (t *table) int(i int64)   { t.body.varint(i) }
func (t *table) bool(b bool) {
	if b {
		t.body.uvarint(1)
	} else {
		t.body.uvarint(0)
	}
}

// time stores a timestamp as nanoseconds, zero as zero: every time in a snapshot
// is an instant, read back in UTC.
func (t *table) time(v time.Time) {
	if v.IsZero() {
		t.body.uvarint(0)
		return
	}
	t.body.uvarint(1)
	t.body.varint(v.UnixNano())
}

func (t *table) end() {
	t.n++
	t.col = 0
}

// appendTo writes the table: its record count and its records.
func (t *table) appendTo(e *enc) {
	e.uvarint(uint64(t.n))
	e.uvarint(uint64(len(t.body.b)))
	e.b = append(e.b, t.body.b...)
}

// tableReader reads a table back, record by record; next must be called after
// each record, as end was after each written one.
type tableReader struct {
	// prev holds each column's latest value as the bytes in the buffer, and the
	// string made of them once someone asked for it: a value repeated from the
	// record before costs nothing, and a record skipped allocates nothing.
	prev []prevValue
	col  int
	n    int
	d    dec
	// whole is the table's bytes as one string once shareStrings made it: its
	// strings are then cut from it, not each allocated and copied.
	whole string
}

type prevValue struct {
	b   []byte
	off int // where b starts in the table's bytes
	s   string
	str bool
}

// shareStrings makes every string the table yields a substring of one copy of
// the table, made now: a table whose strings are mostly kept (the core, an
// object partition's records) costs one allocation instead of one per string,
// and any string kept keeps the whole table alive, which suits tables that
// are read whole or small.
func (t *tableReader) shareStrings() *tableReader {
	t.whole = string(t.d.b)
	return t
}

func readTable(d *dec) *tableReader {
	t := &tableReader{n: d.count()}
	t.d = dec{b: d.bytes()}
	if d.err != nil {
		t.d.err = d.err
	}
	return t
}

// raw reads a string column as the bytes in the buffer.
func (t *tableReader) raw() *prevValue {
	u := t.d.uvarint()
	if u == 0 {
		if t.col >= len(t.prev) {
			t.d.fail()
			return &prevValue{}
		}
		t.col++
		return &t.prev[t.col-1]
	}
	n := int(u - 1)
	if n > len(t.d.b)-t.d.off || u-1 > uint64(len(t.d.b)) {
		t.d.fail()
		return &prevValue{}
	}
	b := t.d.b[t.d.off : t.d.off+n : t.d.off+n]
	t.d.off += n
	if t.col == len(t.prev) {
		t.prev = append(t.prev, prevValue{})
	}
	t.prev[t.col] = prevValue{b: b, off: t.d.off - n}
	t.col++
	return &t.prev[t.col-1]
}

func (t *tableReader) str() string { return t.strOf(t.raw()) }

// strOf is the string of a value raw returned, made once.
func (t *tableReader) strOf(v *prevValue) string {
	if !v.str {
		if t.whole != "" {
			v.s = t.whole[v.off : v.off+len(v.b)]
		} else {
			v.s = string(v.b)
		}
		v.str = true
	}
	return v.s
}

// bytes reads a string column without making a string of it; the bytes are
// the buffer's, valid while it is.
func (t *tableReader) bytes() []byte { return t.raw().b }

func (t *tableReader) next() { t.col = 0 }

// paths reads a list of strings written by strs, giving every equal list read
// through the same seen the same slice: role paths repeat across everyone who
// holds a role the same way, and a partition's memberships hold a few thousand
// distinct paths among hundreds of thousands. The slices are shared, so they
// must not be modified.
type paths struct {
	seen map[string][]string
	key  []byte
}

func (t *tableReader) path(ps *paths) []string {
	n := t.d.count()
	if n == 0 {
		return nil
	}
	// The key is each value's length and bytes, so no two lists share one.
	start, k := t.col, ps.key[:0]
	for range n {
		b := t.raw().b
		k = binary.AppendUvarint(k, uint64(len(b)))
		k = append(k, b...)
	}
	ps.key = k
	if t.d.err != nil || t.col-start != n {
		t.d.fail()
		return nil
	}
	if p, ok := ps.seen[string(k)]; ok {
		return p
	}
	out := make([]string, n)
	for i := range out {
		out[i] = t.strOf(&t.prev[start+i])
	}
	if ps.seen == nil {
		ps.seen = map[string][]string{}
	}
	ps.seen[string(k)] = out
	return out
}

func (t *tableReader) uint() uint64 { return t.d.uvarint() }
func (t *tableReader) int() int64   { return t.d.varint() }
func (t *tableReader) bool() bool   { return t.d.uvarint() == 1 }
func (t *tableReader) time() time.Time {
	if t.d.uvarint() == 0 {
		return time.Time{}
	}
	return time.Unix(0, t.d.varint()).UTC()
}

func (t *tableReader) err(what string) error {
	if t.d.err != nil {
		return fmt.Errorf("%s: %w", what, t.d.err)
	}
	return nil
}

// keyed encodes records grouped by key, each group a table of its own, with the
// keys sorted and an array of fixed-width offsets to them: a reader finds a key
// by binary search and decodes only its records, where one table of everything
// would be read from its start. Keys may come in any order.
type keyed struct {
	tables map[string]*table
	last   string
	cur    *table
}

// at is the table of key's records.
func (k *keyed) at(key string) *table {
	if k.cur != nil && key == k.last {
		return k.cur
	}
	if k.tables == nil {
		k.tables = map[string]*table{}
	}
	t := k.tables[key]
	if t == nil {
		t = newTable()
		k.tables[key] = t
	}
	k.last, k.cur = key, t
	return t
}

// bytes writes the key count, one 4-byte offset per key into the index, the
// index (each key and the offset of its records), and the records.
func (k *keyed) bytes() []byte {
	keys := slices.Sorted(maps.Keys(k.tables))
	offs := make([]byte, 4*len(keys))
	var index, data enc
	for i, key := range keys {
		binary.LittleEndian.PutUint32(offs[4*i:], uint32(len(index.b)))
		index.str(key)
		index.uvarint(uint64(len(data.b)))
		k.tables[key].appendTo(&data)
	}
	e := enc{b: make([]byte, 0, len(offs)+len(index.b)+len(data.b)+3*binary.MaxVarintLen64)}
	e.uvarint(uint64(len(keys)))
	e.b = append(e.b, offs...)
	e.uvarint(uint64(len(index.b)))
	e.b = append(e.b, index.b...)
	e.uvarint(uint64(len(data.b)))
	e.b = append(e.b, data.b...)
	return e.b
}

// keyedReader reads what keyed wrote, in place.
type keyedReader struct {
	n           int
	offs, index []byte
	data        []byte
	// whole is data as one string while each reads every run: their strings
	// are cut from it rather than from a copy of each run, and one reader
	// (scratch) reads them all, so a run costs no allocation.
	whole   string
	scratch tableReader
}

func readKeyed(b []byte) (*keyedReader, error) {
	d := dec{b: b}
	n := d.count()
	if n > (len(b)-d.off)/4 {
		return nil, errCorrupt
	}
	r := &keyedReader{n: n, offs: b[d.off : d.off+4*n]}
	d.off += 4 * n
	r.index = d.bytes()
	r.data = d.bytes()
	return r, d.err
}

// entry is the i-th key and the offset of its records.
func (r *keyedReader) entry(i int) ([]byte, int, error) {
	off := int(binary.LittleEndian.Uint32(r.offs[4*i:]))
	if off > len(r.index) {
		return nil, 0, errCorrupt
	}
	d := dec{b: r.index, off: off}
	key := d.bytes()
	at := d.uvarint()
	if d.err == nil && at > uint64(len(r.data)) {
		d.fail()
	}
	return key, int(at), d.err
}

// find returns the records of key, nil if it has none.
func (r *keyedReader) find(key string) (*tableReader, error) {
	lo, hi := 0, r.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, at, err := r.entry(mid)
		if err != nil {
			return nil, err
		}
		switch c := strings.Compare(string(k), key); {
		case c == 0:
			return r.records(at), nil
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return nil, nil
}

// records reads the run at an offset; its strings share one copy of it, or of
// the whole section.
func (r *keyedReader) records(at int) *tableReader {
	d := dec{b: r.data, off: at}
	if r.whole == "" {
		return readTable(&d).shareStrings()
	}
	t := &r.scratch
	*t = tableReader{prev: t.prev[:0], n: d.count()}
	t.d = dec{b: d.bytes(), err: d.err}
	if d.err == nil {
		t.whole = r.whole[d.off-len(t.d.b) : d.off]
	}
	return t
}

// count is how many records the runs hold together, read from their headers.
func (r *keyedReader) count() (int, error) {
	n := 0
	for i := range r.n {
		_, at, err := r.entry(i)
		if err != nil {
			return 0, err
		}
		d := dec{b: r.data, off: at}
		n += d.count()
		if d.err != nil {
			return 0, d.err
		}
	}
	return n, nil
}

// each calls fn with every key's records, in key order.
func (r *keyedReader) each(fn func(key []byte, t *tableReader) error) error {
	r.whole = string(r.data)
	defer func() { r.whole = "" }()
	for i := range r.n {
		k, at, err := r.entry(i)
		if err != nil {
			return err
		}
		if err := fn(k, r.records(at)); err != nil {
			return err
		}
	}
	return nil
}

// findRuns calls fn with the records of each wanted key present (every key when
// want is nil), and fails with the first decoding error.
func findRuns(b []byte, want map[string]bool, fn func(t *tableReader)) error {
	r, err := readKeyed(b)
	if err != nil {
		return err
	}
	return r.findAll(want, fn)
}

// findAll is findRuns on a reader already open.
func (r *keyedReader) findAll(want map[string]bool, fn func(t *tableReader)) error {
	visit := func(t *tableReader) error {
		fn(t)
		return t.d.err
	}
	if want == nil {
		return r.each(func(_ []byte, t *tableReader) error { return visit(t) })
	}
	for k := range want {
		t, err := r.find(k)
		if err != nil {
			return err
		}
		if t != nil {
			if err := visit(t); err != nil {
				return err
			}
		}
	}
	return nil
}
