package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/dirstore"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

// terminal is what a terminal is to the progress display: the bytes written
// to it, safe to read while the display draws.
type terminal struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (t *terminal) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out.Write(b)
}

func (t *terminal) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out.String()
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestProgressBar: a phase with a known total draws a bar with the count of
// the total, the rate and the time left; one without draws a spinner with the
// count and the rate; a log line is written on a line of its own, never after
// the bar; a finished phase is one summary line.
func TestProgressBar(t *testing.T) {
	t.Parallel()
	term := &terminal{}
	c := &testClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	p := &progress{w: term, now: c.now}

	p.Expect("publish", 40000)
	p.Phase("publish", false)
	c.advance(4 * time.Second)
	p.Add("publish", 12000)
	out := term.String()
	require.Contains(t, out, "publish  12,000/40,000 rows, 3,000 rows/s, ETA 9s")
	require.Contains(t, out, "30%", "the bar shows how far it is")

	// A log line clears the bar and ends its own line; the bar comes back after.
	before := len(term.String())
	_, err := p.Write([]byte("level=WARN msg=\"slow target\"\n"))
	require.NoError(t, err)
	written := term.String()[before:]
	i := strings.Index(written, "level=WARN")
	require.Positive(t, i, "the bar is cleared first")
	require.True(t, strings.HasSuffix(written[:i], "\r"), "the log line starts at the beginning of a cleared line: %q", written[:i])
	require.True(t, strings.HasSuffix(written, "\n"))
	c.advance(4 * time.Second)
	p.Add("publish", 12000)
	require.Contains(t, term.String()[before:], "24,000/40,000 rows, 3,000 rows/s, ETA 5s")
	// Counts reported faster than the bar redraws add up until it does.
	p.Add("publish", 1000)
	c.advance(time.Second)
	p.Add("publish", 1000)
	require.Contains(t, term.String(), "26,000/40,000 rows")
	// Counts of another phase are not this bar's.
	p.Add("extract", 5)
	require.NotContains(t, term.String(), "26,005")

	p.Rows("publish", 40000)
	c.advance(time.Second)
	p.Phase("publish", true)
	require.True(t, strings.HasSuffix(term.String(), "publish  40,000 rows in 10s\n"), "%q", term.String())

	// No total: a spinner with the count and its rate.
	p.Phase("extract", false)
	c.advance(2 * time.Second)
	p.Add("extract", 1500)
	require.Contains(t, term.String(), "extract  1,500 records, 750 records/s")
	require.NotRegexp(t, regexp.MustCompile(`1,500/`), term.String())
	p.Close()
	var nilProgress *progress
	nilProgress.Add("extract", 1) // a sync without a terminal draws nothing
}

// countingObserver records what Run tells a Counter.
type countingObserver struct {
	mu     sync.Mutex
	expect map[string]int
	added  map[string]int
}

func (o *countingObserver) Phase(string, bool) {}
func (o *countingObserver) Rows(string, int)   {}
func (o *countingObserver) Expect(phase string, n int) {
	o.mu.Lock()
	o.expect[phase] = n
	o.mu.Unlock()
}
func (o *countingObserver) Add(phase string, n int) {
	o.mu.Lock()
	o.added[phase] += n
	o.mu.Unlock()
}

// TestRunCounts: Run announces the records a directory's manifests list and
// the rows of the mirror before their phases, and the Postgres target reports
// every row of the mirror it goes through while publishing, a first
// publication and a publication of changes alike.
func TestRunCounts(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	pg, err := pgstore.Open(context.Background(), pgtest.URL(), pgstore.Options{Schema: pgtest.Schema(t, pool)})
	require.NoError(t, err)
	defer pg.Close()
	dir, err := dirstore.Open(t.TempDir())
	require.NoError(t, err)
	for _, store := range []model.Store{pg, dir} {
		for _, sample := range []string{"testdata/sample/tiny", "testdata/sample/acme"} {
			obs := &countingObserver{expect: map[string]int{}, added: map[string]int{}}
			src := pipeline.DirSource{Dir: filepath.Join(repo, sample)}
			res, err := pipeline.Run(context.Background(), pipeline.Config{Source: src, Store: store,
				Publish: model.PublishOptions{Force: true, Keep: 1}, Observer: obs})
			require.NoError(t, err)
			want, ok := src.Expected()
			require.True(t, ok, sample)
			require.Equal(t, want, obs.expect["extract"], sample)
			require.Equal(t, want, obs.added["extract"], "%s: every record read is counted as it is read", sample)
			require.Equal(t, res.Mirror.Access.Len(), obs.expect["publish"], sample)
			require.Equal(t, res.Mirror.Access.Len(), obs.added["publish"], "%s: every row written is counted", sample)
		}
	}
	// tiny's manifest.json lists 2 + 2 + 7 rows.
	n, ok := pipeline.DirSource{Dir: filepath.Join(repo, "testdata/sample/tiny")}.Expected()
	require.True(t, ok)
	require.Equal(t, 11, n)
	n, ok = pipeline.DirSource{Dir: t.TempDir()}.Expected()
	require.False(t, ok, "no manifest, no total: %d", n)
}
