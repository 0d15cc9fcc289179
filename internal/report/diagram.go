package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// diagram is a role hierarchy laid out left to right: a role's column is the
// longest chain of roles granted above it, so senior roles sit on the left and an
// arrow A → B always reads "A is granted B". It is drawn by hand into inline SVG
// (a report must open offline) and also written as Mermaid text for Markdown.
type diagram struct {
	Account string
	Width   int
	Height  int
	Nodes   []dnode
	Edges   []dedge
	// Alone lists roles in scope that neither inherit nor are inherited; they are
	// listed in the role sections but not drawn.
	Alone   []string
	Mermaid string
}

type dnode struct {
	Role       string
	Href       string
	X, Y, W, H int
	TextX      int
	TextY      int
}

type dedge struct {
	From, To string
	D        string // SVG path
	Back     bool   // closes a cycle, drawn dashed
}

// Layout constants, in SVG pixels; charWidth fits a 12px monospace font.
const (
	nodeH     = 22
	rowGap    = 10
	colGap    = 70
	charWidth = 7.3
	pad       = 12
	// maxDiagramNodes keeps a diagram readable; larger hierarchies are listed in
	// the role sections and the Mermaid text only.
	maxDiagramNodes = 400
)

// diagram lays out the hierarchy of every account of the report, limited to the
// roles the role view shows and, when filtered, their ancestors and descendants.
func (md *reportModel) diagram() []*diagram {
	var out []*diagram
	for _, a := range md.accounts {
		scope := map[string]bool{}
		filtered := false
		for _, role := range a.roles {
			if md.roleShown(a, role) {
				scope[role] = true
			} else {
				filtered = true
			}
		}
		if filtered {
			// Show where the selected roles sit: what they inherit and who holds them.
			for _, r := range slices.Collect(mapKeys(scope)) {
				for _, s := range a.closure(r) {
					scope[s] = true
				}
				for _, s := range a.ancestors(r) {
					scope[s] = true
				}
			}
		}
		d := layout(a, scope)
		d.Account = a.meta.Name
		out = append(out, d)
	}
	return out
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k) {
				return
			}
		}
	}
}

