package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

// snapshotJSON prints a snapshot's accounts as JSON, tables in their order, times
// as instants in UTC.
func snapshotJSON(t *testing.T, s *model.Snapshot) string {
	t.Helper()
	b, err := json.Marshal(s.Accounts)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	out, err := json.MarshalIndent(v, "", " ")
	require.NoError(t, err)
	return string(out)
}

func acmeMirror(t *testing.T) *model.Mirror {
	t.Helper()
	return storetest.FlattenAccount(t, filepath.Join("..", "..", "testdata", "sample", "acme"), model.Effective)
}

// TestSnapshotPartsRoundTrip: a generation's snapshot read back from its parts is
// the published one, every table in its order, and a slice reads only the core
// and the parts of its objects and the person's users.
func TestSnapshotPartsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	m := acmeMirror(t)
	for i := range m.Snapshot.Accounts {
		m.Snapshot.Accounts[i].ExtractedAt = m.Snapshot.Accounts[i].ExtractedAt.UTC()
	}
	_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	back, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, snapshotJSON(t, m.Snapshot), snapshotJSON(t, back.Snapshot))
	require.Greater(t, f.count(t, `SELECT count(*) FROM %s.snapshot_parts WHERE generation = 1`), 100, "records spread over object and user parts")

	err = s.snapshotRead(ctx, 0, func(tx pgx.Tx, n int) error {
		rg := m.Snapshot.Accounts[0].RoleGrants
		var object string
		for i := range rg {
			if !model.KeptWhole(&rg[i]) {
				object = model.ObjectName(&rg[i])
				break
			}
		}
		part, ok, err := s.readParts(ctx, tx, n, []string{objectPart(object)})
		require.NoError(t, err)
		require.True(t, ok)
		a := part.Accounts[0]
		require.Equal(t, m.Snapshot.Accounts[0].Roles, a.Roles, "the core is whole")
		require.Empty(t, a.Users, "users are in their addresses' parts")
		require.Less(t, len(a.RoleGrants), len(rg), "one object part, not the whole table")
		found := false
		for i := range a.RoleGrants {
			found = found || model.ObjectName(&a.RoleGrants[i]) == object
		}
		require.True(t, found, "the object's grants are in its part")

		// Every address part together holds every user and grant to a user,
		// in order; one holds only the users filed under its addresses.
		whole, _, err := s.readParts(ctx, tx, n, emailParts)
		require.NoError(t, err)
		require.Equal(t, m.Snapshot.Accounts[0].Users, whole.Accounts[0].Users)
		require.Equal(t, m.Snapshot.Accounts[0].UserGrants, whole.Accounts[0].UserGrants)
		email := m.Memberships[0].Email
		one, _, err := s.readParts(ctx, tx, n, []string{emailPart(email)})
		require.NoError(t, err)
		norm := ident.NewNormalizer(m.Meta.Settings.Aliases())
		mine := 0
		for _, u := range one.Accounts[0].Users {
			e, _ := norm.User(u.Name, u.Email)
			require.Equal(t, emailPart(email), emailPart(e))
			if e == email {
				mine++
			}
		}
		require.Positive(t, mine, "the person's users are in the part of their address")
		require.Less(t, len(one.Accounts[0].Users), len(m.Snapshot.Accounts[0].Users))
		return nil
	})
	require.NoError(t, err)
}

// TestSnapshotPartsShared: a sync in which one user changed and no grant, tag,
// policy or history record did stores one new part, that user's address part;
// the core and every other part are the previous generation's. (A record's place is part of it, so
// a grant added or removed moves the places of those after it, and their parts
// are stored anew, as a snapshot file would be.)
func TestSnapshotPartsShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	m := acmeMirror(t)
	_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	blobs := f.count(t, `SELECT count(*) FROM %s.snapshot_blobs`)

	a := *m.Snapshot.Accounts[0]
	a.Users = append([]model.User(nil), a.Users...)
	for i := range a.Users {
		if a.Users[i].Active() {
			a.Users[i].Disabled = true
			break
		}
	}
	next, err := pipeline.Flatten(&model.Snapshot{Accounts: []*model.Account{&a}},
		pipeline.Options{Mode: model.Effective, Now: m.Meta.PublishedAt, Aliases: m.Meta.Settings.Aliases()})
	require.NoError(t, err)
	opts := model.DefaultPublishOptions()
	opts.Force = true
	_, err = s.Publish(ctx, next, opts)
	require.NoError(t, err)
	require.Equal(t, blobs+1, f.count(t, `SELECT count(*) FROM %s.snapshot_blobs`), "only the changed user's address part is new")
	require.Equal(t, f.count(t, `SELECT count(*) FROM %s.snapshot_parts WHERE generation = 1`)-1,
		f.count(t, `SELECT count(*) FROM %[1]s.snapshot_parts a JOIN %[1]s.snapshot_parts b USING (account, key, digest) WHERE a.generation = 1 AND b.generation = 2`))
}

// TestSnapshotFilesStillRead: a generation published before snapshot parts
// existed keeps its snapshot files, and reads and slices answer from them as from
// parts.
func TestSnapshotFilesStillRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	m := acmeMirror(t)
	_, err := s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	fromParts, err := s.Open(ctx, 0)
	require.NoError(t, err)
	focus := model.Focus{Email: "alice.martin@acme.example", Objects: []string{"SALES.PUBLIC.ORDERS"}}
	sliceParts, err := s.Slice(ctx, 0, focus)
	require.NoError(t, err)

	// The generation as a release before migration 00007 stored it.
	dir := t.TempDir()
	require.NoError(t, pipeline.WriteSnapshot(dir, fromParts.Snapshot))
	f.exec(t, `DELETE FROM %s.snapshot_parts`)
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		f.exec(t, `INSERT INTO %s.snapshot_blobs (digest, content) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sum[:], b)
		f.exec(t, `INSERT INTO %s.snapshot_files (generation, path, digest) VALUES (1, $1, $2)`, filepath.ToSlash(rel), sum[:])
		return nil
	}))

	fromFiles, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Len(t, fromFiles.Snapshot.Accounts, 1)
	require.Equal(t, len(fromParts.Snapshot.Accounts[0].RoleGrants), len(fromFiles.Snapshot.Accounts[0].RoleGrants))
	require.Equal(t, fromParts.Snapshot.Accounts[0].Users, fromFiles.Snapshot.Accounts[0].Users)
	sliceFiles, err := s.Slice(ctx, 0, focus)
	require.NoError(t, err)
	require.Equal(t, sliceParts.Snapshot.Accounts[0].RoleGrants, sliceFiles.Snapshot.Accounts[0].RoleGrants)
	require.Equal(t, sliceParts.Snapshot.Accounts[0].History, sliceFiles.Snapshot.Accounts[0].History)
}
