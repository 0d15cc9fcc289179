package cli

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a command's flags ahead of its positional arguments, so that
// `grantmirror explain alice@x.com SALES.T SELECT --format json` works as people type
// it: urfave/cli stops reading flags at the first positional argument. The names
// of subcommands that declare flags (grant request, grant policy set) come
// first, wherever their flags were written, so that each parses its own; a
// command whose subcommands declare none (rls) parses the flags itself, ahead
// of the subcommand's name.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	valueFlags(cmd, takesValue)
	path := []string{args[0], args[1]}
	flags := []string{}
	var positional []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			// A subcommand's name before any positional argument descends.
			if sub := findCommand(cmd.Subcommands, a); sub != nil && len(positional) == 0 && declaresFlags(sub) {
				cmd = sub
				path = append(path, a)
				continue
			}
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
			flags = append(flags, rest[i+1])
			i++
		}
	}
	out := append(path, flags...)
	if len(positional) > 0 {
		out = append(append(out, "--"), positional...)
	}
	return out
}

// valueFlags records, for the flags of cmd and of its subcommands, whether each
// takes a value. A name means the same kind of flag wherever it is declared.
func valueFlags(cmd *cli.Command, takesValue map[string]bool) {
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	for _, sub := range cmd.Subcommands {
		valueFlags(sub, takesValue)
	}
}

// declaresFlags reports whether cmd or one of its subcommands has flags of its own.
func declaresFlags(cmd *cli.Command) bool {
	if len(cmd.Flags) > 0 {
		return true
	}
	for _, sub := range cmd.Subcommands {
		if declaresFlags(sub) {
			return true
		}
	}
	return false
}
