package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/explain"
	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/localgrant"
	"github.com/grantmirror/grantmirror/internal/metrics"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/internal/webhook"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

// grantCommand is grant request|approve|deny|requests|break-glass|review|revoke|
// list|report|policy show|set. Each subcommand declares the flags it reads, so
// its --help lists them; the command line moves flags written anywhere after
// the subcommand's name (see interspersed).
func grantCommand(e *env) *cli.Command {
	reason := func(usage string) cli.Flag {
		return &cli.StringFlag{Name: "reason", Usage: usage + " (required)"}
	}
	ask := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "for", Usage: "how long the grant lasts from its approval: a duration (48h, 90m) or days (7d) (required)"},
			&cli.StringFlag{Name: "object-type", Value: "TABLE", Usage: "the object's type, as Snowflake's GRANTED_ON says it (TABLE, VIEW, MATERIALIZED_VIEW…)"},
			&cli.StringFlag{Name: "account", Usage: "the account of the object (default: the only one of the current generation)"},
		}
	}
	listFormat := func() cli.Flag { return formatFlag("text", "text", "csv", "json") }
	return &cli.Command{
		Name:  "grant",
		Usage: "access requests and the time-boxed local grants they give (Postgres targets)",
		Description: `A local grant gives one person one privilege on one object for a while, on top of
what Snowflake grants: "bob may read this table for 48 hours while he covers for
alice". It exists only once a request for it is approved: someone requests it, naming
approvers the policy designates for the object, and one of them approves it. Nobody
approves their own request or their own access. The published access view includes
the grant from the approval on, so data APIs guarded by the query package honour it
with no change, and drops it the second it expires, with no sync needed.

You are the database role you connect as, mapped to your email by the policy's
identity table: there is no flag to say who you are. The database checks every rule
(allow-list, maximum duration, designated approvers, the two-person rule) whoever
calls it; see README.md for the SQL API services use. Every change is in the audit
log and, when notifications.webhook_url is set, announced on the webhook.

   grant request EMAIL OBJECT PRIVILEGE --for D --reason TEXT --approver A [--approver B]
   grant approve ID                    approve a request that names you: in force at once
   grant deny ID --reason TEXT         close a request that names you (or withdraw yours)
   grant requests [--mine | --to-approve | --all]
   grant break-glass EMAIL OBJECT PRIVILEGE --for D --reason TEXT
                                       an emergency grant, in force at once, short, loud,
                                       reviewed afterwards by a designated approver
   grant review ID --reason TEXT       review a break-glass grant
   grant revoke ID --reason TEXT       end a grant now (its holder, an approver, an admin)
   grant list [--all]                  grants in force (--all: revoked and expired too)
   grant report                        every grant, its status, and whether it was used
   grant policy show                   the policy the database enforces
   grant policy set SETTING ARGS… --reason TEXT      (policy admins)

Each subcommand's --help lists its flags (grantmirror grant request --help). EMAIL
and OBJECT are spelled as explain reads them. Exit codes: 0 done, 1 refused by the
database's rules, 2 a usage mistake (a missing --for or --reason, a misspelt
privilege, object type or email).

Examples:
   grantmirror grant request bob@example.com sales.public.orders SELECT --for 48h \
       --reason "covers for alice" --approver dave@example.com
   grantmirror grant requests --to-approve
   grantmirror grant approve 12
   grantmirror grant policy set approver schema SALES.PUBLIC dave@example.com --reason "owns sales"`,
		Subcommands: []*cli.Command{
			{Name: "request", Usage: "ask for a privilege on an object for a while", ArgsUsage: "EMAIL OBJECT PRIVILEGE",
				Description: `Makes a pending request, which grants nothing until one of the approvers it names
approves it (grant approve). The approvers must be designated for the object by the
policy (grant policy show); you are the database role you connect as.

Examples:
   grantmirror grant request bob@example.com sales.public.orders SELECT --for 48h \
       --reason "covers for alice" --approver dave@example.com
   grantmirror grant request bob@example.com SALES.PUBLIC.V_ORDERS SELECT --object-type VIEW \
       --for 7d --reason "quarter close" --approver dave@example.com --approver erin@example.com`,
				Flags: targetFlags(append(ask(),
					reason("why the person needs it"),
					&cli.StringSliceFlag{Name: "approver", Usage: "email of a designated approver asked to decide (repeatable; at least one)"},
				)...),
				Action: e.action(func(c *cli.Context) error { return e.grantRequest(c, false) })},
			{Name: "approve", Usage: "approve a pending request that names you", ArgsUsage: "ID",
				Description: `Puts the request in force at once, for the duration it asked, from now. Only an
approver it names may, and never its requester or the person it is for.

Example:
   grantmirror grant approve 12`,
				Flags:  targetFlags(),
				Action: e.action(func(c *cli.Context) error { return e.grantDecide(c, "approve") })},
			{Name: "deny", Usage: "deny a pending request that names you, or withdraw your own", ArgsUsage: "ID",
				Description: `Closes a pending request: its approvers deny it, its requester withdraws it.

Example:
   grantmirror grant deny 12 --reason "use the reporting replica instead"`,
				Flags:  targetFlags(reason("why it is denied")),
				Action: e.action(func(c *cli.Context) error { return e.grantDecide(c, "deny") })},
			{Name: "requests", Usage: "list requests: yours, those to approve, or all",
				Description: `Lists the requests you made or that are for you (--mine, the default), those
waiting for your decision or review (--to-approve), or every one (--all).

Examples:
   grantmirror grant requests --to-approve
   grantmirror grant requests --all --format csv > requests.csv`,
				Flags: targetFlags(
					&cli.BoolFlag{Name: "mine", Usage: "those you made or that are for you (the default)"},
					&cli.BoolFlag{Name: "to-approve", Usage: "those waiting for your decision or review"},
					&cli.BoolFlag{Name: "all", Usage: "every request"},
					listFormat(),
				),
				Action: e.action(func(c *cli.Context) error { return e.grantRequests(c) })},
			{Name: "break-glass", Usage: "an emergency grant, in force at once, reviewed afterwards", ArgsUsage: "EMAIL OBJECT PRIVILEGE",
				Description: `Grants at once, for at most the policy's break-glass maximum, with no approver:
it is announced, counted, and waits for a designated approver's review (grant review).

Example:
   grantmirror grant break-glass bob@example.com SALES.PUBLIC.ORDERS SELECT --for 2h --reason "incident 4711"`,
				Flags:  targetFlags(append(ask(), reason("the emergency"))...),
				Action: e.action(func(c *cli.Context) error { return e.grantRequest(c, true) })},
			{Name: "review", Usage: "review a break-glass grant after the fact", ArgsUsage: "ID",
				Description: `Records a designated approver's review of a break-glass request (not its maker's).

Example:
   grantmirror grant review 13 --reason "justified: incident 4711"`,
				Flags:  targetFlags(reason("the review's finding")),
				Action: e.action(func(c *cli.Context) error { return e.grantDecide(c, "review") })},
			{Name: "revoke", Usage: "end a local grant now", ArgsUsage: "ID",
				Description: `Ends a local grant at once: its holder, a designated approver or a policy admin may.

Example:
   grantmirror grant revoke 7 --reason "alice is back"`,
				Flags:  targetFlags(reason("why it ends early")),
				Action: e.action(func(c *cli.Context) error { return e.grantDecide(c, "revoke") })},
			{Name: "list", Usage: "list the local grants in force (--all: every grant)",
				Description: `Lists the local grants in force, or with --all the revoked and expired ones too.

Examples:
   grantmirror grant list
   grantmirror grant list --all --format json`,
				Flags: targetFlags(
					&cli.BoolFlag{Name: "all", Usage: "revoked and expired grants too"},
					listFormat(),
				),
				Action: e.action(func(c *cli.Context) error { return e.grantList(c) })},
			{Name: "report", Usage: "every local grant: status, and whether access history shows it used",
				Description: `Lists every local grant with its status and whether the current generation's
access history shows it used (unknown without access history).

Example:
   grantmirror grant report --format csv > local-grants.csv`,
				Flags:  targetFlags(listFormat()),
				Action: e.action(func(c *cli.Context) error { return e.grantReport(c) })},
			{Name: "policy", Usage: "show the access policy, or change it (policy admins)", ArgsUsage: "show | set SETTING ARGS…",
				Description: `Examples:
   grantmirror grant policy show
   grantmirror grant policy set max-duration 14d --reason "shorter by default"`,
				Subcommands: []*cli.Command{
					{Name: "show", Usage: "print the policy the database enforces",
						Description: `Prints the allow-list, the limits, the designated approvers, the sensitive
objects, the identities and the policy admins.

Examples:
   grantmirror grant policy show
   grantmirror grant policy show --format json`,
						Flags:  targetFlags(formatFlag("text", "text", "json")),
						Action: e.action(func(c *cli.Context) error { return e.grantPolicyShow(c) })},
					{Name: "set", Usage: "change one setting of the policy (policy admins)", ArgsUsage: "SETTING ARGS…",
						Description: `Settings:
   allow TYPE PRIVILEGE…  | disallow TYPE PRIVILEGE…
   max-duration D | pending-ttl D | break-glass-max D (0 disables break-glass)
   activity EXTENSION CEILING | activity off
   approver SCOPE [NAME] EMAIL | no-approver SCOPE [NAME] EMAIL
                          SCOPE: object DB.SCHEMA.NAME, schema DB.SCHEMA, database DB, fallback
   sensitive NAME | not-sensitive NAME
   identity ROLE EMAIL [service] | no-identity ROLE
   admin ROLE | no-admin ROLE

Every change is audited with its reason.

Examples:
   grantmirror grant policy set approver schema SALES.PUBLIC dave@example.com --reason "owns sales"
   grantmirror grant policy set allow VIEW SELECT --reason "views are read like tables"`,
						Flags:  targetFlags(reason("why the policy changes")),
						Action: e.action(func(c *cli.Context) error { return e.grantPolicySet(c) })},
				}},
		},
	}
}

