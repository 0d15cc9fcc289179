package privilege

import (
	"slices"

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

// The name lists stay sorted (Nearest breaks ties by order) and hold every type
// and privilege the ownership rules name.
func TestNameLists(t *testing.T) {
	t.Parallel()
	require.True(t, slices.IsSorted(privileges))
	require.True(t, slices.IsSorted(objectTypes))
	for typ, ps := range implied {
		require.NoError(t, LookupObjectType(typ), typ)
		for _, p := range ps {
			require.NoError(t, Lookup(p), p)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	require.NoError(t, Lookup("SELECT"))
	require.NoError(t, Lookup("CREATE TABLE"))
	require.EqualError(t, Lookup("SELEC"), `unknown privilege "SELEC" (did you mean SELECT?)`)
	require.EqualError(t, Lookup("CREATE TABEL"), `unknown privilege "CREATE TABEL" (did you mean CREATE TABLE?)`)
	require.EqualError(t, Lookup("FROBNICATE"), `unknown privilege "FROBNICATE"`)
	// A privilege a generation's grants use is one, whatever the list says.
	require.NoError(t, Lookup("IMAGINE", "USAGE", "IMAGINE"))
	require.EqualError(t, Lookup("IMAGIN", "IMAGINE"), `unknown privilege "IMAGIN" (did you mean IMAGINE?)`)

	require.NoError(t, LookupObjectType("MATERIALIZED_VIEW"))
	require.EqualError(t, LookupObjectType("TABLS"), `unknown object type "TABLS" (did you mean TABLE?)`)
	require.NoError(t, LookupObjectType("HOLOGRAM", "HOLOGRAM"))
	var unknown *UnknownError
	require.ErrorAs(t, LookupObjectType("VIEWS"), &unknown)
	require.Equal(t, UnknownError{Kind: "object type", Name: "VIEWS", Suggestion: "VIEW"}, *unknown)
}
