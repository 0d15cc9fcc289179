package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// helpCommand is `grantmirror help [COMMAND [SUBCOMMAND]]`, as git and kubectl
// have it: it runs the named command with --help, so both spellings print the same
// text. urfave/cli's own help command is one object shared by every invocation,
// which concurrent Runs (tests, the daemon) would race on.
func helpCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the help of grantmirror or of a command",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		Description: `Examples:
   grantmirror help
   grantmirror help sync
   grantmirror help grant request`,
		Action: func(c *cli.Context) error {
			app := c.App
			path := c.Args().Slice()
			if len(path) == 0 {
				return cli.ShowAppHelp(c)
			}
			cmds := app.Commands
			for i, name := range path {
				cmd := findCommand(cmds, name)
				if cmd == nil {
					return unknownCommand(strings.Join(path[:i], " "), name, cmds)
				}
				cmds = cmd.Subcommands
			}
			args := append(append([]string{app.Name}, path...), "--help")
			return app.RunContext(c.Context, args)
		},
	}
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// unknownCommand is the usage error for a command name that does not exist under
// parent ("" for the top level), with the nearest names as a suggestion.
func unknownCommand(parent, name string, cmds []*cli.Command) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	where := "grantmirror"
	if parent != "" {
		where += " " + parent
	}
	msg := fmt.Sprintf("%q is not a %s command", name, where)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageErr("%s (see %s --help)", msg, where)
}

// unknownFlag turns the flag package's "flag provided but not defined: -x" into
// a usage error that names the command and suggests the nearest flag.
func unknownFlag(cmd string, flags []cli.Flag, err error) error {
	const prefix = "flag provided but not defined: -"
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		return usageErr("%v (see %s --help)", err, cmd)
	}
	var names []string
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	out := fmt.Sprintf("%s has no flag --%s", cmd, name)
	if s := suggest(name, names); s != "" {
		dashes := "--"
		if len(s) == 1 {
			dashes = "-"
		}
		out += fmt.Sprintf("; did you mean %s%s?", dashes, s)
	}
	return usageErr("%s (see %s --help)", out, cmd)
}

// suggest is ident.Nearest over names in sorted order, so ties resolve the same
// way whatever order the commands or flags were declared in.
func suggest(s string, names []string) string {
	return ident.Nearest(s, slices.Sorted(slices.Values(names)))
}

// onUsageError makes every command and subcommand answer a usage error (an
// unknown flag, a missing value) with exit code 2 and a suggestion, instead of
// urfave/cli's help dump.
func onUsageError(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(ctx *cli.Context, err error, _ bool) error {
			return unknownFlag(commandPath(ctx), ctx.Command.Flags, err)
		}
		if len(c.Subcommands) > 0 && c.Action == nil {
			c.Action = func(ctx *cli.Context) error {
				if ctx.NArg() == 0 {
					return cli.ShowSubcommandHelp(ctx)
				}
				return unknownCommand(strings.TrimPrefix(commandPath(ctx), "grantmirror "), ctx.Args().First(), ctx.Command.Subcommands)
			}
		}
		onUsageError(c.Subcommands)
	}
}

// commandPath is the command line that names the running command, "grantmirror
// grant policy set": urfave/cli's HelpName, which, unlike FullName, includes
// the parents of a subcommand.
func commandPath(ctx *cli.Context) string {
	if ctx.Command.HelpName != "" {
		return ctx.Command.HelpName
	}
	return "grantmirror " + ctx.Command.Name
}