// grantStore opens the target, which must be Postgres: requests and local grants
// live in its schema, next to the view they extend.
func (e *env) grantStore() (*pgstore.Store, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	ps, ok := s.(*pgstore.Store)
	if !ok {
		s.Close()
		return nil, usageErr("local grants need a postgres:// target, not %s", model.RedactDSN(e.cfg.Target))
	}
	return ps, nil
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

// refused turns a refusal by the database (a rule of the policy, or a privilege
// the caller's role lacks) into exit code 1, like a denied answer.
func refused(err error) error {
	for _, rule := range []error{pgstore.ErrGrantRefused, pgstore.ErrUnknownGrant, pgstore.ErrGrantEnded, pgstore.ErrNotPolicyAdmin, pgstore.ErrPermission} {
		if errors.Is(err, rule) {
			return cli.Exit(err.Error(), ExitFindings)
		}
	}
	return err
}

// notifyTimeout bounds the delivery a command or a sync does after its change.
const notifyTimeout = 30 * time.Second

// notify delivers the notifications waiting in the outbox when a webhook is
// configured. A role that may not deliver (people's own roles normally may
// not) leaves them to the next sync; a failure never fails the command, whose
// change is already committed.
func (e *env) notify(s *pgstore.Store) {
	n := e.cfg.Notifications
	if n.WebhookURL == "" {
		return
	}
	sender := webhook.Sender{URL: n.WebhookURL, MaxAttempts: n.MaxAttempts, Backoff: n.Backoff, Log: e.log}
	// A command waits for a slow webhook only so long; what it leaves stays in
	// the outbox, claimed for a while, and the next deliverer sends it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), notifyTimeout)
	defer cancel()
	rep, err := sender.Deliver(ctx, s)
	switch {
	case errors.Is(err, pgstore.ErrPermission):
		e.log.Debug("notifications left for the next sync: this role cannot deliver them")
	case err != nil:
		e.log.Warn("notifications not delivered; the next sync retries", "error", err)
	case rep.Dead > 0:
		e.log.Warn("notifications recorded dead after their last attempt", "dead", rep.Dead, "delivered", rep.Delivered)
	default:
		e.log.Debug("notifications delivered", "delivered", rep.Delivered, "retried", rep.Retried)
	}
}

func (e *env) grantRequest(c *cli.Context, breakGlass bool) error {
	args := c.Args().Slice()
	if len(args) != 3 {
		return usageErr("want EMAIL OBJECT PRIVILEGE, got %d arguments (see %s --help)", len(args), commandPath(c))
	}
	email, _ := e.cfg.normalizer().Email(args[0])
	object, err := ident.Canonical(args[1])
	if err != nil {
		return usageErr("object: %v", err)
	}
	if !c.IsSet("for") {
		return usageErr("say how long the grant lasts with --for DURATION (48h, 7d)")
	}
	d, err := parseDuration(c.String("for"))
	if err != nil {
		return usageErr("--for %v", err)
	}
	if strings.TrimSpace(c.String("reason")) == "" {
		return usageErr("say why with --reason")
	}
	var approvers []string
	for _, a := range c.StringSlice("approver") {
		norm, _ := e.cfg.normalizer().Email(a)
		approvers = append(approvers, norm)
	}
	if breakGlass && len(approvers) > 0 {
		return usageErr("break-glass names no approver: a designated approver reviews it afterwards (grant review)")
	}
	if !breakGlass && len(approvers) == 0 {
		return usageErr("name who should approve with --approver EMAIL (see grant policy show for the designated approvers)")
	}
	ask := localgrant.Ask{Account: c.String("account"), Email: email, ObjectType: c.String("object-type"), ObjectName: object,
		Privilege: args[2], Duration: d, Reason: c.String("reason"), Approvers: approvers}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := e.checkAsk(s, ask); err != nil {
		return err
	}
	var r *localgrant.Request
	if breakGlass {
		r, err = s.BreakGlass(e.ctx, ask)
	} else {
		r, err = s.Request(e.ctx, ask)
	}
	if err != nil {
		return refused(err)
	}
	e.notify(s)
	if breakGlass {
		fmt.Fprintf(e.stdout, "BREAK-GLASS request #%d: %s may use %s on %s %s (account %s) now, for %s, as local grant #%d; announced, and waiting for a designated approver's review\n",
			r.ID, r.Email, r.Privilege, r.ObjectType, r.ObjectName, r.Account, localgrant.Span(r.Duration), r.GrantID)
		return nil
	}
	fmt.Fprintf(e.stdout, "request #%d: %s asks for %s to have %s on %s %s (account %s) for %s; pending, nothing is granted until %s approves\n",
		r.ID, r.RequestedBy, r.Email, r.Privilege, r.ObjectType, r.ObjectName, r.Account, localgrant.Span(r.Duration),
		strings.Join(r.Approvers, " or "))
	return nil
}

// checkAsk refuses, as usage mistakes, an ask whose privilege or object type
// neither Snowflake nor the current generation knows, or whose email no user of
// the generation has while some have one a typo away. A person Snowflake does
// not know at all may be given a local grant.
func (e *env) checkAsk(s *pgstore.Store, a localgrant.Ask) error {
	m, err := s.Slice(e.ctx, 0, model.Focus{Email: ident.NormalizeEmail(a.Email), Objects: []string{a.ObjectName}, NoAudience: true})
	if errors.Is(err, model.ErrNoGeneration) {
		// The store refuses the ask itself: local grants build on a generation.
		return nil
	}
	if err != nil {
		return err
	}
	seen := explain.SeenObjectTypes(m)
	if err := privilege.LookupObjectType(ident.Word(a.ObjectType), seen...); err != nil {
		return usageErr("--object-type: %v", err)
	}
	q := explain.Query{Email: ident.NormalizeEmail(a.Email), Object: a.ObjectName, Privilege: ident.Privilege(a.Privilege)}
	if err := explain.CheckPrivilege(m, q); err != nil {
		return usageErr("%v", err)
	}
	if err := explain.CheckEmail(m, e.cfg.caller().Normalizer(m.Meta), q.Email); err != nil {
		return usageErr("%v", err)
	}
	return nil
}

// grantDecide is approve, deny, review and revoke: a number, and a reason for
// all but approve.
func (e *env) grantDecide(c *cli.Context, verb string) error {
	what := "request"
	if verb == "revoke" {
		what = "local grant"
	}
	if c.NArg() != 1 {
		return usageErr("want the ID of one %s", what)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(c.Args().First(), "#"), 10, 64)
	if err != nil || id <= 0 {
		return usageErr("%s %q: want its number", what, c.Args().First())
	}
	reason := strings.TrimSpace(c.String("reason"))
	if verb != "approve" && reason == "" {
		return usageErr("say why with --reason")
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	switch verb {
	case "approve":
		var g *pgstore.LocalGrant
		if g, err = s.Approve(e.ctx, id); err == nil {
			defer fmt.Fprintf(e.stdout, "request #%d approved: local grant #%d gives %s %s on %s %s until %s\n",
				id, g.ID, g.Email, g.Privilege, g.ObjectType, g.ObjectName, stamp(g.Until))
		}
	case "deny":
		if err = s.Deny(e.ctx, id, reason); err == nil {
			defer fmt.Fprintf(e.stdout, "request #%d denied\n", id)
		}
	case "review":
		if err = s.Review(e.ctx, id, reason); err == nil {
			defer fmt.Fprintf(e.stdout, "break-glass request #%d reviewed\n", id)
		}
	case "revoke":
		var g *pgstore.LocalGrant
		if g, err = s.RevokeGrant(e.ctx, id, reason); err == nil {
			defer fmt.Fprintf(e.stdout, "local grant #%d revoked: %s no longer has %s on %s %s through it\n", g.ID, g.Email, g.Privilege, g.ObjectType, g.ObjectName)
		}
	}
	if err != nil {
		return refused(err)
	}
	e.notify(s)
	return nil
}

func (e *env) grantRequests(c *cli.Context) error {
	format, err := grantFormat(c)
	if err != nil {
		return err
	}
	scope := pgstore.RequestsMine
	switch {
	case c.Bool("mine") && (c.Bool("to-approve") || c.Bool("all")), c.Bool("to-approve") && c.Bool("all"):
		return usageErr("--mine, --to-approve and --all: one of them")
	case c.Bool("to-approve"):
		scope = pgstore.RequestsToApprove
	case c.Bool("all"):
		scope = pgstore.RequestsAll
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	reqs, err := s.Requests(e.ctx, scope)
	if err != nil {
		return refused(err)
	}
	switch format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if reqs == nil {
			reqs = []localgrant.Request{}
		}
		return enc.Encode(map[string]any{"requests": reqs})
	case "csv":
		w := csv.NewWriter(e.stdout)
		w.Write([]string{"id", "status", "account", "email", "object_type", "object_name", "privilege", "duration_seconds",
			"reason", "requested_by", "approvers", "created_at", "decided_at", "decided_by", "decision_reason", "grant_id",
			"reviewed_at", "reviewed_by", "review_note"})
		for _, r := range reqs {
			w.Write([]string{strconv.FormatInt(r.ID, 10), r.Status, r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege,
				strconv.FormatInt(int64(r.Duration/time.Second), 10), r.Reason, r.RequestedBy, strings.Join(r.Approvers, " "),
				rfc3339(r.CreatedAt), rfc3339(r.DecidedAt), r.DecidedBy, r.Decision, idOrEmpty(r.GrantID),
				rfc3339(r.ReviewedAt), r.ReviewedBy, r.ReviewNote})
		}
		w.Flush()
		return w.Error()
	}
	if len(reqs) == 0 {
		fmt.Fprintln(e.stdout, "no requests")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tEMAIL\tPRIVILEGE\tOBJECT\tFOR\tREQUESTED BY\tAPPROVERS\tDECIDED\tREASON")
	for _, r := range reqs {
		status := r.Status
		if r.NeedsReview() {
			status += " (review needed)"
		}
		decided := "-"
		if r.DecidedBy != "" {
			decided = r.DecidedBy + " " + stamp(r.DecidedAt)
		}
		approvers := strings.Join(r.Approvers, ", ")
		if approvers == "" {
			approvers = "-"
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s\n", r.ID, status, r.Email, r.Privilege, r.ObjectType, r.ObjectName,
			localgrant.Span(r.Duration), r.RequestedBy, approvers, decided, r.Reason)
	}
	return tw.Flush()
}

func idOrEmpty(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
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
		uses[i] = pgstore.GrantUse{Grant: g, Status: g.Status()}
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
	if err != nil && !errors.Is(err, model.ErrNoGeneration) {
		return err
	}
	return writeGrants(e, format, pgstore.GrantUsage(grants, m), true)
}

// grantFormat is the --format of the listing subcommands, checked before
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
			grants[i] = u.Grant
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
			g := u.Grant
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
		g := u.Grant
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

// grantPolicyShow is grant policy show.
func (e *env) grantPolicyShow(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("policy show takes no arguments")
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErr("format %q: want text or json", format)
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.Policy(e.ctx)
	if err != nil {
		return refused(err)
	}
	return writePolicy(e, format, p)
}

// grantPolicySet is grant policy set.
func (e *env) grantPolicySet(c *cli.Context) error {
	args := c.Args().Slice()
	change, err := parsePolicyChange(args, c.String("reason"))
	if err != nil {
		return err
	}
	s, err := e.grantStore()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.ChangePolicy(e.ctx, change); err != nil {
		return refused(err)
	}
	fmt.Fprintf(e.stdout, "policy changed: %s\n", strings.Join(args, " "))
	return nil
}

// parsePolicyChange reads the arguments of grant policy set.
func parsePolicyChange(args []string, reason string) (pgstore.PolicyChange, error) {
	ch := pgstore.PolicyChange{Reason: strings.TrimSpace(reason)}
	if ch.Reason == "" {
		return ch, usageErr("say why the policy changes with --reason")
	}
	if len(args) == 0 {
		return ch, usageErr("want a setting: allow, disallow, max-duration, pending-ttl, break-glass-max, activity, approver, no-approver, sensitive, not-sensitive, identity, no-identity, admin, no-admin")
	}
	setting, rest := args[0], args[1:]
	want := func(n int, usage string) error {
		if len(rest) != n {
			return usageErr("policy set %s: want %s", setting, usage)
		}
		return nil
	}
	dur := func(s string) (time.Duration, error) {
		d, err := parseDuration(s)
		if err != nil {
			return 0, usageErr("policy set %s: %v", setting, err)
		}
		return d, nil
	}
	var err error
	switch setting {
	case "allow", "disallow":
		if len(rest) < 2 {
			return ch, usageErr("policy set %s: want TYPE PRIVILEGE…", setting)
		}
		ch.Kind, ch.Allowed, ch.ObjectType, ch.Privileges = pgstore.PolicyAllow, setting == "allow", rest[0], rest[1:]
		if err = privilege.LookupObjectType(ident.Word(ch.ObjectType)); err != nil {
			return ch, usageErr("policy set %s: %v", setting, err)
		}
		for _, p := range ch.Privileges {
			if err = privilege.Lookup(ident.Privilege(p)); err != nil {
				return ch, usageErr("policy set %s: %v", setting, err)
			}
		}
	case "max-duration", "pending-ttl", "break-glass-max":
		if err = want(1, "a duration"); err != nil {
			return ch, err
		}
		var d time.Duration
		if d, err = dur(rest[0]); err != nil {
			return ch, err
		}
		ch.Kind = pgstore.PolicyLimits
		switch setting {
		case "max-duration":
			ch.MaxDuration = d
		case "pending-ttl":
			ch.PendingTTL = d
		default:
			ch.BreakGlassMax, ch.SetBreakGlassMax = d, true
		}
	case "activity":
		ch.Kind = pgstore.PolicyLimits
		if len(rest) == 1 && rest[0] == "off" {
			ch.ActivityOff = true
			break
		}
		if err = want(2, "EXTENSION CEILING (durations), or off"); err != nil {
			return ch, err
		}
		if ch.ActivityExtension, err = dur(rest[0]); err != nil {
			return ch, err
		}
		if ch.ActivityCeiling, err = dur(rest[1]); err != nil {
			return ch, err
		}
	case "approver", "no-approver":
		ch.Kind, ch.Designated = pgstore.PolicyApprover, setting == "approver"
		if len(rest) == 0 || !slices.Contains(localgrant.Scopes, rest[0]) {
			return ch, usageErr("policy set %s: want SCOPE [NAME] EMAIL, SCOPE one of %s", setting, strings.Join(localgrant.Scopes, ", "))
		}
		ch.Scope = rest[0]
		if ch.Scope == localgrant.ScopeFallback {
			if err = want(2, "fallback EMAIL"); err != nil {
				return ch, err
			}
			ch.Email = rest[1]
			break
		}
		if err = want(3, "SCOPE NAME EMAIL"); err != nil {
			return ch, err
		}
		if ch.Name, err = ident.Canonical(rest[1]); err != nil {
			return ch, usageErr("policy set %s: name: %v", setting, err)
		}
		ch.Email = rest[2]
	case "sensitive", "not-sensitive":
		if err = want(1, "NAME (an object, schema or database)"); err != nil {
			return ch, err
		}
		ch.Kind, ch.Sensitive = pgstore.PolicySensitive, setting == "sensitive"
		if ch.Name, err = ident.Canonical(rest[0]); err != nil {
			return ch, usageErr("policy set %s: name: %v", setting, err)
		}
	case "identity":
		if len(rest) == 3 && rest[2] == "service" {
			ch.Service, rest = true, rest[:2]
		}
		if err = want(2, "ROLE EMAIL [service]"); err != nil {
			return ch, err
		}
		ch.Kind, ch.Role, ch.Email = pgstore.PolicyIdentity, rest[0], rest[1]
	case "no-identity":
		if err = want(1, "ROLE"); err != nil {
			return ch, err
		}
		ch.Kind, ch.Role = pgstore.PolicyIdentity, rest[0]
	case "admin", "no-admin":
		if err = want(1, "ROLE"); err != nil {
			return ch, err
		}
		ch.Kind, ch.Role, ch.Admin = pgstore.PolicyAdmin, rest[0], setting == "admin"
	default:
		return ch, usageErr("policy set %s: unknown setting (see grantmirror grant policy set --help)", setting)
	}
	return ch, nil
}

func writePolicy(e *env, format string, p localgrant.Policy) error {
	if format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	w := e.stdout
	allow := make([]string, len(p.Allow))
	for i, a := range p.Allow {
		allow[i] = a.Privilege + " on " + a.ObjectType
	}
	fmt.Fprintf(w, "allow:            %s\n", strings.Join(allow, ", "))
	fmt.Fprintf(w, "max duration:     %s\n", localgrant.Span(p.MaxDuration))
	fmt.Fprintf(w, "pending requests: expire after %s\n", localgrant.Span(p.PendingTTL))
	if p.BreakGlassMax > 0 {
		fmt.Fprintf(w, "break-glass:      at most %s, reviewed afterwards\n", localgrant.Span(p.BreakGlassMax))
	} else {
		fmt.Fprintln(w, "break-glass:      disabled")
	}
	if p.ActivityExtension > 0 {
		fmt.Fprintf(w, "activity:         use extends a grant to %s after it, up to %s from its start (never sensitive objects)\n",
			localgrant.Span(p.ActivityExtension), localgrant.Span(p.ActivityCeiling))
	} else {
		fmt.Fprintln(w, "activity:         off (grants end at their approved duration)")
	}
	fmt.Fprintln(w, "approvers:")
	for _, a := range p.Approvers {
		fmt.Fprintf(w, "  %-9s %s %s\n", a.Scope, a.Name, a.Email)
	}
	fmt.Fprintf(w, "sensitive:        %s\n", strings.Join(p.Sensitive, ", "))
	fmt.Fprintln(w, "identities:")
	for _, id := range p.Identities {
		kind := ""
		if id.Service {
			kind = " (service)"
		}
		fmt.Fprintf(w, "  %s → %s%s\n", id.Role, id.Email, kind)
	}
	fmt.Fprintf(w, "admins:           %s\n", strings.Join(p.Admins, ", "))
	return nil
}

// afterSync is the access requests' part of every sync on a Postgres target: it
// delivers the notifications waiting (those of the expiries the sync just
// recorded among them) and brings the break-glass counter up to the database's
// total. Neither can fail the sync, which has published already.
func (e *env) afterSync(store model.Store, m *metrics.Sync) {
	s, ok := store.(*pgstore.Store)
	if !ok {
		return
	}
	e.notify(s)
	n, err := s.BreakGlassTotal(context.WithoutCancel(e.ctx))
	if err != nil {
		e.log.Warn("count break-glass grants", "error", err)
		return
	}
	m.ObserveBreakGlass(n)
}
