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

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/query"
)

// BenchmarkPublish measures the first Publish of a 1M-row generation into an
// empty schema (COPY of the access rows, the provenance and the digests, the
// sorted index builds, ANALYZE, the history's baseline, the run record) next to
// a raw COPY of the same rows into an unindexed table, and that COPY followed by
// the two indexes every guard and audience read needs (the floor of any design
// that serves them). Each iteration does all, one after the other, so that all
// see the same load on a shared machine. ns/op is the publish alone;
// copy-rows/s, indexed-copy-rows/s, publish-rows/s, publish-%-of-copy (the goal
// is at least 50%) and publish-%-of-indexed-copy compare them.
//
//	go test -run '^$' -bench 'BenchmarkPublish$' -benchtime 3x ./pipeline/pgstore/
//
// With -v it also logs the duration of each step of every publish.
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	m := generated(10000, 100)
	rows := m.Access.Len()
	b.Logf("%d access rows, %d memberships, %d grants", rows, len(m.Memberships), len(m.Grants))
	opts := model.PublishOptions{MaxRevokeRatio: 0.2, MaxAddRatio: 0.5, Keep: 0}
	var copying, indexing, publishing time.Duration
	for i := range b.N {
		b.StopTimer()
		s, f := setup(b)
		if testing.Verbose() {
			s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		table := fmt.Sprintf("raw_%d", i)
		f.exec(b, `CREATE TABLE %s.`+table+` (account text COLLATE "C" NOT NULL, email text COLLATE "C" NOT NULL,
			object_type text COLLATE "C" NOT NULL, object_name text COLLATE "C" NOT NULL, privilege text COLLATE "C" NOT NULL)`)
		start := time.Now()
		src := newRowSource(m.Access.All(), 0)
		n, err := f.admin.CopyFrom(ctx, pgx.Identifier{f.schema, table}, accessColumns, src)
		src.stop()
		copying += time.Since(start)
		require.NoError(b, err)
		require.EqualValues(b, rows, n)
		f.exec(b, `CREATE UNIQUE INDEX ON %s.`+table+` (email, object_type, object_name, privilege, account)`)
		f.exec(b, `CREATE INDEX ON %s.`+table+` (object_name)`)
		indexing += time.Since(start)
		f.exec(b, `DROP TABLE %s.`+table)

		b.StartTimer()
		start = time.Now()
		g, err := s.Publish(ctx, m, opts)
		publishing += time.Since(start)
		require.NoError(b, err)
		require.Equal(b, rows, g.Added)
	}
	b.StopTimer()
	copyRate := float64(rows*b.N) / copying.Seconds()
	publishRate := float64(rows*b.N) / publishing.Seconds()
	indexedRate := float64(rows*b.N) / indexing.Seconds()
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(indexedRate, "indexed-copy-rows/s")
	b.ReportMetric(100*publishRate/indexedRate, "publish-%-of-indexed-copy")
	b.ReportMetric(publishRate, "publish-rows/s")
	b.ReportMetric(100*publishRate/copyRate, "publish-%-of-copy")
}

// BenchmarkPublishChanges measures a Publish of a 1M-row generation that differs
// from the current one in 1% of its rows each way (100 people replaced by 100
// others), as a busy account's hourly sync would, and one that changes nothing:
// the digests find the 200 people who changed, 10k rows are inserted and 10k
// closed, and the access history opens and closes as many rows in the publish
// transaction. stored-%-of-full is what each kept generation adds to the row
// tables, in bytes (pg_total_relation_size), against the first full generation.
//
//	go test -run '^$' -bench BenchmarkPublishChanges -benchtime 4x ./pipeline/pgstore/
func BenchmarkPublishChanges(b *testing.B) {
	ctx := context.Background()
	a := generated(10000, 100)
	var rows []model.Row
	for r := range a.Access.All() {
		if r.Email >= "person009900@" {
			r.Email = "new-" + r.Email
		}
		rows = append(rows, r)
	}
	c := *a
	c.Access = model.NewAccess(rows)
	for _, bc := range []struct {
		name    string
		mirrors []*model.Mirror
		changed int
	}{{"one-percent", []*model.Mirror{&c, a}, 10000}, {"unchanged", []*model.Mirror{a, a}, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			s, f := setup(b)
			if testing.Verbose() {
				s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			opts := model.PublishOptions{MaxRevokeRatio: 0.2, MaxAddRatio: 0.5, Keep: 1000}
			_, err := s.Publish(ctx, a, opts)
			require.NoError(b, err)
			full := f.rowBytes(b)
			b.ResetTimer()
			for i := range b.N {
				g, err := s.Publish(ctx, bc.mirrors[i%2], opts)
				require.NoError(b, err)
				require.Equal(b, bc.changed, g.Removed)
				require.Equal(b, bc.changed, g.Added)
			}
			b.StopTimer()
			b.ReportMetric(float64(full), "full-generation-bytes")
			b.ReportMetric(float64(f.rowBytes(b)-full)/float64(b.N), "bytes-per-kept-generation")
			b.ReportMetric(100*float64(f.rowBytes(b)-full)/float64(b.N)/float64(full), "stored-%-of-full")
		})
	}
}

