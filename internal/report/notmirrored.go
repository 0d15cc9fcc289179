package report

import (
	"iter"
	"slices"
	"strings"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// notMirrored is the view that lists what the mirror does not reproduce.
const notMirrored View = "not-mirrored"

// gaps returns what of the report's accounts the mirror does not reproduce.
func (md *reportModel) gaps() []model.Gap {
	var out []model.Gap
	for _, g := range model.NotMirrored(md.m) {
		if len(md.o.Accounts) == 0 || slices.Contains(md.o.Accounts, g.Account) {
			out = append(out, g)
		}
	}
	return out
}

// notMirroredDoc is the "Not mirrored" section every readable report ends with
// when the mirror falls back somewhere: one entry per policy or grant shape, on
// which objects, and what the mirror does instead, so nobody reads a fallback as
// Snowflake's answer. Nil when there is nothing to list.
func (md *reportModel) notMirroredDoc(gaps []model.Gap) *viewDoc {
	if len(gaps) == 0 {
		return nil
	}
	d := &viewDoc{View: notMirrored, ID: "view-not-mirrored", Title: "Not mirrored",
		Intro: []string{"Snowflake rules grantmirror did not translate. Where they apply, what this report and the data APIs show is grantmirror's fallback, not Snowflake's answer."}}
	t := &table{Columns: []column{{"Account", kindText}, {"Not mirrored", kindText}, {"Why", kindText}, {"On", kindText}, {"What grantmirror does instead", kindText}}}
	for _, g := range gaps {
		t.Rows = append(t.Rows, []cell{text(g.Account), text(g.What), text(g.Why), text(strings.Join(g.Objects, "; ")), text(g.Fallback)})
	}
	d.Count = 1
	d.Sections = func() iter.Seq[section] {
		return func(yield func(section) bool) {
			yield(section{ID: "not-mirrored", Tables: []*table{t}})
		}
	}
	return d
}
