package pgstore

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// requireSameSlice compares a store's slice with the one SliceOf cuts from the
// whole generation.
func requireSameSlice(t *testing.T, want, got *model.Mirror, msg ...any) {
	t.Helper()
	require.Equal(t, rowsOf(want.Access), rowsOf(got.Access), msg...)
	w, g := *want, *got
	w.Access, g.Access = nil, nil
	require.Equal(t, w, g, msg...)
}

// TestReaderAnswersAsSliceOf asks the store's own Reader about every sample
// account, person by person and object by object, in two generations, and
// compares each answer with the one model.SliceOf, ChangesOf and
// ObjectNamesOf compute from the whole generation.
func TestReaderAnswersAsSliceOf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dirs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sample", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "users.csv")); err != nil {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t)
			snap, err := pipeline.ReadSnapshot(dir)
			require.NoError(t, err)
			m, err := pipeline.Flatten(snap, pipeline.Options{Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(14, 14))
			next := variant(rng, m, 0)
			opts := model.PublishOptions{MaxRevokeRatio: 0.2, Force: true, Keep: 3}
			for _, mm := range []*model.Mirror{m, next} {
				_, err := s.Publish(ctx, mm, opts)
				require.NoError(t, err)
			}
			whole := map[int]*model.Mirror{}
			for _, n := range []int{1, 2} {
				whole[n], err = s.Open(ctx, n)
				require.NoError(t, err)
			}
			whole[0] = whole[2]

			var foci []model.Focus
			emails := map[string]bool{}
			for r := range m.Access.All() {
				emails[r.Email] = true
			}
			for r := range next.Access.All() {
				emails[r.Email] = true
			}
			// Eight people and objects of each account, picked at random, keep the
			// test short; every sample account has more.
			var people []string
			for e := range emails {
				people = append(people, e)
			}
			slices.Sort(people)
			rng.Shuffle(len(people), func(i, j int) { people[i], people[j] = people[j], people[i] })
			for _, e := range people[:min(8, len(people))] {
				foci = append(foci, model.Focus{Email: e})
			}
			var objects []string
			for _, g := range m.Grants {
				objects = append(objects, g.ObjectName)
			}
			slices.Sort(objects)
			objects = slices.Compact(objects)
			rng.Shuffle(len(objects), func(i, j int) { objects[i], objects[j] = objects[j], objects[i] })
			for i, o := range objects[:min(8, len(objects))] {
				foci = append(foci, model.Focus{Objects: []string{o}})
				if i%3 == 0 {
					foci = append(foci, model.Focus{Email: people[i%len(people)], Objects: []string{o, objects[(i+1)%len(objects)]}})
				}
			}
			foci = append(foci, model.Focus{}, model.Focus{Email: "nobody@example.com"}, model.Focus{Objects: []string{"NO.SUCH.TABLE"}})
			require.Greater(t, len(foci), 5)

			for _, n := range []int{0, 1, 2} {
				for _, f := range foci {
					got, err := s.Slice(ctx, n, f)
					require.NoError(t, err)
					requireSameSlice(t, model.SliceOf(whole[n], f), got, "generation %d, focus %+v", n, f)
				}
				names, err := s.ObjectNames(ctx, n, "")
				require.NoError(t, err)
				require.Equal(t, model.ObjectNamesOf(whole[n], ""), names)
				for _, a := range whole[n].Meta.Accounts {
					names, err := s.ObjectNames(ctx, n, a.Name)
					require.NoError(t, err)
					require.Equal(t, model.ObjectNamesOf(whole[n], a.Name), names)
				}
				var scanned []model.Row
				require.NoError(t, s.Scan(ctx, n, func(r model.Row) error {
					scanned = append(scanned, r)
					return nil
				}))
				require.Equal(t, rowsOf(whole[n].Access), scanned)
			}
			for _, pair := range [][2]int{{1, 2}, {2, 1}, {1, 1}, {1, 0}} {
				for _, f := range foci {
					got, err := s.Changes(ctx, pair[0], pair[1], f)
					require.NoError(t, err)
					want := model.ChangesOf(whole[pair[0]], whole[pair[1]], whole[pair[0]].Meta.Generation, whole[pair[1]].Meta.Generation, f)
					require.Equal(t, want, got, "changes %v, focus %+v", pair, f)
				}
			}
			all, err := s.Changes(ctx, 1, 2, model.Focus{})
			require.NoError(t, err)
			require.NotEmpty(t, append(all.Added, all.Removed...), "the variant changes something")

			_, err = s.Slice(ctx, 9, model.Focus{Email: "x@example.com"})
			require.ErrorIs(t, err, model.ErrUnknownGeneration)
			_, err = s.Changes(ctx, 1, 9, model.Focus{})
			require.ErrorIs(t, err, model.ErrUnknownGeneration)
			require.ErrorIs(t, s.Scan(ctx, 9, func(model.Row) error { return nil }), model.ErrUnknownGeneration)
			_, err = s.ObjectNames(ctx, 9, "")
			require.ErrorIs(t, err, model.ErrUnknownGeneration)
		})
	}
}

// TestChangesInTableOrderWhateverThePlan: compare.sql leaves each person's
// rows in the order its join gives them, and Changes puts them in table
// order. A server that may not merge joins (a hash join gives no order) must
// still answer exactly as ChangesOf does.
func TestChangesInTableOrderWhateverThePlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	dsn := pgtest.URL()
	if strings.Contains(dsn, "?") {
		dsn += "&enable_mergejoin=off"
	} else {
		dsn += "?enable_mergejoin=off"
	}
	s := f.open(t, dsn)
	require.NoError(t, s.Migrate(ctx))
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "sample", "acme"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	next := variant(rand.New(rand.NewPCG(16, 16)), m, 0)
	opts := model.PublishOptions{MaxRevokeRatio: 1, Force: true, Keep: 3}
	for _, mm := range []*model.Mirror{m, next} {
		_, err := s.Publish(ctx, mm, opts)
		require.NoError(t, err)
	}
	var mode string
	require.NoError(t, s.pool.QueryRow(ctx, "SHOW enable_mergejoin").Scan(&mode))
	require.Equal(t, "off", mode)
	for _, pair := range [][2]int{{1, 2}, {2, 1}} {
		from, err := s.Open(ctx, pair[0])
		require.NoError(t, err)
		to, err := s.Open(ctx, pair[1])
		require.NoError(t, err)
		want := model.ChangesOf(from, to, pair[0], pair[1], model.Focus{})
		require.NotEmpty(t, want.Added)
		require.NotEmpty(t, want.Removed)
		got, err := s.Changes(ctx, pair[0], pair[1], model.Focus{})
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}
