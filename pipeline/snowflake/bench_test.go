package snowflake

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
)

// BenchmarkExtract extracts a generated account of realistic size (10k users,
// 30k user grants, 200k role grants, 1k roles) through the fake server, once
// answered as Arrow and once as JSON, in 20k-row chunks as Snowflake would.
// Run: go test -run '^$' -bench Extract -benchtime 5x ./pipeline/snowflake/
func BenchmarkExtract(b *testing.B) {
	dir := b.TempDir()
	generateAccount(b, dir, 10_000, 1_000, 200_000)
	for _, format := range []fakesnowflake.Format{fakesnowflake.Arrow, fakesnowflake.JSON} {
		b.Run(string(format), func(b *testing.B) {
			f := setup(b, fakesnowflake.Options{Dir: dir, Format: format, ChunkRows: 20_000, GzipChunks: true})
			f.opts = f.opts[:1] // the logger only: real clock, default retries
			// Warm the fake's encoded results so the benchmark measures the client.
			_, err := Extract(b.Context(), f.cfg, filepath.Join(b.TempDir(), "warm"), f.opts...)
			require.NoError(b, err)
			var rows int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), fmt.Sprint("run", i))
				res, err := Extract(b.Context(), f.cfg, out, f.opts...)
				if err != nil {
					b.Fatal(err)
				}
				rows += res.Rows()
				b.StopTimer()
				os.RemoveAll(out)
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
