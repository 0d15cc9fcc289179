package pipeline_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

// BenchmarkSyncToPostgres runs whole syncs, snapshot directory to Postgres, and
// reports each phase: reading the CSV files, flatten, and publish (COPY, index,
// guard, swap). Every iteration publishes a new generation of the same content,
// as a scheduled job does.
//
//	go test ./pipeline -run '^$' -bench SyncToPostgres -benchtime 2x
func BenchmarkSyncToPostgres(b *testing.B) {
	for _, size := range []sample.Options{{Users: 5000, Roles: 1000, Grants: 100_000, Seed: 1}, {Users: 20_000, Roles: 4000, Grants: 400_000, Seed: 1}} {
		b.Run(sizeName(size), func(b *testing.B) {
			a, err := sample.Generate(size)
			require.NoError(b, err)
			dir := b.TempDir()
			require.NoError(b, pipeline.WriteSnapshot(dir, &pipeline.Snapshot{Accounts: []*pipeline.Account{a}}))
			pool := pgtest.Pool(b)
			schema := pgtest.Schema(b, pool)
			ctx := context.Background()
			store, err := pgstore.Open(ctx, pgtest.URL(), pgstore.Options{Schema: schema})
			require.NoError(b, err)
			defer store.Close()
			phases := map[string]float64{}
			var rows int
			for b.Loop() {
				res, err := pipeline.Run(ctx, pipeline.Config{Source: pipeline.DirSource{Dir: dir}, Store: store, Publish: pipeline.DefaultPublishOptions()})
				require.NoError(b, err)
				for _, p := range res.Phases {
					phases[p.Name] += p.Duration.Seconds()
				}
				rows = res.Mirror.Access.Len()
			}
			for name, total := range phases {
				b.ReportMetric(total/float64(b.N), name+"-s/op")
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
