package model

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// ContentDigest is a SHA-256 of everything a generation publishes: the access
// rows, their provenance (memberships and grants), the excluded users, the
// masked columns, and the Meta that describes them, except what differs from
// one sync of the same data to the next (the generation number, publish and
// extraction times, where each account was read from, the digest itself). Equal digests mean equal generations,
// so a sync whose digest equals the current generation's has nothing to
// publish.
//
// The rows are digested from the compact table flatten builds, not row by row:
// each distinct object once per account, and for each person their list of
// object indexes, a list shared by people with the same roles digested once.
// The digest depends on that structure, which flatten builds the same way from
// the same input; two equal tables built differently only digest differently,
// which publishes an identical generation, never skips a changed one.
func (m *Mirror) ContentDigest() string {
	h := sha256.New()
	d := &digest{w: bufio.NewWriterSize(h, 64<<10)}
	meta := m.Meta
	meta.Generation, meta.PublishedAt, meta.Rows, meta.Digest = 0, time.Time{}, 0, ""
	meta.Accounts = make([]AccountMeta, len(m.Meta.Accounts))
	for i, a := range m.Meta.Accounts {
		meta.Accounts[i] = AccountMeta{Name: a.Name}
	}
	b, err := json.Marshal(meta)
	if err != nil {
		// Meta holds strings, numbers and times only, which always marshal.
		panic(err)
	}
	d.bytes(b)

	if m.Access != nil {
		d.int(len(m.Access.parts))
		lists := listSums{}
		for _, p := range m.Access.parts {
			d.str(p.account)
			d.int(len(p.objects))
			for _, o := range p.objects {
				d.str(o.Type)
				d.str(o.Name)
				d.str(o.Privilege)
			}
			d.int(len(p.emails))
			for i, e := range p.emails {
				d.str(e)
				d.bytes(lists.sum(p.lists[i]))
			}
		}
	}
	d.int(len(m.Memberships))
	for _, ms := range m.Memberships {
		d.str(ms.Account)
		d.str(ms.Email)
		d.str(ms.User)
		d.str(ms.Role)
		d.int(len(ms.Path))
		for _, r := range ms.Path {
			d.str(r)
		}
	}
	d.int(len(m.Grants))
	for _, g := range m.Grants {
		d.str(g.Account)
		d.str(g.Role)
		d.str(g.ObjectType)
		d.str(g.ObjectName)
		d.str(g.Privilege)
		d.str(g.Via)
	}
	d.int(len(m.Excluded))
	for _, x := range m.Excluded {
		d.str(x.Account)
		d.str(x.User)
		d.str(x.Email)
		d.str(x.Reason)
	}
	d.int(len(m.Masked))
	for _, c := range m.Masked {
		d.str(c.Account)
		d.str(c.ObjectName)
		d.str(c.Column)
		d.str(c.Reason)
	}
	// Writes to a hash cannot fail, nor can flushing into one.
	d.w.Flush()
	return hex.EncodeToString(h.Sum(nil))
}

// digest writes values to a hash unambiguously: every string and byte slice
// with its length first. The writes are buffered: most values are a few bytes,
// and a hash pays for every call.
type digest struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
}

func (d *digest) int(n int) { d.w.Write(binary.AppendUvarint(d.buf[:0], uint64(n))) }

func (d *digest) str(s string) {
	d.int(len(s))
	d.w.WriteString(s)
}

func (d *digest) bytes(b []byte) {
	d.int(len(b))
	d.w.Write(b)
}

// listKey identifies one list of object indexes in memory: people who hold the
// same roles share it.
type listKey struct {
	first *int32
	n     int
}

type listSums map[listKey][]byte

// sum digests a list of object indexes once per distinct list.
func (s listSums) sum(l []int32) []byte {
	if len(l) == 0 {
		return nil
	}
	k := listKey{&l[0], len(l)}
	if b, ok := s[k]; ok {
		return b
	}
	h := sha256.New()
	buf := make([]byte, 0, 4*len(l))
	for _, o := range l {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(o))
	}
	h.Write(buf)
	b := h.Sum(nil)
	s[k] = b
	return b
}
