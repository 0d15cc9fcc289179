package pipeline

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
)

// Options are the semantic choices of a flatten.
type Options struct {
	Mode    Mode
	Roles   RoleMode
	Aliases ident.Aliases
	// PIITags names the tags (TAG_NAME, or DB.SCHEMA.TAG) that mark a column as PII,
	// compared case-insensitively. Columns with a masking policy are always masked.
	PIITags []string
	// Now stamps the generation; zero means time.Now.
	Now time.Time
}

// DefaultPIITags are Snowflake's classification tag and the conventional PII tag.
var DefaultPIITags = []string{"PRIVACY_CATEGORY", "SEMANTIC_CATEGORY", "PII"}

// Validate checks the options, filling defaults.
func (o *Options) Validate() error {
	switch o.Mode {
	case "":
		o.Mode = Effective
	case Effective, Granted:
	default:
		return fmt.Errorf("mode %q: want effective or granted", o.Mode)
	}
	switch o.Roles {
	case "":
		o.Roles = AllRoles
	case AllRoles, PrimaryRole:
	default:
		return fmt.Errorf("roles %q: want all or primary", o.Roles)
	}
	if o.PIITags == nil {
		o.PIITags = DefaultPIITags
	}
	return nil
}

// PublicRole is held by every user.
const PublicRole = "PUBLIC"

// Flatten computes the mirror of a snapshot. It is deterministic: the same snapshot
// gives the same mirror whatever the order of its rows.
func Flatten(snap *Snapshot, opts Options) (*Mirror, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	m := &Mirror{
		Meta:     Meta{PublishedAt: now.UTC(), Mode: opts.Mode, Roles: opts.Roles},
		Access:   &Access{},
		Snapshot: snap,
	}
	norm := ident.NewNormalizer(opts.Aliases)
	for _, a := range snap.Accounts {
		m.Meta.Accounts = append(m.Meta.Accounts, AccountMeta{Name: a.Name, ExtractedAt: a.ExtractedAt, Source: a.Source})
		if err := flattenAccount(m, a, norm, opts); err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Name, err)
		}
	}
	m.Meta.Rows = m.Access.Len()
	return m, nil
}

// graph is one account's role graph with interned names. Object privileges are
// interned as three small integers (type, name, privilege) so the millions of
// lookups a large account needs hash one machine word, not three strings.
type graph struct {
	roles   []string         // id → canonical role name
	roleID  map[string]int32 // canonical name → id
	gone    map[string]bool  // roles dropped per roles.csv
	inherit [][]int32        // role → roles it inherits, sorted by name after build
	// grants holds, per role, the object-privileges it holds as id<<1 | implied,
	// where implied marks a privilege held only through OWNERSHIP.
	grants [][]int32

	types, names, privs intern
	// byName lists, per interned name, the object-privileges on objects of that
	// name: a grant row and its OWNERSHIP expansion find the object by index, and
	// its few privileges in a short list.
	byName  [][]privID
	keys    []uint64 // id → packed key
	objects []object // id → strings, filled by sortObjects
	// needs holds, per object-privilege id, the USAGE ids (on database, on schema)
	// that effective mode requires; -1 when none.
	needs [][2]int32
}

// intern numbers distinct strings.
type intern struct {
	ids  map[string]int32
	strs []string
}

func (in *intern) id(s string) int32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	if in.ids == nil {
		in.ids = map[string]int32{}
	}
	id := int32(len(in.strs))
	in.strs = append(in.strs, s)
	in.ids[s] = id
	return id
}

// ranks returns, per id, the position of its string in sorted order.
func (in *intern) ranks() []uint64 {
	order := make([]int32, len(in.strs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(in.strs[x], in.strs[y]) })
	rank := make([]uint64, len(order))
	for r, id := range order {
		rank[id] = uint64(r)
	}
	return rank
}

func (g *graph) role(name string) int32 {
	if id, ok := g.roleID[name]; ok {
		return id
	}
	id := int32(len(g.roles))
	g.roles = append(g.roles, name)
	g.roleID[name] = id
	g.inherit = append(g.inherit, nil)
	g.grants = append(g.grants, nil)
	return id
}

type privID struct{ typ, priv, id int32 }

func pack(typ, name, priv int32) uint64 {
	return uint64(name)<<32 | uint64(typ)<<16 | uint64(priv)
}

// privileges returns the object-privileges interned so far on objects of a name.
func (g *graph) privileges(name int32) []privID {
	if int(name) < len(g.byName) {
		return g.byName[name]
	}
	return nil
}

