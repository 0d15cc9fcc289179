package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math/bits"
	"slices"
	"strings"
)

// The page's template, style and script are embedded, so the report is one file
// that opens offline and leaks nothing to a network.
var (
	//go:embed assets/report.html.tmpl
	pageTemplate string
	//go:embed assets/report.css
	pageCSS string
	//go:embed assets/report.js
	pageJS string

	page = template.Must(template.New("page").Parse(pageTemplate))
)

// maxHTMLSections is the most sections one view shows in HTML; beyond it the view
// shows only its index, and the note says how to narrow it down.
const maxHTMLSections = 2000

// htmlTable is a table ready for the page: kinds folded into cell classes, long
// tables cut with a note.
type htmlTable struct {
	Title   string
	Columns []column
	Rows    [][]cell
	Note    string
	Total   int
}

type htmlSection struct {
	ID     string
	Title  string
	Badge  string
	Facts  []fact
	Tables []htmlTable
	Open   bool
}

type htmlView struct {
	ID       string
	Title    string
	Intro    []string
	Index    *htmlTable
	Diagrams []*diagram
	Note     string
	Items    bool // sections are people, objects or roles (collapsible)
}

type htmlHead struct {
	Header Header
	Facts  [][2]string
	Views  []*viewDoc
	CSS    template.CSS
}

// writeHTML writes one self-contained page. Sections stream through the template
// one at a time; only the per-view index is held in memory.
func writeHTML(w io.Writer, md *reportModel) error {
	b := bufio.NewWriterSize(w, 64<<10)
	h := md.header()
	views := md.viewDocs()
	if err := page.ExecuteTemplate(b, "head", htmlHead{Header: h, Facts: h.facts(), Views: views, CSS: template.CSS(pageCSS)}); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	maxRows := md.o.MaxRows
	for i, v := range views {
		v.build()
		hv := htmlView{ID: v.ID, Title: v.Title, Intro: v.Intro, Diagrams: v.Diagrams, Items: v.View != ByAccess}
		if v.Index != nil {
			t := cutTable(v.Index, maxRows, md.fullReportHint(v.View))
			hv.Index = &t
		}
		tooMany := v.Count > maxHTMLSections
		if tooMany {
			hv.Note = fmt.Sprintf("%s sections are too many for one page: only the index is shown. Narrow the report with --email, --object, --role or --account; the full table: %s",
				thousands(v.Count), md.fullReportHint(v.View))
		}
		if err := page.ExecuteTemplate(b, "viewStart", hv); err != nil {
			return fmt.Errorf("html: %w", err)
		}
		if !tooMany {
			n := 0
			for s := range v.Sections() {
				n++
				hs := htmlSection{ID: s.ID, Title: s.Title, Badge: s.Badge, Facts: s.Facts, Open: v.View == ByAccess || v.Count == 1}
				for _, t := range s.Tables {
					if v.View == ByAccess {
						hs.Tables = append(hs.Tables, md.accessHTML(t, maxRows))
					} else {
						hs.Tables = append(hs.Tables, cutTable(t, maxRows, md.fullReportHint(v.View)))
					}
				}
				if err := page.ExecuteTemplate(b, "section", hs); err != nil {
					return fmt.Errorf("html: %w", err)
				}
			}
			if n == 0 {
				fmt.Fprint(b, `<p class="empty">Nothing matches the filters.</p>`)
			}
		}
		if err := page.ExecuteTemplate(b, "viewEnd", hv); err != nil {
			return fmt.Errorf("html: %w", err)
		}
		// Written: its index can go before the next view's is built.
		views[i] = nil
		md.viewDone(v.View)
	}
	if err := page.ExecuteTemplate(b, "foot", template.JS(pageJS)); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return b.Flush()
}

// cellClasses folds a column's kind into its cells' classes.
func cellClasses(cols []column, row []cell) []cell {
	out := make([]cell, len(row))
	for i, c := range row {
		if i < len(cols) && cols[i].Kind != kindText {
			c.Class = strings.TrimSpace(cols[i].Kind + " " + c.Class)
		}
		out[i] = c
	}
	return out
}

