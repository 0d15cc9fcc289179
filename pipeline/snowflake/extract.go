package snowflake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/grantmirror/grantmirror/pipeline"
)

// Option tunes Extract.
type Option func(*options)

type options struct {
	log       *slog.Logger
	now       func() time.Time
	overwrite bool
	attempts  int
	backoff   time.Duration
	prefetch  int
}

func defaultOptions() options {
	return options{
		log:      slog.New(slog.DiscardHandler),
		now:      time.Now,
		attempts: 3,
		backoff:  2 * time.Second,
		prefetch: 4,
	}
}

// WithLogger sends progress and warnings (skipped views and accounts, retries)
// to l, and the driver's own log lines at debug level. Nothing secret is ever
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithClock sets the clock that stamps extracted_at.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithOverwrite lets Extract replace a non-empty output directory. The old
// content is swapped out only once the new snapshot is complete.
func WithOverwrite() Option { return func(o *options) { o.overwrite = true } }

// WithRetry sets how many times a login or a view is tried on transient errors
// (5xx answers the driver gave up on, dropped connections, failed result
// chunks), and the first back-off, which doubles with each retry. The default
// is 3 attempts from 2s.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(o *options) {
		o.attempts = max(attempts, 1)
		o.backoff = max(backoff, 0)
	}
}

// WithPrefetch sets how many Arrow result chunks are downloaded ahead of the
// one being written (default 4); memory holds at most that many chunks.
func WithPrefetch(n int) Option { return func(o *options) { o.prefetch = max(n, 1) } }

// Result is what Extract wrote.
type Result struct {
	// Dir is the snapshot directory, outDir as given to Extract.
	Dir string
	// Accounts extracted, in configuration order.
	Accounts []AccountResult
	// Skipped lists the accounts that failed and were allowed to (allow_partial).
	Skipped []SkippedAccount
}

// Rows is the number of rows written, over all accounts and views.
func (r Result) Rows() int64 {
	var n int64
	for _, a := range r.Accounts {
		for _, v := range a.Views {
			n += v.Rows
		}
	}
	return n
}

// AccountResult is one extracted account.
type AccountResult struct {
	Name        string    // name in the mirror
	Account     string    // Snowflake account identifier
	Dir         string    // where its files are: Result.Dir, or Result.Dir/Name with several accounts
	ExtractedAt time.Time // when its first query started
	Views       []ViewResult
}

// ViewResult is one view of one account.
type ViewResult struct {
	View string // e.g. GRANTS_TO_ROLES
	File string // e.g. grants_to_roles.csv
	Rows int64
	// Format is how Snowflake answered: "arrow", streamed batch by batch, or
	// "json", read row by row after the Arrow read found no Arrow data.
	Format   string
	Batches  int // Arrow record batches (result chunks) streamed; 0 for JSON
	Attempts int
	Duration time.Duration
	// Missing is set for an optional view the role could not read; its file is
	// absent from the snapshot and Reason says why.
	Missing bool
	Reason  string
	// Omitted lists the optional columns left out of the file because the
	// account's view lacks one of them (see the warning logged); the snapshot
	// then leaves them unknown.
	Omitted []string
}

// SkippedAccount is an account that failed and was allowed to.
type SkippedAccount struct {
	Name string
	Err  error
}

// manifestFile is manifest.json. The account, extracted_at and source fields
// and the rows and sha256 of each file are the snapshot format, which the
// snapshot reader verifies; the others document the extract for whoever reads
// the snapshot.
type manifestFile struct {
	Account     string            `json:"account"`
	ExtractedAt string            `json:"extracted_at"`
	Source      string            `json:"source"`
	Latency     string            `json:"latency"`
	HistoryDays int               `json:"history_days"`
	Rows        map[string]int64  `json:"rows"`
	SHA256      map[string]string `json:"sha256"`
	Missing     []string          `json:"missing,omitempty"`
	// OmittedColumns are, by file, the optional columns the account's views
	// lack, which the file therefore leaves out.
	OmittedColumns map[string][]string `json:"omitted_columns,omitempty"`
}

// latencyNote is recorded in every manifest: ACCOUNT_USAGE lags the account.
const latencyNote = "SNOWFLAKE.ACCOUNT_USAGE views lag the account by up to 120 minutes; grants changed within that window before extracted_at may be missing"

// Extract reads every configured account into a snapshot directory at outDir:
// the account's files directly in outDir when one account is configured, in
// outDir/<name>/ when several are. It writes into a temporary directory next to
// outDir and renames it into place at the end, so a failed or cancelled extract
// leaves nothing at outDir. outDir must be absent or empty unless WithOverwrite.
//
// An account that fails fails the extract, unless its name is in
// cfg.AllowPartial: then it is left out and listed in Result.Skipped. Within an
// account, an optional view the role cannot read is left out with a warning; a
// required one (users, grants_to_users, grants_to_roles) fails the account with
// an error naming the view and Snowflake's error code. An account whose USERS
// view lacks one of the optional columns (DEFAULT_SECONDARY_ROLE, EXPIRES_AT,
// LOCKED_UNTIL_TIME, SNOWFLAKE_LOCK) is read without all of them, with a warning
// naming them: its users then count as not expired and their sessions follow
// the configured roles mode.
func Extract(ctx context.Context, cfg Config, outDir string, opts ...Option) (Result, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	routeDriverLog(o.log)
	if outDir == "" {
		return Result{}, fmt.Errorf("%w: no output directory given", ErrConfig)
	}
	res := Result{Dir: outDir}
	outDir, err := filepath.Abs(outDir)
	if err != nil {
		return Result{}, err
	}
	if err := checkOutDir(outDir, o.overwrite); err != nil {
		return Result{}, err
	}
	parent := filepath.Dir(outDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Result{}, fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(outDir)+".extract-*")
	if err != nil {
		return Result{}, fmt.Errorf("create temporary snapshot directory: %w", err)
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Result{}, err
	}

	multi := len(cfg.Accounts) > 1
	for _, a := range cfg.Accounts {
		dir, final := tmp, res.Dir
		if multi {
			dir, final = filepath.Join(tmp, a.Name), filepath.Join(res.Dir, a.Name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				return Result{}, err
			}
		}
		ar, err := extractAccount(ctx, cfg, a, dir, o)
		if err != nil {
			if ctx.Err() == nil && cfg.allowsPartial(a.Name) {
				o.log.Warn("account skipped: it failed and allow_partial lists it", "account", a.Name, "error", err)
				res.Skipped = append(res.Skipped, SkippedAccount{Name: a.Name, Err: err})
				if rerr := os.RemoveAll(dir); rerr != nil {
					return Result{}, rerr
				}
				continue
			}
			return Result{}, fmt.Errorf("extract account %s: %w", a.Name, err)
		}
		ar.Dir = final
		res.Accounts = append(res.Accounts, ar)
	}
	if len(res.Accounts) == 0 {
		errs := make([]error, len(res.Skipped))
		for i, s := range res.Skipped {
			errs[i] = fmt.Errorf("%s: %w", s.Name, s.Err)
		}
		return Result{}, fmt.Errorf("%w: %w", ErrNoAccount, errors.Join(errs...))
	}
	if err := ctx.Err(); err != nil {
		return Result{}, translate(ctx, err)
	}
	if err := publish(tmp, outDir, o.overwrite); err != nil {
		return Result{}, err
	}
	published = true
	o.log.Info("snapshot written", "dir", res.Dir, "accounts", len(res.Accounts), "skipped", len(res.Skipped), "rows", res.Rows())
	return res, nil
}

// checkOutDir refuses a non-empty output directory unless overwriting.
func checkOutDir(dir string, overwrite bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("output directory %s: %w", dir, err)
	case len(entries) > 0 && !overwrite:
		return fmt.Errorf("%w: %s; choose an empty directory or overwrite it", ErrOutputExists, dir)
	}
	return nil
}

// publish moves the finished snapshot at tmp to dir. An existing dir is swapped
// out only after the new one is complete, and restored if the swap fails.
func publish(tmp, dir string, overwrite bool) error {
	if err := checkOutDir(dir, overwrite); err != nil {
		return err
	}
	_, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dir)
	}
	old := fmt.Sprintf("%s.old-%d", tmp, rand.Uint64())
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("move %s aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("publish snapshot: %w (and restoring the old one failed: %v; it is at %s)", err, rerr, old)
		}
		return fmt.Errorf("publish snapshot: %w", err)
	}
	return os.RemoveAll(old)
}

// writeManifest writes manifest.json, the last file of an account, with the
// rows and the SHA-256 of every file. The files are hashed as they lie on disk,
// synced, so the sums are of exactly what a reader will find.
func writeManifest(dir string, a Account, cfg Config, ar AccountResult) error {
	m := manifestFile{
		Account:     a.Name,
		ExtractedAt: ar.ExtractedAt.UTC().Format(time.RFC3339),
		Source:      "snowflake:" + a.Account,
		Latency:     latencyNote,
		HistoryDays: cfg.HistoryDays,
		Rows:        map[string]int64{},
		SHA256:      map[string]string{},
	}
	for _, v := range ar.Views {
		if v.Missing {
			m.Missing = append(m.Missing, v.File)
			continue
		}
		sum, err := pipeline.FileSHA256(filepath.Join(dir, v.File))
		if err != nil {
			return err
		}
		m.Rows[v.File], m.SHA256[v.File] = v.Rows, sum
		if len(v.Omitted) > 0 {
			if m.OmittedColumns == nil {
				m.OmittedColumns = map[string][]string{}
			}
			m.OmittedColumns[v.File] = v.Omitted
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(dir, "manifest.json"), append(b, '\n'))
}

func writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// retry runs fn until it succeeds, fails for good, or attempts run out.
// Only ErrUnavailable is retried; back-off doubles from o.backoff, with jitter
// so that several jobs do not retry in step.
func retry(ctx context.Context, o options, what string, fn func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(attempt)
		if err == nil || attempt >= o.attempts || !errors.Is(err, ErrUnavailable) {
			return err
		}
		if ctx.Err() != nil {
			return translate(ctx, ctx.Err())
		}
		wait := o.backoff << (attempt - 1)
		if wait > 0 {
			wait += time.Duration(rand.Int64N(int64(wait)/2 + 1))
		}
		o.log.Warn("transient failure, retrying", "what", what, "attempt", attempt, "of", o.attempts, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return translate(ctx, ctx.Err())
		case <-t.C:
		}
	}
}
