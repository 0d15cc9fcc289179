package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"
)

// flatTable is a view as one plain table, for CSV files and spreadsheet sheets.
// Lists inside a cell are joined with "; " and role paths with " > ", which
// survive any spreadsheet's import.
type flatTable struct {
	Sheet   string
	Columns []string
	Widths  []float64
	Rows    func() iter.Seq[[]string]
	// view is the view of a workbook's sheet (sheets).
	view View
}

func join(l []string) string     { return strings.Join(l, "; ") }
func joinPath(p []string) string { return strings.Join(p, " > ") }
func dayOf(t *time.Time) string  { return day(t) }
func count(n int64) string       { return fmt.Sprint(n) }
func boolText(b bool) string     { return fmt.Sprint(b) }

var accessTable = flatTable{Sheet: "Access", Columns: AccessHeader, Widths: []float64{10, 34, 14, 48, 14}}

// accessFlat is the access view as a table; with local grants in force it has
// four more columns, which say which rows are local and until when, why and
// who approved them.
func (md *reportModel) accessFlat() flatTable {
	t := accessTable
	withLocal := len(md.o.Local) > 0
	if withLocal {
		t.Columns = append(slices.Clone(AccessHeader), localColumns...)
		t.Widths = append(slices.Clone(t.Widths), 12, 22, 40, 30)
	}
	t.Rows = func() iter.Seq[[]string] {
		return func(yield func([]string) bool) {
			for r := range md.accessRows() {
				if !yield(r.cells(withLocal)) {
					return
				}
			}
		}
	}
	return t
}

// userAccessFlat is the user view as a table: one row per person and object.
func (md *reportModel) userAccessFlat() flatTable {
	return flatTable{Sheet: "User access",
		Columns: []string{"account", "email", "users", "group", "object_type", "object_name", "privileges", "roles", "usage", "last_accessed", "query_count"},
		Widths:  []float64{10, 34, 24, 24, 14, 48, 30, 36, 12, 14, 12},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for p := range md.people(false) {
					users := make([]string, len(p.Users))
					for i, u := range p.Users {
						users[i] = u.Name
					}
					for _, o := range p.Objects {
						if !yield([]string{p.Account, p.Email, join(users), o.Group, o.ObjectType, o.ObjectName, join(o.Privileges), join(o.Roles),
							o.Usage, dayOf(o.LastAccessed), count(o.QueryCount)}) {
							return
						}
					}
				}
			}
		}}
}

func (md *reportModel) peopleFlat() flatTable {
	return flatTable{Sheet: "People",
		Columns: []string{"account", "email", "users", "roles", "objects", "unused_objects"},
		Widths:  []float64{10, 34, 30, 10, 10, 14},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for p := range md.people(false) {
					users := make([]string, len(p.Users))
					for i, u := range p.Users {
						users[i] = u.Name
					}
					unused := ""
					if md.accountUsage(p.Account) {
						unused = fmt.Sprint(countUnused(p.Objects))
					}
					if !yield([]string{p.Account, p.Email, join(users), fmt.Sprint(distinctRoles(p.Roles)), fmt.Sprint(len(p.Objects)), unused}) {
						return
					}
				}
			}
		}}
}

func (md *reportModel) userRolesFlat() flatTable {
	return flatTable{Sheet: "User roles",
		Columns: []string{"account", "email", "role", "how", "path", "users"},
		Widths:  []float64{10, 34, 28, 22, 60, 24},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for p := range md.people(false) {
					for _, r := range p.Roles {
						if !yield([]string{p.Account, p.Email, r.Role, r.How, joinPath(r.Path), join(r.Users)}) {
							return
						}
					}
				}
			}
		}}
}

func (md *reportModel) unusedFlat() flatTable {
	return flatTable{Sheet: "Unused access",
		Columns: []string{"account", "email", "object_type", "object_name", "privileges", "roles", "last_accessed", "query_count"},
		Widths:  []float64{10, 34, 14, 48, 30, 36, 14, 12},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for p := range md.people(true) {
					for _, o := range p.Objects {
						if !yield([]string{p.Account, p.Email, o.ObjectType, o.ObjectName, join(o.Privileges), join(o.Roles), dayOf(o.LastAccessed), count(o.QueryCount)}) {
							return
						}
					}
				}
			}
		}}
}

