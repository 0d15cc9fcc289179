package explain

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

var acmeAliases = ident.Aliases{
	Domains: map[string]string{"acme-emea.example": "acme.example"},
	Users:   map[string]string{"AIRFLOW": "data-platform@acme.example"},
}

func load(t testing.TB, name string, aliases ident.Aliases) (*model.Snapshot, *model.Mirror) {
	t.Helper()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "sample", name))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Aliases: aliases, Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	return snap, m
}

// TestEveryRowHasRealPaths: for every published row explain shows at least one path,
// and every step of every path is a grant that exists in the snapshot.
func TestEveryRowHasRealPaths(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"acme", "adversarial"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			snap, m := load(t, name, acmeAliases)
			a := snap.Accounts[0]
			graph := model.NewRoleGraph(a)
			norm := ident.NewNormalizer(acmeAliases)
			direct := map[[2]string]bool{}
			for _, ug := range a.UserGrants {
				if ug.DeletedOn.IsZero() {
					direct[[2]string{ug.Grantee, ident.Part(ug.Role)}] = true
				}
			}
			users := map[string]*model.User{}
			for i := range a.Users {
				if a.Users[i].Active() {
					users[a.Users[i].Name] = &a.Users[i]
				}
			}
			held := map[[4]string]bool{} // role, type, name, privilege from the raw rows
			for i := range a.RoleGrants {
				rg := &a.RoleGrants[i]
				if !rg.DeletedOn.IsZero() {
					continue
				}
				k := [4]string{model.GranteeRole(rg), rg.GrantedOn, model.ObjectName(rg), rg.Privilege}
				held[k] = true
				if rg.Privilege == privilege.Ownership {
					for _, p := range privilege.Implied(rg.GrantedOn) {
						k[3] = p
						held[k] = true
					}
				}
			}
			ix := newIndex(m)
			for r := range m.Access.All() {
				ans := explainWith(ix, m, Query{Email: r.Email, Object: r.ObjectName, Privilege: r.Privilege}, norm)
				require.True(t, ans.Allowed, "%+v", r)
				require.Len(t, ans.Reasons, 1, "%+v", r)
				require.NotEmpty(t, ans.Reasons[0].Paths, "%+v", r)
				for _, p := range ans.Reasons[0].Paths {
					u := users[p.User]
					require.NotNil(t, u, "path through inactive or unknown user %s", p.User)
					e, _ := norm.User(u.Name, u.Email)
					require.Equal(t, r.Email, e)
					first := p.Roles[0]
					require.True(t, first == model.PublicRole || first == "USER "+ident.Part(u.Name) || direct[[2]string{u.Name, first}],
						"%s is not granted to %s", first, u.Name)
					for i := 1; i < len(p.Roles); i++ {
						require.True(t, graph.Has(p.Roles[i-1], p.Roles[i]), "%s does not inherit %s", p.Roles[i-1], p.Roles[i])
					}
					last := p.Roles[len(p.Roles)-1]
					require.Equal(t, last, p.Grant.Role)
					require.True(t, held[[4]string{last, r.ObjectType, r.ObjectName, r.Privilege}], "%s does not hold %+v", last, r)
				}
			}
		})
	}
}

// explainWith reuses an index across many questions; Explain builds its own.
func explainWith(ix *index, m *model.Mirror, q Query, norm *ident.Normalizer) *Answer {
	return explain(ix, m, q, norm, nil)
}

