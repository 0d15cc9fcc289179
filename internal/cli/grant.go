package cli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

// grantCommand is grant add|list|revoke|report. The flags of every subcommand
// belong to grant itself: the command line moves flags ahead of positional
// arguments (see interspersed), so they arrive before the subcommand's name, and
// each subcommand reads them from its parent.
func grantCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "grant",
		Usage: "time-boxed local grants on top of the mirror (Postgres targets)",
		Description: `A local grant gives one person one privilege on one object for a while, on top of
what Snowflake grants: "bob may read this table for 48 hours while he covers for
alice". The published access view includes it at once, so data APIs guarded by the
query package honour it with no change, and drops it the second it expires, with no
sync needed. Every grant needs a reason and an approver (not the person, not you),
must fit local_grants.allow (default: SELECT on TABLE, VIEW and MATERIALIZED_VIEW;
ownership and roles never) and end within local_grants.max_duration (default 30
days). Grants, revocations and expiries are kept in the audit log; nothing is deleted.

   grant add EMAIL OBJECT PRIVILEGE (--until TIME | --for DURATION) --reason TEXT --approver EMAIL
   grant list [--all]                 grants in force (--all: revoked and expired too)
   grant revoke ID --reason TEXT      ends a grant now
   grant report                       every grant, its status, and whether it was used

You are --actor, or $USER. EMAIL and OBJECT are spelled as explain reads them.

Examples:
   grantmirror grant add bob@example.com sales.public.orders SELECT --for 48h \
       --reason "covers for alice" --approver dave@example.com
   grantmirror grant list --format json
   grantmirror grant revoke 12 --reason "alice is back"
   grantmirror grant report --format csv > local-grants.csv`,
		Flags: targetFlags(
			&cli.StringFlag{Name: "until", Usage: "add: when the grant ends: RFC 3339 (2026-12-01T18:00:00Z) or a date (midnight UTC)"},
			&cli.StringFlag{Name: "for", Usage: "add: how long the grant lasts from now (48h, 7d)"},
			&cli.StringFlag{Name: "reason", Usage: "add, revoke: why (required)"},
			&cli.StringFlag{Name: "approver", Usage: "add: email of who approved the grant (required)"},
			&cli.StringFlag{Name: "object-type", Value: "TABLE", Usage: "add: the object's type, as Snowflake's GRANTED_ON says it"},
			&cli.StringFlag{Name: "account", Usage: "add: the account of the object (default: the only one)"},
			&cli.StringFlag{Name: "actor", Usage: "who you are, for the audit log (default $USER)"},
			&cli.BoolFlag{Name: "all", Usage: "list: revoked and expired grants too"},
			formatFlag("text", "text", "csv", "json"),
		),
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "give a person a privilege on an object until a moment",
				ArgsUsage: "EMAIL OBJECT PRIVILEGE",
				Action:    e.action(func(c *cli.Context) error { return e.grantAdd(c) }),
			},
			{
				Name:   "list",
				Usage:  "list the local grants in force (--all: every grant)",
				Action: e.action(func(c *cli.Context) error { return e.grantList(c) }),
			},
			{
				Name:      "revoke",
				Usage:     "end a local grant now",
				ArgsUsage: "ID",
				Action:    e.action(func(c *cli.Context) error { return e.grantRevoke(c) }),
			},
			{
				Name:   "report",
				Usage:  "every local grant: status, and whether access history shows it used",
				Action: e.action(func(c *cli.Context) error { return e.grantReport(c) }),
			},
		},
	}
}

// grantStore opens the target, which must be Postgres: local grants live in its
// schema, next to the view they extend.
func (e *env) grantStore() (*pgstore.Store, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	ps, ok := s.(*pgstore.Store)
	if !ok {
		s.Close()
		return nil, usageErr("local grants need a postgres:// target, not %s", pipeline.RedactDSN(e.cfg.Target))
	}
	return ps, nil
}

