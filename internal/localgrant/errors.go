package localgrant

import "errors"

// Sentinel errors callers test with errors.Is.
var (
	// ErrRefused is returned when a request, an approval or a policy change breaks
	// a rule: outside the allow-list or the maximum duration, no reason, an
	// approver who is not designated, or someone approving their own request.
	ErrRefused = errors.New("local grant refused")
	// ErrUnknown is returned for a request or grant number the schema does not have.
	ErrUnknown = errors.New("unknown request or local grant")
	// ErrEnded is returned when revoking a local grant that was already revoked or
	// has expired.
	ErrEnded = errors.New("local grant already ended")
	// ErrNotAdmin is returned when someone who is not a policy admin changes the
	// policy.
	ErrNotAdmin = errors.New("not a policy admin")
)
