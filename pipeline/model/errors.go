package model

import "errors"

// Sentinel errors callers test with errors.Is.
var (
	// ErrInput marks a snapshot that cannot be read as written: a missing file or
	// column, an unparsable value. The wrapped message names the file and line.
	ErrInput = errors.New("invalid snapshot")
	// ErrEmptyExtract marks a snapshot with no users: an extract that returned
	// nothing must never be published as "nobody can see anything".
	ErrEmptyExtract = errors.New("empty extract")
	// ErrNoGeneration is returned when a target has never been published to.
	ErrNoGeneration = errors.New("no generation published yet")
	// ErrUnknownGeneration is returned for a generation number the target does not keep.
	ErrUnknownGeneration = errors.New("unknown generation")
	// ErrRevokeGuard is returned when a new generation would change an account more
	// than the guard allows (CheckChanges): it would drop the account, or remove or
	// add too many of its rows. Nothing is published; the error is a *GuardError.
	ErrRevokeGuard = errors.New("revocation guard refused to publish")
	// ErrUnchanged is returned by a publish asked to skip a mirror equal to the
	// current generation (PublishOptions.SkipUnchanged); it is a success, and
	// the error is an *UnchangedError naming the generation that stays current.
	ErrUnchanged = errors.New("unchanged")
	// ErrLocked is returned when another sync holds the target's publish lock.
	ErrLocked = errors.New("another sync is publishing to this target")
	// ErrTarget marks a malformed --target or --source value.
	ErrTarget = errors.New("invalid target")
)

// The kinds of failure a source (Snowflake) and a target (Postgres) share, one
// taxonomy for both: each adapter's own errors are kinds of these (Kind), so a
// caller tells "the login was refused" or "the service is unreachable" apart
// without knowing which adapter failed, and the adapter's error still says
// which.
var (
	// ErrAuth marks credentials the service refused: a wrong password, key or
	// token, an unknown or locked user.
	ErrAuth = errors.New("login refused")
	// ErrPermission marks a login that may not read or write what it must.
	ErrPermission = errors.New("permission denied")
	// ErrUnavailable marks a service that could not be reached, or kept failing
	// through the retries.
	ErrUnavailable = errors.New("unavailable")
	// ErrTimeout marks an operation that ran out of time.
	ErrTimeout = errors.New("timed out")
	// ErrConfig marks a configuration that cannot work: a missing setting, a
	// secret that cannot be read, a database that does not exist.
	ErrConfig = errors.New("invalid configuration")
)

// Kind returns a sentinel error with its own message that errors.Is also
// matches to kind: an adapter's error that is a kind of a shared one.
func Kind(kind error, msg string) error { return &kindError{msg: msg, kind: kind} }

type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