// actor is who runs the command: --actor, else $USER.
func (e *env) actor(c *cli.Context) (string, error) {
	a := strings.TrimSpace(c.String("actor"))
	if a == "" {
		a = strings.TrimSpace(os.Getenv("USER"))
	}
	if a == "" {
		return "", usageErr("say who you are with --actor (USER is not set)")
	}
	return a, nil
}

// grantPolicy is the config's local_grants section (defaults filled in by
// loadConfig), checked.
func (e *env) grantPolicy() (pgstore.GrantPolicy, error) {
	d, err := parseDuration(e.cfg.LocalGrants.MaxDuration)
	if err != nil {
		return pgstore.GrantPolicy{}, usageErr("config local_grants.max_duration: %v", err)
	}
	p := pgstore.GrantPolicy{Allow: e.cfg.LocalGrants.Allow, MaxDuration: d}
	if err := p.Validate(); err != nil {
		return p, usageErr("config: %v", err)
	}
	return p, nil
}

// parseDuration reads a Go duration (48h, 90m) or a number of days (7d).
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 48h or 7d", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration such as 48h or 7d", s)
	}
	return d, nil
}

// refused turns a policy refusal into exit code 1, like a denied answer.
func refused(err error) error {
	if errors.Is(err, pgstore.ErrGrantRefused) {
		return cli.Exit(err.Error(), ExitFindings)
	}
	return err
}

func (e *env) grantAdd(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) != 3 {
		return usageErr("want EMAIL OBJECT PRIVILEGE, got %d arguments (see grantmirror grant --help)", len(args))
	}
	actor, err := e.actor(c)
	if err != nil {
		return err
	}
	policy, err := e.grantPolicy()
	if err != nil {
		return err
	}
	email, _ := e.cfg.normalizer().Email(args[0])
	object, err := ident.Canonical(args[1])
	if err != nil {
		return usageErr("object: %v", err)
	}
	approver, _ := e.cfg.normalizer().Email(c.String("approver"))
	var until time.Time
	switch {
	case c.IsSet("until") == c.IsSet("for"):
		return usageErr("say when the grant ends: --until TIME or --for DURATION, one of them")
	case c.IsSet("until"):
		if until, err = parseTime(c.String("until")); err != nil {
			return usageErr("--until %v", err)
		}
	default:
		d, err := parseDuration(c.String("for"))
		if err != nil {
			return usageErr("--for %v", err)
		}
		until = time.Now().Add(d).Truncate(time.Second)
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	g, err := s.AddGrant(e.ctx, pgstore.GrantRequest{
		Account: c.String("account"), Email: email, ObjectType: c.String("object-type"), ObjectName: object,
		Privilege: ident.Privilege(args[2]), Until: until, Actor: actor, Approver: approver, Reason: c.String("reason"),
	}, policy)
	if err != nil {
		return refused(err)
	}
	fmt.Fprintf(e.stdout, "local grant #%d: %s may use %s on %s %s (account %s) until %s\n",
		g.ID, g.Email, g.Privilege, g.ObjectType, g.ObjectName, g.Account, stamp(g.Until))
	return nil
}

func (e *env) grantRevoke(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("want the ID of one local grant (see grantmirror grant list)")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(c.Args().First(), "#"), 10, 64)
	if err != nil || id <= 0 {
		return usageErr("local grant %q: want its number, as grant list shows it", c.Args().First())
	}
	actor, err := e.actor(c)
	if err != nil {
		return err
	}
	if strings.TrimSpace(c.String("reason")) == "" {
		return usageErr("say why with --reason")
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	g, err := s.RevokeGrant(e.ctx, id, actor, c.String("reason"))
	if err != nil {
		return refused(err)
	}
	fmt.Fprintf(e.stdout, "local grant #%d revoked: %s no longer has %s on %s %s through it\n", g.ID, g.Email, g.Privilege, g.ObjectType, g.ObjectName)
	return nil
}

