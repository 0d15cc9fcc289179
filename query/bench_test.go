package query

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGuard reads a 1M-row table spread over 10,000 tables (100 rows each, like a
// catalog or storage table) through the builder, for viewers who see 0.1%, 1%, 10%,
// 50% and 100% of it, next to the same read unguarded in the same run: paged (ORDER BY
// id DESC LIMIT 50, with an index on (object_name, id)) and in full, with Guard, and
// paged with GuardParts and AnyOf. The access view has its local-grants branch, with a
// grant of somebody else's in it. The data is generated once, inside Postgres, in its
// own schema. The guarded reads run twice: counting the viewer's objects through the
// access view, as against a schema from before viewer_objects, and with the count
// published. Run with
//
//	go test ./query -run '^$' -bench BenchmarkGuard -benchtime 1s
func BenchmarkGuard(b *testing.B) {
	s := scale{rows: 1_000_000, objects: 10_000, users: 1000, share: 20}
	visibility := []float64{0.001, 0.01, 0.1, 0.5, 1}
	f := setup(b)
	viewers := map[string]float64{}
	for _, v := range visibility {
		viewers[benchViewer(v)] = v
	}
	loadScale(b, f, s, viewers)
	f.exec(`CREATE INDEX data_object_id ON data (object_name, id)`)
	f.exec(`ALTER TABLE data ADD COLUMN db text, ADD COLUMN sch text, ADD COLUMN tbl text`)
	f.exec(`UPDATE data SET db = split_part(object_name, '.', 1), sch = split_part(object_name, '.', 2),
		tbl = split_part(object_name, '.', 3)`)
	f.localGrant(grant{"ACME", "user1@example.com", "TABLE", "SALES.PUBLIC.T1", "SELECT"})
	// Index-only scans need the visibility map, as after autovacuum or the sync's load.
	f.exec(`VACUUM ANALYZE access_1`)
	f.exec(`VACUUM ANALYZE data`)
	f.exec(`VACUUM ANALYZE local_grants`)
	g := f.builder(f.options())
	ctx := context.Background()
	columns := []Part{From("data d"), Columns("d.id", "d.object_name", "d.payload")}
	paged := []Part{OrderBy("d.id DESC"), Limit(50)}

	run := func(b *testing.B, viewer string, wantRows int, parts ...Part) {
		b.Helper()
		// An API runs the same statement again and again: the first executions learn
		// the table's index and plan with the values given (custom plans, several ms
		// each for the larger statements), and from the sixth Postgres keeps the
		// prepared statement's generic plan. The warm-up keeps those first runs out of
		// the figures, which are the steady state.
		for range 6 {
			rows, err := g.Select(ctx, viewer, parts...).Query(ctx, f.db)
			if err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
		for b.Loop() {
			rows, err := g.Select(ctx, viewer, parts...).Query(ctx, f.db)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			var id int64
			var name, payload string
			for rows.Next() {
				if err := rows.Scan(&id, &name, &payload); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
			if n != wantRows {
				b.Fatalf("read %d rows, want %d", n, wantRows)
			}
		}
		b.ReportMetric(float64(wantRows), "rows/op")
	}
	with := func(parts ...[]Part) []Part {
		var out []Part
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	guard := []Part{Guard("TABLE", "d.object_name", "SELECT")}
	parts := []Part{GuardParts("TABLE", []string{"d.db", "d.sch", "d.tbl"}, "SELECT")}
	anyOf := []Part{AnyOf(Guard("TABLE", "d.object_name", "SELECT"), GuardObject("TABLE", "SALES.PUBLIC.NOPE", "SELECT"))}
	b.Run("paged/unguarded", func(b *testing.B) {
		run(b, "nobody@example.com", 50, with(columns, []Part{Unguarded()}, paged)...)
	})
	for _, v := range visibility {
		b.Run(fmt.Sprintf("paged/guarded/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), 50, with(columns, guard, paged)...)
		})
	}
	for _, v := range []float64{0.01, 0.5} {
		b.Run(fmt.Sprintf("paged/parts/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), 50, with(columns, parts, paged)...)
		})
		b.Run(fmt.Sprintf("paged/anyof/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), 50, with(columns, anyOf, paged)...)
		})
	}
	b.Run("full/unguarded", func(b *testing.B) {
		run(b, "nobody@example.com", s.rows, with(columns, []Part{Unguarded()})...)
	})
	for _, v := range visibility {
		b.Run(fmt.Sprintf("full/guarded/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), int(float64(s.rows)*v), with(columns, guard)...)
		})
	}

	// The same guarded reads once the mirror publishes each viewer's count
	// (viewer_objects), by a builder that learns it can read it.
	f.publishCounts(nil)
	g = f.builder(f.options())
	for _, v := range visibility {
		b.Run(fmt.Sprintf("paged/counted/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), 50, with(columns, guard, paged)...)
		})
	}
	for _, v := range []float64{0.01, 0.5} {
		b.Run(fmt.Sprintf("paged/counted-parts/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), 50, with(columns, parts, paged)...)
		})
		b.Run(fmt.Sprintf("paged/counted-anyof/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), 50, with(columns, anyOf, paged)...)
		})
	}
	for _, v := range visibility {
		b.Run(fmt.Sprintf("full/counted/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), int(float64(s.rows)*v), with(columns, guard)...)
		})
	}
}

func benchViewer(frac float64) string {
	return fmt.Sprintf("v%g@example.com", frac*100)
}
