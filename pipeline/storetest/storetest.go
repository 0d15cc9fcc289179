package storetest

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Sample returns the flattened conformance account of testdata/conformance/rules.
func Sample(t testing.TB, mode model.Mode) *model.Mirror {
	t.Helper()
	snap, err := pipeline.ReadSnapshot(filepath.Join(repoRoot(), "testdata", "conformance", "rules"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{
		Mode: mode,
		Aliases: ident.Aliases{
			Domains: map[string]string{"corp-sub.example": "example.com"},
			Users:   map[string]string{"LOADER": "data-platform@example.com"},
		},
		Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
	})
	require.NoError(t, err)
	return m
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Truncated keeps only the first keep rows of m's access table, as a truncated
// extract would produce.
func Truncated(m *model.Mirror, keep int) *model.Mirror {
	var rows []model.Row
	for r := range m.Access.All() {
		if len(rows) == keep {
			break
		}
		rows = append(rows, r)
	}
	c := *m
	c.Access = model.NewAccess(rows)
	c.Meta.Rows = c.Access.Len()
	return &c
}

func rows(a *model.Access) []model.Row {
	return slices.Collect(a.All())
}

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) model.Store) {
	ctx := context.Background()
	opts := model.DefaultPublishOptions()

	t.Run("empty target", func(t *testing.T) {
		s := open(t)
		_, err := s.Current(ctx)
		require.ErrorIs(t, err, model.ErrNoGeneration)
		_, err = s.Open(ctx, 0)
		require.ErrorIs(t, err, model.ErrNoGeneration)
		gens, err := s.Generations(ctx)
		require.NoError(t, err)
		require.Empty(t, gens)
	})

	t.Run("publish and read back", func(t *testing.T) {
		s := open(t)
		m := Sample(t, model.Effective)
		g, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
		require.Equal(t, 1, g.Number)
		require.Equal(t, m.Access.Len(), g.Rows)
		require.Equal(t, m.Access.Len(), g.Added)
		require.Equal(t, []string{"ACME"}, g.Accounts)
		require.Equal(t, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), g.SnapshotAt.UTC())

		cur, err := s.Current(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, cur.Number)
		require.True(t, cur.Current)

		back, err := s.Open(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, rows(m.Access), rows(back.Access))
		require.Equal(t, m.Memberships, back.Memberships)
		require.Equal(t, m.Grants, back.Grants)
		require.Equal(t, m.Excluded, back.Excluded)
		require.Equal(t, model.Effective, back.Meta.Mode)
		require.NotNil(t, back.Snapshot, "the input must be kept for explain")
		require.Len(t, back.Snapshot.Accounts, 1)
		require.Equal(t, len(m.Snapshot.Accounts[0].RoleGrants), len(back.Snapshot.Accounts[0].RoleGrants))
	})

	t.Run("publishing twice changes nothing but the number", func(t *testing.T) {
		s := open(t)
		m := Sample(t, model.Effective)
		_, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
		g, err := s.Publish(ctx, Sample(t, model.Effective), opts)
		require.NoError(t, err)
		require.Equal(t, 2, g.Number)
		require.Zero(t, g.Added)
		require.Zero(t, g.Removed)
		one, err := s.Open(ctx, 1)
		require.NoError(t, err)
		two, err := s.Open(ctx, 2)
		require.NoError(t, err)
		require.Equal(t, rows(one.Access), rows(two.Access))
		require.Equal(t, one.Memberships, two.Memberships)
	})

	t.Run("counts what a generation adds and removes", func(t *testing.T) {
		s := open(t)
		m := Sample(t, model.Effective)
		_, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
		next := rows(m.Access)
		gone := next[len(next)/2]
		next = slices.Delete(next, len(next)/2, len(next)/2+1)
		next = append(next,
			model.Row{Account: "ACME", Email: "aaa@example.com", ObjectType: "WAREHOUSE", ObjectName: "WH", Privilege: "USAGE"},
			model.Row{Account: "ACME", Email: "zzz@example.com", ObjectType: "WAREHOUSE", ObjectName: "WH", Privilege: "USAGE"})
		c := *m
		c.Access = model.NewAccess(next)
		g, err := s.Publish(ctx, &c, opts)
		require.NoError(t, err)
		require.Equal(t, 2, g.Added)
		require.Equal(t, 1, g.Removed)
		back, err := s.Open(ctx, 0)
		require.NoError(t, err)
		require.False(t, back.Access.Has(gone))
		require.Equal(t, m.Access.Len()+1, back.Access.Len())
	})

	t.Run("revocation guard", func(t *testing.T) {
		s := open(t)
		m := Sample(t, model.Effective)
		_, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)

		cut := Truncated(m, m.Access.Len()/10) // revokes 90%
		_, err = s.Publish(ctx, cut, opts)
		require.ErrorIs(t, err, model.ErrRevokeGuard)
		_, err = s.Publish(ctx, Truncated(m, 0), opts)
		require.ErrorIs(t, err, model.ErrRevokeGuard, "an empty generation must not replace a full one")
		cur, err := s.Current(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, cur.Number, "a refused publish leaves the old generation current")
		back, err := s.Open(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, rows(m.Access), rows(back.Access))

		small := Truncated(m, m.Access.Len()-1) // one row revoked: within the ratio
		g, err := s.Publish(ctx, small, opts)
		require.NoError(t, err)
		require.Equal(t, 1, g.Removed)

		forced := opts
		forced.Force = true
		g, err = s.Publish(ctx, cut, forced)
		require.NoError(t, err)
		require.Equal(t, cut.Access.Len(), g.Rows)
	})

	t.Run("generations, rollback and retention", func(t *testing.T) {
		s := open(t)
		m := Sample(t, model.Effective)
		keep := opts
		keep.Keep = 2
		for i := 0; i < 5; i++ {
			g, err := s.Publish(ctx, Truncated(m, m.Access.Len()-i), keep)
			require.NoError(t, err)
			require.Equal(t, i+1, g.Number)
		}
		gens, err := s.Generations(ctx)
		require.NoError(t, err)
		var numbers []int
		for _, g := range gens {
			numbers = append(numbers, g.Number)
		}
		require.Equal(t, []int{5, 4, 3}, numbers, "current plus two kept, newest first")
		require.True(t, gens[0].Current)

		g, err := s.Rollback(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, 4, g.Number)
		back, err := s.Open(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, m.Access.Len()-3, back.Access.Len())

		g, err = s.Rollback(ctx, 5)
		require.NoError(t, err)
		require.Equal(t, 5, g.Number)
		_, err = s.Rollback(ctx, 1)
		require.ErrorIs(t, err, model.ErrUnknownGeneration)
		_, err = s.Open(ctx, 42)
		require.ErrorIs(t, err, model.ErrUnknownGeneration)
		cur, err := s.Current(ctx)
		require.NoError(t, err)
		require.Equal(t, 5, cur.Number)
	})

	t.Run("run history", func(t *testing.T) {
		s := open(t)
		start := time.Date(2026, 11, 3, 4, 5, 6, 0, time.UTC)
		for i, status := range []string{model.RunPublished, model.RunRefused} {
			require.NoError(t, s.RecordRun(ctx, model.RunRecord{
				StartedAt: start.Add(time.Duration(i) * time.Hour), FinishedAt: start.Add(time.Duration(i)*time.Hour + time.Second),
				Status: status, Source: "dir:x", Rows: 10 + i, Error: map[bool]string{true: "guard"}[i == 1],
			}))
		}
		runs, err := s.Runs(ctx, 10)
		require.NoError(t, err)
		require.Len(t, runs, 2)
		require.Equal(t, model.RunRefused, runs[0].Status)
		require.Equal(t, "guard", runs[0].Error)
		require.Equal(t, 10, runs[1].Rows)
		require.True(t, runs[1].StartedAt.Equal(start))
	})

	t.Run("concurrent publishes never interleave", func(t *testing.T) {
		s := open(t)
		m := Sample(t, model.Effective)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Publish(ctx, m, opts)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			require.True(t, errors.Is(err, model.ErrLocked), "unexpected error: %v", err)
		}
		require.GreaterOrEqual(t, ok, 1)
		gens, err := s.Generations(ctx)
		require.NoError(t, err)
		require.Len(t, gens, min(ok, 1+opts.Keep))
		back, err := s.Open(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, rows(m.Access), rows(back.Access))
	})
}
