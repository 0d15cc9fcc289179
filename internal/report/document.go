package report

import (
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"slices"
	"strings"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// The readable formats (Markdown and HTML) share one document model: a view is a
// stream of sections, a section has facts and tables. Each format only decides how
// a table looks.

// section is one person, object or role.
type section struct {
	ID     string
	Title  string
	Badge  string // a short qualifier shown next to the title, such as the object type
	Facts  []fact
	Tables []*table
}

// fact is one labelled line of a section; its value may link elsewhere.
type fact struct {
	Label string
	Value []cell
}

// table is a titled grid. Rows may stream (the access table) or be small slices.
type table struct {
	Title   string
	Columns []column
	Rows    [][]cell
	Stream  iter.Seq[[]cell]
}

// all yields the rows of a table, streamed or not.
func (t *table) all() iter.Seq[[]cell] {
	if t.Stream != nil {
		return t.Stream
	}
	return slices.Values(t.Rows)
}

// Column kinds decide alignment and styling.
const (
	kindText  = ""
	kindCheck = "check" // a privilege column: a mark when held
	kindNum   = "num"
	kindUsage = "usage"
)

type column struct {
	Name string
	Kind string
}

// cell is one value; Href links to a section of the same report, Class styles it
// (used, unused, na), Lines splits a value across lines.
type cell struct {
	Text  string
	Href  string
	Class string
	// Parts, when set, are links shown in place of Text (which still holds their
	// joined text for the plain formats).
	Parts []cell
}

func text(s string) cell { return cell{Text: s} }

// mark is the content of a held privilege cell.
const mark = "✓"

// viewDoc is one view of a readable report.
type viewDoc struct {
	View     View
	ID       string
	Title    string
	Intro    []string
	Index    *table // one line per section, with links
	Diagrams []*diagram
	// Sections yields the view's sections; calling it again recomputes them, so a
	// format can count in a first pass without holding everything.
	Sections func() iter.Seq[section]
	// Count is the number of sections, known after Index is built.
	Count int
	// fill, when set, is the pass over the view that builds Index, counts the
	// sections and completes Intro: build runs it just before the view is
	// written, so a report of several views holds one view's index at a time.
	fill func()
}

// build completes d (fill) once and returns it.
func (d *viewDoc) build() *viewDoc {
	if d.fill != nil {
		d.fill()
		d.fill = nil
	}
	return d
}

// anchor builds an element id from a kind and a name: readable, and unique thanks
// to a short hash of the exact name (two names may slug alike).
func anchor(kind string, parts ...string) string {
	key := strings.Join(parts, "\x00")
	h := fnv.New32a()
	h.Write([]byte(key))
	var b strings.Builder
	b.WriteString(kind)
	b.WriteByte('-')
	for _, r := range strings.Join(parts, "-") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	fmt.Fprintf(&b, "-%06x", h.Sum32()&0xffffff)
	return b.String()
}

func personID(account, email string) string     { return anchor("user", account, email) }
func objectID(account, typ, name string) string { return anchor("object", account, typ, name) }
func roleID(account, role string) string        { return anchor("role", account, role) }

// linker builds links only to views that the report contains.
type linker struct {
	users, objects, roles bool
}

func (l linker) person(account, email string) cell {
	c := text(email)
	if l.users {
		c.Href = "#" + personID(account, email)
	}
	return c
}

func (l linker) object(account, typ, name string) cell {
	c := text(name)
	if l.objects {
		c.Href = "#" + objectID(account, typ, name)
	}
	return c
}

func (l linker) role(account, role string) cell {
	c := text(role)
	if l.roles && !strings.HasPrefix(role, "USER ") {
		c.Href = "#" + roleID(account, role)
	}
	return c
}

// arrowPath writes a role path for people.
func arrowPath(p []string) string { return strings.Join(p, " → ") }

// usageCell shows a usage state with its date.
func usageCell(state string, last string) cell {
	switch state {
	case Used:
		return cell{Text: "used " + last, Class: "used"}
	case Unused:
		if last != "" {
			return cell{Text: "last used " + last, Class: "unused"}
		}
		return cell{Text: "no use recorded", Class: "unused"}
	case NotTracked:
		return cell{Text: "not tracked", Class: "na"}
	}
	return cell{Text: "unknown", Class: "na"}
}

// accountTitle prefixes a title with its account when a report spans several.
func (md *reportModel) accountTitle(account, title string) string {
	if len(md.accounts) > 1 {
		return account + ": " + title
	}
	return title
}

func (md *reportModel) linker() linker {
	vs := md.o.views()
	return linker{users: slices.Contains(vs, ByUser) && !md.o.Unused, objects: slices.Contains(vs, ByObject), roles: slices.Contains(vs, ByRole)}
}

func (md *reportModel) usageKnown() bool {
	for _, a := range md.accounts {
		if a.usage != nil {
			return true
		}
	}
	return false
}

// viewDocs builds the readable views of the report.
func (md *reportModel) viewDocs() []*viewDoc {
	var out []*viewDoc
	for _, v := range md.o.views() {
		switch {
		case v == ByUser && md.o.Unused:
			out = append(out, md.unusedDoc())
		case v == ByUser:
			out = append(out, md.userDoc())
		case v == ByObject:
			out = append(out, md.objectDoc())
		case v == ByRole:
			out = append(out, md.roleDoc())
		case v == ByAccess:
			out = append(out, md.accessDoc())
		}
	}
	if d := md.notMirroredDoc(md.gaps()); d != nil {
		out = append(out, d)
	}
	return out
}

func (md *reportModel) userDoc() *viewDoc {
	l := md.linker()
	d := &viewDoc{View: ByUser, ID: "view-user", Title: "By user",
		Intro: []string{"One section per person: the Snowflake users that map to their email, every role they hold (directly, or inherited through the path shown), and the objects they can use, grouped by database and schema. " + markLegend}}
	known := md.usageKnown()
	idx := &table{Columns: []column{{"Person", kindText}, {"Account", kindText}, {"Snowflake users", kindText}, {"Roles", kindNum}, {"Objects", kindNum}}}
	if known {
		idx.Columns = append(idx.Columns, column{fmt.Sprintf("Unused (%d d)", md.o.Days), kindNum})
	}
	d.fill = func() {
		for p := range md.people(false) {
			d.Count++
			names := make([]string, len(p.Users))
			for i, u := range p.Users {
				names[i] = u.Name
			}
			row := []cell{l.person(p.Account, p.Email), text(p.Account), text(strings.Join(names, ", ")), text(fmt.Sprint(distinctRoles(p.Roles))), text(fmt.Sprint(len(p.Objects)))}
			if known {
				row = append(row, text(fmt.Sprint(countUnused(p.Objects))))
			}
			idx.Rows = append(idx.Rows, row)
		}
		d.Index = idx
	}
	d.Sections = func() iter.Seq[section] {
		return func(yield func(section) bool) {
			for p := range md.people(false) {
				if !yield(md.personSection(p, l)) {
					return
				}
			}
		}
	}
	return d
}

const markLegend = "✓ means the person holds the privilege."

func distinctRoles(rs []HeldRole) int {
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Role] = true
	}
	return len(seen)
}

