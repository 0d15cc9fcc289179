package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/query"
)

// BenchmarkPublish measures a whole Publish of a 1M-row generation (COPY of the
// access rows and their provenance, index build, ANALYZE, the revocation
// anti-join against the previous generation, the view swap and the drop of the
// generation it retires) next to a raw COPY of the same rows into an unindexed
// table. Each iteration does both, one after the other, so that both see the same
// load on a shared machine. ns/op is the publish alone; copy-rows/s,
// publish-rows/s and publish-%-of-copy compare them (the goal is at least 50%).
//
//	go test -run '^$' -bench BenchmarkPublish -benchtime 5x ./pipeline/pgstore/
//
// With -v it also logs the duration of each step of every publish.
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	s, f := setup(b)
	if testing.Verbose() {
		s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m := generated(10000, 100)
	rows := m.Access.Len()
	b.Logf("%d access rows, %d memberships, %d grants", rows, len(m.Memberships), len(m.Grants))
	opts := pipeline.PublishOptions{MaxRevokeRatio: 0.2, Keep: 0}
	// The first publish has no previous generation to compare with; the measured
	// ones each replace one, as every sync but the first does.
	_, err := s.Publish(ctx, m, opts)
	require.NoError(b, err)

	var copying, publishing time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		table := fmt.Sprintf("raw_%d", i)
		f.exec(b, `CREATE TABLE %s.`+table+` (account text COLLATE "C" NOT NULL, email text COLLATE "C" NOT NULL,
			object_type text COLLATE "C" NOT NULL, object_name text COLLATE "C" NOT NULL, privilege text COLLATE "C" NOT NULL)`)
		start := time.Now()
		src := newRowSource(m.Access.All(), 0, nil)
		n, err := f.admin.CopyFrom(ctx, pgx.Identifier{f.schema, table}, accessColumns, src)
		src.stop()
		copying += time.Since(start)
		require.NoError(b, err)
		require.EqualValues(b, rows, n)
		f.exec(b, `DROP TABLE %s.`+table)

		b.StartTimer()
		start = time.Now()
		g, err := s.Publish(ctx, m, opts)
		publishing += time.Since(start)
		require.NoError(b, err)
		require.Zero(b, g.Removed)
	}
	b.StopTimer()
	copyRate := float64(rows*b.N) / copying.Seconds()
	publishRate := float64(rows*b.N) / publishing.Seconds()
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(publishRate, "publish-rows/s")
	b.ReportMetric(100*publishRate/copyRate, "publish-%-of-copy")
}

// BenchmarkPublishChanges measures a Publish of a 1M-row generation that differs
// from the current one in 1% of its rows each way (100 people replaced by 100
// others), as a busy account's hourly sync would: the comparison finds 10k rows
// added and 10k removed, and the access history opens and closes as many rows in
// the publish transaction.
//
//	go test -run '^$' -bench BenchmarkPublishChanges -benchtime 5x ./pipeline/pgstore/
func BenchmarkPublishChanges(b *testing.B) {
	ctx := context.Background()
	s, _ := setup(b)
	if testing.Verbose() {
		s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a := generated(10000, 100)
	var rows []pipeline.Row
	for r := range a.Access.All() {
		if r.Email >= "person009900@" {
			r.Email = "new-" + r.Email
		}
		rows = append(rows, r)
	}
	c := *a
	c.Access = pipeline.NewAccess(rows)
	opts := pipeline.PublishOptions{MaxRevokeRatio: 0.2, Keep: 0}
	_, err := s.Publish(ctx, a, opts)
	require.NoError(b, err)
	mirrors := []*pipeline.Mirror{&c, a}
	b.ResetTimer()
	for i := range b.N {
		g, err := s.Publish(ctx, mirrors[i%2], opts)
		require.NoError(b, err)
		require.Equal(b, 10000, g.Removed)
		require.Equal(b, 10000, g.Added)
	}
}

// BenchmarkGuardWithLocalGrants reads a page of 50 rows of a 1M-row data table
// through the query package, guarded by the published access view (a 1M-row
// generation plus 2,000 local grants in force), next to the same read guarded by
// the generation alone and unguarded: what the local grants' branch of the view
// costs a guarded read.
//
//	go test -run '^$' -bench BenchmarkGuardWithLocalGrants -benchtime 3s ./pipeline/pgstore/
func BenchmarkGuardWithLocalGrants(b *testing.B) {
	ctx := context.Background()
	s, f := setup(b)
	_, err := s.Publish(ctx, generated(10000, 100), pipeline.PublishOptions{MaxRevokeRatio: 0.2})
	require.NoError(b, err)
	// The data rows spread over the generated objects, ten rows per object, not in
	// id order.
	f.exec(b, `CREATE TABLE %s.data (id bigint PRIMARY KEY, object_name text NOT NULL, payload text NOT NULL)`)
	f.exec(b, `INSERT INTO %s.data SELECT g, 'DB' || (o % 7) || '.SCHEMA' || (o % 61) || '.TABLE_' || o, 'payload of row ' || g
		FROM generate_series(1, 1000000) g, LATERAL (SELECT (g::bigint * 7919) % 20000 AS o) x`)
	f.exec(b, `CREATE INDEX data_object ON %s.data (object_name)`)
	f.exec(b, `INSERT INTO %s.local_grants (account, email, object_type, object_name, privilege, granted_by, approver, reason, created_at, until)
		SELECT 'ACME', 'person' || lpad((g * 3)::text, 6, '0') || '@example.com', 'TABLE', 'DB' || (g % 7) || '.SCHEMA' || (g % 61) || '.TABLE_' || g,
		       'SELECT', 'carol@example.com', 'dave@example.com', 'cover', now(), now() + interval '2 days'
		FROM generate_series(1, 2000) g`)
	f.exec(b, `CREATE VIEW %[1]s.generation_only AS SELECT account, email, object_type, object_name, privilege FROM %[1]s.access_1`)
	f.exec(b, `VACUUM ANALYZE %s.data`)
	f.exec(b, `VACUUM ANALYZE %s.access_1`)
	f.exec(b, `VACUUM ANALYZE %s.local_grants`)

	const viewer = "person000001@example.com" // 100 of the 20,000 objects: 5,000 rows
	parts := []query.Part{query.From(f.schema + ".data d"), query.Columns("d.id", "d.object_name", "d.payload"),
		query.OrderBy("d.id"), query.Limit(50)}
	guard := query.Guard("TABLE", "d.object_name", "SELECT")
	read := func(b *testing.B, access string, parts ...query.Part) {
		g, err := query.New(query.Options{Schema: f.schema, AccessTable: access, MaxStaleness: query.NoStalenessLimit})
		require.NoError(b, err)
		for b.Loop() {
			rows, err := g.Select(ctx, viewer, parts...).Query(ctx, f.admin)
			require.NoError(b, err)
			n := 0
			for rows.Next() {
				n++
			}
			require.NoError(b, rows.Err())
			require.Equal(b, 50, n)
		}
	}
	b.Run("unguarded", func(b *testing.B) { read(b, "", append(parts, query.Unguarded())...) })
	b.Run("generation-only", func(b *testing.B) { read(b, f.schema+".generation_only", append(parts, guard)...) })
	b.Run("with-local-grants", func(b *testing.B) { read(b, "", append(parts, guard)...) })
}
