package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Accounts returns the directories of every sample account the read-layer suite
// runs on: testdata/sample/* and testdata/conformance/*.
func Accounts(t testing.TB) []string {
	t.Helper()
	var dirs []string
	for _, pattern := range []string{"sample", "conformance"} {
		found, err := filepath.Glob(filepath.Join(repoRoot(), "testdata", pattern, "*", "users.csv"))
		require.NoError(t, err)
		for _, f := range found {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	require.NotEmpty(t, dirs)
	return dirs
}

// accountConfig is the part of a sample account's config.yaml that flatten reads.
type accountConfig struct {
	Email struct {
		DomainAliases map[string]string `yaml:"domain_aliases"`
		Overrides     map[string]string `yaml:"overrides"`
	} `yaml:"email"`
}

// FlattenAccount flattens a sample account directory with its own config.yaml
// (when it has one), as `make demo` and the conformance tests do.
func FlattenAccount(t testing.TB, dir string, mode model.Mode) *model.Mirror {
	t.Helper()
	snap, err := pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	var cfg accountConfig
	if b, err := os.ReadFile(filepath.Join(dir, "config.yaml")); err == nil {
		require.NoError(t, yaml.Unmarshal(b, &cfg))
	}
	m, err := pipeline.Flatten(snap, pipeline.Options{
		Mode:    mode,
		Aliases: ident.Aliases{Domains: cfg.Email.DomainAliases, Users: cfg.Email.Overrides},
		Now:     time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
	})
	require.NoError(t, err)
	return m
}

// RunReader is the read-layer suite: for every sample account it publishes three
// generations (the account, a changed copy, the same copy again) and checks that
// model.ReaderOf(store) answers every question as model.SliceOf, ChangesOf
// and ObjectNamesOf define it. open returns a new, empty store.
func RunReader(t *testing.T, open func(t *testing.T) model.Store) {
	ctx := context.Background()
	opts := model.DefaultPublishOptions()
	opts.Force = true // the changed generation may remove much of a small account

	t.Run("no generation", func(t *testing.T) {
		r := model.ReaderOf(open(t))
		_, err := r.Slice(ctx, 0, model.Focus{Email: "alice@example.com"})
		require.ErrorIs(t, err, model.ErrNoGeneration)
		err = r.Scan(ctx, 0, func(model.Row) error { return nil })
		require.ErrorIs(t, err, model.ErrNoGeneration)
	})

	t.Run("a user under two addresses", func(t *testing.T) {
		// Flatten files each user under one address, but a slice is defined for
		// memberships as published: a user under two addresses (email mappings
		// that disagree) brings both into a slice about either.
		s := open(t)
		m := Aliased(Sample(t, model.Effective))
		shared := SharedUsers(m)
		require.NotEmpty(t, shared)
		_, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
		opened, err := s.Open(ctx, 1)
		require.NoError(t, err)
		r := model.ReaderOf(s)
		var emails []string
		for _, e := range m.Access.Emails() {
			emails = append(emails, e)
		}
		fs := Several(m, spread(emails, maxFocus), nil)
		fs = append(fs, model.Focus{Email: shared[0][1]})
		// With only their own users too: the user is one of each address's.
		for _, f := range slices.Clone(fs) {
			f.OwnUsers = true
			fs = append(fs, f)
		}
		for _, f := range fs {
			got, err := r.Slice(ctx, 1, f)
			require.NoError(t, err, "focus %+v", f)
			requireSlice(t, model.SliceOf(m, f), model.SliceOf(opened, f), got, fmt.Sprintf("focus %+v", f))
		}
		alone, err := r.Slice(ctx, 1, model.Focus{Emails: shared[0][:1]})
		require.NoError(t, err)
		require.True(t, slices.ContainsFunc(alone.Memberships, func(ms model.Membership) bool { return ms.Email == shared[0][1] }),
			"a slice about one address keeps the memberships of its user under the other")
	})

	for _, dir := range Accounts(t) {
		t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), func(t *testing.T) {
			s := open(t)
			one := FlattenAccount(t, dir, model.Effective)
			two := Changed(one)
			for i, m := range []*model.Mirror{one, two, two} {
				g, err := s.Publish(ctx, m, opts)
				require.NoError(t, err)
				require.Equal(t, i+1, g.Number)
			}
			r := model.ReaderOf(s)
			gens := map[int]*model.Mirror{1: one, 2: two, 3: two}
			opened := map[int]*model.Mirror{}
			for n := range gens {
				m, err := s.Open(ctx, n)
				require.NoError(t, err)
				opened[n] = m
			}

			t.Run("slices", func(t *testing.T) {
				for _, n := range []int{1, 3} {
					for _, f := range Focuses(gens[n]) {
						got, err := r.Slice(ctx, n, f)
						require.NoError(t, err, "generation %d, %+v", n, f)
						requireSlice(t, model.SliceOf(gens[n], f), model.SliceOf(opened[n], f), got, fmt.Sprintf("generation %d, focus %+v", n, f))
					}
				}
				cur, err := r.Slice(ctx, 0, model.Focus{})
				require.NoError(t, err)
				require.Equal(t, 3, cur.Meta.Generation, "generation 0 is the current one")
				require.Equal(t, rows(two.Access), rows(cur.Access))
				_, err = r.Slice(ctx, 42, model.Focus{Email: "alice@example.com"})
				require.ErrorIs(t, err, model.ErrUnknownGeneration)
			})

			t.Run("changes", func(t *testing.T) {
				focuses := append(Focuses(one), model.Focus{Email: "newcomer@example.com"}, model.Focus{Objects: []string{"NEW_WH"}})
				for _, f := range focuses {
					got, err := r.Changes(ctx, 1, 2, f)
					require.NoError(t, err)
					want := model.ChangesOf(one, two, 1, 2, f)
					require.Equal(t, want, normalChanges(got), "changes 1→2, focus %+v", f)

					same, err := r.Changes(ctx, 2, 3, f)
					require.NoError(t, err)
					require.Equal(t, &model.Changes{From: 2, To: 3}, normalChanges(same), "identical generations, focus %+v", f)
				}
				all, err := r.Changes(ctx, 1, 0, model.Focus{})
				require.NoError(t, err)
				require.Equal(t, 3, all.To, "0 is the current generation")
				require.NotEmpty(t, all.Added, "the changed copy adds rows")
				require.NotEmpty(t, all.Removed, "the changed copy removes rows")
				require.Equal(t, model.ChangesOf(one, two, 1, 3, model.Focus{}), normalChanges(all))
				_, err = r.Changes(ctx, 42, 3, model.Focus{})
				require.ErrorIs(t, err, model.ErrUnknownGeneration)
			})

			t.Run("scan", func(t *testing.T) {
				for n, m := range gens {
					var got []model.Row
					require.NoError(t, r.Scan(ctx, n, func(row model.Row) error {
						got = append(got, row)
						return nil
					}))
					require.Equal(t, rows(m.Access), got, "generation %d, in table order", n)
				}
				stop := fmt.Errorf("enough")
				seen := 0
				err := r.Scan(ctx, 1, func(model.Row) error {
					seen++
					return stop
				})
				require.ErrorIs(t, err, stop, "fn's error stops the scan and is returned")
				require.Equal(t, 1, seen)
			})

			t.Run("people", func(t *testing.T) {
				for n, m := range gens {
					got, err := r.People(ctx, n)
					require.NoError(t, err)
					require.NotEmpty(t, got)
					require.Equal(t, model.PeopleOf(m), got, "generation %d", n)
				}
				require.NotEqual(t, model.PeopleOf(one), model.PeopleOf(two), "the changed copy drops a person's memberships")
				cur, err := r.People(ctx, 0)
				require.NoError(t, err)
				require.Equal(t, model.PeopleOf(two), cur, "0 is the current generation")
				_, err = r.People(ctx, 42)
				require.ErrorIs(t, err, model.ErrUnknownGeneration)
			})

			t.Run("object names", func(t *testing.T) {
				accounts := []string{"", "NO_SUCH_ACCOUNT"}
				for _, a := range one.Meta.Accounts {
					accounts = append(accounts, a.Name)
				}
				for _, a := range accounts {
					got, err := r.ObjectNames(ctx, 1, a)
					require.NoError(t, err)
					require.Equal(t, model.ObjectNamesOf(one, a), got, "account %q", a)
				}
				all, err := r.ObjectNames(ctx, 0, "")
				require.NoError(t, err)
				require.NotEmpty(t, all)
			})
		})
	}
}

