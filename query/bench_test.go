package query

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGuard reads a 1M-row table through the builder, guarded for viewers who see
// 0.1%, 1%, 10% and 50% of it, next to the same read unguarded: paged (ORDER BY id
// LIMIT 50) and full. The table is generated once, inside Postgres. Run with
//
//	go test ./query -run '^$' -bench BenchmarkGuard -benchtime 2s
func BenchmarkGuard(b *testing.B) {
	f := setup(b)
	visibility := []struct {
		label string
		frac  float64
	}{{"0.1%", 0.001}, {"1%", 0.01}, {"10%", 0.1}, {"50%", 0.5}}
	viewers := map[string]float64{}
	for _, v := range visibility {
		viewers[viewer(v.label)] = v.frac
	}
	loadScale(b, f, scale{rows: 1_000_000, objects: 10_000, users: 1000, share: 20}, viewers)
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
		b.Run("paged/guarded/"+v.label, func(b *testing.B) {
			run(b, viewer(v.label), 50, append(append(columns, guard), paged...)...)
		})
	}
	b.Run("full/unguarded", func(b *testing.B) {
		run(b, "nobody@example.com", 1_000_000, append(columns, Unguarded())...)
	})
	for _, v := range visibility {
		b.Run("full/guarded/"+v.label, func(b *testing.B) {
			run(b, viewer(v.label), int(1_000_000*v.frac), append(columns, guard)...)
		})
	}
}

func viewer(label string) string {
	return fmt.Sprintf("v%s@example.com", label[:len(label)-1])
}
