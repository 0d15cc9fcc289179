package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Source yields a snapshot: a directory replayed, or a live account extracted.
type Source interface {
	Load(ctx context.Context) (*model.Snapshot, error)
	// String names the source for logs and run history, without secrets.
	String() string
}

// DirSource reads a snapshot directory.
type DirSource struct{ Dir string }

// Load reads the directory.
func (d DirSource) Load(ctx context.Context) (*model.Snapshot, error) {
	return readSnapshot(d.Dir, func(n int) { model.Advance(ctx, n) })
}

func (d DirSource) String() string { return "dir:" + d.Dir }

// Config is everything one sync needs. The CLI, the daemon and the CronJob all build
// one and call Run.
type Config struct {
	Source  Source
	Store   model.Store
	Flatten Options
	Publish model.PublishOptions
	// DryRun computes the mirror and what would change, and publishes nothing.
	DryRun bool
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observer, when set, follows the run phase by phase, e.g. to draw progress
	// on a terminal.
	Observer Observer
}

// Observer follows a run as it goes. Run calls it from its own goroutine, in
// order: Phase(name, false) when a phase starts, then, if the phase succeeds,
// Rows(name, n) and Phase(name, true). A failing phase is never reported done,
// so an observer must stop whatever it draws when Run returns.
type Observer interface {
	// Phase reports that the phase extract, flatten, publish or diff (the
	// publish of a dry run) starts (done false) or has finished (done true).
	Phase(name string, done bool)
	// Rows reports what a finished phase handled: the records read by extract,
	// the rows of the mirror for flatten, the rows published for publish and the
	// rows that would be published for diff.
	Rows(phase string, n int)
}

// Counter is an Observer that also follows counts within a phase, to draw a
// progress bar. Run calls Expect(phase, total) before a phase starts when its
// total is known (the records the source expects for extract, the mirror's
// rows for publish), and Add(phase, n) for every Advance the source's Load or
// the store's Publish reports.
type Counter interface {
	Expect(phase string, total int)
	Add(phase string, n int)
}

// ExpectedSource is a Source that knows, before Load, how many records it
// will read; false when it does not.
type ExpectedSource interface {
	Expected() (int, bool)
}

// counted is ctx with Advance passed on to obs's Add for phase, when obs
// counts; expect is the phase's total, or negative when unknown.
func counted(ctx context.Context, obs Observer, phase string, expect int) context.Context {
	c, ok := obs.(Counter)
	if !ok {
		return ctx
	}
	if expect >= 0 {
		c.Expect(phase, expect)
	}
	return model.WithAdvance(ctx, func(n int) { c.Add(phase, n) })
}

// Expected sums the rows the manifest.json of each account lists for its
// files; false when an account has no manifest or its manifest no row counts.
func (d DirSource) Expected() (int, bool) {
	dirs, err := accountDirs(d.Dir)
	if err != nil || len(dirs) == 0 {
		return 0, false
	}
	total := int64(0)
	for _, dir := range dirs {
		man, err := readManifest(dir, &model.Account{})
		if err != nil || man == nil || man.Rows == nil {
			return 0, false
		}
		for _, n := range man.Rows {
			total += n
		}
	}
	return int(total), true
}

// nopObserver is the observer of a run that has none.
type nopObserver struct{}

func (nopObserver) Phase(string, bool) {}
func (nopObserver) Rows(string, int)   {}

// Phase is the duration of one step of a run.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Result is what a run did.
type Result struct {
	// Mirror is the flattened mirror; nil when the input was unchanged.
	Mirror *model.Mirror
	// Generation is the generation published, or on an unchanged run the one
	// that stays current; nil on a dry run.
	Generation *model.Generation
	// Unchanged says the mirror equals the current generation, so nothing was
	// (or, on a dry run, would be) published.
	Unchanged bool
	// InputUnchanged says the run ended before reading its input: the source's
	// fingerprint, the settings and grantmirror itself are those that built the
	// current generation (Meta.InputDigest).
	InputUnchanged bool
	Added          int
	Removed        int
	Refused        bool // the guard refused (a dry run reports it too)
	// RefusedBecause is, on a dry run the guard would refuse, the guard's error.
	RefusedBecause error
	// Changes are the per-account changes the guard weighed: on a dry run, and on
	// a run the guard refused.
	Changes []model.AccountChange
	// Current is, on a dry run, the published table the mirror was compared with
	// (empty when nothing is published), so callers can list the changes.
	Current *model.Access
	Phases  []Phase
	// Warnings are what the snapshot reader accepted but a person should know,
	// such as an account without manifest.json; Run logs them too.
	Warnings []string
}

