package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
)

// pagedWorld is a data table of rows spread over objects, read by viewers who see
// from none to most of the objects, some through local grants, some with near misses
// (another privilege, another object type), with the answer computed in Go.
type pagedWorld struct {
	objects int
	visible map[string]map[string]bool // viewer → object names admitted
}

func objectName(o int) string { return fmt.Sprintf("DB.S.T%d", o) }

// loadPaged creates three copies of the same rows: data with an index on (object_name,
// id), data_bare with none, and data_null whose sort column may be NULL; a second
// sort column ts repeats values so that ties are broken by id. data_skew holds the
// same rows, indexed like data, with nine in ten of them on 20 objects, so that most
// objects have fewer rows than a page and a few hold nearly all of them.
func loadPaged(t *testing.T, f *fixture, rows, objects int, viewers map[string]int) pagedWorld {
	t.Helper()
	w := pagedWorld{objects: objects, visible: map[string]map[string]bool{}}
	for _, table := range []string{"data", "data_bare", "data_null"} {
		idType := "bigint NOT NULL"
		if table == "data_null" {
			idType = "bigint"
		}
		f.exec(`CREATE TABLE ` + table + ` (pk bigserial PRIMARY KEY, id ` + idType + `, ts int NOT NULL, object_name text NOT NULL, note text)`)
		f.exec(`INSERT INTO `+table+` (id, ts, object_name, note)
			SELECT g, g / 7, 'DB.S.T' || ((g * 7919) % $2), 'row ' || g FROM generate_series(1, $1) g`, rows, objects)
	}
	f.exec(`CREATE TABLE data_skew (LIKE data INCLUDING ALL)`)
	f.exec(`INSERT INTO data_skew (id, ts, object_name, note)
		SELECT id, ts, CASE WHEN id % 10 < 9 THEN 'DB.S.T' || ((id * 7919) % 20) ELSE object_name END, note FROM data`)
	f.exec(`CREATE INDEX data_skew_object_id ON data_skew (object_name, id)`)
	f.exec(`CREATE INDEX data_id ON data (id)`)
	f.exec(`CREATE INDEX data_null_id ON data_null (id)`)
	f.exec(`CREATE INDEX data_object_id ON data (object_name, id)`)
	f.exec(`CREATE INDEX data_object_ts ON data (object_name, ts)`)
	f.exec(`CREATE INDEX data_null_object_id ON data_null (object_name, id)`)
	f.exec(`UPDATE data_null SET id = NULL WHERE pk % 5 = 0`)
	r := rand.New(rand.NewPCG(1, 2))
	var gs []grant
	for v, n := range viewers {
		w.visible[v] = map[string]bool{}
		for _, o := range r.Perm(objects)[:n] {
			w.visible[v][objectName(o)] = true
			if o%9 == 0 {
				f.localGrant(grant{"ACME", v, "TABLE", objectName(o), "SELECT"})
				// The same object in the mirror too: the view lists it twice.
				if o%2 == 0 {
					gs = append(gs, grant{"ACME", v, "TABLE", objectName(o), "SELECT"})
				}
				continue
			}
			gs = append(gs, grant{"ACME", v, "TABLE", objectName(o), "SELECT"})
		}
		// Near misses admit nothing.
		for _, o := range r.Perm(objects)[:n/2+1] {
			if !w.visible[v][objectName(o)] {
				gs = append(gs, grant{"ACME", v, "TABLE", objectName(o), "INSERT"},
					grant{"ACME", v, "VIEW", objectName(o), "SELECT"})
			}
		}
	}
	f.grant(gs...)
	for _, table := range []string{"data", "data_bare", "data_null", "data_skew", "access_1", "local_grants"} {
		f.exec(`VACUUM ANALYZE ` + table)
	}
	return w
}

