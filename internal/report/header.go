package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Header is what every report states about the data it shows: where it came from,
// how old it is and how it was computed. An access report without its age would
// invite people to trust yesterday's grants.
type Header struct {
	Title       string         `json:"title"`
	View        View           `json:"view"`
	GeneratedAt time.Time      `json:"generated_at"`
	Generation  int            `json:"generation"`
	PublishedAt time.Time      `json:"published_at"`
	Mode        model.Mode     `json:"mode"`
	RoleMode    model.RoleMode `json:"roles"`
	Rows        int            `json:"rows"`
	// LocalGrants counts the local grants in force that Rows includes.
	LocalGrants int             `json:"local_grants,omitempty"`
	SnapshotAt  *time.Time      `json:"snapshot_at,omitempty"`
	SnapshotAge string          `json:"snapshot_age,omitempty"`
	Accounts    []AccountHeader `json:"accounts"`
	Filters     []string        `json:"filters,omitempty"`
	UsageDays   int             `json:"usage_days"`
	Notes       []string        `json:"notes,omitempty"`
	// NotMirrored lists the Snowflake rules the mirror did not translate and what
	// it does instead; the readable formats show them as a section of their own.
	NotMirrored []model.Gap `json:"not_mirrored,omitempty"`
}

// AccountHeader describes one account of the report.
type AccountHeader struct {
	Name        string     `json:"name"`
	Source      string     `json:"source,omitempty"`
	ExtractedAt *time.Time `json:"extracted_at,omitempty"`
	Age         string     `json:"age,omitempty"`
	// Usage is "known" when the snapshot has access history, else "unknown".
	Usage            string     `json:"usage"`
	HistoryRows      int        `json:"history_rows,omitempty"`
	HistoryLatest    *time.Time `json:"history_latest,omitempty"`
	HistoryUnmatched int        `json:"history_unmatched,omitempty"`
	Excluded         int        `json:"excluded_users,omitempty"`
}

var viewTitles = map[View]string{
	ByAccess: "Access table",
	ByUser:   "By user",
	ByObject: "By object",
	ByRole:   "By role",
	ByAll:    "Access report",
}