// Changed derives a second generation from m: the first person loses every row
// and every membership, the first object of the table loses every row, and a
// new person gains two.
func Changed(m *model.Mirror) *model.Mirror {
	all := rows(m.Access)
	var next []model.Row
	first, object := "", ""
	if len(all) > 0 {
		first, object = all[0].Email, all[len(all)/2].ObjectName
	}
	for _, r := range all {
		if r.Email != first && r.ObjectName != object {
			next = append(next, r)
		}
	}
	account := "ACME"
	if len(m.Meta.Accounts) > 0 {
		account = m.Meta.Accounts[0].Name
	}
	next = append(next,
		model.Row{Account: account, Email: "newcomer@example.com", ObjectType: "WAREHOUSE", ObjectName: "NEW_WH", Privilege: "USAGE"},
		model.Row{Account: account, Email: "newcomer@example.com", ObjectType: "DATABASE", ObjectName: "NEW_DB", Privilege: "USAGE"})
	c := *m
	c.Access = model.NewAccess(next)
	c.Meta.Rows = c.Access.Len()
	c.Memberships = slices.DeleteFunc(slices.Clone(m.Memberships), func(ms model.Membership) bool { return ms.Email == first })
	return &c
}

// Aliased returns m with the Snowflake user of one person (the one in the middle
// of the table) filed under a second address too: the same memberships and rows
// under "alias." + the address.
func Aliased(m *model.Mirror) *model.Mirror {
	var people []string
	for _, e := range m.Access.Emails() {
		people = append(people, e)
	}
	who := people[len(people)/2]
	alias := "alias." + who
	next := rows(m.Access)
	for _, r := range rows(m.Access) {
		if r.Email == who {
			r.Email = alias
			next = append(next, r)
		}
	}
	c := *m
	c.Access = model.NewAccess(next)
	c.Meta.Rows = c.Access.Len()
	c.Memberships = slices.Clone(m.Memberships)
	for _, ms := range m.Memberships {
		if ms.Email == who {
			ms.Email = alias
			c.Memberships = append(c.Memberships, ms)
		}
	}
	// Memberships are listed by account and email, each person's in order.
	slices.SortStableFunc(c.Memberships, func(a, b model.Membership) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Email, b.Email))
	})
	return &c
}

