package query

import (
	"fmt"
	"strconv"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// Check is one condition on the mirror: a guard, or several guards joined by AnyOf.
// Checks passed to Select are ANDed.
type Check struct {
	kind       checkKind
	objectType string
	privilege  string
	columns    []string // one canonical-name column, or database/schema/name columns
	object     string   // a fixed object's name
	any        []Check
}

type checkKind int

const (
	checkColumn checkKind = iota
	checkParts
	checkObject
	checkAny
)

func (c Check) apply(s *spec) { s.checks = append(s.checks, c) }

// Guard admits a row when the viewer holds privilege on the object of objectType
// whose canonical name (SALES.PUBLIC.ORDERS, SALES.CORE."lines") is in column. An
// unqualified column is qualified with the statement's table, because inside the
// guard's subquery an unqualified name could resolve to the mirror's own columns.
func Guard(objectType, column, privilege string) Check {
	return Check{kind: checkColumn, objectType: objectType, columns: []string{column}, privilege: privilege}
}

// GuardParts is Guard for data that keeps an object's name in separate columns, as
// Snowflake stores them (unquoted, exact case): database, or database and schema, or
// database, schema and name. The canonical name is assembled inside the SQL with the
// sync's quoting rule, so the comparison still uses the mirror's index.
func GuardParts(objectType string, columns []string, privilege string) Check {
	return Check{kind: checkParts, objectType: objectType, columns: columns, privilege: privilege}
}

// GuardObject admits rows only when the viewer holds privilege on one fixed object,
// named as a person would type it (sales.public.orders) or canonically. Postgres
// evaluates it once per statement, not per row.
func GuardObject(objectType, objectName, privilege string) Check {
	return Check{kind: checkObject, objectType: objectType, object: objectName, privilege: privilege}
}

// AnyOf admits a row when at least one of its checks does.
func AnyOf(checks ...Check) Check {
	return Check{kind: checkAny, any: checks}
}

// env carries what every part of one statement shares: the viewer's bound address,
// the table unqualified columns belong to, and a counter for subquery aliases.
type env struct {
	b        *Builder
	t        *text
	viewer   string
	from     *tableRef
	viewerAt int
	account  int
	cutoff   int
	n        int
	// deniedCTE is set once a split statement's WITH has computed the denied
	// objects as gm__r, which every check then reads.
	deniedCTE bool
	// counted is set when a split statement may read the viewer's published object
	// count (gm__n) instead of counting the mirror's entries.
	counted bool
}

func newEnv(b *Builder, t *text, viewer string, from *tableRef) *env {
	return &env{b: b, t: t, viewer: viewer, from: from, viewerAt: -1, account: -1, cutoff: -1}
}

func (e *env) viewerRef() {
	if e.viewerAt < 0 {
		e.viewerAt = e.t.bind(e.viewer)
	}
	e.t.ref(e.viewerAt)
}

func (e *env) alias(prefix string) string {
	e.n++
	return reservedPrefix + prefix + strconv.Itoa(e.n)
}

// accountFilter restricts a mirror alias to the configured account, if any.
func (e *env) accountFilter(alias string) {
	if e.b.account == "" {
		return
	}
	if e.account < 0 {
		e.account = e.t.bind(e.b.account)
	}
	e.t.sql(" AND " + alias + ".account = ")
	e.t.ref(e.account)
}

// kind normalizes a check's object type and privilege.
func (b *Builder) kind(objectType, privilege string) (string, string, error) {
	t, err := b.normalizeType(objectType)
	if err != nil {
		return "", "", err
	}
	p, err := b.normalizePrivilege(privilege)
	if err != nil {
		return "", "", err
	}
	return t, p, nil
}

// viewerHolds restricts a mirror alias (access or viewer_objects) to the viewer's
// entries of one object type and privilege, in the configured account.
func (e *env) viewerHolds(alias, objectType, priv string) {
	e.t.sql(alias + ".email = ")
	e.viewerRef()
	e.t.sql(" AND " + alias + ".object_type = ")
	e.t.val(objectType)
	e.t.sql(" AND " + alias + ".privilege = ")
	e.t.val(priv)
	e.accountFilter(alias)
}

// fresh writes the fail-closed condition: the mirror has been published, and what it
// knows is recent enough. Its age is that of the Snowflake snapshot it was computed
// from (current.snapshot_at), not of the publish: a month-old snapshot published now is
// a month out of date. A snapshot that recorded no extraction time is judged by its
// publish time, the only time known. The cutoff is computed from the builder's clock
// and bound, so tests can move time without sleeping, and Postgres evaluates the
// subquery once per statement.
func (e *env) fresh() {
	e.t.sql("EXISTS (SELECT 1 FROM " + e.b.current.String() + " " + reservedPrefix + "c")
	if e.b.maxAge != NoStalenessLimit {
		if e.cutoff < 0 {
			e.cutoff = e.t.bind(e.b.now().Add(-e.b.maxAge))
		}
		e.t.sql(" WHERE coalesce(" + reservedPrefix + "c.snapshot_at, " + reservedPrefix + "c.published_at) >= ")
		e.t.ref(e.cutoff)
	}
	e.t.sql(")")
}

// column parses a column reference used inside a subquery and qualifies it.
func (e *env) column(s string) (string, error) {
	n, err := fullName(s, 1, 3)
	if err != nil {
		return "", err
	}
	if len(n) == 1 {
		if e.from == nil {
			return "", fmt.Errorf("%w: %q: qualify the column with its table", ErrIdentifier, s)
		}
		n = append(append(name{}, e.from.qualifier()...), n...)
	}
	return n.String(), nil
}

// check writes one check. Every guard is an inline EXISTS on the mirror with all four
// leading columns of its unique index bound by equality, never a function call, so the
// planner can probe the index (or turn the EXISTS into a join driven by it); the
// probe also skips the objects a row access policy denies the viewer (see denied),
// an array Postgres computes once per statement however many rows probe. The data
// side is compared under COLLATE "C", the collation the sync gives the mirror's
// columns: equality means the same bytes under any deterministic collation, and a
// data column with its own explicit collation would otherwise clash with the mirror's
// and fail the statement.
func (e *env) check(c Check) error { return e.probe(c, false) }

// probe writes check c; fenced ends each mirror probe with OFFSET 0, which keeps
// Postgres from turning it into a hashed set of everything the viewer sees.
func (e *env) probe(c Check, fenced bool) error {
	switch c.kind {
	case checkAny:
		if len(c.any) == 0 {
			return fmt.Errorf("%w: AnyOf without checks", ErrStatement)
		}
		e.t.sql("(")
		for i, sub := range c.any {
			if i > 0 {
				e.t.sql(" OR ")
			}
			if err := e.probe(sub, fenced); err != nil {
				return err
			}
		}
		e.t.sql(")")
		return nil
	case checkColumn, checkParts, checkObject:
	default:
		return fmt.Errorf("%w: empty check", ErrStatement)
	}
	objectType, priv, err := e.b.kind(c.objectType, c.privilege)
	if err != nil {
		return err
	}
	// Resolve the object side first so an error leaves no half-written SQL behind.
	var objectCols []string
	var object string
	switch c.kind {
	case checkColumn:
		if len(c.columns) != 1 {
			return fmt.Errorf("%w: Guard needs one column", ErrStatement)
		}
		col, err := e.column(c.columns[0])
		if err != nil {
			return err
		}
		objectCols = []string{col}
	case checkParts:
		if len(c.columns) < 1 || len(c.columns) > 3 {
			return fmt.Errorf("%w: GuardParts needs 1 to 3 columns, got %d", ErrStatement, len(c.columns))
		}
		for _, s := range c.columns {
			col, err := e.column(s)
			if err != nil {
				return err
			}
			objectCols = append(objectCols, col)
		}
	case checkObject:
		if object, err = ident.Canonical(c.object); err != nil {
			return fmt.Errorf("%w: object %q: %w", ErrStatement, c.object, err)
		}
	}
	a := e.alias("a")
	e.t.sql("EXISTS (SELECT 1 FROM " + e.b.access.String() + " " + a + " WHERE " + a + ".email = ")
	e.viewerRef()
	e.t.sql(" AND " + a + ".object_type = ")
	e.t.val(objectType)
	e.t.sql(" AND " + a + ".object_name = ")
	switch c.kind {
	case checkColumn:
		e.t.sql(objectCols[0] + ` COLLATE "C"`)
	case checkParts:
		e.t.sql("(")
		for i, col := range objectCols {
			if i > 0 {
				e.t.sql(" || '.' || ")
			}
			e.t.sql(canonicalPart(col))
		}
		e.t.sql(`) COLLATE "C"`)
	case checkObject:
		e.t.val(object)
	}
	e.t.sql(" AND " + a + ".privilege = ")
	e.t.val(priv)
	e.accountFilter(a)
	e.t.sql(" AND " + a + ".object_name <> ALL(")
	e.denied()
	e.t.sql(")")
	if fenced {
		e.t.sql(" OFFSET 0")
	}
	e.t.sql(")")
	return nil
}

// hashedOrProbe writes the driving Guard c of a split statement's probing branch:
// for a viewer gm__s counts at most HashedObjects objects, the row's object is
// looked up in the viewer's objects, which Postgres reads once into a hashed set;
// for any other, the mirror is probed per row, fenced so that Postgres does not hash
// a dense viewer's objects too (several ms at 10,000 objects). gm__s decides once
// per execution, and the arm not taken is never evaluated.
func (e *env) hashedOrProbe(c Check) error {
	objectType, priv, err := e.b.kind(c.objectType, c.privilege)
	if err != nil {
		return err
	}
	col, err := e.column(c.columns[0])
	if err != nil {
		return err
	}
	a := e.alias("a")
	e.t.sql("CASE WHEN (SELECT " + reservedPrefix + "s.hashed FROM " + reservedPrefix + "s) THEN " + col + ` COLLATE "C" IN (SELECT ` +
		a + ".object_name FROM " + e.b.access.String() + " " + a + " WHERE ")
	e.viewerHolds(a, objectType, priv)
	e.t.sql(" AND " + a + ".object_name <> ALL(")
	e.denied()
	e.t.sql(")) ELSE ")
	if err := e.probe(c, true); err != nil {
		return err
	}
	e.t.sql(" END")
	return nil
}

// denied writes the objects whose Snowflake row access policy does not admit the
// viewer, as one uncorrelated ARRAY subquery: Postgres computes the array once per
// statement (an InitPlan) and then tests each row's object against it, so a viewer
// in an account without row access policies pays one descent of an empty index.
// A translated policy admits the viewers who hold one of its roles in the policy's
// account, or are one of its people; an untranslated one admits everyone when its
// fallback is "allow" and nobody otherwise. Without Options.Account, a policy of
// any account denies its object: names are compared without accounts there, and an
// object another account protects is not shown on the strength of a grant in
// another. A split statement computes the array once in its WITH (gm__r), however
// many checks read it.
func (e *env) denied() {
	if e.deniedCTE {
		e.t.sql("(SELECT " + reservedPrefix + "r.objects FROM " + reservedPrefix + "r)::text[]")
		return
	}
	r, m := e.alias("r"), e.alias("m")
	e.t.sql("ARRAY(SELECT " + r + ".object_name FROM " + e.b.rowPolicies.String() + " " + r +
		" WHERE NOT " + r + ".allow AND NOT (")
	e.viewerRef()
	e.t.sql(" = ANY(" + r + ".admit_emails)) AND NOT EXISTS (SELECT 1 FROM " + e.b.memberships.String() + " " + m +
		" WHERE " + m + ".email = ")
	e.viewerRef()
	e.t.sql(" AND " + m + ".account = " + r + ".account AND " + m + ".role = ANY(" + r + ".admit_roles))")
	e.accountFilter(r)
	e.t.sql(")")
}

// canonicalPart is ident.Part in SQL: a part is written bare when it matches
// ^[A-Z_][A-Z0-9_$]*$ and double-quoted with quotes doubled otherwise. A NULL part
// makes the whole name NULL, which matches nothing.
func canonicalPart(col string) string {
	return "CASE WHEN " + col + ` ~ '^[A-Z_][A-Z0-9_$]*$' THEN ` + col +
		` ELSE '"' || replace(` + col + `, '"', '""') || '"' END`
}
