package query

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Part is one piece of a statement given to Select: From, Columns, Where, OrderBy,
// Limit, Offset, a guard (Guard, GuardParts, GuardObject, AnyOf), a Mask, Unguarded.
type Part interface {
	apply(*spec)
}

// Sqlizer is anything that renders to SQL with its arguments; squirrel's builders and
// this package's statements both are.
type Sqlizer interface {
	ToSql() (string, []any, error)
}

// spec collects the parts of one statement.
type spec struct {
	from      []string
	columns   []string
	masks     []mask
	checks    []Check
	wheres    []where
	orders    []string
	limit     *int64
	offset    *int64
	unguarded bool
}

type where struct {
	sql  string
	args []any
}

type partFunc func(*spec)

func (f partFunc) apply(s *spec) { f(s) }

// From names the table read, optionally with an alias: "usage.query_history q".
func From(table string) Part {
	return partFunc(func(s *spec) { s.from = append(s.from, table) })
}

// Columns adds columns to the select list: "q.id", "q.started_at AS started". Stars
// are not accepted, because a column hidden in * could not be masked.
func Columns(columns ...string) Part {
	return partFunc(func(s *spec) { s.columns = append(s.columns, columns...) })
}

// Where adds a condition written by hand, ANDed with the others. Values go in args
// with ? placeholders (?? for a literal ?) or $1…$n placeholders, which the builder
// renumbers into the statement; they are never spliced into the text.
func Where(sql string, args ...any) Part {
	return partFunc(func(s *spec) { s.wheres = append(s.wheres, where{sql: sql, args: args}) })
}

// OrderBy adds sort keys: "q.started_at DESC", "q.id".
func OrderBy(items ...string) Part {
	return partFunc(func(s *spec) { s.orders = append(s.orders, items...) })
}

// Limit caps the number of rows.
func Limit(n int64) Part {
	return partFunc(func(s *spec) { s.limit = &n })
}

// Offset skips rows.
func Offset(n int64) Part {
	return partFunc(func(s *spec) { s.offset = &n })
}

// Unguarded declares that a statement deliberately has no guard (it only masks).
// Without it, a statement with no guard is an error.
func Unguarded() Part {
	return partFunc(func(s *spec) { s.unguarded = true })
}

// Stmt is one built statement. Build errors are kept and returned by ToSql and by
// every helper that runs it, squirrel-style, so a statement can be built in one
// expression.
type Stmt struct {
	b      *Builder
	viewer string
	tenant string
	mode   Mode
	spec   spec
	text   *text
	err    error
	// learn is set when the statement could take the sparse shape but the builder
	// does not know yet (or no longer trusts) whether the table has the index it
	// needs; Learn looks it up and rebuilds the statement.
	learn *learnable
	// mu guards text, learn and err, which Learn replaces, so that one statement can
	// be run from several goroutines.
	mu sync.Mutex
}

// learnable is the index question a statement leaves open, and with it whether the
// schema publishes viewer_objects.
type learnable struct {
	table              name
	objectCol, sortCol string
	key                string
}

// Select builds a read for one viewer from parts. The viewer's address is normalized
// with the configured domain aliases; the mode comes from Options or, per tenant, from
// Options.Modes with the tenant recorded by WithTenant.
func (b *Builder) Select(ctx context.Context, viewerEmail string, parts ...Part) *Stmt {
	s := &Stmt{b: b, tenant: TenantFrom(ctx), mode: b.modeFor(ctx)}
	for _, p := range parts {
		if p == nil {
			s.err = fmt.Errorf("%w: nil part", ErrStatement)
			return s
		}
		p.apply(&s.spec)
	}
	if s.viewer, s.err = b.viewer(viewerEmail); s.err != nil {
		return s
	}
	s.text, s.learn, s.err = b.build(s.viewer, &s.spec, s.mode)
	return s
}

