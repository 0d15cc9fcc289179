package cli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/pipeline"
)

func syncCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "extract, flatten and publish the mirror once",
		Description: `Reads the grant graph from --source, flattens it into email × object × privilege
rows with their role paths, and publishes them to --target as a new generation in one
atomic step. A generation that would remove more than --max-revoke-ratio of the current
rows is refused (exit 1) unless --force: a truncated extract must not lock people out.

Examples:
   grantmirror sync --source dir:testdata/sample/acme --target dir:./grantmirror-data
   grantmirror sync --config grantmirror.yaml --dry-run
   grantmirror sync --source snowflake --target postgres://grantmirror@db/app`,
		Flags: targetFlags(
			&cli.StringFlag{Name: "source", Aliases: []string{"s"}, Usage: "dir:PATH (a snapshot) or snowflake (the accounts in the config)"},
			&cli.StringFlag{Name: "mode", Usage: "effective (USAGE on containers required) or granted (default effective)"},
			&cli.StringFlag{Name: "roles", Usage: "all (secondary roles ALL, Snowflake's default) or primary (default all)"},
			&cli.Float64Flag{Name: "max-revoke-ratio", Usage: "largest share of current rows one sync may remove (default 0.2)"},
			&cli.BoolFlag{Name: "force", Usage: "publish even when the revocation guard would refuse"},
			&cli.IntFlag{Name: "keep", Usage: "generations kept for rollback besides the current one (default 3)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "compute and print what would change; publish nothing"},
		),
		Action: e.action(func(c *cli.Context) error {
			opts, err := e.runConfig(c.Bool("dry-run"))
			if err != nil {
				return err
			}
			defer opts.Store.Close()
			res, err := pipeline.Run(e.ctx, opts)
			if err != nil {
				return err
			}
			e.printSync(res, opts)
			if res.Refused {
				return findings
			}
			return nil
		}),
	}
}

// runConfig builds the pipeline config of a sync from the loaded settings.
func (e *env) runConfig(dryRun bool) (pipeline.Config, error) {
	cfg := pipeline.Config{DryRun: dryRun, Logger: e.log}
	var err error
	if cfg.Flatten, err = e.cfg.flattenOptions(); err != nil {
		return cfg, err
	}
	if cfg.Publish, err = e.cfg.publishOptions(); err != nil {
		return cfg, err
	}
	if cfg.Source, err = e.openSource(); err != nil {
		return cfg, err
	}
	if cfg.Store, err = e.openStore(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func (e *env) openSource() (pipeline.Source, error) {
	s := e.cfg.Source
	switch {
	case s == "":
		return nil, usageErr("no source: pass --source dir:PATH or --source snowflake (or set source in the config)")
	case strings.HasPrefix(s, "dir:"):
		return pipeline.DirSource{Dir: strings.TrimPrefix(s, "dir:")}, nil
	case s == "snowflake":
		return openSnowflake(e)
	}
	return nil, usageErr("source %q: want dir:PATH or snowflake", s)
}

// maxChanges bounds the changes a dry run prints; the counts say the rest.
const maxChanges = 50

func (e *env) printSync(res *pipeline.Result, cfg pipeline.Config) {
	m := res.Mirror
	w := e.stdout
	if cfg.DryRun {
		fmt.Fprintf(w, "dry run: would publish %d rows (+%d −%d) from %s to %s; nothing was written\n",
			m.Access.Len(), res.Added, res.Removed, cfg.Source, RedactDSN(e.cfg.Target))
		if res.Refused {
			fmt.Fprintf(w, "the revocation guard would refuse it: more than %.0f%% of the current rows removed\n", 100*cfg.Publish.MaxRevokeRatio)
		}
		if cur, err := cfg.Store.Open(e.ctx, 0); err == nil {
			n := 0
			for ch := range pipeline.Diff(cur.Access, m.Access) {
				if n == maxChanges {
					fmt.Fprintf(w, "  … and %d more\n", res.Added+res.Removed-n)
					break
				}
				sign := "-"
				if ch.Added {
					sign = "+"
				}
				fmt.Fprintf(w, "  %s %s %s %s %s %s\n", sign, ch.Account, ch.Email, ch.ObjectType, ch.ObjectName, ch.Privilege)
				n++
			}
		}
	} else {
		g := res.Generation
		fmt.Fprintf(w, "published generation %d to %s: %d rows (+%d −%d), mode %s\n",
			g.Number, RedactDSN(e.cfg.Target), g.Rows, g.Added, g.Removed, m.Meta.Mode)
	}
	if n := len(m.Excluded); n > 0 {
		fmt.Fprintf(w, "%d Snowflake users left out (no valid email); run grantmirror lint to list them\n", n)
	}
}
