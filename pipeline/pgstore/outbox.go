package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantmirror/grantmirror/internal/webhook"
)

// The store is the webhook's outbox: the request functions write a notification
// in the transaction of each change, and a deliverer claims, sends and settles
// them. Claiming and settling need write access to webhook_outbox, which the
// schema's owner has and people's own roles normally do not: their commands
// leave delivery to the next sync.

var _ webhook.Outbox = (*Store)(nil)

// Claim hands out up to limit undelivered notifications that no other deliverer
// holds, for lease.
func (s *Store) Claim(ctx context.Context, limit int, lease time.Duration) (_ []webhook.Event, err error) {
	defer s.boundary(&err)
	rows, err := s.pool.Query(ctx, s.stmt("outbox_claim", nil), limit, lease)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Event, error) {
		var e webhook.Event
		err := r.Scan(&e.ID, &e.Kind, &e.Text, &e.Attempts)
		return e, err
	})
}

// Delivered records that notification id reached the webhook.
func (s *Store) Delivered(ctx context.Context, id int64) (err error) {
	defer s.boundary(&err)
	_, err = s.pool.Exec(ctx, s.stmt("outbox_delivered", nil), id)
	return err
}

// Failed counts a failed attempt at notification id; with dead it moves to the
// dead letters in the same transaction.
func (s *Store) Failed(ctx context.Context, id int64, reason string, dead bool) (err error) {
	defer s.boundary(&err)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.stmt("outbox_failed", nil), id, reason); err != nil {
			return err
		}
		if dead {
			_, err := tx.Exec(ctx, s.stmt("outbox_dead", nil), id)
			return err
		}
		return nil
	})
}
