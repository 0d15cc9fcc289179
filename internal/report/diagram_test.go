package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// requireSound checks what any drawing must satisfy: nodes inside the canvas and
// apart from each other, every inheritance edge between drawn roles drawn once,
// forward edges running left to right and the Mermaid text holding the same edges.
func requireSound(t *testing.T, a *account, d *diagram) {
	t.Helper()
	at := map[string]dnode{}
	for _, n := range d.Nodes {
		require.NotContains(t, at, n.Role, "role drawn twice")
		at[n.Role] = n
		require.GreaterOrEqual(t, n.X, 0)
		require.GreaterOrEqual(t, n.Y, 0)
		require.LessOrEqual(t, n.X+n.W, d.Width, n.Role)
		require.LessOrEqual(t, n.Y+n.H, d.Height, n.Role)
		require.GreaterOrEqual(t, n.W, len(n.Role)*7, "%s: box fits its name", n.Role)
	}
	for i, x := range d.Nodes {
		for _, y := range d.Nodes[i+1:] {
			apart := x.X+x.W <= y.X || y.X+y.W <= x.X || x.Y+x.H <= y.Y || y.Y+y.H <= x.Y
			require.True(t, apart, "%s overlaps %s", x.Role, y.Role)
		}
	}
	want := map[string]bool{}
	for r, l := range a.inherits {
		for _, s := range l {
			if _, ok := at[r]; ok {
				if _, ok := at[s]; ok {
					want[r+">"+s] = true
				}
			}
		}
	}
	got := map[string]bool{}
	for _, e := range d.Edges {
		require.False(t, got[e.From+">"+e.To], "edge drawn twice")
		got[e.From+">"+e.To] = true
		if !e.Back {
			require.Less(t, at[e.From].X+at[e.From].W, at[e.To].X, "%s → %s runs left to right", e.From, e.To)
		}
		require.Contains(t, d.Mermaid, fmt.Sprintf("[\"%s\"]", strings.ReplaceAll(e.To, `"`, "#quot;")))
	}
	require.Equal(t, want, got)
	require.Equal(t, len(got), strings.Count(d.Mermaid, " --> "))
}

func TestDiagramAcme(t *testing.T) {
	t.Parallel()
	md := newModel(setup(t, "acme"), Options{By: ByRole, Now: reportNow, Days: DefaultDays})
	ds := md.diagram()
	require.Len(t, ds, 1)
	d := ds[0]
	a := md.accounts[0]
	requireSound(t, a, d)
	require.Greater(t, len(d.Nodes), 25)
	// acme's BI_READ and REPORTING_RO are granted to each other; the cycle is
	// drawn with exactly one edge backwards.
	back := 0
	for _, e := range d.Edges {
		if e.Back {
			back++
			require.ElementsMatch(t, []string{"BI_READ", "REPORTING_RO"}, []string{e.From, e.To})
		}
	}
	require.Equal(t, 1, back)
	// Senior roles sit left of what they inherit.
	x := map[string]int{}
	for _, n := range d.Nodes {
		x[n.Role] = n.X
	}
	require.Less(t, x["ACCOUNTADMIN"], x["SYSADMIN"])
	require.Less(t, x["SALES_ANALYST"], x["ANALYST"])
	require.Less(t, x["ANALYST"], x["SALES.READER"])
}

func TestDiagramFiltered(t *testing.T) {
	t.Parallel()
	md := newModel(setup(t, "acme"), Options{By: ByRole, Now: reportNow, Days: DefaultDays, Roles: []string{"ANALYST"}})
	d := md.diagram()[0]
	requireSound(t, md.accounts[0], d)
	var roles []string
	for _, n := range d.Nodes {
		roles = append(roles, n.Role)
	}
	// What ANALYST inherits and who holds it, nothing unrelated.
	require.Contains(t, roles, "SALES.READER")
	require.Contains(t, roles, "SALES_ANALYST")
	require.Contains(t, roles, "ACCOUNTADMIN")
	require.NotContains(t, roles, "HR.READER")
	require.NotContains(t, roles, "LOADER")
}

func TestDiagramShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		inherits map[string][]string
		back     int
	}{
		{"chain", map[string][]string{"A": {"B"}, "B": {"C"}}, 0},
		{"three-cycle", map[string][]string{"A": {"B"}, "B": {"C"}, "C": {"A"}}, 1},
		{"self-loop and diamond", map[string][]string{"TOP": {"L", "R"}, "L": {"BOTTOM"}, "R": {"BOTTOM"}, "BOTTOM": {"BOTTOM"}}, 1},
		{"quoted names", map[string][]string{`"we.ird"`: {`DB."a""b"`}}, 0},
		{"no edges", map[string][]string{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := &account{meta: model.AccountMeta{Name: "X"}, inherits: tc.inherits, inheritedBy: map[string][]string{}}
			scope := map[string]bool{"LONELY": true, "PUBLIC": true}
			for r, l := range tc.inherits {
				scope[r] = true
				for _, s := range l {
					scope[s] = true
				}
			}
			d := layout(a, scope)
			requireSound(t, a, d)
			back := 0
			for _, e := range d.Edges {
				if e.Back {
					back++
				}
			}
			require.Equal(t, tc.back, back)
			require.Equal(t, []string{"LONELY", "PUBLIC"}, d.Alone)
			if len(tc.inherits) == 0 {
				require.Empty(t, d.Nodes)
				require.Empty(t, d.Mermaid)
			}
		})
	}
}
