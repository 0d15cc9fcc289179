package dirstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) pipeline.Store {
		s, err := Open(t.TempDir())
		require.NoError(t, err)
		return s
	})
}

func TestReaderConformance(t *testing.T) {
	t.Parallel()
	storetest.RunReader(t, func(t *testing.T) pipeline.Store {
		s, err := Open(t.TempDir())
		require.NoError(t, err)
		return s
	})
}

// TestCrashBeforePublish interrupts a publish at each step before the pointer moves,
// as a kill would, and checks the old generation is still the one readers get and
// the next run cleans up and succeeds.
func TestCrashBeforePublish(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"written", "renamed"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			s, err := Open(dir)
			require.NoError(t, err)
			m := storetest.Sample(t, pipeline.Effective)
			_, err = s.Publish(ctx, m, pipeline.DefaultPublishOptions())
			require.NoError(t, err)

			crash := errors.New("killed")
			s.failpoint = func(at string) error {
				if at == step {
					return crash
				}
				return nil
			}
			granted := storetest.Sample(t, pipeline.Granted)
			_, err = s.Publish(ctx, granted, pipeline.DefaultPublishOptions())
			require.ErrorIs(t, err, crash)

			reader, err := Open(dir)
			require.NoError(t, err)
			cur, err := reader.Current(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, cur.Number)
			back, err := reader.Open(ctx, 0)
			require.NoError(t, err)
			require.Equal(t, slices.Collect(m.Access.All()), slices.Collect(back.Access.All()))

			s.failpoint = nil
			g, err := s.Publish(ctx, granted, pipeline.DefaultPublishOptions())
			require.NoError(t, err)
			require.Equal(t, granted.Access.Len(), g.Rows)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NotContains(t, e.Name(), tmpPrefix, "leftover temporary generation")
			}
		})
	}
}

// TestLockedTarget holds the publish lock as a running sync would.
func TestLockedTarget(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	unlock, err := s.lock()
	require.NoError(t, err)
	defer unlock()
	_, err = s.Publish(context.Background(), storetest.Sample(t, pipeline.Effective), pipeline.DefaultPublishOptions())
	require.ErrorIs(t, err, pipeline.ErrLocked)
	_, err = os.Stat(filepath.Join(s.dir, currentFile))
	require.ErrorIs(t, err, os.ErrNotExist)
}
