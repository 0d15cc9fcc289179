package privilege

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOwnershipImplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ, held, want string
		ok              bool
	}{
		{"TABLE", "OWNERSHIP", "SELECT", true},
		{"TABLE", "OWNERSHIP", "TRUNCATE", true},
		{"VIEW", "OWNERSHIP", "INSERT", false}, // a view cannot be written
		{"SCHEMA", "OWNERSHIP", "CREATE TABLE", true},
		{"DATABASE", "OWNERSHIP", "CREATE SCHEMA", true},
		{"WAREHOUSE", "OWNERSHIP", "OPERATE", true},
		{"ROLE", "OWNERSHIP", "USAGE", false}, // owning a role is not holding it
		{"HOLOGRAM", "OWNERSHIP", "USAGE", false},
		{"TABLE", "INSERT", "SELECT", false}, // no privilege but OWNERSHIP implies another
		{"TABLE", "SELECT", "SELECT", true},
	} {
		require.Equal(t, tc.ok, Implies(tc.typ, tc.held, tc.want), "%s %s → %s", tc.typ, tc.held, tc.want)
	}
	require.NotContains(t, Implied("SCHEMA"), "OWNERSHIP")
	require.Len(t, Implied("SCHEMA"), 20)
}

func TestInheritance(t *testing.T) {
	t.Parallel()
	require.True(t, IsInheritance("USAGE", "ROLE"))
	require.True(t, IsInheritance("USAGE", "DATABASE_ROLE"))
	require.True(t, IsInheritance("USAGE", "APPLICATION_ROLE"))
	require.False(t, IsInheritance("OWNERSHIP", "ROLE"))
	require.False(t, IsInheritance("USAGE", "WAREHOUSE"))
}
