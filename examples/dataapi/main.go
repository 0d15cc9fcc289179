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
	"strings"
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

// settings are what the API reads from its environment. The variables are DATAAPI_*
// so they cannot be mistaken for the grantmirror CLI's GRANTMIRROR_* (whose
// GRANTMIRROR_MODE means effective or granted, not enforce or shadow):
//
//	DATAAPI_DATABASE_URL   Postgres holding the data and the published mirror (required)
//	DATAAPI_ADDR           listen address, default :8080
//	DATAAPI_TABLE          table served, default usage.query_history
//	DATAAPI_SCHEMA         schema of the mirror, default grantmirror
//	DATAAPI_MODE           enforce, shadow or off, default enforce
//	DATAAPI_MAX_STALENESS  oldest snapshot the API serves from, default 3h
//	DATAAPI_HASH_KEY       hex key of the Hash mask, if one is used
//	DATAAPI_EMAIL_DOMAINS  domain aliases the sync applies, "from=to,from=to"
type settings struct {
	url, addr, table string
	options          query.Options
}

func readSettings(getenv func(string) string) (settings, error) {
	st := settings{url: getenv("DATAAPI_DATABASE_URL"), addr: getenv("DATAAPI_ADDR"), table: getenv("DATAAPI_TABLE")}
	if st.url == "" {
		return st, errors.New("DATAAPI_DATABASE_URL is not set")
	}
	if st.addr == "" {
		st.addr = ":8080"
	}
	if st.table == "" {
		st.table = "usage.query_history"
	}
	o := query.Options{Schema: getenv("DATAAPI_SCHEMA"), MaxStaleness: 3 * time.Hour}
	if m := getenv("DATAAPI_MODE"); m != "" {
		var err error
		if o.Mode, err = query.ParseMode(m); err != nil {
			return st, fmt.Errorf("DATAAPI_MODE: %w", err)
		}
	}
	if v := getenv("DATAAPI_MAX_STALENESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return st, fmt.Errorf("DATAAPI_MAX_STALENESS: %q is not a positive duration such as 3h", v)
		}
		o.MaxStaleness = d
	}
	if k := getenv("DATAAPI_HASH_KEY"); k != "" {
		key, err := hex.DecodeString(k)
		if err != nil {
			return st, fmt.Errorf("DATAAPI_HASH_KEY: %w", err)
		}
		o.HashKey = key
	}
	if v := getenv("DATAAPI_EMAIL_DOMAINS"); v != "" {
		o.EmailDomains = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || from == "" || to == "" {
				return st, fmt.Errorf("DATAAPI_EMAIL_DOMAINS: %q is not from=to", pair)
			}
			o.EmailDomains[strings.TrimSpace(from)] = strings.TrimSpace(to)
		}
	}
	st.options = o
	return st, nil
}

func run(log *slog.Logger) error {
	st, err := readSettings(os.Getenv)
	if err != nil {
		return err
	}
	o := st.options
	o.Logger = log
	g, err := query.New(o)
	if err != nil {
		return err
	}
	mode := o.Mode
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, st.url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	srv := &http.Server{Addr: st.addr, Handler: NewServer(pool, g, st.table, log), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("dataapi listening", "addr", st.addr, "mode", mode.String())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