// TestFixesGrantAccess: for denied questions, applying the fixes of the most useful
// reason to the snapshot makes the access appear.
func TestFixesGrantAccess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sample, email, object, priv string
		kind                        string
	}{
		{"acme", "carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "SELECT", MissUsage},
		{"acme", "erin.kowalski@acme.example", "HR.PEOPLE.EMPLOYEES", "SELECT", MissUserDisabled},
		{"acme", "bob.nguyen@acme.example", "FINANCE.PAYROLL.BONUSES", "SELECT", MissGrantRevoked},
		{"acme", "bob.nguyen@acme.example", "FINANCE.PAYROLL.SALARIES", "SELECT", MissRoleNotHeld},
		{"acme", "bob.nguyen@acme.example", "SALES.PUBLIC.ORDERS", "INSERT", MissRoleNotHeld},
		{"acme", "carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "TRUNCATE", MissPrivilege},
		{"acme", "alice.martin@acme.example", "FINANCE.PAYROLL.SALARIES", "SELECT", MissRoleNotHeld},
		{"adversarial", "nousage@adv.example", "ADV_DB.S.T1", "SELECT", MissUsage},
		{"adversarial", "delrole@adv.example", "ADV_DB.S.T1", "SELECT", MissRoleNotHeld},
		{"adversarial", "off@adv.example", "ADV_DB", "USAGE", MissUserDisabled},
		{"adversarial", "cycle@adv.example", "ADV_DB.S.T3", "SELECT", MissRoleNotHeld},
		{"tiny", "anna@tiny.example", "SHOP.HIDDEN.SECRETS", "SELECT", MissRoleNotHeld},
		{"tiny", "anna@tiny.example", "SHOP.PUBLIC.ITEMS", "INSERT", MissRoleNotHeld},
	} {
		t.Run(tc.sample+"/"+tc.email+"/"+tc.object+"/"+tc.priv, func(t *testing.T) {
			t.Parallel()
			snap, m := load(t, tc.sample, acmeAliases)
			norm := ident.NewNormalizer(acmeAliases)
			q := Query{Email: tc.email, Object: tc.object, Privilege: tc.priv}
			ans := Explain(m, q, norm)
			require.False(t, ans.Allowed)
			require.NotEmpty(t, ans.Misses)
			require.Equal(t, tc.kind, ans.Misses[0].Kind, "%+v", ans.Misses)
			for _, miss := range ans.Misses {
				if miss.Kind != ans.Misses[0].Kind {
					break
				}
				require.NotEmpty(t, miss.Fixes, "%+v", miss)
				for _, f := range miss.Fixes {
					applyFix(t, snap.Accounts[0], f)
				}
			}
			fixed, err := pipeline.Flatten(snap, pipeline.Options{Aliases: acmeAliases})
			require.NoError(t, err)
			after := Explain(fixed, q, norm)
			require.True(t, after.Allowed, "still denied after %+v: %+v", ans.Misses, after.Misses)
		})
	}
}

// applyFix changes a snapshot the way the fix's SQL would change Snowflake.
func applyFix(t *testing.T, a *model.Account, f Fix) {
	t.Helper()
	role := func(name string) (kind, db, role string) {
		parts, err := ident.Split(name)
		require.NoError(t, err)
		if len(parts) == 2 {
			return "DATABASE_ROLE", parts[0], parts[1]
		}
		return "ROLE", "", parts[0]
	}
	switch f.Action {
	case "grant_privilege":
		parts, err := ident.Split(f.Object)
		require.NoError(t, err)
		g := model.RoleGrant{Privilege: f.Privilege, GrantedOn: f.ObjectType}
		switch {
		case f.ObjectType == "SCHEMA":
			g.Catalog, g.Name = parts[0], parts[1]
		case len(parts) == 3:
			g.Catalog, g.Schema, g.Name = parts[0], parts[1], parts[2]
		default:
			g.Name = parts[0]
		}
		kind, db, r := role(f.Role)
		g.GrantedTo, g.Grantee = kind, r
		if db != "" && g.Catalog == "" {
			g.Catalog = db
		}
		a.RoleGrants = append(a.RoleGrants, g)
	case "grant_role":
		kind, db, r := role(f.Role)
		if f.User != "" {
			a.UserGrants = append(a.UserGrants, model.UserGrant{Role: r, Grantee: f.User})
			return
		}
		_, _, to := role(f.ToRole)
		a.RoleGrants = append(a.RoleGrants, model.RoleGrant{Privilege: "USAGE", GrantedOn: kind, Name: r, Catalog: db, GrantedTo: "ROLE", Grantee: to})
	case "enable_user":
		for i := range a.Users {
			if a.Users[i].Name == f.User {
				a.Users[i].Disabled = false
			}
		}
	default:
		t.Fatalf("no way to apply %+v", f)
	}
}

// coverGrant is a local grant as grantmirror grant add records it.
func coverGrant(email, object string) []LocalGrant {
	return []LocalGrant{{
		Row: model.Row{Account: "TINY", Email: email, ObjectType: "TABLE", ObjectName: object, Privilege: "SELECT"},
		ID:  12, GrantedBy: "carol@tiny.example", Approver: "dave@tiny.example", Reason: "covers for ben during the audit",
		CreatedAt: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	}}
}

func TestExplainGolden(t *testing.T) {
	t.Parallel()
	moment := time.Date(2026, 11, 3, 8, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, sample, email, object, priv string
		aliases                           ident.Aliases
		local                             []LocalGrant
		at                                time.Time // an answer from history, without provenance
	}{
		{"allowed", "acme", "alice.martin@acme.example", "SALES.PUBLIC.ORDERS", "SELECT", acmeAliases, nil, time.Time{}},
		{"all-privileges", "tiny", "ben@tiny.example", "SHOP.PUBLIC.V_STOCK", "", ident.Aliases{}, nil, time.Time{}},
		{"missing-usage", "acme", "carol.smith@acme.example", "SALES.PUBLIC.ORDERS", "SELECT", acmeAliases, nil, time.Time{}},
		{"revoked", "acme", "bob.nguyen@acme.example", "FINANCE.PAYROLL.BONUSES", "SELECT", acmeAliases, nil, time.Time{}},
		{"disabled", "acme", "erin.kowalski@acme.example", "HR.PEOPLE.EMPLOYEES", "SELECT", acmeAliases, nil, time.Time{}},
		{"unaliased", "acme", "alice.martin@acme-emea.example", "SALES.PUBLIC.ORDERS", "SELECT", ident.Aliases{}, nil, time.Time{}},
		{"near-miss", "acme", "alice.martim@acme.example", "SALES.PUBLIC.ORDERS", "SELECT", acmeAliases, nil, time.Time{}},
		{"no-grant", "tiny", "anna@tiny.example", "SHOP.PUBLIC.ITEM", "SELECT", ident.Aliases{}, nil, time.Time{}},
		{"cycle", "adversarial", "cycle@adv.example", "ADV_DB.S.T1", "SELECT", ident.Aliases{}, nil, time.Time{}},
		{"dropped-role", "adversarial", "delrole@adv.example", "ADV_DB.S.T1", "SELECT", ident.Aliases{}, nil, time.Time{}},
		{"local-grant", "tiny", "zoe@tiny.example", "SHOP.PUBLIC.ITEMS", "SELECT", ident.Aliases{}, coverGrant("zoe@tiny.example", "SHOP.PUBLIC.ITEMS"), time.Time{}},
		{"local-grant-beyond-roles", "tiny", "anna@tiny.example", "SHOP.HIDDEN.SECRETS", "", ident.Aliases{}, coverGrant("anna@tiny.example", "SHOP.HIDDEN.SECRETS"), time.Time{}},
		{"history", "tiny", "ben@tiny.example", "SHOP.PUBLIC.ITEMS", "", ident.Aliases{}, nil, moment},
		{"history-denied", "tiny", "anna@tiny.example", "SHOP.HIDDEN.SECRETS", "SELECT", ident.Aliases{}, nil, moment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, m := load(t, tc.sample, tc.aliases)
			if !tc.at.IsZero() {
				// What a store answers once the generation is pruned: its rows
				// and metadata, no provenance, no snapshot.
				m = &model.Mirror{Meta: m.Meta, Access: m.Access}
			}
			ans := Explain(m, Query{Email: tc.email, Object: tc.object, Privilege: tc.priv}, ident.NewNormalizer(tc.aliases))
			ans.AddLocalGrants(tc.local)
			ans.At, ans.NoPaths = tc.at, !tc.at.IsZero()
			for _, f := range []struct {
				ext   string
				write func(*bytes.Buffer) error
			}{
				{"txt", func(b *bytes.Buffer) error { return WriteText(b, ans) }},
				{"json", func(b *bytes.Buffer) error { return WriteJSON(b, ans) }},
				{"dot", func(b *bytes.Buffer) error { return WriteDot(b, ans) }},
				{"mmd", func(b *bytes.Buffer) error { return WriteMermaid(b, ans) }},
			} {
				var got bytes.Buffer
				require.NoError(t, f.write(&got))
				path := filepath.Join("testdata", tc.name+"."+f.ext)
				if *update {
					require.NoError(t, os.MkdirAll("testdata", 0o755))
					require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err)
				require.Equal(t, string(want), got.String())
				// A picture of a denial shows every fix the text prints.
				if f.ext == "dot" || f.ext == "mmd" {
					drawn := strings.ReplaceAll(got.String(), "<br>", " ")
					for _, m := range ans.Misses {
						require.Contains(t, drawn, m.Kind+":", "%s.%s draws the miss", tc.name, f.ext)
						for _, fix := range m.Fixes {
							if fix.SQL != "" {
								require.Contains(t, drawn, fix.SQL, "%s.%s draws the fix", tc.name, f.ext)
							}
						}
					}
				}
			}
		})
	}
}