// objectFlat is the object view as a table: one row per object, person and role
// that gives the person privileges on it.
func (md *reportModel) objectFlat() flatTable {
	return flatTable{Sheet: "Object access",
		Columns: []string{"account", "object_type", "object_name", "email", "privileges", "role", "path", "users", "usage", "last_accessed"},
		Widths:  []float64{10, 14, 48, 34, 30, 28, 60, 24, 12, 14},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for r := range md.objectReports() {
					for _, v := range r.People {
						for _, t := range v.Through {
							if !yield([]string{r.Account, r.ObjectType, r.ObjectName, v.Email, join(t.Privileges), t.Role, joinPath(t.Path), join(t.Users), v.Usage, dayOf(v.LastAccessed)}) {
								return
							}
						}
					}
				}
			}
		}}
}

// roleFlat is the role view as one long table for CSV: a kind column says whether
// a line is a member, a privilege of the role, or a role it inherits (in Snowflake
// terms, USAGE on that role).
func (md *reportModel) roleFlat() flatTable {
	return flatTable{Sheet: "Roles",
		Columns: []string{"account", "role", "kind", "email", "users", "path", "object_type", "object_name", "privilege", "via"},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for r := range md.roleReports() {
					for _, s := range r.Inherits {
						if !yield([]string{r.Account, r.Role, "inherits", "", "", "", "ROLE", s, "USAGE", ""}) {
							return
						}
					}
					for _, m := range r.Members {
						if !yield([]string{r.Account, r.Role, "member", m.Email, join(m.Users), joinPath(m.Path), "", "", "", ""}) {
							return
						}
					}
					for _, p := range r.Privileges {
						if !yield([]string{r.Account, r.Role, "privilege", "", "", "", p.ObjectType, p.ObjectName, p.Privilege, p.Via}) {
							return
						}
					}
				}
			}
		}}
}

func (md *reportModel) roleMembersFlat() flatTable {
	return flatTable{Sheet: "Role members",
		Columns: []string{"account", "role", "email", "direct", "path", "users"},
		Widths:  []float64{10, 28, 34, 8, 60, 24},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for r := range md.roleReports() {
					for _, m := range r.Members {
						if !yield([]string{r.Account, r.Role, m.Email, boolText(m.Direct), joinPath(m.Path), join(m.Users)}) {
							return
						}
					}
				}
			}
		}}
}

func (md *reportModel) rolePrivilegesFlat() flatTable {
	return flatTable{Sheet: "Role privileges",
		Columns: []string{"account", "role", "object_type", "object_name", "privilege", "via"},
		Widths:  []float64{10, 28, 14, 48, 22, 12},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for r := range md.roleReports() {
					for _, p := range r.Privileges {
						if !yield([]string{r.Account, r.Role, p.ObjectType, p.ObjectName, p.Privilege, p.Via}) {
							return
						}
					}
				}
			}
		}}
}

func (md *reportModel) roleHierarchyFlat() flatTable {
	return flatTable{Sheet: "Role hierarchy",
		Columns: []string{"account", "role", "inherits"},
		Widths:  []float64{10, 28, 28},
		Rows: func() iter.Seq[[]string] {
			return func(yield func([]string) bool) {
				for r := range md.roleReports() {
					for _, s := range r.Inherits {
						if !yield([]string{r.Account, r.Role, s}) {
							return
						}
					}
				}
			}
		}}
}

// csvTable is the one table a CSV report of the view holds.
func (md *reportModel) csvTable() flatTable {
	switch {
	case md.o.By == ByUser && md.o.Unused:
		return md.unusedFlat()
	case md.o.By == ByUser:
		return md.userAccessFlat()
	case md.o.By == ByObject:
		return md.objectFlat()
	case md.o.By == ByRole:
		return md.roleFlat()
	}
	return md.accessFlat()
}

// sheets are the tables a workbook holds, one sheet each, in view order.
func (md *reportModel) sheets() []flatTable {
	var out []flatTable
	for _, v := range md.o.views() {
		n := len(out)
		switch {
		case v == ByUser && md.o.Unused:
			out = append(out, md.unusedFlat())
		case v == ByUser:
			out = append(out, md.peopleFlat(), md.userRolesFlat(), md.userAccessFlat())
		case v == ByObject:
			out = append(out, md.objectFlat())
		case v == ByRole:
			out = append(out, md.roleMembersFlat(), md.rolePrivilegesFlat(), md.roleHierarchyFlat())
		case v == ByAccess:
			out = append(out, md.accessFlat())
		}
		for i := n; i < len(out); i++ {
			out[i].view = v
		}
	}
	return out
}

// writeCSV writes the view's table. The unfiltered access table goes through
// AccessCSV, the contract scripts depend on.
func writeCSV(w io.Writer, md *reportModel) error {
	if md.o.By == ByAccess && !md.o.Filtered() && md.scan == nil && len(md.o.Local) == 0 {
		return AccessCSV(w, md.m.Access)
	}
	t := md.csvTable()
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	for row := range t.Rows() {
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
