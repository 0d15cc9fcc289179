package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/metrics"
	"github.com/grantmirror/grantmirror/pipeline"
)

func syncCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "extract, flatten and publish the mirror, once or on a schedule",
		Description: `Reads the grant graph from --source, flattens it into email × object × privilege
rows with their role paths, and publishes them to --target as a new generation in one
atomic step. The guard weighs every account on its own: a generation that would drop an
account of the current one, remove more than --max-revoke-ratio of an account's rows or
add more than --max-add-ratio of them is refused (exit 1) unless --force. A truncated
extract must neither lock people out nor let them in. A sync whose mirror equals the
current generation (rows, provenance, excluded users and masked columns alike) publishes
nothing and says "unchanged"; it is recorded and counted as a success. --force publishes
it anyway.

With --pushgateway, the run's metrics (rows, durations, outcome, last success) are pushed
to a Prometheus Pushgateway when it ends; a failed push is logged, and the sync keeps
its exit code.

With --every, sync runs as a daemon: once at start, then again every interval plus a
random jitter, until SIGTERM or SIGINT. A failed or refused run is logged, counted and
retried at the next tick. The daemon serves /metrics and /healthz on --listen; /healthz
answers 200 while a run has succeeded within twice the interval, 503 otherwise. On
SIGTERM a run in progress is abandoned before it publishes, and the daemon exits 0.

Examples:
   grantmirror sync --source dir:testdata/sample/acme --target dir:./grantmirror-data
   grantmirror sync --config grantmirror.yaml --dry-run
   grantmirror sync --source snowflake --target postgres://grantmirror@db/app --pushgateway http://pushgateway:9091
   grantmirror sync --config grantmirror.yaml --every 1h --listen :9090`,
		Flags: append(configFlags(),
			&cli.BoolFlag{Name: "dry-run", Usage: "compute and print what would change; publish nothing"},
			&cli.DurationFlag{Name: "every", Usage: "run as a daemon, syncing at this interval (e.g. 1h)", DefaultText: "off: sync once"},
			&cli.DurationFlag{Name: "jitter", Usage: "with --every: add up to this much random delay to each interval", DefaultText: "10% of it"},
			&cli.StringFlag{Name: "listen", Usage: "with --every: address of /metrics and /healthz (default :9090)"},
		),
		Action: e.action(func(c *cli.Context) error {
			d, err := daemonOptionsFrom(c)
			if err != nil {
				return err
			}
			prog := e.newProgress()
			opts, err := e.runConfig(c.Bool("dry-run"), prog)
			if err != nil {
				return err
			}
			defer opts.Store.Close()
			if d.Every > 0 {
				return e.runDaemon(opts, d, prog)
			}
			return e.syncOnce(opts, prog)
		}),
	}
}

// configFlags are the flags that set config keys of a sync; the config
// command takes them too, to show what they change.
func configFlags() []cli.Flag {
	return targetFlags(
		&cli.StringFlag{Name: "source", Aliases: []string{"s"}, Usage: "dir:PATH (a snapshot) or snowflake (the accounts in the config)"},
		&cli.StringFlag{Name: "mode", Usage: "effective (USAGE on containers required) or granted (default effective)"},
		&cli.StringFlag{Name: "roles", Usage: "all (secondary roles ALL, Snowflake's default) or primary (default all)"},
		&cli.Float64Flag{Name: "max-revoke-ratio", Usage: "largest share of an account's current rows one sync may remove", DefaultText: "0.2"},
		&cli.Float64Flag{Name: "max-add-ratio", Usage: "most rows one sync may add to an account, as a share of its current rows", DefaultText: "0.5"},
		&cli.BoolFlag{Name: "force", Usage: "publish even when the guard would refuse, or the mirror is unchanged"},
		&cli.IntFlag{Name: "keep", Usage: "generations kept for rollback besides the current one", DefaultText: "3"},
		&cli.IntFlag{Name: "history-days", Usage: "days the Postgres access history keeps a removed row, for --at answers", DefaultText: "365"},
		&cli.StringFlag{Name: "pushgateway", Usage: "Prometheus Pushgateway URL to push the metrics of a one-shot sync to"},
	)
}

