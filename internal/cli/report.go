package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/report"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

func reportCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "export who can see what, for people (html, xlsx, md) and scripts (csv, json)",
		Description: `Writes a report of the published mirror. Every report states the accounts, when the
snapshot was taken and how old it is, the generation and the mode.

  --by access   the access table; --format csv is a stable contract: the header
                account,email,object_type,object_name,privilege and one sorted row
                per published row. On a Postgres target with local grants in force,
                their rows are listed too, in order, and four columns follow
                (local_grant, until, reason, approver), empty on mirrored rows: the
                report's total is then the access view's
  --by user     per person: Snowflake users, roles (direct or inherited, with the
                path), objects by database and schema with privileges as columns
  --by object   per object: who can use it, with which privileges, through which roles
  --by role     per role: members, privileges, and the role hierarchy as a diagram
  --by all      user, object, role and access in one file (not csv)

With access_history.csv in the snapshot, objects are marked used or unused in the
last --days days, and --by user --unused lists only what was not used.
HTML is one self-contained file (sortable, filterable, printable); a table longer
than --max-rows shows its first rows and says how many it leaves out, with the CSV
command that writes it whole. XLSX has one sheet per table with a frozen header and
filter buttons; a table longer than a sheet's 1,048,575 rows continues on the next
sheets (Access 2, Access 3, …), each with the header.

--by access streams from the target, row by row, whatever the size of the mirror;
the user, object, role and all views of everything stream too, holding everyone's
memberships beside a batch of people, objects or roles at a time. A report on
--email people or on the holders of a --role (--by user, access or role) reads only
their part of the generation, and one on --object objects, in any view, only the
objects, the people who can use them and, for the role view, the holders of the roles
with a grant on them. A report narrowed by --account alone reads the generation whole.
--at reports the mirror as it stood at a moment by publish time (what readers were
served then); the header says when that generation's snapshot was taken.

Examples:
   grantmirror report --by access --format csv > access.csv
   grantmirror report --by all --format html --out access.html
   grantmirror report --by object --object sales.public.orders --format md
   grantmirror report --by user --email alice.martin@acme.example --format html -o alice.html
   grantmirror report --by user --unused --days 90 --format xlsx --out unused.xlsx
   grantmirror report --by role --role SALES_ANALYST --format json`,
		Flags: targetFlags(
			&cli.StringFlag{Name: "by", Value: "access", Usage: "access, user, object, role or all"},
			formatFlag("csv", "csv", "json", "md", "html", "xlsx"),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write to this file instead of standard output"},
			&cli.IntFlag{Name: "generation", Usage: "read this kept generation instead of the current one", DefaultText: "current"},
			&cli.StringSliceFlag{Name: "email", Usage: "only this person (repeatable); aliases apply"},
			&cli.StringSliceFlag{Name: "object", Usage: "only this object, or everything in this database or schema (repeatable)"},
			&cli.StringSliceFlag{Name: "role", Usage: "only people holding this role, and only the access it gives (repeatable)"},
			&cli.StringSliceFlag{Name: "account", Usage: "only this account (repeatable)"},
			&cli.BoolFlag{Name: "unused", Usage: "with --by user: list only access not used in --days days (needs access history)"},
			&cli.IntFlag{Name: "days", Value: report.DefaultDays, Usage: "usage window in days"},
			&cli.IntFlag{Name: "max-rows", Value: report.DefaultMaxRows, Usage: "HTML: show at most this many rows of a table (the page says what it leaves out)"},
			atFlag(),
		),
		Action: e.action(func(c *cli.Context) error {
			o, err := e.reportOptions(c)
			if err != nil {
				return err
			}
			if o.Format == report.XLSX && c.String("out") == "" && isTerminal(e.stdout) {
				return usageErr("report --format xlsx writes a binary workbook: give --out FILE or redirect the output")
			}
			at, err := atTime(c)
			if err != nil {
				return err
			}
			var write func(w io.Writer) error
			if !at.IsZero() {
				m, err := e.mirrorFor(c)
				if err != nil {
					return err
				}
				o.Emails = mapEmails(e.cfg.caller().Normalizer(m.Meta), o.Emails)
				write = func(w io.Writer) error { return report.Write(w, m, o) }
			} else {
				s, err := e.openStore()
				if err != nil {
					return err
				}
				defer s.Close()
				// Local grants in force count for the current generation, as the
				// access view counts them.
				if ps, ok := s.(*pgstore.Store); ok && !c.IsSet("generation") {
					grants, err := ps.LocalGrants(e.ctx, false)
					if err != nil {
						return err
					}
					o.Local = reportGrants(grants)
				}
				if !o.Filtered() && os.Getenv("GOMEMLIMIT") == "" {
					// A view of everything streams: the heap holds everyone's
					// memberships and a batch, not the generation. Without a
					// limit the collector lets garbage grow to twice that, and
					// further while a batch is read faster than it collects. (A
					// generation kept without its snapshot is read whole; the
					// limit is soft, so that only makes its collector busier.)
					debug.SetMemoryLimit(streamMemoryLimit)
				}
				src := report.Source{Reader: model.ReaderOf(s), Generation: c.Int("generation"), Normalizer: e.cfg.caller().Normalizer}
				write = func(w io.Writer) error { return report.Generate(e.ctx, w, src, o) }
			}
			return e.writeOut(c.String("out"), func(w io.Writer) error {
				if err := write(w); err != nil {
					if errors.Is(err, report.ErrOptions) {
						return usageErr("%v", err)
					}
					return e.noGeneration(err)
				}
				return nil
			})
		}),
	}
}

