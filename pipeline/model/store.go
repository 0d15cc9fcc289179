package model

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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
	// MaxRevokeRatio is the largest share of an account's current rows a new
	// generation may remove; more is refused with ErrRevokeGuard unless Force.
	MaxRevokeRatio float64
	// MaxAddRatio is the largest number of rows a new generation may add to an
	// account, as a share of the account's current rows; more is refused with
	// ErrRevokeGuard unless Force. A truncated record or a cut file can grant as
	// well as revoke: an empty DISABLED column reads as active.
	MaxAddRatio float64
	Force       bool
	// Keep is how many generations to keep besides the current one, for rollback.
	Keep int
	// SkipUnchanged asks the store not to publish a mirror whose Meta.Digest
	// equals the current generation's: Publish then returns an *UnchangedError.
	// Run sets it unless Force, so a schedule does not fill the kept generations
	// with copies and age a real change out of diff and rollback.
	SkipUnchanged bool
}

// DefaultPublishOptions are the defaults of DESIGN.md.
func DefaultPublishOptions() PublishOptions {
	return PublishOptions{MaxRevokeRatio: 0.2, MaxAddRatio: 0.5, Keep: 3}
}

// Validate checks the options.
func (o PublishOptions) Validate() error {
	if o.MaxRevokeRatio < 0 || o.MaxRevokeRatio > 1 {
		return fmt.Errorf("max-revoke-ratio %v: want a number from 0 to 1", o.MaxRevokeRatio)
	}
	// Growth beyond the current size is plausible (a new team onboarded), so the
	// addition limit has no upper bound; NaN compares false both ways and is
	// caught by the negated test.
	if !(o.MaxAddRatio >= 0) {
		return fmt.Errorf("max-add-ratio %v: want a number of 0 or more", o.MaxAddRatio)
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
	// RunUnchanged is a run whose mirror equals the current generation: it
	// published nothing, and succeeded.
	RunUnchanged = "unchanged"
	RunRefused   = "refused"
	RunFailed    = "failed"
	RunDryRun    = "dry-run"
)

// UnchangedError is what Publish returns when opts.SkipUnchanged and the mirror
// equals the current generation, which stays current. It wraps ErrUnchanged.
type UnchangedError struct {
	Current Generation
}

func (e *UnchangedError) Error() string {
	return fmt.Sprintf("%v: generation %d stays current", ErrUnchanged, e.Current.Number)
}

func (e *UnchangedError) Unwrap() error { return ErrUnchanged }

// CheckUnchanged is what a store asks under its publish lock before it builds
// a generation: current is the current generation and digest its Meta.Digest.
// It returns an *UnchangedError when opts.SkipUnchanged, not opts.Force, and
// next's digest equals it. A generation published before digests were
// recorded has none, and never equals.
func CheckUnchanged(current Generation, digest string, next *Mirror, opts PublishOptions) error {
	if !opts.SkipUnchanged || opts.Force || digest == "" || next.Meta.Digest != digest {
		return nil
	}
	return &UnchangedError{Current: current}
}

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
	// InputDigest is the run's input digest (InputDigest), when its source could
	// tell: a later sync with the same one, while the generation this run left
	// current still is, has nothing to read.
	InputDigest string `json:"input_digest,omitempty"`
}