// rowBytes is the size on disk of the tables that hold generations, with their
// indexes and TOAST, after a VACUUM so that dead row versions do not count.
func (f *fixture) rowBytes(b testing.TB) int64 {
	for _, t := range []string{"access_rows", "membership_rows", "grant_rows", "masked_rows", "digests", "snapshot_files", "snapshot_parts", "snapshot_blobs"} {
		f.exec(b, `VACUUM %s.`+t)
	}
	var n int64
	require.NoError(b, f.admin.QueryRow(context.Background(), f.sql(`SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
		WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'
		  AND c.relname IN ('access_rows', 'membership_rows', 'grant_rows', 'masked_rows', 'digests', 'snapshot_files', 'snapshot_parts', 'snapshot_blobs')`), f.schema).Scan(&n))
	return n
}

// BenchmarkGuardWithLocalGrants reads a page of 50 rows of a 1M-row data table
// through the query package, guarded by the published access view (a 1M-row
// generation plus 2,000 local grants in force), next to the same read guarded by
// the generation's rows alone (the ranged row table, filtered by current), by a
// plain table of the same rows (the shape of a table per generation), and
// unguarded; then again after three incremental publishes, when the index
// holds several versions of the changed rows.
//
//	go test -run '^$' -bench BenchmarkGuardWithLocalGrants -benchtime 3s ./pipeline/pgstore/
func BenchmarkGuardWithLocalGrants(b *testing.B) {
	ctx := context.Background()
	s, f := setup(b)
	_, err := s.Publish(ctx, generated(10000, 100), model.PublishOptions{MaxRevokeRatio: 0.2, MaxAddRatio: 0.5})
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
	f.exec(b, `CREATE VIEW %[1]s.generation_only AS SELECT account, email, object_type, object_name, privilege FROM %[1]s.access_rows
		WHERE valid_from <= (SELECT generation FROM %[1]s.current) AND valid_to > (SELECT generation FROM %[1]s.current)`)
	f.exec(b, `CREATE TABLE %[1]s.plain AS SELECT account, email, object_type, object_name, privilege FROM %[1]s.access_rows`)
	f.exec(b, `CREATE UNIQUE INDEX plain_key ON %s.plain (email, object_type, object_name, privilege, account)`)
	f.exec(b, `VACUUM ANALYZE %s.plain`)
	f.exec(b, `VACUUM ANALYZE %s.data`)
	f.exec(b, `VACUUM ANALYZE %s.access_rows`)
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
	b.Run("table-per-generation", func(b *testing.B) { read(b, f.schema+".plain", append(parts, guard)...) })
	b.Run("generation-only", func(b *testing.B) { read(b, f.schema+".generation_only", append(parts, guard)...) })
	b.Run("with-local-grants", func(b *testing.B) { read(b, "", append(parts, guard)...) })

	// Three incremental publishes, each replacing 1% of the people, the viewer
	// among them once (their rows then exist in two versions).
	m := generated(10000, 100)
	for i := range 3 {
		var rows []model.Row
		for r := range m.Access.All() {
			if r.Email < fmt.Sprintf("person%06d@", 100*(i+1)) && i < 2 {
				r.Privilege = fmt.Sprintf("SELECT_%d", i)
				rows = append(rows, r)
				r.Privilege = "SELECT"
			}
			rows = append(rows, r)
		}
		c := *m
		c.Access = model.NewAccess(rows)
		_, err := s.Publish(ctx, &c, model.PublishOptions{MaxRevokeRatio: 0.2, MaxAddRatio: 0.5, Keep: 3})
		require.NoError(b, err)
	}
	f.exec(b, `VACUUM ANALYZE %s.access_rows`)
	b.Run("with-local-grants-after-3-publishes", func(b *testing.B) { read(b, "", append(parts, guard)...) })
}
