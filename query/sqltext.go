package query

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format chooses how placeholders are written when a statement is rendered.
type Format int

const (
	// Dollar writes $1, $2 … as Postgres and pgx expect; a value used twice keeps
	// one number. It is the format of Stmt.ToSql.
	Dollar Format = iota
	// Question writes ? for every use of a value, squirrel's convention for parts that
	// are nested in a larger statement and renumbered by it; a literal ? in the text
	// is written ?? so the renumbering leaves it alone.
	Question
)

// text is SQL under construction: literal pieces and references to bound values.
// Keeping values as references until rendering is what lets one statement be written
// with $n or ? and lets a value such as the viewer's address be bound once.
type text struct {
	pieces []piece
	args   []any
}

// piece is either literal SQL (arg < 0) or a reference to args[arg].
type piece struct {
	sql string
	arg int
}

func (t *text) sql(s string) {
	if s == "" {
		return
	}
	if n := len(t.pieces); n > 0 && t.pieces[n-1].arg < 0 {
		t.pieces[n-1].sql += s
		return
	}
	t.pieces = append(t.pieces, piece{sql: s, arg: -1})
}

// bind adds a value and returns its reference, for use with ref.
func (t *text) bind(v any) int {
	t.args = append(t.args, v)
	return len(t.args) - 1
}

// ref writes a placeholder for a value already bound.
func (t *text) ref(i int) {
	t.pieces = append(t.pieces, piece{arg: i})
}

// val binds a value and writes its placeholder.
func (t *text) val(v any) {
	t.ref(t.bind(v))
}

