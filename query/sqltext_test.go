package query

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFragment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		sql        string
		args       []any
		dollar     string
		question   string
		dollarArgs []any
		err        error
	}{
		{"question marks", "a = ? AND b = ?", []any{1, 2}, "a = $1 AND b = $2", "a = ? AND b = ?", []any{1, 2}, nil},
		{"dollar reused", "a = $1 OR b = $1 OR c = $2", []any{1, 2}, "a = $1 OR b = $1 OR c = $2", "a = ? OR b = ? OR c = ?", []any{1, 2}, nil},
		{"dollar out of order", "a = $2 AND b = $1", []any{1, 2}, "a = $1 AND b = $2", "a = ? AND b = ?", []any{2, 1}, nil},
		{"escaped question", "j ?? 'k' AND a = ?", []any{1}, "j ? 'k' AND a = $1", "j ?? 'k' AND a = ?", []any{1}, nil},
		{"jsonb operator with dollars", "j ? $1", []any{"k"}, "j ? $1", "j ?? ?", []any{"k"}, nil},
		{"in a string", "a = '?' AND b = ?", []any{1}, "a = '?' AND b = $1", "a = '??' AND b = ?", []any{1}, nil},
		{"doubled quote", "a = 'it''s ?' AND b = ?", []any{1}, "a = 'it''s ?' AND b = $1", "a = 'it''s ??' AND b = ?", []any{1}, nil},
		{"escape string", `a = E'\'?' AND b = ?`, []any{1}, `a = E'\'?' AND b = $1`, `a = E'\'??' AND b = ?`, []any{1}, nil},
		{"quoted identifier", `"a?$1" = ?`, []any{1}, `"a?$1" = $1`, `"a??$1" = ?`, []any{1}, nil},
		{"balanced parentheses", "(a = ? OR b IN (1, 2)) AND c = ')'", []any{1}, "(a = $1 OR b IN (1, 2)) AND c = ')'", "(a = ? OR b IN (1, 2)) AND c = ')'", []any{1}, nil},
		{"comment markers in literals", `a = '--' AND b = "/*" AND c = $$;$$ AND d = ?`, []any{1}, `a = '--' AND b = "/*" AND c = $$;$$ AND d = $1`, `a = '--' AND b = "/*" AND c = $$;$$ AND d = ?`, []any{1}, nil},
		{"backslash in a plain string", `a LIKE '%\_%' AND b = ?`, []any{1}, `a LIKE '%\_%' AND b = $1`, `a LIKE '%\_%' AND b = ?`, []any{1}, nil},
		{"line comment", "a = ? -- why?\n", []any{1}, "", "", nil, ErrFragment},
		{"block comment", "a = ? /* x */", []any{1}, "", "", nil, ErrFragment},
		{"comment inside an operator", "a <-- 1", nil, "", "", nil, ErrFragment},
		{"breaks out of its parentheses", "true) OR (true", nil, "", "", nil, ErrFragment},
		{"comments out the guard", "true) --", nil, "", "", nil, ErrFragment},
		{"closes early", "a = 1)", nil, "", "", nil, ErrFragment},
		{"left open", "(a = 1", nil, "", "", nil, ErrFragment},
		{"statement break", "true; DELETE FROM t", nil, "", "", nil, ErrFragment},
		{"backslash before a quote", `a IN ('\', ') OR true OR (')`, nil, "", "", nil, ErrFragment},
		{"dollar quoted", "a = $$?$1$$ AND b = $tag$ $$ ? $tag$ AND c = ?", []any{1}, "a = $$?$1$$ AND b = $tag$ $$ ? $tag$ AND c = $1", "a = $$??$1$$ AND b = $tag$ $$ ?? $tag$ AND c = ?", []any{1}, nil},
		{"identifier with dollar", "a$1 = ?", []any{1}, "a$1 = $1", "a$1 = ?", []any{1}, nil},
		{"no placeholders", "a IS NULL", nil, "a IS NULL", "a IS NULL", nil, nil},
		{"too few args", "a = ? AND b = ?", []any{1}, "", "", nil, ErrPlaceholder},
		{"too many args", "a = ?", []any{1, 2}, "", "", nil, ErrPlaceholder},
		{"dollar zero", "a = $0", []any{1}, "", "", nil, ErrPlaceholder},
		{"dollar gap", "a = $2", []any{1, 2}, "", "", nil, ErrPlaceholder},
		{"unterminated string", "a = 'x", nil, "", "", nil, ErrPlaceholder},
		{"unterminated identifier", `"a = ?`, []any{1}, "", "", nil, ErrPlaceholder},
		{"unterminated comment", "a = ? /* x", []any{1}, "", "", nil, ErrFragment},
		{"unterminated dollar quote", "a = $q$ ?", []any{1}, "", "", nil, ErrPlaceholder},
		{"NUL", "a = ?\x00", []any{1}, "", "", nil, ErrPlaceholder},
		{"invalid UTF-8", "a = ?\xff", []any{1}, "", "", nil, ErrPlaceholder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var x text
			err := x.fragment(tt.sql, tt.args)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			d, dargs := x.render(Dollar)
			require.Equal(t, tt.dollar, d)
			require.Equal(t, tt.dollarArgs, dargs)
			q, _ := x.render(Question)
			require.Equal(t, tt.question, q)
		})
	}
}