func (e *env) grantList(c *cli.Context) error {
	format, err := grantFormat(c)
	if err != nil {
		return err
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	grants, err := s.LocalGrants(e.ctx, c.Bool("all"))
	if err != nil {
		return err
	}
	uses := make([]pgstore.GrantUse, len(grants))
	for i, g := range grants {
		uses[i] = pgstore.GrantUse{LocalGrant: g, Status: g.Status()}
	}
	return writeGrants(e, format, uses, false)
}

func (e *env) grantReport(c *cli.Context) error {
	format, err := grantFormat(c)
	if err != nil {
		return err
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	grants, err := s.LocalGrants(e.ctx, true)
	if err != nil {
		return err
	}
	// Usage comes from the current generation's snapshot; without one, it is
	// unknown rather than an error.
	m, err := s.Open(e.ctx, 0)
	if err != nil && !errors.Is(err, pipeline.ErrNoGeneration) {
		return err
	}
	return writeGrants(e, format, pgstore.GrantUsage(grants, m), true)
}

// grantFormat is the --format of grant list and grant report, checked before
// anything is read.
func grantFormat(c *cli.Context) (string, error) {
	format := c.String("format")
	if format != "text" && format != "csv" && format != "json" {
		return "", usageErr("format %q: want text, csv or json", format)
	}
	return format, nil
}

// grantHeader is the CSV header of grant list and grant report; report adds the
// usage columns.
var grantHeader = []string{"id", "status", "account", "email", "object_type", "object_name", "privilege",
	"granted_by", "approver", "reason", "created_at", "until", "revoked_at", "revoked_by", "revoke_reason"}

func writeGrants(e *env, format string, uses []pgstore.GrantUse, usage bool) error {
	switch format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if usage {
			return enc.Encode(map[string]any{"local_grants": uses})
		}
		grants := make([]pgstore.LocalGrant, len(uses))
		for i, u := range uses {
			grants[i] = u.LocalGrant
		}
		return enc.Encode(map[string]any{"local_grants": grants})
	case "csv":
		w := csv.NewWriter(e.stdout)
		header := grantHeader
		if usage {
			header = append(append([]string{}, grantHeader...), "usage", "last_accessed")
		}
		w.Write(header)
		for _, u := range uses {
			g := u.LocalGrant
			rec := []string{strconv.FormatInt(g.ID, 10), u.Status, g.Account, g.Email, g.ObjectType, g.ObjectName, g.Privilege,
				g.GrantedBy, g.Approver, g.Reason, rfc3339(g.CreatedAt), rfc3339(g.Until), rfc3339(g.RevokedAt), g.RevokedBy, g.RevokeReason}
			if usage {
				rec = append(rec, u.Usage, rfc3339(u.LastAccessed))
			}
			w.Write(rec)
		}
		w.Flush()
		return w.Error()
	}
	if len(uses) == 0 {
		fmt.Fprintln(e.stdout, "no local grants")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	head := "ID\tSTATUS\tEMAIL\tPRIVILEGE\tOBJECT\tUNTIL\tGRANTED BY\tAPPROVER\tREASON"
	if usage {
		head += "\tUSAGE\tLAST ACCESSED"
	}
	fmt.Fprintln(tw, head)
	count := map[string]int{}
	for _, u := range uses {
		g := u.LocalGrant
		until := stamp(g.Until)
		if g.Status() == pgstore.GrantRevoked {
			until = "revoked " + stamp(g.RevokedAt) + " by " + g.RevokedBy
		}
		line := fmt.Sprintf("#%d\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%s", g.ID, u.Status, g.Email, g.Privilege, g.ObjectType, g.ObjectName,
			until, g.GrantedBy, g.Approver, g.Reason)
		if usage {
			line += "\t" + u.Usage + "\t" + stamp(u.LastAccessed)
		}
		fmt.Fprintln(tw, line)
		count[u.Status]++
		count[u.Usage]++
	}
	tw.Flush()
	if usage {
		fmt.Fprintf(e.stdout, "%d local grants: %d active, %d expired, %d revoked; %d used, %d unused, %d unknown (no access history)\n",
			len(uses), count[pgstore.GrantActive], count[pgstore.GrantExpired], count[pgstore.GrantRevoked],
			count[pgstore.UsageUsed], count[pgstore.UsageUnused], count[pgstore.UsageUnknown])
	}
	return nil
}

// rfc3339 formats a time for CSV, empty when zero.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
