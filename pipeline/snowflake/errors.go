package snowflake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/snowflakedb/gosnowflake"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Sentinel errors callers test with errors.Is. Driver errors are translated into
// them at this package's boundary; the *Error that carries them keeps Snowflake's
// code and query ID. The first five are kinds of pipeline's shared ones
// (model.ErrAuth, …), which a target's failures match too.
var (
	// ErrConfig marks a configuration that cannot work: a missing field, two
	// sources for one secret, a key file that cannot be read or parsed.
	ErrConfig = model.Kind(model.ErrConfig, "invalid snowflake configuration")
	// ErrAuth marks a login Snowflake refused: wrong key, password or token,
	// unknown user, locked user.
	ErrAuth = model.Kind(model.ErrAuth, "authentication failed")
	// ErrPermission marks a view the role may not read (002003, 003001) or a
	// role the user may not use.
	ErrPermission = model.Kind(model.ErrPermission, "permission denied")
	// ErrTimeout marks a query that ran past query_timeout, or a login that did
	// not answer in time. The error also matches context.DeadlineExceeded.
	ErrTimeout = model.Kind(model.ErrTimeout, "timed out")
	// ErrUnavailable marks a failure that persisted through the retries:
	// Snowflake answering 5xx, the network dropping, a result chunk failing.
	ErrUnavailable = model.Kind(model.ErrUnavailable, "temporarily unavailable")
	// ErrResult marks a result grantmirror cannot trust: fewer rows than
	// Snowflake announced, no columns, a format it does not know.
	ErrResult = errors.New("unexpected result")
	// ErrOutputExists is returned when the output directory holds files and
	// overwriting was not asked for.
	ErrOutputExists = errors.New("output directory is not empty")
	// ErrNoAccount is returned when every account failed and was allowed to.
	ErrNoAccount = errors.New("no account could be extracted")
)

// Error is a failure Snowflake or the driver reported, with its code.
// errors.Is(err, ErrPermission) tells its kind; Code tells which one it is.
type Error struct {
	Code     int    // Snowflake's error code, e.g. 2003 (printed 002003)
	SQLState string // e.g. "02000"
	QueryID  string // set when a query had started
	Message  string
	Kind     error // one of the sentinels above, or nil when unclassified
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "Snowflake error %06d", e.Code)
	if e.SQLState != "" {
		fmt.Fprintf(&b, " (SQL state %s)", e.SQLState)
	}
	if msg := strings.Join(strings.Fields(e.Message), " "); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.QueryID != "" {
		fmt.Fprintf(&b, " [query ID %s]", e.QueryID)
	}
	return b.String()
}

// Unwrap returns the kind, so errors.Is matches the sentinels.
func (e *Error) Unwrap() error { return e.Kind }

// Snowflake error codes grantmirror tells apart. Codes 39xxxx come from the
// login service, 26xxxx from the driver itself, the others from SQL.
const (
	codeObjectNotAuthorized    = 2003   // object does not exist or not authorized
	codeInsufficientPrivileges = 3001   // insufficient privileges to operate on …
	codeStatementTimeout       = 630    // STATEMENT_TIMEOUT_IN_SECONDS reached
	codeInvalidIdentifier      = 904    // a column the query names is not in the view
	codeRoleNotGranted         = 390189 // role in the connect string not granted
	codeSessionExpired         = 390112 // the driver renews; seen only if that fails
)

// kindOf classifies a Snowflake or driver error code.
func kindOf(se *gosnowflake.SnowflakeError) error {
	switch n := se.Number; {
	case n == codeObjectNotAuthorized, n == codeInsufficientPrivileges, n == codeRoleNotGranted:
		return ErrPermission
	case n == codeStatementTimeout:
		return ErrTimeout
	case n == codeSessionExpired, n == gosnowflake.ErrFailedToRenewSession:
		return ErrUnavailable
	case n >= 390000 && n < 391000:
		return ErrAuth
	case n == gosnowflake.ErrCodeFailedToConnect, n == gosnowflake.ErrFailedToAuth,
		n == gosnowflake.ErrCodePrivateKeyParseError:
		return ErrAuth
	case n == gosnowflake.ErrCodeEmptyAccountCode, n == gosnowflake.ErrCodeEmptyUsernameCode,
		n == gosnowflake.ErrCodeEmptyPasswordCode, n == gosnowflake.ErrCodeFailedToParseHost,
		n == gosnowflake.ErrCodeFailedToParsePort, n == gosnowflake.ErrCodeFailedToParseAuthenticator:
		return ErrConfig
	case n == gosnowflake.ErrCodeServiceUnavailable, n == gosnowflake.ErrFailedToGetChunk:
		return ErrUnavailable
	case n == gosnowflake.ErrFailedToPostQuery:
		// The driver retries 5xx itself; what reaches here is another status,
		// which is transient only when it says so.
		if len(se.MessageArgs) > 0 {
			if status, ok := se.MessageArgs[0].(int); ok && (status >= 500 || status == 429 || status == 408) {
				return ErrUnavailable
			}
		}
	}
	return nil
}

// translate turns a driver error into one of this package's: a *Error carrying
// a sentinel, or a sentinel wrapping the context's error. ctx is the context the
// failed call ran under; it tells a timeout from a cancellation.
func translate(ctx context.Context, err error) error {
	if err == nil || isOurs(err) {
		return err
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		cause := ctx.Err()
		if cause == nil {
			cause = err
		}
		if errors.Is(cause, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)
		}
		return context.Canceled
	}
	var se *gosnowflake.SnowflakeError
	if errors.As(err, &se) {
		msg := se.Message
		if len(se.MessageArgs) > 0 {
			msg = fmt.Sprintf(se.Message, se.MessageArgs...)
		}
		return &Error{Code: se.Number, SQLState: se.SQLState, QueryID: se.QueryID, Message: msg, Kind: kindOf(se)}
	}
	if transient(err) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

func isOurs(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return true
	}
	for _, s := range []error{ErrConfig, ErrAuth, ErrPermission, ErrTimeout, ErrUnavailable, ErrResult, ErrOutputExists, ErrNoAccount} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// transient reports network failures worth retrying: a dropped connection, a
// truncated body, or the driver giving up on 5xx answers ("timeout after … retries.
// HTTP Status: 503").
func transient(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	const status = "HTTP Status: "
	msg := err.Error()
	i := strings.Index(msg, status)
	if i < 0 {
		return false
	}
	digits := msg[i+len(status):]
	if len(digits) > 3 {
		digits = digits[:3]
	}
	code, _ := strconv.Atoi(digits)
	return code >= 500 || code == 429 || code == 408
}