func countUnused(objs []ReachObject) int {
	n := 0
	for _, o := range objs {
		if o.Usage == Unused && trackedTypes[o.ObjectType] {
			n++
		}
	}
	return n
}

func (md *reportModel) personSection(p *Person, l linker) section {
	s := section{ID: personID(p.Account, p.Email), Title: md.accountTitle(p.Account, p.Email)}
	var users []cell
	for _, u := range p.Users {
		t := u.Name
		var extra []string
		if u.Type != "" {
			extra = append(extra, strings.ToLower(u.Type))
		}
		if u.DefaultRole != "" {
			extra = append(extra, "default role "+u.DefaultRole)
		}
		if len(extra) > 0 {
			t += " (" + strings.Join(extra, ", ") + ")"
		}
		users = append(users, text(t))
	}
	s.Facts = append(s.Facts, fact{"Snowflake users", users})
	groups := map[string]bool{}
	for _, o := range p.Objects {
		groups[o.Group] = true
	}
	summary := fmt.Sprintf("%s in %s, through %s", plural(len(p.Objects), "object", "objects"),
		plural(len(groups), "group", "groups"), plural(distinctRoles(p.Roles), "role", "roles"))
	if n := countUnused(p.Objects); n > 0 {
		summary += fmt.Sprintf("; %s not used in %d days", plural(n, "table or view", "tables or views"), md.o.Days)
	}
	s.Facts = append(s.Facts, fact{"Reach", []cell{text(summary)}})
	s.Badge = plural(len(p.Objects), "object", "objects") + ", " + plural(distinctRoles(p.Roles), "role", "roles")

	roles := &table{Title: "Roles", Columns: []column{{"Role", kindText}, {"How", kindText}, {"Path", kindText}, {"Through user", kindText}}}
	for _, r := range p.Roles {
		roles.Rows = append(roles.Rows, []cell{l.role(p.Account, r.Role), text(r.How), text(arrowPath(r.Path)), text(strings.Join(r.Users, ", "))})
	}
	s.Tables = append(s.Tables, roles)
	usage := md.accountUsage(p.Account)
	for start := 0; start < len(p.Objects); {
		end := start
		for end < len(p.Objects) && p.Objects[end].Group == p.Objects[start].Group {
			end++
		}
		s.Tables = append(s.Tables, objectGroupTable(p.Account, p.Objects[start:end], usage, l))
		start = end
	}
	if len(p.Objects) == 0 {
		s.Facts = append(s.Facts, fact{"Objects", []cell{text("none: the roles of this person grant no privilege they can use")}})
	}
	return s
}

