package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/metrics"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/dirstore"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// fakeClock drives a daemon's schedule. Each wait the daemon starts is handed
// to the test, which decides when it ends: a daemon that waits has finished its
// run and recorded it, so the test knows when to look, without sleeping.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan fakeWait
}

type fakeWait struct {
	d    time.Duration
	fire chan time.Time
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{now: t0, waits: make(chan fakeWait, 8)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	w := fakeWait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

// elapse moves the clock past a wait and ends it.
func (c *fakeClock) elapse(w fakeWait) {
	c.mu.Lock()
	c.now = c.now.Add(w.d)
	now := c.now
	c.mu.Unlock()
	w.fire <- now
}

// lockedBuffer is a log destination the daemon's goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness is a daemon serving on a loopback port with a fake clock.
type harness struct {
	d     *daemon
	clock *fakeClock
	url   string
	logs  *lockedBuffer
	stop  func() error
}

const every = time.Hour

func setupDaemon(t *testing.T, run func(context.Context) (*pipeline.Result, error)) *harness {
	t.Helper()
	logs := &lockedBuffer{}
	d := newDaemon(daemonOptions{Every: every, Jitter: every / 10, Listen: "127.0.0.1:0"}, run,
		slog.New(slog.NewJSONHandler(logs, nil)))
	clk := newFakeClock()
	d.clock = clk
	d.jitter = func(max time.Duration) time.Duration { return max / 2 }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.serve(ctx, ln) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() { _ = stop() })
	return &harness{d: d, clock: clk, url: "http://" + ln.Addr().String(), logs: logs, stop: stop}
}

// store opens a directory target for a test.
func openStore(t *testing.T) (*dirstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := dirstore.Open(dir)
	require.NoError(t, err)
	return s, dir
}

// syncer runs the pipeline from the given sources in turn (the last one again
// once they run out) into store, with the guard off: the samples differ.
func syncer(store model.Store, sources ...pipeline.Source) func(context.Context) (*pipeline.Result, error) {
	var mu sync.Mutex
	n := 0
	return func(ctx context.Context) (*pipeline.Result, error) {
		mu.Lock()
		src := sources[min(n, len(sources)-1)]
		n++
		mu.Unlock()
		return pipeline.Run(ctx, pipeline.Config{Source: src, Store: store,
			Flatten: pipeline.Options{Mode: model.Effective, Roles: model.AllRoles},
			Publish: model.PublishOptions{MaxRevokeRatio: 0.2, Keep: 3, Force: true}})
	}
}

func sampleSource(name string) pipeline.Source {
	return pipeline.DirSource{Dir: filepath.Join(repo, "testdata/sample", name)}
}

// scrape reads /metrics over HTTP.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(prommodel.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return mfs
}

// metricValue is the value of the series of family name with the given labels.
func metricValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	require.True(t, ok, "no metric %s", name)
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("%s has no series %v", name, labels)
	return 0
}

// health asks /healthz.
func health(t *testing.T, url string) (int, healthStatus) {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var h healthStatus
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
	return resp.StatusCode, h
}

func TestDaemonSyncsOnScheduleAndServesMetrics(t *testing.T) {
	t.Parallel()
	store, _ := openStore(t)
	h := setupDaemon(t, syncer(store, sampleSource("tiny"), sampleSource("acme")))

	// The first run starts at once; the daemon then waits the interval plus
	// its jitter (half of 10% here).
	w := <-h.clock.waits
	require.Equal(t, every+every/20, w.d)
	cur, err := store.Current(context.Background())
	require.NoError(t, err)
	first := scrape(t, h.url)
	require.Equal(t, float64(cur.Rows), metricValue(t, first, metrics.NamePublished))
	require.Equal(t, 1.0, metricValue(t, first, metrics.NameGeneration))
	require.Equal(t, float64(t0.Unix()), metricValue(t, first, metrics.NameLastSuccess))
	require.Equal(t, 1.0, metricValue(t, first, metrics.NameRuns, "outcome", metrics.OutcomePublished))
	require.Positive(t, metricValue(t, first, metrics.NameExtracted, "view", "grants_to_roles"))
	require.Contains(t, first, "go_goroutines", "daemon mode exports the Go runtime")
	code, hs := health(t, h.url)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", hs.Status)

	h.clock.elapse(w)
	w = <-h.clock.waits
	cur, err = store.Current(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, cur.Number)
	second := scrape(t, h.url)
	require.Equal(t, float64(cur.Rows), metricValue(t, second, metrics.NamePublished))
	require.NotEqual(t, metricValue(t, first, metrics.NamePublished), metricValue(t, second, metrics.NamePublished), "acme is not tiny")
	require.Equal(t, 2.0, metricValue(t, second, metrics.NameGeneration))
	require.Equal(t, float64(t0.Add(every+every/20).Unix()), metricValue(t, second, metrics.NameLastSuccess))
	require.Equal(t, 2.0, metricValue(t, second, metrics.NameRuns, "outcome", metrics.OutcomePublished))
	require.Equal(t, 2.0, metricValue(t, second, metrics.NameDuration))

	require.NoError(t, h.stop())
	require.Contains(t, h.logs.String(), `"msg":"daemon stopped"`)
}

