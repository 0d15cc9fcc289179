package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/snaptest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// TestInputUnchanged: on both targets, a sync of the snapshot, settings and
// grantmirror that built the current generation ends before reading anything,
// recorded as unchanged; any change to a file (resealed or not), to the
// settings, or a dry run or --force, reads and flattens again.
func TestInputUnchanged(t *testing.T) {
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
			runs, err := s.Runs(ctx, 1)
			require.NoError(t, err)
			require.Len(t, runs[0].InputDigest, 64, "a sealed snapshot with extracted_at has a fingerprint, and the run record keeps it")

			res, err := pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.True(t, res.InputUnchanged)
			require.True(t, res.Unchanged)
			require.Nil(t, res.Mirror, "nothing was read")
			require.Empty(t, res.Phases, "no phase ran")
			runs, err = s.Runs(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, model.RunUnchanged, runs[0].Status)
			require.Equal(t, first.Generation.Rows, runs[0].Rows)
			require.Equal(t, first.Generation.Number, runs[0].Generation)

			// Other settings: the same input flattens to another mirror.
			other := syncConfig(dir, s, false)
			other.Flatten.Aliases.Domains = map[string]string{"acme-sub.example": "acme.example"}
			res, err = pipeline.Run(ctx, other)
			require.NoError(t, err)
			require.False(t, res.InputUnchanged)
			require.NotNil(t, res.Mirror)

			dry := syncConfig(dir, s, false)
			dry.DryRun = true
			res, err = pipeline.Run(ctx, dry)
			require.NoError(t, err)
			require.False(t, res.InputUnchanged, "a dry run lists what would change, so it reads")

			// A file changed and resealed: read, flattened and published.
			appendTo(t, filepath.Join(dir, "users.csv"), "NOMAIL,not-an-email,false,,PERSON,NOMAIL,NOMAIL,\n")
			snaptest.Reseal(t, dir)
			res, err = pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.False(t, res.InputUnchanged)
			require.False(t, res.Unchanged, "the excluded users changed")
			published := res.Generation.Number
			res, err = pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.True(t, res.InputUnchanged, "the published run recorded its input")

			// After a rollback the current generation is not the one the input
			// built: read again (and find it unchanged from that one or not).
			_, err = s.Rollback(ctx, published-1)
			require.NoError(t, err)
			res, err = pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			require.False(t, res.InputUnchanged)
			published = res.Generation.Number

			// A file changed behind its checksum: never "unchanged", and the read
			// refuses it.
			appendTo(t, filepath.Join(dir, "grants_to_users.csv"), "ROLE,ALICE,USER,\n")
			_, err = pipeline.Run(ctx, syncConfig(dir, s, false))
			require.ErrorIs(t, err, model.ErrInput)
			cur, err := s.Current(ctx)
			require.NoError(t, err)
			require.Equal(t, published, cur.Number, "the mirror is untouched")
			res, err = pipeline.Run(ctx, syncConfig(dir, s, false))
			require.ErrorIs(t, err, model.ErrInput, "after a failed run, the input is read again")
		})
	}
}

// TestSnapshotFingerprint: a fingerprint needs every account's manifest with
// extracted_at and the checksum of each file it holds, verified.
func TestSnapshotFingerprint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "testdata", "sample", "acme"), dir)
	fp, err := pipeline.SnapshotFingerprint(dir)
	require.NoError(t, err)
	require.Len(t, fp, 64)
	again, err := pipeline.SnapshotFingerprint(dir)
	require.NoError(t, err)
	require.Equal(t, fp, again, "stable")

	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var man map[string]any
	require.NoError(t, json.Unmarshal(b, &man))
	for _, tt := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"no extracted_at: expiry is judged when read", func(m map[string]any) { delete(m, "extracted_at") }},
		{"a file without its checksum", func(m map[string]any) { delete(m["sha256"].(map[string]any), "roles.csv") }},
		{"a wrong checksum", func(m map[string]any) {
			m["sha256"].(map[string]any)["users.csv"] = strings.Repeat("0", 64)
		}},
	} {
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		tt.edit(m)
		out, err := json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, out, 0o644))
		got, err := pipeline.SnapshotFingerprint(dir)
		require.NoError(t, err)
		require.Empty(t, got, tt.name)
	}
	require.NoError(t, os.Remove(path))
	got, err := pipeline.SnapshotFingerprint(dir)
	require.NoError(t, err)
	require.Empty(t, got, "no manifest")
	require.Empty(t, pipeline.InputDigest("", pipeline.Options{}), "no fingerprint, no input digest")
}
