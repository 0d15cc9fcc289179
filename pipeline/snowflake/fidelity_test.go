package snowflake

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
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
	users := map[string]*model.User{}
	for i := range a.Users {
		users[a.Users[i].Name] = &a.Users[i]
	}
	require.True(t, users["BOB"].Expired, "EXPIRES_AT before the extract")
	require.Equal(t, model.PrimaryRole, users["BOB"].SecondaryRoles)
	require.Equal(t, model.AllRoles, users["ALICE"].SecondaryRoles)
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

// TestExtractWithoutOptionalUserColumns: an account whose USERS view lacks one of
// the optional columns is read again without all of them, with a warning naming
// them; the snapshot leaves them unknown (no one expired, sessions follow the
// configured roles mode) and says which columns it left out. A required column
// missing still fails the account.
func TestExtractWithoutOptionalUserColumns(t *testing.T) {
	t.Parallel()
	for _, missing := range []string{"EXPIRES_AT", "DEFAULT_SECONDARY_ROLE", "SNOWFLAKE_LOCK", "LOCKED_UNTIL_TIME"} {
		t.Run(missing, func(t *testing.T) {
			t.Parallel()
			f := setup(t, fakesnowflake.Options{MissingColumns: map[string][]string{"USERS": {missing}}})
			res, err := f.extract(t.Context())
			require.NoError(t, err)
			optional := []string{"DEFAULT_SECONDARY_ROLE", "EXPIRES_AT", "LOCKED_UNTIL_TIME", "SNOWFLAKE_LOCK"}
			v := viewResult(t, res.Accounts[0], "USERS")
			require.Equal(t, optional, v.Omitted)
			require.Equal(t, 2, v.Attempts, "the full query, then the one without the optional columns")
			require.Equal(t, map[string][]string{"users.csv": optional}, readManifest(t, f.out).OmittedColumns)
			require.Contains(t, f.logs.String(), `"level":"WARN","msg":"the view lacks a column grantmirror reads; extracting it without its optional columns, which the snapshot leaves unknown","account":"ACME","view":"USERS","missing":"`+missing+`","left_out":["DEFAULT_SECONDARY_ROLE","EXPIRES_AT","LOCKED_UNTIL_TIME","SNOWFLAKE_LOCK"]`)

			// The file holds every other column as served.
			served := readCSV(t, filepath.Join(acmeDir, "users.csv"))
			got := readCSV(t, filepath.Join(f.out, "users.csv"))
			require.Equal(t, []string{"NAME", "LOGIN_NAME", "DISPLAY_NAME", "EMAIL", "TYPE", "DISABLED", "DEFAULT_ROLE", "DELETED_ON"}, got[0])
			require.Len(t, got, len(served))
			for i := range got {
				require.Equal(t, served[i][:8], got[i], "row %d", i)
			}

			snap, err := pipeline.ReadSnapshot(f.out)
			require.NoError(t, err)
			for _, u := range snap.Accounts[0].Users {
				require.False(t, u.Expired, "%s: expiry unknown is not expired", u.Name)
				require.False(t, u.SnowflakeLock, u.Name)
				require.Equal(t, model.RoleMode(""), u.SecondaryRoles, "%s: the configured roles mode applies", u.Name)
			}
			for _, mode := range []model.RoleMode{model.AllRoles, model.PrimaryRole} {
				m, err := pipeline.Flatten(snap, pipeline.Options{Roles: mode})
				require.NoError(t, err)
				var bob []string
				for _, ms := range m.Memberships {
					if ms.Email == "bob@acme.example" {
						bob = append(bob, ms.Role)
					}
				}
				require.Contains(t, bob, "ENGINEER", "BOB is not taken for expired (%s)", mode)
			}
		})
	}

	// The full view needs one query and keeps every column.
	f := setup(t, fakesnowflake.Options{})
	res, err := f.extract(t.Context())
	require.NoError(t, err)
	v := viewResult(t, res.Accounts[0], "USERS")
	require.Empty(t, v.Omitted)
	require.Equal(t, 1, v.Attempts)
	require.Nil(t, readManifest(t, f.out).OmittedColumns)
	require.Equal(t, readCSV(t, filepath.Join(acmeDir, "users.csv")), readCSV(t, filepath.Join(f.out, "users.csv")))

	// A required column is not optional: the account fails with Snowflake's error.
	f = setup(t, fakesnowflake.Options{MissingColumns: map[string][]string{"USERS": {"EMAIL"}}})
	_, err = f.extract(t.Context())
	var se *Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, 904, se.Code)
	require.ErrorContains(t, err, "read SNOWFLAKE.ACCOUNT_USAGE.USERS")
	require.ErrorContains(t, err, "invalid identifier 'EMAIL'")
	requireNothingAt(t, f.out)
}
