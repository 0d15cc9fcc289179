package pgstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// A generation's snapshot is stored in parts per account (migration 00007): the
// core, which every answer reads whole, partBuckets parts that hold the records
// about the objects whose names hash to them ("o:N") and the access history of
// the users whose names hash to them ("u:N"; those records are also in their
// object's part), and emailBuckets parts of the users filed under the addresses
// that hash to them, with the grants of roles to those users ("e:N"; a grant is
// in the part of every address its grantee's name has). A question about a
// person and an object reads the core and a handful of parts; the whole
// snapshot is every part. Each record keeps its place in its account's table,
// so records read from several parts go back in the order the snapshot had.
// Generations published before the "e:" parts keep their users in the core.

// partBuckets is how many object (and user) parts an account's snapshot has: at
// 400,000 grants to roles, about 400 records a part, so a part decodes in well
// under a millisecond and the parts of a sync that changed 1% of the grants are
// mostly the previous generation's, shared by digest.
const partBuckets = 1024

// emailBuckets is how many parts the users of an account are spread over: a
// question about a person's own users (Focus.OwnUsers) reads one, of about
// 800 users at 50,000, and a slice that needs every user reads them all.
const emailBuckets = 64

const corePart = "core"

// seq is a snapshot record and its place in its account's table.
type seq[T any] struct {
	Seq int
	V   T
}

// snapshotPart is one stored part: Account (the core only) is the account
// without the tables the object parts hold; the tables are the records of the
// part, with their places.
type snapshotPart struct {
	Account    *model.Account
	Users      []seq[model.User]
	UserGrants []seq[model.UserGrant]
	RoleGrants []seq[model.RoleGrant]
	Tags       []seq[model.TagRef]
	Policies   []seq[model.PolicyRef]
	History    []seq[model.AccessEvent]
}

// bucket is the part a name (an object's canonical name, or an upper-cased user
// name) is stored in.
func bucket(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % partBuckets)
}

func objectPart(name string) string { return "o:" + strconv.Itoa(bucket(name)) }
func userPart(user string) string   { return "u:" + strconv.Itoa(bucket(strings.ToUpper(user))) }
func emailPart(email string) string { return "e:" + strconv.Itoa(bucket(email)%emailBuckets) }

// emailParts are the keys of every "e:" part.
var emailParts = func() []string {
	out := make([]string, emailBuckets)
	for i := range out {
		out[i] = "e:" + strconv.Itoa(i)
	}
	return out
}()

// storedPart is an encoded part of one account.
type storedPart struct {
	account, key string
	digest       []byte
	content      []byte
}

// encodeParts splits each account of m's snapshot into its core and object,
// user and address parts, and encodes them; m's settings map users to
// addresses as the generation does (nil: no aliases), and a user is filed in
// the part of each other address its memberships have too.
func encodeParts(m *model.Mirror) ([]storedPart, error) {
	snap := m.Snapshot
	addresses := model.UserAddresses(m)
	var out []storedPart
	for _, a := range snap.Accounts {
		core := *a
		core.Users, core.UserGrants, core.RoleGrants, core.Tags, core.Policies, core.History = nil, nil, nil, nil, nil, nil
		parts := map[string]*snapshotPart{corePart: {Account: &core}}
		part := func(key string) *snapshotPart {
			p := parts[key]
			if p == nil {
				p = &snapshotPart{}
				parts[key] = p
			}
			return p
		}
		// A name can belong to several users (one dropped, one recreated), filed
		// under different addresses: its grants go to each of their parts.
		byName := map[string][]string{}
		for i := range a.Users {
			u := &a.Users[i]
			var keys []string
			for _, e := range addresses(a.Name, u) {
				if key := emailPart(e); !slices.Contains(keys, key) {
					keys = append(keys, key)
				}
			}
			for _, key := range keys {
				p := part(key)
				p.Users = append(p.Users, seq[model.User]{i, *u})
				if !slices.Contains(byName[u.Name], key) {
					byName[u.Name] = append(byName[u.Name], key)
				}
			}
		}
		for i, g := range a.UserGrants {
			keys := byName[g.Grantee]
			if len(keys) == 0 {
				keys = []string{emailPart("")}
			}
			for _, key := range keys {
				p := part(key)
				p.UserGrants = append(p.UserGrants, seq[model.UserGrant]{i, g})
			}
		}
		for i := range a.RoleGrants {
			rg := &a.RoleGrants[i]
			key := corePart
			if !model.KeptWhole(rg) {
				key = objectPart(model.ObjectName(rg))
			}
			p := part(key)
			p.RoleGrants = append(p.RoleGrants, seq[model.RoleGrant]{i, *rg})
		}
		for i, t := range a.Tags {
			p := part(objectPart(model.RefObject(t.ObjectDatabase, t.ObjectSchema, t.ObjectName)))
			p.Tags = append(p.Tags, seq[model.TagRef]{i, t})
		}
		for i, r := range a.Policies {
			p := part(objectPart(model.RefObject(r.Database, r.Schema, r.Entity)))
			p.Policies = append(p.Policies, seq[model.PolicyRef]{i, r})
		}
		for i, h := range a.History {
			e := seq[model.AccessEvent]{i, h}
			p := part(objectPart(model.HistoryObject(h.ObjectName)))
			p.History = append(p.History, e)
			if u := part(userPart(h.User)); u != p {
				u.History = append(u.History, e)
			}
		}
		keys := make([]string, 0, len(parts))
		for k := range parts {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(parts[k]); err != nil {
				return nil, fmt.Errorf("encode snapshot part %s of %s: %w", k, a.Name, err)
			}
			sum := sha256.Sum256(buf.Bytes())
			out = append(out, storedPart{account: a.Name, key: k, digest: sum[:], content: buf.Bytes()})
		}
	}
	return out, nil
}

