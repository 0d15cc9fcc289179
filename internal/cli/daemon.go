package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/metrics"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// defaultListen is where a daemon serves /metrics and /healthz unless told.
const defaultListen = ":9090"

// shutdownTimeout bounds how long a stopping daemon waits for scrapes in flight.
const shutdownTimeout = 5 * time.Second

// daemonOptions are the flags of sync in daemon mode. The schedule is not a
// config key on purpose: the config file is shared with the CronJob, where an
// interval would turn a job into a process that never ends.
type daemonOptions struct {
	// Every is the interval between the end of a run and the start of the
	// next; zero means one sync, not a daemon.
	Every time.Duration
	// Jitter is the most random delay added to each interval, so that several
	// daemons started together do not all query Snowflake at once.
	Jitter time.Duration
	// Listen is the address of /metrics and /healthz.
	Listen string
}

// Validate checks the options of a daemon.
func (o daemonOptions) Validate() error {
	if o.Every <= 0 {
		return usageErr("every %s: want a positive interval such as 1h", o.Every)
	}
	if o.Jitter < 0 || o.Jitter > o.Every {
		return usageErr("jitter %s: want from 0 to the interval (%s)", o.Jitter, o.Every)
	}
	if o.Listen == "" {
		return usageErr("listen: want an address such as :9090")
	}
	return nil
}

// daemonOptionsFrom reads the daemon flags of sync; Every is zero for a
// one-shot sync.
func daemonOptionsFrom(c *cli.Context) (daemonOptions, error) {
	if !c.IsSet("every") {
		for _, f := range []string{"jitter", "listen"} {
			if c.IsSet(f) {
				return daemonOptions{}, usageErr("--%s needs --every: it only applies to daemon mode", f)
			}
		}
		return daemonOptions{}, nil
	}
	o := daemonOptions{Every: c.Duration("every"), Jitter: c.Duration("every") / 10, Listen: defaultListen}
	if c.IsSet("jitter") {
		o.Jitter = c.Duration("jitter")
	}
	if c.IsSet("listen") {
		o.Listen = c.String("listen")
	}
	return o, o.Validate()
}

// clock is the daemon's time: real in production, driven by tests.
type clock interface {
	Now() time.Time
	// After delivers the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// daemon runs syncs on a schedule and serves their metrics and health.
type daemon struct {
	opts    daemonOptions
	sync    func(context.Context) (*pipeline.Result, error)
	metrics *metrics.Sync
	log     *slog.Logger
	clock   clock
	// jitter draws the random delay added to an interval, from 0 up to max.
	jitter func(max time.Duration) time.Duration
}

// newDaemon returns a daemon running sync, with the real clock and random jitter.
func newDaemon(o daemonOptions, sync func(context.Context) (*pipeline.Result, error), log *slog.Logger) *daemon {
	m := metrics.New(version())
	m.Registry().MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &daemon{opts: o, sync: sync, metrics: m, log: log, clock: realClock{},
		jitter: func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max + 1)
		}}
}

// runDaemon is sync --every: it returns nil once ctx is cancelled (SIGTERM,
// SIGINT), so a stopped daemon exits 0.
func (e *env) runDaemon(opts pipeline.Config, o daemonOptions, prog *progress) error {
	if e.cfg.Pushgateway != "" {
		e.log.Warn("pushgateway is ignored in daemon mode: Prometheus scrapes /metrics instead", "pushgateway", model.RedactDSN(e.cfg.Pushgateway))
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	var d *daemon
	run := func(ctx context.Context) (*pipeline.Result, error) {
		res, err := pipeline.Run(ctx, opts)
		prog.Close()
		e.afterSync(opts.Store, d.metrics)
		return res, err
	}
	d = newDaemon(o, run, e.log)
	e.log.Info("daemon started", "every", o.Every, "jitter", o.Jitter, "listen", ln.Addr().String(),
		"source", opts.Source.String(), "target", model.RedactDSN(e.cfg.Target), "dry_run", opts.DryRun)
	return d.serve(e.ctx, ln)
}

// serve serves /metrics and /healthz on ln and runs syncs until ctx is
// cancelled, then stops both and returns nil. It returns an error only when
// the HTTP server fails.
func (d *daemon) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second}
	// The loop stops when the server does, too: a daemon whose health nobody
	// can ask would be restarted by its supervisor anyway.
	loopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			stop(fmt.Errorf("serve %s: %w", ln.Addr(), err))
		}
		served <- err
	}()

	d.loop(loopCtx)

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		d.log.Warn("metrics server did not stop cleanly", "error", err)
	}
	<-served
	if ctx.Err() == nil {
		return context.Cause(loopCtx)
	}
	d.log.Info("daemon stopped", "reason", context.Cause(ctx))
	return nil
}

