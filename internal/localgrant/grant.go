package localgrant

import (
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Statuses of a local grant.
const (
	GrantActive  = "active"  // the access view counts it
	GrantExpired = "expired" // its until has passed
	GrantRevoked = "revoked" // someone ended it early
)

// Grant is access granted on top of the mirror, for a while, once a request for
// it was approved (or broke the glass): the access view includes its row from
// CreatedAt until Until, unless it is revoked earlier. Rows are never deleted.
type Grant struct {
	ID int64 `json:"id"`
	model.Row
	GrantedBy    string    `json:"granted_by"`
	Approver     string    `json:"approver"`
	Reason       string    `json:"reason"`
	CreatedAt    time.Time `json:"created_at"`
	Until        time.Time `json:"until"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokedBy    string    `json:"revoked_by,omitempty"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
	// ExpiredAt is when a sync recorded that the grant ran out; it stopped
	// counting at Until whether or not a sync ran.
	ExpiredAt time.Time `json:"expired_at,omitzero"`
	// InForce says the access view counted the grant when it was read.
	InForce bool `json:"in_force"`
}

// Status is GrantActive, GrantExpired or GrantRevoked. An expiry a sync recorded
// is final, even read by a clock that has not reached until.
func (g Grant) Status() string {
	switch {
	case !g.RevokedAt.IsZero():
		return GrantRevoked
	case g.InForce && g.ExpiredAt.IsZero():
		return GrantActive
	}
	return GrantExpired
}
