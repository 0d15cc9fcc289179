package snowflake

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
	"github.com/grantmirror/grantmirror/pipeline"
)

func TestSourceLoad(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{ChunkRows: 3})
	globex := fakesnowflake.Start(t, fakesnowflake.Options{Dir: globexDir, Account: "globex"})
	f.cfg.Accounts = append(f.cfg.Accounts, fakeAccount(globex, "GLOBEX", "globex"))
	tmp := t.TempDir()
	var got Result
	src := &Source{Config: f.cfg, Options: f.opts, TempDir: tmp, OnResult: func(r Result) { got = r }}
	var _ pipeline.Source = src

	snap, err := src.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, "snowflake:ACME,GLOBEX", src.String())
	require.Len(t, snap.Accounts, 2)
	acme, globexAcct := snap.Accounts[0], snap.Accounts[1]
	require.Equal(t, "ACME", acme.Name)
	require.Equal(t, "GLOBEX", globexAcct.Name)
	require.Equal(t, extractedAt, acme.ExtractedAt)
	require.Equal(t, "snowflake:acme", acme.Source)

	// The replayed snapshot reads the same as the served one.
	want, err := pipeline.ReadSnapshot(acmeDir)
	require.NoError(t, err)
	require.Equal(t, want.Accounts[0].Users, acme.Users)
	require.Equal(t, want.Accounts[0].RoleGrants, acme.RoleGrants)
	require.Equal(t, want.Accounts[0].UserGrants, acme.UserGrants)
	require.Equal(t, want.Accounts[0].History, acme.History)
	require.True(t, acme.HasRoles)
	require.Len(t, globexAcct.Tags, 1)
	require.False(t, globexAcct.HasHistory)

	require.Len(t, got.Accounts, 2)
	empty := viewResult(t, got.Accounts[1], "POLICY_REFERENCES")
	require.Equal(t, "arrow", empty.Format)
	require.Zero(t, empty.Rows)
	require.Zero(t, empty.Batches, "Snowflake sends no Arrow data for an empty result")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "the temporary snapshot is removed after reading")
}

func TestSourceLoadFails(t *testing.T) {
	t.Parallel()
	f := setup(t, fakesnowflake.Options{Errors: map[string]fakesnowflake.QueryError{"USERS": fakesnowflake.NotAuthorized("USERS")}})
	tmp := t.TempDir()
	src := &Source{Config: f.cfg, Options: f.opts, TempDir: tmp}
	_, err := src.Load(t.Context())
	require.ErrorIs(t, err, ErrPermission)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries)
}
