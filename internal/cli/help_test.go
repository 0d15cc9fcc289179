package cli

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os/user"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

func TestHelpCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "grantmirror - mirror Snowflake permissions"},
		{[]string{"help", "sync"}, "grantmirror sync - extract, flatten and publish"},
		{[]string{"help", "grant", "request"}, "grantmirror grant request - "},
	} {
		r := run(t, tc.args...)
		require.Equal(t, ExitOK, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stdout, tc.want, "%v", tc.args)
		// help CMD prints what CMD --help prints.
		if len(tc.args) > 1 {
			same := run(t, append(tc.args[1:], "--help")...)
			require.Equal(t, same.stdout, r.stdout)
		}
	}
}

func TestUnknownCommandsAndFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"synch"}, `"synch" is not a grantmirror command; did you mean "sync"?`},
		{[]string{"help", "reprot"}, `did you mean "report"?`},
		{[]string{"frobnicate"}, `"frobnicate" is not a grantmirror command (see grantmirror --help)`},
		{[]string{"grant", "aprove"}, `"aprove" is not a grantmirror grant command; did you mean "approve"?`},
		{[]string{"sync", "--dryrun"}, "grantmirror sync has no flag --dryrun; did you mean --dry-run?"},
		{[]string{"report", "--bogus"}, "grantmirror report has no flag --bogus (see grantmirror report --help)"},
	} {
		r := run(t, tc.args...)
		require.Equal(t, ExitError, r.code, "%v", tc.args)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
		require.NotContains(t, r.stderr, "Incorrect Usage", "%v: one line, not a help dump", tc.args)
	}
}

func TestLogDurations(t *testing.T) {
	t.Parallel()
	var js, txt bytes.Buffer
	jl, err := newLogger(&js, "info", "json")
	require.NoError(t, err)
	tl, err := newLogger(&txt, "info", "text")
	require.NoError(t, err)
	d := 1234567890 * time.Nanosecond
	jl.Info("done", slog.Duration("took", d))
	tl.Info("done", slog.Duration("took", d))
	var rec map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &rec))
	require.InDelta(t, 1.23456789, rec["took"], 1e-9, "seconds in JSON")
	require.True(t, strings.Contains(txt.String(), "took=1.235s"), txt.String())
}

// TestEveryCommandShowsItsFlagsAndAnExample walks every command and subcommand:
// its --help lists the flags it declares (none live on a parent it inherits them
// from) and shows at least one example of itself.
func TestEveryCommandShowsItsFlagsAndAnExample(t *testing.T) {
	t.Parallel()
	app := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	visited := 0
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(slices.Clone(path), c.Name)
			if len(c.Subcommands) > 0 {
				require.Empty(t, c.Flags, "%v: flags live on the subcommands that read them", p)
				walk(p, c.Subcommands)
				continue
			}
			visited++
			r := run(t, append(p, "--help")...)
			require.Equal(t, ExitOK, r.code, "%v: %s", p, r.stderr)
			options := r.stdout[strings.Index(r.stdout, "OPTIONS:"):]
			for _, f := range c.Flags {
				require.Contains(t, options, "--"+f.Names()[0], "%v lists its flag", p)
			}
			require.Contains(t, r.stdout, "   grantmirror "+strings.Join(p, " "), "%v shows an example of itself", p)
		}
	}
	walk(nil, app.Commands)
	require.Greater(t, visited, 25, "every command and subcommand")
}

// TestWhoRunsWithoutUSER: in a pod no shell sets USER; the run history and the
// audit log still name who ran the command.
func TestWhoRunsWithoutUSER(t *testing.T) {
	t.Setenv("USER", "")
	got := whoRuns()
	require.NotEmpty(t, got)
	u, err := user.Current()
	if err == nil && u.Username != "" {
		require.Equal(t, u.Username, got)
	}
	t.Setenv("USER", "dave")
	require.Equal(t, "dave", whoRuns())
}
