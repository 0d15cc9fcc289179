package query

import (
	"context"
	"encoding/json"
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
	kind   unmaskKind
	roles  []string // as typed, resolved by roleNames (UnlessRole)
	stored []string // canonical, as the mirror stores them (policy rules)
	emails []string // normalized addresses (policy rules testing CURRENT_ROLE())
	check  Check
	all    []Unmask // unmaskAll: every one; empty means everyone is admitted
	any    []Unmask // unmaskAny: one of them
}

type unmaskKind int

const (
	unmaskRole unmaskKind = iota
	unmaskCheck
	unmaskRule  // stored roles or emails: a Snowflake policy's translated rule
	unmaskNever // a policy grantmirror could not translate: fail closed
	unmaskAll   // every condition of all
	unmaskAny   // one condition of any
)

// UnlessRole shows the column to viewers who hold any of the roles, directly or
// inherited (the memberships table is flattened). Names resolve as in Snowflake:
// unquoted parts upper-case, quoted parts exact, database roles as DB.ROLE.
func UnlessRole(roles ...string) Unmask {
	return Unmask{kind: unmaskRole, roles: roles}
}

// UnlessPrivilege shows the column to viewers who hold privilege on one object, for
// example SELECT on the Snowflake table the column was copied from.
func UnlessPrivilege(objectType, objectName, privilege string) Unmask {
	return Unmask{kind: unmaskCheck, check: GuardObject(objectType, objectName, privilege)}
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
	e.t.sql(" AND ")
	if err := e.anyUnmask(unless); err != nil {
		return err
	}
	e.t.sql(")")
	return nil
}

// anyUnmask writes the disjunction of conditions.
func (e *env) anyUnmask(unless []Unmask) error {
	e.t.sql("(")
	for i, u := range unless {
		if i > 0 {
			e.t.sql(" OR ")
		}
		if err := e.unmask(u); err != nil {
			return err
		}
	}
	e.t.sql(")")
	return nil
}

func (e *env) unmask(u Unmask) error {
	switch u.kind {
	case unmaskCheck:
		return e.check(u.check)
	case unmaskNever:
		e.t.sql("false")
		return nil
	case unmaskAny:
		return e.anyUnmask(u.any)
	case unmaskAll:
		if len(u.all) == 0 {
			e.t.sql("true")
			return nil
		}
		e.t.sql("(")
		for i, sub := range u.all {
			if i > 0 {
				e.t.sql(" AND ")
			}
			if err := e.unmask(sub); err != nil {
				return err
			}
		}
		e.t.sql(")")
		return nil
	case unmaskRule:
		e.t.sql("(")
		if len(u.stored) == 0 && len(u.emails) == 0 {
			e.t.sql("false")
		}
		if len(u.stored) > 0 {
			e.memberOf(u.stored)
		}
		if len(u.emails) > 0 {
			if len(u.stored) > 0 {
				e.t.sql(" OR ")
			}
			e.viewerRef()
			e.t.sql(" = ANY(")
			e.t.val(u.emails)
			e.t.sql("::text[])")
		}
		e.t.sql(")")
		return nil
	}
	roles, err := roleNames(u.roles)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		return fmt.Errorf("%w: UnlessRole without roles", ErrStatement)
	}
	e.memberOf(roles)
	return nil
}

// memberOf writes whether the viewer holds one of the canonical roles.
func (e *env) memberOf(roles []string) {
	m := e.alias("m")
	e.t.sql("EXISTS (SELECT 1 FROM " + e.b.memberships.String() + " " + m + " WHERE " + m + ".email = ")
	e.viewerRef()
	e.t.sql(" AND " + m + ".role = ANY(")
	e.t.val(roles)
	e.t.sql(")")
	e.accountFilter(m)
	e.t.sql(")")
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
	// Unless are the unmask conditions of the columns Snowflake does not decide for:
	// PII tags, and masking policies whose definitions the snapshot lacks. A column
	// whose masking policy the mirror translated is shown to exactly the viewers the
	// policy admits; one whose policy it could not translate is masked for everyone.
	Unless []Unmask
	// Columns lists the table's columns by their Postgres names. It is needed only
	// when a policy reaches every column of the object (a tag set on the table, its
	// schema or its database): LoadMasks then masks each of these, and without them
	// refuses rather than leave a column in the clear.
	Columns []string
}

// policyRule is the rule a sync publishes with a masked column (model.PolicyRule,
// as JSON in masked_columns.rule).
type policyRule struct {
	Kind       string   `json:"kind"`
	Policy     string   `json:"policy"`
	Tag        string   `json:"tag"`
	Translated bool     `json:"translated"`
	Roles      []string `json:"roles"`
	Emails     []string `json:"emails"`
	Fallback   string   `json:"fallback"`
}

// The rule kinds and fallbacks the sync writes.
const (
	ruleMasking    = "masking"
	ruleRowAccess  = "row_access"
	ruleProjection = "projection"
	fallbackAllow  = "allow"
)

// admits is the unmask condition of a rule: who the policy admits.
func (r *policyRule) admits() Unmask {
	switch {
	case r.Translated:
		return Unmask{kind: unmaskRule, stored: r.Roles, emails: r.Emails}
	case r.Kind != ruleMasking && r.Fallback == fallbackAllow:
		return Unmask{kind: unmaskAll, all: []Unmask{}}
	}
	return Unmask{kind: unmaskNever}
}

