package query

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// SparseObjects is the most objects a viewer may see through a paged read's leading
// Guard for the read to be driven from those objects rather than from the data
// table's sort order. A paged read driven from the sort order inspects about
// page ÷ visibility rows, one mirror probe each; one driven from the objects costs two
// index descents per object and reads about a page of rows. With 10,000 objects of
// 100 rows the two cost the same near 700 visible objects; 500 keeps the sparse side
// on the safe side of that for smaller tables too.
const SparseObjects = 500

// HashedObjects is the most objects a viewer may see for the probing branch of a
// paged read to test each row against a hashed set of those objects, built once per
// execution, rather than probe the mirror's index per row. Building the set costs
// about half a µs per object and a probe a fraction of one; an index probe costs a
// few µs. A dense viewer's page passes about page ÷ visibility rows, so the set pays
// off while it is small next to what it saves; past a few thousand objects the page
// passes few rows and the probe is cheaper. The choice needs the published count
// (viewer_objects): without it the statement probes.
const HashedObjects = 4000

// split is what a paged read needs to choose between its two shapes at execution
// time (see build): the Guard whose objects drive the sparse shape, and the data
// table's sort column that an index on (object column, sort column) orders.
type split struct {
	driver    Check
	driverAt  int // the driver's place among the statement's checks
	others    []Check
	objectCol string // the driver's column, unqualified
	sortCol   string // the first ORDER BY column, unqualified
	desc      bool
	// paged is set for a read with ORDER BY and LIMIT; window is then LIMIT + OFFSET,
	// how many rows each branch must produce. An unpaged read needs only the index's
	// first key and reads each object's rows whole.
	paged  bool
	window int64
}

// planSplit decides whether a statement can carry the sparse shape: enforced, with a
// Guard on a plain column among its top-level checks and, when paged (ORDER BY and
// LIMIT), every ORDER BY item a column of the table rather than a name from the
// select list (the branches sort before the select list exists). A read without ORDER
// BY or without LIMIT is split unpaged: its ORDER BY, LIMIT and OFFSET apply to the
// union of the branches.
func planSplit(s *spec, from tableRef, list []selected, orders []orderItem, mode Mode) (*split, bool) {
	if mode != Enforce {
		return nil, false
	}
	sp := &split{}
	if s.limit != nil && len(orders) > 0 {
		window := *s.limit
		if s.offset != nil {
			if *s.offset > math.MaxInt64-window {
				return nil, false
			}
			window += *s.offset
		}
		sp.paged, sp.window, sp.desc = true, window, orders[0].desc
	}
	found := false
	for i, c := range s.checks {
		if !found && c.kind == checkColumn && len(c.columns) == 1 {
			col, ok := tableColumn(c.columns[0], from)
			if ok {
				sp.driver, sp.driverAt, sp.objectCol, found = c, i, col, true
				continue
			}
		}
		sp.others = append(sp.others, c)
	}
	if !found {
		return nil, false
	}
	if !sp.paged {
		return sp, true
	}
	outputs := map[string]bool{}
	for _, sel := range list {
		switch {
		case sel.col.alias != nil:
			outputs[sel.col.alias.last()] = true
		case sel.mask != nil:
			outputs[sel.col.ref.last()] = true
		}
	}
	for i, o := range orders {
		if len(o.ref) == 1 && outputs[o.ref.last()] {
			return nil, false
		}
		if len(o.ref) > 2 || len(o.ref) == 2 && !name(o.ref[:1]).equal(from.alias) {
			return nil, false
		}
		if i == 0 {
			sp.sortCol = o.ref.last()
		}
	}
	return sp, true
}

// indexed writes the condition that table has a valid, non-partial btree index whose
// first key is objectCol, a text or varchar column, under the column's own collation,
// and, when sortCol is given, whose second key is sortCol, a NOT NULL column: what the
// sparse shape needs to be fast (the index) and right (no NULL sort keys, which the
// bound would not order).
func indexed(t *text, table name, objectCol, sortCol string) {
	p := reservedPrefix
	// 403 is the btree access method, whose OID is fixed in pg_am; 25 and 1043 are
	// text and varchar, the types whose equality with the mirror's text the index
	// can serve.
	t.sql("EXISTS (SELECT 1 FROM pg_catalog.pg_index " + p + "i" +
		" JOIN pg_catalog.pg_class " + p + "ic ON " + p + "ic.oid = " + p + "i.indexrelid" +
		" JOIN pg_catalog.pg_attribute " + p + "io ON " + p + "io.attrelid = " + p + "i.indrelid AND " + p + "io.attnum = " + p + "i.indkey[0]")
	if sortCol != "" {
		t.sql(" JOIN pg_catalog.pg_attribute " + p + "ik ON " + p + "ik.attrelid = " + p + "i.indrelid AND " + p + "ik.attnum = " + p + "i.indkey[1]")
	}
	t.sql(" WHERE " + p + "i.indrelid = pg_catalog.to_regclass(")
	t.val(table.String())
	t.sql(") AND " + p + "ic.relam = 403 AND " + p + "i.indisvalid AND " + p + "i.indpred IS NULL AND " + p + "io.attname = ")
	t.val(objectCol)
	t.sql(" AND " + p + "io.atttypid IN (25, 1043) AND " + p + "i.indcollation[0] = " + p + "io.attcollation")
	if sortCol != "" {
		t.sql(" AND " + p + "i.indnkeyatts >= 2 AND " + p + "ik.attname = ")
		t.val(sortCol)
		t.sql(" AND " + p + "ik.attnotnull")
	}
	t.sql(")")
}