// blockingSource is a Source that blocks until its context is cancelled, as an
// extraction cut short by SIGTERM would.
type blockingSource struct{ started chan struct{} }

func (b blockingSource) Load(ctx context.Context) (*model.Snapshot, error) {
	close(b.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

func (blockingSource) String() string { return "blocking" }

func TestDaemonShutdownMidRunPublishesNothingAndExitsZero(t *testing.T) {
	t.Parallel()
	store, dir := openStore(t)
	_, err := syncer(store, sampleSource("tiny"))(context.Background())
	require.NoError(t, err)

	src := blockingSource{started: make(chan struct{})}
	h := setupDaemon(t, syncer(store, src))
	<-src.started
	code, hs := health(t, h.url)
	require.Equal(t, http.StatusServiceUnavailable, code, "no run of this daemon has succeeded yet")
	require.Equal(t, "starting", hs.Status)

	err = h.stop()
	require.NoError(t, err)
	var out bytes.Buffer
	require.Equal(t, ExitOK, exitCode(err, &out))
	require.Empty(t, out.String())

	gens, err := store.Generations(context.Background())
	require.NoError(t, err)
	require.Len(t, gens, 1, "the interrupted run published no generation")
	require.True(t, gens[0].Current)
	runs, err := store.Runs(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, model.RunFailed, runs[0].Status)
	require.Contains(t, runs[0].Error, context.Canceled.Error())
	require.NoFileExists(t, filepath.Join(dir, "gen-000002", "generation.json"))

	logs := h.logs.String()
	require.Contains(t, logs, "sync interrupted by shutdown")
	require.NotContains(t, logs, "sync failed", "an interrupted run is not a failure")
	require.True(t, h.d.metrics.LastRun().End.IsZero(), "and is not recorded in the metrics")
	require.Empty(t, h.clock.waits, "a stopping daemon schedules nothing")
}

// failingSource fails its first Load with an input error, then reads a sample.
type failingSource struct {
	mu    sync.Mutex
	calls int
	then  pipeline.Source
}

func (f *failingSource) Load(ctx context.Context) (*model.Snapshot, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == 1 {
		return nil, fmt.Errorf("users.csv:2: EMAIL column missing: %w", model.ErrInput)
	}
	return f.then.Load(ctx)
}

func (f *failingSource) String() string { return "flaky" }

func TestDaemonKeepsRunningAfterAFailedSync(t *testing.T) {
	t.Parallel()
	store, _ := openStore(t)
	h := setupDaemon(t, syncer(store, &failingSource{then: sampleSource("tiny")}))

	w := <-h.clock.waits
	mfs := scrape(t, h.url)
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameErrors, "kind", string(metrics.KindInput)))
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameRuns, "outcome", metrics.OutcomeFailed))
	require.Equal(t, 0.0, metricValue(t, mfs, metrics.NameLastSuccess))
	code, hs := health(t, h.url)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, healthStatus{Status: "starting", LastOutcome: metrics.OutcomeFailed, LastErrorKind: "input"}, hs)
	require.Contains(t, h.logs.String(), "sync failed; retrying at the next tick")

	h.clock.elapse(w)
	<-h.clock.waits
	mfs = scrape(t, h.url)
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameRuns, "outcome", metrics.OutcomePublished))
	require.Equal(t, float64(t0.Add(w.d).Unix()), metricValue(t, mfs, metrics.NameLastSuccess))
	code, hs = health(t, h.url)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, metrics.OutcomePublished, hs.LastOutcome)
	require.NoError(t, h.stop())
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	published := func(end time.Time) metrics.Run {
		return metrics.Run{Result: &pipeline.Result{Generation: &model.Generation{Number: 1}}, Start: end.Add(-time.Minute), End: end}
	}
	failed := func(end time.Time) metrics.Run {
		return metrics.Run{Result: &pipeline.Result{}, Err: fmt.Errorf("%w: x", model.ErrLocked), Start: end, End: end}
	}
	tests := []struct {
		name   string
		runs   []metrics.Run
		code   int
		status string
		kind   string
	}{
		{"no run yet", nil, http.StatusServiceUnavailable, "starting", ""},
		{"only failures", []metrics.Run{failed(t0)}, http.StatusServiceUnavailable, "starting", "locked"},
		{"fresh success", []metrics.Run{published(t0)}, http.StatusOK, "ok", ""},
		{"success two intervals ago", []metrics.Run{published(t0.Add(-2 * every))}, http.StatusOK, "ok", ""},
		{"success just over two intervals ago", []metrics.Run{published(t0.Add(-2*every - time.Second))}, http.StatusServiceUnavailable, "stale", ""},
		{"recent success, then a failure", []metrics.Run{published(t0.Add(-every)), failed(t0)}, http.StatusOK, "ok", "locked"},
		{"old success, then failures", []metrics.Run{published(t0.Add(-3 * every)), failed(t0.Add(-every)), failed(t0)}, http.StatusServiceUnavailable, "stale", "locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDaemon(daemonOptions{Every: every, Listen: "x"}, nil, slog.New(slog.DiscardHandler))
			d.clock = newFakeClock()
			for _, r := range tt.runs {
				d.metrics.Observe(r)
			}
			rec := httptest.NewRecorder()
			d.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			require.Equal(t, tt.code, rec.Code)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var h healthStatus
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &h))
			require.Equal(t, tt.status, h.Status)
			require.Equal(t, tt.kind, h.LastErrorKind)
			require.Less(t, rec.Body.Len(), 200, "a short body")
		})
	}
}

