package localgrant

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
)

// Statuses of a request.
const (
	// RequestPending waits for one of its approvers; it grants nothing.
	RequestPending = "pending"
	// RequestApproved put its grant in force when it was approved.
	RequestApproved = "approved"
	// RequestDenied was closed by an approver, or withdrawn by its requester.
	RequestDenied = "denied"
	// RequestExpired waited longer than the policy's pending time and was closed.
	RequestExpired = "expired"
	// RequestBreakGlass was in force at once, in an emergency, and needs a review.
	RequestBreakGlass = "break_glass"
)

// Request is an access request as the database keeps it.
type Request struct {
	ID           int64         `json:"id"`
	Account      string        `json:"account"`
	Email        string        `json:"email"`
	ObjectType   string        `json:"object_type"`
	ObjectName   string        `json:"object_name"`
	Privilege    string        `json:"privilege"`
	Duration     time.Duration `json:"duration_seconds"`
	Reason       string        `json:"reason"`
	RequestedBy  string        `json:"requested_by"`
	RequestedVia string        `json:"requested_via"`
	Approvers    []string      `json:"approvers"`
	Status       string        `json:"status"`
	CreatedAt    time.Time     `json:"created_at"`
	DecidedAt    time.Time     `json:"decided_at,omitzero"`
	DecidedBy    string        `json:"decided_by,omitempty"`
	Decision     string        `json:"decision_reason,omitempty"`
	GrantID      int64         `json:"grant_id,omitempty"`
	ReviewedAt   time.Time     `json:"reviewed_at,omitzero"`
	ReviewedBy   string        `json:"reviewed_by,omitempty"`
	ReviewNote   string        `json:"review_note,omitempty"`
}

// NeedsReview says a break-glass grant waits for its review after the fact.
func (r Request) NeedsReview() bool { return r.Status == RequestBreakGlass && r.ReviewedAt.IsZero() }

// Ask is what a person asks for: a privilege on an object for someone, for a
// while, for a reason, from approvers. The person asking is never part of it:
// the database knows them from the session.
type Ask struct {
	// Account holds the object; empty means the only account of the current
	// generation.
	Account    string
	Email      string
	ObjectType string
	ObjectName string
	Privilege  string
	Duration   time.Duration
	Reason     string
	// Approvers are the designated approvers asked to decide; a break-glass
	// request names none.
	Approvers []string
}

// roleTypes are the object types a grant on which would hand out a role.
var roleTypes = []string{"ROLE", "DATABASE_ROLE", "APPLICATION_ROLE", "INSTANCE_ROLE"}

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Normalize spells the ask as the mirror does: emails trimmed and lower-cased,
// object types and privileges upper-cased, approvers sorted and unique. The
// object name must already be canonical (aliases are the caller's business);
// a name spelled otherwise is refused, naming the canonical spelling.
func (a *Ask) Normalize() error {
	a.Email = ident.NormalizeEmail(a.Email)
	a.ObjectType = ident.Word(a.ObjectType)
	a.Privilege = ident.Privilege(a.Privilege)
	a.Reason = strings.TrimSpace(a.Reason)
	a.Account = strings.TrimSpace(a.Account)
	approvers := make([]string, 0, len(a.Approvers))
	for _, e := range a.Approvers {
		approvers = append(approvers, ident.NormalizeEmail(e))
	}
	slices.Sort(approvers)
	a.Approvers = slices.Compact(approvers)
	name, err := ident.Canonical(a.ObjectName)
	switch {
	case err != nil:
		return refuse("object %q: %v", a.ObjectName, err)
	case name != a.ObjectName:
		return refuse("object %q: spell it canonically, as %s", a.ObjectName, name)
	case !ident.ValidEmail(a.Email):
		return refuse("%q is not a usable email", a.Email)
	}
	for _, e := range a.Approvers {
		if !ident.ValidEmail(e) {
			return refuse("the approver must be an email, not %q", e)
		}
	}
	return nil
}

// Check applies p to an ask made by requester (an email): the rules the
// database applies too, so that a refusal can be explained before anything is
// sent. breakGlass asks for an emergency grant: no approvers, the break-glass
// maximum instead of the usual one.
func (p Policy) Check(a Ask, requester string, breakGlass bool) error {
	max := p.MaxDuration
	if breakGlass {
		max = p.BreakGlassMax
	}
	switch {
	case a.Privilege == privilege.Ownership:
		return refuse("ownership is never granted locally")
	case slices.Contains(roleTypes, a.ObjectType):
		return refuse("roles are never granted locally")
	case !p.Allows(a.ObjectType, a.Privilege):
		return refuse("%s on %s is not allowed (policy allows: %s)", a.Privilege, a.ObjectType, p.allowed())
	case a.Reason == "":
		return refuse("give a reason")
	case a.Duration <= 0:
		return refuse("the duration must be positive")
	case breakGlass && max == 0:
		return refuse("break-glass is disabled by the policy")
	case a.Duration > max:
		return refuse("%s is longer than the policy allows (%s)", Span(a.Duration), Span(max))
	}
	designated := p.Designated(a.ObjectName)
	if breakGlass {
		if len(designated) == 0 {
			return refuse("nobody is designated to review access to %s; ask a policy admin", a.ObjectName)
		}
		return nil
	}
	if len(a.Approvers) == 0 {
		return refuse("name at least one approver (designated for %s: %s)", a.ObjectName, names(designated))
	}
	for _, e := range a.Approvers {
		if e == requester || e == a.Email {
			return refuse("%s cannot approve a request for their own access or that they make", e)
		}
		if !slices.Contains(designated, e) {
			return refuse("%s is not a designated approver for %s (designated: %s)", e, a.ObjectName, names(designated))
		}
	}
	return nil
}

func names(emails []string) string {
	if len(emails) == 0 {
		return "nobody; ask a policy admin"
	}
	return strings.Join(emails, ", ")
}

// CanApprove reports whether approver may approve r under p: r is pending, names
// approver, who is still designated for the object and is neither the requester
// nor the person who would receive the access.
func (p Policy) CanApprove(r Request, approver string) error {
	switch {
	case r.Status != RequestPending:
		return refuse("request #%d is %s, not pending", r.ID, r.Status)
	case approver == r.RequestedBy || approver == r.Email:
		return refuse("%s cannot approve request #%d: nobody approves their own request or their own access", approver, r.ID)
	case !slices.Contains(r.Approvers, approver):
		return refuse("%s is not an approver of request #%d (it names %s)", approver, r.ID, strings.Join(r.Approvers, ", "))
	case !slices.Contains(p.Designated(r.ObjectName), approver):
		return refuse("%s is no longer a designated approver for %s", approver, r.ObjectName)
	}
	return nil
}

// Span writes a duration as people say it: in days when it is two days or more,
// to the minute otherwise.
func Span(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day {
		if d%day == 0 {
			return fmt.Sprintf("%d days", d/day)
		}
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Minute).String()
}