// learnTTL is how long a builder trusts what it learned about a table's indexes
// before Stmt.Learn looks again. The statement checks the index again at every
// execution anyway; what is learned decides only whether the sparse branch is
// written at all.
const learnTTL = 5 * time.Minute

// indexKnowledge is what a builder learned about tables' indexes, by table, object
// column and sort column.
type indexKnowledge struct {
	mu sync.Mutex
	m  map[string]learned
}

type learned struct {
	has bool
	at  time.Time
}

// countsKey is where the builder keeps whether its schema's viewer_objects can be read.
func (b *Builder) countsKey() string { return "\x00" + b.counts.String() }

func (sp *split) key(table name) string {
	return table.String() + "\x00" + sp.objectCol + "\x00" + sp.sortCol
}

// lookup says whether the index is known to exist, and whether it must be looked up
// (never seen, or seen longer ago than learnTTL).
func (k *indexKnowledge) lookup(key string, now time.Time) (has, stale bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.m[key]
	return l.has, !ok || now.Sub(l.at) > learnTTL
}

func (k *indexKnowledge) store(key string, has bool, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]learned{}
	}
	k.m[key] = learned{has: has, at: now}
}

// tableColumn returns the bare name of a column reference to the statement's table.
func tableColumn(ref string, from tableRef) (string, bool) {
	n, err := fullName(ref, 1, 2)
	if err != nil {
		return "", false
	}
	if len(n) == 2 && !name(n[:1]).equal(from.alias) {
		return "", false
	}
	return n.last(), true
}

// with writes the prefix of a split statement. gm__r holds the objects row access
// policies deny the viewer (see denied). gm__o reads the viewer's first
// SparseObjects+1 entries of the mirror through the driving Guard, one index range
// scan of the mirror that both decides the shape and, for a sparse viewer, lists the
// objects. gm__s decides once per execution whether the read is sparse: the viewer
// sees at most SparseObjects objects, and the data table has a valid btree index on
// (object column, sort column) with the object column's own collation and a NOT NULL
// sort column (looked up only when the count allows the sparse shape). gm__v lists
// the viewer's objects when it is sparse, while the mirror is fresh, without those a
// row access policy denies the viewer. With the published count, gm__n holds it, a
// viewer counted dense is not listed, and gm__s also says whether the probing branch
// hashes the viewer's objects (hashed). All are materialized, so each is computed once
// however often the branches read them.
func (e *env) with(sp *split, s *spec) error {
	objectType, priv, err := e.b.kind(sp.driver.objectType, sp.driver.privilege)
	if err != nil {
		return err
	}
	p := reservedPrefix
	e.t.sql("WITH " + p + "r AS MATERIALIZED (SELECT ")
	e.denied()
	e.t.sql(" AS objects), ")
	e.deniedCTE = true
	sparse := strconv.Itoa(SparseObjects)
	if e.counted {
		n := e.alias("n")
		e.t.sql(p + "n AS MATERIALIZED (SELECT (SELECT sum(" + n + ".objects) FROM " + e.b.counts.String() + " " + n + " WHERE ")
		e.viewerHolds(n, objectType, priv)
		e.t.sql(") AS objects), ")
	}
	a := e.alias("a")
	e.t.sql(p + "o AS MATERIALIZED (SELECT " + a + ".object_name FROM " + e.b.access.String() + " " + a + " WHERE ")
	e.viewerHolds(a, objectType, priv)
	// A viewer counted dense skips the listing: a one-time filter.
	known := "coalesce((SELECT " + p + "n.objects FROM " + p + "n) <= " + sparse + ", true)"
	if e.counted {
		e.t.sql(" AND " + known)
	}
	e.t.sql(" LIMIT " + strconv.Itoa(SparseObjects+1) + "), ")
	e.t.sql(p + "s AS MATERIALIZED (SELECT (SELECT count(*) FROM " + p + "o) <= " + sparse)
	if e.counted {
		e.t.sql(" AND " + known)
	}
	e.t.sql(" AND ")
	indexed(e.t, e.from.table, sp.objectCol, sp.sortCol)
	e.t.sql(" AS sparse")
	if e.counted {
		// Read by the probing branch alone, which runs only when sparse is false.
		e.t.sql(", coalesce((SELECT " + p + "n.objects FROM " + p + "n) <= " + strconv.Itoa(HashedObjects) + ", false) AS hashed")
	}
	e.t.sql("), " + p + "v AS MATERIALIZED (SELECT DISTINCT " + p + "o.object_name FROM " + p + "o WHERE " +
		p + "o.object_name <> ALL(")
	e.denied()
	e.t.sql(") AND (SELECT " + p + "s.sparse FROM " + p + "s) AND ")
	e.fresh()
	e.t.sql(")")
	if !sp.paged {
		e.t.sql(" ")
		return nil
	}
	e.t.sql(", ")
	return e.bound(sp, s)
}

