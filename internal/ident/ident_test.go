package ident

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPartAndJoin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"SALES"}, "SALES"},
		{[]string{"SALES", "PUBLIC", "ORDERS"}, "SALES.PUBLIC.ORDERS"},
		{[]string{"SALES", "CORE", "lines"}, `SALES.CORE."lines"`},
		{[]string{"SALES", "My Schema"}, `SALES."My Schema"`},
		{[]string{"we.ird"}, `"we.ird"`},
		{[]string{`a"b`}, `"a""b"`},
		{[]string{"F(VARCHAR):NUMBER"}, `"F(VARCHAR):NUMBER"`},
		{[]string{"_X$1"}, "_X$1"},
		{[]string{"1ABC"}, `"1ABC"`},
		{[]string{"$A"}, `"$A"`},
		{[]string{"É"}, `"É"`},
		{[]string{""}, `""`},
	} {
		require.Equal(t, tc.want, Join(tc.parts...), "%q", tc.parts)
	}
}

func TestCanonicalFromPeople(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"sales.public.orders", "SALES.PUBLIC.ORDERS"},
		{`sales.core."lines"`, `SALES.CORE."lines"`},
		{`SALES."My Schema".mv`, `SALES."My Schema".MV`},
		{`"we.ird"."a""b"`, `"we.ird"."a""b"`},
		{` sales . public `, "SALES.PUBLIC"},
		{`"LINES"`, "LINES"},
	} {
		got, err := Canonical(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "a..b", `"open`, `a."`, `"x"y`, "a.", ".a", `""`} {
		_, err := Canonical(bad)
		require.Error(t, err, "%q", bad)
	}
}

// TestCanonicalRoundTrip: what Join writes, Canonical reads back unchanged.
func TestCanonicalRoundTrip(t *testing.T) {
	t.Parallel()
	for _, parts := range [][]string{{"A", "b c", `d"e`}, {"x.y", "Z"}, {"F(VARCHAR, NUMBER):TABLE(A NUMBER)"}} {
		name := Join(parts...)
		got, err := Canonical(name)
		require.NoError(t, err)
		require.Equal(t, name, got)
		back, err := Split(name)
		require.NoError(t, err)
		require.Equal(t, parts, back)
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"a.b", `"x""y".z`, `"a.b"`, "SALES.PUBLIC.ORDERS"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Canonical(s)
		if err != nil {
			return
		}
		again, err := Canonical(c)
		require.NoError(t, err)
		require.Equal(t, c, again, "canonical form must be a fixed point")
	})
}

func TestWordAndPrivilege(t *testing.T) {
	t.Parallel()
	require.Equal(t, "MATERIALIZED_VIEW", Word(" materialized  view "))
	require.Equal(t, "ACCOUNT_ROLE", Word("ACCOUNT ROLE"))
	require.Equal(t, "CREATE TABLE", Privilege("create   table"))
}

func TestEmails(t *testing.T) {
	t.Parallel()
	n := NewNormalizer(Aliases{
		Domains: map[string]string{"Corp-Sub.Example": "example.com", "@old.example": "@new.example"},
		Users:   map[string]string{"loader": " Data-Platform@Example.com "},
	})
	for _, tc := range []struct {
		user, email, want string
		how               Resolution
	}{
		{"ALICE", " Alice@Corp-Sub.Example ", "alice@example.com", Aliased},
		{"BOB", "bob@example.com", "bob@example.com", Direct},
		{"X", "x@old.example", "x@new.example", Aliased},
		{"LOADER", "1234567", "data-platform@example.com", Override},
		{"Loader", "", "data-platform@example.com", Override},
	} {
		got, how := n.User(tc.user, tc.email)
		require.Equal(t, tc.want, got)
		require.Equal(t, tc.how, how)
	}
	for _, ok := range []string{"a@b.co", "first.last+tag@sub.example.com", "o'neil@example.org", "x_y-z@a-b.example",
		"zoë@exämple.de", "ops@mail_relay.example.com", "a@b.c0m"} {
		require.True(t, ValidEmail(ok), ok)
	}
	for _, bad := range []string{"", "1234567", "eve@example", "a@b", "@example.com", "a@@b.com", "a b@example.com",
		"a@-b.com", "a@b-.com", "a@b..com", "a@b.c", "a@b.123", "a@exa mple.com", "a@b.com,c@d.com", "a b@x.com", "<a@b.com>"} {
		require.False(t, ValidEmail(bad), bad)
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	require.Equal(t, 3, Distance("kitten", "sitting"))
	require.Equal(t, "sync", Nearest("synch", []string{"report", "sync", "diff"}))
	require.Equal(t, "SELECT", Nearest("SELEC", []string{"INSERT", "SELECT", "USAGE"}))
	require.Equal(t, "dry-run", Nearest("dry", []string{"dry-run", "every"}), "a prefix of three or more characters")
	require.Empty(t, Nearest("frobnicate", []string{"sync", "report"}))
	require.Empty(t, Nearest("x", nil))
}