// object interns an object-privilege given the ids of its parts; known, when not
// nil, is what privileges returned for the object, saving the map lookup.
func (g *graph) object(typ, name, priv int32) int32 {
	return g.objectIn(g.privileges(name), typ, name, priv)
}

func (g *graph) objectIn(known []privID, typ, name, priv int32) int32 {
	for _, p := range known {
		if p.priv == priv && p.typ == typ {
			return p.id
		}
	}
	id := int32(len(g.keys))
	g.keys = append(g.keys, pack(typ, name, priv))
	for int(name) >= len(g.byName) {
		g.byName = append(g.byName, nil)
	}
	g.byName[name] = append(g.byName[name], privID{typ, priv, id})
	g.needs = append(g.needs, [2]int32{-1, -1})
	return id
}

// roleName canonicalizes a role: account roles are one part, database and
// application roles are DB.ROLE. A name that arrives already qualified is kept.
func roleName(name, database string) string {
	if database == "" {
		return ident.Part(name)
	}
	if strings.Contains(name, ".") {
		if parts, err := ident.SplitStored(name); err == nil && len(parts) == 2 {
			return ident.Join(parts...)
		}
	}
	return ident.Join(database, name)
}

// userRole is the pseudo-role holding privileges granted straight to a user
// (GRANTED_TO = USER). Its name cannot collide with a canonical role name: those
// are bare words or start with a quote.
func userRole(user string) string { return "USER " + ident.Part(user) }

// grantee returns the canonical role a grant row is granted to, or "" when no user
// can reach that grantee: an application holds its grants for its own code, and a
// share's grants reach another account.
func grantee(g *RoleGrant) string {
	switch g.GrantedTo {
	case "ROLE":
		return ident.Part(g.Grantee)
	case "DATABASE_ROLE", "APPLICATION_ROLE":
		db := g.Catalog
		if g.GrantedOn == "DATABASE" {
			db = g.Name
		}
		if db == "" {
			if parts, err := ident.SplitStored(g.Grantee); err == nil && len(parts) == 2 {
				return ident.Join(parts...)
			}
			return ""
		}
		return roleName(g.Grantee, db)
	case "INSTANCE_ROLE":
		return instanceRole(g.Grantee, g.Catalog, g.Schema, "")
	case "USER":
		return userRole(g.Grantee)
	}
	return ""
}

// instanceRole canonicalizes a role of a class instance the way Snowflake writes
// it, DB.SCHEMA.INSTANCE!ROLE. The instance comes from OBJECT_INSTANCE or from a
// name that already carries it (INSTANCE!ROLE); without either the role cannot be
// told apart from the roles of other instances, and "" leaves the row out.
func instanceRole(name, catalog, schema, instance string) string {
	inst, role, ok := strings.Cut(name, "!")
	switch {
	case ok && strings.Contains(inst, "."):
		if parts, err := ident.SplitStored(inst); err == nil && len(parts) == 3 {
			return ident.Join(parts...) + "!" + ident.Part(role)
		}
		return ""
	case ok && catalog != "" && schema != "":
		return ident.Join(catalog, schema, inst) + "!" + ident.Part(role)
	case !ok && instance != "":
		if parts, err := ident.SplitStored(instance); err == nil && len(parts) == 3 {
			return ident.Join(parts...) + "!" + ident.Part(name)
		}
	}
	return ""
}

// objectKind says which of SNOWFLAKE.md's container rules names the object of a
// grant row: 'd' a database, 's' a schema, 'r' a database or application role,
// 'i' an instance role, 'o' an object in a schema, 'a' an account object.
func objectKind(g *RoleGrant) byte {
	switch {
	case g.GrantedOn == "DATABASE":
		return 'd'
	case g.GrantedOn == "SCHEMA":
		return 's'
	case g.GrantedOn == "DATABASE_ROLE" || g.GrantedOn == "APPLICATION_ROLE":
		return 'r'
	case g.GrantedOn == "INSTANCE_ROLE":
		return 'i'
	case g.Schema != "":
		return 'o'
	}
	return 'a'
}

// objectName canonicalizes the object of a grant row (SNOWFLAKE.md's container rule)
// and returns the USAGE objects effective mode requires of it.
func objectName(g *RoleGrant) (name string, db, schema string) {
	switch objectKind(g) {
	case 's':
		return ident.Join(g.Catalog, g.Name), ident.Part(g.Catalog), ""
	case 'r':
		return roleName(g.Name, g.Catalog), "", ""
	case 'i':
		return instanceRole(g.Name, g.Catalog, g.Schema, g.Instance), "", ""
	case 'o':
		return ident.Join(g.Catalog, g.Schema, g.Name), ident.Part(g.Catalog), ident.Join(g.Catalog, g.Schema)
	}
	return ident.Part(g.Name), "", ""
}