// bound writes gm__k and gm__t. gm__k holds the best ceil(window / objects) sort keys
// of each of the viewer's objects, best first, one short index descent per object (an
// index-only scan when the table's visibility map allows). gm__t is the sort key that
// no row of the answer sorts after: the window-th best key of gm__k. Any set of the
// objects' keys that holds at least window of them gives a key no later than it, so
// this is exact; only when gm__k holds fewer than window keys (some objects have fewer
// rows than their share) is it read from up to window keys of each object. gm__k also
// says which objects can hold a row of the answer: those whose best key sorts no later
// than gm__t, about window of them however many objects the viewer sees (see
// sparseObjects). Computing both here, once, rather than as subqueries of the sparse
// branch also keeps the planner from charging them once per object, which would
// inflate the statement's estimated cost past jit_above_cost.
func (e *env) bound(sp *split, s *spec) error {
	p := reservedPrefix
	alias := e.from.alias.String()
	sortKey := alias + "." + quoteIdent(sp.sortCol)
	best, dir := "min", " DESC"
	if !sp.desc {
		best, dir = "max", ""
	}
	window := strconv.FormatInt(sp.window, 10)
	// keys writes the best keys of each object, perObject of them, best first, with
	// the object's name.
	keys := func(perObject string) error {
		e.t.sql("SELECT " + p + "v.object_name, " + p + "p.k FROM " + p + "v CROSS JOIN LATERAL (SELECT " + sortKey + " AS k FROM ")
		if err := e.perObject(sp, s, p+"v"); err != nil {
			return err
		}
		e.t.sql(" ORDER BY " + sortKey + dir + " LIMIT " + perObject + ") AS " + p + "p")
		return nil
	}
	e.t.sql(p + "k AS MATERIALIZED (")
	if err := keys("(SELECT (" + window + " + count(*) - 1) / greatest(count(*), 1) FROM " + p + "v)"); err != nil {
		return err
	}
	e.t.sql("), " + p + "t AS MATERIALIZED (SELECT coalesce((SELECT " + p + "k.k FROM " + p + "k ORDER BY " + p + "k.k" + dir +
		" OFFSET " + strconv.FormatInt(sp.window-1, 10) + " LIMIT 1), (SELECT " + best + "(" + p + "q.k) FROM (SELECT " + p + "w.k FROM (")
	if err := keys(window); err != nil {
		return err
	}
	e.t.sql(") AS " + p + "w ORDER BY " + p + "w.k" + dir + " LIMIT " + window + ") AS " + p + "q)) AS k) ")
	return nil
}

// sparseObjects writes the objects a paged sparse read reads rows of: those of gm__k
// whose best key sorts no later than the bound. An object whose best key sorts after
// it holds no row of the answer, and an object without a key in gm__k has no row at
// all, since gm__k reads every object's best keys first.
func (e *env) sparseObjects(sp *split) {
	p := reservedPrefix
	cmp := " >= "
	if !sp.desc {
		cmp = " <= "
	}
	e.t.sql("(SELECT DISTINCT " + p + "k.object_name FROM " + p + "k WHERE " + p + "k.k" + cmp + "(SELECT " + p + "t.k FROM " + p + "t)) AS " + p + "w")
}

