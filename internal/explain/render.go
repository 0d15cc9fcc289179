package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteJSON writes the answer as indented JSON; its shape is a stable contract.
func WriteJSON(w io.Writer, a *Answer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// WriteText writes the answer for a person to read.
func WriteText(w io.Writer, a *Answer) error {
	q := a.Query
	what := orAny(q.Privilege)
	age := ""
	if t := a.Meta.SnapshotAt(); !t.IsZero() {
		age = fmt.Sprintf(", snapshot %s", t.UTC().Format(time.RFC3339))
	}
	if !a.At.IsZero() {
		fmt.Fprintf(w, "as of %s: ", a.At.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "generation %d, mode %s%s\n", a.Meta.Generation, a.Meta.Mode, age)
	for _, n := range a.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if a.NoPaths {
		fmt.Fprintf(w, "role paths unavailable: generation %d is no longer kept, so its rows come from the access history without the roles behind them\n", a.Meta.Generation)
	}
	for _, s := range a.Sessions {
		fmt.Fprintf(w, "roles: %s\n", s)
	}
	if !a.Allowed {
		fmt.Fprintf(w, "DENIED: %s cannot use %s on %s\n", q.Email, what, q.Object)
		for _, m := range a.Misses {
			fmt.Fprintf(w, "  - %s: %s\n", m.Kind, m.Detail)
			for _, f := range m.Fixes {
				if f.SQL != "" {
					fmt.Fprintf(w, "    fix: %s\n", f.SQL)
				}
			}
		}
		switch {
		case len(a.Misses) > 0:
		case a.NoPaths:
			fmt.Fprintln(w, "  - no row of the access history gives it")
		default:
			fmt.Fprintln(w, "  - no grant on this object reaches any of this person's roles")
		}
		writeGaps(w, a)
		return nil
	}
	for _, r := range a.Reasons {
		fmt.Fprintf(w, "ALLOWED: %s has %s on %s %s (account %s)\n", r.Email, r.Privilege, r.ObjectType, r.ObjectName, r.Account)
		if r.Local != nil {
			fmt.Fprintf(w, "  %s\n", r.Local)
		}
		writePaths(w, "  ", r)
		for _, u := range r.Usage {
			colon := ":"
			if len(u.Paths) == 0 {
				colon = "" // an answer from history, without paths to list
			}
			fmt.Fprintf(w, "  reachable because of %s on %s %s%s\n", u.Privilege, u.ObjectType, u.ObjectName, colon)
			writePaths(w, "    ", u)
		}
	}
	writeGaps(w, a)
	// Only local grants allow what Snowflake denies; say what Snowflake lacks.
	if len(a.Misses) > 0 {
		fmt.Fprintln(w, "without local grants, Snowflake denies it:")
		for _, m := range a.Misses {
			fmt.Fprintf(w, "  - %s: %s\n", m.Kind, m.Detail)
		}
	}
	return nil
}

// writeGaps says what about the question the mirror does not reproduce.
func writeGaps(w io.Writer, a *Answer) {
	if len(a.NotMirrored) == 0 {
		return
	}
	fmt.Fprintln(w, "not mirrored (the mirror's fallback, not Snowflake's answer):")
	for _, g := range a.NotMirrored {
		fmt.Fprintf(w, "  - %s\n", g)
	}
}

func writePaths(w io.Writer, indent string, r Reason) {
	for _, p := range r.Paths {
		fmt.Fprintf(w, "%s%s\n", indent, PathString(r.Email, p))
	}
}

// PathString writes a path as Snowflake people read it, from the person to the grant:
// alice@x.com ← user ALICE ← ANALYST ← SALES.READER ← SELECT on TABLE SALES.PUBLIC.ORDERS.
func PathString(email string, p Path) string {
	var b strings.Builder
	b.WriteString(email)
	b.WriteString(" ← user ")
	b.WriteString(p.User)
	for _, r := range p.Roles {
		if strings.HasPrefix(r, "USER ") {
			continue // privileges granted straight to the user
		}
		b.WriteString(" ← ")
		b.WriteString(r)
	}
	g := p.Grant
	fmt.Fprintf(&b, " ← %s on %s %s", g.Privilege, g.ObjectType, g.ObjectName)
	if g.Via != "" {
		fmt.Fprintf(&b, " (via %s)", g.Via)
	}
	return b.String()
}

// graphEdges lists the edges of every path of an answer, once each, in order:
// person → user → roles → grant.
func graphEdges(a *Answer) [][2]string {
	var edges [][2]string
	seen := map[[2]string]bool{}
	add := func(from, to string) {
		if e := [2]string{from, to}; !seen[e] {
			seen[e] = true
			edges = append(edges, e)
		}
	}
	var walk func(r Reason)
	walk = func(r Reason) {
		if g := r.Local; g != nil {
			local := fmt.Sprintf("local grant #%d until %s", g.ID, g.Until.UTC().Format(time.RFC3339))
			add(r.Email, local)
			add(local, fmt.Sprintf("%s on %s %s", r.Privilege, r.ObjectType, r.ObjectName))
		}
		for _, p := range r.Paths {
			prev := r.Email
			next := "user " + p.User
			add(prev, next)
			prev = next
			for _, role := range p.Roles {
				if strings.HasPrefix(role, "USER ") {
					continue
				}
				add(prev, "role "+role)
				prev = "role " + role
			}
			g := p.Grant
			grant := fmt.Sprintf("%s on %s %s", g.Privilege, g.ObjectType, g.ObjectName)
			if g.Via != "" {
				grant += " (via " + g.Via + ")"
			}
			add(prev, grant)
		}
		for _, u := range r.Usage {
			walk(u)
		}
	}
	for _, r := range a.Reasons {
		walk(r)
	}
	return edges
}

// WriteDot draws the paths as a Graphviz digraph (render with `dot -Tsvg`).
func WriteDot(w io.Writer, a *Answer) error {
	fmt.Fprintln(w, "digraph explain {")
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, "  node [shape=box, fontname=\"Helvetica\"];")
	for _, e := range graphEdges(a) {
		fmt.Fprintf(w, "  %s -> %s;\n", dotID(e[0]), dotID(e[1]))
	}
	if root, misses := missGraph(a); root != "" {
		fmt.Fprintf(w, "  %s [color=red, fontcolor=red];\n", dotID(root))
		for _, m := range misses {
			fmt.Fprintf(w, "  %s [shape=note, color=orange, label=%s];\n", dotID(m.label), dotLines(wrap(m.label, 60)))
			fmt.Fprintf(w, "  %s -> %s [label=\"why\"];\n", dotID(root), dotID(m.label))
			for _, f := range m.fixes {
				fmt.Fprintf(w, "  %s [style=dashed, color=darkgreen, fontcolor=darkgreen];\n", dotID(f))
				fmt.Fprintf(w, "  %s -> %s [style=dashed, label=\"fix\"];\n", dotID(m.label), dotID(f))
			}
		}
	}
	_, err := fmt.Fprintln(w, "}")
	return err
}

// missNode is one reason a question is denied, with the statements that fix it.
type missNode struct {
	label string
	fixes []string
}

// missGraph is the why-not part of a graph: a root node saying what is denied
// (by Snowflake alone, when local grants allow it) and one node per miss, each
// with its fixes, so a picture of a denied answer shows why and what to do, not
// a lone red box. It returns "" when nothing is denied.
func missGraph(a *Answer) (string, []missNode) {
	if a.Allowed && len(a.Misses) == 0 {
		return "", nil
	}
	q := a.Query
	root := q.Email + " cannot use " + orAny(q.Privilege) + " on " + q.Object
	if a.Allowed {
		root = "without local grants, Snowflake denies " + q.Email + " " + orAny(q.Privilege) + " on " + q.Object
	}
	var out []missNode
	for _, m := range a.Misses {
		n := missNode{label: m.Kind + ": " + m.Detail}
		for _, f := range m.Fixes {
			if f.SQL != "" {
				n.fixes = append(n.fixes, f.SQL)
			}
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		out = append(out, missNode{label: "no grant on this object reaches any of this person's roles"})
	}
	return root, out
}

// wrap breaks a long detail into lines of about width characters at spaces, so
// a graph node stays readable.
func wrap(s string, width int) []string {
	var lines []string
	for _, word := range strings.Fields(s) {
		if n := len(lines); n > 0 && len(lines[n-1])+1+len(word) <= width {
			lines[n-1] += " " + word
			continue
		}
		lines = append(lines, word)
	}
	return lines
}

// dotLines is a Graphviz label of several lines.
func dotLines(lines []string) string {
	for i, l := range lines {
		lines[i] = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l)
	}
	return `"` + strings.Join(lines, `\n`) + `"`
}

func dotID(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// WriteMermaid draws the paths as a Mermaid flowchart, for Markdown that renders it.
func WriteMermaid(w io.Writer, a *Answer) error {
	fmt.Fprintln(w, "flowchart LR")
	ids := map[string]string{}
	id := func(label string) string {
		if v, ok := ids[label]; ok {
			return v
		}
		v := fmt.Sprintf("n%d", len(ids))
		ids[label] = v
		lines := wrap(label, 60)
		for i, l := range lines {
			lines[i] = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(l)
		}
		fmt.Fprintf(w, "  %s[\"%s\"]\n", v, strings.Join(lines, "<br>"))
		return v
	}
	for _, e := range graphEdges(a) {
		from, to := id(e[0]), id(e[1])
		fmt.Fprintf(w, "  %s --> %s\n", from, to)
	}
	if root, misses := missGraph(a); root != "" {
		r := id(root)
		fmt.Fprintf(w, "  class %s denied\n", r)
		for _, m := range misses {
			n := id(m.label)
			fmt.Fprintf(w, "  %s -->|why| %s\n  class %s miss\n", r, n, n)
			for _, f := range m.fixes {
				x := id(f)
				fmt.Fprintf(w, "  %s -.->|fix| %s\n  class %s fix\n", n, x, x)
			}
		}
		fmt.Fprintln(w, "  classDef denied stroke:#c00,color:#c00")
		fmt.Fprintln(w, "  classDef miss stroke:#e80")
		fmt.Fprintln(w, "  classDef fix stroke:#080,stroke-dasharray:4")
	}
	return nil
}

func orAny(priv string) string {
	if priv == "" {
		return "any privilege"
	}
	return priv
}
