package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// LocalGrant is access granted by hand on top of the mirror on a Postgres
// target (grantmirror grant add). The access view counts it while it is in
// force, so the access report lists it too, marked as local: without it, a
// report's totals would not be what data APIs enforce.
type LocalGrant struct {
	model.Row `json:"-"`
	ID        int64     `json:"id"`
	GrantedBy string    `json:"granted_by"`
	Approver  string    `json:"approver"`
	Reason    string    `json:"reason"`
	Until     time.Time `json:"until"`
}

// String describes the grant in a table cell.
func (g *LocalGrant) String() string {
	return fmt.Sprintf("local grant #%d until %s, approved by %s: %s", g.ID, g.Until.UTC().Format(time.RFC3339), g.Approver, g.Reason)
}

// AccessRow is one row of the access view: a mirrored row, or a local grant's.
type AccessRow struct {
	model.Row
	Local *LocalGrant `json:"local_grant,omitempty"`
}

// localColumns follow AccessHeader when local grants are in force.
var localColumns = []string{"local_grant", "until", "reason", "approver"}

// cells are the access columns of a row, with the local-grant columns when the
// report has any.
func (r AccessRow) cells(withLocal bool) []string {
	out := []string{r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege}
	if !withLocal {
		return out
	}
	if r.Local == nil {
		return append(out, "", "", "", "")
	}
	return append(out, fmt.Sprint(r.Local.ID), r.Local.Until.UTC().Format(time.RFC3339), r.Local.Reason, r.Local.Approver)
}

// localRows are the local grants the filters let through, in table order. A
// local grant comes through no role, so a role filter keeps none.
func (md *reportModel) localRows() []AccessRow {
	var out []AccessRow
	for i := range md.o.Local {
		g := &md.o.Local[i]
		switch {
		case len(md.o.Roles) > 0,
			len(md.o.Emails) > 0 && !slices.Contains(md.o.Emails, g.Email),
			len(md.o.Accounts) > 0 && !slices.Contains(md.o.Accounts, g.Account),
			!md.objectAllowed(g.ObjectName):
			continue
		}
		out = append(out, AccessRow{Row: g.Row, Local: g})
	}
	slices.SortStableFunc(out, func(a, b AccessRow) int { return a.Row.Compare(b.Row) })
	return out
}
