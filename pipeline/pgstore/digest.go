package pgstore

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"slices"
	"sync"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Kinds of row groups (the kind column of the digests table).
const (
	groupAccess      = "access"      // a person's access rows, key the email
	groupMemberships = "memberships" // a person's memberships, key the email
	groupGrants      = "grants"      // a role's grants, key the role
	groupMasked      = "masked"      // an account's masked columns, key empty
)

// groupKey names one group of rows.
type groupKey struct{ kind, account, key string }

func (k groupKey) compare(o groupKey) int {
	return cmp.Or(cmp.Compare(k.kind, o.kind), cmp.Compare(k.account, o.account), cmp.Compare(k.key, o.key))
}

// groupDigest is a SHA-256 of a group's rows, in order, and how many there are.
// objects is, for a person's access rows, how many objects they hold each
// privilege on, as the JSON the digests' objects column stores (see
// objectCounts); nil for the other kinds.
type groupDigest struct {
	sum     []byte
	rows    int
	objects []byte
}

// mirrorGroups is a mirror cut into groups, each with its digest: the unit a
// publish compares with the newest generation and rewrites when it changed.
// Memberships, grants and masked columns are listed by group, each group's rows
// in the mirror's order (members holds their indexes into the mirror's lists).
type mirrorGroups struct {
	digests map[groupKey]groupDigest
	members map[groupKey][]int
}

// digestMirror digests every group of m, the access rows on a second goroutine:
// they are most of the work, and the other lists are independent of them.
func digestMirror(m *model.Mirror) *mirrorGroups {
	g := &mirrorGroups{digests: map[groupKey]groupDigest{}, members: map[groupKey][]int{}}
	var wg sync.WaitGroup
	var people []personDigest
	wg.Add(1)
	go func() {
		defer wg.Done()
		d := newDigester()
		for r := range m.Access.All() {
			d.add(r)
		}
		people = d.done()
	}()
	h := sha256.New()
	var buf []byte
	group := func(kind string, n int, key func(i int) (string, string), write func(buf []byte, i int) []byte) {
		for i := range n {
			account, k := key(i)
			gk := groupKey{kind, account, k}
			g.members[gk] = append(g.members[gk], i)
		}
		for gk, idx := range g.members {
			if gk.kind != kind {
				continue
			}
			h.Reset()
			for _, i := range idx {
				buf = write(buf[:0], i)
				h.Write(buf)
			}
			g.digests[gk] = groupDigest{sum: h.Sum(nil), rows: len(idx)}
		}
	}
	group(groupMemberships, len(m.Memberships), func(i int) (string, string) { return m.Memberships[i].Account, m.Memberships[i].Email },
		func(buf []byte, i int) []byte {
			ms := &m.Memberships[i]
			buf = append(append(append(append(buf, ms.User...), 0), ms.Role...), 0)
			for _, p := range ms.Path {
				buf = append(append(buf, p...), 1)
			}
			return append(buf, 0)
		})
	group(groupGrants, len(m.Grants), func(i int) (string, string) { return m.Grants[i].Account, m.Grants[i].Role },
		func(buf []byte, i int) []byte {
			gr := &m.Grants[i]
			return append(append(append(append(append(append(append(append(buf, gr.ObjectType...), 0), gr.ObjectName...), 0), gr.Privilege...), 0), gr.Via...), 0)
		})
	group(groupMasked, len(m.Masked), func(i int) (string, string) { return m.Masked[i].Account, "" },
		func(buf []byte, i int) []byte {
			c := &m.Masked[i]
			buf = append(append(append(append(append(append(buf, c.ObjectName...), 0), c.Column...), 0), c.Reason...), 0)
			// A policy's rule can change while its column and reason stay: the
			// digest covers it, so the publish rewrites the account's rows.
			if c.Rule != nil {
				b, _ := json.Marshal(c.Rule)
				buf = append(buf, b...)
			}
			return append(buf, 0)
		})
	wg.Wait()
	for _, p := range people {
		g.digests[groupKey{groupAccess, p.account, p.email}] = groupDigest{p.digest, p.rows, p.objects}
	}
	return g
}

// changed returns the groups whose rows differ from old (the digests of the
// newest generation; a nil digest equals nothing), sorted: those with another
// digest, those only in the mirror and those only in old.
func (g *mirrorGroups) changed(old map[groupKey][]byte) []groupKey {
	var out []groupKey
	for k, d := range g.digests {
		if o, ok := old[k]; !ok || o == nil || !bytes.Equal(o, d.sum) {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := g.digests[k]; !ok {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, groupKey.compare)
	return out
}

// personDigest is a SHA-256 of one person's access rows, in order, with their
// object counts.
type personDigest struct {
	account, email string
	digest         []byte
	rows           int
	objects        []byte
}

// digester digests the rows of each person as they stream past, in the table's
// order (by account, then email), so two generations can be compared person by
// person: equal digests mean equal rows.
type digester struct {
	out            []personDigest
	h              hash.Hash
	buf            []byte
	account, email string
	rows           int
	counts         objectCounts
}

func newDigester() *digester { return &digester{h: sha256.New()} }

func (d *digester) add(r model.Row) {
	if d.rows > 0 && (r.Account != d.account || r.Email != d.email) {
		d.flush()
	}
	if d.rows == 0 {
		d.account, d.email = r.Account, r.Email
		d.h.Reset()
	}
	// NUL cannot occur in the text Postgres stores, so it separates fields safely.
	d.buf = append(append(append(append(append(append(d.buf[:0], r.ObjectType...), 0), r.ObjectName...), 0), r.Privilege...), 0)
	d.h.Write(d.buf)
	d.counts.add(r.ObjectType, r.Privilege)
	d.rows++
}

func (d *digester) flush() {
	if d.rows > 0 {
		d.out = append(d.out, personDigest{d.account, d.email, d.h.Sum(nil), d.rows, d.counts.json()})
		d.rows, d.counts = 0, d.counts[:0]
	}
}

// done returns the digests of everyone seen.
func (d *digester) done() []personDigest {
	d.flush()
	return d.out
}

// objectCounts counts one person's rows by object type and privilege. A person's
// rows name each object and privilege once, so a count is a number of objects. A
// person has a handful of pairs, which a slice searches faster than a map.
type objectCounts []objectCount

type objectCount struct {
	objectType, privilege string
	n                     int
}

func (c *objectCounts) add(objectType, privilege string) {
	for i := range *c {
		if e := &(*c)[i]; e.objectType == objectType && e.privilege == privilege {
			e.n++
			return
		}
	}
	*c = append(*c, objectCount{objectType, privilege, 1})
}

// json encodes the counts as the digests' objects column stores them,
// {"TABLE": {"SELECT": 12}}, keys sorted so equal counts encode equally.
func (c objectCounts) json() []byte {
	m := map[string]map[string]int{}
	for _, e := range c {
		if m[e.objectType] == nil {
			m[e.objectType] = map[string]int{}
		}
		m[e.objectType][e.privilege] = e.n
	}
	b, _ := json.Marshal(m) // maps of strings and ints always encode
	return b
}

// background runs f in a goroutine and returns a function that waits for its
// result: a publish digests the mirror and encodes the snapshot on the client
// while the server copies and indexes rows.
func background[T any](f func() (T, error)) func() (T, error) {
	done := make(chan struct{})
	var v T
	var err error
	go func() {
		defer close(done)
		v, err = f()
	}()
	return func() (T, error) {
		<-done
		return v, err
	}
}

// jsonObjects is a group's counts as a COPY value: NULL for the groups that have
// none, the JSON text as is otherwise.
func jsonObjects(b []byte) any {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}
