package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/pgtest"
)

// A command shown in the README or in a --help example is a promise: these tests
// run every one of them against the bundled sample, so docs and tool cannot drift
// apart. A command may be denied or report findings (exit 1: the examples ask
// about people the sample may not have); it must never be a usage error or a
// failure (exit 2).

// example is one documented command line.
type example struct {
	where string // README.md:LINE, or the command whose --help shows it
	line  string
}

// notRunnable are documented commands that need what a test machine has not: a
// live Snowflake account, or a process that runs until it is stopped. Each entry
// is the exact line, so a new example is never skipped by accident.
var notRunnable = map[string]string{
	"grantmirror sync --source snowflake --target postgres://grantmirror@db/app --pushgateway http://pushgateway:9091": "needs a Snowflake account",
	"grantmirror sync --config grantmirror.yaml --every 1h --listen :9090":                                             "runs until stopped (daemon_test covers --every)",
	"grantmirror explain bob@example.com SALES.PUBLIC.ORDERS SELECT --at 2026-03-03T12:00:00Z":                         "asks about a moment before the sandbox's first generation; the --at tests cover it",
	"grantmirror check alice.martin@acme.example SALES.PUBLIC.ORDERS SELECT --at 24h":                                  "asks about a moment before the sandbox's first generation; the --at tests cover it",
	"grantmirror sample --users 50000 --roles 10000 --grants 1000000 --out /tmp/big":                                   "benchmark size; sample_test covers the command",
}

// readmeExamples returns the grantmirror command lines of README.md's shell
// blocks, continuation lines joined.
func readmeExamples(t *testing.T) []example {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "README.md"))
	require.NoError(t, err)
	defer f.Close()
	var out []example
	inSh, pending, start := false, "", 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(l, "```"):
			inSh = false
			continue
		}
		if !inSh {
			// Inline commands a reader is told to run: `bin/grantmirror …`.
			for _, m := range regexp.MustCompile("`(bin/grantmirror [^`]+)`").FindAllStringSubmatch(l, -1) {
				out = append(out, example{where: "README.md:" + strconv.Itoa(n), line: strings.TrimPrefix(m[1], "bin/")})
			}
			continue
		}
		l = strings.TrimSpace(l)
		if pending == "" && !strings.HasPrefix(l, "grantmirror ") {
			continue
		}
		if pending == "" {
			start = n
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			pending += cont
			continue
		}
		out = append(out, example{where: "README.md:" + strconv.Itoa(start), line: pending + l})
		pending = ""
	}
	require.NoError(t, sc.Err())
	return out
}

