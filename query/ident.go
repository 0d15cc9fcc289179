package query

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxIdent is Postgres's identifier limit (NAMEDATALEN-1). Longer names are silently
// truncated by the server, so two different names could meet; they are refused.
const maxIdent = 63

// reservedPrefix starts the aliases the builder gives its own subqueries. User
// identifiers may not use it: a user alias equal to one of ours would be captured
// inside a guard's subquery and compare the mirror with itself.
const reservedPrefix = "gm__"

// name is a validated, possibly qualified identifier: its parts as Postgres resolves
// them (unquoted parts folded to lower case, quoted parts exact).
type name []string

// String writes the name back as SQL, quoting only the parts that need it.
func (n name) String() string {
	var b strings.Builder
	for i, p := range n {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteIdent(p))
	}
	return b.String()
}

func (n name) last() string { return n[len(n)-1] }

func (n name) equal(o name) bool {
	if len(n) != len(o) {
		return false
	}
	for i := range n {
		if n[i] != o[i] {
			return false
		}
	}
	return true
}

// quoteIdent writes one resolved identifier part: bare when Postgres would read it
// back unchanged (lower case letters, digits, _ and $, not a keyword that would be
// parsed as syntax), otherwise double-quoted with quotes doubled.
func quoteIdent(p string) string {
	if plainIdent(p) && !keywords[p] {
		return p
	}
	return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
}

func plainIdent(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '$'):
		default:
			return false
		}
	}
	return true
}

// parseName reads a dotted identifier of minParts to maxParts parts from the start of
// s and returns it with the rest of s. The grammar is strict on purpose: a bare part is
// ASCII [A-Za-z_][A-Za-z0-9_$]*, a quoted part is "…" with "" for a quote and no NUL;
// parts are at most 63 bytes and joined by a dot with no spaces.
func parseName(s string, minParts, maxParts int) (name, string, error) {
	var n name
	i := 0
	for {
		if i >= len(s) {
			return nil, "", fmt.Errorf("%w: %q: missing identifier", ErrIdentifier, s)
		}
		var part string
		if s[i] == '"' {
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == 0 {
					return nil, "", fmt.Errorf("%w: %q: NUL in quoted identifier", ErrIdentifier, s)
				}
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, "", fmt.Errorf("%w: %q: unterminated quoted identifier", ErrIdentifier, s)
			}
			part = b.String()
			if part == "" {
				return nil, "", fmt.Errorf("%w: %q: empty quoted identifier", ErrIdentifier, s)
			}
			if !utf8.ValidString(part) {
				return nil, "", fmt.Errorf("%w: %q: not valid UTF-8", ErrIdentifier, s)
			}
			i = j
		} else {
			j := i
			for j < len(s) {
				c := s[j]
				if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || j > i && (c >= '0' && c <= '9' || c == '$') {
					j++
					continue
				}
				break
			}
			if j == i {
				return nil, "", fmt.Errorf("%w: %q: unexpected %q at byte %d", ErrIdentifier, s, s[i], i)
			}
			part = strings.ToLower(s[i:j])
			i = j
		}
		if len(part) > maxIdent {
			return nil, "", fmt.Errorf("%w: %q: part longer than %d bytes", ErrIdentifier, s, maxIdent)
		}
		if strings.HasPrefix(strings.ToLower(part), reservedPrefix) {
			return nil, "", fmt.Errorf("%w: %q: the prefix %s is reserved", ErrIdentifier, s, reservedPrefix)
		}
		n = append(n, part)
		if i < len(s) && s[i] == '.' {
			if len(n) == maxParts {
				return nil, "", fmt.Errorf("%w: %q: more than %d parts", ErrIdentifier, s, maxParts)
			}
			i++
			continue
		}
		break
	}
	if len(n) < minParts {
		return nil, "", fmt.Errorf("%w: %q: fewer than %d parts", ErrIdentifier, s, minParts)
	}
	return n, s[i:], nil
}

// fullName parses s as exactly one dotted identifier with nothing around it.
func fullName(s string, minParts, maxParts int) (name, error) {
	n, rest, err := parseName(strings.TrimSpace(s), minParts, maxParts)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("%w: %q: unexpected %q after the name", ErrIdentifier, s, rest)
	}
	return n, nil
}

