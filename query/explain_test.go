package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// scale describes a generated table for plan and benchmark tests.
type scale struct {
	rows    int // data rows
	objects int // distinct tables the rows belong to
	users   int // other people in the mirror
	share   int // each other person sees one object in share
}

// loadScale fills data(id, object_name, payload) with rows spread evenly but not in id
// order over the objects, grants other people a share of the objects each, and gives
// every viewer the fraction of objects (and so of rows) in viewers. Everything is
// generated inside Postgres with INSERT … SELECT generate_series, then ANALYZEd.
func loadScale(t testing.TB, f *fixture, s scale, viewers map[string]float64) {
	t.Helper()
	f.exec(`CREATE TABLE data (id bigint PRIMARY KEY, object_name text NOT NULL, payload text NOT NULL)`)
	// 7919 is prime and coprime with the object counts used, so consecutive ids land
	// on different objects and every object gets the same number of rows.
	f.exec(`INSERT INTO data SELECT g, 'SALES.PUBLIC.T' || ((g::bigint * 7919) % $1), 'payload of row ' || g
		FROM generate_series(1, $2) g`, s.objects, s.rows)
	f.exec(`CREATE INDEX data_object ON data (object_name)`)
	f.exec(`INSERT INTO access_1 SELECT 'ACME', 'user' || u || '@example.com', 'TABLE', 'SALES.PUBLIC.T' || o, 'SELECT'
		FROM generate_series(1, $1) u, generate_series(0, $2 - 1) o WHERE (o + u) % $3 = 0`, s.users, s.objects, s.share)
	for v, frac := range viewers {
		every := int(math.Round(1 / frac))
		f.exec(`INSERT INTO access_1 SELECT 'ACME', $1, 'TABLE', 'SALES.PUBLIC.T' || o, p
			FROM generate_series(0, $2 - 1) o, unnest(ARRAY['SELECT', 'INSERT']) p WHERE o % $3 = 0`, v, s.objects, every)
	}
	f.exec(`ANALYZE data`)
	f.exec(`ANALYZE access_1`)
	f.exec(`ANALYZE current`)
}

// planNode is the part of EXPLAIN (FORMAT JSON) the test reads.
type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Loops    int        `json:"Actual Loops"`
	Plans    []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

func TestExplainUsesAccessIndex(t *testing.T) {
	t.Parallel()
	f := setup(t)
	viewers := map[string]float64{"low@example.com": 0.01, "mid@example.com": 0.1, "high@example.com": 0.5}
	loadScale(t, f, scale{rows: 200_000, objects: 1000, users: 300, share: 10}, viewers)
	b := f.builder(f.options())
	ctx := context.Background()
	for v, frac := range viewers {
		for _, page := range []int64{0, 5} {
			s := b.Select(ctx, v, From("data d"), Columns("d.id", "d.object_name", "d.payload"),
				Guard("TABLE", "d.object_name", "SELECT"), OrderBy("d.id"), Limit(50), Offset(page*50))
			sql, args, err := s.ToSql()
			require.NoError(t, err)
			var raw []byte
			require.NoError(t, f.db.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&raw))
			var plans []struct {
				Plan planNode `json:"Plan"`
			}
			require.NoError(t, json.Unmarshal(raw, &plans))
			var accessScans, seqScans []string
			plans[0].Plan.walk(func(n planNode) {
				if n.Index == "access_1_key" {
					accessScans = append(accessScans, n.NodeType)
				}
				if n.Relation == "access_1" && n.NodeType == "Seq Scan" {
					seqScans = append(seqScans, n.NodeType)
				}
			})
			require.NotEmpty(t, accessScans, "%s: the plan does not read the mirror through its index:\n%s", v, raw)
			require.Empty(t, seqScans, "%s (%.1f%%, page %d): the mirror must be read through its index:\n%s", v, frac*100, page, raw)
			// The statement also returns the right page.
			got := f.ids(s)
			require.Len(t, got, 50)
			every := int64(math.Round(1 / frac))
			for _, id := range got {
				require.Zero(t, (id*7919)%1000%every, fmt.Sprintf("%s sees row %d", v, id))
			}
		}
	}
}