func (md *reportModel) accountUsage(name string) bool {
	for _, a := range md.accounts {
		if a.meta.Name == name {
			return a.usage != nil
		}
	}
	return false
}

// maxPrivilegeColumns bounds the privilege columns of one table; the rest share
// one "Other privileges" column, so an owned schema's twenty CREATE privileges do
// not push the table off the page.
const maxPrivilegeColumns = 9

// objectGroupTable is one database or schema of a person's objects, privileges as
// columns.
func objectGroupTable(account string, objs []ReachObject, usage bool, l linker) *table {
	title := objs[0].Group
	if title == "" {
		title = "Account objects"
	}
	var privs []string
	for _, o := range objs {
		privs = append(privs, o.Privileges...)
	}
	privs = sortPrivileges(privs)
	var other bool
	if len(privs) > maxPrivilegeColumns {
		// Keep the privileges people ask about as columns; the rest (an owner's
		// CREATE privileges) share one column.
		known := slices.DeleteFunc(slices.Clone(privs), func(p string) bool { return !slices.Contains(privilegeOrder, p) })
		privs, other = known[:min(len(known), maxPrivilegeColumns)], true
	}
	t := &table{Title: title, Columns: []column{{"Object", kindText}, {"Type", kindText}}}
	for _, p := range privs {
		t.Columns = append(t.Columns, column{p, kindCheck})
	}
	if other {
		t.Columns = append(t.Columns, column{"Other privileges", kindText})
	}
	t.Columns = append(t.Columns, column{"Through roles", kindText})
	if usage {
		t.Columns = append(t.Columns, column{"Used", kindUsage})
	}
	for _, o := range objs {
		row := []cell{l.object(account, o.ObjectType, o.ObjectName), text(o.ObjectType)}
		for _, p := range privs {
			if slices.Contains(o.Privileges, p) {
				row = append(row, text(mark))
			} else {
				row = append(row, text(""))
			}
		}
		if other {
			var rest []string
			for _, p := range o.Privileges {
				if !slices.Contains(privs, p) {
					rest = append(rest, p)
				}
			}
			row = append(row, text(strings.Join(rest, ", ")))
		}
		row = append(row, roleCells(account, o.Roles, l))
		if usage {
			row = append(row, usageCell(o.Usage, day(o.LastAccessed)))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// roleCells joins roles into one cell, each linking to its section.
func roleCells(account string, roles []string, l linker) cell {
	if len(roles) == 1 {
		return l.role(account, roles[0])
	}
	c := text(strings.Join(roles, ", "))
	for _, r := range roles {
		c.Parts = append(c.Parts, l.role(account, r))
	}
	return c
}

func (md *reportModel) unusedDoc() *viewDoc {
	l := md.linker()
	d := &viewDoc{View: ByUser, ID: "view-unused", Title: fmt.Sprintf("Not used in %d days", md.o.Days),
		Intro: []string{fmt.Sprintf("Per person, the tables and views they can read but did not read in the %d days before the snapshot, with the roles that grant them. Revoking these is unlikely to hurt; ask first.", md.o.Days)}}
	idx := &table{Columns: []column{{"Person", kindText}, {"Account", kindText}, {"Unused objects", kindNum}}}
	d.fill = func() {
		for p := range md.people(true) {
			d.Count++
			idx.Rows = append(idx.Rows, []cell{{Text: p.Email, Href: "#" + personID(p.Account, p.Email)}, text(p.Account), text(fmt.Sprint(len(p.Objects)))})
		}
		d.Index = idx
	}
	d.Sections = func() iter.Seq[section] {
		return func(yield func(section) bool) {
			for p := range md.people(true) {
				s := section{ID: personID(p.Account, p.Email), Title: md.accountTitle(p.Account, p.Email), Badge: plural(len(p.Objects), "unused object", "unused objects")}
				t := &table{Columns: []column{{"Object", kindText}, {"Type", kindText}, {"Privileges", kindText}, {"Through roles", kindText}, {"Last access", kindText}, {"Queries", kindNum}}}
				for _, o := range p.Objects {
					last := day(o.LastAccessed)
					if last == "" {
						last = "none recorded"
					}
					t.Rows = append(t.Rows, []cell{l.object(p.Account, o.ObjectType, o.ObjectName), text(o.ObjectType),
						text(strings.Join(o.Privileges, ", ")), roleCells(p.Account, o.Roles, l), {Text: last, Class: "unused"}, text(fmt.Sprint(o.QueryCount))})
				}
				s.Tables = append(s.Tables, t)
				if !yield(s) {
					return
				}
			}
		}
	}
	return d
}

func (md *reportModel) objectDoc() *viewDoc {
	l := md.linker()
	d := &viewDoc{View: ByObject, ID: "view-object", Title: "By object",
		Intro: []string{"One section per object: every person who can use it, the privileges they hold, and for each the role that grants it and the path by which they hold that role. Read a path left to right: the first role is granted to the person's Snowflake user, each next role is granted to the one before."}}
	idx := &table{Columns: []column{{"Object", kindText}, {"Type", kindText}, {"Account", kindText}, {"People", kindNum}, {"Roles with grants", kindNum}}}
	d.fill = func() {
		dark := 0
		for r := range md.allObjectReports() {
			d.Count++
			if r.Dark {
				dark++
				continue
			}
			roles := map[string]bool{}
			for _, g := range r.Grants {
				roles[g.Role] = true
			}
			idx.Rows = append(idx.Rows, []cell{{Text: r.ObjectName, Href: "#" + objectID(r.Account, r.ObjectType, r.ObjectName)}, text(r.ObjectType), text(r.Account),
				text(fmt.Sprint(len(r.People))), text(fmt.Sprint(len(roles)))})
		}
		d.Count -= dark
		switch {
		case dark > 0 && len(md.o.Emails)+len(md.o.Roles) > 0:
			d.Intro = append(d.Intro, fmt.Sprintf("%s with grants that none of the people selected can use %s not listed.", plural(dark, "object", "objects"), isAre(dark)))
		case dark > 0:
			d.Intro = append(d.Intro, fmt.Sprintf("%s with grants that nobody can use (no member of a granted role, or no USAGE on the container) %s not listed; the role view shows their grants, and grantmirror explain says what is missing.",
				plural(dark, "object", "objects"), isAre(dark)))
		}
		d.Index = idx
	}
	d.Sections = func() iter.Seq[section] {
		return func(yield func(section) bool) {
			for r := range md.objectReports() {
				if !yield(md.objectSection(r, l)) {
					return
				}
			}
		}
	}
	return d
}

func (md *reportModel) objectSection(r *ObjectReport, l linker) section {
	s := section{ID: objectID(r.Account, r.ObjectType, r.ObjectName), Title: md.accountTitle(r.Account, r.ObjectName),
		Badge: r.ObjectType + ", " + plural(len(r.People), "person", "people")}
	s.Facts = append(s.Facts, fact{"Who", []cell{text(plural(len(r.People), "person", "people") + " can use it")}})
	if md.m.Meta.Mode == model.Effective {
		db, schema := container(r.ObjectType, r.ObjectName)
		var needs []cell
		if db != "" && r.ObjectType != "DATABASE" {
			needs = append(needs, l.object(r.Account, "DATABASE", db))
		}
		if schema != "" {
			needs = append(needs, l.object(r.Account, "SCHEMA", schema))
		}
		if len(needs) > 0 {
			s.Facts = append(s.Facts, fact{"Each also holds USAGE on", needs})
		}
	}
	usage := md.accountUsage(r.Account)
	people := &table{Title: "People", Columns: []column{{"Person", kindText}, {"Privileges", kindText}, {"Granted by role", kindText}, {"How they hold that role", kindText}, {"Through user", kindText}}}
	if usage {
		people.Columns = append(people.Columns, column{"Used", kindUsage})
	}
	for _, v := range r.People {
		for _, t := range v.Through {
			row := []cell{l.person(r.Account, v.Email), text(strings.Join(t.Privileges, ", ")), l.role(r.Account, t.Role), text(arrowPath(t.Path)), text(strings.Join(t.Users, ", "))}
			if usage {
				row = append(row, usageCell(v.Usage, day(v.LastAccessed)))
			}
			people.Rows = append(people.Rows, row)
		}
	}
	grants := &table{Title: "Grants on this object", Columns: []column{{"Role", kindText}, {"Privilege", kindText}, {"Via", kindText}, {"People", kindNum}}}
	for _, g := range r.Grants {
		via := "granted"
		if g.Via != "" {
			via = "implied by " + g.Via
		}
		grants.Rows = append(grants.Rows, []cell{l.role(r.Account, g.Role), text(g.Privilege), text(via), text(fmt.Sprint(g.Members))})
	}
	s.Tables = append(s.Tables, people, grants)
	return s
}

func (md *reportModel) roleDoc() *viewDoc {
	l := md.linker()
	d := &viewDoc{View: ByRole, ID: "view-role", Title: "By role",
		Intro: []string{"One section per role: the people who hold it (directly, or because they hold a role it is granted to) and the privileges granted to the role itself. A role also has the privileges of every role it inherits."}}
	idx := &table{Columns: []column{{"Role", kindText}, {"Account", kindText}, {"Members", kindNum}, {"Direct members", kindNum}, {"Privileges", kindNum}, {"Inherits", kindText}}}
	d.fill = func() {
		for r := range md.roleReports() {
			d.Count++
			direct := map[string]bool{}
			all := map[string]bool{}
			for _, m := range r.Members {
				all[m.Email] = true
				if m.Direct {
					direct[m.Email] = true
				}
			}
			idx.Rows = append(idx.Rows, []cell{{Text: r.Role, Href: "#" + roleID(r.Account, r.Role)}, text(r.Account), text(fmt.Sprint(len(all))), text(fmt.Sprint(len(direct))),
				text(fmt.Sprint(len(r.Privileges))), text(strings.Join(r.Inherits, ", "))})
		}
		d.Index = idx
		d.Diagrams = md.diagram()
	}
	d.Sections = func() iter.Seq[section] {
		return func(yield func(section) bool) {
			for r := range md.roleReports() {
				if !yield(md.roleSection(r, l)) {
					return
				}
			}
		}
	}
	return d
}

func (md *reportModel) roleSection(r *RoleReport, l linker) section {
	s := section{ID: roleID(r.Account, r.Role), Title: md.accountTitle(r.Account, r.Role)}
	if strings.HasPrefix(r.Role, "USER ") {
		s.Badge = "grants made to a user directly"
	}
	links := func(roles []string) []cell {
		if len(roles) == 0 {
			return []cell{text("none")}
		}
		var out []cell
		for _, x := range roles {
			out = append(out, l.role(r.Account, x))
		}
		return out
	}
	s.Facts = append(s.Facts, fact{"Inherits (holders also get)", links(r.Inherits)}, fact{"Granted to roles", links(r.InheritedBy)})
	direct := 0
	emails := map[string]bool{}
	for _, m := range r.Members {
		emails[m.Email] = true
		if m.Direct {
			direct++
		}
	}
	s.Facts = append(s.Facts, fact{"Members", []cell{text(fmt.Sprintf("%s, %d by a direct grant", plural(len(emails), "person", "people"), direct))}})
	if s.Badge == "" {
		s.Badge = plural(len(emails), "member", "members") + ", " + plural(len(r.Privileges), "privilege", "privileges")
	}
	members := &table{Title: "Members", Columns: []column{{"Person", kindText}, {"How", kindText}, {"Path", kindText}, {"Through user", kindText}}}
	for _, m := range r.Members {
		how := HowInherited
		if m.Direct {
			how = HowDirect
		}
		if r.Role == model.PublicRole {
			how = HowPublic
		}
		members.Rows = append(members.Rows, []cell{l.person(r.Account, m.Email), text(how), text(arrowPath(m.Path)), text(strings.Join(m.Users, ", "))})
	}
	privs := &table{Title: "Privileges granted to this role", Columns: []column{{"Object", kindText}, {"Type", kindText}, {"Privilege", kindText}, {"Via", kindText}}}
	for _, p := range r.Privileges {
		via := "granted"
		if p.Via != "" {
			via = "implied by " + p.Via
		}
		privs.Rows = append(privs.Rows, []cell{l.object(r.Account, p.ObjectType, p.ObjectName), text(p.ObjectType), text(p.Privilege), text(via)})
	}
	s.Tables = append(s.Tables, members, privs)
	return s
}

func (md *reportModel) accessDoc() *viewDoc {
	l := md.linker()
	d := &viewDoc{View: ByAccess, ID: "view-access", Title: "Access table",
		Intro: []string{"The published table itself: one row per person, object and privilege, exactly what data APIs filter with."}}
	t := &table{Columns: []column{{"Account", kindText}, {"Email", kindText}, {"Object type", kindText}, {"Object", kindText}, {"Privilege", kindText}}}
	t.Stream = func(yield func([]cell) bool) {
		for r := range md.accessRows() {
			priv := text(r.Privilege)
			if r.Local != nil {
				priv = text(r.Privilege + " (" + r.Local.String() + ")")
			}
			if !yield([]cell{text(r.Account), l.person(r.Account, r.Email), text(r.ObjectType), l.object(r.Account, r.ObjectType, r.ObjectName), priv}) {
				return
			}
		}
	}
	d.Sections = func() iter.Seq[section] {
		return func(yield func(section) bool) {
			yield(section{ID: "access-table", Tables: []*table{t}})
		}
	}
	d.Count = 1
	return d
}

// accessRows yields the rows of the access view that pass the filters, in the
// table's order: the mirrored rows (streamed from the store when the report
// scans) with the local grants in force merged in, each after the mirrored row
// it equals. A failed scan ends the rows and is kept in md.err.
func (md *reportModel) accessRows() iter.Seq[AccessRow] {
	return func(yield func(AccessRow) bool) {
		local := md.localRows()
		i := 0
		emit := func(r model.Row) bool {
			for i < len(local) && local[i].Row.Compare(r) < 0 {
				if !yield(local[i]) {
					return false
				}
				i++
			}
			return yield(AccessRow{Row: r})
		}
		done := true
		switch {
		case md.scan != nil:
			for r := range md.scanned() {
				if !emit(r) {
					return
				}
			}
			done = md.err == nil
		case !md.o.Filtered():
			for r := range md.m.Access.All() {
				if !emit(r) {
					return
				}
			}
		default:
			for _, a := range md.accounts {
				for _, e := range a.emails {
					p := a.people[e]
					for r := range md.m.Access.For(a.meta.Name, e) {
						if md.rowAllowed(a, p, r) && !emit(r) {
							return
						}
					}
				}
			}
		}
		for ; done && i < len(local); i++ {
			if !yield(local[i]) {
				return
			}
		}
	}
}

// scanned yields the rows of one pass of md.scan, in table order; a failed
// scan ends them and is kept in md.err.
func (md *reportModel) scanned() iter.Seq[model.Row] {
	return func(yield func(model.Row) bool) {
		err := md.scan(func(r model.Row) error {
			if !yield(r) {
				return errStopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopped) && md.err == nil {
			md.err = err
		}
	}
}

// errStopped ends a scan whose reader stopped early.
var errStopped = errors.New("stopped")