// Learn looks up what the statement's shape depends on and the builder does not know
// yet: whether the table read has an index on (guarded column, first sort column),
// which lets a paged read of a viewer who sees few objects be driven from those
// objects, and whether the mirror publishes how many objects each viewer sees
// (viewer_objects), which chooses the shape without counting (see the package
// documentation). The answer is kept by the builder for all
// statements on that table for a few minutes, and the statement is rebuilt. Query and
// Collect call it; call it before ToSql to get the same SQL they run.
func (s *Stmt) Learn(ctx context.Context, db Querier) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.learn == nil {
		return s.err
	}
	t := &text{}
	t.sql("SELECT ")
	indexed(t, s.learn.table, s.learn.objectCol, s.learn.sortCol)
	// Whether the viewer's objects are counted: a schema a grantmirror before
	// viewer_objects migrated, or a role that may not read it, keeps the statement
	// that counts through the access view.
	t.sql(", coalesce(pg_catalog.has_table_privilege(pg_catalog.to_regclass(")
	t.val(s.b.counts.String())
	t.sql("), 'SELECT'), false)")
	sql, args := t.render(Dollar)
	var has, counted bool
	if err := db.QueryRow(ctx, sql, args...).Scan(&has, &counted); err != nil {
		return fmt.Errorf("look up the indexes of %s: %w", s.learn.table, err)
	}
	now := s.b.now()
	s.b.indexes.store(s.learn.key, has, now)
	s.b.indexes.store(s.b.countsKey(), counted, now)
	s.text, s.learn, s.err = s.b.build(s.viewer, &s.spec, s.mode)
	return s.err
}

// ToSql returns the statement with $n placeholders, ready for pgx.
func (s *Stmt) ToSql() (string, []any, error) {
	return s.Format(Dollar).ToSql()
}

// Format returns the statement rendered with another placeholder format: Question
// to nest it in a squirrel statement that renumbers placeholders itself.
func (s *Stmt) Format(f Format) Sqlizer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rendered{t: s.text, err: s.err, f: f}
}

// Mode reports the mode the statement was built in.
func (s *Stmt) Mode() Mode { return s.mode }

// Err reports the build error, if any.
func (s *Stmt) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

type rendered struct {
	t   *text
	err error
	f   Format
}

func (r rendered) ToSql() (string, []any, error) {
	if r.err != nil {
		return "", nil, r.err
	}
	sql, args := r.t.render(r.f)
	return sql, args, nil
}

// selected is one entry of the select list after masks are matched.
type selected struct {
	col  column
	mask *mask
}