// AccountChange is what a new generation would do to one account: its rows in
// the current generation and in the new one, and the rows added and removed.
type AccountChange struct {
	Account string `json:"account"`
	Current int    `json:"current"`
	Next    int    `json:"next"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	// Vanished says the account is in the current generation but not in the new
	// snapshot at all: an extract that lost a whole account.
	Vanished bool `json:"vanished,omitempty"`
}

// AccountChanges pairs the accounts of the current generation (by name, from its
// Meta) with those of next. added and removed count, per account, the rows next
// adds and removes; the current rows of an account follow from them, as next's
// rows minus those added plus those removed. The result is sorted by account.
func AccountChanges(current []string, next *Mirror, added, removed map[string]int) []AccountChange {
	byName := map[string]*AccountChange{}
	get := func(name string) *AccountChange {
		c, ok := byName[name]
		if !ok {
			c = &AccountChange{Account: name}
			byName[name] = c
		}
		return c
	}
	inNext := map[string]bool{}
	for _, a := range next.Meta.Accounts {
		inNext[a.Name] = true
		get(a.Name)
	}
	if next.Access != nil {
		for _, p := range next.Access.parts {
			inNext[p.account] = true
			c := get(p.account)
			for _, l := range p.lists {
				c.Next += len(l)
			}
		}
	}
	for _, name := range current {
		c := get(name)
		c.Vanished = !inNext[name]
	}
	for name, n := range added {
		get(name).Added = n
	}
	for name, n := range removed {
		get(name).Removed = n
	}
	out := make([]AccountChange, 0, len(byName))
	for _, c := range byName {
		c.Current = c.Next - c.Added + c.Removed
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b AccountChange) int { return cmp.Compare(a.Account, b.Account) })
	return out
}

// DiffAccounts compares two access tables in memory, account by account, for the
// guard: current is the published table with its accounts, next the new mirror.
func DiffAccounts(current *Access, accounts []string, next *Mirror) []AccountChange {
	added, removed := map[string]int{}, map[string]int{}
	for c := range Diff(current, next.Access) {
		if c.Added {
			added[c.Account]++
		} else {
			removed[c.Account]++
		}
	}
	return AccountChanges(accounts, next, added, removed)
}

// GuardError is the refusal of the guard: every account that broke a rule, and
// the changes it weighed, so that the run history records what the refused
// generation would have done. It wraps ErrRevokeGuard.
type GuardError struct {
	Changes  []AccountChange
	Problems []string
}

// Added is how many rows the refused generation would have added, across accounts.
func (e *GuardError) Added() int {
	n := 0
	for _, c := range e.Changes {
		n += c.Added
	}
	return n
}

// Removed is how many rows the refused generation would have removed, across accounts.
func (e *GuardError) Removed() int {
	n := 0
	for _, c := range e.Changes {
		n += c.Removed
	}
	return n
}

func (e *GuardError) Error() string {
	return fmt.Sprintf("%v: %s; check the extract, or use --force if this is intended", ErrRevokeGuard, strings.Join(e.Problems, "; "))
}

func (e *GuardError) Unwrap() error { return ErrRevokeGuard }

// CheckChanges is the guard every store applies under its publish lock, account
// by account: an extract that lost an account, most of an account (a truncated
// file, a role that can no longer read ACCOUNT_USAGE) or gained implausibly many
// rows (a record cut short reads as an active user or a live grant) must neither
// lock people out nor let them in. The rules, each per account of the current
// generation:
//
//   - an account that is not in the new snapshot is refused;
//   - an account whose rows would all go is refused;
//   - removing more than MaxRevokeRatio of its current rows is refused;
//   - adding more than MaxAddRatio of its current rows is refused.
//
// An account new to the target, and a target with nothing published, pass: there
// is nothing to compare with. Force passes everything.
func CheckChanges(changes []AccountChange, opts PublishOptions) error {
	if opts.Force {
		return nil
	}
	total := 0
	for _, c := range changes {
		total += c.Current
	}
	if total == 0 {
		return nil
	}
	var problems []string
	for _, c := range changes {
		switch {
		case c.Vanished:
			problems = append(problems, fmt.Sprintf("account %s (%d rows) is missing from the new snapshot", c.Account, c.Current))
			continue
		case c.Current == 0:
			continue
		case c.Next == 0:
			problems = append(problems, fmt.Sprintf("account %s would lose all its %d rows", c.Account, c.Current))
			continue
		}
		if ratio := float64(c.Removed) / float64(c.Current); ratio > opts.MaxRevokeRatio {
			problems = append(problems, fmt.Sprintf("account %s would lose %d of its %d rows (%.1f%%, limit %.1f%%)",
				c.Account, c.Removed, c.Current, 100*ratio, 100*opts.MaxRevokeRatio))
		}
		if ratio := float64(c.Added) / float64(c.Current); ratio > opts.MaxAddRatio {
			problems = append(problems, fmt.Sprintf("account %s would gain %d rows on its %d (%.1f%%, limit %.1f%%)",
				c.Account, c.Added, c.Current, 100*ratio, 100*opts.MaxAddRatio))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &GuardError{Changes: changes, Problems: problems}
}
