package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	gmsql "github.com/grantmirror/grantmirror/sql"
)

// Migrate creates the schema if needed and applies the migrations this binary
// knows, keeping goose's version table inside the schema. It refuses a schema a
// newer grantmirror migrated (ErrSchemaTooNew). Two processes migrating at once
// take turns on an advisory lock.
func (s *Store) Migrate(ctx context.Context) (err error) {
	defer s.boundary(&err)
	return s.migrate(ctx)
}

func (s *Store) migrate(ctx context.Context) error {
	v, err := s.schemaVersion(ctx, s.pool)
	switch {
	case err != nil:
		return err
	case v > latestVersion:
		return s.tooNew(v)
	case v == latestVersion:
		// Up to date: nothing to do, and nothing that needs more than read access.
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, s.stmt("schema_exists", nil), s.schema).Scan(&exists); err != nil {
		return fmt.Errorf("look up schema %s: %w", s.schema, err)
	}
	if !exists {
		if _, err := s.pool.Exec(ctx, s.stmt("create_schema", nil)); err != nil {
			return fmt.Errorf("create schema %s: %w", s.schema, err)
		}
	}
	p, closeDB, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrate schema %s: %w", s.schema, err)
	}
	defer closeDB()
	results, err := p.Up(ctx)
	for _, r := range results {
		s.log.Info("migrated", "migration", r.Source.Path, "duration", r.Duration)
	}
	if err != nil {
		return fmt.Errorf("migrate schema %s: %w", s.schema, err)
	}
	return nil
}

// provider is a goose provider for the schema's migrations, on a database/sql
// handle over the store's pool that the returned function closes.
func (s *Store) provider() (*goose.Provider, func(), error) {
	migrations, err := fs.Sub(gmsql.Postgres, "postgres/migrations")
	if err != nil {
		return nil, nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(s.migrateKey))
	if err != nil {
		return nil, nil, err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, schemaFS{fsys: migrations, quoted: []byte(s.quoted)},
		goose.WithTableName(s.schema+".goose_db_version"),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, func() { db.Close() }, nil
}

// schemaFS serves the embedded migrations with {{schema}} replaced by the quoted
// schema name. Placeholders, rather than SET search_path, keep every name in the
// migrations qualified: the views they create refer to their tables without
// depending on the session that reads them, and nothing leaks into a pooled
// connection's settings.
type schemaFS struct {
	fsys   fs.FS
	quoted []byte
}

// ReadDir lists a directory as is.
func (f schemaFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(f.fsys, name) }

// Open returns a file with its placeholders filled.
func (f schemaFS) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		if err != nil {
			file.Close()
		}
		return file, err
	}
	b, err := io.ReadAll(file)
	file.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte("{{schema}}"), f.quoted)
	return &memFile{Reader: bytes.NewReader(b), info: sizedInfo{info, int64(len(b))}}, nil
}

type memFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.info, nil }
func (m *memFile) Close() error               { return nil }

// sizedInfo reports the size of the filled file, not of the embedded one.
type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }
