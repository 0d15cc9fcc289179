package sample

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	o := Options{Users: 300, Roles: 60, Grants: 2000, Seed: 7}
	a, err := Generate(o)
	require.NoError(t, err)
	b, err := Generate(o)
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.Len(t, a.RoleGrants, 2000)
	o.Seed = 8
	c, err := Generate(o)
	require.NoError(t, err)
	require.NotEqual(t, a.RoleGrants, c.RoleGrants)
}

func TestGenerateFlattens(t *testing.T) {
	t.Parallel()
	a, err := Generate(Options{Users: 500, Roles: 80, Grants: 4000, Seed: 1})
	require.NoError(t, err)
	m, err := pipeline.Flatten(&model.Snapshot{Accounts: []*model.Account{a}}, pipeline.Options{Now: time.Unix(0, 0)})
	require.NoError(t, err)
	require.Positive(t, m.Access.Len())
	require.NotEmpty(t, m.Excluded, "junk emails must be left out")
}
