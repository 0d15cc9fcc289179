package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// View is the question a report answers.
type View string

// The views. All renders every other view into one file, so a single HTML page or
// workbook answers both "who can see this table" and "what can she reach".
const (
	ByAccess View = "access" // the published table, one row per privilege
	ByUser   View = "user"   // one section per person: users, roles, objects
	ByObject View = "object" // one section per object: who, with what, through which roles
	ByRole   View = "role"   // one section per role: members, privileges, hierarchy
	ByAll    View = "all"    // user, object, role and access together
)

// Views lists the views in the order a combined report shows them.
var Views = []View{ByUser, ByObject, ByRole, ByAccess}

// Format is how a report is written.
type Format string

// The formats.
const (
	CSV      Format = "csv"
	JSON     Format = "json"
	Markdown Format = "md"
	HTML     Format = "html"
	XLSX     Format = "xlsx"
)

// Formats lists every format, for help text.
var Formats = []Format{CSV, JSON, Markdown, HTML, XLSX}

// Defaults of Options.
const (
	DefaultDays    = 90
	DefaultMaxRows = 5000
)

// Options choose what a report shows. Filters hold names as the mirror stores them:
// the command line normalizes emails and canonicalizes object and role names first.
type Options struct {
	By     View
	Format Format

	// Emails keeps only these people.
	Emails []string
	// Objects keeps only these objects; a database or schema name also keeps
	// everything inside it.
	Objects []string
	// Roles keeps only people who hold one of these roles, and only the access that
	// comes through it (the role itself or any role it inherits).
	Roles []string
	// Accounts keeps only these accounts.
	Accounts []string

	// Local are the local grants in force (a Postgres target's, for its current
	// generation): the access view lists them, marked, and counts them in its
	// total, as the target's access view does.
	Local []LocalGrant

	// Unused lists, per person, the objects with no recorded access in the last Days
	// days before the snapshot. It needs access_history.csv in the snapshot.
	Unused bool
	// Days is the usage window; 0 means DefaultDays. It also decides what the user
	// and object views mark as used.
	Days int

	// Now is the time the report is made, against which the snapshot's age is told;
	// zero means time.Now. Tests set it so that output is reproducible.
	Now time.Time
	// MaxRows caps the rows of one HTML table; a larger table is summarized with a
	// note on how to get it whole. 0 means DefaultMaxRows.
	MaxRows int
}

// Validate checks the options and fills defaults.
func (o *Options) Validate() error {
	if o.By == "" {
		o.By = ByAccess
	}
	if o.Format == "" {
		o.Format = CSV
	}
	if o.By != ByAll && !slices.Contains(Views, o.By) {
		return fmt.Errorf("%w: --by %s: want access, user, object, role or all", ErrOptions, o.By)
	}
	if !slices.Contains(Formats, o.Format) {
		return fmt.Errorf("%w: --format %s: want csv, json, md, html or xlsx", ErrOptions, o.Format)
	}
	if o.By == ByAll && o.Format == CSV {
		return fmt.Errorf("%w: --by all --format csv: a CSV file holds one table; pick --by access, user, object or role, or use xlsx", ErrOptions)
	}
	if o.Unused && o.By != ByUser {
		return fmt.Errorf("%w: --unused lists a person's unused grants: use it with --by user", ErrOptions)
	}
	if o.Days < 0 {
		return fmt.Errorf("%w: --days %d: want a positive number of days", ErrOptions, o.Days)
	}
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.MaxRows < 0 {
		return fmt.Errorf("%w: max rows %d: want a positive number", ErrOptions, o.MaxRows)
	}
	if o.MaxRows == 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	for i, a := range o.Accounts {
		o.Accounts[i] = strings.ToUpper(strings.TrimSpace(a))
	}
	return nil
}

// views is the list of views a report with these options renders.
func (o *Options) views() []View {
	if o.By == ByAll {
		return Views
	}
	return []View{o.By}
}

// Filtered reports whether any filter is set.
func (o *Options) Filtered() bool {
	return len(o.Emails)+len(o.Objects)+len(o.Roles)+len(o.Accounts) > 0
}

// filterText describes the filters for a report's header.
func (o *Options) filterText() []string {
	var out []string
	add := func(label string, v []string) {
		if len(v) > 0 {
			out = append(out, label+": "+strings.Join(v, ", "))
		}
	}
	add("account", o.Accounts)
	add("email", o.Emails)
	add("object", o.Objects)
	add("role", o.Roles)
	return out
}