// streamMemoryLimit is the soft memory limit of a report that streams a view
// of everything, unless GOMEMLIMIT sets one: at 50,000 people such a report
// holds 250–360 MB live in its object and role views, and peaks at 424–453
// MiB of RSS under this limit on either target (BENCHMARKS.md, "Where --by
// all went over, and what it holds now").
const streamMemoryLimit = 400 << 20

// reportOptions turns the flags into report options, spelling filters the way the
// mirror stores them: emails normalized and aliased, names canonical.
func (e *env) reportOptions(c *cli.Context) (report.Options, error) {
	o := report.Options{
		By:       report.View(c.String("by")),
		Format:   report.Format(c.String("format")),
		Accounts: c.StringSlice("account"),
		Unused:   c.Bool("unused"),
		Days:     c.Int("days"),
		MaxRows:  c.Int("max-rows"),
		Now:      time.Now(),
	}
	if c.Int("days") <= 0 {
		return o, usageErr("--days %d: want a positive number of days", c.Int("days"))
	}
	if c.Int("max-rows") <= 0 {
		return o, usageErr("--max-rows %d: want a positive number", c.Int("max-rows"))
	}
	// Emails are mapped with the aliases of the generation the report reads.
	for _, s := range c.StringSlice("email") {
		o.Emails = append(o.Emails, ident.NormalizeEmail(s))
	}
	for _, s := range c.StringSlice("object") {
		name, err := ident.Canonical(s)
		if err != nil {
			return o, usageErr("--object %q: %v", s, err)
		}
		o.Objects = append(o.Objects, name)
	}
	for _, s := range c.StringSlice("role") {
		name, err := ident.Canonical(s)
		if err != nil {
			return o, usageErr("--role %q: %v", s, err)
		}
		o.Roles = append(o.Roles, name)
	}
	if err := o.Validate(); err != nil {
		return o, usageErr("%v", err)
	}
	return o, nil
}

// mapEmails maps addresses with norm, without repeats.
func mapEmails(norm *ident.Normalizer, emails []string) []string {
	var out []string
	for _, s := range emails {
		if e, _ := norm.Email(s); !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// reportGrants passes the local grants in force to a report.
func reportGrants(gs []pgstore.LocalGrant) []report.LocalGrant {
	out := make([]report.LocalGrant, 0, len(gs))
	for _, g := range gs {
		if g.InForce {
			out = append(out, report.LocalGrant{Row: g.Row, ID: g.ID, GrantedBy: g.GrantedBy, Approver: g.Approver, Reason: g.Reason, Until: g.Until})
		}
	}
	return out
}

// writeOut writes to stdout, or to path through a temporary file renamed into place,
// so a reader of path never sees half a report.
func (e *env) writeOut(path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(e.stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".grantmirror-report-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// A temporary file is created private (0600); a report is meant to be shared,
	// so it gets the mode a shell redirect would usually give it.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}
