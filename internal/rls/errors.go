package rls

import "errors"

// Sentinel errors callers test with errors.Is; the wrapped message names the
// offending table, column or setting.
var (
	// ErrSpec marks settings Enable cannot use: a bad identifier, an unknown object
	// type or privilege, a missing or negative limit.
	ErrSpec = errors.New("invalid row-level security settings")
	// ErrNoMirror is returned when the mirror's schema has no access or current
	// view yet: run grantmirror migrate (or a sync) first.
	ErrNoMirror = errors.New("mirror schema not migrated")
	// ErrNotFound marks a table or column that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrColumnType marks an object or account column that is not text or varchar.
	ErrColumnType = errors.New("column type")
	// ErrNotGuarded is returned by Disable for a table without grantmirror's policy.
	ErrNotGuarded = errors.New("table has no grantmirror policy")
)
