package model

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContainerNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"DB", "DB.S"}, ContainerNames("DB.S.T"))
	require.Equal(t, []string{"DB", `DB."a.b"`}, ContainerNames(`DB."a.b"."x.y"`))
	require.Equal(t, []string{"DB"}, ContainerNames("DB.S"))
	require.Nil(t, ContainerNames("WH"))
}

func TestSliceOfKeepsThePersonAndTheObject(t *testing.T) {
	t.Parallel()
	rows := []Row{
		{"A", "alice@x.com", "TABLE", "DB.S.T", "SELECT"},
		{"A", "alice@x.com", "TABLE", "DB.S.U", "SELECT"},
		{"A", "bob@x.com", "TABLE", "DB.S.T", "SELECT"},
		{"A", "bob@x.com", "TABLE", "DB.S.U", "SELECT"},
		{"A", "carol@x.com", "SCHEMA", "DB.S", "USAGE"},
	}
	m := &Mirror{
		Access: NewAccess(append([]Row(nil), rows...)),
		Memberships: []Membership{
			{Account: "A", Email: "alice@x.com", User: "ALICE", Role: "R"},
			{Account: "A", Email: "alias@y.com", User: "ALICE", Role: "S"},
			{Account: "A", Email: "bob@x.com", User: "BOB", Role: "R"},
		},
		Grants: []Grant{
			{Account: "A", Role: "R", ObjectType: "TABLE", ObjectName: "DB.S.T", Privilege: "SELECT"},
			{Account: "A", Role: "R", ObjectType: "TABLE", ObjectName: "DB.S.U", Privilege: "SELECT"},
			{Account: "A", Role: "R", ObjectType: "SCHEMA", ObjectName: "DB.S", Privilege: "USAGE"},
			{Account: "A", Role: "Q", ObjectType: "TABLE", ObjectName: "DB.S.U", Privilege: "SELECT"},
			{Account: "A", Role: "Q", ObjectType: "SCHEMA", ObjectName: "DB.S", Privilege: "USAGE"},
			{Account: "B", Role: "R", ObjectType: "TABLE", ObjectName: "DB.S.V", Privilege: "SELECT"},
		},
		Snapshot: &Snapshot{Accounts: []*Account{{Name: "A", History: []AccessEvent{
			{User: "alice", ObjectName: "db.s.u"},
			{User: "BOB", ObjectName: "db.s.u"},
			{User: "BOB", ObjectName: "db.s.t"},
		}}}},
	}
	s := SliceOf(m, Focus{Email: "alice@x.com", Objects: []string{"DB.S.T"}})
	var got []Row
	for r := range s.Access.All() {
		got = append(got, r)
	}
	require.Equal(t, []Row{rows[0], rows[1], rows[2]}, got)
	require.Len(t, s.Memberships, 2, "alice's user, under both addresses")
	require.Equal(t, []Grant{m.Grants[0], m.Grants[1], m.Grants[2], m.Grants[4]}, s.Grants,
		"grants on the table and its schema, and every grant of alice's roles in their account; not Q's grant on the sibling table")
	require.Equal(t, []AccessEvent{m.Snapshot.Accounts[0].History[0], m.Snapshot.Accounts[0].History[2]}, s.Snapshot.Accounts[0].History,
		"alice's own history (user names case-insensitive) and the history of the object")
	require.Same(t, m, SliceOf(m, Focus{}))

	c := ChangesOf(m, SliceOf(m, Focus{Email: "bob@x.com"}), 1, 2, Focus{Objects: []string{"DB.S.U"}})
	require.Empty(t, c.Added)
	require.Equal(t, []Row{rows[1]}, c.Removed)
}

func TestChangesAllMergesInTableOrder(t *testing.T) {
	t.Parallel()
	a := NewAccess([]Row{{"A", "a@x.com", "T", "DB.S.T", "SELECT"}, {"A", "c@x.com", "T", "DB.S.T", "SELECT"}, {"A", "d@x.com", "T", "DB.S.T", "SELECT"}})
	b := NewAccess([]Row{{"A", "b@x.com", "T", "DB.S.T", "SELECT"}, {"A", "c@x.com", "T", "DB.S.T", "SELECT"}, {"A", "e@x.com", "T", "DB.S.T", "SELECT"}})
	c := ChangesOf(&Mirror{Access: a}, &Mirror{Access: b}, 1, 2, Focus{})
	var got, want []Change
	for ch := range c.All() {
		got = append(got, ch)
	}
	for ch := range Diff(a, b) {
		want = append(want, ch)
	}
	require.Len(t, want, 4)
	require.Equal(t, want, got)
}

