package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/snowflake"
)

// openSnowflake is the live source: the accounts of the config's snowflake section.
func openSnowflake(e *env) (pipeline.Source, error) {
	sf, err := e.cfg.snowflakeConfig()
	if err != nil {
		return nil, err
	}
	if err := sf.Validate(); err != nil {
		return nil, usageErr("%v", err)
	}
	return &snowflake.Source{Config: sf, Options: []snowflake.Option{snowflake.WithLogger(e.log)}}, nil
}

func extractCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "extract",
		Usage: "write the Snowflake accounts of the config as a snapshot directory",
		Description: `Reads USERS, ROLES, GRANTS_TO_USERS, GRANTS_TO_ROLES, TAG_REFERENCES,
POLICY_REFERENCES and an aggregate of ACCESS_HISTORY from SNOWFLAKE.ACCOUNT_USAGE of
every account in the config (Arrow batches, streamed to CSV), into --out. The snapshot
is what sync --source dir: reads: attach it to a bug report, replay it, diff it.
Views the role cannot read that are optional are skipped with a warning.

Example:
   GRANTMIRROR_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE=… grantmirror extract --config grantmirror.yaml --out snapshot/`,
		Flags: append([]cli.Flag{configFlag(),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "directory to write; must not exist unless --overwrite"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace --out if it exists"},
		}, logFlags()...),
		Action: e.action(func(c *cli.Context) error {
			sf, err := e.cfg.snowflakeConfig()
			if err != nil {
				return err
			}
			if err := sf.Validate(); err != nil {
				return usageErr("%v", err)
			}
			opts := []snowflake.Option{snowflake.WithLogger(e.log)}
			if c.Bool("overwrite") {
				opts = append(opts, snowflake.WithOverwrite())
			}
			res, err := snowflake.Extract(e.ctx, sf, c.String("out"), opts...)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %d rows from %d accounts to %s\n", res.Rows(), len(res.Accounts), res.Dir)
			for _, s := range res.Skipped {
				fmt.Fprintf(e.stdout, "skipped account %s: %v\n", s.Name, s.Err)
			}
			return nil
		}),
	}
}