// Focuses lists the questions the suite asks of a generation: each person, each
// object (containers included), each person with an object they hold and one
// they do not (a spread of them in a large account), an unknown email and an
// unknown object, alone and with a known one, the holders of roles, each of
// these without the people's own rows, each about people and objects without
// the objects' audience (and without the snapshot), and each about one person
// without the snapshot.
func Focuses(m *model.Mirror) []model.Focus {
	var emails []string
	for _, e := range m.Access.Emails() {
		emails = append(emails, e)
	}
	for _, ms := range m.Memberships {
		emails = append(emails, ms.Email)
	}
	slices.Sort(emails)
	emails = slices.Compact(emails)
	var objects []string
	for r := range m.Access.All() {
		objects = append(objects, r.ObjectName)
	}
	for _, g := range m.Grants {
		objects = append(objects, g.ObjectName)
	}
	slices.Sort(objects)
	objects = slices.Compact(objects)

	// A large account is asked about a spread of people and objects, first and
	// last included: each question may read a whole generation until a store
	// answers natively.
	emails, objects = spread(emails, maxFocus), spread(objects, maxFocus)

	const unknownEmail, unknownObject = "nobody@nowhere.example", `NO_DB.NO_SCHEMA."nothing"`
	fs := []model.Focus{{Email: unknownEmail}, {Objects: []string{unknownObject}}, {Email: unknownEmail, Objects: []string{unknownObject}}}
	for _, e := range emails {
		fs = append(fs, model.Focus{Email: e})
	}
	for _, o := range objects {
		fs = append(fs, model.Focus{Objects: []string{o}})
	}
	for i, e := range emails {
		held := map[string]bool{}
		var first string
		for r := range m.Access.For("", e) {
			if first == "" {
				first = r.ObjectName
			}
			held[r.ObjectName] = true
		}
		if first != "" {
			fs = append(fs, model.Focus{Email: e, Objects: []string{first}})
		}
		// An object the person lacks, taken round-robin so that every person is
		// asked about a different one.
		for j := range objects {
			if o := objects[(i+j)%len(objects)]; !held[o] {
				fs = append(fs, model.Focus{Email: e, Objects: []string{o}})
				break
			}
		}
	}
	fs = append(fs, Several(m, emails, objects)...)
	if len(emails) > 0 && len(objects) > 1 {
		fs = append(fs,
			model.Focus{Email: emails[0], Objects: []string{unknownObject}},
			model.Focus{Email: unknownEmail, Objects: []string{objects[0]}},
			model.Focus{Objects: []string{objects[0], objects[len(objects)-1]}})
	}
	// check and explain ask about one person and an object without its
	// audience, explain with only the person's own users, and check without
	// the snapshot: every question about people and objects is asked those
	// ways too, every question about people with their own users only, and
	// every question about one person without the snapshot.
	for _, f := range slices.Clone(fs) {
		people := f.Email != "" || len(f.Emails) > 0 || len(f.Roles) > 0
		if people && !f.NoSnapshot {
			own := f
			own.OwnUsers = true
			fs = append(fs, own)
		}
		if len(f.Objects) > 0 && !f.NoAudience && people {
			f.NoAudience = true
			fs = append(fs, f)
			f.OwnUsers = true
			fs = append(fs, f)
			f.OwnUsers, f.NoSnapshot = false, true
			fs = append(fs, f)
		}
		if f.Email != "" && len(f.Objects) == 0 && !f.NoSnapshot {
			f.NoSnapshot = true
			fs = append(fs, f)
		}
	}
	return fs
}