// signalWriter is stderr that cancels the command's context once a line
// containing a given text is written: the daemon wrote it after its first run.
type signalWriter struct {
	lockedBuffer
	text   string
	cancel context.CancelFunc
	once   sync.Once
}

func (s *signalWriter) Write(p []byte) (int, error) {
	n, err := s.lockedBuffer.Write(p)
	if strings.Contains(string(p), s.text) {
		s.once.Do(s.cancel)
	}
	return n, err
}

// TestSyncEveryCommand runs `grantmirror sync --every` as main does and stops
// it, like SIGTERM, once the first sync is done.
func TestSyncEveryCommand(t *testing.T) {
	t.Parallel()
	target := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &signalWriter{text: "next sync scheduled", cancel: cancel}
	var stdout bytes.Buffer
	code := Run(ctx, []string{"grantmirror", "sync", "--source", "dir:" + filepath.Join(repo, "testdata/sample/tiny"),
		"--target", "dir:" + target, "--every", "1h", "--listen", "127.0.0.1:0", "--log-format", "json"},
		strings.NewReader(""), &stdout, stderr)
	require.Equal(t, ExitOK, code, stderr.String())
	require.Empty(t, stdout.String(), "a daemon logs; it prints no summaries")
	logs := stderr.String()
	for _, msg := range []string{"daemon started", "sync done", "next sync scheduled", "daemon stopped"} {
		require.Contains(t, logs, `"msg":"`+msg+`"`)
	}
	require.Contains(t, logs, `"jitter":360,`, "10% of the interval by default, in seconds")
	store, err := dirstore.Open(target)
	require.NoError(t, err)
	gens, err := store.Generations(context.Background())
	require.NoError(t, err)
	require.Len(t, gens, 1, "one sync ran before the stop")
	require.True(t, gens[0].Current)
}

func TestSyncDaemonFlags(t *testing.T) {
	t.Parallel()
	src := "dir:" + filepath.Join(repo, "testdata/sample/tiny")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"jitter alone", []string{"--jitter", "1m"}, "--jitter needs --every"},
		{"listen alone", []string{"--listen", ":9191"}, "--listen needs --every"},
		{"zero interval", []string{"--every", "0s"}, "every 0s: want a positive interval"},
		{"negative interval", []string{"--every", "-1m"}, "every -1m0s"},
		{"jitter over the interval", []string{"--every", "1m", "--jitter", "2m"}, "jitter 2m0s: want from 0 to the interval"},
		{"unusable address", []string{"--every", "1m", "--listen", "256.0.0.1:1"}, "listen on 256.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, append([]string{"sync", "--source", src, "--target", "dir:" + t.TempDir()}, tt.args...)...)
			require.Equal(t, ExitError, r.code)
			require.Contains(t, r.stderr, tt.want)
		})
	}
}

// gatewayRecorder is a fake Pushgateway.
type gatewayRecorder struct {
	mu     sync.Mutex
	bodies []map[string]*dto.MetricFamily
	paths  []string
}

func setupGateway(t *testing.T) (*gatewayRecorder, *httptest.Server) {
	t.Helper()
	g := &gatewayRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mfs := map[string]*dto.MetricFamily{}
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if !errors.Is(err, io.EOF) {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				break
			}
			mfs[mf.GetName()] = &mf
		}
		g.mu.Lock()
		g.bodies = append(g.bodies, mfs)
		g.paths = append(g.paths, r.Method+" "+r.URL.Path)
		g.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return g, srv
}