// TestSliceOfSeveralPeople: a slice about several people keeps what the slice
// about each keeps, nothing more, whatever order they are named in, and a
// person without rows adds nothing.
func TestSliceOfSeveralPeople(t *testing.T) {
	t.Parallel()
	rows := []Row{
		{"A", "alice@x.com", "TABLE", "DB.S.T", "SELECT"},
		{"A", "bob@x.com", "TABLE", "DB.S.U", "SELECT"},
		{"A", "carol@x.com", "TABLE", "DB.S.V", "SELECT"},
	}
	m := &Mirror{
		Access: NewAccess(append([]Row(nil), rows...)),
		Memberships: []Membership{
			{Account: "A", Email: "alias@y.com", User: "ALICE", Role: "S"},
			{Account: "A", Email: "alice@x.com", User: "ALICE", Role: "R"},
			{Account: "A", Email: "bob@x.com", User: "BOB", Role: "Q"},
			{Account: "A", Email: "carol@x.com", User: "CAROL", Role: "P"},
		},
		Grants: []Grant{
			{Account: "A", Role: "P", ObjectType: "TABLE", ObjectName: "DB.S.V", Privilege: "SELECT"},
			{Account: "A", Role: "Q", ObjectType: "TABLE", ObjectName: "DB.S.U", Privilege: "SELECT"},
			{Account: "A", Role: "R", ObjectType: "TABLE", ObjectName: "DB.S.T", Privilege: "SELECT"},
			{Account: "A", Role: "S", ObjectType: "WAREHOUSE", ObjectName: "WH", Privilege: "USAGE"},
		},
	}
	both := SliceOf(m, Focus{Emails: []string{"bob@x.com", "alias@y.com", "nobody@x.com"}})
	require.Equal(t, []Row{rows[1]}, slices.Collect(both.Access.All()), "alias@y.com has no rows of its own")
	require.Equal(t, m.Memberships[:3], both.Memberships, "the alias brings its user's memberships under alice@x.com too")
	require.Equal(t, m.Grants[1:], both.Grants)

	// The union of the one-person slices, in any order, with repeats, and with
	// Email and Emails mixed.
	for _, f := range []Focus{
		{Emails: []string{"nobody@x.com", "alias@y.com", "bob@x.com"}},
		{Email: "bob@x.com", Emails: []string{"alias@y.com", "nobody@x.com", "bob@x.com"}},
	} {
		got := SliceOf(m, f)
		require.Equal(t, slices.Collect(both.Access.All()), slices.Collect(got.Access.All()), "%+v", f)
		require.Equal(t, both.Memberships, got.Memberships, "%+v", f)
		require.Equal(t, both.Grants, got.Grants, "%+v", f)
	}
	one, two := SliceOf(m, Focus{Email: "bob@x.com"}), SliceOf(m, Focus{Email: "alias@y.com"})
	require.ElementsMatch(t, append(one.Memberships, two.Memberships...), both.Memberships)
	require.ElementsMatch(t, append(one.Grants, two.Grants...), both.Grants)

	lean := SliceOf(m, Focus{Emails: []string{"bob@x.com", "alias@y.com"}, Objects: []string{"DB.S.V"}, NoPersonRows: true})
	require.Equal(t, []Row{rows[2]}, slices.Collect(lean.Access.All()), "only the rows on the objects")
	require.Equal(t, both.Memberships, lean.Memberships, "the people's memberships stay")
	require.Equal(t, m.Grants, lean.Grants, "the grants on the object, and those of the people's roles")

	onV := Focus{Email: "carol@x.com", Objects: []string{"DB.S.V", "DB.S.U"}}
	require.Equal(t, []Row{rows[1], rows[2]}, slices.Collect(SliceOf(m, onV).Access.All()), "the objects' audience")
	onV.NoAudience = true
	narrow := SliceOf(m, onV)
	require.Equal(t, []Row{rows[2]}, slices.Collect(narrow.Access.All()), "only the person's rows on the objects")
	require.Equal(t, SliceOf(m, Focus{Email: "carol@x.com", Objects: onV.Objects}).Grants, narrow.Grants, "the grants on the objects stay")
	m.Snapshot = &Snapshot{Accounts: []*Account{{Name: "A", Users: []User{{Name: "CAROL", Email: "carol@x.com"}}}}}
	require.NotNil(t, SliceOf(m, onV).Snapshot)
	onV.NoSnapshot = true
	bare := SliceOf(m, onV)
	require.Nil(t, bare.Snapshot, "no snapshot")
	require.Equal(t, narrow.Grants, bare.Grants, "the rest as before")
	require.Equal(t, slices.Collect(narrow.Access.All()), slices.Collect(bare.Access.All()))
	onV.Email, onV.NoPersonRows, onV.NoSnapshot = "alice@x.com", true, false
	require.Empty(t, slices.Collect(SliceOf(m, onV).Access.All()), "alice has no rows on the objects")

	require.Equal(t, []string{"a@x.com", "b@x.com"}, Focus{Email: "b@x.com", Emails: []string{"b@x.com", "", "a@x.com"}}.People())
	require.False(t, Focus{Emails: []string{"a@x.com"}}.Empty())
	match := Focus{Emails: []string{"bob@x.com"}, Objects: []string{"DB.S.V"}}.Matches()
	require.Equal(t, []bool{false, true, true}, []bool{match(rows[0]), match(rows[1]), match(rows[2])})
	c := ChangesOf(m, &Mirror{Access: NewAccess(nil)}, 1, 2, Focus{Emails: []string{"carol@x.com", "alice@x.com"}})
	require.Equal(t, []Row{rows[0], rows[2]}, c.Removed)
}