// placeKey identifies where a grant row's object lives: its objectKind and, for
// schemas and objects in schemas, the database and schema columns.
type placeKey struct {
	kind            byte
	catalog, schema string
}

// place is a placeKey resolved: the canonical prefix of names in it and the USAGE
// effective mode requires there.
type place struct {
	id     int32
	prefix string
	needs  [2]int32
}

// nameKey is an object's raw name within a place.
type nameKey struct {
	place int32
	name  string
}

// cachedObject is an object of a grant row, interned.
type cachedObject struct {
	name  int32
	needs [2]int32
}

func buildGraph(a *Account) *graph {
	g := &graph{roleID: map[string]int32{}, gone: map[string]bool{}}
	for n := range DroppedRoles(a) {
		g.gone[n] = true
	}
	g.role(PublicRole)
	usage := g.privs.id(privilege.Usage)
	database, schemaType := g.types.id("DATABASE"), g.types.id("SCHEMA")
	places := map[placeKey]place{}
	names := map[nameKey]int32{}
	implied := map[string][]int32{} // GrantedOn → ids of what OWNERSHIP implies
	for i := range a.RoleGrants {
		rg := &a.RoleGrants[i]
		if !rg.DeletedOn.IsZero() {
			continue
		}
		to := grantee(rg)
		if to == "" || g.gone[to] {
			continue
		}
		if privilege.IsInheritance(rg.Privilege, rg.GrantedOn) {
			from := inheritedRole(rg)
			if from == "" || g.gone[from] {
				continue
			}
			r := g.role(to)
			g.inherit[r] = append(g.inherit[r], g.role(from))
			continue
		}
		r := g.role(to)
		typ := g.types.id(rg.GrantedOn)
		ob := cachedObject{needs: [2]int32{-1, -1}}
		if kind := objectKind(rg); kind == 'r' || kind == 'i' {
			n, _, _ := objectName(rg)
			if n == "" {
				continue
			}
			ob.name = g.names.id(n)
		} else {
			// Rows share a few places (a database, a schema): canonicalize each place
			// once, then each object name once within it, without building the full
			// dotted name for every row.
			pk := placeKey{kind: kind}
			if kind == 's' || kind == 'o' {
				pk.catalog = rg.Catalog
			}
			if kind == 'o' {
				pk.schema = rg.Schema
			}
			pl, ok := places[pk]
			if !ok {
				pl = place{id: int32(len(places)), needs: [2]int32{-1, -1}}
				switch kind {
				case 's':
					pl.prefix = ident.Part(rg.Catalog) + "."
					pl.needs[0] = g.object(database, g.names.id(ident.Part(rg.Catalog)), usage)
				case 'o':
					pl.prefix = ident.Join(rg.Catalog, rg.Schema) + "."
					pl.needs[0] = g.object(database, g.names.id(ident.Part(rg.Catalog)), usage)
					pl.needs[1] = g.object(schemaType, g.names.id(ident.Join(rg.Catalog, rg.Schema)), usage)
				}
				places[pk] = pl
			}
			nk := nameKey{pl.id, rg.Name}
			id, ok := names[nk]
			if !ok {
				id = g.names.id(pl.prefix + ident.Part(rg.Name))
				names[nk] = id
			}
			ob.name, ob.needs = id, pl.needs
		}
		// The privileges of one row are distinct, so the list looked up once stays
		// valid for all of them even as new ones are added.
		known := g.privileges(ob.name)
		add := func(priv, implied int32) {
			id := g.objectIn(known, typ, ob.name, priv)
			g.grants[r] = append(g.grants[r], id<<1|implied)
			g.needs[id] = ob.needs
		}
		add(g.privs.id(rg.Privilege), 0)
		if rg.Privilege == privilege.Ownership {
			im, ok := implied[rg.GrantedOn]
			if !ok {
				for _, p := range privilege.Implied(rg.GrantedOn) {
					im = append(im, g.privs.id(p))
				}
				implied[rg.GrantedOn] = im
			}
			for _, p := range im {
				add(p, 1)
			}
		}
	}
	g.sortObjects()
	for r := range g.inherit {
		l := g.inherit[r]
		slices.SortFunc(l, func(x, y int32) int { return strings.Compare(g.roles[x], g.roles[y]) })
		g.inherit[r] = slices.Compact(l)
		// Sorting puts a privilege granted as is (flag 0) before the same one implied
		// by OWNERSHIP; keeping the first of each id keeps "as is".
		l = g.grants[r]
		slices.Sort(l)
		g.grants[r] = slices.CompactFunc(l, func(x, y int32) bool { return x>>1 == y>>1 })
	}
	return g
}