// TestLocalGrantsAnswerOnlyTheirQuestion adds local grants that differ from the
// question in one way each: none of them answers it.
func TestLocalGrantsAnswerOnlyTheirQuestion(t *testing.T) {
	t.Parallel()
	_, m := load(t, "tiny", ident.Aliases{})
	q := Query{Email: "zoe@tiny.example", Object: "SHOP.PUBLIC.ITEMS", Privilege: "SELECT", Account: "TINY"}
	for _, c := range []struct {
		name string
		edit func(g *LocalGrant)
		want bool
	}{
		{"the same row", func(g *LocalGrant) {}, true},
		{"another person", func(g *LocalGrant) { g.Email = "yuri@tiny.example" }, false},
		{"another object", func(g *LocalGrant) { g.ObjectName = "SHOP.PUBLIC.V_STOCK" }, false},
		{"another privilege", func(g *LocalGrant) { g.Privilege = "INSERT" }, false},
		{"another account", func(g *LocalGrant) { g.Account = "OTHER" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			grants := coverGrant(q.Email, q.Object)
			c.edit(&grants[0])
			ans := Explain(m, q, ident.NewNormalizer(ident.Aliases{}))
			require.False(t, ans.Allowed)
			ans.AddLocalGrants(grants)
			require.Equal(t, c.want, ans.Allowed)
			require.Len(t, ans.Reasons, map[bool]int{true: 1, false: 0}[c.want])
			require.NotEmpty(t, ans.Misses, "Snowflake's misses stay")
		})
	}
}

