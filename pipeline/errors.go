package pipeline

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
	// ErrLocked is returned when another sync holds the target's publish lock.
	ErrLocked = errors.New("another sync is publishing to this target")
	// ErrTarget marks a malformed --target or --source value.
	ErrTarget = errors.New("invalid target")
)
