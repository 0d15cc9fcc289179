package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// RedactedText is what Redact shows instead of a value.
const RedactedText = "********"

// Strategy is how a masked column is shown to a viewer who may not see it. Every
// strategy but Null returns the column as text in every mode, so switching a tenant
// between shadow and enforce never changes the types an API scans.
type Strategy struct {
	kind maskKind
	keep int
}

type maskKind int

const (
	maskRedact maskKind = iota
	maskNull
	maskHash
	maskPartial
	maskEmailDomain
)

var (
	// Redact replaces every value, NULL included, with RedactedText.
	Redact = Strategy{kind: maskRedact}
	// Null replaces every value with NULL and keeps the column's type.
	Null = Strategy{kind: maskNull}
	// Hash replaces a value with the hex HMAC-SHA256 of its text under Options.HashKey:
	// equal values stay equal (joins and counts still work) but cannot be read. NULL
	// stays NULL.
	Hash = Strategy{kind: maskHash}
	// EmailDomain keeps only the domain of an address ("***@example.com"); a value
	// without @ is redacted. NULL stays NULL.
	EmailDomain = Strategy{kind: maskEmailDomain}
)

// Partial keeps the last keep characters and stars the rest ("********4242"). A value
// no longer than keep is starred entirely, so no value is ever shown whole.
func Partial(keep int) Strategy {
	return Strategy{kind: maskPartial, keep: keep}
}

// String names the strategy.
func (s Strategy) String() string {
	switch s.kind {
	case maskRedact:
		return "redact"
	case maskNull:
		return "null"
	case maskHash:
		return "hash"
	case maskPartial:
		return fmt.Sprintf("partial(%d)", s.keep)
	case maskEmailDomain:
		return "email-domain"
	}
	return "unknown"
}

// Unmask is a condition under which a viewer sees a masked column in the clear.
type Unmask struct {
	roles []string
	check Check
}

// UnlessRole shows the column to viewers who hold any of the roles, directly or
// inherited (the memberships table is flattened). Names resolve as in Snowflake:
// unquoted parts upper-case, quoted parts exact, database roles as DB.ROLE.
func UnlessRole(roles ...string) Unmask {
	return Unmask{roles: roles}
}

// UnlessPrivilege shows the column to viewers who hold privilege on one object, for
// example SELECT on the Snowflake table the column was copied from.
func UnlessPrivilege(objectType, objectName, privilege string) Unmask {
	return Unmask{check: GuardObject(objectType, objectName, privilege)}
}

// mask is one Mask part.
type mask struct {
	column   string
	strategy Strategy
	unless   []Unmask
	optional bool // applies only when the column is selected (masks loaded from the mirror)
}

func (m mask) apply(s *spec) { s.masks = append(s.masks, m) }

// Mask masks a column for viewers who meet none of the unless conditions. A masked
// column that Columns does not list is added to the select list under its own name.
// Masks apply in Enforce mode; Shadow and Off show the value in the clear, with the
// same column type. A mask changes what is returned, not what Where and OrderBy see:
// filtering or sorting on a masked column still uses the clear value, so an API should
// not let a viewer choose such a filter, or it answers questions about hidden values.
func Mask(column string, s Strategy, unless ...Unmask) Part {
	return mask{column: column, strategy: s, unless: unless}
}

// roleNames resolves role names the way Snowflake does and writes them the way the
// memberships table stores them: canonical, so a role whose name needs quotes
// (`"Data Stewards"`) matches its quoted spelling there, and an unquoted name
// typed in any case matches the upper-case role it resolves to.
func roleNames(roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		parts, err := ident.Split(r)
		if err != nil {
			return nil, fmt.Errorf("%w: role %q: %w", ErrStatement, r, err)
		}
		if len(parts) > 2 {
			return nil, fmt.Errorf("%w: role %q has more than two parts", ErrStatement, r)
		}
		out = append(out, ident.Join(parts...))
	}
	return out, nil
}

// unmasked writes the condition under which a viewer sees the clear value: the
// mirror is fresh and one of the unless conditions holds. A stale mirror masks
// everything, the same fail-closed rule as for rows.
func (e *env) unmasked(unless []Unmask) error {
	e.t.sql("(")
	e.fresh()
	e.t.sql(" AND (")
	for i, u := range unless {
		if i > 0 {
			e.t.sql(" OR ")
		}
		if u.roles == nil {
			if err := e.check(u.check); err != nil {
				return err
			}
			continue
		}
		roles, err := roleNames(u.roles)
		if err != nil {
			return err
		}
		if len(roles) == 0 {
			return fmt.Errorf("%w: UnlessRole without roles", ErrStatement)
		}
		m := e.alias("m")
		e.t.sql("EXISTS (SELECT 1 FROM " + e.b.memberships.String() + " " + m + " WHERE " + m + ".email = ")
		e.viewerRef()
		e.t.sql(" AND " + m + ".role = ANY(")
		e.t.val(roles)
		e.t.sql(")")
		e.accountFilter(m)
		e.t.sql(")")
	}
	e.t.sql("))")
	return nil
}

