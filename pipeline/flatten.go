package pipeline

import (
	"cmp"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Options are the semantic choices of a flatten.
type Options struct {
	Mode    model.Mode
	Roles   model.RoleMode
	Aliases ident.Aliases
	// PIITags names the tags (TAG_NAME, or DB.SCHEMA.TAG) that mark a column as PII,
	// compared case-insensitively. Columns with a masking policy are always masked.
	PIITags []string
	// Now stamps the generation; zero means time.Now.
	Now time.Time
	// PolicyFallback is what a row access or projection policy whose body was not
	// translated does: FallbackDeny (the default) admits nobody, FallbackAllow
	// admits everyone the grants admit. Untranslated masking policies always mask.
	PolicyFallback string
}

// Validate checks the options, filling defaults.
func (o *Options) Validate() error {
	switch o.Mode {
	case "":
		o.Mode = model.Effective
	case model.Effective, model.Granted:
	default:
		return fmt.Errorf("mode %q: want effective or granted", o.Mode)
	}
	switch o.Roles {
	case "":
		o.Roles = model.AllRoles
	case model.AllRoles, model.PrimaryRole:
	default:
		return fmt.Errorf("roles %q: want all or primary", o.Roles)
	}
	if o.PIITags == nil {
		o.PIITags = model.DefaultPIITags
	}
	switch o.PolicyFallback {
	case "":
		o.PolicyFallback = model.FallbackDeny
	case model.FallbackDeny, model.FallbackAllow:
	default:
		return fmt.Errorf("policy fallback %q: want deny or allow", o.PolicyFallback)
	}
	return nil
}

// Flatten computes the mirror of a snapshot. It is deterministic: the same snapshot
// gives the same mirror whatever the order of its rows.
func Flatten(snap *model.Snapshot, opts Options) (*model.Mirror, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	m := &model.Mirror{
		Meta: model.Meta{PublishedAt: now.UTC(), Mode: opts.Mode, Roles: opts.Roles, Settings: &model.Settings{
			DomainAliases: maps.Clone(opts.Aliases.Domains), Overrides: maps.Clone(opts.Aliases.Users),
			PIITags: slices.Clone(opts.PIITags),
		}},
		Access:   &model.Access{},
		Snapshot: snap,
	}
	norm := ident.NewNormalizer(opts.Aliases)
	for _, a := range snap.Accounts {
		m.Meta.Accounts = append(m.Meta.Accounts, model.AccountMeta{Name: a.Name, ExtractedAt: a.ExtractedAt, Source: a.Source})
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
	keys    []uint64                // id → packed key
	objects []model.ObjectPrivilege // id → strings, filled by sortObjects
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

func buildGraph(a *model.Account) *graph {
	g := &graph{roleID: map[string]int32{}, gone: map[string]bool{}}
	for n := range model.DroppedRoles(a) {
		g.gone[n] = true
	}
	g.role(model.PublicRole)
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
		to := model.GranteeRole(rg)
		if to == "" || g.gone[to] {
			continue
		}
		if privilege.IsInheritance(rg.Privilege, rg.GrantedOn) {
			from := model.InheritedRole(rg)
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
		if kind := model.ObjectKind(rg); kind == 'r' || kind == 'i' {
			n, _, _ := model.GrantObject(rg)
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
	objects := make([]model.ObjectPrivilege, len(order))
	needs := make([][2]int32, len(order))
	for r, o := range order {
		rank[o] = int32(r)
		k := g.keys[o]
		objects[r] = model.ObjectPrivilege{Type: g.types.strs[k>>16&0xffff], Name: g.names.strs[k>>32], Privilege: g.privs.strs[k&0xffff]}
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
	users []*model.User
	roots []int32
}

func flattenAccount(m *model.Mirror, a *model.Account, norm *ident.Normalizer, opts Options) error {
	g := buildGraph(a)

	// Active users by name; two active users of one name is a broken extract.
	byName := map[string]*model.User{}
	for i := range a.Users {
		u := &a.Users[i]
		if !u.Active() {
			continue
		}
		if prev, ok := byName[u.Name]; ok {
			return fmt.Errorf("%w: users.csv:%d: NAME %s is an active user already at line %d", model.ErrInput, u.Line, u.Name, prev.Line)
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
	userRoots := map[*model.User][]int32{}
	for _, u := range byName {
		email, _ := norm.User(u.Name, u.Email)
		if !ident.ValidEmail(email) {
			reason := "no valid email"
			if strings.TrimSpace(u.Email) == "" {
				reason = "no email"
			}
			m.Excluded = append(m.Excluded, model.Exclusion{Account: a.Name, User: u.Name, Email: u.Email, Reason: reason})
			continue
		}
		roots := []int32{g.roleID[model.PublicRole]}
		if id, ok := g.roleID[model.UserRole(u.Name)]; ok {
			roots = append(roots, id)
		}
		mode := model.SessionRoles(u, opts.Roles)
		for _, r := range granted[u.Name] {
			if mode == model.AllRoles || g.roles[r] == ident.Part(u.DefaultRole) {
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
	slices.SortFunc(m.Excluded, func(x, y model.Exclusion) int {
		return strings.Compare(x.Account+"\x00"+x.User, y.Account+"\x00"+y.User)
	})

	emails := make([]string, 0, len(people))
	for e := range people {
		emails = append(emails, e)
	}
	slices.Sort(emails)

	// The grants are independent of people: build them while the people are walked.
	grantsDone := make(chan []model.Grant, 1)
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
			results[i] = walkPeople(a.Name, g, emails[lo:hi], people, userRoots, opts.Mode == model.Effective)
		}()
	}
	wg.Wait()
	part := model.AccessPart{Account: a.Name, Objects: g.objects}
	members := 0
	for _, r := range results {
		members += len(r.memberships)
	}
	m.Memberships = slices.Grow(m.Memberships, members)
	for _, r := range results {
		part.Emails = append(part.Emails, r.emails...)
		part.Lists = append(part.Lists, r.lists...)
		m.Memberships = append(m.Memberships, r.memberships...)
	}
	m.Access.AppendPart(part)
	if grants := <-grantsDone; len(m.Grants) == 0 {
		m.Grants = grants // the only (or first) account: no copy
	} else {
		m.Grants = append(m.Grants, grants...)
	}
	m.Masked = append(m.Masked, maskedColumns(a, opts.PIITags, opts.PolicyFallback, primaryRoles(byName, granted, g, norm))...)
	return nil
}

// primaryRoles maps each primary role to the people whose sessions start in it:
// the user's DEFAULT_ROLE when it is granted to the user (and not dropped),
// otherwise PUBLIC, which is what Snowflake falls back to.
func primaryRoles(users map[string]*model.User, granted map[string][]int32, g *graph, norm *ident.Normalizer) map[string][]string {
	out := map[string][]string{}
	for name, u := range users {
		email, _ := norm.User(u.Name, u.Email)
		if !ident.ValidEmail(email) {
			continue
		}
		role := model.PublicRole
		if def := ident.Part(u.DefaultRole); u.DefaultRole != "" {
			for _, r := range granted[name] {
				if g.roles[r] == def {
					role = def
				}
			}
		}
		out[role] = append(out[role], email)
	}
	return out
}

func sortRoles(g *graph, roles []int32) []int32 {
	slices.SortFunc(roles, func(x, y int32) int { return strings.Compare(g.roles[x], g.roles[y]) })
	return slices.Compact(roles)
}

// personRange is what one worker found for a contiguous range of people.
type personRange struct {
	emails      []string
	lists       [][]int32
	memberships []model.Membership
}

// walkPeople computes the rows and memberships of people, in the order given.
func walkPeople(account string, g *graph, emails []string, people map[string]*person, userRoots map[*model.User][]int32, effective bool) personRange {
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
		}
		slices.SortFunc(p.users, func(x, y *model.User) int { return strings.Compare(x.Name, y.Name) })
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
				out.memberships = append(out.memberships, model.Membership{Account: account, Email: e, User: u.Name, Role: g.roles[r], Path: ps.paths[i]})
			}
		}
	}
	return out
}

// grantTable lists every grant of the account after OWNERSHIP expansion.
func grantTable(account string, g *graph) []model.Grant {
	// Roles in name order, each with its privileges in object order: the grants come
	// out sorted without a sort over all of them.
	roleOrder := make([]int32, len(g.roles))
	total := 0
	for i := range roleOrder {
		roleOrder[i] = int32(i)
		total += len(g.grants[i])
	}
	roleOrder = sortRoles(g, roleOrder)
	out := make([]model.Grant, 0, total)
	for _, r := range roleOrder {
		for _, v := range g.grants[r] {
			ob := g.objects[v>>1]
			via := ""
			if v&1 == 1 {
				via = privilege.Ownership
			}
			out = append(out, model.Grant{Account: account, Role: g.roles[r], ObjectType: ob.Type, ObjectName: ob.Name, Privilege: ob.Privilege, Via: via})
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

// maskedColumns lists what of an account Snowflake's policies and PII tags guard:
// columns with a masking or projection policy (set on the column, or on a tag the
// column carries, itself or through its table, schema or database), objects with a
// row access policy (Column empty), and columns tagged as PII. Policies carry their
// translated rule; primary maps a primary role to the people whose sessions start
// in it, for the rules that test CURRENT_ROLE().
func maskedColumns(a *model.Account, tags []string, fallback string, primary map[string][]string) []model.MaskedColumn {
	want := map[string]bool{}
	for _, t := range tags {
		want[strings.ToUpper(t)] = true
	}
	seen := map[string]bool{}
	var out []model.MaskedColumn
	add := func(c model.MaskedColumn) {
		if k := c.ObjectName + "\x00" + c.Column + "\x00" + c.Reason; !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	rules := newPolicyRules(a, fallback, primary)
	direct := map[[2]string]bool{} // columns with a masking policy of their own
	tagPolicies := map[string][]model.PolicyRef{}
	for _, p := range a.Policies {
		if p.PolicyKind == "MASKING_POLICY" && p.Column != "" && p.TagName == "" {
			direct[[2]string{ident.Join(p.Database, p.Schema, p.Entity), p.Column}] = true
		}
	}
	for _, p := range a.Policies {
		object := ident.Join(p.Database, p.Schema, p.Entity)
		switch {
		case p.EntityDomain == "TAG":
			tagPolicies[object] = append(tagPolicies[object], p)
		case p.TagName != "" && p.Column != "" && p.PolicyKind == "MASKING_POLICY":
			// POLICY_REFERENCES lists each column a tag-based policy reaches, with
			// the tag; a policy set on the column itself wins over it.
			if direct[[2]string{object, p.Column}] {
				continue
			}
			tag := ident.Join(p.TagDatabase, p.TagSchema, p.TagName)
			add(model.MaskedColumn{Account: a.Name, ObjectName: object, Column: p.Column, Reason: "masking policy " + model.PolicyName(&p) + " on tag " + tag, Rule: rules.rule(p, tag)})
		case p.PolicyKind == "MASKING_POLICY" && p.Column != "":
			add(model.MaskedColumn{Account: a.Name, ObjectName: object, Column: p.Column, Reason: "masking policy " + model.PolicyName(&p), Rule: rules.rule(p, "")})
		case p.PolicyKind == "PROJECTION_POLICY" && p.Column != "":
			add(model.MaskedColumn{Account: a.Name, ObjectName: object, Column: p.Column, Reason: "projection policy " + model.PolicyName(&p), Rule: rules.rule(p, "")})
		case p.PolicyKind == "ROW_ACCESS_POLICY":
			add(model.MaskedColumn{Account: a.Name, ObjectName: object, Reason: "row access policy " + model.PolicyName(&p), Rule: rules.rule(p, "")})
		}
	}
	for _, t := range a.Tags {
		tag := ident.Join(t.TagDatabase, t.TagSchema, t.TagName)
		for _, p := range tagPolicies[tag] {
			if p.PolicyKind != "MASKING_POLICY" {
				continue
			}
			// A tag set on a table, schema or database reaches every column below
			// it; which columns those are is not in the snapshot, so the entry names
			// them all ("*") and readers list the table's columns.
			object, column := "", "*"
			switch {
			case t.Column != "" && t.ObjectSchema != "":
				object, column = ident.Join(t.ObjectDatabase, t.ObjectSchema, t.ObjectName), t.Column
			case t.Domain == "DATABASE":
				object = ident.Part(t.ObjectName)
			case t.Domain == "SCHEMA" && t.ObjectDatabase != "":
				object = ident.Join(t.ObjectDatabase, t.ObjectName)
			case t.ObjectDatabase != "" && t.ObjectSchema != "":
				object = ident.Join(t.ObjectDatabase, t.ObjectSchema, t.ObjectName)
			default:
				continue
			}
			// A policy set on the column itself wins over one that comes with a tag.
			if direct[[2]string{object, column}] {
				continue
			}
			add(model.MaskedColumn{Account: a.Name, ObjectName: object, Column: column, Reason: "masking policy " + model.PolicyName(&p) + " on tag " + tag, Rule: rules.rule(p, tag)})
		}
		if t.Column == "" || t.ObjectDatabase == "" || t.ObjectSchema == "" {
			continue
		}
		full := strings.ToUpper(t.TagDatabase + "." + t.TagSchema + "." + t.TagName)
		if !want[strings.ToUpper(t.TagName)] && !want[full] {
			continue
		}
		reason := "tag " + tag
		if t.TagValue != "" {
			reason += "=" + t.TagValue
		}
		add(model.MaskedColumn{Account: a.Name, ObjectName: ident.Join(t.ObjectDatabase, t.ObjectSchema, t.ObjectName), Column: t.Column, Reason: reason})
	}
	slices.SortFunc(out, func(x, y model.MaskedColumn) int {
		return strings.Compare(x.ObjectName+"\x00"+x.Column+"\x00"+x.Reason, y.ObjectName+"\x00"+y.Column+"\x00"+y.Reason)
	})
	return out
}