// build writes the statement. Every part is validated whatever the mode, so a
// statement that builds in Off or Shadow also builds when a tenant switches to Enforce.
func (b *Builder) build(viewer string, s *spec, mode Mode) (*text, *learnable, error) {
	if len(s.from) != 1 {
		return nil, nil, fmt.Errorf("%w: want one From, got %d", ErrStatement, len(s.from))
	}
	from, err := parseTable(s.from[0])
	if err != nil {
		return nil, nil, fmt.Errorf("from: %w", err)
	}
	// A table read without an alias is given its own name as one, so that the guarded
	// subquery below can carry the same name as the table: columns are qualified with
	// the alias or the bare table name, never with the schema.
	if from.alias == nil {
		from.alias = name{from.table.last()}
	}
	list, err := selectList(s, from)
	if err != nil {
		return nil, nil, err
	}
	if len(s.checks) == 0 && !s.unguarded {
		return nil, nil, ErrNoGuard
	}
	items := make([]orderItem, len(s.orders))
	orders := make([]string, len(s.orders))
	for i, o := range s.orders {
		if items[i], err = parseOrderItem(o); err != nil {
			return nil, nil, fmt.Errorf("order by: %w", err)
		}
		orders[i] = items[i].text
	}
	if s.limit != nil && *s.limit < 0 || s.offset != nil && *s.offset < 0 {
		return nil, nil, fmt.Errorf("%w: negative LIMIT or OFFSET", ErrStatement)
	}

	t := &text{}
	e := newEnv(b, t, viewer, &from)
	sp, split := planSplit(s, from, list, items, mode)
	var pending *learnable
	if split {
		key := sp.key(from.table)
		has, stale := b.indexes.lookup(key, b.now())
		counted, countStale := false, false
		if b.ownAccess {
			counted, countStale = b.indexes.lookup(b.countsKey(), b.now())
		}
		if stale || countStale {
			pending = &learnable{table: from.table, objectCol: sp.objectCol, sortCol: sp.sortCol, key: key}
		}
		split, e.counted = has, counted
	}
	if split {
		if err := e.with(sp, s); err != nil {
			return nil, nil, err
		}
	}
	t.sql("SELECT ")
	for i, sel := range list {
		if i > 0 {
			t.sql(", ")
		}
		out := sel.col.alias
		if out == nil && sel.mask != nil {
			out = name{sel.col.ref.last()}
		}
		switch {
		case sel.mask == nil:
			t.sql(sel.col.ref.String())
		case mode == Enforce:
			if err := e.masked(sel.col.ref.String(), *sel.mask); err != nil {
				return nil, nil, err
			}
		case sel.mask.strategy.kind == maskNull:
			t.sql(sel.col.ref.String())
		default:
			t.sql("(" + sel.col.ref.String() + ")::text")
		}
		if out != nil {
			t.sql(" AS " + out.String())
		}
	}
	if mode != Enforce {
		// Masks are validated even where they are not applied.
		scratch := newEnv(b, &text{}, viewer, &from)
		for _, sel := range list {
			if sel.mask != nil {
				if err := scratch.masked(sel.col.ref.String(), *sel.mask); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	if mode == Shadow {
		t.sql(", ")
		if err := e.visible(s); err != nil {
			return nil, nil, err
		}
		t.sql(" AS visible")
	}
	// The guards live in a subquery of their own and the fragments filter its result
	// from outside, so even a fragment that got past the lexical checks could only
	// narrow what the guards admitted, never widen it.
	t.sql(" FROM ")
	switch {
	case split:
		// The fragments are applied inside each branch, before its LIMIT.
		if err := e.splitFrom(sp, s, strings.Join(orders, ", ")); err != nil {
			return nil, nil, err
		}
	case mode == Enforce && len(s.checks) > 0:
		t.sql("(SELECT * FROM " + from.String() + " WHERE ")
		e.fresh()
		for _, c := range s.checks {
			t.sql(" AND ")
			if err := e.check(c); err != nil {
				return nil, nil, err
			}
		}
		t.sql(") AS " + from.alias.String())
		if err := t.filters(s.wheres, " WHERE "); err != nil {
			return nil, nil, err
		}
	default:
		t.sql(from.String())
		if err := t.filters(s.wheres, " WHERE "); err != nil {
			return nil, nil, err
		}
	}
	if mode == Off {
		scratch := newEnv(b, &text{}, viewer, &from)
		for _, c := range s.checks {
			if err := scratch.check(c); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(orders) > 0 {
		t.sql(" ORDER BY " + strings.Join(orders, ", "))
	}
	// LIMIT and OFFSET are written as numbers, not parameters: they are integers, so
	// nothing can be spliced through them, and a generic plan of a prepared statement
	// would otherwise assume a LIMIT of a tenth of the table, pick a plan for reading
	// that much and, past jit_above_cost, compile it at every execution.
	if s.limit != nil {
		t.sql(" LIMIT ")
		t.sql(strconv.FormatInt(*s.limit, 10))
	}
	if s.offset != nil {
		t.sql(" OFFSET ")
		t.sql(strconv.FormatInt(*s.offset, 10))
	}
	return t, pending, nil
}

// visible writes what Enforce would filter on, as a boolean: fresh and every check.
func (e *env) visible(s *spec) error {
	if len(s.checks) == 0 {
		e.t.sql("true")
		return nil
	}
	e.t.sql("(")
	e.fresh()
	for _, c := range s.checks {
		e.t.sql(" AND ")
		if err := e.check(c); err != nil {
			return err
		}
	}
	e.t.sql(")")
	return nil
}

// selectList parses Columns and matches every mask to the column it masks; masks of
// columns not listed are appended, unless they are optional.
func selectList(s *spec, from tableRef) ([]selected, error) {
	var list []selected
	for _, c := range s.columns {
		col, err := parseColumn(c)
		if err != nil {
			return nil, fmt.Errorf("columns: %w", err)
		}
		list = append(list, selected{col: col})
	}
	qualify := func(n name) name {
		if len(n) == 1 {
			return append(append(name{}, from.qualifier()...), n...)
		}
		return n
	}
	// Explicit masks go first so they win over masks loaded for the same column.
	masks := make([]mask, 0, len(s.masks))
	for _, m := range s.masks {
		if !m.optional {
			masks = append(masks, m)
		}
	}
	for _, m := range s.masks {
		if m.optional {
			masks = append(masks, m)
		}
	}
	for i := range masks {
		m := &masks[i]
		ref, err := fullName(m.column, 1, 3)
		if err != nil {
			return nil, fmt.Errorf("mask: %w", err)
		}
		found := false
		for j := range list {
			if !qualify(list[j].col.ref).equal(qualify(ref)) {
				continue
			}
			found = true
			if list[j].mask != nil {
				if !m.optional && !list[j].mask.optional {
					return nil, fmt.Errorf("%w: column %s is masked twice", ErrStatement, ref)
				}
				continue
			}
			list[j].mask = m
		}
		if !found && !m.optional {
			list = append(list, selected{col: column{ref: ref}, mask: m})
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: no column selected", ErrStatement)
	}
	return list, nil
}

// Cond is a guard condition for a statement built elsewhere (squirrel, hand-written
// SQL). Its columns must be qualified, since the builder does not see the FROM.
type Cond struct {
	text *text
	err  error
}

// Visible returns the raw visibility condition for a viewer: the mirror is fresh and
// every check holds. It ignores the mode; use Filter to honour it.
func (b *Builder) Visible(ctx context.Context, viewerEmail string, checks ...Check) *Cond {
	return b.cond(viewerEmail, checks, true)
}

// Filter returns the condition a WHERE clause needs in the context's mode: the
// visibility condition under Enforce, true under Shadow and Off.
func (b *Builder) Filter(ctx context.Context, viewerEmail string, checks ...Check) *Cond {
	return b.cond(viewerEmail, checks, b.modeFor(ctx) == Enforce)
}

func (b *Builder) cond(viewerEmail string, checks []Check, enforce bool) *Cond {
	viewer, err := b.viewer(viewerEmail)
	if err != nil {
		return &Cond{err: err}
	}
	if len(checks) == 0 {
		return &Cond{err: ErrNoGuard}
	}
	t := &text{}
	e := newEnv(b, t, viewer, nil)
	if err := e.visible(&spec{checks: checks}); err != nil {
		return &Cond{err: err}
	}
	if !enforce {
		t = &text{}
		t.sql("true")
	}
	return &Cond{text: t}
}

// ToSql returns the condition with ? placeholders, the form squirrel nests.
func (c *Cond) ToSql() (string, []any, error) {
	return c.Format(Question).ToSql()
}

// Format returns the condition rendered with another placeholder format.
func (c *Cond) Format(f Format) Sqlizer {
	return rendered{t: c.text, err: c.err, f: f}
}

// IsBuildError reports whether err is one of the errors a statement reports when it
// cannot be built, as opposed to an error from the database.
func IsBuildError(err error) bool {
	for _, s := range []error{ErrIdentifier, ErrObjectType, ErrPrivilege, ErrViewer, ErrNoGuard,
		ErrPlaceholder, ErrFragment, ErrNoHashKey, ErrStatement} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
