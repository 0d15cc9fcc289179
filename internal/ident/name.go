package ident

import (
	"fmt"
	"strings"
)

// Part writes one identifier part the way the published table stores it: bare when
// Snowflake would accept it unquoted and resolve it to itself (uppercase letters,
// digits, _ and $, not starting with a digit or $), otherwise double-quoted with
// embedded quotes doubled. The same rule on both sides of every comparison is what
// lets "SALES.CORE.\"lines\"" from Snowflake match what an API asks for.
func Part(s string) string {
	if isBare(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func isBare(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '$'):
		default:
			return false
		}
	}
	return true
}

// Join canonicalizes raw identifier parts (as ACCOUNT_USAGE stores them, unquoted)
// into one dotted object name.
func Join(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(Part(p))
	}
	return b.String()
}

// Split parses a dotted name as a person types it into its raw parts. Unquoted parts
// are folded to upper case, as Snowflake resolves them; quoted parts are kept exactly,
// with doubled quotes undone. So `sales.public."lines"` gives SALES, PUBLIC, lines.
func Split(name string) ([]string, error) { return split(name, true) }

// SplitStored parses a qualified name as Snowflake stores it in ACCOUNT_USAGE
// (`SALES.READER` for a database role): unquoted parts keep their case, because the
// views hold identifiers already resolved.
func SplitStored(name string) ([]string, error) { return split(name, false) }

func split(name string, fold bool) ([]string, error) {
	var parts []string
	i := 0
	for {
		if i >= len(name) {
			return nil, fmt.Errorf("name %q: empty part", name)
		}
		var part strings.Builder
		if name[i] == '"' {
			i++
			closed := false
			for i < len(name) {
				if name[i] == '"' {
					if i+1 < len(name) && name[i+1] == '"' {
						part.WriteByte('"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				part.WriteByte(name[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("name %q: unterminated quote", name)
			}
			if part.Len() == 0 {
				return nil, fmt.Errorf("name %q: empty quoted part", name)
			}
		} else {
			j := i
			for j < len(name) && name[j] != '.' && name[j] != '"' {
				j++
			}
			raw := strings.TrimSpace(name[i:j])
			if raw == "" {
				return nil, fmt.Errorf("name %q: empty part", name)
			}
			if fold {
				raw = strings.ToUpper(raw)
			}
			part.WriteString(raw)
			i = j
		}
		parts = append(parts, part.String())
		if i == len(name) {
			return parts, nil
		}
		if name[i] != '.' {
			return nil, fmt.Errorf("name %q: unexpected %q after part %d", name, name[i], len(parts))
		}
		i++
	}
}

// Canonical turns a name typed by a person (any case, quoted or not) into the
// canonical object name stored in the mirror.
func Canonical(name string) (string, error) {
	parts, err := Split(name)
	if err != nil {
		return "", err
	}
	return Join(parts...), nil
}

// Word normalizes a Snowflake keyword column such as GRANTED_ON or GRANTED_TO:
// trimmed, upper case, inner spaces as underscores ("MATERIALIZED VIEW" →
// "MATERIALIZED_VIEW").
func Word(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(s)), "_")
}

// Privilege normalizes a privilege name: trimmed, upper case, single spaces
// ("create  table" → "CREATE TABLE"). Privileges keep their spaces, as Snowflake
// writes them.
func Privilege(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(s)), " ")
}

// Parts splits a canonical name at the dots between its parts, keeping each part in
// its canonical spelling (quoted where it was): `SALES."a.b".T` gives SALES, "a.b", T.
func Parts(canonical string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(canonical); i++ {
		switch {
		case canonical[i] == '"':
			quoted = !quoted
		case canonical[i] == '.' && !quoted:
			parts = append(parts, canonical[start:i])
			start = i + 1
		}
	}
	return append(parts, canonical[start:])
}
