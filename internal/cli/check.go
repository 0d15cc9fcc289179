package cli

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/explain"
	"github.com/grantmirror/grantmirror/internal/lint"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

func checkCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "exit 0 if a person may use a privilege on an object, 1 if not",
		ArgsUsage: "EMAIL OBJECT PRIVILEGE",
		Description: `Quiet, for scripts: exit 0 when allowed, 1 when denied, 2 on error. Use explain to
see why.

Example:
   grantmirror check alice@example.com SALES.PUBLIC.ORDERS SELECT && echo allowed`,
		Flags: targetFlags(&cli.StringFlag{Name: "account", Usage: "only this account"}),
		Action: e.action(func(c *cli.Context) error {
			if c.NArg() != 3 {
				return usageErr("want EMAIL OBJECT PRIVILEGE, got %d arguments (see grantmirror check --help)", c.NArg())
			}
			q, err := e.query(c)
			if err != nil {
				return err
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			m, err := e.open(s, 0)
			if err != nil {
				return err
			}
			for r := range m.Access.For(q.Account, q.Email) {
				if r.ObjectName == q.Object && r.Privilege == q.Privilege {
					return nil
				}
			}
			// A local grant in force counts too, as it does for guarded reads.
			if ps, ok := s.(*pgstore.Store); ok {
				grants, err := ps.GrantsFor(e.ctx, q.Email, time.Time{})
				if err != nil {
					return err
				}
				for _, g := range grants {
					if g.ObjectName == q.Object && g.Privilege == q.Privilege && (q.Account == "" || g.Account == q.Account) {
						return nil
					}
				}
			}
			return findings
		}),
	}
}

func lintCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "lint",
		Usage: "find users who would silently see nothing, roles nobody holds, grants nobody can use",
		Description: `Checks the current generation of --target, or a snapshot with --source before the
first sync (the time to find users without a valid email is before rollout). Exit 1 when
any finding is an error.

Examples:
   grantmirror lint
   grantmirror lint --source dir:snapshot --config grantmirror.yaml --format csv > findings.csv`,
		Flags: targetFlags(
			&cli.StringFlag{Name: "source", Aliases: []string{"s"}, Usage: "lint this snapshot (dir:PATH or snowflake) instead of the published generation"},
			formatFlag("text", "text", "json", "csv"),
		),
		Action: e.action(func(c *cli.Context) error {
			write := map[string]func(fs []lint.Finding) error{
				"text": func(fs []lint.Finding) error { return lint.WriteText(e.stdout, fs) },
				"json": func(fs []lint.Finding) error { return lint.WriteJSON(e.stdout, fs) },
				"csv":  func(fs []lint.Finding) error { return lint.WriteCSV(e.stdout, fs) },
			}[c.String("format")]
			if write == nil {
				return usageErr("format %q: want text, json or csv", c.String("format"))
			}
			var m *pipeline.Mirror
			var err error
			if c.IsSet("source") {
				m, err = e.flattenSource()
			} else {
				m, err = e.openMirror(0)
			}
			if err != nil {
				return err
			}
			fs := lint.Lint(m, e.cfg.normalizer())
			if err := write(fs); err != nil {
				return err
			}
			if lint.HasErrors(fs) {
				return findings
			}
			return nil
		}),
	}
}

// flattenSource reads --source and flattens it with the configured semantics,
// publishing nothing.
func (e *env) flattenSource() (*pipeline.Mirror, error) {
	src, err := e.openSource()
	if err != nil {
		return nil, err
	}
	opts, err := e.cfg.flattenOptions()
	if err != nil {
		return nil, err
	}
	snap, err := src.Load(e.ctx)
	if err != nil {
		return nil, err
	}
	return pipeline.Flatten(snap, opts)
}

// explainWriters are the output formats of explain.
var explainWriters = map[string]func(*env, *explain.Answer) error{
	"text":    func(e *env, a *explain.Answer) error { return explain.WriteText(e.stdout, a) },
	"json":    func(e *env, a *explain.Answer) error { return explain.WriteJSON(e.stdout, a) },
	"dot":     func(e *env, a *explain.Answer) error { return explain.WriteDot(e.stdout, a) },
	"mermaid": func(e *env, a *explain.Answer) error { return explain.WriteMermaid(e.stdout, a) },
}