func (w pagedWorld) names(viewer string) []string {
	out := []string{}
	for n := range w.visible[viewer] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestPagedShapesMatchReference reads pages, and whole tables, through the builder in
// every shape — sparse viewers driven from their objects, dense viewers probing the
// mirror, tables without the index or with a nullable sort column, skewed objects,
// both sort directions, offsets, fragments,
// an extra check, row access policies that admit some viewers and deny others — and
// compares each page, rows and order, with the same read unguarded and filtered by the
// objects the test knows the viewer holds and is admitted to.
func TestPagedShapesMatchReference(t *testing.T) {
	t.Parallel()
	f := setup(t)
	viewers := map[string]int{"none@example.com": 0, "one@example.com": 1, "few@example.com": 12,
		"some@example.com": 120, "edge@example.com": SparseObjects - 20, "many@example.com": SparseObjects + 150}
	w := loadPaged(t, f, 12_000, 800, viewers)
	f.grant(grant{"ACME", "some@example.com", "DATABASE", "DB", "USAGE"}, grant{"ACME", "many@example.com", "DATABASE", "DB", "USAGE"})
	// Row access policies: objects ending in 3 admit the role STEWARD and
	// one@example.com, those ending in 7 were not translated and deny, those ending
	// in 5 were not translated and allow.
	f.exec(`INSERT INTO masked_1 SELECT 'ACME', 'DB.S.T' || o, '', 'row access policy GOV.P.R' || o % 10,
		CASE o % 10 WHEN 3 THEN '{"kind":"row_access","translated":true,"roles":["STEWARD"],"emails":["one@example.com"]}'
		WHEN 7 THEN '{"kind":"row_access","translated":false,"fallback":"deny"}'
		ELSE '{"kind":"row_access","translated":false,"fallback":"allow"}' END
		FROM generate_series(0, $1 - 1) o WHERE o % 10 IN (3, 5, 7)`, w.objects)
	f.member("ACME", "some@example.com", "STEWARD")
	f.member("ACME", "many@example.com", "STEWARD")
	f.member("OTHER", "edge@example.com", "STEWARD") // another account's role admits nothing
	admitted := func(v string) []string {
		return slices.DeleteFunc(w.names(v), func(n string) bool {
			switch n[len(n)-1] {
			case '7':
				return true
			case '3':
				return v != "some@example.com" && v != "many@example.com" && v != "one@example.com"
			}
			return false
		})
	}
	ctx := context.Background()

	type read struct {
		table  string
		orders []string
		where  []Part
		limit  int64
		offset int64
		extra  bool
	}
	reads := []read{
		{"data", []string{"d.id DESC"}, nil, 50, 0, false},
		{"data", []string{"id"}, nil, 50, 0, false},
		{"data", []string{"d.id DESC"}, nil, 1, 0, false},
		{"data", []string{"d.id DESC"}, nil, 10, 37, false},
		{"data", []string{"d.id DESC"}, []Part{Where("d.id % 3 <> ?", 0), Where("d.note LIKE 'row %'")}, 50, 5, false},
		{"data", []string{"d.ts DESC", "d.id DESC"}, nil, 50, 0, false},
		{"data", []string{"d.ts", "d.id DESC"}, []Part{Where("d.ts > ?", 100)}, 20, 3, false},
		{"data", []string{"d.id DESC"}, nil, 50, 0, true},
		{"data_skew", []string{"d.id DESC"}, nil, 50, 0, false},
		{"data_skew", []string{"d.id"}, nil, 50, 10, false},
		{"data_bare", []string{"d.id DESC"}, nil, 50, 0, false},
		// Unpaged: every visible row, in order or not, and a LIMIT without ORDER BY.
		{"data", []string{"d.id"}, nil, 0, 0, false},
		{"data", nil, []Part{Where("d.id % 3 <> ?", 0)}, 0, 0, false},
		{"data", nil, nil, 0, 0, true},
		{"data_skew", []string{"d.ts DESC", "d.id"}, nil, 0, 0, false},
		{"data_bare", []string{"d.id"}, nil, 0, 0, false},
		{"data_null", nil, nil, 0, 0, false},
		{"data_null", []string{"d.id DESC", "d.pk"}, nil, 50, 0, false},
		{"data_null", []string{"d.id NULLS LAST", "d.pk"}, nil, 30, 4, false},
	}
	// The reads run without published counts, with exact ones, and with wrong ones:
	// a dense viewer counted sparse, a sparse one counted past HashedObjects, one not
	// counted at all, one counted in the hashed range but sparse.
	wrong := map[string]int64{"many@example.com": 3, "few@example.com": HashedObjects + 1,
		"edge@example.com": 0, "some@example.com": SparseObjects + 1}
	checked := 0
	for _, counts := range []string{"none", "exact", "wrong"} {
		switch counts {
		case "exact":
			f.publishCounts(nil)
		case "wrong":
			f.publishCounts(wrong)
		}
		b := f.builder(f.options())
		for v := range viewers {
			for _, rd := range reads {
				common := []Part{From(rd.table + " d"), Columns("d.pk", "d.id", "d.object_name"), OrderBy(rd.orders...)}
				if rd.limit > 0 {
					common = append(common, Limit(rd.limit), Offset(rd.offset))
				}
				common = append(common, rd.where...)
				guarded := append(slices.Clone(common), Guard("TABLE", "d.object_name", "SELECT"))
				reference := append(slices.Clone(common), Unguarded(), Where("d.object_name IN (SELECT unnest(?::text[]))", admitted(v)))
				if rd.extra {
					guarded = append(guarded, GuardObject("DATABASE", "db", "USAGE"))
					if v != "some@example.com" && v != "many@example.com" {
						reference = append(reference, Where("false"))
					}
				}
				got := f.ids(b.Select(ctx, v, guarded...))
				want := f.ids(b.Select(ctx, v, reference...))
				if len(rd.orders) == 0 {
					// Without ORDER BY only the set of rows is defined.
					slices.Sort(got)
					slices.Sort(want)
				}
				require.Equal(t, want, got, "%s reading %s ordered by %v, limit %d offset %d, counts %s", v, rd.table, rd.orders, rd.limit, rd.offset, counts)
				if len(want) > 0 {
					checked++
				}
			}
		}
	}
	require.Greater(t, checked, len(reads)*9, "too few reads returned rows to prove anything")

	// A stale mirror admits nothing in either shape.
	stale := f.options()
	stale.Now = func() time.Time { return f.published.Add(10 * time.Hour) }
	for _, v := range []string{"few@example.com", "many@example.com"} {
		require.Empty(t, f.ids(f.builder(stale).Select(ctx, v, From("data d"), Columns("d.pk"),
			Guard("TABLE", "d.object_name", "SELECT"), OrderBy("d.id DESC"), Limit(50))), v)
	}
}

// executed returns, for each relation and index the plan reads, how many times the
// scan ran, from EXPLAIN (ANALYZE, FORMAT JSON): a scan never executed has 0 loops.
func executed(t *testing.T, f *fixture, s *Stmt) map[string]int {
	t.Helper()
	require.NoError(t, s.Learn(f.ctx, f.db))
	sql, args, err := s.ToSql()
	require.NoError(t, err)
	var raw []byte
	require.NoError(t, f.db.QueryRow(f.ctx, "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) "+sql, args...).Scan(&raw))
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal(raw, &plans))
	out := map[string]int{}
	plans[0].Plan.walk(func(n planNode) {
		if n.Relation != "" || n.Index != "" {
			out[n.NodeType+" "+n.Relation+" "+n.Index] += n.Loops
		}
	})
	return out
}