// sortObjects renumbers object-privilege ids in sort order (type, name, privilege),
// so that a sorted list of ids is a sorted list of rows and no string comparison
// is needed per person. Each part is ranked once among its distinct values.
func (g *graph) sortObjects() {
	tr, nr, pr := g.types.ranks(), g.names.ranks(), g.privs.ranks()
	sortKey := func(k uint64) uint64 {
		return tr[k>>16&0xffff]<<48 | nr[k>>32]<<16 | pr[k&0xffff]
	}
	order := make([]int32, len(g.keys))
	sk := make([]uint64, len(g.keys))
	for i, k := range g.keys {
		order[i] = int32(i)
		sk[i] = sortKey(k)
	}
	slices.SortFunc(order, func(x, y int32) int { return cmp.Compare(sk[x], sk[y]) })
	rank := make([]int32, len(order))
	objects := make([]object, len(order))
	needs := make([][2]int32, len(order))
	for r, o := range order {
		rank[o] = int32(r)
		k := g.keys[o]
		objects[r] = object{g.types.strs[k>>16&0xffff], g.names.strs[k>>32], g.privs.strs[k&0xffff]}
	}
	for r, o := range order {
		n := g.needs[o]
		for k := range n {
			if n[k] >= 0 {
				n[k] = rank[n[k]]
			}
		}
		needs[r] = n
	}
	for _, l := range g.grants {
		for i, v := range l {
			l[i] = rank[v>>1]<<1 | v&1
		}
	}
	g.objects, g.needs = objects, needs
	g.byName, g.keys = nil, nil
}

// walker does breadth-first walks over the role graph, reusing its marks between
// walks so a walk costs what it visits, not the size of the graph.
type walker struct {
	g      *graph
	stamp  int32
	seen   []int32 // role → stamp of the walk that reached it
	parent []int32 // role → role it was reached from in the current walk, -1 at a root
	queue  []int32
	ostamp []int32 // object-privilege → stamp of the walk that collected it
	found  []int32
}

func newWalker(g *graph) *walker {
	return &walker{g: g, seen: make([]int32, len(g.roles)), parent: make([]int32, len(g.roles)), ostamp: make([]int32, len(g.objects))}
}

// walk visits every role reachable from roots (which must be sorted by name for
// stable paths) and returns them in visiting order.
func (w *walker) walk(roots []int32) []int32 {
	w.stamp++
	w.queue = w.queue[:0]
	for _, r := range roots {
		if w.seen[r] != w.stamp {
			w.seen[r] = w.stamp
			w.parent[r] = -1
			w.queue = append(w.queue, r)
		}
	}
	for i := 0; i < len(w.queue); i++ {
		r := w.queue[i]
		for _, s := range w.g.inherit[r] {
			if w.seen[s] != w.stamp {
				w.seen[s] = w.stamp
				w.parent[s] = r
				w.queue = append(w.queue, s)
			}
		}
	}
	return w.queue
}

