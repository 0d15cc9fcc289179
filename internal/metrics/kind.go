package metrics

import (
	"errors"

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
	"github.com/grantmirror/grantmirror/pipeline/snowflake"
)

// Kind is what went wrong in a failed run, coarse enough to alert on.
type Kind string

// The kinds of failed runs, the values of the kind label of
// grantmirror_sync_errors_total.
const (
	// KindInput is a snapshot that cannot be read, or an empty extract.
	KindInput Kind = "input"
	// KindTarget is a target that cannot be opened, read or written.
	KindTarget Kind = "target"
	// KindLocked is another sync holding the target's publish lock.
	KindLocked Kind = "locked"
	// KindGuard is a publish the revocation guard refused.
	KindGuard Kind = "guard"
	// KindSnowflake is Snowflake refusing the login or a query, timing out or
	// being unavailable.
	KindSnowflake Kind = "snowflake"
	// KindOther is everything else, an interrupted run included.
	KindOther Kind = "other"
)

// Kinds lists every kind, so that each series exists at zero before the first
// failure and rate() works from the first scrape.
var Kinds = []Kind{KindInput, KindTarget, KindLocked, KindGuard, KindSnowflake, KindOther}

var (
	snowflakeErrors = []error{
		snowflake.ErrConfig, snowflake.ErrAuth, snowflake.ErrPermission, snowflake.ErrTimeout,
		snowflake.ErrUnavailable, snowflake.ErrResult, snowflake.ErrNoAccount,
	}
	targetErrors = []error{
		model.ErrTarget, model.ErrNoGeneration, model.ErrUnknownGeneration,
		pgstore.ErrSchemaTooNew, pgstore.ErrUnreachable, pgstore.ErrAuth, pgstore.ErrNoDatabase, pgstore.ErrPermission,
	}
)

// Classify tells the kind of a run's error by the sentinel errors it wraps; nil
// is not a failure and has no kind.
func Classify(err error) Kind {
	var sfErr *snowflake.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, model.ErrRevokeGuard):
		return KindGuard
	case errors.Is(err, model.ErrLocked):
		return KindLocked
	case errors.Is(err, model.ErrInput), errors.Is(err, model.ErrEmptyExtract):
		return KindInput
	case errors.As(err, &sfErr), isAny(err, snowflakeErrors):
		return KindSnowflake
	case isAny(err, targetErrors):
		return KindTarget
	}
	return KindOther
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
