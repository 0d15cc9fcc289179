package metrics

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Outcomes of a run, the values of the outcome label of grantmirror_sync_runs_total.
const (
	OutcomePublished = model.RunPublished
	OutcomeUnchanged = model.RunUnchanged
	OutcomeDryRun    = model.RunDryRun
	OutcomeRefused   = model.RunRefused
	OutcomeFailed    = model.RunFailed
)

// Run is one sync as the metrics see it.
type Run struct {
	// Result is what pipeline.Run returned; it may be nil or partly filled when
	// Err is set.
	Result *pipeline.Result
	Err    error
	// Start and End bound the whole run, the failing phase included.
	Start, End time.Time
}

// Sync holds the metrics of the sync runs of one process, in a registry of its
// own: what a Pushgateway receives or /metrics serves is exactly grantmirror's
// series, and tests can run side by side.
type Sync struct {
	reg *prometheus.Registry

	runs          *prometheus.CounterVec
	errs          *prometheus.CounterVec
	refusals      prometheus.Counter
	duration      prometheus.Histogram
	phases        *prometheus.GaugeVec
	extracted     *prometheus.GaugeVec
	rows          prometheus.Gauge
	published     prometheus.Gauge
	added         prometheus.Gauge
	removed       prometheus.Gauge
	generation    prometheus.Gauge
	excluded      prometheus.Gauge
	lastSuccessTS prometheus.Gauge
	breakGlass    prometheus.Counter

	mu          sync.Mutex
	lastSuccess time.Time
	lastRun     Run
	// breakGlassSeen is the database's total the break-glass counter last rose to.
	breakGlassSeen int64
	// touched names the families the last run set; a push after a run that did
	// not publish sends only these, so the Pushgateway keeps the series of the
	// last publish (its rows, its time) instead of zeros.
	touched map[string]bool
}

// Metric names, for the tests and dashboards that look them up.
const (
	NameRuns        = "grantmirror_sync_runs_total"
	NameErrors      = "grantmirror_sync_errors_total"
	NameRefusals    = "grantmirror_sync_guard_refusals_total"
	NameDuration    = "grantmirror_sync_duration_seconds"
	NamePhase       = "grantmirror_sync_phase_duration_seconds"
	NameExtracted   = "grantmirror_sync_extracted_rows"
	NameRows        = "grantmirror_sync_rows"
	NamePublished   = "grantmirror_sync_published_rows"
	NameAdded       = "grantmirror_sync_rows_added"
	NameRemoved     = "grantmirror_sync_rows_removed"
	NameGeneration  = "grantmirror_sync_generation"
	NameExcluded    = "grantmirror_sync_excluded_users"
	NameLastSuccess = "grantmirror_sync_last_success_timestamp_seconds"
	NameBuildInfo   = "grantmirror_build_info"
	NameBreakGlass  = "grantmirror_break_glass_grants_total"
)

// Views counted by grantmirror_sync_extracted_rows, named after the snapshot files.
var views = []string{"users", "roles", "grants_to_users", "grants_to_roles", "tag_references", "policy_references", "access_history"}

// New returns the metrics of a process running grantmirror version.
func New(version string) *Sync {
	s := &Sync{reg: prometheus.NewRegistry()}
	s.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameRuns,
		Help: "Sync runs by outcome: published, unchanged (equal to the current generation, nothing published), dry-run, refused (by the revocation guard) or failed."}, []string{"outcome"})
	s.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameErrors,
		Help: "Sync runs that did not publish, by kind: input, target, locked, guard, snowflake or other."}, []string{"kind"})
	s.refusals = prometheus.NewCounter(prometheus.CounterOpts{Name: NameRefusals,
		Help: "Publishes the revocation guard refused because they would remove too many rows."})
	s.duration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: NameDuration,
		Help:    "Duration of whole sync runs, whatever their outcome.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600}})
	s.phases = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NamePhase,
		Help: "Duration of each phase (extract, flatten, publish, diff) of the last run that reached it."}, []string{"phase"})
	s.extracted = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameExtracted,
		Help: "Rows read from each ACCOUNT_USAGE view by the last run that read a snapshot, across accounts."}, []string{"view"})
	s.rows = prometheus.NewGauge(prometheus.GaugeOpts{Name: NameRows,
		Help: "Rows of the mirror computed by the last run that flattened one, published or not."})
	s.published = prometheus.NewGauge(prometheus.GaugeOpts{Name: NamePublished,
		Help: "Rows of the generation the last successful run published, or found unchanged."})
	s.added = prometheus.NewGauge(prometheus.GaugeOpts{Name: NameAdded,
		Help: "Rows the last published (or dry-run) generation added to the one before it."})
	s.removed = prometheus.NewGauge(prometheus.GaugeOpts{Name: NameRemoved,
		Help: "Rows the last published (or dry-run) generation removed from the one before it."})
	s.generation = prometheus.NewGauge(prometheus.GaugeOpts{Name: NameGeneration,
		Help: "Number of the generation the last successful run published, or found unchanged."})
	s.excluded = prometheus.NewGauge(prometheus.GaugeOpts{Name: NameExcluded,
		Help: "Snowflake users left out of the last mirror for want of a valid email (see grantmirror lint)."})
	s.lastSuccessTS = prometheus.NewGauge(prometheus.GaugeOpts{Name: NameLastSuccess,
		Help: "Unix time the last successful run (published, unchanged or dry run) finished; alert when it grows old."})
	s.breakGlass = prometheus.NewCounter(prometheus.CounterOpts{Name: NameBreakGlass,
		Help: "Break-glass (emergency) local grants the database has recorded; alert on any increase."})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameBuildInfo,
		Help: "Always 1; the version label says which grantmirror runs."}, []string{"version"})
	build.WithLabelValues(version).Set(1)

	s.reg.MustRegister(s.runs, s.errs, s.refusals, s.duration, s.phases, s.extracted, s.rows, s.published,
		s.added, s.removed, s.generation, s.excluded, s.lastSuccessTS, s.breakGlass, build)
	// Every label value exists from the start, so a counter that moves from
	// absent to 1 is not mistaken for no change by increase().
	for _, o := range []string{OutcomePublished, OutcomeUnchanged, OutcomeDryRun, OutcomeRefused, OutcomeFailed} {
		s.runs.WithLabelValues(o)
	}
	for _, k := range Kinds {
		s.errs.WithLabelValues(string(k))
	}
	return s
}

