package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Actions of the audit log.
const (
	actionPublish     = "publish"
	actionRollback    = "rollback"
	actionGrantAdd    = "grant.add"
	actionGrantRevoke = "grant.revoke"
	actionGrantExpire = "grant.expire"
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
