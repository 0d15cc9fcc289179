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
	what := q.Privilege
	if what == "" {
		what = "any privilege"
	}
	age := ""
	if t := a.Meta.SnapshotAt(); !t.IsZero() {
		age = fmt.Sprintf(", snapshot %s", t.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "generation %d, mode %s%s\n", a.Meta.Generation, a.Meta.Mode, age)
	if !a.Allowed {
		fmt.Fprintf(w, "DENIED: %s cannot use %s on %s\n", q.Email, what, q.Object)
		for _, m := range a.Misses {
			fmt.Fprintf(w, "  - %s: %s\n", m.Kind, m.Detail)
		}
		if len(a.Misses) == 0 {
			fmt.Fprintln(w, "  - no grant on this object reaches any of this person's roles")
		}
		return nil
	}
	for _, r := range a.Reasons {
		fmt.Fprintf(w, "ALLOWED: %s has %s on %s %s (account %s)\n", r.Email, r.Privilege, r.ObjectType, r.ObjectName, r.Account)
		writePaths(w, "  ", r)
		for _, u := range r.Usage {
			fmt.Fprintf(w, "  reachable because of %s on %s %s:\n", u.Privilege, u.ObjectType, u.ObjectName)
			writePaths(w, "    ", u)
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
