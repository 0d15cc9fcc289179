package fakesnowflake

import (
	"errors"
	"fmt"
)

// ErrNoDir is returned by New when Options.Dir is empty or not a directory.
var ErrNoDir = errors.New("fakesnowflake: Options.Dir must name a snapshot directory")

// QueryError is a failed query as Snowflake reports it: HTTP 200 with
// success:false, the error code, the SQL state and the message.
type QueryError struct {
	Code     string // six digits, e.g. "002003"
	SQLState string // e.g. "02000"
	Message  string
}

// NotAuthorized is Snowflake's answer when the role cannot see a view, which it
// does not tell apart from a view that does not exist.
func NotAuthorized(view string) QueryError {
	return QueryError{
		Code:     "002003",
		SQLState: "02000",
		Message:  fmt.Sprintf("SQL compilation error:\nObject 'SNOWFLAKE.ACCOUNT_USAGE.%s' does not exist or not authorized.", view),
	}
}

// InsufficientPrivileges is Snowflake's answer when the role may see a view but
// not read it.
func InsufficientPrivileges(view string) QueryError {
	return QueryError{
		Code:     "003001",
		SQLState: "42501",
		Message:  fmt.Sprintf("SQL access control error:\nInsufficient privileges to operate on view '%s'", view),
	}
}

// Login failures, with the codes Snowflake uses.
var (
	errBadPassword = QueryError{Code: "390100", SQLState: "08004", Message: "Incorrect username or password was specified."}
	errBadJWT      = QueryError{Code: "390144", SQLState: "08004", Message: "JWT token is invalid."}
	errBadOAuth    = QueryError{Code: "390303", SQLState: "08004", Message: "Invalid OAuth access token."}
	errExpired     = QueryError{Code: "390112", Message: "Your session has expired. Please login again."}
	errNoSession   = QueryError{Code: "390111", Message: "Session no longer exists.  New login required to access the service."}
	errBadMaster   = QueryError{Code: "390114", Message: "Authentication token has expired.  The user must authenticate again."}
	errSyntax      = QueryError{Code: "001003", SQLState: "42000", Message: "SQL compilation error:\nsyntax error: the fake Snowflake only answers queries on SNOWFLAKE.ACCOUNT_USAGE views and SELECT 1"}
)
