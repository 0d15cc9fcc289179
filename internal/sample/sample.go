package sample

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Options size a generated account. The same options and seed give the same account.
type Options struct {
	Account string
	Users   int
	Roles   int
	Grants  int
	Seed    uint64
}

// Validate checks the sizes.
func (o *Options) Validate() error {
	if o.Account == "" {
		o.Account = "SAMPLE"
	}
	if o.Users < 1 || o.Roles < 4 || o.Grants < o.Roles {
		return fmt.Errorf("sample: want at least 1 user, 4 roles and as many grants as roles (got %d users, %d roles, %d grants)", o.Users, o.Roles, o.Grants)
	}
	return nil
}

// extractedAt is fixed so generated snapshots are byte-for-byte reproducible.
var extractedAt = time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)

// Generate builds an account. Roles form levels: functional roles (granted to
// people) at the top inherit team and access roles below them, up to twelve levels
// deep, with fan-in; database roles hold most object privileges; a few admin roles
// own most objects but are granted to few people, as in real accounts.
func Generate(o Options) (*model.Account, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), a: &model.Account{
		Name: o.Account, ExtractedAt: extractedAt, Source: fmt.Sprintf("sample:users=%d,roles=%d,grants=%d,seed=%d", o.Users, o.Roles, o.Grants, o.Seed),
		HasRoles: true,
	}}
	g.objects(o)
	g.roles(o)
	g.grants(o)
	g.users(o)
	return g.a, nil
}

type gen struct {
	r *rand.Rand
	a *model.Account

	dbs     []string
	schemas [][]string // per database
	objs    []obj
	levels  [][]string // account roles by level; level 0 is granted to people
	dbRoles [][]string // per database: DB role names (unqualified)
	admins  []string
}

type obj struct {
	typ, db, schema, name string
}

