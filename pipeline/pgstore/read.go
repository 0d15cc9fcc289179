package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

func errNoGeneration(err error) bool { return errors.Is(err, model.ErrNoGeneration) }

// scanGeneration reads the columns current.sql and generations.sql select.
func scanGeneration(row pgx.Row) (model.Generation, error) {
	var g model.Generation
	var snapshotAt *time.Time
	var mode string
	err := row.Scan(&g.Number, &g.PublishedAt, &snapshotAt, &g.Rows, &g.Added, &g.Removed, &mode, &g.Accounts, &g.Current)
	g.PublishedAt = g.PublishedAt.UTC()
	if snapshotAt != nil {
		g.SnapshotAt = snapshotAt.UTC()
	}
	g.Mode = model.Mode(mode)
	return g, err
}

func (s *Store) current(ctx context.Context, q querier) (*model.Generation, error) {
	g, err := scanGeneration(q.QueryRow(ctx, s.stmt("current", nil)))
	if errNoRows(err) || notMigrated(err) {
		return nil, fmt.Errorf("%w in schema %s", model.ErrNoGeneration, s.schema)
	}
	if err != nil {
		return nil, fmt.Errorf("read current generation: %w", err)
	}
	return &g, nil
}

func (s *Store) generations(ctx context.Context, q querier) ([]model.Generation, error) {
	rows, err := q.Query(ctx, s.stmt("generations", nil))
	if err == nil {
		var gens []model.Generation
		gens, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (model.Generation, error) { return scanGeneration(r) })
		if err == nil {
			return gens, nil
		}
	}
	if notMigrated(err) {
		return nil, nil
	}
	return nil, fmt.Errorf("list generations: %w", err)
}

// Current describes the published generation, or returns model.ErrNoGeneration.
func (s *Store) Current(ctx context.Context) (_ *model.Generation, err error) {
	defer s.boundary(&err)
	return s.current(ctx, s.pool)
}

// Generations lists the kept generations, newest first.
func (s *Store) Generations(ctx context.Context) (_ []model.Generation, err error) {
	defer s.boundary(&err)
	return s.generations(ctx, s.pool)
}

// Open reads generation n back (0: the current one), rows in order, with its
// provenance and the snapshot it was computed from. It reads in one repeatable-read
// transaction, so a publish or prune running meanwhile cannot mix generations.
func (s *Store) Open(ctx context.Context, n int) (_ *model.Mirror, err error) {
	defer s.boundary(&err)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if n == 0 {
		cur, err := s.current(ctx, tx)
		if err != nil {
			return nil, err
		}
		n = cur.Number
	}
	m, err := s.read(ctx, tx, n)
	if notMigrated(err) {
		return nil, fmt.Errorf("%w: %d", model.ErrUnknownGeneration, n)
	}
	if err != nil {
		return nil, fmt.Errorf("read generation %d: %w", n, err)
	}
	return m, nil
}

func (s *Store) read(ctx context.Context, tx pgx.Tx, n int) (*model.Mirror, error) {
	m, err := s.readMeta(ctx, tx, n)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, s.stmt("read_access", nil), n)
	if err != nil {
		return nil, err
	}
	access, err := collectAccess(rows, m.Meta.Rows)
	if err != nil {
		return nil, fmt.Errorf("access rows: %w", err)
	}
	m.Access = model.NewAccess(access)
	if m.Memberships, err = collectMemberships(tx.Query(ctx, s.stmt("read_memberships", nil), n)); err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	if m.Grants, err = collectGrants(tx.Query(ctx, s.stmt("read_grants", nil), n)); err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	if m.Snapshot, err = s.snapshot(ctx, tx, n, nil); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return m, nil
}

// snapshot reads generation n's stored snapshot: from its parts (all of them
// when parts is nil, otherwise the cores and the parts named), or whole from
// the snapshot files of a generation published before parts existed; nil when
// none was stored.
func (s *Store) snapshot(ctx context.Context, tx pgx.Tx, n int, parts []string) (*model.Snapshot, error) {
	snap, ok, err := s.readParts(ctx, tx, n, parts)
	if err != nil || ok {
		return snap, err
	}
	return s.readSnapshot(ctx, tx, n)
}

// readSnapshot writes the snapshot files of a generation published before
// migration 00007 into a temporary directory and reads them with
// pipeline.ReadSnapshot; nil when none were stored.
func (s *Store) readSnapshot(ctx context.Context, tx pgx.Tx, n int) (*model.Snapshot, error) {
	rows, err := tx.Query(ctx, s.stmt("read_snapshot", nil), n)
	if err != nil {
		return nil, err
	}
	type file struct {
		path    string
		content []byte
	}
	files, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (file, error) {
		var f file
		err := r.Scan(&f.path, &f.content)
		return f, err
	})
	if err != nil || len(files) == 0 {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "grantmirror-snapshot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for _, f := range files {
		if !fs.ValidPath(f.path) {
			return nil, fmt.Errorf("stored file %q: not a relative path", f.path)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, f.content, 0o644); err != nil {
			return nil, err
		}
	}
	return pipeline.ReadSnapshot(dir)
}

// RecordRun appends a run to the runs table.
func (s *Store) RecordRun(ctx context.Context, r model.RunRecord) (err error) {
	defer s.boundary(&err)
	if err := s.ready(ctx); err != nil {
		return err
	}
	var gen *int
	if r.Generation != 0 {
		gen = &r.Generation
	}
	var msg *string
	if r.Error != "" {
		msg = &r.Error
	}
	_, err = s.pool.Exec(ctx, s.stmt("record_run", nil), r.StartedAt, r.FinishedAt, r.Status, r.Source,
		nullTime(r.SnapshotAt), gen, r.Rows, r.Added, r.Removed, msg, r.InputDigest)
	if err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return nil
}

// Runs returns the most recent runs, newest first; limit <= 0 returns all.
func (s *Store) Runs(ctx context.Context, limit int) (_ []model.RunRecord, err error) {
	defer s.boundary(&err)
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, s.stmt("runs", nil), lim)
	if err != nil {
		if notMigrated(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.RunRecord, error) {
		var r model.RunRecord
		var snapshotAt *time.Time
		var gen *int
		var msg *string
		err := row.Scan(&r.StartedAt, &r.FinishedAt, &r.Status, &r.Source, &snapshotAt, &gen, &r.Rows, &r.Added, &r.Removed, &msg, &r.InputDigest)
		r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), r.FinishedAt.UTC()
		if snapshotAt != nil {
			r.SnapshotAt = snapshotAt.UTC()
		}
		if gen != nil {
			r.Generation = *gen
		}
		if msg != nil {
			r.Error = *msg
		}
		return r, err
	})
	if notMigrated(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}
