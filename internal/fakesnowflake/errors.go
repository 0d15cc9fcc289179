package fakesnowflake

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
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

// InvalidIdentifier is Snowflake's answer to a query naming a column the view
// does not have, at the line (from 1) and position (from 0, as Snowflake counts
// columns) where the query names it.
func InvalidIdentifier(column string, line, position int) QueryError {
	return QueryError{
		Code:     "000904",
		SQLState: "42000",
		Message:  fmt.Sprintf("SQL compilation error: error line %d at position %d\ninvalid identifier '%s'", line, position, column),
	}
}

// lineComment is a SQL comment to the end of its line, which Snowflake's
// compiler ignores.
var lineComment = regexp.MustCompile(`--[^\n]*`)

// withoutComments blanks the comments of sql, keeping every other character
// where it was.
func withoutComments(sql string) string {
	return lineComment.ReplaceAllStringFunc(sql, func(c string) string { return strings.Repeat(" ", len(c)) })
}

// nameAt is where code first names column as a whole word, or -1.
func nameAt(code, column string) int {
	loc := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(column) + `\b`).FindStringIndex(code)
	if loc == nil {
		return -1
	}
	return loc[0]
}

func names(code, column string) bool { return nameAt(code, column) >= 0 }

// invalidIdentifier is the error a query naming one of the missing columns gets:
// the first such name in the query, outside comments.
func invalidIdentifier(sql string, missing []string) (QueryError, bool) {
	if len(missing) == 0 {
		return QueryError{}, false
	}
	code := withoutComments(sql)
	first, at := "", -1
	for _, c := range missing {
		if i := nameAt(code, c); i >= 0 && (at < 0 || i < at) {
			first, at = c, i
		}
	}
	if at < 0 {
		return QueryError{}, false
	}
	before := code[:at]
	line := strings.Count(before, "\n") + 1
	return InvalidIdentifier(first, line, at-strings.LastIndex(before, "\n")-1), true
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
