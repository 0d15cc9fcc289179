package pipeline_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

// BenchmarkSyncToPostgres runs whole syncs, snapshot directory to Postgres, and
// reports each phase: reading the CSV files, flatten, and publish (COPY, index,
// guard, swap). Every iteration publishes a new generation of the same content,
// forced past the check that would find it unchanged and publish nothing.
//
//	go test ./pipeline -run '^$' -bench SyncToPostgres -benchtime 2x
func BenchmarkSyncToPostgres(b *testing.B) {
	for _, size := range []sample.Options{{Users: 5000, Roles: 1000, Grants: 100_000, Seed: 1}, {Users: 20_000, Roles: 4000, Grants: 400_000, Seed: 1}} {
		b.Run(sizeName(size), func(b *testing.B) {
			a, err := sample.Generate(size)
			require.NoError(b, err)
			dir := b.TempDir()
			require.NoError(b, pipeline.WriteSnapshot(dir, &model.Snapshot{Accounts: []*model.Account{a}}))
			pool := pgtest.Pool(b)
			schema := pgtest.Schema(b, pool)
			ctx := context.Background()
			store, err := pgstore.Open(ctx, pgtest.URL(), pgstore.Options{Schema: schema})
			require.NoError(b, err)
			defer store.Close()
			forced := model.DefaultPublishOptions()
			forced.Force = true
			phases := map[string]float64{}
			var rows int
			for b.Loop() {
				res, err := pipeline.Run(ctx, pipeline.Config{Source: pipeline.DirSource{Dir: dir}, Store: store, Publish: forced})
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

// BenchmarkUnchangedSync syncs the same snapshot to Postgres again and again:
// forced, every iteration publishes an identical generation; by default the
// content digest finds it unchanged and the store publishes nothing, deciding
// so under its lock before it loads a row.
//
//	go test ./pipeline -run '^$' -bench UnchangedSync -benchtime 3x
func BenchmarkUnchangedSync(b *testing.B) {
	size := sample.Options{Users: 5000, Roles: 1000, Grants: 100_000, Seed: 1}
	a, err := sample.Generate(size)
	require.NoError(b, err)
	dir := b.TempDir()
	require.NoError(b, pipeline.WriteSnapshot(dir, &model.Snapshot{Accounts: []*model.Account{a}}))
	for _, force := range []bool{true, false} {
		name := sizeName(size) + "/unchanged"
		if force {
			name = sizeName(size) + "/forced"
		}
		b.Run(name, func(b *testing.B) {
			pool := pgtest.Pool(b)
			schema := pgtest.Schema(b, pool)
			ctx := context.Background()
			store, err := pgstore.Open(ctx, pgtest.URL(), pgstore.Options{Schema: schema})
			require.NoError(b, err)
			defer store.Close()
			opts := model.DefaultPublishOptions()
			cfg := pipeline.Config{Source: pipeline.DirSource{Dir: dir}, Store: store, Publish: opts}
			_, err = pipeline.Run(ctx, cfg)
			require.NoError(b, err)
			cfg.Publish.Force = force
			phases := map[string]float64{}
			for b.Loop() {
				res, err := pipeline.Run(ctx, cfg)
				require.NoError(b, err)
				require.Equal(b, !force, res.Unchanged)
				for _, p := range res.Phases {
					phases[p.Name] += p.Duration.Seconds()
				}
			}
			for name, total := range phases {
				b.ReportMetric(total/float64(b.N), name+"-s/op")
			}
		})
	}
}
