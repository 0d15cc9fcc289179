package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/rls"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// rlsCommand is rls enable|disable|status. As with grant, the flags belong to rls
// itself and each subcommand reads them from its parent.
func rlsCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "rls",
		Usage: "guard a product table with Postgres row-level security, for clients not on the Go builder",
		Description: `Installs a row-level security policy on a table of the product's database, so that
every client of it (psql, an ORM, a BI tool, a Python or Node service) sees only the
rows of the viewer it names for the transaction:

   BEGIN;
   SET LOCAL grantmirror.viewer = 'alice@example.com';
   SELECT * FROM app.events ORDER BY id DESC LIMIT 50;
   COMMIT;

A row passes when the viewer holds --privilege on the --type object its
--object-column names (or --object-parts assemble) in the mirror of --target and
--schema, local grants in force included. No viewer set: no rows. A mirror whose
snapshot is older than --max-staleness: no rows. The viewer is trimmed and lowered,
not aliased: set it as the mirror spells addresses.

Run it as the table's owner. Reading roles need SELECT on the table, and USAGE on
the mirror's schema with SELECT on its access and current views.

Snowflake's row access policies apply too: no row of an object whose policy does not
admit the viewer shows. The policy reads them (row_policies, memberships) with the
rights of the role that runs rls enable, which must be able to read both.

The table's owner bypasses row-level security, as do superusers and roles with
BYPASSRLS: check what the product's own role is. --force-owner sets FORCE ROW LEVEL
SECURITY so the owner is guarded too. With row-level security on, other roles may
only do what a policy allows: this one allows SELECT, so their INSERT, UPDATE and
DELETE are refused until the table has policies for them.

Any session can set grantmirror.viewer: the policy guards what a service or a BI
tool shows the person it names, not a SQL session against its own user.

   rls enable TABLE --object-column COL | --object-parts DB,SCHEMA,NAME [--account-column COL]
              [--type TABLE] [--privilege SELECT] [--max-staleness 6h] [--set-limit 10000] [--force-owner]
   rls disable TABLE     removes the policy; RLS goes off with it unless other policies remain
   rls status [TABLE]    the tables guarded with this mirror, or one table

Running enable again replaces the policy with the new settings.

Examples:
   grantmirror rls enable app.events --object-column table_name --type TABLE --privilege SELECT \
       --target postgres://owner@db/app
   grantmirror rls enable app.usage --object-parts database_name,schema_name,table_name \
       --account-column account --max-staleness 12h --target postgres://owner@db/app
   grantmirror rls status --target postgres://owner@db/app
   grantmirror rls status app.events --format json --target postgres://owner@db/app
   grantmirror rls disable app.events --target postgres://owner@db/app`,
		Subcommands: []*cli.Command{
			{
				Name:      "enable",
				Usage:     "install or replace the policy on a table",
				ArgsUsage: "TABLE",
				Description: `Example:
   grantmirror rls enable app.events --object-column table_name --type TABLE --privilege SELECT \
       --max-staleness 6h --target postgres://owner@db/app`,
				Flags: targetFlags(
					&cli.StringFlag{Name: "object-column", Usage: "the column holding each row's object as a canonical name (SALES.PUBLIC.ORDERS)"},
					&cli.StringSliceFlag{Name: "object-parts", Usage: "the database[,schema[,name]] columns, as Snowflake stores the parts"},
					&cli.StringFlag{Name: "account-column", Usage: "the column holding each row's Snowflake account, for a multi-account mirror"},
					&cli.StringFlag{Name: "type", Value: "TABLE", Usage: "the object type, as Snowflake's GRANTED_ON says it"},
					&cli.StringFlag{Name: "privilege", Value: "SELECT", Usage: "the privilege the viewer must hold"},
					&cli.StringFlag{Name: "max-staleness", Value: rls.DefaultMaxStaleness.String(), Usage: "how old the mirror's snapshot may be (6h, 2d)"},
					&cli.IntFlag{Name: "set-limit", Value: rls.DefaultSetLimit, Usage: "past this many visible objects, each row is probed in the mirror instead of matched against the viewer's set built once per statement: lower it for services that only read pages, keep it high for full and aggregate reads"},
					&cli.BoolFlag{Name: "force-owner", Usage: "guard the table's owner too (FORCE ROW LEVEL SECURITY)"},
					formatFlag("text", "text", "json"),
				),
				Action: e.action(func(c *cli.Context) error { return e.rlsEnable(c) }),
			},
			{
				Name:      "disable",
				Usage:     "remove the policy from a table",
				ArgsUsage: "TABLE",
				Description: `Example:
   grantmirror rls disable app.events --target postgres://owner@db/app`,
				Flags:  targetFlags(formatFlag("text", "text", "json")),
				Action: e.action(func(c *cli.Context) error { return e.rlsDisable(c) }),
			},
			{
				Name:      "status",
				Usage:     "show the guarded tables, or one table",
				ArgsUsage: "[TABLE]",
				Description: `Examples:
   grantmirror rls status --target postgres://owner@db/app
   grantmirror rls status app.events --format json --target postgres://owner@db/app`,
				Flags:  targetFlags(formatFlag("text", "text", "json")),
				Action: e.action(func(c *cli.Context) error { return e.rlsStatus(c) }),
			},
		},
	}
}