// syncOnce runs one sync, prints what it did and pushes its metrics.
func (e *env) syncOnce(opts pipeline.Config, prog *progress) error {
	m := metrics.New(version())
	start := time.Now()
	res, err := pipeline.Run(e.ctx, opts)
	prog.Close()
	m.Observe(metrics.Run{Result: res, Err: err, Start: start, End: time.Now()})
	e.afterSync(opts.Store, m)
	e.push(m)
	// The warnings go to standard error before any refusal, so that a person
	// reading why a sync failed also reads what was odd about its input.
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(e.stderr, "warning:", w)
		}
	}
	if err != nil {
		return err
	}
	e.printSync(res, opts)
	if res.Refused {
		return findings
	}
	return nil
}

// push sends the metrics of a one-shot sync to the configured Pushgateway. A
// failed push is a warning: the mirror is published or not whatever the
// monitoring does, and the exit code must say which.
func (e *env) push(m *metrics.Sync) {
	gw := e.cfg.Pushgateway
	if gw == "" {
		return
	}
	// The run's context may be cancelled by SIGTERM; the push of an
	// interrupted run is still worth its few seconds.
	if err := m.Push(context.WithoutCancel(e.ctx), gw); err != nil {
		e.log.Warn("metrics not pushed", "pushgateway", pipeline.RedactDSN(gw), "error", err)
		return
	}
	e.log.Debug("metrics pushed", "pushgateway", pipeline.RedactDSN(gw))
}