// helpExamples returns the command lines of every command's and subcommand's
// --help text.
func helpExamples() []example {
	var out []example
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			pending := ""
			for _, l := range strings.Split(c.Description, "\n") {
				l = strings.TrimSpace(l)
				if pending == "" && !strings.HasPrefix(l, "grantmirror ") {
					continue
				}
				if cont, ok := strings.CutSuffix(l, `\`); ok {
					pending += cont
					continue
				}
				out = append(out, example{where: c.FullName() + " --help", line: pending + l})
				pending = ""
			}
			walk(c.Subcommands)
		}
	}
	walk(newApp(nil, nil, nil).Commands)
	return out
}

// sandbox is where documented commands run: the sample synced into a target of
// its own, and the relative paths the docs use pointed inside it.
type sandbox struct {
	dir, target string
	// dsn and schema are a Postgres target holding the same sample, for the
	// examples that name a postgres:// target.
	dsn, schema string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	s := &sandbox{dir: t.TempDir()}
	s.target = filepath.Join(s.dir, "grantmirror-data")
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "out"), 0o755))
	acme := filepath.Join(repo, "testdata", "sample", "acme")
	cfg, err := os.ReadFile(filepath.Join(acme, "config.yaml"))
	require.NoError(t, err)
	// grantmirror.yaml, as the examples name it: the sample's own settings.
	require.NoError(t, os.WriteFile(filepath.Join(s.dir, "grantmirror.yaml"),
		append(cfg, []byte("\nsource: dir:"+acme+"\ntarget: dir:"+s.target+"\n")...), 0o600))
	s.dsn, s.schema = pgtest.URL(), pgtest.Schema(t, pgtest.Pool(t))
	r := run(t, "migrate", "--target", s.dsn, "--schema", s.schema)
	require.Equal(t, ExitOK, r.code, r.stderr)
	// The product tables the rls examples guard (app.events, app.usage) live in
	// the sandbox's schema.
	pool := pgtest.Pool(t)
	for _, ddl := range []string{
		`CREATE TABLE %s.events (id bigserial PRIMARY KEY, table_name text NOT NULL)`,
		`CREATE TABLE %s.usage (id bigserial PRIMARY KEY, account text, database_name text, schema_name text, table_name text)`,
	} {
		_, err := pool.Exec(t.Context(), fmt.Sprintf(ddl, pgx.Identifier{s.schema}.Sanitize()))
		require.NoError(t, err)
	}
	// Two generations on each target, for the examples of diff and rollback.
	for range 2 {
		for _, target := range [][]string{{}, {"--target", s.dsn, "--schema", s.schema}} {
			args := append([]string{"sync", "--config", filepath.Join(s.dir, "grantmirror.yaml"), "--force", "--log-level", "warn"}, target...)
			r := run(t, args...)
			require.Equal(t, ExitOK, r.code, r.stderr)
		}
	}
	return s
}

// args turns a documented line into arguments for Run: shell pipes and
// redirections are cut (Run's output is captured anyway), quotes are undone, and
// the docs' relative paths are pointed into the sandbox.
func (s *sandbox) args(t *testing.T, line string) []string {
	t.Helper()
	for _, cut := range []string{" | ", " && ", " > ", " # "} {
		if i := strings.Index(line, cut); i >= 0 {
			line = line[:i]
		}
	}
	words := shellWords(t, line)
	require.Equal(t, "grantmirror", words[0])
	out := words[1:]
	for i, w := range out {
		switch {
		case w == "dir:./grantmirror-data":
			out[i] = "dir:" + s.target
		case strings.HasPrefix(w, "grantmirror-data/"):
			out[i] = filepath.Join(s.target, strings.TrimPrefix(w, "grantmirror-data/"))
		case w == "dir:snapshot":
			out[i] = "dir:" + filepath.Join(repo, "testdata", "sample", "acme")
		case strings.HasPrefix(w, "app."):
			out[i] = s.schema + "." + strings.TrimPrefix(w, "app.")
		case w == "grantmirror.yaml":
			out[i] = filepath.Join(s.dir, "grantmirror.yaml")
		case strings.HasPrefix(w, "testdata/"), strings.HasPrefix(w, "dir:testdata/"):
			out[i] = strings.Replace(w, "testdata/", filepath.Join(repo, "testdata")+"/", 1)
		}
		// What a command writes goes to the sandbox, never into the repository.
		if i > 0 && (out[i-1] == "--out" || out[i-1] == "-o") {
			out[i] = filepath.Join(s.dir, "out", strings.ReplaceAll(w, "/", "_"))
		}
	}
	return out
}

// shellWords splits a command line as sh would for the quoting the docs use:
// single and double quotes, no expansions.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	require.Zero(t, quote, "unbalanced quotes in %q", line)
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestDocumentedCommandsRun runs every command of README.md and of every
// --help example against the bundled sample.
func TestDocumentedCommandsRun(t *testing.T) {
	s := newSandbox(t)
	// Commands that name no target use the sandbox's, as a config file would.
	t.Setenv(EnvPrefix+"_TARGET", "dir:"+s.target)
	examples := append(readmeExamples(t), helpExamples()...)
	require.Greater(t, len(examples), 20, "the docs show commands")
	for _, ex := range examples {
		if why, ok := notRunnable[ex.line]; ok {
			t.Logf("%s: not run (%s): %s", ex.where, why, ex.line)
			continue
		}
		args := s.args(t, ex.line)
		// Local grants live in Postgres only: their examples name no target
		// and mean the configured Postgres one.
		if strings.Contains(strings.Join(args, " "), "postgres://") || args[0] == "grant" {
			args = s.postgres(args)
		}
		if r := run(t, args...); r.code == ExitError {
			t.Errorf("%s: grantmirror %s: exit 2\nstdout: %s\nstderr: %s", ex.where, strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
}

// postgres points a postgres:// --target of an example (a server of the
// reader's) and its --schema at the sandbox's Postgres target.
func (s *sandbox) postgres(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch {
		case (args[i] == "--target" || args[i] == "-t") && i+1 < len(args) && strings.HasPrefix(args[i+1], "postgres://"):
			out = append(out, args[i], s.dsn)
			i++
		case args[i] == "--schema" && i+1 < len(args):
			i++
		default:
			out = append(out, args[i])
		}
	}
	if !slices.Contains(out, s.dsn) {
		out = append(out, "--target", s.dsn)
	}
	return append(out, "--schema", s.schema)
}