// cutTable keeps the first max rows of a table and says so when it cuts, with
// the command that writes the table whole (hint).
func cutTable(t *table, maxRows int, hint string) htmlTable {
	ht := htmlTable{Title: t.Title, Columns: t.Columns}
	for row := range t.all() {
		ht.Total++
		if len(ht.Rows) < maxRows {
			ht.Rows = append(ht.Rows, cellClasses(t.Columns, row))
		}
	}
	if ht.Total > maxRows {
		ht.Note = fmt.Sprintf("This table shows the first %s of %s rows: a page this long would not open; the full table: %s",
			thousands(maxRows), thousands(ht.Total), hint)
	}
	return ht
}

// accessHTML shows the access table when it fits, and otherwise a summary by
// object type and privilege with the command that writes the table whole.
func (md *reportModel) accessHTML(t *table, maxRows int) htmlTable {
	type key struct{ typ, priv string }
	type agg struct {
		rows            int
		people, objects bitset
	}
	ht := htmlTable{Columns: t.Columns}
	var order []key
	groups := map[key]*agg{}
	// Each person and object is numbered once, and a group keeps a bit per
	// number: at 23M rows a set of names per group held 60 MB.
	people, objects := numbering{}, numbering{}
	for r := range md.accessRows() {
		ht.Total++
		k := key{r.ObjectType, r.Privilege}
		g := groups[k]
		if g == nil {
			g = &agg{}
			groups[k] = g
			order = append(order, key{strings.Clone(k.typ), strings.Clone(k.priv)})
		}
		g.rows++
		g.people.set(people.of(r.Account, r.Email))
		g.objects.set(objects.of(r.Account, r.ObjectName))
	}
	if ht.Total <= maxRows {
		return cutTable(t, maxRows, "")
	}
	slices.SortFunc(order, func(x, y key) int {
		if c := strings.Compare(x.typ, y.typ); c != 0 {
			return c
		}
		return comparePrivileges(x.priv, y.priv)
	})
	ht.Title = "Summary by object type and privilege"
	ht.Columns = []column{{"Object type", kindText}, {"Privilege", kindText}, {"Rows", kindNum}, {"People", kindNum}, {"Objects", kindNum}}
	for _, k := range order {
		g := groups[k]
		ht.Rows = append(ht.Rows, cellClasses(ht.Columns, []cell{text(k.typ), text(k.priv), text(fmt.Sprint(g.rows)), text(fmt.Sprint(g.people.count())), text(fmt.Sprint(g.objects.count()))}))
	}
	ht.Note = fmt.Sprintf("The access table has %s rows, more than the %s one page shows: this is a summary by object type and privilege; the full table: %s",
		thousands(ht.Total), thousands(maxRows), md.fullReportHint(ByAccess))
	return ht
}

// numbering gives each (account, name) a number, in the order first seen.
type numbering map[[2]string]int

func (n numbering) of(account, name string) int {
	k := [2]string{account, name}
	i, ok := n[k]
	if !ok {
		// The names outlive the row they came with.
		i = len(n)
		n[[2]string{strings.Clone(account), strings.Clone(name)}] = i
	}
	return i
}

// bitset is a set of small numbers.
type bitset []uint64

func (b *bitset) set(i int) {
	for len(*b) <= i/64 {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// fullReportHint is the command that writes a view whole, with the report's
// filters. It names CSV, which streams any number of rows; the file is named
// after the view.
func (md *reportModel) fullReportHint(v View) string {
	args := []string{"grantmirror report --by " + string(v)}
	if md.o.Unused {
		args = append(args, fmt.Sprintf("--unused --days %d", md.o.Days))
	}
	for _, a := range md.o.Accounts {
		args = append(args, "--account "+a)
	}
	for _, e := range md.o.Emails {
		args = append(args, "--email "+e)
	}
	for _, o := range md.o.Objects {
		args = append(args, "--object '"+o+"'")
	}
	for _, r := range md.o.Roles {
		args = append(args, "--role '"+r+"'")
	}
	return strings.Join(args, " ") + " --format csv --out " + string(v) + ".csv"
}
