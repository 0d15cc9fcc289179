package explain

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// TestTyposAreRefused: Ask, Check and AskMirror refuse a misspelt privilege
// before answering (no fix that is not SQL), and a denial for an address a
// typo away from a user's, with the nearest; a privilege only the generation
// knows, a known person, a person nobody is near, and a person a local grant
// allows are answered as before.
func TestTyposAreRefused(t *testing.T) {
	t.Parallel()
	_, m := load(t, "acme", acmeAliases)
	src := Source{Reader: &memReader{m: m}, Config: Config{Mode: m.Meta.Mode, Roles: m.Meta.Roles, Settings: *m.Meta.Settings}}
	ctx := context.Background()
	ask := func(q Query) (*Answer, bool, *Answer, error, error, error) {
		a, askErr := Ask(ctx, src, 0, q)
		ok, checkErr := Check(ctx, src, q)
		am, mirrorErr := AskMirror(m, q, src.Config, nil)
		return a, ok, am, askErr, checkErr, mirrorErr
	}

	_, _, _, askErr, checkErr, mirrorErr := ask(Query{Email: "alice.martin@acme.example", Object: "SALES.PUBLIC.ORDERS", Privilege: "SELEC"})
	for _, err := range []error{askErr, checkErr, mirrorErr} {
		var unknown *privilege.UnknownError
		require.ErrorAs(t, err, &unknown)
		require.EqualError(t, err, `unknown privilege "SELEC" (did you mean SELECT?)`)
	}

	_, _, _, askErr, checkErr, mirrorErr = ask(Query{Email: "alice.martn@acme.example", Object: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"})
	for _, err := range []error{askErr, checkErr, mirrorErr} {
		var unknown *UnknownEmailError
		require.ErrorAs(t, err, &unknown)
		require.Equal(t, []string{"alice.martin@acme.example"}, unknown.Nearest)
		require.EqualError(t, err, `unknown email "alice.martn@acme.example" (did you mean alice.martin@acme.example?)`)
	}

	for _, q := range []Query{
		{Email: "alice.martin@acme.example", Object: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"},
		{Email: "carol.smith@acme.example", Object: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"},
		{Email: "nobody@elsewhere.example", Object: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"},
		{Email: "alice.martin@acme.example", Object: "SALES.PUBLIC.ORDERS"},
	} {
		a, ok, am, askErr, checkErr, mirrorErr := ask(q)
		require.NoError(t, askErr, "%+v", q)
		require.NoError(t, checkErr, "%+v", q)
		require.NoError(t, mirrorErr, "%+v", q)
		require.Equal(t, a.Allowed, ok)
		require.Equal(t, a.Allowed, am.Allowed)
	}

	// A privilege Snowflake's list lacks is one when the generation grants it.
	hologram := &model.Mirror{Meta: m.Meta, Access: model.NewAccess([]model.Row{
		{Account: "ACME", Email: "alice.martin@acme.example", ObjectType: "HOLOGRAM", ObjectName: "H", Privilege: "IMAGINE"}})}
	require.NoError(t, CheckPrivilege(hologram, Query{Object: "H", Privilege: "IMAGINE"}))
	require.EqualError(t, CheckPrivilege(hologram, Query{Object: "H", Privilege: "IMAGIN"}), `unknown privilege "IMAGIN" (did you mean IMAGINE?)`)

	// A near address that a local grant allows is a person, not a typo.
	_, tiny := load(t, "tiny", acmeAliases)
	near := "anne@tiny.example" // a typo away from anna@tiny.example
	local := Source{Reader: &memReader{m: tiny}, Local: func(_ context.Context, email string, _ time.Time) ([]LocalGrant, error) {
		return coverGrant(email, "SHOP.PUBLIC.ITEMS"), nil
	}}
	ok, err := Check(ctx, local, Query{Email: near, Object: "SHOP.PUBLIC.ITEMS", Privilege: "SELECT"})
	require.NoError(t, err)
	require.True(t, ok)
	_, err = Check(ctx, Source{Reader: &memReader{m: tiny}}, Query{Email: near, Object: "SHOP.PUBLIC.ITEMS", Privilege: "SELECT"})
	require.EqualError(t, err, `unknown email "anne@tiny.example" (did you mean anna@tiny.example?)`)

	// Without a snapshot (history of a pruned generation) there is no one to
	// suggest: the denial stands.
	pruned := &model.Mirror{Meta: m.Meta, Access: m.Access}
	ans, err := AskMirror(pruned, Query{Email: "alice.martn@acme.example", Object: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"}, src.Config, nil)
	require.NoError(t, err)
	require.False(t, ans.Allowed)
}
