package report

import "errors"

// Sentinel errors, so the command line can tell bad flags from bad data.
var (
	// ErrOptions means the options ask for something the report cannot do, such as
	// an unknown view or format.
	ErrOptions = errors.New("report options")
	// ErrNoHistory means an unused-access report was asked of a snapshot that has no
	// access_history.csv, so nobody's usage is known.
	ErrNoHistory = errors.New("usage is unknown")
)
