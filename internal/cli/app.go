package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/grantmirror/grantmirror/pipeline/dirstore"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Version is set at build time with -ldflags "-X …/internal/cli.Version=v1.2.3".
var Version = ""

// Exit codes, the same for every command so scripts can rely on them.
const (
	ExitOK       = 0
	ExitFindings = 1 // denied, lint findings, a refused publish
	ExitError    = 2 // bad usage, bad input, or a failure to do the job
)

// env is what a command runs with: its streams and the parsed config.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cfg    *Config
	log    *slog.Logger
}

// Run runs grantmirror with args (args[0] is the program name) and returns the exit
// code. main is one line around it; tests call it with buffers.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, interspersed(app, args))
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, "grantmirror:", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "grantmirror:", err)
	if h := failureHint(err); h != "" {
		fmt.Fprintln(stderr, "hint:", h)
	}
	if errors.Is(err, model.ErrRevokeGuard) {
		return ExitFindings
	}
	return ExitError
}

// failureHint says what to look at for a failure of a kind a source and a target
// share (the error itself says which of them failed); "" for any other.
func failureHint(err error) string {
	switch {
	case errors.Is(err, model.ErrAuth):
		return "the credentials were refused: check the user and its password, key or token (grantmirror config shows what is configured, secrets redacted)"
	case errors.Is(err, model.ErrPermission):
		return "the login lacks a privilege it needs: for Snowflake, the roles README.md lists; for Postgres, a sync needs to own the schema (or run grantmirror migrate as one that can create it), a reader SELECT on its views"
	case errors.Is(err, model.ErrTimeout):
		return "it ran out of time: raise the timeout, or retry when the service is less busy"
	case errors.Is(err, model.ErrUnavailable):
		return "the service could not be reached or kept failing: check the address and the network, then retry; the published mirror is unchanged"
	case errors.Is(err, model.ErrConfig):
		return "the configuration cannot work as given: grantmirror config shows what was read"
	}
	return ""
}

// findings is an exit with code 1 and no extra message: the command already
// printed what it found.
var findings = cli.Exit("", ExitFindings)

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	app := &cli.App{
		Name:  "grantmirror",
		Usage: "mirror Snowflake permissions into your product's database",
		Description: `grantmirror copies who-can-see-what out of Snowflake (users, nested account and
database roles, object grants, masking policies) and flattens it into one table of
email × object × privilege, published atomically into a local directory or Postgres.
Data APIs filter every read with it; people ask it why someone can or cannot see a thing.

Exit codes: 0 success, 1 denied or findings (check, lint, a refused publish), 2 error.`,
		Version:         version(),
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Commands: []*cli.Command{
			syncCommand(e),
			reportCommand(e),
			explainCommand(e),
			checkCommand(e),
			lintCommand(e),
			generationsCommand(e),
			diffCommand(e),
			rollbackCommand(e),
			migrateCommand(e),
			extractCommand(e),
			sampleCommand(e),
			versionCommand(e),
			configCommand(e),
			grantCommand(e),
			rlsCommand(e),
			helpCommand(e),
		},
		// With no command, print the help; with a name that is not a command, say
		// so with the nearest one, as git does, and exit 2.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return unknownCommand("", c.Args().First(), c.App.Commands)
		},
		// urfave/cli would print usage errors and call os.Exit; return them instead
		// so Run maps them to exit code 2.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return unknownFlag("grantmirror", c.App.Flags, err)
		},
	}
	hideHelpCommands(app.Commands)
	onUsageError(app.Commands)
	return app
}

// hideHelpCommands drops urfave/cli's own `help` subcommands: each is one shared
// object that every invocation would write to while running; helpCommand and
// --help do the same job.
func hideHelpCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		c.HideHelpCommand = true
		hideHelpCommands(c.Subcommands)
	}
}

// setup loads the config and logger before a command's action runs.
func (e *env) setup(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	e.ctx, e.cfg = c.Context, cfg
	e.log, err = newLogger(e.stderr, cfg.LogLevel, cfg.LogFormat)
	return err
}

