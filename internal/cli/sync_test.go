package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 3375191: "3,375,191", -1234: "-1,234", -123: "-123"} {
		require.Equal(t, want, thousands(n))
	}
}

// syncBuffer is a terminal stand-in the spinner's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgress drives the progress display through a run: a spinner per
// phase, a summary line per finished phase, log lines on lines of their own,
// and nothing left behind by a phase that fails.
func TestProgress(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	p := &progress{w: &out}
	p.Phase("extract", false)
	p.Rows("extract", 363813)
	p.Phase("extract", true)
	p.Phase("flatten", false)
	_, err := p.Write([]byte("level=INFO msg=flattened\n"))
	require.NoError(t, err)
	p.Rows("flatten", 3375191)
	p.Phase("flatten", true)
	p.Phase("publish", false)
	p.Close()
	p.Close()

	text := out.String()
	// Lines as a terminal shows them: what follows the last carriage return.
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, l[strings.LastIndex(l, "\r")+1:])
	}
	require.Regexp(t, regexp.MustCompile(`^extract  363,813 records in \d+(\.\d+)?(ns|µs|ms|s)$`), lines[0])
	require.Equal(t, "level=INFO msg=flattened", lines[1])
	require.Regexp(t, `^flatten  3,375,191 rows in `, lines[2])
	require.Equal(t, "", strings.TrimSpace(lines[3]), "the failed publish leaves a blank line to write on")
	require.Contains(t, text, "publish", "its spinner was drawn")
	require.Len(t, lines, 4)
	require.Nil(t, p.bar)
}

func TestNoProgressWithoutATerminal(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"auto", "text", "json"} {
		var stderr bytes.Buffer
		e := &env{stderr: &stderr, cfg: &Config{LogFormat: format, LogLevel: "info"}}
		require.Nil(t, e.newProgress(), format)
		var p *progress
		p.Phase("extract", false)
		p.Rows("extract", 1)
		p.Close()
		require.Empty(t, stderr.String())
	}
}

// copySample copies a bundled sample account into a temporary directory a test
// may damage.
func copySample(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repo, "testdata", "sample", name)
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644))
	}
	return dir
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// TestSyncRefusesAdditions: a sync that would add more rows to an account than
// --max-add-ratio allows exits 1 naming the account and the counts, publishes
// nothing, and goes through with a higher ratio from the flag or the
// environment.
func TestSyncRefusesAdditions(t *testing.T) {
	src := copySample(t, "tiny")
	target := t.TempDir()
	syncTiny := func(extra ...string) result {
		return run(t, append([]string{"sync", "--source", "dir:" + src, "--target", "dir:" + target, "--log-level", "error"}, extra...)...)
	}
	r := syncTiny()
	require.Equal(t, ExitOK, r.code, r.stderr)
	appendFile(t, filepath.Join(src, "users.csv"), "CARL,carl@tiny.example,false,\nDORA,dora@tiny.example,false,\n")
	appendFile(t, filepath.Join(src, "grants_to_users.csv"), "WRITER,USER,CARL,\nWRITER,USER,DORA,\n")

	r = syncTiny()
	require.Equal(t, ExitFindings, r.code, r.stdout)
	require.Contains(t, r.stderr, "account TINY would gain 14 rows on its 10 (140.0%, limit 50.0%)")
	r = syncTiny("--dry-run")
	require.Equal(t, ExitFindings, r.code)
	require.Contains(t, r.stdout, "the revocation guard would refuse it: account TINY would gain 14 rows")

	t.Setenv("GRANTMIRROR_MAX_ADD_RATIO", "1.2")
	r = syncTiny()
	require.Equal(t, ExitFindings, r.code, "1.2 is still below 1.4")
	require.Contains(t, r.stderr, "limit 120.0%")
	r = syncTiny("--max-add-ratio", "1.5")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "(+14 −0)")

	doc, _ := printConfig(t)
	require.Equal(t, 1.2, doc["max_add_ratio"])
	r = syncTiny("--max-add-ratio", "-1")
	require.Equal(t, ExitError, r.code)
	require.Contains(t, r.stderr, "max-add-ratio -1: want a number of 0 or more")
}