func TestSyncPushesMetrics(t *testing.T) {
	t.Parallel()
	g, srv := setupGateway(t)
	target := t.TempDir()
	r := run(t, syncArgs(filepath.Join(repo, "testdata/sample/tiny"), target, "--pushgateway", srv.URL)...)
	require.Equal(t, ExitOK, r.code, r.stderr)

	g.mu.Lock()
	defer g.mu.Unlock()
	require.Equal(t, []string{"PUT /metrics/job/grantmirror"}, g.paths)
	store, err := dirstore.Open(target)
	require.NoError(t, err)
	cur, err := store.Current(context.Background())
	require.NoError(t, err)
	mfs := g.bodies[0]
	require.Equal(t, float64(cur.Rows), metricValue(t, mfs, metrics.NamePublished))
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameRuns, "outcome", metrics.OutcomePublished))
	require.InDelta(t, float64(time.Now().Unix()), metricValue(t, mfs, metrics.NameLastSuccess), 60)
	require.NotContains(t, mfs, "go_goroutines", "a pushed job sends its own series only")
}

func TestSyncPushFailureIsAWarning(t *testing.T) {
	t.Parallel()
	_, srv := setupGateway(t)
	srv.Close()
	r := run(t, syncArgs(filepath.Join(repo, "testdata/sample/tiny"), t.TempDir(), "--pushgateway", srv.URL)...)
	require.Equal(t, ExitOK, r.code, "the mirror was published: "+r.stderr)
	require.Contains(t, r.stdout, "published generation 1")
	require.Contains(t, r.stderr, `"level":"WARN","msg":"metrics not pushed"`)
}

// TestRefusedSyncPushesItsRefusal: the guard refuses (exit 1), and the push
// says so without overwriting the last publish's rows.
func TestRefusedSyncPushesItsRefusal(t *testing.T) {
	t.Parallel()
	g, srv := setupGateway(t)
	target := t.TempDir()
	r := run(t, syncArgs(filepath.Join(repo, "testdata/sample/acme"), target)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, syncArgs(filepath.Join(repo, "testdata/sample/tiny"), target, "--pushgateway", srv.URL)...)
	require.Equal(t, ExitFindings, r.code, r.stderr)

	g.mu.Lock()
	defer g.mu.Unlock()
	require.Equal(t, []string{"POST /metrics/job/grantmirror"}, g.paths)
	mfs := g.bodies[0]
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameRefusals))
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameErrors, "kind", string(metrics.KindGuard)))
	require.NotContains(t, mfs, metrics.NamePublished)
	require.NotContains(t, mfs, metrics.NameLastSuccess)
}

func TestSyncPushgatewayFromEnv(t *testing.T) {
	g, srv := setupGateway(t)
	t.Setenv("GRANTMIRROR_PUSHGATEWAY", srv.URL)
	r := run(t, syncArgs(filepath.Join(repo, "testdata/sample/tiny"), t.TempDir())...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	g.mu.Lock()
	defer g.mu.Unlock()
	require.Len(t, g.paths, 1)
}

// TestDaemonCountsUnchangedRunsAsSuccess: a scheduled sync that finds the
// current generation unchanged publishes nothing, is counted under its own
// outcome, and still moves the last success time, so /healthz stays ok.
func TestDaemonCountsUnchangedRunsAsSuccess(t *testing.T) {
	t.Parallel()
	store, _ := openStore(t)
	h := setupDaemon(t, func(ctx context.Context) (*pipeline.Result, error) {
		return pipeline.Run(ctx, pipeline.Config{Source: sampleSource("tiny"), Store: store,
			Flatten: pipeline.Options{Mode: model.Effective, Roles: model.AllRoles}, Publish: model.DefaultPublishOptions()})
	})
	w := <-h.clock.waits
	h.clock.elapse(w)
	<-h.clock.waits

	gens, err := store.Generations(context.Background())
	require.NoError(t, err)
	require.Len(t, gens, 1, "the second run published nothing")
	mfs := scrape(t, h.url)
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameRuns, "outcome", metrics.OutcomePublished))
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameRuns, "outcome", metrics.OutcomeUnchanged))
	require.Equal(t, float64(t0.Add(w.d).Unix()), metricValue(t, mfs, metrics.NameLastSuccess), "an unchanged run is a success")
	require.Equal(t, 1.0, metricValue(t, mfs, metrics.NameGeneration), "generation 1 stays current")
	code, hs := health(t, h.url)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", hs.Status)
	require.Equal(t, metrics.OutcomeUnchanged, hs.LastOutcome)
	require.NoError(t, h.stop())
	require.Contains(t, h.logs.String(), `"msg":"sync done; unchanged, nothing published"`)
}