// rlsConn connects to the target, which must be Postgres: the policy lives in
// the product's database next to the mirror it reads.
func (e *env) rlsConn() (*pgx.Conn, error) {
	if !isPostgres(e.cfg.Target) {
		return nil, usageErr("rls needs a postgres:// target, not %s", model.RedactDSN(e.cfg.Target))
	}
	cfg, err := pgx.ParseConfig(e.cfg.Target)
	if err != nil {
		return nil, usageErr("target %s: %v", model.RedactDSN(e.cfg.Target), strings.ReplaceAll(err.Error(), e.cfg.Target, model.RedactDSN(e.cfg.Target)))
	}
	cfg.RuntimeParams["application_name"] = "grantmirror rls"
	conn, err := pgx.ConnectConfig(e.ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", model.RedactDSN(e.cfg.Target), err)
	}
	return conn, nil
}

func rlsFormat(c *cli.Context) (string, error) {
	f := c.String("format")
	if f != "text" && f != "json" {
		return "", usageErr("format %q: want text or json", f)
	}
	return f, nil
}

func oneTable(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", usageErr("rls %s: want one TABLE, got %d arguments (see grantmirror rls --help)", what, c.NArg())
	}
	return c.Args().First(), nil
}

func (e *env) rlsEnable(c *cli.Context) error {
	table, err := oneTable(c, "enable")
	if err != nil {
		return err
	}
	format, err := rlsFormat(c)
	if err != nil {
		return err
	}
	maxAge, err := parseDuration(c.String("max-staleness"))
	if err != nil || maxAge <= 0 {
		return usageErr("--max-staleness %q: want a positive duration such as 6h or 2d", c.String("max-staleness"))
	}
	if c.Int("set-limit") < 1 {
		return usageErr("--set-limit %d: want 1 or more", c.Int("set-limit"))
	}
	spec := rls.Spec{
		Table: table, ObjectColumn: c.String("object-column"), ObjectParts: c.StringSlice("object-parts"),
		AccountColumn: c.String("account-column"), ObjectType: c.String("type"), Privilege: c.String("privilege"),
		MaxStaleness: maxAge, SetLimit: c.Int("set-limit"), ForceOwner: c.Bool("force-owner"),
	}
	conn, err := e.rlsConn()
	if err != nil {
		return err
	}
	defer conn.Close(e.ctx)
	t, err := rls.Enable(e.ctx, conn, e.cfg.Postgres.Schema, spec)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(e, t)
	}
	s := t.Settings
	fmt.Fprintf(e.stdout, "guarded %s: a row shows when the viewer holds %s on the %s its %s names, while the mirror's snapshot is under %s old\n",
		t.Name, s.Privilege, s.ObjectType, objectSource(s), time.Duration(s.MaxStaleness))
	if t.Forced {
		fmt.Fprintf(e.stdout, "the owner %s is guarded too (FORCE ROW LEVEL SECURITY); superusers and BYPASSRLS roles are not\n", t.Owner)
	} else {
		fmt.Fprintf(e.stdout, "the owner %s, superusers and BYPASSRLS roles bypass it (--force-owner guards the owner too)\n", t.Owner)
	}
	return nil
}

func (e *env) rlsDisable(c *cli.Context) error {
	table, err := oneTable(c, "disable")
	if err != nil {
		return err
	}
	format, err := rlsFormat(c)
	if err != nil {
		return err
	}
	conn, err := e.rlsConn()
	if err != nil {
		return err
	}
	defer conn.Close(e.ctx)
	t, err := rls.Disable(e.ctx, conn, e.cfg.Postgres.Schema, table)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(e, t)
	}
	if t.Enabled {
		fmt.Fprintf(e.stdout, "unguarded %s; row-level security stays on for its other policies: %s\n", t.Name, strings.Join(t.OtherPolicies, ", "))
		return nil
	}
	fmt.Fprintf(e.stdout, "unguarded %s; row-level security is off\n", t.Name)
	return nil
}

func (e *env) rlsStatus(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErr("rls status: want at most one TABLE, got %d arguments", c.NArg())
	}
	format, err := rlsFormat(c)
	if err != nil {
		return err
	}
	conn, err := e.rlsConn()
	if err != nil {
		return err
	}
	defer conn.Close(e.ctx)
	tables, err := rls.Status(e.ctx, conn, e.cfg.Postgres.Schema, c.Args().First())
	if err != nil {
		return err
	}
	if format == "json" {
		if tables == nil {
			tables = []rls.Table{}
		}
		return writeJSON(e, tables)
	}
	if len(tables) == 0 {
		fmt.Fprintf(e.stdout, "no table is guarded with the mirror in schema %s\n", e.cfg.Postgres.Schema)
		return nil
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TABLE\tOWNER\tRLS\tGUARDED\tOBJECT\tTYPE\tPRIVILEGE\tMAX STALENESS\tOTHER POLICIES")
	for _, t := range tables {
		rlsState := "off"
		switch {
		case t.Forced && t.Enabled:
			rlsState = "on, forced"
		case t.Enabled:
			rlsState = "on"
		}
		object, typ, priv, age := "-", "-", "-", "-"
		guarded := "no"
		if t.Guarded {
			guarded = "yes"
			if s := t.Settings; s != nil {
				object, typ, priv, age = objectSource(s), s.ObjectType, s.Privilege, time.Duration(s.MaxStaleness).String()
			} else {
				guarded = "yes, settings unreadable"
			}
		}
		others := strings.Join(t.OtherPolicies, ",")
		if others == "" {
			others = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Owner, rlsState, guarded, object, typ, priv, age, others)
	}
	return w.Flush()
}

// objectSource names where a policy reads the object from.
func objectSource(s *rls.Settings) string {
	src := s.ObjectColumn
	if len(s.ObjectParts) > 0 {
		src = strings.Join(s.ObjectParts, "||")
	}
	if s.AccountColumn != "" {
		src += " in " + s.AccountColumn
	}
	return src
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
