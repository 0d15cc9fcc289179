package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/grantmirror/grantmirror/internal/localgrant"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Sentinel errors callers test with errors.Is. Driver errors are translated into
// them at the package boundary, so that the CLI can say what to fix. The
// connection errors are kinds of pipeline's shared ones (model.ErrAuth, …),
// which a source's failures match too.
var (
	// ErrSchemaTooNew is returned when the schema was migrated by a newer
	// grantmirror than this binary: writing to it could corrupt what the newer
	// version relies on.
	ErrSchemaTooNew = errors.New("schema was migrated by a newer grantmirror")
	// ErrUnreachable is returned when no connection to the server can be opened.
	ErrUnreachable = model.Kind(model.ErrUnavailable, "database unreachable")
	// ErrAuth is returned when the server rejects the user or its password.
	ErrAuth = model.Kind(model.ErrAuth, "database rejected the login")
	// ErrNoDatabase is returned when the database named in the DSN does not exist.
	ErrNoDatabase = model.Kind(model.ErrConfig, "database does not exist")
	// ErrPermission is returned when the database user lacks a privilege the
	// operation needs: typically a read-only user asked to publish, or a server
	// that is a read-only replica.
	ErrPermission = model.Kind(model.ErrPermission, "database user lacks a privilege on the schema")
	// ErrHistoryExpired is returned for a moment older than the access history
	// kept: retention deleted rows that were present then, or history began later.
	ErrHistoryExpired = errors.New("access history does not reach back that far")
	// ErrGrantRefused is returned when a request, approval, break-glass grant or
	// policy change breaks a rule of the policy the database enforces: outside
	// the allow-list or the maximum duration, no reason, an approver not
	// designated for the object, someone approving their own request, or a role
	// the identity map does not know.
	ErrGrantRefused = localgrant.ErrRefused
	// ErrUnknownGrant is returned for a request or local grant number the schema
	// does not have.
	ErrUnknownGrant = localgrant.ErrUnknown
	// ErrGrantEnded is returned when revoking a local grant that was already
	// revoked or has expired.
	ErrGrantEnded = localgrant.ErrEnded
	// ErrNotPolicyAdmin is returned when a role outside the policy's admins
	// changes the policy.
	ErrNotPolicyAdmin = localgrant.ErrNotAdmin
)

// Postgres error codes the boundary translates.
const (
	codeInvalidPassword      = "28P01"
	codeInvalidAuthorization = "28000"
	codeInvalidCatalog       = "3D000"
	codeInsufficientPriv     = "42501"
	codeReadOnlyTransaction  = "25006"
	codeUndefinedTable       = "42P01"
	codeInvalidSchema        = "3F000"
	codeLockNotAvailable     = "55P03"
	codeDeadlock             = "40P01"
	// Raised by the request functions of migration 00004.
	codeRefused  = "GM001"
	codeUnknown  = "GM002"
	codeEnded    = "GM003"
	codeNotAdmin = "GM004"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// translate maps a driver error to one of the sentinels, keeping the original in
// the chain, and scrubs password from the message.
func translate(err error, password string) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// The database's own refusals say what to fix in their message; the
		// SQLSTATE and the driver's wording add nothing for a person.
		if rule := map[string]error{codeRefused: ErrGrantRefused, codeUnknown: ErrUnknownGrant, codeEnded: ErrGrantEnded,
			codeNotAdmin: ErrNotPolicyAdmin}[pe.Code]; rule != nil {
			return scrub(&ruleError{msg: rule.Error() + ": " + pe.Message, rule: rule, err: err}, password)
		}
	}
	var sentinel error
	switch code := pgCode(err); {
	case code == codeInvalidPassword || code == codeInvalidAuthorization:
		sentinel = ErrAuth
	case code == codeInvalidCatalog:
		sentinel = ErrNoDatabase
	case code == codeInsufficientPriv || code == codeReadOnlyTransaction:
		sentinel = ErrPermission
	case code == "" && unreachable(err):
		sentinel = ErrUnreachable
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		err = fmt.Errorf("%w: %w", sentinel, err)
	}
	return scrub(err, password)
}

// unreachable reports whether err is a failure to open a connection at all, as
// opposed to one the server answered.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne)
}

// ruleError is a refusal of the database's rules: its message is the rule's,
// and errors.Is sees both the sentinel and the driver's error.
type ruleError struct {
	msg  string
	rule error
	err  error
}

func (e *ruleError) Error() string   { return e.msg }
func (e *ruleError) Unwrap() []error { return []error{e.rule, e.err} }

// scrubbed is an error whose message has a secret removed; errors.Is and
// errors.As still see the original chain.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

func scrub(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), password, model.Redacted), err: err}
}