// storeParts stores the encoded parts as generation n's; a part whose content
// some kept generation already has is referred to, not stored again.
func (s *Store) storeParts(ctx context.Context, tx pgx.Tx, n int, parts []storedPart) error {
	digests := make([][]byte, len(parts))
	for i, p := range parts {
		digests[i] = p.digest
	}
	rows, err := tx.Query(ctx, s.stmt("snapshot_known", nil), digests)
	if err != nil {
		return err
	}
	known, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	stored := map[string]bool{}
	for _, d := range known {
		stored[string(d)] = true
	}
	var blobs, refs [][]any
	for _, p := range parts {
		refs = append(refs, []any{n, p.account, p.key, p.digest})
		if !stored[string(p.digest)] {
			stored[string(p.digest)] = true
			blobs = append(blobs, []any{p.digest, p.content})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "snapshot_blobs"}, blobColumns, pgx.CopyFromRows(blobs)); err != nil {
		return err
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{s.schema, "snapshot_parts"}, partColumns, pgx.CopyFromRows(refs))
	return err
}

// readParts reads generation n's snapshot from its parts: every part when keys
// is nil, otherwise the cores and the parts keys names. ok is false when the
// generation has no parts (it was published before they existed, or without a
// snapshot).
func (s *Store) readParts(ctx context.Context, tx pgx.Tx, n int, keys []string) (snap *model.Snapshot, ok bool, err error) {
	rows, err := tx.Query(ctx, s.stmt("read_parts", nil), n, keys)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	snap = &model.Snapshot{}
	var cur *model.Account
	var users [][]seq[model.User]
	var grants [][]seq[model.UserGrant]
	var rg [][]seq[model.RoleGrant]
	var tags [][]seq[model.TagRef]
	var pols [][]seq[model.PolicyRef]
	var hist [][]seq[model.AccessEvent]
	// History records can come twice (from their object's part and their
	// user's), grants to users once per address of their grantee: ordered
	// keeps one of each place.
	account, missing := "", ""
	flush := func() {
		if cur == nil && account != "" {
			missing = account
		}
		if cur != nil {
			// A core of an earlier generation holds its users itself.
			cur.Users = append(cur.Users, ordered(users)...)
			cur.UserGrants = append(cur.UserGrants, ordered(grants)...)
			cur.RoleGrants, cur.Tags, cur.Policies, cur.History = ordered(rg), ordered(tags), ordered(pols), ordered(hist)
			snap.Accounts = append(snap.Accounts, cur)
		}
		cur, users, grants, rg, tags, pols, hist = nil, nil, nil, nil, nil, nil, nil
	}
	for rows.Next() {
		var acc, key string
		var content []byte
		if err := rows.Scan(&acc, &key, &content); err != nil {
			return nil, false, err
		}
		var p snapshotPart
		if err := gob.NewDecoder(bytes.NewReader(content)).Decode(&p); err != nil {
			return nil, false, fmt.Errorf("snapshot part %s of %s: %w", key, acc, err)
		}
		if acc != account {
			flush()
			account = acc
		}
		if key == corePart {
			if p.Account == nil {
				return nil, false, fmt.Errorf("snapshot part %s of %s: no account", key, acc)
			}
			cur = p.Account
		}
		users, grants = append(users, p.Users), append(grants, p.UserGrants)
		rg, tags, pols, hist = append(rg, p.RoleGrants), append(tags, p.Tags), append(pols, p.Policies), append(hist, p.History)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	flush()
	if missing != "" {
		return nil, false, fmt.Errorf("snapshot of account %s: its core part is missing", missing)
	}
	return snap, len(snap.Accounts) > 0, nil
}

// ordered returns the records of the lists (one per part read) in their
// places' order, a record read from several parts once. The records are large
// (a user is a dozen fields), so their places are sorted, not the records, and
// the lists are not concatenated first.
func ordered[T any](lists [][]seq[T]) []T {
	type at struct{ list, i, seq int }
	var places []at
	for l, rs := range lists {
		for i := range rs {
			places = append(places, at{l, i, rs[i].Seq})
		}
	}
	if len(places) == 0 {
		return nil
	}
	byPlace := func(a, b at) int { return cmp.Compare(a.seq, b.seq) }
	if !slices.IsSortedFunc(places, byPlace) {
		slices.SortFunc(places, byPlace)
	}
	places = slices.CompactFunc(places, func(a, b at) bool { return a.seq == b.seq })
	out := make([]T, len(places))
	for j, p := range places {
		out[j] = lists[p.list][p.i].V
	}
	return out
}
