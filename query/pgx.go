package query

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what the helpers need from pgx: *pgx.Conn, *pgxpool.Pool and pgx.Tx
// all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Query runs the statement. In Shadow mode the rows come back as they would in Off
// mode, every row and unmasked, without the visible column: the builder reads that
// column itself, counts the rows Enforce would have hidden, and when the rows are
// closed logs a mismatch (see ShadowStats) and adds to ShadowTotals. Scanning code is
// therefore the same in every mode. ToSql, for callers that run the SQL themselves,
// keeps the visible column as the last one.
func (s *Stmt) Query(ctx context.Context, db Querier) (pgx.Rows, error) {
	sql, args, err := s.ToSql()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("guarded query: %w", err)
	}
	if s.mode == Shadow {
		return &shadowRows{Rows: rows, ctx: ctx, s: s}, nil
	}
	return rows, nil
}

// Collect runs a statement and scans every row with fn, for example
// pgx.RowToStructByName[T] or pgx.RowToStructByNameLax[T]. The struct needs no field
// for Shadow mode's visible column, which Query consumes.
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

// shadowRows hides the visible column of a Shadow statement from the caller and counts
// it instead. Rows read before an early Close are counted; a statement that fails
// midway reports what it served.
type shadowRows struct {
	pgx.Rows
	ctx  context.Context
	s    *Stmt
	st   ShadowStats
	done bool
}

func (r *shadowRows) FieldDescriptions() []pgconn.FieldDescription {
	fd := r.Rows.FieldDescriptions()
	return fd[:len(fd)-1]
}

func (r *shadowRows) Next() bool {
	if !r.Rows.Next() {
		r.finish()
		return false
	}
	raw := r.Rows.RawValues()
	fd := r.Rows.FieldDescriptions()
	v := raw[len(raw)-1]
	// A bool is one byte 0 or 1 in the binary format and "t" or "f" in text. Anything
	// else, NULL included, counts as hidden: a mismatch reported in excess is
	// investigated, one left out is not.
	visible := len(v) == 1 && (fd[len(fd)-1].Format == pgx.BinaryFormatCode && v[0] == 1 ||
		fd[len(fd)-1].Format == pgx.TextFormatCode && v[0] == 't')
	r.st.Rows++
	if !visible {
		r.st.Hidden++
	}
	return true
}

func (r *shadowRows) Scan(dest ...any) error {
	if len(dest) == 1 {
		if rs, ok := dest[0].(pgx.RowScanner); ok {
			return rs.ScanRow(r)
		}
	}
	// A nil destination makes pgx skip the column.
	return r.Rows.Scan(append(dest, nil)...)
}

func (r *shadowRows) Values() ([]any, error) {
	v, err := r.Rows.Values()
	if err != nil {
		return nil, err
	}
	return v[:len(v)-1], nil
}

func (r *shadowRows) RawValues() [][]byte {
	v := r.Rows.RawValues()
	return v[:len(v)-1]
}

func (r *shadowRows) Close() {
	r.Rows.Close()
	r.finish()
}

// finish records the statement's counts once, when the rows end or are closed.
func (r *shadowRows) finish() {
	if r.done {
		return
	}
	r.done = true
	r.s.b.shadow.add(r.st)
	r.s.logMismatch(r.ctx, r.st)
}

// ShadowStats counts what enforcement would change for one statement, or, from
// ShadowTotals, for every Shadow statement a builder served.
type ShadowStats struct {
	Rows   int64 // rows the statement returns without enforcement
	Hidden int64 // of those, rows Enforce would hide
}

// CountHidden runs the statement in Shadow mode, whatever its own mode, and counts
// the rows it returns and those Enforce would hide, honouring its LIMIT and OFFSET so
// the count describes exactly the page served. A non-zero Hidden is logged at Info
// with the viewer and tenant. A Shadow statement run through Query counts itself;
// CountHidden is for measuring an enforced statement, at the price of a second read.
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
	s.logMismatch(ctx, st)
	return st, nil
}

// logMismatch logs at Info, with the viewer and tenant, a statement whose rows
// Enforce would have filtered, so a team can watch mismatches before enforcing.
func (s *Stmt) logMismatch(ctx context.Context, st ShadowStats) {
	if st.Hidden > 0 {
		s.b.log.InfoContext(ctx, "grantmirror shadow mismatch",
			"viewer", s.viewer, "tenant", s.tenant, "mode", s.mode.String(),
			"rows", st.Rows, "hidden", st.Hidden)
	}
}

// shadowTotals adds up what Shadow statements served through Query.
type shadowTotals struct {
	rows, hidden atomic.Int64
}

func (t *shadowTotals) add(st ShadowStats) {
	t.rows.Add(st.Rows)
	t.hidden.Add(st.Hidden)
}

// ShadowTotals returns the rows served by Shadow statements run through Query or
// Collect since the builder was made, and how many of them Enforce would have hidden:
// the figures a metrics endpoint exports while a rollout is measured.
func (b *Builder) ShadowTotals() ShadowStats {
	return ShadowStats{Rows: b.shadow.rows.Load(), Hidden: b.shadow.hidden.Load()}
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
