package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantmirror/grantmirror/query"
)

// ViewerHeader carries the signed-in person's address. The API trusts it because it
// runs behind an authenticating proxy that sets it and strips it from client requests;
// without such a proxy anyone could claim any address.
const ViewerHeader = "X-Viewer-Email"

// TenantHeader names the customer organisation, which decides the enforcement mode
// during a rollout.
const TenantHeader = "X-Tenant"

// maxLimit bounds a page so that one request cannot read the whole table.
const maxLimit = 500

// Server serves GET /query-history.
type Server struct {
	db    query.Querier
	g     *query.Builder
	table string
	log   *slog.Logger
}

// NewServer serves table (a copy of Snowflake's QUERY_HISTORY) through g.
func NewServer(db query.Querier, g *query.Builder, table string, log *slog.Logger) *Server {
	return &Server{db: db, g: g, table: table, log: log}
}

// QueryRow is one query of the history as the API returns it. UserEmail and QueryText
// are masked for viewers without the PII_READER role.
type QueryRow struct {
	ID        int64     `json:"id" db:"id"`
	Warehouse string    `json:"warehouse" db:"warehouse_name"`
	UserEmail *string   `json:"user_email" db:"user_email"`
	QueryText *string   `json:"query_text" db:"query_text"`
	StartedAt time.Time `json:"started_at" db:"started_at"`
}

// Page is one response.
type Page struct {
	Rows       []QueryRow `json:"rows"`
	NextOffset *int64     `json:"next_offset,omitempty"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/query-history" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		httpError(w, http.StatusMethodNotAllowed, "only GET")
		return
	}
	viewer := r.Header.Get(ViewerHeader)
	if viewer == "" {
		httpError(w, http.StatusUnauthorized, "no viewer")
		return
	}
	limit, err := param(r, "limit", 50)
	if err != nil || limit < 1 || limit > maxLimit {
		httpError(w, http.StatusBadRequest, "limit must be 1 to 500")
		return
	}
	offset, err := param(r, "offset", 0)
	if err != nil || offset < 0 {
		httpError(w, http.StatusBadRequest, "offset must be a non-negative integer")
		return
	}
	ctx := query.WithTenant(r.Context(), r.Header.Get(TenantHeader))
	// Answering "try again later" beats an empty page that looks like lost access;
	// the statement below would admit no row anyway.
	if err := s.g.CheckFresh(ctx, s.db); err != nil {
		if errors.Is(err, query.ErrStale) {
			s.log.WarnContext(ctx, "access mirror is stale", "err", err)
			httpError(w, http.StatusServiceUnavailable, "access data is being refreshed")
			return
		}
		s.fail(w, r, err)
		return
	}
	// Fetch one row more than asked to know whether a next page exists.
	stmt := s.g.Select(ctx, viewer,
		query.From(s.table+" q"),
		query.Columns("q.id", "q.warehouse_name", "q.started_at"),
		query.Guard("WAREHOUSE", "q.warehouse_name", "USAGE"),
		query.Mask("q.user_email", query.EmailDomain, query.UnlessRole("PII_READER")),
		query.Mask("q.query_text", query.Redact, query.UnlessRole("PII_READER")),
		query.OrderBy("q.started_at DESC", "q.id DESC"),
		query.Limit(limit+1), query.Offset(offset))
	if errors.Is(stmt.Err(), query.ErrViewer) {
		httpError(w, http.StatusBadRequest, "viewer is not an email address")
		return
	}
	// The same strict scan serves every mode: in shadow mode the builder consumes the
	// visible column itself and logs the rows enforcement would have hidden.
	rows, err := query.Collect(ctx, s.db, stmt, pgx.RowToStructByName[QueryRow])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := Page{Rows: rows}
	if page.Rows == nil {
		page.Rows = []QueryRow{}
	}
	if int64(len(rows)) > limit {
		page.Rows = rows[:limit]
		next := offset + limit
		page.NextOffset = &next
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "query history", "err", err)
	httpError(w, http.StatusInternalServerError, "internal error")
}

func param(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