// loop runs a sync at once, then one each interval and jitter after the
// previous ended, until ctx is done.
func (d *daemon) loop(ctx context.Context) {
	for {
		d.once(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := d.opts.Every + d.jitter(d.opts.Jitter)
		d.log.Info("next sync scheduled", "in", wait.Round(time.Second), "at", d.clock.Now().Add(wait).UTC().Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return
		case <-d.clock.After(wait):
		}
	}
}

// once runs one sync and records it. A failure is logged and counted, never
// fatal: the next tick retries. A run cut short by shutdown is not a failure:
// it published nothing and is left out of the metrics.
func (d *daemon) once(ctx context.Context) {
	start := d.clock.Now()
	res, err := d.sync(ctx)
	end := d.clock.Now()
	if err != nil && ctx.Err() != nil {
		d.log.Info("sync interrupted by shutdown; nothing was published", "after", end.Sub(start).Round(time.Millisecond))
		return
	}
	d.metrics.Observe(metrics.Run{Result: res, Err: err, Start: start, End: end})
	took := end.Sub(start).Round(time.Millisecond)
	switch outcome := metrics.Outcome(res, err); outcome {
	case metrics.OutcomePublished:
		g := res.Generation
		d.log.Info("sync done", "outcome", outcome, "generation", g.Number, "rows", g.Rows, "added", g.Added, "removed", g.Removed, "took", took)
	case metrics.OutcomeUnchanged:
		d.log.Info("sync done; unchanged, nothing published", "outcome", outcome, "generation", res.Generation.Number, "rows", res.Generation.Rows, "took", took)
	case metrics.OutcomeDryRun:
		d.log.Info("sync done", "outcome", outcome, "rows", res.Mirror.Access.Len(), "added", res.Added, "removed", res.Removed, "took", took)
	case metrics.OutcomeRefused:
		d.log.Warn("sync refused; retrying at the next tick", "outcome", outcome, "error", err, "took", took)
	default:
		d.log.Error("sync failed; retrying at the next tick", "outcome", outcome, "kind", metrics.Classify(err), "error", err, "took", took)
	}
}

func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.HandleFunc("GET /healthz", d.health)
	return mux
}

// healthStatus is the body of /healthz.
type healthStatus struct {
	// Status is ok, starting (no run has succeeded yet) or stale (the last
	// success is older than twice the interval).
	Status      string    `json:"status"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastOutcome is how the most recent run ended; LastErrorKind says why it
	// failed. The error text stays in the logs: it may name hosts and users.
	LastOutcome   string  `json:"last_outcome,omitempty"`
	LastErrorKind string  `json:"last_error_kind,omitempty"`
	AgeSeconds    float64 `json:"age_seconds,omitempty"`
}

// health answers 200 while a run has succeeded within twice the interval, and
// 503 otherwise, with a short JSON body saying which.
func (d *daemon) health(w http.ResponseWriter, _ *http.Request) {
	last := d.metrics.LastSuccess()
	h := healthStatus{Status: "starting", LastSuccess: last}
	if r := d.metrics.LastRun(); !r.End.IsZero() {
		h.LastOutcome = metrics.Outcome(r.Result, r.Err)
		h.LastErrorKind = string(metrics.Classify(r.Err))
	}
	code := http.StatusServiceUnavailable
	if !last.IsZero() {
		age := d.clock.Now().Sub(last)
		h.AgeSeconds = age.Seconds()
		h.Status = "stale"
		if age <= 2*d.opts.Every {
			h.Status, code = "ok", http.StatusOK
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(h)
}