// words splits a clause such as "sales.orders AS o" into whitespace-separated words,
// keeping quoted identifiers (which may hold spaces) whole.
func words(s string) ([]string, error) {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			if s[j] == '"' {
				k, err := skipQuoted(s, j, '"', false)
				if err != nil {
					return nil, fmt.Errorf("%w: %q: unterminated quoted identifier", ErrIdentifier, s)
				}
				j = k
				continue
			}
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
	return out, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// tableRef is a FROM item: a table and the alias its columns are qualified with.
type tableRef struct {
	table name
	alias name // nil when the table is referenced by its own name
}

// qualifier is what columns of this table are qualified with.
func (t tableRef) qualifier() name {
	if t.alias != nil {
		return t.alias
	}
	return t.table
}

func (t tableRef) String() string {
	if t.alias == nil {
		return t.table.String()
	}
	return t.table.String() + " AS " + t.alias.String()
}

// parseTable reads "schema.table", "table alias" or "table AS alias".
func parseTable(s string) (tableRef, error) {
	w, err := words(s)
	if err != nil {
		return tableRef{}, err
	}
	if len(w) == 3 && strings.EqualFold(w[1], "AS") {
		w = []string{w[0], w[2]}
	}
	if len(w) < 1 || len(w) > 2 || len(w) == 2 && strings.EqualFold(w[1], "AS") {
		return tableRef{}, fmt.Errorf("%w: %q: want TABLE [AS] ALIAS", ErrIdentifier, s)
	}
	t, err := fullName(w[0], 1, 2)
	if err != nil {
		return tableRef{}, err
	}
	ref := tableRef{table: t}
	if len(w) == 2 {
		if ref.alias, err = fullName(w[1], 1, 1); err != nil {
			return tableRef{}, err
		}
	}
	return ref, nil
}

// column is a selected column: a column reference and the name it is returned under.
type column struct {
	ref   name
	alias name // nil: returned under its own name
}

// parseColumn reads "q.col", "col" or "q.col AS name".
func parseColumn(s string) (column, error) {
	w, err := words(s)
	if err != nil {
		return column{}, err
	}
	if len(w) != 1 && !(len(w) == 3 && strings.EqualFold(w[1], "AS")) {
		return column{}, fmt.Errorf("%w: %q: want COLUMN [AS ALIAS]", ErrIdentifier, s)
	}
	ref, err := fullName(w[0], 1, 3)
	if err != nil {
		return column{}, err
	}
	c := column{ref: ref}
	if len(w) == 3 {
		if c.alias, err = fullName(w[2], 1, 1); err != nil {
			return column{}, err
		}
	}
	return c, nil
}

// orderItem is one parsed ORDER BY item.
type orderItem struct {
	ref  name
	desc bool
	text string // written back normalized
}

// parseOrder reads "col [ASC|DESC] [NULLS FIRST|LAST]" and writes it back normalized.
func parseOrder(s string) (string, error) {
	o, err := parseOrderItem(s)
	return o.text, err
}

func parseOrderItem(s string) (orderItem, error) {
	w, err := words(s)
	if err != nil {
		return orderItem{}, err
	}
	if len(w) == 0 {
		return orderItem{}, fmt.Errorf("%w: empty ORDER BY item", ErrIdentifier)
	}
	ref, err := fullName(w[0], 1, 3)
	if err != nil {
		return orderItem{}, err
	}
	o := orderItem{ref: ref, text: ref.String()}
	rest := w[1:]
	if len(rest) > 0 && (strings.EqualFold(rest[0], "ASC") || strings.EqualFold(rest[0], "DESC")) {
		o.desc = strings.EqualFold(rest[0], "DESC")
		o.text += " " + strings.ToUpper(rest[0])
		rest = rest[1:]
	}
	if len(rest) == 2 && strings.EqualFold(rest[0], "NULLS") &&
		(strings.EqualFold(rest[1], "FIRST") || strings.EqualFold(rest[1], "LAST")) {
		o.text += " NULLS " + strings.ToUpper(rest[1])
		rest = nil
	}
	if len(rest) > 0 {
		return orderItem{}, fmt.Errorf("%w: %q: want COLUMN [ASC|DESC] [NULLS FIRST|LAST]", ErrIdentifier, s)
	}
	return o, nil
}
