package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Kinds of publications: how a generation became current.
const (
	kindPublish  = "publish"
	kindRollback = "rollback"
)

// clock is the store's clock at the precision Postgres keeps, so that a time
// written and read back compares equal.
func (s *Store) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// becomeCurrent records, inside the transaction that makes generation gen
// current in place of prev (0: none), that it does so at at: the history rows
// gen adds are opened and those it drops closed, and the publication is logged.
// compared says the publish already compared the two generations into the
// transaction's gm_changes table (stage_changes.sql); a rollback compares them
// here, into the table stage_create.sql made. at never goes back
// before the last publication, so history stays ordered when clocks disagree;
// the time used is returned.
func (s *Store) becomeCurrent(ctx context.Context, tx pgx.Tx, gen, prev int, at time.Time, kind string, compared bool) (time.Time, error) {
	at = at.UTC().Truncate(time.Microsecond)
	var last *time.Time
	if err := tx.QueryRow(ctx, s.stmt("last_publication", nil)).Scan(&last); err != nil {
		return at, fmt.Errorf("read the last publication: %w", err)
	}
	if last != nil && at.Before(*last) {
		s.log.Warn("publication time is before the last one; history uses the last one", "generation", gen, "at", at, "last", *last)
		at = last.UTC()
	}
	start := time.Now()
	v := vars{"gen": gen, "prev": prev}
	if prev == 0 {
		// The first generation's rows are its history already: one baseline row
		// instead of one per row (00008_history_baseline.sql).
		if _, err := tx.Exec(ctx, s.stmt("history_baseline", v), at); err != nil {
			return at, fmt.Errorf("record history of generation %d: %w", gen, err)
		}
	} else {
		if !compared {
			if _, _, err := s.compareIn(ctx, tx, prev, gen); err != nil {
				return at, fmt.Errorf("compare generation %d with %d: %w", gen, prev, err)
			}
		}
		if _, err := tx.Exec(ctx, s.stmt("history_settings", nil)); err != nil {
			return at, err
		}
		if _, err := tx.Exec(ctx, s.stmt("history_add", v), at); err != nil {
			return at, fmt.Errorf("record rows generation %d adds to %d: %w", gen, prev, err)
		}
		if _, err := tx.Exec(ctx, s.stmt("history_materialize", v), at); err != nil {
			return at, fmt.Errorf("record baseline rows generation %d removes from %d: %w", gen, prev, err)
		}
		if _, err := tx.Exec(ctx, s.stmt("history_remove", v), at); err != nil {
			return at, fmt.Errorf("record rows generation %d removes from %d: %w", gen, prev, err)
		}
	}
	if _, err := tx.Exec(ctx, s.stmt("record_publication", v), at, kind); err != nil {
		return at, fmt.Errorf("record publication of generation %d: %w", gen, err)
	}
	s.log.Debug("recorded history", "generation", gen, "previous", prev, "duration", time.Since(start))
	return at, nil
}

// retain deletes the history rows removed more than the retention ago. It runs
// after the publish committed, so a failure only delays it to the next publish.
func (s *Store) retain(ctx context.Context, conn *pgxpool.Conn) {
	cutoff := s.clock().AddDate(0, 0, -s.historyDays)
	var n int64
	if err := conn.QueryRow(ctx, s.stmt("history_retention", nil), cutoff).Scan(&n); err != nil {
		s.log.Warn("delete old access history; the next publish retries", "error", err)
		return
	}
	if n > 0 {
		s.log.Info("deleted old access history", "rows", n, "removed_before", cutoff)
	}
}

// moment is what the history says about one point in time.
type moment struct {
	generation int
	since      time.Time // when generation became current
	meta       model.Meta
	kept       bool // the generation's tables still exist
}

// momentAt finds the generation current at t, or explains why the history
// cannot tell.
func (s *Store) momentAt(ctx context.Context, q querier, t time.Time) (*moment, error) {
	var (
		gen      *int
		since    *time.Time
		metaJSON []byte
		kept     *bool
		first    time.Time
		horizon  *time.Time
	)
	err := q.QueryRow(ctx, s.stmt("publication_at", nil), t).Scan(&gen, &since, &metaJSON, &kept, &first, &horizon)
	if errNoRows(err) || notMigrated(err) {
		return nil, fmt.Errorf("%w in schema %s", model.ErrNoGeneration, s.schema)
	}
	if err != nil {
		return nil, fmt.Errorf("find the generation current at %s: %w", stampUTC(t), err)
	}
	if horizon != nil && t.Before(*horizon) {
		return nil, fmt.Errorf("%w: %s is before %s, the oldest moment schema %s can answer for (history kept %d days after a row is removed)",
			ErrHistoryExpired, stampUTC(t), stampUTC(*horizon), s.schema, s.historyDays)
	}
	if gen == nil {
		return nil, fmt.Errorf("%w at %s: the first publication in schema %s was at %s", model.ErrNoGeneration, stampUTC(t), s.schema, stampUTC(first))
	}
	m := &moment{generation: *gen, since: since.UTC(), kept: kept != nil && *kept}
	if err := json.Unmarshal(metaJSON, &m.meta); err != nil {
		return nil, fmt.Errorf("metadata of generation %d: %w", *gen, err)
	}
	m.meta.Generation = *gen
	return m, nil
}

// AccessAt returns the published rows as they stood at t, from the access
// history: every row present at t, whether or not its generation is still kept.
// Local grants are not part of it. A moment before the first publish returns
// model.ErrNoGeneration; one older than the history kept, ErrHistoryExpired.
func (s *Store) AccessAt(ctx context.Context, t time.Time) (_ *model.Access, err error) {
	defer s.boundary(&err)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := s.momentAt(ctx, tx, t); err != nil {
		return nil, err
	}
	return s.accessAt(ctx, tx, t)
}

func (s *Store) accessAt(ctx context.Context, tx pgx.Tx, t time.Time) (*model.Access, error) {
	rows, err := tx.Query(ctx, s.stmt("access_at", nil), t)
	if err != nil {
		return nil, fmt.Errorf("read access history at %s: %w", stampUTC(t), err)
	}
	var out []model.Row
	var r model.Row
	_, err = pgx.ForEachRow(rows, []any{&r.Account, &r.Email, &r.ObjectType, &r.ObjectName, &r.Privilege}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read access history at %s: %w", stampUTC(t), err)
	}
	return model.NewAccess(out), nil
}

// MirrorAt returns the mirror as it stood at t. When the generation current at t
// is still kept, it is read whole, with the role paths behind every row and its
// snapshot, and withPaths is true. Otherwise the rows come from the access history
// and the mirror has its metadata but no provenance: explain can say who had
// what, not through which roles. Errors are those of AccessAt.
func (s *Store) MirrorAt(ctx context.Context, t time.Time) (_ *model.Mirror, withPaths bool, err error) {
	defer s.boundary(&err)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	mo, err := s.momentAt(ctx, tx, t)
	if err != nil {
		return nil, false, err
	}
	if mo.kept {
		m, err := s.read(ctx, tx, mo.generation)
		if err != nil {
			return nil, false, fmt.Errorf("read generation %d: %w", mo.generation, err)
		}
		return m, true, nil
	}
	access, err := s.accessAt(ctx, tx, t)
	if err != nil {
		return nil, false, err
	}
	m := &model.Mirror{Meta: mo.meta, Access: access}
	m.Meta.Rows = access.Len()
	return m, false, nil
}

func stampUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }
