package pipeline

import (
	"context"
	"fmt"
	"time"
)

// Store is a target that keeps numbered generations of the mirror. A directory and
// a Postgres schema implement it; one conformance suite (storetest) runs against both.
type Store interface {
	// Publish writes m as a new generation and makes it current in one atomic step,
	// unless the revocation guard refuses. Readers see the old generation or the new
	// one, never a mix; a failure at any point leaves the old one current.
	Publish(ctx context.Context, m *Mirror, opts PublishOptions) (*Generation, error)
	// Current describes the published generation, or returns ErrNoGeneration.
	Current(ctx context.Context) (*Generation, error)
	// Generations lists the kept generations, newest first.
	Generations(ctx context.Context) ([]Generation, error)
	// Open reads a kept generation back; 0 means the current one.
	Open(ctx context.Context, n int) (*Mirror, error)
	// Rollback makes a kept generation current again; 0 means the one published
	// before the current one.
	Rollback(ctx context.Context, n int) (*Generation, error)
	// RecordRun appends a run to the history, whatever its outcome.
	RecordRun(ctx context.Context, r RunRecord) error
	// Runs returns the most recent runs, newest first.
	Runs(ctx context.Context, limit int) ([]RunRecord, error)
	Close() error
}

// PublishOptions tune a publish.
type PublishOptions struct {
	// MaxRevokeRatio is the largest share of the current rows a new generation may
	// remove; more is refused with ErrRevokeGuard unless Force.
	MaxRevokeRatio float64
	Force          bool
	// Keep is how many generations to keep besides the current one, for rollback.
	Keep int
}

// DefaultPublishOptions are the defaults of DESIGN.md.
func DefaultPublishOptions() PublishOptions {
	return PublishOptions{MaxRevokeRatio: 0.2, Keep: 3}
}

// Validate checks the options.
func (o PublishOptions) Validate() error {
	if o.MaxRevokeRatio < 0 || o.MaxRevokeRatio > 1 {
		return fmt.Errorf("max-revoke-ratio %v: want a number from 0 to 1", o.MaxRevokeRatio)
	}
	if o.Keep < 0 {
		return fmt.Errorf("keep %d: want 0 or more", o.Keep)
	}
	return nil
}

// Generation describes a published generation.
type Generation struct {
	Number      int       `json:"generation"`
	PublishedAt time.Time `json:"published_at"`
	SnapshotAt  time.Time `json:"snapshot_at"`
	Rows        int       `json:"rows"`
	Added       int       `json:"added"`
	Removed     int       `json:"removed"`
	Mode        Mode      `json:"mode"`
	Accounts    []string  `json:"accounts"`
	Current     bool      `json:"current"`
}

// Run outcomes recorded in the history.
const (
	RunPublished = "published"
	RunRefused   = "refused"
	RunFailed    = "failed"
	RunDryRun    = "dry-run"
)

// RunRecord is one sync in the history.
type RunRecord struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Status     string    `json:"status"`
	Source     string    `json:"source"`
	SnapshotAt time.Time `json:"snapshot_at,omitzero"`
	Generation int       `json:"generation,omitempty"`
	Rows       int       `json:"rows"`
	Added      int       `json:"added"`
	Removed    int       `json:"removed"`
	Error      string    `json:"error,omitempty"`
}

// CheckRevocation is the revocation guard every store applies under its publish
// lock: an extract that lost most of the account (a truncated file, a role that
// can no longer read ACCOUNT_USAGE) must not lock everybody out.
func CheckRevocation(current, removed, next int, opts PublishOptions) error {
	if opts.Force || current == 0 {
		return nil
	}
	if next == 0 {
		return fmt.Errorf("%w: the new generation is empty but the current one has %d rows (use --force if this is intended)", ErrRevokeGuard, current)
	}
	if ratio := float64(removed) / float64(current); ratio > opts.MaxRevokeRatio {
		return fmt.Errorf("%w: it would remove %d of %d rows (%.1f%%, limit %.1f%%); check the extract, or use --force if this is intended",
			ErrRevokeGuard, removed, current, 100*ratio, 100*opts.MaxRevokeRatio)
	}
	return nil
}
