package pipeline_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// TestLoginColumnsRoundTrip: expiry, locks and secondary roles survive a write and
// read, which is how both stores keep the snapshot of a generation.
func TestLoginColumnsRoundTrip(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot("../testdata/conformance/login")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, pipeline.WriteSnapshot(dir, snap))
	back, err := pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	require.Equal(t, snap.Accounts[0].Users, back.Accounts[0].Users)

	byName := map[string]*model.User{}
	for i := range back.Accounts[0].Users {
		byName[back.Accounts[0].Users[i].Name] = &back.Accounts[0].Users[i]
	}
	require.True(t, byName["ANN"].Expired)
	require.True(t, byName["CAT"].Expired, "EXPIRES_AT equal to extracted_at has passed")
	require.False(t, byName["BEN"].Expired)
	require.True(t, byName["DAN"].SnowflakeLock)
	require.True(t, byName["DAN"].Active(), "a lock keeps the access")
	require.False(t, byName["EDO"].LockedUntil.IsZero())
	require.Equal(t, model.PrimaryRole, byName["FAY"].SecondaryRoles)
	require.Equal(t, model.AllRoles, byName["GUS"].SecondaryRoles)
	require.Equal(t, model.RoleMode(""), byName["HAL"].SecondaryRoles, "NULL: unset, the configured default applies")
	require.Equal(t, model.RoleMode(""), byName["IDA"].SecondaryRoles)
}

// TestNoSecondaryColumnKeepsDefault: without DEFAULT_SECONDARY_ROLE every user
// follows the configured mode, and a round trip does not invent the column.
func TestNoSecondaryColumnKeepsDefault(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot("../testdata/conformance/rules")
	require.NoError(t, err)
	for _, u := range snap.Accounts[0].Users {
		require.Equal(t, model.RoleMode(""), u.SecondaryRoles, u.Name)
	}
	dir := t.TempDir()
	require.NoError(t, pipeline.WriteSnapshot(dir, snap))
	b, err := os.ReadFile(filepath.Join(dir, "users.csv"))
	require.NoError(t, err)
	require.NotContains(t, string(b), "DEFAULT_SECONDARY_ROLE")
}

func TestBadExpiry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"users.csv":           "NAME,EMAIL,DISABLED,DELETED_ON,EXPIRES_AT\nANN,ann@example.com,false,,next tuesday\n",
		"grants_to_users.csv": "ROLE,GRANTED_TO,GRANTEE_NAME,DELETED_ON\n",
		"grants_to_roles.csv": "PRIVILEGE,GRANTED_ON,NAME,TABLE_CATALOG,TABLE_SCHEMA,GRANTED_TO,GRANTEE_NAME,DELETED_ON\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	_, err := pipeline.ReadSnapshot(dir)
	require.ErrorIs(t, err, model.ErrInput)
	require.ErrorContains(t, err, "users.csv:2: EXPIRES_AT")
}
