package query

import "errors"

// Sentinel errors callers test with errors.Is. Build errors are returned by ToSql and
// by every helper that runs a statement; the wrapped message names the offending part.
var (
	// ErrStale is returned by CheckFresh when the snapshot behind the current
	// generation is older than MaxStaleness, or nothing was ever published. Guarded statements do not return it: they decide
	// staleness inside their own SQL and admit no row.
	ErrStale = errors.New("grant mirror is stale")
	// ErrIdentifier marks a table, column or alias that is not a plain SQL identifier.
	ErrIdentifier = errors.New("invalid identifier")
	// ErrObjectType marks an object type that is neither a Snowflake GRANTED_ON word
	// grantmirror knows nor one added through Options.ObjectTypes.
	ErrObjectType = errors.New("unknown object type")
	// ErrPrivilege marks a privilege that is neither known nor added through
	// Options.Privileges.
	ErrPrivilege = errors.New("unknown privilege")
	// ErrViewer marks a viewer address that cannot identify a person.
	ErrViewer = errors.New("invalid viewer email")
	// ErrNoGuard is returned for an enforced statement without any guard: a read that
	// filters nothing is almost always a mistake, so it must be asked for with Unguarded.
	ErrNoGuard = errors.New("statement has no guard")
	// ErrPlaceholder marks a Where fragment whose placeholders do not match its arguments.
	ErrPlaceholder = errors.New("placeholder mismatch")
	// ErrFragment marks a Where fragment that could reach outside the parentheses the
	// builder puts around it: an unbalanced parenthesis, a comment, a semicolon, or a
	// string literal whose end depends on server settings.
	ErrFragment = errors.New("unsafe where fragment")
	// ErrNoHashKey is returned when a Hash mask is used without Options.HashKey.
	ErrNoHashKey = errors.New("hash mask needs a key")
	// ErrStatement marks a statement that cannot be built as given: no FROM, two FROMs,
	// no column, a negative LIMIT.
	ErrStatement = errors.New("invalid statement")
	// ErrOptions marks Options that New cannot use.
	ErrOptions = errors.New("invalid options")
)