// collect returns the sorted object-privileges held by the roles of the last walk,
// keeping in effective mode only those whose containers are usable.
func (w *walker) collect(roles []int32, effective bool) []int32 {
	w.found = w.found[:0]
	for _, r := range roles {
		for _, v := range w.g.grants[r] {
			if o := v >> 1; w.ostamp[o] != w.stamp {
				w.ostamp[o] = w.stamp
				w.found = append(w.found, o)
			}
		}
	}
	out := make([]int32, 0, len(w.found))
	for _, o := range w.found {
		if effective {
			n := w.g.needs[o]
			if n[0] >= 0 && w.ostamp[n[0]] != w.stamp || n[1] >= 0 && w.ostamp[n[1]] != w.stamp {
				continue
			}
		}
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// path returns the chain from a root of the last walk to r.
func (w *walker) path(r int32) []string {
	var p []string
	for ; r >= 0; r = w.parent[r] {
		p = append(p, w.g.roles[r])
	}
	slices.Reverse(p)
	return p
}

type person struct {
	email string
	users []*User
	roots []int32
}

func flattenAccount(m *Mirror, a *Account, norm *ident.Normalizer, opts Options) error {
	g := buildGraph(a)

	// Active users by name; two active users of one name is a broken extract.
	byName := map[string]*User{}
	for i := range a.Users {
		u := &a.Users[i]
		if !u.Active() {
			continue
		}
		if prev, ok := byName[u.Name]; ok {
			return fmt.Errorf("%w: users.csv:%d: NAME %s is an active user already at line %d", ErrInput, u.Line, u.Name, prev.Line)
		}
		byName[u.Name] = u
	}
	granted := map[string][]int32{}
	for i := range a.UserGrants {
		ug := &a.UserGrants[i]
		if !ug.DeletedOn.IsZero() || byName[ug.Grantee] == nil {
			continue
		}
		name := ident.Part(ug.Role)
		if g.gone[name] {
			continue
		}
		granted[ug.Grantee] = append(granted[ug.Grantee], g.role(name))
	}

	people := map[string]*person{}
	userRoots := map[*User][]int32{}
	for _, u := range byName {
		email, _ := norm.User(u.Name, u.Email)
		if !ident.ValidEmail(email) {
			reason := "no valid email"
			if strings.TrimSpace(u.Email) == "" {
				reason = "no email"
			}
			m.Excluded = append(m.Excluded, Exclusion{Account: a.Name, User: u.Name, Email: u.Email, Reason: reason})
			continue
		}
		roots := []int32{g.roleID[PublicRole]}
		if id, ok := g.roleID[userRole(u.Name)]; ok {
			roots = append(roots, id)
		}
		mode := SessionRoles(u, opts.Roles)
		for _, r := range granted[u.Name] {
			if mode == AllRoles || g.roles[r] == ident.Part(u.DefaultRole) {
				roots = append(roots, r)
			}
		}
		roots = sortRoles(g, roots)
		userRoots[u] = roots
		p := people[email]
		if p == nil {
			p = &person{email: email}
			people[email] = p
		}
		p.users = append(p.users, u)
		p.roots = append(p.roots, roots...)
	}
	slices.SortFunc(m.Excluded, func(x, y Exclusion) int { return strings.Compare(x.Account+"\x00"+x.User, y.Account+"\x00"+y.User) })

	emails := make([]string, 0, len(people))
	for e := range people {
		emails = append(emails, e)
	}
	slices.Sort(emails)

	// The grants are independent of people: build them while the people are walked.
	grantsDone := make(chan []Grant, 1)
	go func() { grantsDone <- grantTable(a.Name, g) }()

	// People are split into contiguous ranges walked in parallel, each worker with its
	// own marks and caches, so the result is the same as one walk in email order.
	workers := max(1, min(runtime.GOMAXPROCS(0), len(emails)/1000))
	results := make([]personRange, workers)
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := i*len(emails)/workers, (i+1)*len(emails)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = walkPeople(a.Name, g, emails[lo:hi], people, userRoots, opts.Mode == Effective)
		}()
	}
	wg.Wait()
	part := accessPart{account: a.Name, objects: g.objects}
	members := 0
	for _, r := range results {
		members += len(r.memberships)
	}
	m.Memberships = slices.Grow(m.Memberships, members)
	for _, r := range results {
		part.emails = append(part.emails, r.emails...)
		part.lists = append(part.lists, r.lists...)
		m.Access.n += r.rows
		m.Memberships = append(m.Memberships, r.memberships...)
	}
	if len(part.emails) > 0 {
		m.Access.parts = append(m.Access.parts, part)
	}
	if grants := <-grantsDone; len(m.Grants) == 0 {
		m.Grants = grants // the only (or first) account: no copy
	} else {
		m.Grants = append(m.Grants, grants...)
	}
	m.Masked = append(m.Masked, maskedColumns(a, opts.PIITags)...)
	return nil
}

// SessionRoles is the role mode of a user's sessions: its own DEFAULT_SECONDARY_ROLE
// when the snapshot has one Snowflake documents, otherwise the configured default.
func SessionRoles(u *User, configured RoleMode) RoleMode {
	if u.SecondaryRoles != "" {
		return u.SecondaryRoles
	}
	return configured
}

func sortRoles(g *graph, roles []int32) []int32 {
	slices.SortFunc(roles, func(x, y int32) int { return strings.Compare(g.roles[x], g.roles[y]) })
	return slices.Compact(roles)
}

