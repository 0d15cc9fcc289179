package snowflake

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
	"github.com/grantmirror/grantmirror/pipeline"
)

// TestExtractFidelityColumns: the extract carries what the mirror needs beyond
// grants — expiry and secondary roles of users, instances of instance roles,
// tags of tag-based policies and the policy definitions — and the snapshot it
// writes reads back with them.
func TestExtractFidelityColumns(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{})
	_, err := f.extract(t.Context())
	require.NoError(t, err)
	snap, err := pipeline.ReadSnapshot(f.out)
	require.NoError(t, err)
	a := snap.Accounts[0]
	users := map[string]*pipeline.User{}
	for i := range a.Users {
		users[a.Users[i].Name] = &a.Users[i]
	}
	require.True(t, users["BOB"].Expired, "EXPIRES_AT before the extract")
	require.Equal(t, pipeline.PrimaryRole, users["BOB"].SecondaryRoles)
	require.Equal(t, pipeline.AllRoles, users["ALICE"].SecondaryRoles)
	require.True(t, a.BodiesOf["MASKING_POLICY"])
	require.True(t, a.BodiesOf["ROW_ACCESS_POLICY"])
	require.True(t, a.BodiesOf["PROJECTION_POLICY"])
	require.Len(t, a.Bodies, 2)

	m, err := pipeline.Flatten(snap, pipeline.Options{})
	require.NoError(t, err)
	var rules []string
	for _, c := range m.Masked {
		require.NotNil(t, c.Rule, c.Reason)
		require.True(t, c.Rule.Translated, c.Reason)
		rules = append(rules, c.Rule.Policy)
	}
	require.ElementsMatch(t, []string{"GOVERNANCE.POLICIES.EMAIL_MASK", "GOVERNANCE.POLICIES.EU_ONLY"}, rules)
}
