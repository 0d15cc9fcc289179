package cli

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/snaptest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// result is what one run of the command line printed.
type result struct {
	code           int
	stdout, stderr string
}

// run calls the command line exactly as main does, with buffers for streams.
func run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"grantmirror"}, args...), strings.NewReader(""), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// repo is the repository root, where testdata lives.
const repo = "../.."

// sampleDirs lists every bundled account with expected outputs.
func sampleDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, pattern := range []string{"testdata/sample/*/users.csv", "testdata/conformance/*/users.csv"} {
		m, err := filepath.Glob(filepath.Join(repo, pattern))
		require.NoError(t, err)
		for _, f := range m {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	require.GreaterOrEqual(t, len(dirs), 4)
	return dirs
}

// syncArgs are the arguments of a sync of dir into target, with the account's
// config when it has one.
func syncArgs(dir, target string, extra ...string) []string {
	args := []string{"sync", "--source", "dir:" + dir, "--target", "dir:" + target, "--log-format", "json"}
	if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err == nil {
		args = append(args, "--config", filepath.Join(dir, "config.yaml"))
	}
	return append(args, extra...)
}

// mirror syncs dir into a fresh target and returns the access report.
func mirror(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	target := t.TempDir()
	r := run(t, syncArgs(dir, target, extra...)...)
	require.Equal(t, 0, r.code, "sync: %s", r.stderr)
	r = run(t, "report", "--target", "dir:"+target, "--by", "access", "--format", "csv")
	require.Equal(t, 0, r.code, "report: %s", r.stderr)
	return r.stdout
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, dir := range sampleDirs(t) {
		for _, mode := range []string{"effective", "granted"} {
			t.Run(filepath.Base(dir)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				got := mirror(t, dir, "--mode", mode)
				golden := filepath.Join(dir, "expected-"+mode+".csv")
				if *update && !strings.Contains(dir, "conformance") {
					require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err)
				require.Equal(t, string(want), got)
				require.True(t, strings.HasPrefix(got, "account,email,object_type,object_name,privilege\n"))
			})
		}
	}
}

// TestOrderIndependence shuffles the rows of every file of every sample; the mirror
// must not change: an answer that depends on evaluation order is a bug.
func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	for _, dir := range sampleDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			want := mirror(t, dir)
			for seed := uint64(1); seed <= 3; seed++ {
				shuffled := shuffleSnapshot(t, dir, seed)
				require.Equal(t, want, mirror(t, shuffled), "seed %d", seed)
			}
		})
	}
}

// shuffleSnapshot copies a snapshot with the data rows of each CSV file shuffled.
func shuffleSnapshot(t *testing.T, dir string, seed uint64) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(seed, seed))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		if strings.HasSuffix(e.Name(), ".csv") && !strings.HasPrefix(e.Name(), "expected-") {
			// Records here have no embedded newlines, so lines are records.
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			body := lines[1:]
			r.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
			b = []byte(strings.Join(lines, "\n") + "\n")
		}
		require.NoError(t, os.WriteFile(filepath.Join(out, e.Name()), b, 0o644))
	}
	snaptest.Reseal(t, out)
	return out
}

// TestSyncTwiceIsIdempotent: a second sync of the same data publishes nothing,
// says the generation stays current and is recorded as unchanged; --force
// publishes an identical generation anyway.
func TestSyncTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(repo, "testdata/sample/acme")
	target := t.TempDir()
	r := run(t, syncArgs(dir, target)...)
	require.Equal(t, 0, r.code, r.stderr)
	first := run(t, "report", "--target", "dir:"+target).stdout
	r = run(t, syncArgs(dir, target)...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "unchanged; generation 1 stays current")
	require.NotContains(t, r.stdout, "published generation")
	require.Equal(t, first, run(t, "report", "--target", "dir:"+target).stdout)
	g := run(t, "generations", "--target", "dir:"+target)
	require.Equal(t, 0, g.code, g.stderr)
	require.Regexp(t, `(?m)^\S+ \S+\s+unchanged\s+1\s+8076\s+0\s+0`, g.stdout, "the run is recorded as unchanged, with the generation that stays current")
	require.NotRegexp(t, `(?m)^2\s`, g.stdout, "no second generation")

	r = run(t, syncArgs(dir, target, "--force")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "published generation 2")
	require.Contains(t, r.stdout, "(+0 −0)")
	require.Equal(t, first, run(t, "report", "--target", "dir:"+target).stdout)
	d := run(t, "diff", "--target", "dir:"+target)
	require.Equal(t, 0, d.code, "identical generations: diff exits 0")
	require.Contains(t, d.stdout, "0 added, 0 removed")
}

// TestDryRun lists what a sync would change, publishes nothing, and says when the
// revocation guard would refuse.
func TestDryRun(t *testing.T) {
	t.Parallel()
	tiny := filepath.Join(repo, "testdata/sample/tiny")
	target := t.TempDir()
	r := run(t, "sync", "--source", "dir:"+tiny, "--target", "dir:"+target, "--dry-run", "--log-level", "error")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "dry run: would publish 10 rows (+10 −0)")
	require.Contains(t, r.stdout, "  + TINY anna@tiny.example DATABASE SHOP USAGE\n")
	require.Equal(t, ExitError, run(t, "report", "--target", "dir:"+target).code, "nothing was published")

	r = run(t, syncArgs(filepath.Join(repo, "testdata/sample/acme"), target)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, "sync", "--source", "dir:"+tiny, "--target", "dir:"+target, "--dry-run", "--log-level", "error")
	require.Equal(t, ExitFindings, r.code, "a real run would be refused")
	require.Contains(t, r.stdout, "the revocation guard would refuse it")
	require.Contains(t, r.stdout, "  - ACME ")
	require.Regexp(t, `  … and \d+ more\n`, r.stdout)
}
