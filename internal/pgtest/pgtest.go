// Package pgtest gives tests a real PostgreSQL: the server named by
// GRANTMIRROR_TEST_DATABASE_URL, each test in a schema of its own.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// DefaultURL is the database tests use when GRANTMIRROR_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL is the test database.
func URL() string {
	if u := os.Getenv("GRANTMIRROR_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Pool connects to the test database. When it is unreachable the test fails under
// CI=true, where a missing database is a broken setup, and is skipped elsewhere.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, URL())
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		unreachable(t, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Conn is a single connection to the test database, closed at cleanup, with the
// same failure rules as Pool.
func Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err == nil {
		if err = conn.Ping(ctx); err != nil {
			conn.Close(ctx)
		}
	}
	if err != nil {
		unreachable(t, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func unreachable(t testing.TB, err error) {
	t.Helper()
	msg := "test database " + model.RedactDSN(URL()) + " unreachable (set GRANTMIRROR_TEST_DATABASE_URL): " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Schema creates a fresh schema, dropped with everything in it when the test ends,
// and returns its name.
func Schema(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "gm_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}