// action wraps a command body with setup.
func (e *env) action(fn func(c *cli.Context) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := e.setup(c); err != nil {
			return err
		}
		return fn(c)
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErr("log-level %q: want debug, info, warn or error", level)
	}
	text := &slog.HandlerOptions{Level: lv, ReplaceAttr: durations(false)}
	json := &slog.HandlerOptions{Level: lv, ReplaceAttr: durations(true)}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, json)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, text)), nil
	case "auto", "":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, text)), nil
		}
		return slog.New(slog.NewJSONHandler(w, json)), nil
	}
	return nil, usageErr("log-format %q: want json, text or auto", format)
}

// durations writes durations for their reader: seconds as a number in JSON, where
// log pipelines sum and compare them (slog's default is integer nanoseconds), and
// rounded to the millisecond in text ("1.234s"), where a person reads them.
func durations(asSeconds bool) func([]string, slog.Attr) slog.Attr {
	return func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() != slog.KindDuration {
			return a
		}
		d := a.Value.Duration()
		if asSeconds {
			return slog.Float64(a.Key, d.Seconds())
		}
		return slog.String(a.Key, d.Round(time.Millisecond).String())
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Flags shared by commands. urfave/cli writes into a flag while parsing, so every
// invocation builds its own: Run may be called concurrently (tests, a daemon).
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "YAML config file", EnvVars: []string{EnvPrefix + "_CONFIG"}}
}

func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error (default info)"},
		&cli.StringFlag{Name: "log-format", Usage: "json, text, or auto: text on a terminal, JSON otherwise (default auto)"},
	}
}

func formatFlag(def string, formats ...string) *cli.StringFlag {
	return &cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: def, Usage: strings.Join(formats, ", ")}
}

// targetFlags are the flags of every command that reads a target.
func targetFlags(extra ...cli.Flag) []cli.Flag {
	flags := []cli.Flag{
		configFlag(),
		&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "where the mirror lives: dir:PATH or postgres://… (default dir:./grantmirror-data)"},
		&cli.StringFlag{Name: "schema", Usage: "Postgres schema of the mirror (default grantmirror)"},
	}
	return append(append(flags, logFlags()...), extra...)
}

// perParse gives each parse its own copy of urfave/cli's package-level help and
// version flags, which it would otherwise write to from every invocation at once.
type perParse struct{ *cli.BoolFlag }

func (f perParse) Apply(set *flag.FlagSet) error {
	c := *f.BoolFlag
	return c.Apply(set)
}

func init() {
	if f, ok := cli.HelpFlag.(*cli.BoolFlag); ok {
		cli.HelpFlag = perParse{f}
	}
	if f, ok := cli.VersionFlag.(*cli.BoolFlag); ok {
		cli.VersionFlag = perParse{f}
	}
}

// openStore opens the target named in the config.
func (e *env) openStore() (model.Store, error) {
	t := e.cfg.Target
	switch {
	case strings.HasPrefix(t, "dir:"):
		return dirstore.Open(strings.TrimPrefix(t, "dir:"))
	case isPostgres(t):
		return openPostgres(e, t)
	}
	return nil, usageErr("target %q: want dir:PATH or postgres://user@host/db (or keyword/value: host=… dbname=…)", model.RedactDSN(t))
}

// openMirror reads a generation (0: current) of the target.
func (e *env) openMirror(n int) (*model.Mirror, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return e.open(s, n)
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Description: `Prints the version this binary was built as (a tag, a commit, or dev).

Example:
   grantmirror version`,
		Action: func(c *cli.Context) error {
			fmt.Fprintln(e.stdout, "grantmirror", version())
			return nil
		},
	}
}

// whoRuns names the person or service running the command, for the audit log
// and the run history: $USER where a login shell sets it, else the operating
// system's account (a container runs as one even where no shell set USER), else
// its numeric id.
func whoRuns() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + strconv.Itoa(os.Getuid())
}