// Registry is where the metrics live; daemon mode adds the Go runtime and
// process collectors to it.
func (s *Sync) Registry() *prometheus.Registry { return s.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (s *Sync) Handler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
}

// LastSuccess is when the last successful run finished; zero before the first.
func (s *Sync) LastSuccess() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSuccess
}

// LastRun is the last run observed.
func (s *Sync) LastRun() Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRun
}

// Outcome tells how a run ended.
func Outcome(res *pipeline.Result, err error) string {
	switch {
	case errors.Is(err, model.ErrRevokeGuard):
		return OutcomeRefused
	case err != nil:
		return OutcomeFailed
	case res != nil && res.Generation == nil:
		return OutcomeDryRun
	case res != nil && res.Unchanged:
		return OutcomeUnchanged
	}
	return OutcomePublished
}

// Observe records one finished run.
func (s *Sync) Observe(r Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	touched := map[string]bool{NameRuns: true, NameDuration: true}
	res := r.Result
	if res == nil {
		res = &pipeline.Result{}
	}
	outcome := Outcome(r.Result, r.Err)
	s.runs.WithLabelValues(outcome).Inc()
	if r.Err != nil {
		s.errs.WithLabelValues(string(Classify(r.Err))).Inc()
		touched[NameErrors] = true
	}
	if outcome == OutcomeRefused {
		s.refusals.Inc()
		touched[NameRefusals] = true
	}
	if d := r.End.Sub(r.Start); d >= 0 {
		s.duration.Observe(d.Seconds())
	}
	if len(res.Phases) > 0 {
		// Phases of an earlier run that this one did not reach would mislead.
		s.phases.Reset()
		for _, p := range res.Phases {
			s.phases.WithLabelValues(p.Name).Set(p.Duration.Seconds())
		}
		touched[NamePhase] = true
	}
	if m := res.Mirror; m != nil {
		if m.Snapshot != nil {
			for i, n := range viewRows(m.Snapshot) {
				s.extracted.WithLabelValues(views[i]).Set(float64(n))
			}
			touched[NameExtracted] = true
		}
		s.rows.Set(float64(m.Access.Len()))
		s.excluded.Set(float64(len(m.Excluded)))
		touched[NameRows], touched[NameExcluded] = true, true
	} else if g := res.Generation; res.InputUnchanged && g != nil {
		// Nothing was read: the rows are those of the generation that stays.
		s.rows.Set(float64(g.Rows))
		touched[NameRows] = true
	}
	if r.Err == nil {
		s.added.Set(float64(res.Added))
		s.removed.Set(float64(res.Removed))
		s.lastSuccess = r.End
		s.lastSuccessTS.Set(float64(r.End.UnixNano()) / 1e9)
		touched[NameAdded], touched[NameRemoved], touched[NameLastSuccess] = true, true, true
	}
	if g := res.Generation; r.Err == nil && g != nil {
		s.published.Set(float64(g.Rows))
		s.generation.Set(float64(g.Number))
		touched[NamePublished], touched[NameGeneration] = true, true
	}
	s.lastRun, s.touched = r, touched
}

// ObserveBreakGlass follows the number of break-glass grants the database holds
// in all, which only grows: the counter rises by what is new since the last
// observation, so every process reports the same total whoever broke the glass.
// Call it after Observe, whose push it joins.
func (s *Sync) ObserveBreakGlass(total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if total > s.breakGlassSeen {
		s.breakGlass.Add(float64(total - s.breakGlassSeen))
		s.breakGlassSeen = total
	}
	if s.touched == nil {
		s.touched = map[string]bool{}
	}
	s.touched[NameBreakGlass] = true
}

// viewRows counts the rows of each view in views order, across accounts.
func viewRows(snap *model.Snapshot) []int {
	n := make([]int, len(views))
	for _, a := range snap.Accounts {
		for i, c := range []int{len(a.Users), len(a.Roles), len(a.UserGrants), len(a.RoleGrants), len(a.Tags), len(a.Policies), len(a.History)} {
			n[i] += c
		}
	}
	return n
}

// touchedGatherer gathers only the families the last run set.
func (s *Sync) touchedGatherer() prometheus.Gatherer {
	s.mu.Lock()
	touched := s.touched
	s.mu.Unlock()
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		all, err := s.reg.Gather()
		out := all[:0]
		for _, mf := range all {
			if touched[mf.GetName()] || mf.GetName() == NameBuildInfo {
				out = append(out, mf)
			}
		}
		return out, err
	})
}
