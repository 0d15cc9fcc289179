package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Actions of the audit log that the store writes itself. The request functions
// of migration 00004 write the others, in the transaction of the change:
// request.create, request.approve, request.deny, request.expire,
// request.break_glass, request.review, grant.revoke, grant.expire, grant.extend
// and policy.* (allow, limits, approver, sensitive, identity, admin).
const (
	actionPublish  = "publish"
	actionRollback = "rollback"
)

// audit appends an entry to the audit log with q, inside the transaction that
// makes the change, so the change and its record commit together. An empty actor
// records the database user.
func (s *Store) audit(ctx context.Context, q querier, at time.Time, actor, action, target, reason string, details any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	if _, err := q.Exec(ctx, s.stmt("record_audit", nil), at, actor, action, target, reason, json.RawMessage(b)); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}