// TestLoginRules: an expired user's why-not names the expiry and the ALTER USER
// that lifts it; every answer says which secondary-role rule shaped each user.
func TestLoginRules(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "conformance", "login"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Roles: model.PrimaryRole})
	require.NoError(t, err)
	norm := ident.NewNormalizer(ident.Aliases{})

	ann := Explain(m, Query{Email: "ann@example.com", Object: "DB.S.T1", Privilege: "SELECT"}, norm)
	require.False(t, ann.Allowed)
	require.Len(t, ann.Misses, 1)
	require.Equal(t, MissUserExpired, ann.Misses[0].Kind)
	require.Contains(t, ann.Misses[0].Detail, "2026-10-31T23:59:59Z")
	require.Equal(t, "ALTER USER ANN UNSET DAYS_TO_EXPIRY", ann.Misses[0].Fixes[0].SQL)
	require.Empty(t, ann.Sessions, "an expired user has no sessions")

	// FAY's own setting ([]) keeps WRITER out; GUS's (["ALL"]) brings it in; HAL's
	// empty cell (NULL: unset) and IDA's unknown value fall back to the configured mode.
	for _, tc := range []struct {
		email, roles, source string
		insert               bool
	}{
		{"fay@example.com", "primary", "DEFAULT_SECONDARY_ROLE is []", false},
		{"gus@example.com", "all", `DEFAULT_SECONDARY_ROLE is ["ALL"]`, true},
		{"hal@example.com", "primary", "DEFAULT_SECONDARY_ROLE is not set or not extracted; the configured --roles primary applies", false},
		{"ida@example.com", "primary", "not a documented value; the configured --roles primary applies", false},
	} {
		ans := Explain(m, Query{Email: tc.email, Object: "DB.S.T1", Privilege: "INSERT"}, norm)
		require.Equal(t, tc.insert, ans.Allowed, tc.email)
		require.Len(t, ans.Sessions, 1, tc.email)
		require.Equal(t, tc.roles, ans.Sessions[0].Roles, tc.email)
		require.Contains(t, ans.Sessions[0].Source, tc.source, tc.email)
		var txt bytes.Buffer
		require.NoError(t, WriteText(&txt, ans))
		require.Contains(t, txt.String(), "roles: user ", tc.email)
	}

	// FAY holds WRITER, which gives INSERT, but only her default role counts.
	fay := Explain(m, Query{Email: "fay@example.com", Object: "DB.S.T1", Privilege: "INSERT"}, norm)
	require.Len(t, fay.Misses, 1)
	require.Equal(t, MissRoleInactive, fay.Misses[0].Kind)
	require.Contains(t, fay.Misses[0].Detail, "user FAY holds role WRITER")
	require.Equal(t, "ALTER USER FAY SET DEFAULT_SECONDARY_ROLES = ('ALL')", fay.Misses[0].Fixes[0].SQL)
	// GUS holds it in session: no such miss for a role he lacks altogether.
	gus := Explain(m, Query{Email: "gus@example.com", Object: "DB.OTHER.T3", Privilege: "SELECT"}, norm)
	for _, miss := range gus.Misses {
		require.NotEqual(t, MissRoleInactive, miss.Kind)
	}
}