// Run extracts, flattens and publishes once, and records the run in the target's
// history whatever happens. It never publishes part of a mirror: the store either
// makes the whole new generation current or leaves the old one.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := cfg.Now
	if clock == nil {
		clock = time.Now
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	res := &Result{}
	rec := model.RunRecord{StartedAt: clock().UTC(), Source: cfg.Source.String(), Status: model.RunFailed}
	begin := func(name string) time.Time {
		obs.Phase(name, false)
		return clock()
	}
	phase := func(name string, start time.Time, rows int) {
		d := clock().Sub(start)
		res.Phases = append(res.Phases, Phase{name, d})
		log.Debug("phase done", "phase", name, "duration", d)
		obs.Rows(name, rows)
		obs.Phase(name, true)
	}
	err := run(ctx, cfg, log, clock, res, &rec, begin, phase)
	rec.FinishedAt = clock().UTC()
	switch {
	case err == nil && cfg.DryRun:
		rec.Status = model.RunDryRun
	case err == nil && res.Unchanged:
		rec.Status = model.RunUnchanged
	case err == nil:
		rec.Status = model.RunPublished
	case errors.Is(err, model.ErrRevokeGuard):
		rec.Status, res.Refused = model.RunRefused, true
	}
	if err != nil {
		rec.Error = err.Error()
	}
	// A run that could not take the lock did not run: recording it would race the
	// history of the sync that holds it.
	if !errors.Is(err, model.ErrLocked) && cfg.Store != nil {
		if rerr := cfg.Store.RecordRun(context.WithoutCancel(ctx), rec); rerr != nil {
			log.Warn("record run", "error", rerr)
		}
	}
	return res, err
}