// maskEntry is one row of masked_columns.
type maskEntry struct {
	object, column, reason string
	rule                   *policyRule
}

// readMasks reads the masked_columns rows of an object and of the schema and
// database it is in (rows of those name every column with "*").
func (b *Builder) readMasks(ctx context.Context, db Querier, object string) ([]maskEntry, error) {
	objects := []string{object}
	if parts := ident.Parts(object); len(parts) == 3 {
		objects = append(objects, parts[0]+"."+parts[1], parts[0])
	}
	var t text
	t.sql("SELECT object_name, column_name, reason, rule FROM " + b.masked.String() + " WHERE object_name = ANY(")
	t.val(objects)
	t.sql("::text[])")
	if b.account != "" {
		t.sql(" AND account = ")
		t.val(b.account)
	}
	t.sql(" ORDER BY column_name, reason")
	sql, args := t.render(Dollar)
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []maskEntry
	for rows.Next() {
		var e maskEntry
		var rule string
		if err := rows.Scan(&e.object, &e.column, &e.reason, &rule); err != nil {
			return nil, err
		}
		if e.object != object && e.column != "*" {
			continue
		}
		if rule != "" {
			e.rule = new(policyRule)
			if err := json.Unmarshal([]byte(rule), e.rule); err != nil {
				return nil, fmt.Errorf("rule of %s %s: %w", e.object, e.column, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LoadMasks reads masked_columns for one object and returns a Mask part per column
// that carries a Snowflake masking or projection policy or a PII tag. Snowflake's
// unquoted upper-case column names map to Postgres's lower-case ones; other names
// are kept exactly. The masks apply only to columns the statement selects.
//
// Each column is shown in the clear only to viewers every one of its entries
// admits: a translated policy admits the roles it names (held in the viewer's
// session) and, for CURRENT_ROLE() tests, the people whose default role it names;
// an untranslated masking policy admits nobody; a PII tag, or a policy whose
// definition the snapshot lacks, admits set.Unless. A policy set on the column
// itself replaces those that come with tags. A column with a projection policy is
// returned as NULL (Snowflake refuses to return it) to viewers its policy does not
// admit: it may still be filtered and sorted on.
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
	entries, err := b.readMasks(ctx, db, object)
	if err != nil {
		return nil, fmt.Errorf("load masks for %s: %w", object, err)
	}
	// Entries by Postgres column name; "*" entries reach every listed column.
	byColumn := map[string][]maskEntry{}
	var order []string
	addTo := func(pg string, e maskEntry) {
		if _, ok := byColumn[pg]; !ok {
			order = append(order, pg)
		}
		byColumn[pg] = append(byColumn[pg], e)
	}
	var everyColumn []maskEntry
	for _, e := range entries {
		switch e.column {
		case "":
			continue // row access: every guard applies it (see denied)
		case "*":
			everyColumn = append(everyColumn, e)
		default:
			pg := e.column
			if ident.Part(e.column) == e.column {
				pg = strings.ToLower(e.column)
			}
			addTo(pg, e)
		}
	}
	if len(everyColumn) > 0 {
		if len(set.Columns) == 0 {
			return nil, fmt.Errorf("%w: load masks for %s: %s reaches every column of the object; list them in MaskSet.Columns", ErrStatement, object, everyColumn[0].reason)
		}
		for _, c := range set.Columns {
			for _, e := range everyColumn {
				addTo(c, e)
			}
		}
	}
	var parts []Part
	for _, pg := range order {
		es := byColumn[pg]
		direct := false
		for _, e := range es {
			direct = direct || e.rule != nil && e.rule.Kind == ruleMasking && e.rule.Tag == ""
		}
		s := set.Strategy
		if by, ok := set.ByColumn[pg]; ok {
			s = by
		}
		var conds []Unmask
		never := false
		for _, e := range es {
			var u Unmask
			switch {
			case e.rule == nil && len(set.Unless) == 0:
				u = Unmask{kind: unmaskNever}
			case e.rule == nil:
				u = anyOf(set.Unless)
			case e.rule.Kind == ruleMasking && direct && e.rule.Tag != "":
				continue
			case e.rule.Kind == ruleProjection:
				s = Null
				u = e.rule.admits()
			default:
				u = e.rule.admits()
			}
			if u.kind == unmaskAll && len(u.all) == 0 {
				continue // admits everyone
			}
			never = never || u.kind == unmaskNever
			conds = append(conds, u)
		}
		if len(conds) == 0 {
			continue
		}
		ref := append(append(name{}, qual...), pg)
		m := mask{column: ref.String(), strategy: s, optional: true}
		if !never {
			m.unless = []Unmask{{kind: unmaskAll, all: conds}}
		}
		parts = append(parts, m)
	}
	return parts, nil
}

// anyOf is the disjunction of conditions as one condition: the first when alone.
func anyOf(us []Unmask) Unmask {
	if len(us) == 1 {
		return us[0]
	}
	return Unmask{kind: unmaskAny, any: us}
}
