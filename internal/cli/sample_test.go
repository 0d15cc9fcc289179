package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README tells people that sample --preset acme is the bundled sample; with
// its defaults it must write the same snapshot files byte for byte.
func TestSamplePresetAcmeIsTheBundledSample(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "acme")
	r := run(t, "sample", "--preset", "acme", "--out", out)
	require.Equal(t, ExitOK, r.code, r.stderr)
	written, err := os.ReadDir(out)
	require.NoError(t, err)
	require.NotEmpty(t, written)
	for _, f := range written {
		got, err := os.ReadFile(filepath.Join(out, f.Name()))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(repo, "testdata", "sample", "acme", f.Name()))
		require.NoError(t, err, "%s is not in the bundled sample", f.Name())
		require.Equal(t, string(want), string(got), f.Name())
	}
}