// Several lists the questions about several people at once that Focuses asks,
// from the spread of emails and objects it picked: a few people, the same people
// listed in another order and with a repeat (the answer must not change), people
// with a person who has no rows, people with objects, one person under both
// Email and Emails, and every group of addresses one Snowflake user is filed
// under (email aliases), alone and with another person; each also without the
// people's own rows (NoPersonRows).
func Several(m *model.Mirror, emails, objects []string) []model.Focus {
	const unknownEmail = "nobody@nowhere.example"
	var fs []model.Focus
	if len(emails) >= 2 {
		some := spread(emails, 4)
		back := slices.Clone(some)
		slices.Reverse(back)
		fs = append(fs,
			model.Focus{Emails: some},
			model.Focus{Emails: append(back, some[0])},
			model.Focus{Emails: []string{some[0], unknownEmail, some[len(some)-1]}},
			model.Focus{Email: some[0], Emails: some})
		if len(objects) > 0 {
			fs = append(fs, model.Focus{Emails: some, Objects: []string{objects[len(objects)/2]}})
		}
	}
	fs = append(fs, model.Focus{Emails: []string{unknownEmail}}, model.Focus{Emails: []string{unknownEmail, "other@nowhere.example"}})
	for _, group := range SharedUsers(m) {
		fs = append(fs, model.Focus{Emails: group}, model.Focus{Emails: group[:1]})
		for _, e := range emails {
			if !slices.Contains(group, e) {
				fs = append(fs, model.Focus{Emails: append([]string{e}, group[1:]...)})
				break
			}
		}
	}
	// Roles: every holder of a role is asked about (a role held directly, one
	// held only through nesting, a role nobody holds, a name no account has),
	// alone, with objects, and with people.
	var roles []string
	for _, ms := range m.Memberships {
		roles = append(roles, ms.Role)
	}
	for _, g := range m.Grants {
		roles = append(roles, g.Role)
	}
	slices.Sort(roles)
	roles = spread(slices.Compact(roles), maxFocus)
	for _, r := range roles {
		fs = append(fs, model.Focus{Roles: []string{r}})
	}
	fs = append(fs, model.Focus{Roles: []string{"NO_SUCH_ROLE"}}, model.Focus{Roles: roles})
	if len(roles) > 0 && len(objects) > 0 && len(emails) > 0 {
		fs = append(fs, model.Focus{Roles: roles[:1], Objects: objects[:1], Emails: emails[len(emails)-1:]})
	}
	// The grants of roles by name: each alone (a role nobody holds among them
	// when the account has one), all at once, a name no account has, and
	// beside people and objects.
	held := map[string]bool{}
	for _, ms := range m.Memberships {
		held[ms.Role] = true
	}
	for _, g := range m.Grants {
		if !held[g.Role] {
			fs = append(fs, model.Focus{RoleGrants: []string{g.Role}, NoSnapshot: true})
			break
		}
	}
	for _, r := range roles {
		fs = append(fs, model.Focus{RoleGrants: []string{r}})
	}
	fs = append(fs, model.Focus{RoleGrants: []string{"NO_SUCH_ROLE"}}, model.Focus{RoleGrants: roles, NoSnapshot: true})
	if len(roles) > 0 && len(objects) > 0 && len(emails) > 0 {
		fs = append(fs, model.Focus{RoleGrants: roles[len(roles)-1:], Objects: objects[:1], Emails: emails[:1]})
	}
	// The same questions without the people's own rows.
	for _, f := range slices.Clone(fs) {
		f.NoPersonRows = true
		fs = append(fs, f)
	}
	return fs
}