// render writes the statement in the given format with the argument list it needs.
func (t *text) render(f Format) (string, []any) {
	var b strings.Builder
	var args []any
	number := map[int]int{}
	for _, p := range t.pieces {
		if p.arg < 0 {
			if f == Question {
				b.WriteString(escapeQuestion(p.sql))
			} else {
				b.WriteString(p.sql)
			}
			continue
		}
		if f == Question {
			b.WriteByte('?')
			args = append(args, t.args[p.arg])
			continue
		}
		n, ok := number[p.arg]
		if !ok {
			args = append(args, t.args[p.arg])
			n = len(args)
			number[p.arg] = n
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String(), args
}

// escapeQuestion doubles every ? so squirrel-style renumbering keeps it literal.
// Text written by the builder itself contains none; a Where fragment written with
// $n placeholders may (the jsonb ? operator).
func escapeQuestion(s string) string {
	return strings.ReplaceAll(s, "?", "??")
}

// fragment parses a hand-written SQL fragment and appends it to t with its
// placeholders turned into references to args. A fragment uses either ? (with ??
// for a literal question mark) or $1…$n, never both; placeholders inside string
// literals, quoted identifiers and dollar-quoted strings are text. Every argument
// must be used, and no placeholder may point past the arguments. The fragment must be
// one balanced expression (see lex): it is checked before any of it is written.
func (t *text) fragment(s string, args []any) error {
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return fmt.Errorf("%w: SQL text is not valid UTF-8 without NUL", ErrPlaceholder)
	}
	toks, err := lex(s)
	if err != nil {
		return err
	}
	dollar := false
	for _, tk := range toks {
		if tk.kind == tokDollar {
			dollar = true
		}
	}
	refs := make([]int, len(args))
	for i, a := range args {
		refs[i] = t.bind(a)
	}
	used := make([]bool, len(args))
	next := 0
	for _, tk := range toks {
		switch {
		case tk.kind == tokDollar:
			n := tk.n
			if n < 1 || n > len(args) {
				return fmt.Errorf("%w: $%d with %d argument(s) in %q", ErrPlaceholder, n, len(args), s)
			}
			used[n-1] = true
			t.ref(refs[n-1])
		case tk.kind == tokQuestion && !dollar:
			if next >= len(args) {
				return fmt.Errorf("%w: more ? than the %d argument(s) in %q", ErrPlaceholder, len(args), s)
			}
			used[next] = true
			t.ref(refs[next])
			next++
		case tk.kind == tokQuestion:
			t.sql("?")
		case tk.kind == tokEscapedQuestion && !dollar:
			t.sql("?")
		default:
			t.sql(tk.text)
		}
	}
	for i, u := range used {
		if !u {
			return fmt.Errorf("%w: argument %d is not used in %q", ErrPlaceholder, i+1, s)
		}
	}
	return nil
}

type tokKind int

const (
	tokText tokKind = iota
	tokQuestion
	tokEscapedQuestion
	tokDollar
)

type token struct {
	kind tokKind
	text string
	n    int
}

// lex splits a Where fragment into text and placeholder tokens following Postgres's
// lexical rules for what can hide a placeholder: '…' strings (and E'…' with backslash
// escapes), "…" identifiers and $tag$…$tag$ strings. It also refuses everything that
// would let a fragment reach past the parentheses the builder puts around it: a
// parenthesis closed before it was opened or left open, a -- or /* comment (which
// would swallow the builder's text after the fragment), a semicolon, and a backslash
// before a quote in a plain string, which a server with standard_conforming_strings
// off would read as an escaped quote and so end the string somewhere else than this
// lexer does. An unterminated quote is an error for the same reason.
func lex(s string) ([]token, error) {
	var toks []token
	start := 0
	flush := func(end int) {
		if end > start {
			toks = append(toks, token{kind: tokText, text: s[start:end]})
		}
	}
	depth := 0
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\'':
			escapes := i > 0 && (s[i-1] == 'e' || s[i-1] == 'E') && (i < 2 || !isIdentByte(s[i-2]))
			j, err := skipQuoted(s, i, '\'', escapes)
			if err != nil {
				return nil, err
			}
			if !escapes && strings.Contains(s[i:j], `\'`) {
				return nil, fmt.Errorf(`%w: a backslash before a quote in %q ends the string early when standard_conforming_strings is off; pass the value as an argument`, ErrFragment, s)
			}
			i = j
		case c == '"':
			j, err := skipQuoted(s, i, '"', false)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '-' && i+1 < len(s) && s[i+1] == '-', c == '/' && i+1 < len(s) && s[i+1] == '*':
			return nil, fmt.Errorf("%w: comment %q in %q", ErrFragment, s[i:i+2], s)
		case c == ';':
			return nil, fmt.Errorf("%w: semicolon in %q", ErrFragment, s)
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth == 0 {
				return nil, fmt.Errorf("%w: %q closes a parenthesis it did not open", ErrFragment, s)
			}
			depth--
			i++
		case c == '$' && (i == 0 || !isIdentByte(s[i-1])):
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j > i+1 {
				n, err := strconv.Atoi(s[i+1 : j])
				if err != nil {
					return nil, fmt.Errorf("%w: placeholder %q", ErrPlaceholder, s[i:j])
				}
				flush(i)
				toks = append(toks, token{kind: tokDollar, n: n})
				i, start = j, j
				continue
			}
			// A dollar-quoted string: $$…$$ or $tag$…$tag$.
			k := j
			for k < len(s) && (isIdentByte(s[k]) && s[k] != '$') {
				k++
			}
			if k < len(s) && s[k] == '$' {
				tag := s[i : k+1]
				end := strings.Index(s[k+1:], tag)
				if end < 0 {
					return nil, fmt.Errorf("%w: unterminated %s string in %q", ErrPlaceholder, tag, s)
				}
				i = k + 1 + end + len(tag)
				continue
			}
			i++
		case c == '?':
			flush(i)
			if i+1 < len(s) && s[i+1] == '?' {
				toks = append(toks, token{kind: tokEscapedQuestion})
				i += 2
			} else {
				toks = append(toks, token{kind: tokQuestion})
				i++
			}
			start = i
			continue
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: %q leaves %d parenthesis(es) open", ErrFragment, s, depth)
	}
	flush(len(s))
	return toks, nil
}

// skipQuoted returns the index just past the quoted run that starts at s[i]. A doubled
// quote is an escaped quote; with escapes, so is a backslash-escaped one.
func skipQuoted(s string, i int, q byte, escapes bool) (int, error) {
	j := i + 1
	for j < len(s) {
		switch {
		case escapes && s[j] == '\\':
			j += 2
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j += 2
		case s[j] == q:
			return j + 1, nil
		default:
			j++
		}
	}
	return 0, fmt.Errorf("%w: unterminated %c in %q", ErrPlaceholder, q, s)
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
