package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/explain"
	"github.com/grantmirror/grantmirror/internal/ident"
)

func explainCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "show why a person can (or cannot) use an object",
		ArgsUsage: "EMAIL OBJECT [PRIVILEGE]",
		Description: `Prints every role path from the person's Snowflake users to the grants on OBJECT,
with the USAGE on its database and schema that made it reachable; when denied, the
nearest misses. OBJECT is matched like Snowflake resolves names: unquoted parts are
case-insensitive, "quoted" parts exact. Exit 0 when allowed, 1 when denied.

Examples:
   grantmirror explain alice@example.com sales.public.orders SELECT
   grantmirror explain alice@example.com 'SALES."My Schema".MV' --format json
   grantmirror explain bob@example.com SALES.PUBLIC.ORDERS --format dot | dot -Tsvg > why.svg`,
		Flags: targetFlags(
			formatFlag("text", "text", "json", "dot", "mermaid"),
			&cli.StringFlag{Name: "account", Usage: "only this account"},
			&cli.IntFlag{Name: "generation", Usage: "read this kept generation instead of the current one"},
		),
		Action: e.action(func(c *cli.Context) error {
			q, err := e.query(c)
			if err != nil {
				return err
			}
			write := explainWriters[c.String("format")]
			if write == nil {
				return usageErr("format %q: want text, json, dot or mermaid", c.String("format"))
			}
			m, err := e.openMirror(c.Int("generation"))
			if err != nil {
				return err
			}
			ans := explain.Explain(m, q, e.cfg.normalizer())
			if err := write(e, ans); err != nil {
				return err
			}
			if !ans.Allowed {
				return findings
			}
			return nil
		}),
	}
}

// query parses EMAIL OBJECT [PRIVILEGE] the way the mirror spells them.
func (e *env) query(c *cli.Context) (explain.Query, error) {
	args := c.Args().Slice()
	if len(args) < 2 || len(args) > 3 {
		return explain.Query{}, usageErr("want EMAIL OBJECT [PRIVILEGE], got %d arguments (see grantmirror %s --help)", len(args), c.Command.Name)
	}
	email, _ := e.cfg.normalizer().Email(args[0])
	object, err := ident.Canonical(args[1])
	if err != nil {
		return explain.Query{}, usageErr("object: %v", err)
	}
	q := explain.Query{Email: email, Object: object, Account: c.String("account")}
	if len(args) == 3 {
		q.Privilege = ident.Privilege(args[2])
	}
	return q, nil
}
