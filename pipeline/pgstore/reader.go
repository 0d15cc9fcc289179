package pgstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// snapshotRead reads in one repeatable-read, read-only transaction, so that a
// publish or prune running meanwhile cannot mix generations, with generation n
// resolved (0: the current one) and known to be kept.
func (s *Store) snapshotRead(ctx context.Context, n int, fn func(tx pgx.Tx, n int) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if n, err = s.resolve(ctx, tx, n); err != nil {
		return err
	}
	return fn(tx, n)
}

// resolve turns 0 into the current generation and refuses a generation not kept.
func (s *Store) resolve(ctx context.Context, tx pgx.Tx, n int) (int, error) {
	if n == 0 {
		cur, err := s.current(ctx, tx)
		if err != nil {
			return 0, err
		}
		return cur.Number, nil
	}
	var ok bool
	err := tx.QueryRow(ctx, s.stmt("generation_exists", nil), n).Scan(&ok)
	if notMigrated(err) || err == nil && !ok {
		return 0, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
	}
	return n, err
}

// Slice returns the part of generation n (0: the current one) that concerns f,
// as model.SliceOf defines it, from indexed lookups: the people's rows and
// the objects' rows, the memberships of the people's users, and the grants on
// the objects and their containers and to the roles of those memberships, and
// the snapshot parts that hold records about them, cut by SliceOf. Several
// people cost one statement of each kind, each probing the index once per
// person, not one slice per person.
func (s *Store) Slice(ctx context.Context, n int, f model.Focus) (_ *model.Mirror, err error) {
	defer s.boundary(&err)
	var out *model.Mirror
	err = s.snapshotRead(ctx, n, func(tx pgx.Tx, n int) error {
		if f.Empty() {
			m, err := s.read(ctx, tx, n)
			out = m
			return err
		}
		m, err := s.readMeta(ctx, tx, n)
		if err != nil {
			return err
		}
		objects := []string{}
		names := map[string]bool{}
		for _, o := range f.Objects {
			for _, name := range append([]string{o}, model.ContainerNames(o)...) {
				if !names[name] {
					names[name] = true
					objects = append(objects, name)
				}
			}
		}
		people := f.People()
		if len(f.Roles) > 0 {
			var holders []string
			if err := tx.QueryRow(ctx, s.stmt("slice_role_holders", nil), n, f.Roles).Scan(&holders); err != nil {
				return fmt.Errorf("role holders: %w", err)
			}
			people = append(people, holders...)
			slices.Sort(people)
			people = slices.Compact(people)
		}
		// A superset is read where SliceOf below can cut it: with NoAudience the
		// people's rows stand for their rows on the objects.
		rowsOf, on := people, f.Objects
		if f.NoPersonRows && !f.NoAudience {
			rowsOf = []string{}
		}
		if f.NoAudience {
			on = []string{}
		}
		rows, err := tx.Query(ctx, s.stmt("slice_access", nil), n, rowsOf, on)
		if err != nil {
			return err
		}
		access, err := collectAccess(rows, 0)
		if err != nil {
			return fmt.Errorf("access rows: %w", err)
		}
		m.Access = model.NewAccess(access)
		if len(people) > 0 {
			if m.Memberships, err = collectMemberships(tx.Query(ctx, s.stmt("slice_memberships", nil), n, people)); err != nil {
				return fmt.Errorf("memberships: %w", err)
			}
		}
		accounts, roles := []string{}, []string{}
		held := map[[2]string]bool{}
		for _, ms := range m.Memberships {
			if k := [2]string{ms.Account, ms.Role}; !held[k] {
				held[k] = true
				accounts, roles = append(accounts, ms.Account), append(roles, ms.Role)
			}
		}
		for _, r := range f.RoleGrants {
			for _, a := range m.Meta.Accounts {
				if k := [2]string{a.Name, r}; !held[k] {
					held[k] = true
					accounts, roles = append(accounts, a.Name), append(roles, r)
				}
			}
		}
		if m.Grants, err = collectGrants(tx.Query(ctx, s.stmt("slice_grants", nil), n, objects, accounts, roles)); err != nil {
			return fmt.Errorf("grants: %w", err)
		}
		if !f.NoSnapshot {
			// The snapshot parts SliceOf keeps records from: those of the objects
			// and their containers, the access history of the people's users,
			// and the users: the people's addresses' parts with OwnUsers, else all.
			parts := []string{}
			for _, name := range objects {
				parts = append(parts, objectPart(name))
			}
			for _, ms := range m.Memberships {
				parts = append(parts, userPart(ms.User))
			}
			if f.OwnUsers && m.Meta.Settings != nil {
				for _, e := range people {
					parts = append(parts, emailPart(e))
				}
			} else {
				parts = append(parts, emailParts...)
			}
			slices.Sort(parts)
			if m.Snapshot, err = s.snapshot(ctx, tx, n, slices.Compact(parts)); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
		}
		out = model.SliceOf(m, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read generation %d: %w", n, err)
	}
	return out, nil
}

// Changes returns what changed from generation from to generation to (0: the
// current one), narrowed to f, as model.ChangesOf defines it. The digests say
// which people changed; only their rows are compared (compare.sql).
func (s *Store) Changes(ctx context.Context, from, to int, f model.Focus) (_ *model.Changes, err error) {
	defer s.boundary(&err)
	var out *model.Changes
	err = s.snapshotRead(ctx, from, func(tx pgx.Tx, from int) error {
		to, err := s.resolve(ctx, tx, to)
		if err != nil {
			return err
		}
		match := f.Matches()
		out = &model.Changes{From: from, To: to}
		rows, err := tx.Query(ctx, s.stmt("compare", nil), from, to)
		if err != nil {
			return err
		}
		var r model.Row
		var added bool
		_, err = pgx.ForEachRow(rows, []any{&r.Account, &r.Email, &r.ObjectType, &r.ObjectName, &r.Privilege, &added}, func() error {
			if !match(r) {
				return nil
			}
			if added {
				out.Added = append(out.Added, r)
			} else {
				out.Removed = append(out.Removed, r)
			}
			return nil
		})
		// compare.sql leaves the order of a person's rows to the reader.
		for _, rows := range [][]model.Row{out.Added, out.Removed} {
			if !slices.IsSortedFunc(rows, model.Row.Compare) {
				slices.SortFunc(rows, model.Row.Compare)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("compare generation %d with %d: %w", to, from, err)
	}
	return out, nil
}

// Scan streams every access row of generation n (0: the current one) in table
// order; rows arrive from the server as fn consumes them, so the generation is
// never held in memory. fn's error stops the scan and is returned.
func (s *Store) Scan(ctx context.Context, n int, fn func(model.Row) error) (err error) {
	defer s.boundary(&err)
	return s.snapshotRead(ctx, n, func(tx pgx.Tx, n int) error {
		rows, err := tx.Query(ctx, s.stmt("read_access", nil), n)
		if err != nil {
			return err
		}
		return eachAccessRow(rows, fn)
	})
}

// eachAccessRow calls fn with every row of a statement that selects account,
// email, object_type, object_name and privilege (NOT NULL text). Rows in table
// order repeat their account, email, type and privilege from one to the next: a
// value equal to the previous row's reuses its string, so reading millions of
// rows allocates a string per new value rather than five per row.
func eachAccessRow(rows pgx.Rows, fn func(model.Row) error) error {
	defer rows.Close()
	var r model.Row
	cols := []*string{&r.Account, &r.Email, &r.ObjectType, &r.ObjectName, &r.Privilege}
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != len(cols) {
			return fmt.Errorf("access rows: %d columns, want %d", len(raw), len(cols))
		}
		for i, b := range raw {
			if string(b) != *cols[i] {
				*cols[i] = string(b)
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ObjectNames returns the distinct object names the grants of generation n
// (0: the current one) name in an account (every account when empty), sorted.
func (s *Store) ObjectNames(ctx context.Context, n int, account string) (_ []string, err error) {
	defer s.boundary(&err)
	var out []string
	err = s.snapshotRead(ctx, n, func(tx pgx.Tx, n int) error {
		rows, err := tx.Query(ctx, s.stmt("object_names", nil), n, account)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if len(out) == 0 {
			out = nil // no names, as model.ObjectNamesOf says it
		}
		return err
	})
	return out, err
}

// People returns the people generation n (0: the current one) holds
// memberships for, in table order.
func (s *Store) People(ctx context.Context, n int) (_ []model.Person, err error) {
	defer s.boundary(&err)
	var out []model.Person
	err = s.snapshotRead(ctx, n, func(tx pgx.Tx, n int) error {
		rows, err := tx.Query(ctx, s.stmt("people", nil), n)
		if err != nil {
			return err
		}
		var p model.Person
		_, err = pgx.ForEachRow(rows, []any{&p.Account, &p.Email}, func() error {
			out = append(out, p)
			return nil
		})
		return err
	})
	return out, err
}

// readMeta reads generation n's metadata, the users it left out and its masked
// columns: the parts of a mirror every slice keeps whole.
func (s *Store) readMeta(ctx context.Context, tx pgx.Tx, n int) (*model.Mirror, error) {
	var metaJSON, excludedJSON []byte
	err := tx.QueryRow(ctx, s.stmt("generation_meta", nil), n).Scan(&metaJSON, &excludedJSON)
	if errNoRows(err) {
		return nil, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
	}
	if err != nil {
		return nil, err
	}
	m := &model.Mirror{}
	if err := json.Unmarshal(metaJSON, &m.Meta); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	if err := json.Unmarshal(excludedJSON, &m.Excluded); err != nil {
		return nil, fmt.Errorf("excluded users: %w", err)
	}
	rows, err := tx.Query(ctx, s.stmt("read_masked", nil), n)
	if err != nil {
		return nil, err
	}
	var c model.MaskedColumn
	var rule string
	_, err = pgx.ForEachRow(rows, []any{&c.Account, &c.ObjectName, &c.Column, &c.Reason, &rule}, func() error {
		c.Rule = nil
		if rule != "" {
			c.Rule = new(model.PolicyRule)
			if err := json.Unmarshal([]byte(rule), c.Rule); err != nil {
				return fmt.Errorf("rule of %s %s: %w", c.ObjectName, c.Column, err)
			}
		}
		m.Masked = append(m.Masked, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("masked columns: %w", err)
	}
	return m, nil
}

func collectAccess(rows pgx.Rows, size int) ([]model.Row, error) {
	out := make([]model.Row, 0, size)
	err := eachAccessRow(rows, func(r model.Row) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

func collectMemberships(rows pgx.Rows, err error) ([]model.Membership, error) {
	if err != nil {
		return nil, err
	}
	var out []model.Membership
	var ms model.Membership
	var in interner
	_, err = pgx.ForEachRow(rows, []any{&ms.Account, &ms.Email, &ms.User, &ms.Role, &ms.Path}, func() error {
		ms.Account, ms.Role, ms.Path = in.str(ms.Account), in.str(ms.Role), in.path(ms.Path)
		if n := len(out); n > 0 && out[n-1].Email == ms.Email {
			ms.Email = out[n-1].Email
			if out[n-1].User == ms.User {
				ms.User = out[n-1].User
			}
		}
		out = append(out, ms)
		ms.Path = nil // the next row scans into a fresh slice
		return nil
	})
	return out, err
}

// interner gives equal values one copy: the memberships of many people repeat
// the same accounts, roles and role paths hundreds of thousands of times (a
// path runs from a role granted to a user down to the role held, the same for
// everyone who holds it that way), and a slice of everyone's is otherwise
// mostly copies of them. The paths are shared, so they must not be modified.
type interner struct {
	strs  map[string]string
	paths map[string][]string
	key   []byte
}

func (in *interner) str(s string) string {
	if v, ok := in.strs[s]; ok {
		return v
	}
	if in.strs == nil {
		in.strs = map[string]string{}
	}
	in.strs[s] = s
	return s
}

func (in *interner) path(p []string) []string {
	if len(p) == 0 {
		return nil
	}
	// Each element's length, then its bytes: no two paths share a key.
	k := in.key[:0]
	for _, r := range p {
		k = binary.AppendUvarint(k, uint64(len(r)))
		k = append(k, r...)
	}
	in.key = k
	if v, ok := in.paths[string(k)]; ok {
		return v
	}
	if in.paths == nil {
		in.paths = map[string][]string{}
	}
	for i, r := range p {
		p[i] = in.str(r)
	}
	in.paths[string(k)] = p
	return p
}

func collectGrants(rows pgx.Rows, err error) ([]model.Grant, error) {
	if err != nil {
		return nil, err
	}
	var out []model.Grant
	var g model.Grant
	_, err = pgx.ForEachRow(rows, []any{&g.Account, &g.Role, &g.ObjectType, &g.ObjectName, &g.Privilege, &g.Via}, func() error {
		out = append(out, g)
		return nil
	})
	return out, err
}

var _ model.Reader = (*Store)(nil)
