package snowflake

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// TestExtractManifestVerifies checks that the manifest of an extract records
// the rows and the SHA-256 of every file it wrote, that the snapshot reader
// accepts the extract as written, and that it refuses a file cut short after
// the extract, naming the file and both sums.
func TestExtractManifestVerifies(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{})
	res, err := f.extract(t.Context())
	require.NoError(t, err)
	m := readManifest(t, f.out)
	require.NotEmpty(t, m.Rows)
	require.Len(t, m.SHA256, len(m.Rows), "every file has its checksum")
	for _, v := range res.Accounts[0].Views {
		if v.Missing {
			require.NotContains(t, m.SHA256, v.File)
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.out, v.File))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		require.Equal(t, hex.EncodeToString(sum[:]), m.SHA256[v.File], v.File)
		require.Equal(t, v.Rows, m.Rows[v.File], v.File)
	}
	snap, err := pipeline.ReadSnapshot(f.out)
	require.NoError(t, err)
	require.Empty(t, snap.Warnings)

	path := filepath.Join(f.out, "grants_to_roles.csv")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cut := b[:len(b)-len(b)/3]
	require.NoError(t, os.WriteFile(path, cut, 0o644))
	sum := sha256.Sum256(cut)
	_, err = pipeline.ReadSnapshot(f.out)
	require.ErrorIs(t, err, model.ErrInput)
	require.ErrorContains(t, err, path+": the file's SHA-256 is "+hex.EncodeToString(sum[:])+" but manifest.json says "+m.SHA256["grants_to_roles.csv"])
}
