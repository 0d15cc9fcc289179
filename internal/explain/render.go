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
	// Only local grants allow what Snowflake denies; say what Snowflake lacks.
	if len(a.Misses) > 0 {
		fmt.Fprintln(w, "without local grants, Snowflake denies it:")
		for _, m := range a.Misses {
			fmt.Fprintf(w, "  - %s: %s\n", m.Kind, m.Detail)
		}
	}
	return nil
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
	if !a.Allowed {
		fmt.Fprintf(w, "  %s [color=red];\n", dotID(a.Query.Email+" cannot use "+orAny(a.Query.Privilege)+" on "+a.Query.Object))
	}
	for _, e := range graphEdges(a) {
		fmt.Fprintf(w, "  %s -> %s;\n", dotID(e[0]), dotID(e[1]))
	}
	_, err := fmt.Fprintln(w, "}")
	return err
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
		fmt.Fprintf(w, "  %s[\"%s\"]\n", v, strings.NewReplacer(`"`, "#quot;").Replace(label))
		return v
	}
	if !a.Allowed {
		id(a.Query.Email + " cannot use " + orAny(a.Query.Privilege) + " on " + a.Query.Object)
	}
	for _, e := range graphEdges(a) {
		from, to := id(e[0]), id(e[1])
		fmt.Fprintf(w, "  %s --> %s\n", from, to)
	}
	return nil
}

func orAny(priv string) string {
	if priv == "" {
		return "any privilege"
	}
	return priv
}