func run(ctx context.Context, cfg Config, log *slog.Logger, clock func() time.Time, res *Result, rec *model.RunRecord,
	begin func(string) time.Time, phase func(string, time.Time, int)) error {
	if cfg.Source == nil || cfg.Store == nil {
		return errors.New("run: a source and a target are required")
	}
	opts := cfg.Flatten
	if opts.Now.IsZero() {
		opts.Now = clock()
	}
	input, err := inputDigest(ctx, cfg, opts)
	if err != nil {
		return err
	}
	rec.InputDigest = input
	if cur, ok, err := unchangedInput(ctx, cfg.Store, input); err != nil {
		return err
	} else if ok {
		res.Generation, res.Unchanged, res.InputUnchanged = cur, true, true
		rec.Generation, rec.SnapshotAt, rec.Rows = cur.Number, cur.SnapshotAt, cur.Rows
		log.Info("input unchanged; nothing read or published", "generation", cur.Number, "rows", cur.Rows)
		return nil
	}

	expect := -1
	if es, ok := cfg.Source.(ExpectedSource); ok {
		if n, ok := es.Expected(); ok {
			expect = n
		}
	}
	loadCtx := counted(ctx, cfg.Observer, "extract", expect)
	start := begin("extract")
	snap, err := cfg.Source.Load(loadCtx)
	if err != nil {
		return fmt.Errorf("read %s: %w", cfg.Source, err)
	}
	phase("extract", start, records(snap))
	res.Warnings = snap.Warnings
	for _, w := range snap.Warnings {
		log.Warn(w)
	}

	start = begin("flatten")
	m, err := Flatten(snap, opts)
	if err != nil {
		return err
	}
	m.Meta.Digest = m.ContentDigest()
	res.Mirror = m
	rec.SnapshotAt, rec.Rows = m.Meta.SnapshotAt(), m.Access.Len()
	phase("flatten", start, m.Access.Len())
	log.Info("flattened", "accounts", len(snap.Accounts), "rows", m.Access.Len(), "people", countPeople(m), "excluded_users", len(m.Excluded))
	if err := ctx.Err(); err != nil {
		return err
	}

	if cfg.DryRun {
		start = begin("diff")
		old, err := cfg.Store.Open(ctx, 0)
		cur := &model.Access{}
		var accounts []string
		switch {
		case err == nil:
			cur = old.Access
			for _, a := range old.Meta.Accounts {
				accounts = append(accounts, a.Name)
			}
		case !errors.Is(err, model.ErrNoGeneration):
			return err
		}
		res.Current = cur
		res.Unchanged = old != nil && !cfg.Publish.Force && old.Meta.Digest != "" && old.Meta.Digest == m.Meta.Digest
		res.Changes = model.DiffAccounts(cur, accounts, m)
		for _, c := range res.Changes {
			res.Added, res.Removed = res.Added+c.Added, res.Removed+c.Removed
		}
		rec.Added, rec.Removed = res.Added, res.Removed
		if gerr := model.CheckChanges(res.Changes, cfg.Publish); gerr != nil {
			res.Refused, res.RefusedBecause = true, gerr
			log.Warn("a real run would be refused", "reason", gerr)
		}
		phase("diff", start, m.Access.Len())
		return nil
	}
	publishCtx := counted(ctx, cfg.Observer, "publish", m.Access.Len())
	start = begin("publish")
	// A run cancelled as it reaches the target must not publish, nor report
	// that it found nothing to publish.
	if err := ctx.Err(); err != nil {
		return err
	}
	popts := cfg.Publish
	popts.SkipUnchanged = !popts.Force
	g, err := cfg.Store.Publish(publishCtx, m, popts)
	var unchanged *model.UnchangedError
	if errors.As(err, &unchanged) {
		cur := unchanged.Current
		res.Generation, res.Unchanged = &cur, true
		rec.Generation = cur.Number
		phase("publish", start, 0)
		log.Info("unchanged; nothing published", "generation", cur.Number, "rows", m.Access.Len())
		return nil
	}
	var gerr *model.GuardError
	if errors.As(err, &gerr) {
		// A refused run is recorded with what it would have done, so the history
		// shows how large the refused change was.
		res.Changes, res.Added, res.Removed = gerr.Changes, gerr.Added(), gerr.Removed()
		rec.Added, rec.Removed = res.Added, res.Removed
	}
	if err != nil {
		return err
	}
	phase("publish", start, g.Rows)
	res.Generation, res.Added, res.Removed = g, g.Added, g.Removed
	rec.Generation, rec.Added, rec.Removed = g.Number, g.Added, g.Removed
	log.Info("published", "generation", g.Number, "rows", g.Rows, "added", g.Added, "removed", g.Removed)
	return nil
}

// inputDigest is the run's InputDigest when its source can fingerprint what it
// would load and the run may end at "unchanged" (neither a dry run, which
// lists what would change, nor --force); "" otherwise.
func inputDigest(ctx context.Context, cfg Config, opts Options) (string, error) {
	fp, ok := cfg.Source.(Fingerprinter)
	if !ok || cfg.DryRun || cfg.Publish.Force {
		return "", nil
	}
	f, err := fp.Fingerprint(ctx)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", cfg.Source, err)
	}
	return InputDigest(f, opts), nil
}

// unchangedInput reports whether input is the input digest of the newest run,
// which published or kept the generation still current: the run has nothing to
// read. A failed or refused run, a rollback, or a run that could not tell comes
// in between, and the input is read again.
func unchangedInput(ctx context.Context, s model.Store, input string) (*model.Generation, bool, error) {
	if input == "" {
		return nil, false, nil
	}
	runs, err := s.Runs(ctx, 1)
	if err != nil || len(runs) == 0 {
		return nil, false, err
	}
	last := runs[0]
	if last.InputDigest != input || last.Status != model.RunPublished && last.Status != model.RunUnchanged {
		return nil, false, nil
	}
	cur, err := s.Current(ctx)
	if errors.Is(err, model.ErrNoGeneration) {
		return nil, false, nil
	}
	if err != nil || cur.Number != last.Generation {
		return nil, false, err
	}
	return cur, true, nil
}

// records counts the rows of every view read into a snapshot, across accounts.
func records(s *model.Snapshot) int {
	n := 0
	for _, a := range s.Accounts {
		n += len(a.Users) + len(a.Roles) + len(a.UserGrants) + len(a.RoleGrants) + len(a.Tags) + len(a.Policies) + len(a.History)
	}
	return n
}

func countPeople(m *model.Mirror) int {
	n := 0
	for range m.Access.Emails() {
		n++
	}
	return n
}