// runConfig builds the pipeline config of a sync from the loaded settings; prog,
// when not nil, draws its progress.
func (e *env) runConfig(dryRun bool, prog *progress) (pipeline.Config, error) {
	cfg := pipeline.Config{DryRun: dryRun, Logger: e.log}
	if prog != nil {
		cfg.Observer = prog
	}
	var err error
	if cfg.Flatten, err = e.cfg.flattenOptions(); err != nil {
		return cfg, err
	}
	if cfg.Publish, err = e.cfg.publishOptions(); err != nil {
		return cfg, err
	}
	if cfg.Source, err = e.openSource(); err != nil {
		return cfg, err
	}
	if cfg.Store, err = e.openStore(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func (e *env) openSource() (pipeline.Source, error) {
	s := e.cfg.Source
	switch {
	case s == "":
		return nil, usageErr("no source: pass --source dir:PATH or --source snowflake (or set source in the config)")
	case strings.HasPrefix(s, "dir:"):
		return pipeline.DirSource{Dir: strings.TrimPrefix(s, "dir:")}, nil
	case s == "snowflake":
		return openSnowflake(e)
	}
	return nil, usageErr("source %q: want dir:PATH or snowflake", s)
}

// maxChanges bounds the changes a dry run prints; the counts say the rest.
const maxChanges = 50

func (e *env) printSync(res *pipeline.Result, cfg pipeline.Config) {
	m := res.Mirror
	w := e.stdout
	switch {
	case cfg.DryRun && res.Unchanged:
		fmt.Fprintf(w, "dry run: unchanged; %s already holds this mirror (%d rows), so a sync would publish nothing\n",
			pipeline.RedactDSN(e.cfg.Target), m.Access.Len())
	case res.InputUnchanged:
		fmt.Fprintf(w, "unchanged; generation %d stays current in %s: %d rows, nothing published (the snapshot, settings and grantmirror are those that built it, so nothing was read)\n",
			res.Generation.Number, pipeline.RedactDSN(e.cfg.Target), res.Generation.Rows)
		return
	case res.Unchanged:
		fmt.Fprintf(w, "unchanged; generation %d stays current in %s: %d rows, nothing published\n",
			res.Generation.Number, pipeline.RedactDSN(e.cfg.Target), m.Access.Len())
	case cfg.DryRun:
		fmt.Fprintf(w, "dry run: would publish %d rows (+%d −%d) from %s to %s; nothing was written\n",
			m.Access.Len(), res.Added, res.Removed, cfg.Source, pipeline.RedactDSN(e.cfg.Target))
		if res.Refused {
			fmt.Fprintf(w, "the revocation guard would refuse it: %s\n", guardProblems(res.RefusedBecause))
		}
		n := 0
		for ch := range pipeline.Diff(res.Current, m.Access) {
			if n == maxChanges {
				fmt.Fprintf(w, "  … and %d more\n", res.Added+res.Removed-n)
				break
			}
			sign := "-"
			if ch.Added {
				sign = "+"
			}
			fmt.Fprintf(w, "  %s %s %s %s %s %s\n", sign, ch.Account, ch.Email, ch.ObjectType, ch.ObjectName, ch.Privilege)
			n++
		}
	default:
		g := res.Generation
		fmt.Fprintf(w, "published generation %d to %s: %d rows (+%d −%d), mode %s\n",
			g.Number, pipeline.RedactDSN(e.cfg.Target), g.Rows, g.Added, g.Removed, m.Meta.Mode)
	}
	if n := len(m.Excluded); n > 0 {
		fmt.Fprintf(w, "%d Snowflake users left out (no valid email); run grantmirror lint to list them\n", n)
	}
}

// guardProblems is what the guard objected to, without the advice a refused
// sync prints: a dry run publishes nothing whatever --force says.
func guardProblems(err error) string {
	var g *pipeline.GuardError
	if errors.As(err, &g) {
		return strings.Join(g.Problems, "; ")
	}
	return err.Error()
}

// progress draws a spinner for each phase of a sync on a terminal and, once a
// phase is done, a line with its rows and duration. Log lines go through its
// Write, which clears the spinner first, so a log line and a spinner never share
// a line. A nil *progress draws nothing.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	stop  chan struct{}
	rows  int
	start time.Time
}

// progressTick is how often a spinner turns.
const progressTick = 120 * time.Millisecond

// newProgress returns the progress display of a sync, or nil where there must be
// none: stderr is not a terminal, or logs are JSON. When it returns one, the
// logger writes through it.
func (e *env) newProgress() *progress {
	if e.cfg.LogFormat == "json" || !isTerminal(e.stderr) {
		return nil
	}
	p := &progress{w: e.stderr}
	// Logs on a terminal are text ("auto" would see p, not a terminal, and
	// pick JSON).
	if log, err := newLogger(p, e.cfg.LogLevel, "text"); err == nil {
		e.log = log
	}
	return p
}

// Phase starts a spinner for a phase, or replaces it with the phase's summary.
func (p *progress) Phase(name string, done bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	if done {
		what := "rows"
		if name == "extract" {
			what = "records"
		}
		fmt.Fprintf(p.w, "%-8s %s %s in %s\n", name, thousands(p.rows), what, time.Since(p.start).Round(time.Millisecond))
		return
	}
	p.start, p.rows = time.Now(), 0
	p.bar = progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(name),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
		// The spinner turns on p's own ticks, under p.mu, so that Write can
		// clear it without racing a redraw.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	_ = p.bar.RenderBlank()
	p.stop = make(chan struct{})
	go p.spin(p.bar, p.stop)
}

func (p *progress) spin(bar *progressbar.ProgressBar, stop chan struct{}) {
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.bar == bar {
				_ = bar.Add(1)
			}
			p.mu.Unlock()
		}
	}
}

// Rows keeps the rows of the phase about to be reported done.
func (p *progress) Rows(_ string, n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.rows = n
	p.mu.Unlock()
}

// Close removes the spinner of a phase that failed or was interrupted.
func (p *progress) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

// clear removes the spinner; p.mu is held.
func (p *progress) clear() {
	if p.bar == nil {
		return
	}
	close(p.stop)
	_ = p.bar.Finish()
	p.bar = nil
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Write writes a log line on a line of its own; the spinner comes back at its
// next tick.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	return p.w.Write(b)
}