// SharedUsers returns, for each Snowflake user filed under more than one
// address, those addresses, sorted.
func SharedUsers(m *model.Mirror) [][]string {
	byUser := map[[2]string][]string{}
	var users [][2]string
	for _, ms := range m.Memberships {
		k := [2]string{ms.Account, ms.User}
		if _, ok := byUser[k]; !ok {
			users = append(users, k)
		}
		if !slices.Contains(byUser[k], ms.Email) {
			byUser[k] = append(byUser[k], ms.Email)
		}
	}
	var out [][]string
	for _, k := range users {
		if l := byUser[k]; len(l) > 1 {
			slices.Sort(l)
			out = append(out, l)
		}
	}
	return out
}

// maxFocus bounds the people and the objects Focuses asks about.
const maxFocus = 12

// spread returns at most k elements of l, evenly spaced, first and last included.
func spread(l []string, k int) []string {
	if len(l) <= k {
		return l
	}
	out := make([]string, 0, k)
	for i := range k {
		out = append(out, l[i*(len(l)-1)/(k-1)])
	}
	return out
}

// requireSlice compares a store's slice with the one SliceOf defines, rows and
// provenance from the mirror as published (before any store saw it), snapshot
// and meta from the generation as the store reads it back: rows in table order; memberships, grants and snapshot tables as sets (a store may keep
// them in its own order); meta with times compared as instants.
func requireSlice(t *testing.T, published, opened, got *model.Mirror, what string) {
	t.Helper()
	require.Equal(t, rows(published.Access), rows(got.Access), "access rows, %s", what)
	require.Equal(t, sorted(published.Memberships), sorted(got.Memberships), "memberships, %s", what)
	require.Equal(t, sorted(published.Grants), sorted(got.Grants), "grants, %s", what)
	require.Equal(t, sorted(published.Excluded), sorted(got.Excluded), "excluded users, %s", what)
	require.Equal(t, sorted(published.Masked), sorted(got.Masked), "masked columns, %s", what)
	require.Equal(t, normalMeta(opened.Meta), normalMeta(got.Meta), "meta, %s", what)
	require.Equal(t, opened.Snapshot == nil, got.Snapshot == nil, "snapshot kept, %s", what)
	if opened.Snapshot != nil {
		require.Equal(t, normalSnapshot(opened.Snapshot), normalSnapshot(got.Snapshot), "snapshot, %s", what)
	}
}

// sorted orders a copy of a table by its rows as JSON, which follows pointers
// (a masked column's rule) rather than printing their addresses.
func sorted[T any](l []T) []string {
	out := make([]string, len(l))
	for i, v := range l {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out[i] = string(b)
	}
	slices.Sort(out)
	return out
}

// normalMeta states times in UTC, as a store may read them back in another zone.
func normalMeta(m model.Meta) model.Meta {
	m.PublishedAt = m.PublishedAt.UTC()
	m.Accounts = slices.Clone(m.Accounts)
	for i := range m.Accounts {
		m.Accounts[i].ExtractedAt = m.Accounts[i].ExtractedAt.UTC()
	}
	return m
}

// normalSnapshot prints each account's tables as sorted sets of rows, field by
// field, so that two snapshots with the same records compare equal.
func normalSnapshot(s *model.Snapshot) map[string][]string {
	out := map[string][]string{}
	for _, a := range s.Accounts {
		v := reflect.ValueOf(a).Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			key := a.Name + "." + v.Type().Field(i).Name
			if f.Kind() != reflect.Slice {
				out[key] = []string{fmt.Sprintf("%v", utc(f.Interface()))}
				continue
			}
			var lines []string
			for j := range f.Len() {
				lines = append(lines, fmt.Sprintf("%+v", utc(f.Index(j).Interface())))
			}
			slices.Sort(lines)
			out[key] = lines
		}
	}
	return out
}

// utc prints time values of a record in UTC.
func utc(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return v
	}
	var parts []string
	for i := range rv.NumField() {
		f := rv.Field(i)
		if !rv.Type().Field(i).IsExported() {
			continue
		}
		val := f.Interface()
		if t, ok := val.(time.Time); ok {
			val = t.UTC().Format(time.RFC3339Nano)
		}
		parts = append(parts, fmt.Sprintf("%s:%v", rv.Type().Field(i).Name, val))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// normalChanges makes nil and empty row lists the same.
func normalChanges(c *model.Changes) *model.Changes {
	out := *c
	if len(out.Added) == 0 {
		out.Added = nil
	}
	if len(out.Removed) == 0 {
		out.Removed = nil
	}
	return &out
}
