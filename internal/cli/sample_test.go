package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
)

// The README tells people that sample --preset acme is the bundled sample; with
// its defaults it must write the same account: every user, role, grant, tag,
// policy and access event, read back through the snapshot reader (so a new
// optional column in the writer does not count as a difference).
func TestSamplePresetAcmeIsTheBundledSample(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "acme")
	r := run(t, "sample", "--preset", "acme", "--out", out)
	require.Equal(t, ExitOK, r.code, r.stderr)
	got, err := pipeline.ReadSnapshot(out)
	require.NoError(t, err)
	want, err := pipeline.ReadSnapshot(filepath.Join(repo, "testdata", "sample", "acme"))
	require.NoError(t, err)
	require.Len(t, got.Accounts, 1)
	require.Len(t, want.Accounts, 1)
	g, w := got.Accounts[0], want.Accounts[0]
	require.Equal(t, w.Name, g.Name)
	require.True(t, w.ExtractedAt.Equal(g.ExtractedAt))
	require.Equal(t, w.Users, g.Users)
	require.Equal(t, w.Roles, g.Roles)
	require.Equal(t, w.UserGrants, g.UserGrants)
	require.Equal(t, w.RoleGrants, g.RoleGrants)
	require.Equal(t, w.Tags, g.Tags)
	require.Equal(t, w.Policies, g.Policies)
	require.Equal(t, w.History, g.History)
}
