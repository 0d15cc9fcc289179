package rls

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// benchVisibility are the shares of the table the benchmark's viewers see.
var benchVisibility = []float64{0.001, 0.01, 0.1, 0.5, 1}

const (
	benchRows    = 1_000_000
	benchObjects = 10_000
)

func benchViewer(frac float64) string { return fmt.Sprintf("v%g@example.com", frac*100) }

// BenchmarkRLS reads a 1M-row table spread over 10,000 tables (100 rows each,
// consecutive ids on different tables, as an event or usage table fills up)
// through the policy, as viewers who see 0.1% to 100% of it, next to the same
// read by the table's owner, whom the policy does not apply to: paged (ORDER BY
// id DESC LIMIT 50, the id index and an index on (table_name, id) in place) and
// full, with the default set limit; then paged again with every row probed. The mirror holds the five viewers (SELECT and INSERT on their objects)
// and 200 other people with 500 tables each, published through pgstore; all of
// it is built once per run. Run with
//
//	go test ./internal/rls -run '^$' -bench BenchmarkRLS -benchtime 3x
func BenchmarkRLS(b *testing.B) {
	f := newFixture(b, time.Now().Add(-time.Hour), benchMirror())
	f.exec(`INSERT INTO ` + f.table + ` (id, table_name, payload, n)
		SELECT g, 'SALES.PUBLIC.T' || ((g::bigint * 7919) % 10000), 'payload of row ' || g, 0
		FROM generate_series(1, 1000000) g`)
	f.exec(`CREATE INDEX ON ` + f.table + ` (table_name, id)`)
	f.exec(`VACUUM ANALYZE ` + f.table)
	// Index-only scans of the mirror need its visibility map, which autovacuum
	// sets soon after a publish.
	rows, err := f.admin.Query(f.ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = $1`, f.mirror)
	require.NoError(b, err)
	mirrorTables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(b, err)
	for _, t := range mirrorTables {
		f.exec(`VACUUM ANALYZE ` + t)
	}
	f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT"})

	ctx := context.Background()
	connect := func(role, viewer string) *pgx.Conn {
		c := pgtest.Conn(b)
		_, err := c.Exec(ctx, `SET ROLE `+pgx.Identifier{role}.Sanitize())
		require.NoError(b, err)
		_, err = c.Exec(ctx, `SELECT set_config('grantmirror.viewer', $1, false)`, viewer)
		require.NoError(b, err)
		return c
	}
	owner := connect(f.owner, "")
	readers := map[float64]*pgx.Conn{}
	for _, v := range benchVisibility {
		readers[v] = connect(f.reader, benchViewer(v))
	}

	run := func(b *testing.B, c *pgx.Conn, sql string, want int) {
		for b.Loop() {
			rows, err := c.Query(ctx, sql)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
			if n != want {
				b.Fatalf("read %d rows, want %d", n, want)
			}
		}
		b.ReportMetric(float64(want), "rows/op")
	}
	paged := `SELECT id, table_name, payload FROM ` + f.table + ` ORDER BY id DESC LIMIT 50`
	full := `SELECT id, table_name, payload FROM ` + f.table
	b.Run("paged/unguarded", func(b *testing.B) { run(b, owner, paged, 50) })
	for _, v := range benchVisibility {
		b.Run(fmt.Sprintf("paged/rls/%g%%", v*100), func(b *testing.B) { run(b, readers[v], paged, 50) })
	}
	b.Run("full/unguarded", func(b *testing.B) { run(b, owner, full, benchRows) })
	for _, v := range benchVisibility {
		b.Run(fmt.Sprintf("full/rls/%g%%", v*100), func(b *testing.B) { run(b, readers[v], full, int(benchRows*v)) })
	}
	// The same pages with a set limit of 1: every viewer's rows are probed, as
	// they are past the limit.
	f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", SetLimit: 1})
	for _, v := range benchVisibility {
		b.Run(fmt.Sprintf("paged/rls-probe/%g%%", v*100), func(b *testing.B) { run(b, readers[v], paged, 50) })
	}
}

// benchMirror: each viewer holds SELECT and INSERT on every round(1/share)-th
// table; 200 other people hold SELECT on 500 tables each.
func benchMirror() []model.Row {
	var rows []model.Row
	name := func(o int) string { return fmt.Sprintf("SALES.PUBLIC.T%d", o) }
	for _, v := range benchVisibility {
		every := int(math.Round(1 / v))
		for o := 0; o < benchObjects; o += every {
			rows = append(rows, row(benchViewer(v), "TABLE", name(o), "SELECT"), row(benchViewer(v), "TABLE", name(o), "INSERT"))
		}
	}
	for u := 1; u <= 200; u++ {
		for o := u % 20; o < benchObjects; o += 20 {
			rows = append(rows, row(fmt.Sprintf("user%d@example.com", u), "TABLE", name(o), "SELECT"))
		}
	}
	return rows
}