// TestPagedShapesExplain pins which branch runs: a sparse viewer's page reads the data
// table only through the (object_name, id) index, once per visible object and the mirror
// once per statement, never the table in id order and never a mirror probe per row; a
// dense viewer's page, or any page of a table without that index, is the id-ordered
// scan with a probe per row, and the sparse branch does not run.
func TestPagedShapesExplain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	viewers := map[string]int{"few@example.com": 10, "many@example.com": SparseObjects + 300}
	loadPaged(t, f, 40_000, 1200, viewers)
	// A row access policy on every twelfth object, admitting a role nobody holds.
	f.exec(`INSERT INTO masked_1 SELECT 'ACME', 'DB.S.T' || o, '', 'row access policy GOV.P.ROWS',
		'{"kind":"row_access","policy":"GOV.P.ROWS","translated":true,"roles":["AUDITOR"]}' FROM generate_series(0, 1199, 12) o`)
	f.exec(`ANALYZE masked_1`)
	b := f.builder(f.options())
	ctx := context.Background()
	page := func(v, table string) map[string]int {
		return executed(t, f, b.Select(ctx, v, From(table+" d"), Columns("d.pk", "d.id"),
			Guard("TABLE", "d.object_name", "SELECT"), OrderBy("d.id DESC"), Limit(50)))
	}
	sum := func(m map[string]int, match func(string) bool) int {
		n := 0
		for k, v := range m {
			if match(k) {
				n += v
			}
		}
		return n
	}
	has := func(sub string) func(string) bool {
		return func(k string) bool { return strings.Contains(k, sub) }
	}

	sparse := page("few@example.com", "data")
	// Two index scans per visible object (the bound, then the rows), in whatever form
	// the planner picks for a table this small, and never the table in id order.
	perObject := sum(sparse, has("data_object_"))
	require.GreaterOrEqual(t, perObject, 20, "%v", sparse)
	require.LessOrEqual(t, perObject, 40, "%v", sparse)
	require.Zero(t, sum(sparse, has("data_id")), "%v", sparse)
	require.Zero(t, sum(sparse, has("Seq Scan data ")), "%v", sparse)
	// The mirror and its local-grant branch are read once (gm__o counts and lists the
	// objects), not per row.
	require.Equal(t, 1, sum(sparse, has("access_1_key")), "%v", sparse)
	require.LessOrEqual(t, sum(sparse, has("local_grants")), 1, "%v", sparse)
	// Row access policies are read once per statement, not per object or row.
	require.Equal(t, 1, sum(sparse, has("masked_1")), "%v", sparse)
	// A second check, applied per object inside the sparse branch, reads what the
	// statement computed once.
	f.grant(grant{"ACME", "few@example.com", "DATABASE", "DB", "USAGE"})
	second := executed(t, f, b.Select(ctx, "few@example.com", From("data d"), Columns("d.pk", "d.id"),
		Guard("TABLE", "d.object_name", "SELECT"), GuardObject("DATABASE", "db", "USAGE"), OrderBy("d.id DESC"), Limit(50)))
	require.Greater(t, sum(second, has("data_object_")), 0, "%v", second)
	require.Equal(t, 1, sum(second, has("masked_1")), "%v", second)

	dense := page("many@example.com", "data")
	require.Zero(t, sum(dense, has("data_object_id")), "the sparse branch must not run: %v", dense)
	require.Greater(t, sum(dense, has("Index Scan data data_id")), 0, "the table is read in id order: %v", dense)
	require.Greater(t, sum(dense, has("access_1")), 50, "a probe per row read: %v", dense)
	require.Equal(t, 1, sum(dense, has("masked_1")), "row access policies once per statement: %v", dense)
	// The plain shape reads them once per guard, however it decides rows.
	plain := executed(t, f, b.Select(ctx, "many@example.com", From("data d"), Columns("d.pk", "d.id"),
		AnyOf(Guard("TABLE", "d.object_name", "INSERT"), Guard("TABLE", "d.object_name", "SELECT")), Where("d.id <= 300")))
	require.Greater(t, sum(plain, has("access_1")), 0, "%v", plain)
	require.LessOrEqual(t, sum(plain, has("masked_1")), 2, "%v", plain)
	// A sort column that may be NULL has an index, but the bound cannot order NULLs.
	nullable := page("few@example.com", "data_null")
	require.Zero(t, sum(nullable, has("_object_id")), "the sparse branch must not run: %v", nullable)
	// Without an index the table is read once, as the unguarded read reads it, not
	// once per object.
	bare := page("few@example.com", "data_bare")
	require.Equal(t, 1, sum(bare, has(" data_bare ")), "%v", bare)

	// A full read of a sparse viewer reads each visible object's rows through the
	// index, never the whole table; a dense viewer's is one pass over the table.
	full := func(v, table string) map[string]int {
		return executed(t, f, b.Select(ctx, v, From(table+" d"), Columns("d.pk", "d.id"),
			Guard("TABLE", "d.object_name", "SELECT")))
	}
	sparseFull := full("few@example.com", "data")
	require.GreaterOrEqual(t, sum(sparseFull, has("data_object_")), 10, "%v", sparseFull)
	require.LessOrEqual(t, sum(sparseFull, has("data_object_")), 20, "%v", sparseFull)
	require.Zero(t, sum(sparseFull, has("Seq Scan data ")), "%v", sparseFull)
	require.Equal(t, 1, sum(sparseFull, has("access_1_key")), "%v", sparseFull)
	denseFull := full("many@example.com", "data")
	require.Zero(t, sum(denseFull, has("data_object_")), "the sparse branch must not run: %v", denseFull)
	require.Equal(t, 1, sum(denseFull, has("Seq Scan data ")), "%v", denseFull)
	bareFull := full("few@example.com", "data_bare")
	require.Equal(t, 1, sum(bareFull, has(" data_bare ")), "%v", bareFull)
}