// TestRoleKindsInFixes: a fix that grants an application role says APPLICATION
// ROLE; one that would grant an instance role has no statement, since granting it
// names a class the snapshot does not hold.
func TestRoleKindsInFixes(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "conformance", "role-kinds"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{})
	require.NoError(t, err)
	norm := ident.NewNormalizer(ident.Aliases{})

	ans := Explain(m, Query{Email: "amy@example.com", Object: "APPDB.CORE.AUDIT", Privilege: "SELECT"}, norm)
	require.False(t, ans.Allowed)
	require.Len(t, ans.Misses, 1)
	require.Equal(t, MissRoleNotHeld, ans.Misses[0].Kind)
	require.Contains(t, ans.Misses[0].Detail, "application role APPDB.APP_AUDITOR")
	require.Equal(t, "GRANT APPLICATION ROLE APPDB.APP_AUDITOR TO ROLE APP_USERS", ans.Misses[0].Fixes[0].SQL)

	ok := Explain(m, Query{Email: "bob@example.com", Object: "ML.MODELS.CHURN_SCORES", Privilege: "SELECT"}, norm)
	require.True(t, ok.Allowed)
	require.Equal(t, []string{"ML_USERS", "ML.MODELS.CHURN!MLCONSUMER"}, ok.Reasons[0].Paths[0].Roles)

	no := Explain(m, Query{Email: "amy@example.com", Object: "ML.MODELS.CHURN_SCORES", Privilege: "SELECT"}, norm)
	require.False(t, no.Allowed)
	var fix *Fix
	for i := range no.Misses {
		if no.Misses[i].Kind == MissRoleNotHeld {
			fix = &no.Misses[i].Fixes[0]
			require.Contains(t, no.Misses[i].Detail, "instance role ML.MODELS.CHURN!MLCONSUMER")
		}
	}
	require.NotNil(t, fix)
	require.Equal(t, "grant_role", fix.Action)
	require.Empty(t, fix.SQL)
}

// TestNotMirroredInAnswers: explain lists the untranslated policies of the object
// asked about (its own, its columns', those set above it) and nothing about other
// objects.
func TestNotMirroredInAnswers(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "conformance", "policies"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{})
	require.NoError(t, err)
	norm := ident.NewNormalizer(ident.Aliases{})
	ans := Explain(m, Query{Email: "ana@example.com", Object: "HR.CORE.PEOPLE", Privilege: "SELECT"}, norm)
	require.True(t, ans.Allowed)
	var what []string
	for _, g := range ans.NotMirrored {
		what = append(what, g.What)
	}
	require.ElementsMatch(t, []string{"masking policy GOV.POL.MISSING", "masking policy GOV.POL.WEIRD"}, what)
	var txt bytes.Buffer
	require.NoError(t, WriteText(&txt, ans))
	require.Contains(t, txt.String(), "not mirrored (the mirror's fallback, not Snowflake's answer):\n  - masking policy GOV.POL.MISSING on HR.CORE.PEOPLE.ADDRESS")

	archive := Explain(m, Query{Email: "ana@example.com", Object: "HR.ARCHIVE.OLD", Privilege: "SELECT"}, norm)
	require.Len(t, archive.NotMirrored, 1, "the schema's tag reaches the table")
	orders := Explain(m, Query{Email: "ana@example.com", Object: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"}, norm)
	require.Len(t, orders.NotMirrored, 1)
	require.Equal(t, "row access policy GOV.POL.REGION", orders.NotMirrored[0].What)
}
