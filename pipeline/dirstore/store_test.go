package dirstore

import (
	"context"
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