// personRange is what one worker found for a contiguous range of people.
type personRange struct {
	emails      []string
	lists       [][]int32
	rows        int
	memberships []Membership
}

// walkPeople computes the rows and memberships of people, in the order given.
func walkPeople(account string, g *graph, emails []string, people map[string]*person, userRoots map[*User][]int32, effective bool) personRange {
	var out personRange
	w := newWalker(g)
	// People who hold the same set of roles share one list: in a real account most
	// people inherit their access through a handful of team roles.
	lists := map[string][]int32{}
	type pathSet struct {
		roles []int32
		paths [][]string
	}
	paths := map[string]*pathSet{}
	for _, e := range emails {
		p := people[e]
		p.roots = sortRoles(g, p.roots)
		key := rolesKey(p.roots)
		l, ok := lists[key]
		if !ok {
			l = w.collect(w.walk(p.roots), effective)
			lists[key] = l
		}
		if len(l) > 0 {
			out.emails = append(out.emails, e)
			out.lists = append(out.lists, l)
			out.rows += len(l)
		}
		slices.SortFunc(p.users, func(x, y *User) int { return strings.Compare(x.Name, y.Name) })
		for _, u := range p.users {
			roots := userRoots[u]
			k := rolesKey(roots)
			ps, ok := paths[k]
			if !ok {
				visited := sortRoles(g, slices.Clone(w.walk(roots)))
				ps = &pathSet{roles: visited}
				for _, r := range visited {
					ps.paths = append(ps.paths, w.path(r))
				}
				paths[k] = ps
			}
			for i, r := range ps.roles {
				out.memberships = append(out.memberships, Membership{Account: account, Email: e, User: u.Name, Role: g.roles[r], Path: ps.paths[i]})
			}
		}
	}
	return out
}

// grantTable lists every grant of the account after OWNERSHIP expansion.
func grantTable(account string, g *graph) []Grant {
	// Roles in name order, each with its privileges in object order: the grants come
	// out sorted without a sort over all of them.
	roleOrder := make([]int32, len(g.roles))
	total := 0
	for i := range roleOrder {
		roleOrder[i] = int32(i)
		total += len(g.grants[i])
	}
	roleOrder = sortRoles(g, roleOrder)
	out := make([]Grant, 0, total)
	for _, r := range roleOrder {
		for _, v := range g.grants[r] {
			ob := g.objects[v>>1]
			via := ""
			if v&1 == 1 {
				via = privilege.Ownership
			}
			out = append(out, Grant{Account: account, Role: g.roles[r], ObjectType: ob.typ, ObjectName: ob.name, Privilege: ob.priv, Via: via})
		}
	}
	return out
}

// rolesKey turns a role set into a map key without copying it twice.
func rolesKey(roles []int32) string {
	if len(roles) == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(&roles[0])), len(roles)*4))
}

// maskedColumns lists the columns of an account that carry a masking policy or one
// of the PII tags.
func maskedColumns(a *Account, tags []string) []MaskedColumn {
	want := map[string]bool{}
	for _, t := range tags {
		want[strings.ToUpper(t)] = true
	}
	seen := map[MaskedColumn]bool{}
	var out []MaskedColumn
	add := func(c MaskedColumn) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, p := range a.Policies {
		if p.Column == "" || p.PolicyKind != "MASKING_POLICY" {
			continue
		}
		add(MaskedColumn{Account: a.Name, ObjectName: ident.Join(p.Database, p.Schema, p.Entity), Column: p.Column, Reason: "masking policy " + p.PolicyName})
	}
	for _, t := range a.Tags {
		if t.Column == "" || t.ObjectDatabase == "" || t.ObjectSchema == "" {
			continue
		}
		full := strings.ToUpper(t.TagDatabase + "." + t.TagSchema + "." + t.TagName)
		if !want[strings.ToUpper(t.TagName)] && !want[full] {
			continue
		}
		reason := "tag " + ident.Join(t.TagDatabase, t.TagSchema, t.TagName)
		if t.TagValue != "" {
			reason += "=" + t.TagValue
		}
		add(MaskedColumn{Account: a.Name, ObjectName: ident.Join(t.ObjectDatabase, t.ObjectSchema, t.ObjectName), Column: t.Column, Reason: reason})
	}
	slices.SortFunc(out, func(x, y MaskedColumn) int {
		return strings.Compare(x.ObjectName+"\x00"+x.Column+"\x00"+x.Reason, y.ObjectName+"\x00"+y.Column+"\x00"+y.Reason)
	})
	return out
}