func (md *reportModel) header() Header {
	m, o := md.m, md.o
	h := Header{
		Title:       "grantmirror: " + strings.ToLower(viewTitles[o.By]),
		View:        o.By,
		GeneratedAt: o.Now,
		Generation:  m.Meta.Generation,
		PublishedAt: m.Meta.PublishedAt.UTC(),
		Mode:        m.Meta.Mode,
		RoleMode:    m.Meta.Roles,
		Rows:        m.Meta.Rows,
		Filters:     o.filterText(),
		UsageDays:   o.Days,
	}
	if o.Unused {
		h.Title = fmt.Sprintf("grantmirror: access not used in %d days", o.Days)
	}
	if o.By == ByAll {
		h.Title = "grantmirror: access report"
	}
	if h.Rows == 0 {
		h.Rows = m.Access.Len()
	}
	if n := len(o.Local); n > 0 {
		// The total is the access view's: the mirrored rows and the local grants
		// in force, each counted once, as SELECT count(*) FROM access counts them.
		h.Rows += n
		h.LocalGrants = n
		h.Notes = append(h.Notes, fmt.Sprintf("%s in force on the target %s included, marked as local (grantmirror grant list shows them).",
			plural(n, "local grant", "local grants"), isAre(n)))
	}
	if at := m.Meta.SnapshotAt(); !at.IsZero() {
		at = at.UTC()
		h.SnapshotAt = &at
		h.SnapshotAge = age(o.Now.Sub(at))
		if o.Now.Sub(at) > 24*time.Hour {
			h.Notes = append(h.Notes, fmt.Sprintf("The snapshot is %s old: grants changed since then are not shown. Run grantmirror sync for current access.", h.SnapshotAge))
		}
	} else {
		h.Notes = append(h.Notes, "The snapshot did not record when it was taken, so its age is unknown.")
	}
	excluded := map[string]int{}
	for _, x := range m.Excluded {
		excluded[x.Account]++
	}
	var unknown []string
	for _, a := range md.accounts {
		ah := AccountHeader{Name: a.meta.Name, Source: a.meta.Source, Usage: "unknown", Excluded: excluded[a.meta.Name]}
		if !a.meta.ExtractedAt.IsZero() {
			t := a.meta.ExtractedAt.UTC()
			ah.ExtractedAt = &t
			ah.Age = age(o.Now.Sub(t))
		}
		if a.usage != nil {
			ah.Usage = "known"
			ah.HistoryRows, ah.HistoryUnmatched = a.usage.events, a.usage.unmatched
			if !a.usage.latest.IsZero() {
				t := a.usage.latest.UTC()
				ah.HistoryLatest = &t
			}
		} else {
			unknown = append(unknown, a.meta.Name)
		}
		if ah.Excluded > 0 {
			h.Notes = append(h.Notes, fmt.Sprintf("%s: %s with no valid email %s not in this report; grantmirror lint lists them.",
				a.meta.Name, plural(ah.Excluded, "Snowflake user", "Snowflake users"), isAre(ah.Excluded)))
		}
		h.Accounts = append(h.Accounts, ah)
	}
	if len(unknown) > 0 && o.By != ByAccess {
		h.Notes = append(h.Notes, fmt.Sprintf("Usage is unknown for %s: the snapshot has no access_history.csv (ACCOUNT_USAGE.ACCESS_HISTORY needs Enterprise edition), so nothing here says whether access is used.",
			strings.Join(unknown, ", ")))
	}
	if len(unknown) < len(md.accounts) && o.By != ByAccess {
		h.Notes = append(h.Notes, fmt.Sprintf("Used means a query read the object (or, for a database or schema, something inside it) in the %d days before the snapshot, per ACCESS_HISTORY.", o.Days))
	}
	if m.Meta.Mode == model.Effective && o.By != ByAccess {
		h.Notes = append(h.Notes, "Effective mode: a privilege on an object counts only when the person also holds USAGE on its database and schema, as a Snowflake session needs.")
	}
	for _, e := range md.missing {
		h.Notes = append(h.Notes, fmt.Sprintf("%s is not in this generation: no active Snowflake user with a valid email maps to it.", e))
	}
	if len(o.Accounts) > 0 && len(md.accounts) == 0 {
		h.Notes = append(h.Notes, "No account of this generation matches the account filter.")
	}
	h.NotMirrored = md.gaps()
	if n := len(h.NotMirrored); n > 0 {
		h.Notes = append(h.Notes, plural(n, "Snowflake rule is", "Snowflake rules are")+" not mirrored (see Not mirrored): where they apply, this report shows grantmirror's fallback, not Snowflake's answer.")
	}
	return h
}

// age says how long ago something happened, in the unit a person would use.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future (check the clocks)"
	case d < time.Minute:
		return "less than a minute"
	case d < 90*time.Minute:
		return plural(int(d/time.Minute), "minute", "minutes")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour", "hours")
	}
	return plural(int(d/(24*time.Hour)), "day", "days")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// stamp writes a time the way reports show it.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// day writes a date the way usage columns show it.
func day(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// facts lists the header as label and value pairs, for the formats that print it.
func (h Header) facts() [][2]string {
	gen := "not published (computed from a snapshot)"
	if h.Generation > 0 {
		gen = fmt.Sprint(h.Generation)
	}
	out := [][2]string{}
	for _, a := range h.Accounts {
		v := a.Name
		if a.Source != "" {
			v += " (" + a.Source + ")"
		}
		out = append(out, [2]string{"Account", v})
	}
	snap := "unknown"
	if h.SnapshotAt != nil {
		snap = stamp(*h.SnapshotAt) + ", " + h.SnapshotAge + " before this report"
	}
	out = append(out,
		[2]string{"Snapshot taken", snap},
		[2]string{"Generation", gen},
		[2]string{"Published", stamp(h.PublishedAt)},
		[2]string{"Mode", fmt.Sprintf("%s, %s roles", h.Mode, h.RoleMode)},
		[2]string{"Rows in the access table", fmt.Sprint(h.Rows)},
	)
	for _, a := range h.Accounts {
		u := "unknown (no access_history.csv)"
		if a.Usage == "known" {
			u = fmt.Sprintf("known from %s of access history, latest %s; used = accessed in the last %d days", plural(a.HistoryRows, "row", "rows"), day(a.HistoryLatest), h.UsageDays)
		}
		label := "Usage"
		if len(h.Accounts) > 1 {
			label += " (" + a.Name + ")"
		}
		out = append(out, [2]string{label, u})
	}
	if len(h.Filters) > 0 {
		out = append(out, [2]string{"Filters", strings.Join(h.Filters, "; ")})
	}
	out = append(out, [2]string{"Report made", stamp(h.GeneratedAt)})
	return out
}
