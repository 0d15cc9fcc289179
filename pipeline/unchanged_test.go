package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/snaptest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// TestUnchangedRun: on both targets, a sync whose mirror equals the current
// generation publishes nothing and is recorded as unchanged with the generation
// that stays current; a dry run says so too; --force publishes it anyway; and a
// change that leaves the rows alone but not the excluded users is published.
func TestUnchangedRun(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := kind.open(t)
			dir := t.TempDir()
			copyDir(t, filepath.Join("..", "testdata", "sample", "acme"), dir)
			first, err := pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.False(t, first.Unchanged)
			require.NotEmpty(t, first.Mirror.Meta.Digest)

			// The same content under a rewritten manifest: another fingerprint, so
			// the sync reads and flattens it and the store finds the mirror equal.
			appendTo(t, filepath.Join(dir, "manifest.json"), "\n")
			res, err := pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.False(t, res.InputUnchanged, "the input was read")
			require.True(t, res.Unchanged)
			require.Equal(t, first.Generation.Number, res.Generation.Number)
			gens, err := s.Generations(ctx)
			require.NoError(t, err)
			require.Len(t, gens, 1, "nothing published")
			runs, err := s.Runs(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, model.RunUnchanged, runs[0].Status)
			require.Equal(t, first.Generation.Number, runs[0].Generation)
			require.Equal(t, first.Mirror.Access.Len(), runs[0].Rows)
			require.Zero(t, runs[0].Added+runs[0].Removed)

			dry := syncConfig(dir, s, false)
			dry.DryRun = true
			res, err = pipeline.Run(ctx, dry)
			require.NoError(t, err)
			require.True(t, res.Unchanged, "a dry run says the sync would publish nothing")

			res, err = pipeline.Run(ctx, syncConfig(dir, s, true))
			require.NoError(t, err)
			require.False(t, res.Unchanged, "--force publishes an identical generation")
			require.Equal(t, first.Generation.Number+1, res.Generation.Number)

			// A user without a valid email joins: no row changes, but the excluded
			// users do, and lint answers from the generation.
			appendTo(t, filepath.Join(dir, "users.csv"), "NOMAIL,not-an-email,false,,PERSON,NOMAIL,NOMAIL,\n")
			snaptest.Reseal(t, dir)
			res, err = pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.False(t, res.Unchanged)
			require.Zero(t, res.Added+res.Removed, "the rows are the same")
			require.Equal(t, first.Generation.Number+2, res.Generation.Number)
			back, err := s.Open(ctx, 0)
			require.NoError(t, err)
			require.Len(t, back.Excluded, len(first.Mirror.Excluded)+1)
			require.Equal(t, res.Mirror.Meta.Digest, back.Meta.Digest, "the digest is kept with the generation")
		})
	}
}

// TestGenerationWithoutDigestIsNeverUnchanged: a generation published before
// digests were recorded has none, so the next sync publishes rather than
// guessing.
func TestGenerationWithoutDigestIsNeverUnchanged(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := kind.open(t)
			dir := filepath.Join("..", "testdata", "sample", "tiny")
			snap, err := pipeline.ReadSnapshot(dir)
			require.NoError(t, err)
			m, err := pipeline.Flatten(snap, pipeline.Options{Mode: model.Effective, Roles: model.AllRoles})
			require.NoError(t, err)
			require.Empty(t, m.Meta.Digest)
			_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
			require.NoError(t, err)
			res, err := pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.False(t, res.Unchanged)
			require.Equal(t, 2, res.Generation.Number)
		})
	}
}

// TestContentDigest: the digest ignores what differs between two syncs of the
// same data, and moves with any row, provenance, exclusion or setting.
func TestContentDigest(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "testdata", "sample", "acme"))
	require.NoError(t, err)
	flatten := func(mode model.Mode) *model.Mirror {
		m, err := pipeline.Flatten(snap, pipeline.Options{Mode: mode, Roles: model.AllRoles})
		require.NoError(t, err)
		return m
	}
	a, b := flatten(model.Effective), flatten(model.Effective)
	b.Meta.PublishedAt = b.Meta.PublishedAt.Add(3600e9)
	b.Meta.Generation = 9
	b.Meta.Accounts[0].ExtractedAt = b.Meta.Accounts[0].ExtractedAt.Add(3600e9)
	require.Equal(t, a.ContentDigest(), b.ContentDigest())

	require.NotEqual(t, a.ContentDigest(), flatten(model.Granted).ContentDigest(), "mode and rows")
	var rows []model.Row
	for r := range a.Access.All() {
		rows = append(rows, r)
	}
	c := *a
	c.Access = model.NewAccess(rows[1:])
	require.NotEqual(t, a.ContentDigest(), c.ContentDigest(), "one row fewer")
	c = *a
	c.Grants = c.Grants[1:]
	require.NotEqual(t, a.ContentDigest(), c.ContentDigest(), "provenance")
	c = *a
	c.Masked = nil
	require.NotEqual(t, a.ContentDigest(), c.ContentDigest(), "masked columns")
	c = *a
	c.Memberships = append([]model.Membership{}, a.Memberships...)
	c.Memberships[0].Path = append([]string{"X"}, c.Memberships[0].Path...)
	require.NotEqual(t, a.ContentDigest(), c.ContentDigest(), "a role path")
}
