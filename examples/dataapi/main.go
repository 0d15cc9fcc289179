package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/query"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("dataapi", "err", err)
		os.Exit(1)
	}
}

// run reads its settings from the environment:
//
//	DATAAPI_DATABASE_URL  Postgres holding the data and the published mirror (required)
//	DATAAPI_ADDR          listen address, default :8080
//	DATAAPI_TABLE         table served, default usage.query_history
//	GRANTMIRROR_SCHEMA    schema of the mirror, default grantmirror
//	GRANTMIRROR_MODE      enforce, shadow or off, default enforce
func run(log *slog.Logger) error {
	url := os.Getenv("DATAAPI_DATABASE_URL")
	if url == "" {
		return errors.New("DATAAPI_DATABASE_URL is not set")
	}
	mode := query.Enforce
	if m := os.Getenv("GRANTMIRROR_MODE"); m != "" {
		var err error
		if mode, err = query.ParseMode(m); err != nil {
			return err
		}
	}
	var key []byte
	if k := os.Getenv("GRANTMIRROR_HASH_KEY"); k != "" {
		var err error
		if key, err = hex.DecodeString(k); err != nil {
			return fmt.Errorf("GRANTMIRROR_HASH_KEY: %w", err)
		}
	}
	g, err := query.New(query.Options{Schema: os.Getenv("GRANTMIRROR_SCHEMA"), Mode: mode,
		MaxStaleness: 3 * time.Hour, HashKey: key, Logger: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	table := os.Getenv("DATAAPI_TABLE")
	if table == "" {
		table = "usage.query_history"
	}
	addr := os.Getenv("DATAAPI_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{Addr: addr, Handler: NewServer(pool, g, table, log), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("dataapi listening", "addr", addr, "mode", mode.String())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
