package query

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier is what the helpers need from pgx: *pgx.Conn, *pgxpool.Pool and pgx.Tx
// all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Query runs the statement.
func (s *Stmt) Query(ctx context.Context, db Querier) (pgx.Rows, error) {
	sql, args, err := s.ToSql()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("guarded query: %w", err)
	}
	return rows, nil
}

// Collect runs a statement and scans every row with fn, for example
// pgx.RowToStructByName[T] (or pgx.RowToStructByNameLax[T] for a struct without the
// shadow-mode visible column).
func Collect[T any](ctx context.Context, db Querier, s *Stmt, fn pgx.RowToFunc[T]) ([]T, error) {
	rows, err := s.Query(ctx, db)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, fn)
	if err != nil {
		return nil, fmt.Errorf("guarded query: %w", err)
	}
	return out, nil
}

// ShadowStats counts what enforcement would change for one statement.
type ShadowStats struct {
	Rows   int64 // rows the statement returns without enforcement
	Hidden int64 // of those, rows Enforce would hide
}

// CountHidden runs the statement in Shadow mode, whatever its own mode, and counts
// the rows it returns and those Enforce would hide, honouring its LIMIT and OFFSET so
// the count describes exactly the page served. A non-zero Hidden is logged at Info
// with the viewer and tenant, so a team can watch mismatches before enforcing.
func (s *Stmt) CountHidden(ctx context.Context, db Querier) (ShadowStats, error) {
	if s.err != nil {
		return ShadowStats{}, s.err
	}
	t, err := s.b.build(s.viewer, &s.spec, Shadow)
	if err != nil {
		return ShadowStats{}, err
	}
	inner, args := t.render(Dollar)
	sql := "SELECT count(*), count(*) FILTER (WHERE NOT " + reservedPrefix + "s.visible) FROM (" +
		inner + ") " + reservedPrefix + "s"
	var st ShadowStats
	if err := db.QueryRow(ctx, sql, args...).Scan(&st.Rows, &st.Hidden); err != nil {
		return ShadowStats{}, fmt.Errorf("count hidden rows: %w", err)
	}
	if st.Hidden > 0 {
		s.b.log.InfoContext(ctx, "grantmirror shadow mismatch",
			"viewer", s.viewer, "tenant", s.tenant, "mode", s.mode.String(),
			"rows", st.Rows, "hidden", st.Hidden)
	}
	return st, nil
}

// CheckFresh returns nil when the mirror's knowledge is within MaxStaleness, and an
// error wrapping ErrStale when it is older or the mirror was never published. The age
// is that of the Snowflake snapshot the current generation was computed from
// (current.snapshot_at), or of its publish when the snapshot recorded no extraction
// time: a month-old snapshot published a minute ago is a month stale. Guarded
// statements make the same decision in their own SQL; this is for callers who would
// rather answer 503 than an empty page.
func (b *Builder) CheckFresh(ctx context.Context, db Querier) error {
	var published, snapshot *time.Time
	sql := "SELECT published_at, snapshot_at FROM " + b.current.String() + " ORDER BY published_at DESC LIMIT 1"
	if err := db.QueryRow(ctx, sql).Scan(&published, &snapshot); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: never published", ErrStale)
		}
		return fmt.Errorf("check mirror freshness: %w", err)
	}
	if published == nil {
		return fmt.Errorf("%w: never published", ErrStale)
	}
	if b.maxAge == NoStalenessLimit {
		return nil
	}
	known, what := *published, "published (the snapshot recorded no extraction time)"
	if snapshot != nil {
		known, what = *snapshot, "snapshot taken"
	}
	if age := b.now().Sub(known); age > b.maxAge {
		return fmt.Errorf("%w: %s %s ago at %s, published at %s, limit %s",
			ErrStale, what, age.Round(time.Second), known.UTC().Format(time.RFC3339),
			published.UTC().Format(time.RFC3339), b.maxAge)
	}
	return nil
}
