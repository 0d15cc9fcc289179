package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/explain"
	"github.com/grantmirror/grantmirror/internal/lint"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

func checkCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "exit 0 if a person may use a privilege on an object, 1 if not",
		ArgsUsage: "EMAIL OBJECT PRIVILEGE",
		Description: `Quiet, for scripts: exit 0 when allowed, 1 when denied, 2 on error. Use explain to
see why. A privilege that neither Snowflake nor the generation's grants know, or an
email no user has while some have one a typo away, is a usage error (exit 2) that
names the nearest.

--at decides as of a past moment (RFC 3339, a date, or a duration ago such as
72h), as explain --at does: by publish time, from the access history of a
Postgres target (local grants in force then included), from the generations a
directory target keeps.

Examples:
   grantmirror check alice@example.com SALES.PUBLIC.ORDERS SELECT && echo allowed
   grantmirror check alice.martin@acme.example SALES.PUBLIC.ORDERS SELECT --at 24h`,
		Flags: targetFlags(&cli.StringFlag{Name: "account", Usage: "only this account"}, atFlag()),
		Action: e.action(func(c *cli.Context) error {
			if c.NArg() != 3 {
				return usageErr("want EMAIL OBJECT PRIVILEGE, got %d arguments (see grantmirror check --help)", c.NArg())
			}
			q, err := e.query(c)
			if err != nil {
				return err
			}
			at, err := atTime(c)
			if err != nil {
				return err
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			var allowed bool
			if at.IsZero() {
				allowed, err = explain.Check(e.ctx, e.explainSource(s), q)
			} else {
				// A past moment is answered as explain answers it, so that the
				// two cannot disagree about it either.
				var ans *explain.Answer
				if ans, err = e.explainAt(s, q, 0, at); err == nil {
					allowed = ans.Allowed
				}
			}
			if err != nil {
				return typo(e.noGeneration(err))
			}
			if !allowed {
				return findings
			}
			return nil
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
			var fs []lint.Finding
			if c.IsSet("source") {
				m, err := e.flattenSource()
				if err != nil {
					return err
				}
				fs = lint.Lint(m, e.cfg.normalizer())
			} else {
				s, err := e.openStore()
				if err != nil {
					return err
				}
				defer s.Close()
				// Lint looks at the whole generation: its snapshot, memberships and grants.
				m, err := model.ReaderOf(s).Slice(e.ctx, 0, model.Focus{})
				if err != nil {
					return e.noGeneration(err)
				}
				caller := e.cfg.caller()
				fs = lint.Generation(m, caller.Normalizer(m.Meta), caller.Notes(m.Meta))
			}
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
func (e *env) flattenSource() (*model.Mirror, error) {
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
