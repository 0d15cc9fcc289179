package dirstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// sampleMirror flattens a sample account with its own config.yaml.
func sampleMirror(t testing.TB, snap *model.Snapshot, dir string, mode model.Mode) *model.Mirror {
	t.Helper()
	var cfg struct {
		Email struct {
			DomainAliases map[string]string `yaml:"domain_aliases"`
			Overrides     map[string]string `yaml:"overrides"`
		} `yaml:"email"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.yaml")); err == nil {
		require.NoError(t, yaml.Unmarshal(b, &cfg))
	}
	m, err := pipeline.Flatten(snap, pipeline.Options{Mode: mode,
		Aliases: ident.Aliases{Domains: cfg.Email.DomainAliases, Users: cfg.Email.Overrides},
		Now:     time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	return m
}

// samples returns every sample account, and all of them as one multi-account
// snapshot, flattened.
func samples(t testing.TB, mode model.Mode) map[string]*model.Mirror {
	t.Helper()
	dirs, err := filepath.Glob("../../testdata/sample/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	out := map[string]*model.Mirror{}
	multi := &model.Snapshot{}
	for _, d := range dirs {
		snap, err := pipeline.ReadSnapshot(d)
		require.NoError(t, err)
		out[filepath.Base(d)] = sampleMirror(t, snap, d, mode)
		again, err := pipeline.ReadSnapshot(d)
		require.NoError(t, err)
		multi.Accounts = append(multi.Accounts, again.Accounts...)
	}
	slices.SortFunc(multi.Accounts, func(a, b *model.Account) int { return cmpString(a.Name, b.Name) })
	out["all accounts"] = sampleMirror(t, multi, dirs[0], mode)
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// utc is the snapshot with every time in UTC, as a generation stores instants.
func utc(s *model.Snapshot) *model.Snapshot {
	out := &model.Snapshot{}
	for _, a := range s.Accounts {
		b := *a
		b.ExtractedAt = b.ExtractedAt.UTC()
		b.Users = slices.Clone(a.Users)
		for i := range b.Users {
			b.Users[i].DeletedOn = b.Users[i].DeletedOn.UTC()
		}
		b.Roles = slices.Clone(a.Roles)
		for i := range b.Roles {
			b.Roles[i].DeletedOn = b.Roles[i].DeletedOn.UTC()
		}
		b.UserGrants = slices.Clone(a.UserGrants)
		for i := range b.UserGrants {
			b.UserGrants[i].DeletedOn = b.UserGrants[i].DeletedOn.UTC()
		}
		b.RoleGrants = slices.Clone(a.RoleGrants)
		for i := range b.RoleGrants {
			b.RoleGrants[i].DeletedOn = b.RoleGrants[i].DeletedOn.UTC()
		}
		b.History = slices.Clone(a.History)
		for i := range b.History {
			b.History[i].LastAccessed = b.History[i].LastAccessed.UTC()
		}
		out.Accounts = append(out.Accounts, &b)
	}
	return out
}

// focuses are the questions asked of every sample: each person alone, each with
// an object they can use and one they cannot, objects alone (a table, a schema,
// a database, a name nobody holds), and a person nobody knows.
func focuses(m *model.Mirror) []model.Focus {
	var names []string
	for _, g := range m.Grants {
		names = append(names, g.ObjectName)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var out []model.Focus
	for i, n := range names {
		if i%7 == 0 || len(model.ContainerNames(n)) == 2 && i%3 == 0 {
			out = append(out, model.Focus{Objects: []string{n}})
		}
	}
	out = append(out, model.Focus{Objects: []string{"NO_SUCH_DB.PUBLIC.NOTHING"}}, model.Focus{Email: "nobody@nowhere.example"})
	i := 0
	for _, e := range m.Access.Emails() {
		if i++; i%5 != 1 {
			continue // a fifth of the people keeps the test fast on the larger samples
		}
		var first string
		for r := range m.Access.For("", e) {
			first = r.ObjectName
			break
		}
		other := names[i%len(names)]
		out = append(out, model.Focus{Email: e}, model.Focus{Email: e, Objects: []string{first}},
			model.Focus{Email: e, Objects: []string{other, first}})
	}
	seen := map[string]bool{}
	for _, ms := range m.Memberships { // people with roles, perhaps without rows
		_, hasRows := iterFirst(m.Access.For("", ms.Email))
		if !seen[ms.Email] && !hasRows {
			seen[ms.Email] = true
			out = append(out, model.Focus{Email: ms.Email})
		}
	}
	return out
}

// TestReaderMatchesWholeGeneration asks the directory target's Reader every
// question of focuses on every sample account and compares each answer with the
// one SliceOf, ChangesOf and ObjectNamesOf compute from the whole generation, and
// the whole generation with what was published.
func TestReaderMatchesWholeGeneration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	effective, granted := samples(t, model.Effective), samples(t, model.Granted)
	for name, m := range effective {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(t.TempDir())
			require.NoError(t, err)
			force := model.DefaultPublishOptions()
			force.Force = true
			_, err = s.Publish(ctx, m, force)
			require.NoError(t, err)
			_, err = s.Publish(ctx, granted[name], force)
			require.NoError(t, err)
			// Generation 3 loses a third of the people, so Changes has both directions.
			var rows []model.Row
			k := 0
			for _, e := range m.Access.Emails() {
				if k++; k%3 != 1 {
					rows = append(rows, slices.Collect(m.Access.For("", e))...)
				}
			}
			cut := *m
			cut.Access = model.NewAccess(rows)
			_, err = s.Publish(ctx, &cut, force)
			require.NoError(t, err)

			// Generation 4 is generation 1 with a few people gone (the first of
			// them with their memberships) and one person's memberships changed
			// but not their rows: few enough that partitions get overlays over
			// generation 1's bases.
			rows = rows[:0]
			k = 0
			var kept, gone string
			for _, e := range m.Access.Emails() {
				if k++; k%15 != 0 {
					rows = append(rows, slices.Collect(m.Access.For("", e))...)
					kept = e
				} else if gone == "" {
					gone = e
				}
			}
			few := *m
			few.Access = model.NewAccess(rows)
			few.Memberships = slices.DeleteFunc(slices.Clone(m.Memberships), func(ms model.Membership) bool { return ms.Email == kept || ms.Email == gone })
			g4, err := s.Publish(ctx, &few, force)
			require.NoError(t, err)
			if name == "acme" {
				cur, err := s.acquire(4)
				require.NoError(t, err)
				overlays := 0
				for _, p := range cur.st.Layout.Persons {
					if p.Over != "" {
						overlays++
					}
				}
				cur.release()
				require.Positive(t, overlays, "a small change is written as overlays")
			}

			for n, want := range map[int]*model.Mirror{1: m, 4: &few} {
				back, err := s.Open(ctx, n)
				require.NoError(t, err)
				require.Equal(t, slices.Collect(want.Access.All()), slices.Collect(back.Access.All()))
				require.Equal(t, want.Memberships, back.Memberships)
				require.Equal(t, want.Grants, back.Grants)
				require.Equal(t, want.Excluded, back.Excluded)
				require.Equal(t, want.Masked, back.Masked)
				require.Equal(t, utc(want.Snapshot), back.Snapshot)
			}
			whole, err := s.Open(ctx, 1)
			require.NoError(t, err)
			four, err := s.Open(ctx, 4)
			require.NoError(t, err)
			for n, g := range map[int]*model.Mirror{1: whole, 4: four} {
				people, err := s.People(ctx, n)
				require.NoError(t, err)
				require.Equal(t, model.PeopleOf(g), people, "people of generation %d, over overlays", n)
			}

			var scanned []model.Row
			require.NoError(t, s.Scan(ctx, 1, func(r model.Row) error { scanned = append(scanned, r); return nil }))
			require.Equal(t, slices.Collect(m.Access.All()), scanned)
			// A scan that drops its mapped pages after every person reads the
			// same rows, over overlays too.
			s.shedRows = 1
			for n, g := range map[int]*model.Mirror{1: whole, 4: four} {
				scanned = scanned[:0]
				require.NoError(t, s.Scan(ctx, n, func(r model.Row) error { scanned = append(scanned, r); return nil }))
				require.Equal(t, slices.Collect(g.Access.All()), scanned, "generation %d, shedding", n)
			}
			s.shedRows = shedRows

			for _, f := range focuses(m) {
				for n, g := range map[int]*model.Mirror{1: whole, 4: four} {
					got, err := s.Slice(ctx, n, f)
					require.NoError(t, err)
					want := model.SliceOf(g, f)
					require.Equal(t, slices.Collect(want.Access.All()), slices.Collect(got.Access.All()), "access of %+v", f)
					require.Equal(t, want.Memberships, got.Memberships, "memberships of %+v", f)
					require.Equal(t, want.Grants, got.Grants, "grants of %+v", f)
					require.Equal(t, want.Snapshot, got.Snapshot, "snapshot of %+v", f)
					require.Equal(t, want.Meta, got.Meta)
				}
			}

			gens := map[int]*model.Mirror{1: whole, 4: four}
			for _, n := range []int{2, 3} {
				gens[n], err = s.Open(ctx, n)
				require.NoError(t, err)
			}
			fs := focuses(m)
			fs = append(fs[:min(len(fs), 40)], model.Focus{})
			for _, pair := range [][2]int{{1, 2}, {2, 1}, {1, 3}, {3, 2}, {2, 2}, {1, 4}, {4, 1}, {4, 3}, {2, 4}} {
				for _, f := range fs {
					got, err := s.Changes(ctx, pair[0], pair[1], f)
					require.NoError(t, err)
					require.Equal(t, model.ChangesOf(gens[pair[0]], gens[pair[1]], pair[0], pair[1], f), got, "changes %v of %+v", pair, f)
				}
			}
			// The guard's counts, taken partition by partition over overlays, are
			// those of a whole comparison.
			c43 := model.ChangesOf(gens[3], four, 3, 4, model.Focus{})
			require.Equal(t, len(c43.Added), g4.Added)
			require.Equal(t, len(c43.Removed), g4.Removed)
			all, err := s.Changes(ctx, 1, 3, model.Focus{})
			require.NoError(t, err)
			require.NotEmpty(t, all.Removed, "a third of the people lost their rows")

			accounts := []string{""}
			for _, a := range m.Meta.Accounts {
				accounts = append(accounts, a.Name)
			}
			for _, a := range accounts {
				got, err := s.ObjectNames(ctx, 1, a)
				require.NoError(t, err)
				require.Equal(t, model.ObjectNamesOf(whole, a), got, "object names of %q", a)
				got, err = s.ObjectNames(ctx, 4, a)
				require.NoError(t, err)
				require.Equal(t, model.ObjectNamesOf(four, a), got, "object names of %q", a)
			}
		})
	}
}

func iterFirst[T any](seq func(func(T) bool)) (T, bool) {
	for v := range seq {
		return v, true
	}
	var zero T
	return zero, false
}