// TestStatementSharedAcrossGoroutines runs one statement, whose first run learns the
// table's index and rebuilds it, from several goroutines at once (go test -race).
func TestStatementSharedAcrossGoroutines(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := loadPaged(t, f, 2_000, 100, map[string]int{"few@example.com": 5})
	pool := pgtest.Pool(t)
	b := f.builder(f.options())
	ctx := context.Background()
	s := b.Select(ctx, "few@example.com", From(f.schema+".data d"), Columns("d.pk"),
		Guard("TABLE", "d.object_name", "SELECT"), OrderBy("d.id DESC"), Limit(20))
	want := f.ids(b.Select(ctx, "few@example.com", From(f.schema+".data d"), Columns("d.pk"), Unguarded(),
		Where("d.object_name IN (SELECT unnest(?::text[]))", w.names("few@example.com")), OrderBy("d.id DESC"), Limit(20)))
	require.NotEmpty(t, want)
	var wg sync.WaitGroup
	results := make([][]int64, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, err := s.Query(ctx, pool)
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = pgx.CollectRows(rows, pgx.RowTo[int64])
		}()
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		require.Equal(t, want, results[i])
	}
	sql, _, err := s.ToSql()
	require.NoError(t, err)
	require.Contains(t, sql, "gm__v", "the statement was rebuilt with the sparse branch")
}

