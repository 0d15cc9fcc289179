package pipeline_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/dirstore"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// BenchmarkRecursiveCTE computes the same granted-mode table as Flatten with the
// obvious alternative: the account's edges and grants loaded into Postgres and a
// WITH RECURSIVE closure joined to the grants. Loading is not timed. Compare with
// BenchmarkFlatten/granted on the same sizes:
//
//	go test ./pipeline -run '^$' -bench 'RecursiveCTE|Flatten' -benchtime 1x
func BenchmarkRecursiveCTE(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			a, err := sample.Generate(size)
			require.NoError(b, err)
			benchCTE(b, a)
		})
	}
}

// BenchmarkSyncToDirectoryNextToCTE runs, for each account, a whole sync to a
// directory target in granted mode (read the snapshot directory, flatten,
// publish into an empty directory) and then the recursive CTE of
// BenchmarkRecursiveCTE over the same account, one after the other in one run,
// so that both meet the same machine state:
//
//	go test ./pipeline -run '^$' -bench SyncToDirectoryNextToCTE -benchtime 1x -timeout 30m
func BenchmarkSyncToDirectoryNextToCTE(b *testing.B) {
	for _, size := range []sample.Options{
		{Users: 20_000, Roles: 4000, Grants: 400_000, Seed: 1},
		{Users: 50_000, Roles: 10_000, Grants: 1_000_000, Seed: 1},
	} {
		a, err := sample.Generate(size)
		require.NoError(b, err)
		src := b.TempDir()
		require.NoError(b, pipeline.WriteSnapshot(src, &model.Snapshot{Accounts: []*model.Account{a}}))
		b.Run(sizeName(size)+"/sync", func(b *testing.B) {
			ctx := context.Background()
			var rows int
			phases := map[string]float64{}
			cpu := cpuTime()
			for b.Loop() {
				s, err := dirstore.Open(b.TempDir())
				require.NoError(b, err)
				res, err := pipeline.Run(ctx, pipeline.Config{Source: pipeline.DirSource{Dir: src}, Store: s,
					Flatten: pipeline.Options{Mode: model.Granted}, Publish: model.DefaultPublishOptions()})
				require.NoError(b, err)
				rows = res.Mirror.Access.Len()
				for _, p := range res.Phases {
					phases[p.Name] += p.Duration.Seconds()
				}
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s")
			for name, total := range phases {
				b.ReportMetric(total/float64(b.N), name+"-s")
			}
			b.ReportMetric(float64(rows), "rows")
		})
		b.Run(sizeName(size)+"/cte", func(b *testing.B) { benchCTE(b, a) })
	}
}

// benchCTE loads the account's graph into a fresh schema and times the
// recursive CTE over it; loading is not timed.
func benchCTE(b *testing.B, a *model.Account) {
	pool := pgtest.Pool(b)
	schema := pgtest.Schema(b, pool)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(b, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET search_path = "+pgx.Identifier{schema}.Sanitize()+"; SET work_mem = '256MB'")
	require.NoError(b, err)
	loadGraph(b, conn.Conn(), a)

	var rows int64
	for b.Loop() {
		require.NoError(b, conn.QueryRow(ctx, `
WITH RECURSIVE closure(email, role) AS (
    SELECT email, role FROM user_roles
  UNION
    SELECT c.email, e.role FROM closure c JOIN role_edges e ON e.grantee = c.role
)
SELECT count(*) FROM (
    SELECT DISTINCT c.email, g.object_type, g.object_name, g.privilege
    FROM closure c JOIN role_grants g ON g.role = c.role
) access`).Scan(&rows))
	}
	b.ReportMetric(float64(rows), "rows")
}

// benchSizes are the account sizes both benchmarks run at.
var benchSizes = []sample.Options{
	{Users: 5000, Roles: 1000, Grants: 100_000, Seed: 1},
	{Users: 50_000, Roles: 10_000, Grants: 1_000_000, Seed: 1},
}

func sizeName(o sample.Options) string {
	return fmt.Sprintf("users=%d/roles=%d/grants=%d", o.Users, o.Roles, o.Grants)
}

// loadGraph writes the account as three tables, resolving what SQL should not have
// to (canonical names, OWNERSHIP expansion, emails), exactly as flatten does.
func loadGraph(b *testing.B, conn *pgx.Conn, a *model.Account) {
	ctx := context.Background()
	_, err := conn.Exec(ctx, `
CREATE TABLE user_roles (email text, role text);
CREATE TABLE role_edges (grantee text, role text);
CREATE TABLE role_grants (role text, object_type text, object_name text, privilege text)`)
	require.NoError(b, err)
	dropped := model.DroppedRoles(a)
	norm := ident.NewNormalizer(ident.Aliases{})
	var users, edges, grants [][]any
	active := map[string]string{}
	for _, u := range a.Users {
		if e, _ := norm.User(u.Name, u.Email); u.Active() && ident.ValidEmail(e) {
			active[u.Name] = e
			users = append(users, []any{e, model.PublicRole})
		}
	}
	for _, ug := range a.UserGrants {
		if e, ok := active[ug.Grantee]; ok && ug.DeletedOn.IsZero() && dropped[ident.Part(ug.Role)].IsZero() {
			users = append(users, []any{e, ident.Part(ug.Role)})
		}
	}
	graph := model.NewRoleGraph(a)
	for to, from := range graph.Inherits {
		for _, f := range from {
			edges = append(edges, []any{to, f})
		}
	}
	for i := range a.RoleGrants {
		rg := &a.RoleGrants[i]
		role := model.GranteeRole(rg)
		if !rg.DeletedOn.IsZero() || role == "" || !dropped[role].IsZero() || privilege.IsInheritance(rg.Privilege, rg.GrantedOn) {
			continue
		}
		name := model.ObjectName(rg)
		grants = append(grants, []any{role, rg.GrantedOn, name, rg.Privilege})
		if rg.Privilege == privilege.Ownership {
			for _, p := range privilege.Implied(rg.GrantedOn) {
				grants = append(grants, []any{role, rg.GrantedOn, name, p})
			}
		}
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"user_roles"}, []string{"email", "role"}, pgx.CopyFromRows(users))
	require.NoError(b, err)
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"role_edges"}, []string{"grantee", "role"}, pgx.CopyFromRows(edges))
	require.NoError(b, err)
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"role_grants"}, []string{"role", "object_type", "object_name", "privilege"}, pgx.CopyFromRows(grants))
	require.NoError(b, err)
	_, err = conn.Exec(ctx, `
CREATE INDEX ON role_edges (grantee);
CREATE INDEX ON role_grants (role);
ANALYZE user_roles; ANALYZE role_edges; ANALYZE role_grants`)
	require.NoError(b, err)
}