// perObject writes the table restricted to the object of gm__v row v and to the other
// checks, with the fragments applied. The object column is compared twice: under its
// own collation (textin(textout(…)) gives the mirror's name the database default,
// which yields to the column's) so the index on it serves the comparison, and
// bytewise, so that a nondeterministic collation cannot admit a name the mirror does
// not hold.
func (e *env) perObject(sp *split, s *spec, v string) error {
	alias := e.from.alias.String()
	col := alias + "." + quoteIdent(sp.objectCol)
	e.t.sql("(SELECT * FROM " + e.from.String() + " WHERE " + col + " = textin(textout(" + v + ".object_name)) AND " +
		col + ` COLLATE "C" = ` + v + ".object_name")
	for _, c := range sp.others {
		e.t.sql(" AND ")
		if err := e.check(c); err != nil {
			return err
		}
	}
	e.t.sql(") AS " + alias)
	return e.t.filters(s.wheres, " WHERE ")
}

// splitFrom writes the FROM item of a split statement: the sparse branch UNION ALL
// the dense one, each producing the first window rows of its answer when paged (every
// row of it when not), exactly one of them switched on by gm__s through one-time
// filters, so the statement is planned once and prepared once whatever the viewer.
//
// The sparse branch reads, object by object, the rows of the object; when paged, only
// those that sort no later than the bound gm__t, and with the published count only
// from the objects whose best key reaches it (sparseObjects).
//
// The dense branch is the plain shape: the table (in sort order when paged), every row
// probed in the mirror.
func (e *env) splitFrom(sp *split, s *spec, orders string) error {
	p := reservedPrefix
	alias := e.from.alias.String()
	window := func() {
		if sp.paged {
			e.t.sql(" ORDER BY " + orders + " LIMIT ")
			e.t.sql(strconv.FormatInt(sp.window, 10))
		}
	}
	objects := p + "w"
	if sp.paged && !e.counted {
		// Without the published count the rows are read from every object: reading
		// them from gm__k's objects (sparseObjects) lowered the estimates of the
		// viewers' custom plans below the generic plan's, and Postgres's plan cache
		// then planned the statement at every execution (2–6 ms a page, measured).
		objects = p + "v"
		e.t.sql("((SELECT " + alias + ".* FROM " + objects + " CROSS JOIN LATERAL (SELECT * FROM ")
	} else if sp.paged {
		e.t.sql("((SELECT " + alias + ".* FROM ")
		e.sparseObjects(sp)
		e.t.sql(" CROSS JOIN LATERAL (SELECT * FROM ")
	} else {
		// The planner estimates an unnested array of unknown length at 10 elements,
		// where it estimates gm__v at the mirror's average per viewer: this keeps the
		// sparse branch's estimated cost, which it adds to the dense branch's, from
		// passing jit_above_cost and compiling every execution of a full read.
		objects = p + "u"
		e.t.sql("((SELECT " + alias + ".* FROM unnest(ARRAY(SELECT " + p + "v.object_name FROM " + p + "v)) AS " +
			objects + "(object_name) CROSS JOIN LATERAL (SELECT * FROM ")
	}
	if err := e.perObject(sp, s, objects); err != nil {
		return err
	}
	if !sp.paged {
		// OFFSET 0 keeps the planner from pulling the per-object read up into a join
		// with gm__v, which it would plan as a hash join over the whole table.
		e.t.sql(" OFFSET 0")
	}
	if sp.paged {
		if len(s.wheres) == 0 {
			e.t.sql(" WHERE ")
		} else {
			e.t.sql(" AND ")
		}
		cmp := " >= "
		if !sp.desc {
			cmp = " <= "
		}
		e.t.sql(alias + "." + quoteIdent(sp.sortCol) + cmp + "(SELECT " + p + "t.k FROM " + p + "t)")
	}
	window()
	e.t.sql(") AS " + alias + ") UNION ALL (SELECT * FROM ")
	if !sp.paged {
		e.t.sql("(SELECT * FROM ")
	}
	e.t.sql("(SELECT * FROM " + e.from.String() + " WHERE ")
	if sp.paged {
		e.t.sql("NOT (SELECT " + p + "s.sparse FROM " + p + "s) AND ")
	}
	e.fresh()
	for i, c := range s.checks {
		e.t.sql(" AND ")
		var err error
		if sp.paged && e.counted && i == sp.driverAt {
			err = e.hashedOrProbe(c)
		} else {
			err = e.check(c)
		}
		if err != nil {
			return err
		}
	}
	e.t.sql(") AS " + alias)
	if err := e.t.filters(s.wheres, " WHERE "); err != nil {
		return err
	}
	window()
	if !sp.paged {
		// The switch sits outside a subquery that OFFSET 0 keeps whole, so it gates
		// the branch from above: a full read's dense branch may run in parallel
		// workers, and a Gather starts them before a one-time filter below it runs
		// (10 ms of a sparse viewer's 2 ms read).
		e.t.sql(" OFFSET 0) AS " + alias + " WHERE NOT (SELECT " + p + "s.sparse FROM " + p + "s))) AS " + alias)
		return nil
	}
	e.t.sql(")) AS " + alias)
	return nil
}
