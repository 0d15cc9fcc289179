package cli

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

func sampleCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "sample",
		Usage: "write a synthetic account as a snapshot, to try grantmirror at any size",
		Description: `Generates an invented account, deterministic for a given --seed, and writes it in
the snapshot format that sync --source dir: reads. --preset acme is the realistic
company bundled in testdata/sample/acme (with its defaults, --users 320 --seed 7, it
writes exactly that snapshot; other values grow or reshuffle it); otherwise --users, --roles and --grants size
an account with deep role hierarchies, database roles, service accounts with junk
emails, revoked grants and several users per person.

Examples:
   grantmirror sample --users 50000 --roles 10000 --grants 1000000 --out /tmp/big
   grantmirror sample --preset acme --out testdata/sample/acme`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "directory to write (must not exist, or be empty)"},
			&cli.StringFlag{Name: "preset", Usage: "acme: the realistic sample company"},
			&cli.IntFlag{Name: "users", Value: 1000, Usage: "people (acme: users in all, default 320)"},
			&cli.IntFlag{Name: "roles", Value: 200, Usage: "roles, database roles included"},
			&cli.IntFlag{Name: "grants", Value: 20000, Usage: "rows of grants_to_roles.csv"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed; the same seed gives the same account (acme: default 7)"},
			&cli.StringFlag{Name: "account", Value: "SAMPLE", Usage: "account name"},
		},
		Action: func(c *cli.Context) error {
			var a *model.Account
			switch c.String("preset") {
			case "acme":
				users, seed := sample.AcmeUsers, sample.AcmeSeed
				if c.IsSet("users") {
					users = c.Int("users")
				}
				if c.IsSet("seed") {
					seed = c.Uint64("seed")
				}
				a = sample.Acme(users, seed)
			case "":
				var err error
				a, err = sample.Generate(sample.Options{Account: c.String("account"), Users: c.Int("users"), Roles: c.Int("roles"), Grants: c.Int("grants"), Seed: c.Uint64("seed")})
				if err != nil {
					return usageErr("%v", err)
				}
			default:
				return usageErr("preset %q: want acme", c.String("preset"))
			}
			out := c.String("out")
			if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
				return usageErr("out %s: directory is not empty; refusing to mix two snapshots", out)
			}
			if err := pipeline.WriteSnapshot(out, &model.Snapshot{Accounts: []*model.Account{a}}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote account %s to %s: %d users, %d roles, %d grants to roles, %d grants to users\n",
				a.Name, out, len(a.Users), len(a.Roles), len(a.RoleGrants), len(a.UserGrants))
			return nil
		},
	}
}