// TestCountedShapesExplain pins what the published count changes: a viewer counted
// dense is never listed from the mirror (gm__o's scan is skipped); one counted
// between SparseObjects and HashedObjects reads the mirror once, into a hashed set,
// however many rows the page passes; one counted past HashedObjects probes the
// mirror per row as before; a sparse viewer is read object by object, from only the
// objects that can hold a row of the page.
func TestCountedShapesExplain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	viewers := map[string]int{"few@example.com": 10, "some@example.com": 300, "many@example.com": SparseObjects + 300,
		"most@example.com": SparseObjects + 300}
	loadPaged(t, f, 40_000, 1200, viewers)
	f.publishCounts(map[string]int64{"most@example.com": HashedObjects + 1})
	b := f.builder(f.options())
	ctx := context.Background()
	page := func(v string) map[string]int {
		return executed(t, f, b.Select(ctx, v, From("data d"), Columns("d.pk", "d.id"),
			Guard("TABLE", "d.object_name", "SELECT"), OrderBy("d.id DESC"), Limit(50)))
	}
	sum := func(m map[string]int, sub string) int {
		n := 0
		for k, v := range m {
			if strings.Contains(k, sub) {
				n += v
			}
		}
		return n
	}

	hashed := page("many@example.com")
	require.Greater(t, sum(hashed, "Index Scan data data_id"), 0, "the table is read in id order: %v", hashed)
	require.Zero(t, sum(hashed, "data_object_id"), "the sparse branch must not run: %v", hashed)
	require.Equal(t, 1, sum(hashed, "access_1"), "the mirror is read once, into the hashed set, and never listed: %v", hashed)
	require.Equal(t, 1, sum(hashed, "viewer_counts"), "the count is read once: %v", hashed)

	probed := page("most@example.com")
	require.Greater(t, sum(probed, "Index Scan data data_id"), 0, "%v", probed)
	require.Greater(t, sum(probed, "access_1"), 50, "a probe per row read: %v", probed)

	sparse := page("few@example.com")
	require.Zero(t, sum(sparse, "data_id"), "%v", sparse)
	require.GreaterOrEqual(t, sum(sparse, "data_object_"), 20, "%v", sparse)
	require.Equal(t, 1, sum(sparse, "access_1_key"), "%v", sparse)

	// With more objects than the page has rows, rows are read only from the objects
	// whose best key reaches the bound: about a page of them, after one descent each
	// for the bound. (Without the count the statement reads rows from every object:
	// the smaller plan made Postgres's plan cache keep planning it per execution.)
	some := page("some@example.com")
	require.GreaterOrEqual(t, sum(some, "data_object_"), 300, "%v", some)
	require.LessOrEqual(t, sum(some, "data_object_"), 300+60, "%v", some)
	require.Zero(t, sum(some, "data_id"), "%v", some)
}
