package pipeline_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// reference is a deliberately naive second implementation of DESIGN.md's semantics:
// strings everywhere, a recursive walk per user, no sharing. Flatten must agree with
// it row for row, which checks both directions: no over-grant, no under-grant.
func reference(a *model.Account, opts pipeline.Options) []model.Row {
	norm := ident.NewNormalizer(opts.Aliases)
	gone := map[string]bool{}
	live := map[string]bool{}
	for _, r := range a.Roles {
		n := ident.Part(r.Name)
		if r.Type == "DATABASE_ROLE" {
			n = ident.Join(r.Database, r.Name)
		}
		if r.DeletedOn.IsZero() {
			live[n] = true
		} else {
			gone[n] = true
		}
	}
	for n := range live {
		delete(gone, n)
	}
	granteeOf := func(g model.RoleGrant) string {
		switch g.GrantedTo {
		case "ROLE":
			return ident.Part(g.Grantee)
		case "DATABASE_ROLE":
			db := g.Catalog
			if g.GrantedOn == "DATABASE" {
				db = g.Name
			}
			return ident.Join(db, g.Grantee)
		case "USER":
			return "user:" + g.Grantee
		}
		return ""
	}
	type held struct{ typ, name, priv string }
	inherits := map[string][]string{}
	holds := map[string][]held{}
	for _, g := range a.RoleGrants {
		to := granteeOf(g)
		if !g.DeletedOn.IsZero() || to == "" || gone[to] {
			continue
		}
		if g.Privilege == "USAGE" && (g.GrantedOn == "ROLE" || g.GrantedOn == "DATABASE_ROLE") {
			from := ident.Part(g.Name)
			if g.GrantedOn == "DATABASE_ROLE" {
				from = ident.Join(g.Catalog, g.Name)
			}
			if !gone[from] {
				inherits[to] = append(inherits[to], from)
			}
			continue
		}
		var name string
		switch {
		case g.GrantedOn == "DATABASE":
			name = ident.Part(g.Name)
		case g.GrantedOn == "SCHEMA" || g.GrantedOn == "DATABASE_ROLE":
			name = ident.Join(g.Catalog, g.Name)
		case g.Schema != "":
			name = ident.Join(g.Catalog, g.Schema, g.Name)
		default:
			name = ident.Part(g.Name)
		}
		holds[to] = append(holds[to], held{g.GrantedOn, name, g.Privilege})
		if g.Privilege == "OWNERSHIP" {
			for _, p := range privilege.Implied(g.GrantedOn) {
				holds[to] = append(holds[to], held{g.GrantedOn, name, p})
			}
		}
	}
	var visit func(r string, seen map[string]bool)
	visit = func(r string, seen map[string]bool) {
		if seen[r] {
			return
		}
		seen[r] = true
		for _, s := range inherits[r] {
			visit(s, seen)
		}
	}
	perEmail := map[string]map[string]bool{}
	for _, u := range a.Users {
		if !u.Active() {
			continue
		}
		email, _ := norm.User(u.Name, u.Email)
		if !ident.ValidEmail(email) {
			continue
		}
		seen := map[string]bool{}
		visit("PUBLIC", seen)
		visit("user:"+u.Name, seen)
		for _, ug := range a.UserGrants {
			if ug.Grantee == u.Name && ug.DeletedOn.IsZero() && !gone[ident.Part(ug.Role)] &&
				(opts.Roles != model.PrimaryRole || ug.Role == u.DefaultRole) {
				visit(ident.Part(ug.Role), seen)
			}
		}
		if perEmail[email] == nil {
			perEmail[email] = map[string]bool{}
		}
		for r := range seen {
			perEmail[email][r] = true
		}
	}
	var rows []model.Row
	for email, roles := range perEmail {
		set := map[held]bool{}
		for r := range roles {
			for _, h := range holds[r] {
				set[h] = true
			}
		}
		usage := func(typ, name string) bool { return set[held{typ, name, "USAGE"}] }
		for h := range set {
			if opts.Mode != model.Granted {
				parts := ident.Parts(h.name)
				switch {
				case h.typ == "SCHEMA" && !usage("DATABASE", parts[0]):
					continue
				case len(parts) == 3 && h.typ != "DATABASE_ROLE" && (!usage("DATABASE", parts[0]) || !usage("SCHEMA", parts[0]+"."+parts[1])):
					continue
				}
			}
			rows = append(rows, model.Row{Account: a.Name, Email: email, ObjectType: h.typ, ObjectName: h.name, Privilege: h.priv})
		}
	}
	slices.SortFunc(rows, model.Row.Compare)
	return rows
}