func TestIdentifiers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" means an error
	}{
		{"orders", "orders"},
		{"Orders", "orders"},
		{"SALES.Orders", "sales.orders"},
		{`"Orders"`, `"Orders"`},
		{`"orders"`, "orders"},
		{`"my table"`, `"my table"`},
		{`"a""b"`, `"a""b"`},
		{"user", `"user"`},
		{"t.order", `t."order"`},
		{"t.$1", ""},
		{"t.a$1", "t.a$1"},
		{"_x9", "_x9"},
		{"9x", ""},
		{"a.b.c", "a.b.c"},
		{"a.b.c.d", ""},
		{"a..b", ""},
		{"a.", ""},
		{`""`, ""},
		{`"abc`, ""},
		{"a b", ""},
		{"a;b", ""},
		{"ünï", ""},
		{`"ünï"`, `"ünï"`},
		{`"a` + "\x00" + `"`, ""},
		{`"` + "\xff" + `"`, ""},
		{"gm__a1", ""},
		{`x."GM__a1"`, ""},
		{"a23456789012345678901234567890123456789012345678901234567890123", "a23456789012345678901234567890123456789012345678901234567890123"},
		{"a234567890123456789012345678901234567890123456789012345678901234", ""},
	}
	for _, tt := range tests {
		n, err := fullName(tt.in, 1, 3)
		if tt.want == "" {
			require.ErrorIs(t, err, ErrIdentifier, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, n.String(), tt.in)
		// What the builder writes reads back as the same name.
		again, err := fullName(n.String(), 1, 3)
		require.NoError(t, err)
		require.Equal(t, n, again)
	}

	tables := map[string]string{
		"sales.orders o":    "sales.orders AS o",
		"sales.orders AS o": "sales.orders AS o",
		"orders as O":       "orders AS o",
		`"My T" "x y"`:      `"My T" AS "x y"`,
		"orders":            "orders",
		"orders o extra":    "",
		"orders AS":         "",
		"a.b.c":             "",
		"orders o.p":        "",
	}
	for in, want := range tables {
		ref, err := parseTable(in)
		if want == "" {
			require.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		require.Equal(t, want, ref.String(), in)
	}

	orders := map[string]string{
		"t.id":                  "t.id",
		"t.id desc":             "t.id DESC",
		"t.id ASC nulls first":  "t.id ASC NULLS FIRST",
		"t.id NULLS LAST":       "t.id NULLS LAST",
		"t.id DESC, t.x":        "",
		"t.id NULLS":            "",
		"t.id DESC DESC":        "",
		"random()":              "",
		"t.id USING <":          "",
		`"weird col" desc`:      `"weird col" DESC`,
		"t.id DESC NULLS FIRST": "t.id DESC NULLS FIRST",
	}
	for in, want := range orders {
		got, err := parseOrder(in)
		if want == "" {
			require.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
}
