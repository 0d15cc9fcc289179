package query

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGuard reads a 1M-row table through the builder, guarded for viewers who see
// 0.1%, 1%, 10% and 50% of it, next to the same read unguarded, paged (ORDER BY id
// LIMIT 50) and full. Two shapes of data: rows spread over 10,000 tables (100 rows
// each, like a catalog or storage table), and over 20 warehouses (like query
// history), where only 10% and 50% visibility can be expressed. Each shape is
// generated once, inside Postgres, in its own schema. Run with
//
//	go test ./query -run '^$' -bench BenchmarkGuard -benchtime 2s
func BenchmarkGuard(b *testing.B) {
	shapes := []struct {
		name       string
		scale      scale
		visibility []float64
	}{
		{"tables", scale{rows: 1_000_000, objects: 10_000, users: 1000, share: 20}, []float64{0.001, 0.01, 0.1, 0.5}},
		{"warehouses", scale{rows: 1_000_000, objects: 20, users: 1000, share: 4}, []float64{0.1, 0.5}},
	}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			benchShape(b, shape.scale, shape.visibility)
		})
	}
}

func benchShape(b *testing.B, s scale, visibility []float64) {
	f := setup(b)
	viewers := map[string]float64{}
	for _, v := range visibility {
		viewers[benchViewer(v)] = v
	}
	loadScale(b, f, s, viewers)
	// Index-only scans of the mirror need its visibility map, as after the sync's load.
	f.exec(`VACUUM ANALYZE access_1`)
	f.exec(`VACUUM ANALYZE data`)
	g := f.builder(f.options())
	ctx := context.Background()
	columns := []Part{From("data d"), Columns("d.id", "d.object_name", "d.payload")}
	paged := []Part{OrderBy("d.id"), Limit(50)}

	run := func(b *testing.B, viewer string, wantRows int, parts ...Part) {
		b.Helper()
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
	guard := Guard("TABLE", "d.object_name", "SELECT")
	b.Run("paged/unguarded", func(b *testing.B) {
		run(b, "nobody@example.com", 50, append(append(columns, Unguarded()), paged...)...)
	})
	for _, v := range visibility {
		b.Run(fmt.Sprintf("paged/guarded/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), 50, append(append(columns, guard), paged...)...)
		})
	}
	b.Run("full/unguarded", func(b *testing.B) {
		run(b, "nobody@example.com", s.rows, append(columns, Unguarded())...)
	})
	for _, v := range visibility {
		b.Run(fmt.Sprintf("full/guarded/%g%%", v*100), func(b *testing.B) {
			run(b, benchViewer(v), int(float64(s.rows)*v), append(columns, guard)...)
		})
	}
}

func benchViewer(frac float64) string {
	return fmt.Sprintf("v%g@example.com", frac*100)
}
