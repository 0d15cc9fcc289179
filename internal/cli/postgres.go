package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

func openPostgres(e *env, dsn string) (model.Store, error) {
	return pgstore.Open(e.ctx, dsn, pgstore.Options{Schema: e.cfg.Postgres.Schema, Logger: e.log,
		HistoryDays: e.cfg.HistoryDays, Actor: whoRuns()})
}

// isPostgres reports whether the target is a Postgres DSN, a URL or a
// keyword/value string (host=… dbname=…).
func isPostgres(target string) bool { return pgstore.IsDSN(target) }

func migrateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "create or upgrade the Postgres schema of the mirror",
		Description: `Runs the embedded migrations against --target (a sync does this on its own;
run it ahead when the job's database user may not create schemas). Refuses a schema
migrated by a newer grantmirror.

Example:
   grantmirror migrate --target postgres://admin@db/app --schema grantmirror`,
		Flags: targetFlags(),
		Action: e.action(func(c *cli.Context) error {
			if !isPostgres(e.cfg.Target) {
				return usageErr("migrate needs a postgres:// target, not %s", model.RedactDSN(e.cfg.Target))
			}
			s, err := pgstore.Open(e.ctx, e.cfg.Target, pgstore.Options{Schema: e.cfg.Postgres.Schema, Logger: e.log})
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Migrate(e.ctx); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "schema %s of %s is up to date\n", e.cfg.Postgres.Schema, model.RedactDSN(e.cfg.Target))
			return nil
		}),
	}
}