// name sometimes needs quoting in Snowflake: lower case or a space.
func (g *gen) name(prefix string, i int) string {
	switch g.r.IntN(40) {
	case 0:
		return fmt.Sprintf("%s %d", prefix, i)
	case 1:
		return fmt.Sprintf("%s_%d", lower(prefix), i)
	}
	return fmt.Sprintf("%s_%d", prefix, i)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

var objectTypes = []string{"TABLE", "TABLE", "TABLE", "VIEW", "VIEW", "MATERIALIZED_VIEW", "FUNCTION", "STAGE", "SEQUENCE", "DYNAMIC_TABLE"}

func (g *gen) objects(o Options) {
	nDB := max(2, o.Roles/60)
	nObj := max(20, o.Grants/6)
	for d := 0; d < nDB; d++ {
		g.dbs = append(g.dbs, g.name("DB", d))
		var ss []string
		for s := 0; s < 2+g.r.IntN(6); s++ {
			ss = append(ss, g.name("SCHEMA", s))
		}
		g.schemas = append(g.schemas, ss)
	}
	for i := 0; i < nObj; i++ {
		d := g.r.IntN(nDB)
		typ := objectTypes[g.r.IntN(len(objectTypes))]
		n := g.name("OBJ", i)
		if typ == "FUNCTION" {
			n = fmt.Sprintf("F_%d(VARCHAR):NUMBER", i)
		}
		g.objs = append(g.objs, obj{typ, g.dbs[d], g.schemas[d][g.r.IntN(len(g.schemas[d]))], n})
	}
}

func (g *gen) addRole(name, typ, db string) {
	deleted := time.Time{}
	g.a.Roles = append(g.a.Roles, model.Role{Name: name, Type: typ, Database: db, DeletedOn: deleted})
}

func (g *gen) roles(o Options) {
	// Four database roles per database at most, the rest account roles in up to
	// twelve levels: wide at the top (people's roles), narrow at the bottom.
	for _, db := range g.dbs {
		var rs []string
		for _, s := range []string{"READER", "ANALYST", "WRITER", "LOADER", "ADMIN"} {
			rs = append(rs, s)
			g.addRole(s, "DATABASE_ROLE", db)
		}
		g.dbRoles = append(g.dbRoles, rs)
	}
	n := o.Roles - 5*len(g.dbs)
	nAdmin := max(1, n/20)
	for i := 0; i < nAdmin; i++ {
		g.admins = append(g.admins, fmt.Sprintf("ADMIN_%d", i))
		g.addRole(g.admins[i], "ROLE", "")
	}
	n -= nAdmin
	depth := 12
	g.levels = make([][]string, depth)
	for i := 0; i < n; i++ {
		// Level sizes fall off geometrically so chains of 12 exist but are rare.
		l := 0
		for l < depth-1 && g.r.IntN(4) == 0 {
			l++
		}
		name := g.name(fmt.Sprintf("ROLE_L%d", l), i)
		g.levels[l] = append(g.levels[l], name)
		g.addRole(name, "ROLE", "")
	}
	// A dropped role that still has grants in the extract: it must grant nothing.
	g.addRole("DROPPED_ROLE", "ROLE", "")
	g.a.Roles[len(g.a.Roles)-1].DeletedOn = extractedAt.Add(-48 * time.Hour)
}

func (g *gen) grant(priv, on, name, catalog, schema, to, grantee string) {
	rg := model.RoleGrant{Privilege: priv, GrantedOn: on, Name: name, Catalog: catalog, Schema: schema, GrantedTo: to, Grantee: grantee}
	if g.r.IntN(50) == 0 {
		rg.DeletedOn = extractedAt.Add(-time.Duration(1+g.r.IntN(900)) * time.Hour)
	}
	g.a.RoleGrants = append(g.a.RoleGrants, rg)
}

// lower levels: a role at level l inherits one to three roles from deeper levels.
func (g *gen) below(l int) []string {
	var out []string
	n := 1
	if g.r.IntN(8) == 0 {
		n = 2
	}
	for k := 0; k < n; k++ {
		d := l + 1
		if d >= len(g.levels) || len(g.levels[d]) == 0 {
			continue
		}
		// Fan-in: deeper picks favour the first roles of a level.
		i := g.r.IntN(len(g.levels[d]))
		if g.r.IntN(2) == 0 {
			i = g.r.IntN(min(len(g.levels[d]), 5))
		}
		out = append(out, g.levels[d][i])
	}
	return out
}

func (g *gen) grants(o Options) {
	for l, roles := range g.levels {
		for _, r := range roles {
			for _, s := range g.below(l) {
				if s != r {
					g.grant("USAGE", "ROLE", s, "", "", "ROLE", r)
				}
			}
			if g.r.IntN(40) == 0 {
				d := g.r.IntN(len(g.dbs))
				g.grant("USAGE", "DATABASE_ROLE", g.dbRoles[d][g.r.IntN(2)], g.dbs[d], "", "ROLE", r)
			}
		}
	}
	// Admin roles sit above everything and are granted to few people.
	for i, a := range g.admins {
		for _, top := range g.levels[0][:min(3, len(g.levels[0]))] {
			g.grant("USAGE", "ROLE", top, "", "", "ROLE", a)
		}
		d := i % len(g.dbs)
		g.grant("USAGE", "DATABASE_ROLE", g.dbRoles[d][2+g.r.IntN(3)], g.dbs[d], "", "ROLE", a)
	}
	g.grant("USAGE", "WAREHOUSE", "COMPUTE_WH", "", "", "ROLE", "PUBLIC")
	g.grant("USAGE", "ROLE", g.levels[0][0], "", "", "ROLE", "DROPPED_ROLE")
	g.grant("SELECT", "TABLE", "SECRET", g.dbs[0], g.schemas[0][0], "ROLE", "DROPPED_ROLE")

	// Containers: database roles and access roles get USAGE where their objects are,
	// except now and then, which is the "SELECT without USAGE" case effective mode drops.
	for d, db := range g.dbs {
		for _, dr := range g.dbRoles[d] {
			g.grant("USAGE", "DATABASE", db, "", "", "DATABASE_ROLE", dr)
			for _, s := range g.schemas[d] {
				if g.r.IntN(10) > 0 {
					g.grant("USAGE", "SCHEMA", s, db, "", "DATABASE_ROLE", dr)
				}
			}
		}
		g.grant("OWNERSHIP", "DATABASE", db, "", "", "ROLE", g.admins[d%len(g.admins)])
	}
	var deep []string
	for _, roles := range g.levels[1:] {
		deep = append(deep, roles...)
	}
	for len(g.a.RoleGrants) < o.Grants {
		ob := g.objs[g.r.IntN(len(g.objs))]
		priv := "SELECT"
		switch ob.typ {
		case "FUNCTION", "STAGE", "SEQUENCE":
			priv = "USAGE"
		case "TABLE":
			if g.r.IntN(4) == 0 {
				priv = []string{"INSERT", "UPDATE", "DELETE"}[g.r.IntN(3)]
			}
		}
		// Most privileges sit with service roles few people hold (owners, loaders);
		// people reach a smaller share through read roles and their team roles.
		d := indexOf(g.dbs, ob.db)
		switch k := g.r.IntN(100); {
		case k < 45:
			g.grant("OWNERSHIP", ob.typ, ob.name, ob.db, ob.schema, "ROLE", g.admins[g.r.IntN(len(g.admins))])
		case k < 70:
			g.grant(priv, ob.typ, ob.name, ob.db, ob.schema, "DATABASE_ROLE", g.dbRoles[d][2+g.r.IntN(3)])
		case k < 82:
			g.grant(priv, ob.typ, ob.name, ob.db, ob.schema, "DATABASE_ROLE", g.dbRoles[d][g.r.IntN(2)])
		default:
			var r string
			if k < 97 || len(deep) == 0 {
				r = g.levels[0][g.r.IntN(len(g.levels[0]))]
			} else {
				r = deep[g.r.IntN(len(deep))]
			}
			g.grant(priv, ob.typ, ob.name, ob.db, ob.schema, "ROLE", r)
			if g.r.IntN(3) == 0 && len(g.a.RoleGrants)+2 <= o.Grants {
				g.grant("USAGE", "SCHEMA", ob.schema, ob.db, "", "ROLE", r)
				g.grant("USAGE", "DATABASE", ob.db, "", "", "ROLE", r)
			}
		}
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

var domains = []string{"example.com", "example.com", "example.com", "example.com", "corp-sub.example"}

func (g *gen) users(o Options) {
	top := g.levels[0]
	for i := 0; i < o.Users; i++ {
		name := fmt.Sprintf("USER_%d", i)
		u := model.User{Name: name, Email: fmt.Sprintf("person%d@%s", i, domains[g.r.IntN(len(domains))]), Type: "PERSON"}
		switch k := g.r.IntN(100); {
		case k < 2: // service account with an ID where the email should be
			u.Email, u.Type = fmt.Sprintf("%d", 100000+i), "SERVICE"
		case k < 4:
			u.Email = ""
		case k < 7:
			u.Disabled = true
		case k < 8 && i%10 == 0: // a second, admin user for the same person
			g.a.Users = append(g.a.Users, model.User{Name: name + "_ADMIN", Email: u.Email, Type: "PERSON"})
			g.a.UserGrants = append(g.a.UserGrants, model.UserGrant{Role: g.admins[g.r.IntN(len(g.admins))], Grantee: name + "_ADMIN"})
		case k < 11: // dropped and recreated
			old := u
			old.DeletedOn = extractedAt.Add(-72 * time.Hour)
			g.a.Users = append(g.a.Users, old)
		}
		// People cluster in teams: most hold one of a few popular roles.
		n := 1 + g.r.IntN(3)
		for k := 0; k < n; k++ {
			r := top[g.r.IntN(len(top))]
			if g.r.IntN(3) > 0 {
				r = top[g.r.IntN(min(len(top), 20))]
			}
			ug := model.UserGrant{Role: r, Grantee: name}
			if g.r.IntN(40) == 0 {
				ug.DeletedOn = extractedAt.Add(-time.Duration(1+g.r.IntN(500)) * time.Hour)
			}
			g.a.UserGrants = append(g.a.UserGrants, ug)
			if k == 0 {
				u.DefaultRole = r
			}
		}
		g.a.Users = append(g.a.Users, u)
	}
}