// masked writes the select-list expression of a masked column: the masked form,
// or, with unless conditions, CASE WHEN unmasked THEN the clear value ELSE the masked
// form END.
func (e *env) masked(col string, m mask) error {
	if m.strategy.kind == maskHash && !e.b.hasKey {
		return fmt.Errorf("%w: column %s", ErrNoHashKey, col)
	}
	if m.strategy.kind == maskPartial && m.strategy.keep < 0 {
		return fmt.Errorf("%w: Partial(%d) keeps a negative number of characters", ErrStatement, m.strategy.keep)
	}
	if m.strategy.kind < maskRedact || m.strategy.kind > maskEmailDomain {
		return fmt.Errorf("%w: unknown mask strategy", ErrStatement)
	}
	txt := "(" + col + ")::text"
	if len(m.unless) > 0 {
		e.t.sql("CASE WHEN ")
		if err := e.unmasked(m.unless); err != nil {
			return err
		}
		if m.strategy.kind == maskNull {
			e.t.sql(" THEN " + col + " ELSE ")
		} else {
			e.t.sql(" THEN " + txt + " ELSE ")
		}
	}
	switch m.strategy.kind {
	case maskNull:
		// CASE WHEN false keeps the column's type where a bare NULL would be text.
		e.t.sql("CASE WHEN false THEN " + col + " END")
	case maskRedact:
		e.t.sql("'" + RedactedText + "'::text")
	case maskHash:
		e.t.sql("encode(sha256(")
		e.t.val(e.b.opad)
		e.t.sql("::bytea || sha256(")
		e.t.val(e.b.ipad)
		e.t.sql("::bytea || convert_to(" + txt + ", 'UTF8'))), 'hex')")
	case maskPartial:
		keep := e.t.bind(m.strategy.keep)
		e.t.sql("CASE WHEN length(" + txt + ") > ")
		e.t.ref(keep)
		e.t.sql("::int THEN repeat('*', length(" + txt + ") - ")
		e.t.ref(keep)
		e.t.sql("::int) || right(" + txt + ", ")
		e.t.ref(keep)
		e.t.sql("::int) ELSE repeat('*', length(" + txt + ")) END")
	case maskEmailDomain:
		e.t.sql("CASE WHEN " + txt + " IS NULL THEN NULL WHEN strpos(" + txt + ", '@') > 0 THEN regexp_replace(" +
			txt + ", '^.*@', '***@') ELSE '" + RedactedText + "' END")
	}
	if len(m.unless) > 0 {
		e.t.sql(" END")
	}
	return nil
}

// MaskSet says which masks LoadMasks reads and how it applies them.
type MaskSet struct {
	// Object is the Snowflake object the table copies, in any spelling.
	Object string
	// Alias qualifies the table's columns in the statement ("q"); empty leaves them
	// unqualified.
	Alias string
	// Strategy applies to every listed column (zero value: Redact) unless ByColumn
	// names the column (by its Postgres name, lower case for Snowflake's unquoted names).
	Strategy Strategy
	ByColumn map[string]Strategy
	// Unless are the unmask conditions of every loaded mask.
	Unless []Unmask
}

// LoadMasks reads masked_columns for one object and returns a Mask part per column
// that carries a Snowflake masking policy or PII tag. Snowflake's unquoted upper-case
// column names map to Postgres's lower-case ones; other names are kept exactly. The
// masks apply only to columns the statement selects.
func (b *Builder) LoadMasks(ctx context.Context, db Querier, set MaskSet) ([]Part, error) {
	object, err := ident.Canonical(set.Object)
	if err != nil {
		return nil, fmt.Errorf("load masks: object %q: %w", set.Object, err)
	}
	var qual name
	if set.Alias != "" {
		if qual, err = fullName(set.Alias, 1, 2); err != nil {
			return nil, fmt.Errorf("load masks: alias: %w", err)
		}
	}
	var t text
	t.sql("SELECT column_name FROM " + b.masked.String() + " WHERE object_name = ")
	t.val(object)
	if b.account != "" {
		t.sql(" AND account = ")
		t.val(b.account)
	}
	t.sql(" GROUP BY column_name ORDER BY column_name")
	sql, args := t.render(Dollar)
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("load masks for %s: %w", object, err)
	}
	defer rows.Close()
	var parts []Part
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return nil, fmt.Errorf("load masks for %s: %w", object, err)
		}
		pg := col
		if ident.Part(col) == col {
			pg = strings.ToLower(col)
		}
		s := set.Strategy
		if by, ok := set.ByColumn[pg]; ok {
			s = by
		}
		ref := append(append(name{}, qual...), pg)
		parts = append(parts, mask{column: ref.String(), strategy: s, unless: set.Unless, optional: true})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load masks for %s: %w", object, err)
	}
	return parts, nil
}
