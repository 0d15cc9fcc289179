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
	"github.com/grantmirror/grantmirror/pipeline/model"
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
		e.log.Warn("metrics not pushed", "pushgateway", model.RedactDSN(gw), "error", err)
		return
	}
	e.log.Debug("metrics pushed", "pushgateway", model.RedactDSN(gw))
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
			model.RedactDSN(e.cfg.Target), m.Access.Len())
	case res.InputUnchanged:
		fmt.Fprintf(w, "unchanged; generation %d stays current in %s: %d rows, nothing published (the snapshot, settings and grantmirror are those that built it, so nothing was read)\n",
			res.Generation.Number, model.RedactDSN(e.cfg.Target), res.Generation.Rows)
		return
	case res.Unchanged:
		fmt.Fprintf(w, "unchanged; generation %d stays current in %s: %d rows, nothing published\n",
			res.Generation.Number, model.RedactDSN(e.cfg.Target), m.Access.Len())
	case cfg.DryRun:
		fmt.Fprintf(w, "dry run: would publish %d rows (+%d −%d) from %s to %s; nothing was written\n",
			m.Access.Len(), res.Added, res.Removed, cfg.Source, model.RedactDSN(e.cfg.Target))
		if res.Refused {
			fmt.Fprintf(w, "the revocation guard would refuse it: %s\n", guardProblems(res.RefusedBecause))
		}
		n := 0
		for ch := range model.Diff(res.Current, m.Access) {
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
			g.Number, model.RedactDSN(e.cfg.Target), g.Rows, g.Added, g.Removed, m.Meta.Mode)
	}
	if n := len(m.Excluded); n > 0 {
		fmt.Fprintf(w, "%d Snowflake users left out (no valid email); run grantmirror lint to list them\n", n)
	}
}

// guardProblems is what the guard objected to, without the advice a refused
// sync prints: a dry run publishes nothing whatever --force says.
func guardProblems(err error) string {
	var g *model.GuardError
	if errors.As(err, &g) {
		return strings.Join(g.Problems, "; ")
	}
	return err.Error()
}

// progress draws each phase of a sync on a terminal: a bar of the records read
// or rows written against those expected, with their rate and the time left,
// when the phase's total is known (pipeline.Counter); a spinner with the count
// and its rate otherwise. Once a phase is done it prints a line with its rows
// and duration. Log lines go through its Write, which clears the bar first, so
// a log line and the bar never share a line. A nil *progress draws nothing.
type progress struct {
	w io.Writer
	// now is the clock of rates and durations; nil means time.Now.
	now func() time.Time
	mu  sync.Mutex
	bar *progressbar.ProgressBar
	// stop ends the goroutine that redraws bar at every tick.
	stop chan struct{}
	// expect holds the totals Expect announced for phases not started yet.
	expect map[string]int
	// phase, total (0: unknown), count and start describe the phase drawn.
	phase        string
	total, count int
	start        time.Time
	drawn        time.Time // when Add last redrew the bar
	rows         int       // the rows Rows reported for the phase about to be done
}

// progressTick is how often the bar or spinner is redrawn.
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

// clock is p's clock: now, or time.Now when it is nil.
func (p *progress) clock() time.Time {
	if p.now == nil {
		return time.Now()
	}
	return p.now()
}

// unit is what a phase counts.
func unit(phase string) string {
	if phase == "extract" {
		return "records"
	}
	return "rows"
}

// Expect records the total of a phase about to start.
func (p *progress) Expect(phase string, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.expect == nil {
		p.expect = map[string]int{}
	}
	p.expect[phase] = total
}

// Add counts n more records read or rows written by the phase drawn.
func (p *progress) Add(phase string, n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil || phase != p.phase {
		return
	}
	p.count += n
	// A store reports every thousand rows or so; the terminal needs a redraw
	// only every tick.
	if now := p.clock(); now.Sub(p.drawn) >= progressTick {
		p.drawn = now
		p.draw(false)
	}
}

// Phase starts the bar of a phase, or replaces it with the phase's summary.
func (p *progress) Phase(name string, done bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	if done {
		fmt.Fprintf(p.w, "%-8s %s %s in %s\n", name, thousands(p.rows), unit(name), p.clock().Sub(p.start).Round(time.Millisecond))
		return
	}
	p.phase, p.start, p.rows, p.count = name, p.clock(), 0, 0
	p.total = p.expect[name]
	delete(p.expect, name)
	size := -1 // a spinner
	if p.total > 0 {
		size = p.total
	}
	p.bar = progressbar.NewOptions(size,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.describe()),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetWidth(30),
		// describe says the rate and the time left, by p's clock.
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
		// The bar is redrawn on p's own ticks and counts, under p.mu, so
		// that Write can clear it without racing a redraw.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	_ = p.bar.RenderBlank()
	p.stop = make(chan struct{})
	go p.tick(p.bar, p.stop)
}

// describe is the text beside the bar: the phase, the count (of the total when
// known), its rate, and the time left.
func (p *progress) describe() string {
	what := unit(p.phase)
	text := fmt.Sprintf("%-8s %s %s", p.phase, thousands(p.count), what)
	if p.total > 0 {
		text = fmt.Sprintf("%-8s %s/%s %s", p.phase, thousands(p.count), thousands(p.total), what)
	}
	elapsed := p.clock().Sub(p.start)
	if p.count == 0 || elapsed <= 0 {
		return text
	}
	rate := float64(p.count) / elapsed.Seconds()
	text += fmt.Sprintf(", %s %s/s", thousands(int(rate)), what)
	if left := p.total - p.count; p.total > 0 && left > 0 {
		text += fmt.Sprintf(", ETA %s", time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second))
	}
	return text
}

// draw redraws the bar with the current count; turn advances a spinner. p.mu
// is held.
func (p *progress) draw(turn bool) {
	// Both redraw; the description goes last so that each redraw ends with
	// the text and the bar of the same count.
	switch {
	case p.total > 0:
		_ = p.bar.Set(min(p.count, p.total))
	case turn:
		_ = p.bar.Add(1)
	}
	p.bar.Describe(p.describe())
}

func (p *progress) tick(bar *progressbar.ProgressBar, stop chan struct{}) {
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.bar == bar {
				p.draw(true)
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

// Close removes the bar of a phase that failed or was interrupted.
func (p *progress) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

// clear removes the bar; p.mu is held.
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