func TestFlattenAgreesWithReference(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 12; seed++ {
		for _, mode := range []model.Mode{model.Effective, model.Granted} {
			for _, roles := range []model.RoleMode{model.AllRoles, model.PrimaryRole} {
				t.Run(fmt.Sprintf("seed%d/%s/%s", seed, mode, roles), func(t *testing.T) {
					t.Parallel()
					a, err := sample.Generate(sample.Options{Users: 150 + int(seed)*20, Roles: 40 + int(seed)*5, Grants: 1500 + int(seed)*200, Seed: seed})
					require.NoError(t, err)
					opts := pipeline.Options{Mode: mode, Roles: roles, Aliases: ident.Aliases{Domains: map[string]string{"corp-sub.example": "example.com"}}}
					m, err := pipeline.Flatten(&model.Snapshot{Accounts: []*model.Account{a}}, opts)
					require.NoError(t, err)
					want := reference(a, opts)
					require.NotEmpty(t, want)
					require.Equal(t, want, slices.Collect(m.Access.All()))
				})
			}
		}
	}
}

func TestFlattenAgreesWithReferenceOnSamples(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"acme", "adversarial", "tiny"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			snap, err := pipeline.ReadSnapshot(filepath.Join("..", "testdata", "sample", name))
			require.NoError(t, err)
			opts := pipeline.Options{Aliases: ident.Aliases{Domains: map[string]string{"acme-emea.example": "acme.example"}}}
			m, err := pipeline.Flatten(snap, opts)
			require.NoError(t, err)
			require.Equal(t, reference(snap.Accounts[0], opts), slices.Collect(m.Access.All()))
		})
	}
}

// TestProvenanceExplainsEveryRow: every row is produced by a membership and a grant
// the mirror keeps, so explain can always show a path.
func TestProvenanceExplainsEveryRow(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "testdata", "sample", "acme"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{})
	require.NoError(t, err)
	roles := map[string]map[string]bool{}
	for _, ms := range m.Memberships {
		if roles[ms.Email] == nil {
			roles[ms.Email] = map[string]bool{}
		}
		roles[ms.Email][ms.Role] = true
		require.Equal(t, ms.Role, ms.Path[len(ms.Path)-1], "a path ends at its role")
	}
	grantees := map[[3]string][]string{}
	for _, g := range m.Grants {
		k := [3]string{g.ObjectType, g.ObjectName, g.Privilege}
		grantees[k] = append(grantees[k], g.Role)
	}
	for r := range m.Access.All() {
		found := false
		for _, role := range grantees[[3]string{r.ObjectType, r.ObjectName, r.Privilege}] {
			found = found || roles[r.Email][role]
		}
		require.True(t, found, "no provenance for %+v", r)
	}
}

func TestPrimaryRoleMode(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "testdata", "sample", "adversarial"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Roles: model.PrimaryRole})
	require.NoError(t, err)
	var got []string
	for r := range m.Access.For("ADV", "primary@adv.example") {
		got = append(got, r.ObjectName+" "+r.Privilege)
	}
	// U_PRIMARY's default role is P1: P2's warehouse is not active in a session.
	require.Equal(t, []string{"H1 IMAGINE", "WH_P1 USAGE", "WH_PUBLIC MONITOR", "WH_PUBLIC USAGE"}, got)
}

// BenchmarkFlatten measures flatten at the sizes of the performance budget, in both
// modes; granted mode is the one BenchmarkRecursiveCTE computes in SQL.
func BenchmarkFlatten(b *testing.B) {
	for _, size := range benchSizes {
		a, err := sample.Generate(size)
		require.NoError(b, err)
		snap := &model.Snapshot{Accounts: []*model.Account{a}}
		for _, mode := range []model.Mode{model.Effective, model.Granted} {
			b.Run(sizeName(size)+"/"+string(mode), func(b *testing.B) {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				var m *model.Mirror
				for b.Loop() {
					m = nil
					m, err = pipeline.Flatten(snap, pipeline.Options{Mode: mode, Now: time.Unix(0, 0)})
					require.NoError(b, err)
				}
				// What a generation holds once built: the access lists (shared between
				// people with the same roles), memberships and grants.
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(m.Access.Len()), "rows")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-held")
				runtime.KeepAlive(m)
			})
		}
	}
}
