package dirstore

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) model.Store {
		s, err := Open(t.TempDir())
		require.NoError(t, err)
		return s
	})
}

func TestReaderConformance(t *testing.T) {
	t.Parallel()
	storetest.RunReader(t, func(t *testing.T) model.Store {
		s, err := Open(t.TempDir())
		require.NoError(t, err)
		return s
	})
}

// TestLockedTarget holds the publish lock as a running sync would.
func TestLockedTarget(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	unlock, err := s.lock()
	require.NoError(t, err)
	defer unlock()
	_, err = s.Publish(context.Background(), storetest.Sample(t, model.Effective), model.DefaultPublishOptions())
	require.ErrorIs(t, err, model.ErrLocked)
	_, err = os.Stat(filepath.Join(s.dir, currentFile))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestOlderLayout: a generation whose partition files are in another encoding
// (here: one written before formats were numbered) is refused by readers and by
// rollback with ErrOldLayout, never misread, and the next sync replaces it even
// though its rows did not change.
func TestOlderLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	m := storetest.Sample(t, model.Effective)
	m.Meta.Digest = "input digest"
	opts := model.DefaultPublishOptions()
	opts.SkipUnchanged = true
	_, err = s.Publish(ctx, m, opts)
	require.NoError(t, err)
	_, err = s.Publish(ctx, m, model.PublishOptions{Keep: opts.Keep, Force: true})
	require.NoError(t, err)
	_, err = s.Publish(ctx, m, opts)
	require.ErrorIs(t, err, model.ErrUnchanged)
	for _, n := range []int{1, 2} {
		st, err := s.readStored(n)
		require.NoError(t, err)
		st.Layout.Format = 0
		b, err := json.Marshal(st)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(s.dir, genDir(n), genFile), b, 0o644))
	}

	_, err = s.Slice(ctx, 0, model.Focus{Email: "alice@example.com"})
	require.ErrorIs(t, err, ErrOldLayout)
	_, err = s.Open(ctx, 2)
	require.ErrorIs(t, err, ErrOldLayout)
	_, err = s.Rollback(ctx, 1)
	require.ErrorIs(t, err, ErrOldLayout)

	g, err := s.Publish(ctx, m, opts)
	require.NoError(t, err, "an unchanged sync over an unreadable generation publishes")
	require.Equal(t, 3, g.Number)
	require.Zero(t, g.Added+g.Removed)
	got, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, m.Access.Len(), got.Access.Len())
}