// ancestors are the roles that hold role, transitively.
func (a *account) ancestors(role string) []string {
	seen := map[string]bool{role: true}
	out := []string{role}
	for i := 0; i < len(out); i++ {
		for _, s := range a.inheritedBy[out[i]] {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

func layout(a *account, scope map[string]bool) *diagram {
	d := &diagram{}
	// Nodes: roles in scope with at least one edge inside scope.
	adj := map[string][]string{}
	linked := map[string]bool{}
	for r := range mapKeys(scope) {
		for _, s := range a.inherits[r] {
			if scope[s] {
				adj[r] = append(adj[r], s)
				linked[r], linked[s] = true, true
			}
		}
	}
	var nodes []string
	for r := range mapKeys(scope) {
		if linked[r] {
			nodes = append(nodes, r)
		} else if !strings.HasPrefix(r, "USER ") {
			d.Alone = append(d.Alone, r)
		}
	}
	d.Mermaid = mermaid(nodes, adj)
	if len(nodes) == 0 || len(nodes) > maxDiagramNodes {
		return d
	}

	// Break cycles: an edge to a role still on the DFS stack is a back edge.
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	back := map[[2]string]bool{}
	var visit func(string)
	visit = func(r string) {
		state[r] = 1
		for _, s := range adj[r] {
			switch state[s] {
			case 0:
				visit(s)
			case 1:
				back[[2]string{r, s}] = true
			}
		}
		state[r] = 2
	}
	for _, r := range nodes {
		if state[r] == 0 {
			visit(r)
		}
	}
	// Longest-path layering over the forward edges, by repeated relaxation: the
	// graph is acyclic now, so this ends after at most len(nodes) rounds.
	layer := map[string]int{}
	for changed, round := true, 0; changed && round <= len(nodes); round++ {
		changed = false
		for _, r := range nodes {
			for _, s := range adj[r] {
				if !back[[2]string{r, s}] && layer[s] < layer[r]+1 {
					layer[s] = layer[r] + 1
					changed = true
				}
			}
		}
	}
	// Longest-path layering pushes every top role to the first column, however far
	// its roles sit; pull such a role next to the nearest role it inherits, which
	// shortens its arrows.
	hasPred := map[string]bool{}
	for _, r := range nodes {
		for _, s := range adj[r] {
			if !back[[2]string{r, s}] {
				hasPred[s] = true
			}
		}
	}
	for _, r := range nodes {
		if hasPred[r] {
			continue
		}
		nearest := -1
		for _, s := range adj[r] {
			if !back[[2]string{r, s}] && (nearest < 0 || layer[s] < nearest) {
				nearest = layer[s]
			}
		}
		if nearest > 0 {
			layer[r] = nearest - 1
		}
	}
	depth := 0
	for _, r := range nodes {
		depth = max(depth, layer[r])
	}
	cols := make([][]string, depth+1)
	for _, r := range nodes {
		cols[layer[r]] = append(cols[layer[r]], r)
	}
	pred := map[string][]string{}
	for _, r := range nodes {
		for _, s := range adj[r] {
			pred[s] = append(pred[s], r)
		}
	}
	pos := map[string]float64{}
	setPos := func() {
		for _, c := range cols {
			for i, r := range c {
				pos[r] = float64(i) / float64(max(len(c), 1))
			}
		}
	}
	setPos()
	// A few barycenter sweeps reduce crossings: order each column by the mean
	// position of its neighbours in the columns already placed.
	for sweep := 0; sweep < 4; sweep++ {
		forward := sweep%2 == 0
		for step := 1; step <= depth; step++ {
			i := step
			neighbours := pred
			if !forward {
				i = depth - step
				neighbours = adj
			}
			bary := map[string]float64{}
			for _, r := range cols[i] {
				sum, n := 0.0, 0
				for _, s := range neighbours[r] {
					sum += pos[s]
					n++
				}
				if n > 0 {
					bary[r] = sum / float64(n)
				} else {
					bary[r] = pos[r]
				}
			}
			slices.SortStableFunc(cols[i], func(x, y string) int {
				if c := cmp.Compare(bary[x], bary[y]); c != 0 {
					return c
				}
				return strings.Compare(x, y)
			})
			for j, r := range cols[i] {
				pos[r] = float64(j) / float64(len(cols[i]))
			}
		}
	}

	tallest := 0
	for _, c := range cols {
		tallest = max(tallest, len(c))
	}
	d.Height = 2*pad + tallest*(nodeH+rowGap) - rowGap
	at := map[string]*dnode{}
	x := pad
	for _, c := range cols {
		w := 0
		for _, r := range c {
			w = max(w, int(float64(utf8.RuneCountInString(r))*charWidth)+16)
		}
		offset := (tallest - len(c)) * (nodeH + rowGap) / 2
		for i, r := range c {
			n := dnode{Role: r, Href: "#" + roleID(a.meta.Name, r), X: x, Y: pad + offset + i*(nodeH+rowGap), W: w, H: nodeH}
			n.TextX, n.TextY = n.X+8, n.Y+15
			d.Nodes = append(d.Nodes, n)
		}
		x += w + colGap
	}
	d.Width = x - colGap + pad
	for i := range d.Nodes {
		at[d.Nodes[i].Role] = &d.Nodes[i]
	}
	for _, r := range nodes {
		for _, s := range adj[r] {
			from, to := at[r], at[s]
			x1, y1 := from.X+from.W, from.Y+nodeH/2
			x2, y2 := to.X, to.Y+nodeH/2
			isBack := back[[2]string{r, s}]
			if isBack {
				// A cycle edge runs right to left: leave from the left side and
				// arrive on the right, curving outside the columns.
				x1, x2 = from.X, to.X+to.W
			}
			dx := max(abs(x2-x1)/2, 30)
			if isBack {
				dx = -dx
			}
			e := dedge{From: r, To: s, Back: isBack,
				D: fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)}
			d.Edges = append(d.Edges, e)
		}
	}
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// mermaid writes the hierarchy as a Mermaid flowchart, for Markdown viewers that
// draw it (GitHub, GitLab) and for people who paste it into an editor.
func mermaid(nodes []string, adj map[string][]string) string {
	if len(nodes) == 0 {
		return ""
	}
	id := map[string]string{}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, r := range nodes {
		id[r] = fmt.Sprintf("r%d", i)
		fmt.Fprintf(&b, "  r%d[\"%s\"]\n", i, strings.ReplaceAll(r, `"`, "#quot;"))
	}
	for _, r := range nodes {
		for _, s := range adj[r] {
			fmt.Fprintf(&b, "  %s --> %s\n", id[r], id[s])
		}
	}
	return b.String()
}

// AloneText says which roles the diagram leaves out, naming them when few.
func (d *diagram) AloneText() string {
	switch n := len(d.Alone); {
	case n == 0:
		return ""
	case n <= 12:
		return "Not drawn, as they neither inherit nor are inherited: " + strings.Join(d.Alone, ", ") + "."
	default:
		return fmt.Sprintf("%d roles neither inherit nor are inherited and are not drawn.", n)
	}
}
