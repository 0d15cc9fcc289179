package fakesnowflake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Format is how query results are encoded.
type Format string

// Result formats Snowflake answers with. Arrow is what a Go client gets by default.
const (
	Arrow Format = "arrow"
	JSON  Format = "json"
)

// Options shape the fake account. The zero value of every field but Dir is a
// well-behaved Snowflake answering Arrow with the whole result inline.
type Options struct {
	// Dir is a snapshot directory. A query naming SNOWFLAKE.ACCOUNT_USAGE.GRANTS_TO_ROLES
	// is answered with grants_to_roles.csv, its header giving the column names and
	// empty cells read as NULL. A view whose file is absent answers 002003, as a
	// view the role may not see does.
	Dir string
	// Account, when set, is the only account a login may name (case-insensitive).
	Account string
	// Users, when non-nil, are the only accepted credentials, by login name.
	// A nil map accepts any login, which is what benchmarks want.
	Users map[string]User
	// Format of results; empty means Arrow.
	Format Format
	// ChunkRows splits results into chunks of this many rows: the first inline in
	// the query response, the others downloaded from the chunk URLs the response
	// lists, as Snowflake does with large results. 0 sends everything inline.
	ChunkRows int
	// NoInline leaves the query response without rows, so every row comes from a
	// chunk download. Only meaningful with ChunkRows.
	NoInline bool
	// GzipChunks compresses chunk bodies, as the cloud storage Snowflake uses does.
	GzipChunks bool
	// AsyncPolls makes each query answer 333334 (still running) and then answer
	// that many polls of its getResultUrl with 333334 before the result.
	AsyncPolls int
	// SessionQueries expires a session token after that many queries: the next
	// query gets 390112 and the client must renew the session with its master token.
	SessionQueries int
	// Errors makes the named views (upper case, e.g. "GRANTS_TO_ROLES") fail.
	Errors map[string]QueryError
	// MissingColumns are, by view, columns the account's view lacks, as an
	// account predating them does: a query that names one (outside comments)
	// fails with 000904 invalid identifier. A view with missing columns answers
	// other queries with the file's columns they name, never the missing ones,
	// as a view of that shape would.
	MissingColumns map[string][]string
	// StallViews makes queries on the named views hang until the client gives up.
	StallViews map[string]bool
	// StallLogin makes logins hang until the client gives up.
	StallLogin bool
	// OnStall, when set, is called as a request starts hanging, with the view
	// name or "login", so a test can act at that moment instead of sleeping.
	OnStall func(what string)
	// FailChunks makes that many chunk downloads fail with 403, as an expired
	// presigned URL does.
	FailChunks int
	// MisreportTotal is added to the row total a result announces, to test the
	// client's row count check.
	MisreportTotal int
}

// User is an accepted credential. Any of its fields that is set is accepted.
type User struct {
	Password   string
	PublicKey  *rsa.PublicKey // key-pair authentication (SNOWFLAKE_JWT)
	OAuthToken string
}

// Stats counts what the fake has served, so tests can assert which protocol
// paths a client took.
type Stats struct {
	Logins         int // successful logins
	FailedLogins   int
	Renewals       int // session tokens renewed with the master token
	Expirations    int // queries answered 390112
	Queries        int // query requests, failed ones included
	Failed         int // queries answered success:false
	ArrowResults   int // result bodies sent as Arrow
	JSONResults    int // result bodies sent as JSON
	Polls          int // getResultUrl polls answered 333334
	ResultFetches  int // results served from getResultUrl
	StatusChecks   int // /monitoring/queries requests
	Chunks         int // chunk bodies served
	ChunkFailures  int
	Aborts         int
	SessionsClosed int
	// LoginParameters are the SESSION_PARAMETERS of the last successful login.
	LoginParameters map[string]any
	// Authenticators lists the AUTHENTICATOR of every login attempt ("" is password).
	Authenticators []string
	// SQL lists every query text received, in order.
	SQL []string
	// Bindings lists the bind values of every query, in order (nil when none).
	Bindings [][]string
}

// Server is a running fake Snowflake account.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string

	opts Options
	hs   *httptest.Server
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	stats    Stats
	sessions map[string]*session // by session token
	masters  map[string]*session // by master token
	queries  map[string]*query   // by query ID
	results  map[string]*result  // by view, built once
	errs     map[string]QueryError
	missing  map[string][]string // by view, upper case
	stalls   map[string]bool
	failing  int
	seq      int
}

type session struct {
	id      int64
	token   string
	master  string
	queries int
	expired bool
	role    string
	wh      string
}

type query struct {
	id    string
	view  string
	res   *result
	polls int
	qrmk  string
}

// New starts a fake account serving opts.Dir.
func New(opts Options) (*Server, error) {
	if st, err := os.Stat(opts.Dir); opts.Dir == "" || err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %q", ErrNoDir, opts.Dir)
	}
	if opts.Format == "" {
		opts.Format = Arrow
	}
	if opts.Format != Arrow && opts.Format != JSON {
		return nil, fmt.Errorf("fakesnowflake: unknown format %q (want arrow or json)", opts.Format)
	}
	s := &Server{
		opts:     opts,
		done:     make(chan struct{}),
		sessions: map[string]*session{},
		masters:  map[string]*session{},
		queries:  map[string]*query{},
		results:  map[string]*result{},
		errs:     map[string]QueryError{},
		stalls:   map[string]bool{},
		failing:  opts.FailChunks,
	}
	for v, e := range opts.Errors {
		s.errs[strings.ToUpper(v)] = e
	}
	s.missing = map[string][]string{}
	for v, cols := range opts.MissingColumns {
		for _, c := range cols {
			s.missing[strings.ToUpper(v)] = append(s.missing[strings.ToUpper(v)], strings.ToUpper(c))
		}
	}
	for v, on := range opts.StallViews {
		s.stalls[strings.ToUpper(v)] = on
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session/v1/login-request", s.login)
	mux.HandleFunc("POST /session/token-request", s.renew)
	mux.HandleFunc("POST /session/heartbeat", s.ok)
	mux.HandleFunc("POST /session", s.closeSession)
	mux.HandleFunc("POST /queries/v1/query-request", s.query)
	mux.HandleFunc("POST /queries/v1/abort-request", s.abort)
	mux.HandleFunc("GET /queries/{id}/result", s.fetchResult)
	mux.HandleFunc("GET /monitoring/queries/{id}", s.status)
	mux.HandleFunc("GET /chunks/{id}/{n}", s.chunk)
	mux.HandleFunc("POST /telemetry/send", s.ok)
	s.hs = httptest.NewServer(mux)
	s.URL = s.hs.URL
	return s, nil
}

// Start starts a fake account for a test or benchmark and closes it at cleanup.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close releases stalled requests and shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.hs.CloseClientConnections()
		s.hs.Close()
	})
}

// Host is the host the server listens on, for a client's Host setting.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.hs.Listener.Addr().String())
	return h
}

// Port is the port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.hs.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Authenticators = append([]string(nil), st.Authenticators...)
	st.SQL = append([]string(nil), st.SQL...)
	st.Bindings = append([][]string(nil), st.Bindings...)
	if st.LoginParameters != nil {
		p := make(map[string]any, len(st.LoginParameters))
		for k, v := range st.LoginParameters {
			p[k] = v
		}
		st.LoginParameters = p
	}
	return st
}

// SetError makes queries on view fail with e from now on; nil clears it.
func (s *Server) SetError(view string, e *QueryError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e == nil {
		delete(s.errs, strings.ToUpper(view))
		return
	}
	s.errs[strings.ToUpper(view)] = *e
}

// SetStall makes queries on view hang (or stop hanging) from now on.
func (s *Server) SetStall(view string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalls[strings.ToUpper(view)] = on
}

// stall blocks until the client gives up or the server closes.
func (s *Server) stall(r *http.Request, what string) {
	if s.opts.OnStall != nil {
		s.opts.OnStall(what)
	}
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}

// envelope is every JSON answer of the REST API.
type envelope struct {
	Data    any     `json:"data"`
	Code    *string `json:"code"`
	Message *string `json:"message"`
	Success bool    `json:"success"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeOK(w http.ResponseWriter, data any) {
	writeJSON(w, envelope{Data: data, Success: true})
}

// writeFail answers HTTP 200 with success:false, as Snowflake does for SQL and
// login errors.
func writeFail(w http.ResponseWriter, e QueryError, queryID string) {
	data := map[string]any{"errorCode": e.Code, "internalError": false}
	if e.SQLState != "" {
		data["sqlState"] = e.SQLState
	}
	if queryID != "" {
		data["queryId"] = queryID
	}
	code, msg := e.Code, e.Message
	writeJSON(w, envelope{Data: data, Code: &code, Message: &msg})
}

func (s *Server) ok(w http.ResponseWriter, _ *http.Request) { writeOK(w, nil) }

func (s *Server) closeSession(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("delete") != "true" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	if sess := s.sessions[bearer(r)]; sess != nil {
		delete(s.sessions, sess.token)
		delete(s.masters, sess.master)
		s.stats.SessionsClosed++
	}
	s.mu.Unlock()
	writeOK(w, nil)
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OldSessionToken string `json:"oldSessionToken"`
		RequestType     string `json:"requestType"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.masters[bearer(r)]
	if sess == nil || body.RequestType != "RENEW" || body.OldSessionToken != sess.token {
		writeFail(w, errBadMaster, "")
		return
	}
	delete(s.sessions, sess.token)
	sess.token, sess.queries, sess.expired = newToken("ver:1-hint:1-ETMsDgAAA"), 0, false
	s.sessions[sess.token] = sess
	s.stats.Renewals++
	writeOK(w, map[string]any{
		"sessionToken":        sess.token,
		"validityInSecondsST": 3600,
		"masterToken":         sess.master,
		"validityInSecondsMT": 14400,
		"sessionId":           sess.id,
	})
}

// execRequest is the body of a query request.
type execRequest struct {
	SQLText    string         `json:"sqlText"`
	AsyncExec  bool           `json:"asyncExec"`
	SequenceID uint64         `json:"sequenceId"`
	Parameters map[string]any `json:"parameters"`
	Bindings   map[string]struct {
		Type  string `json:"type"`
		Value any    `json:"value"`
	} `json:"bindings"`
}

// viewPattern finds the ACCOUNT_USAGE view a query reads.
var viewPattern = regexp.MustCompile(`(?i)ACCOUNT_USAGE\s*\.\s*"?([A-Z_][A-Z0-9_]*)"?`)

var selectOne = regexp.MustCompile(`(?i)^\s*SELECT\s+1\s*;?\s*$`)

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	var req execRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.stats.Queries++
	s.stats.SQL = append(s.stats.SQL, req.SQLText)
	s.stats.Bindings = append(s.stats.Bindings, bindValues(req))
	sess := s.sessions[bearer(r)]
	switch {
	case sess == nil:
		s.stats.Failed++
		s.mu.Unlock()
		writeFail(w, errNoSession, "")
		return
	case sess.expired:
		s.stats.Expirations++
		s.mu.Unlock()
		writeFail(w, errExpired, "")
		return
	}
	sess.queries++
	if s.opts.SessionQueries > 0 && sess.queries > s.opts.SessionQueries {
		sess.expired = true
		s.stats.Expirations++
		s.mu.Unlock()
		writeFail(w, errExpired, "")
		return
	}
	s.seq++
	qid := fmt.Sprintf("01b%05x-0000-4f2a-0000-%012x", s.seq, sess.id)
	view := ""
	if m := viewPattern.FindStringSubmatch(req.SQLText); m != nil {
		view = strings.ToUpper(m[1])
	}
	qerr, failing := s.errs[view]
	stalled := s.stalls[view]
	role, wh := sess.role, sess.wh
	s.mu.Unlock()

	if view == "" {
		if selectOne.MatchString(req.SQLText) {
			s.answer(w, &query{id: qid, res: selectOneResult(s.opts.Format), qrmk: newToken("")}, role, wh)
			return
		}
		s.fail(w, errSyntax, qid)
		return
	}
	if stalled {
		s.stall(r, view)
		return
	}
	if failing {
		s.fail(w, qerr, qid)
		return
	}
	if e, ok := invalidIdentifier(req.SQLText, s.missing[view]); ok {
		s.fail(w, e, qid)
		return
	}
	res, err := s.result(view, req.SQLText)
	if errors.Is(err, fs.ErrNotExist) {
		s.fail(w, NotAuthorized(view), qid)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	q := &query{id: qid, view: view, res: res, polls: s.opts.AsyncPolls, qrmk: newToken("")}
	s.mu.Lock()
	s.queries[qid] = q
	s.mu.Unlock()
	if s.opts.AsyncPolls > 0 {
		writeInProgress(w, qid)
		return
	}
	s.answer(w, q, role, wh)
}

func bindValues(req execRequest) []string {
	if len(req.Bindings) == 0 {
		return nil
	}
	out := make([]string, len(req.Bindings))
	for k, b := range req.Bindings {
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 || i > len(out) {
			continue
		}
		out[i-1] = fmt.Sprint(b.Value)
	}
	return out
}

func (s *Server) fail(w http.ResponseWriter, e QueryError, qid string) {
	s.mu.Lock()
	s.stats.Failed++
	s.mu.Unlock()
	writeFail(w, e, qid)
}

func writeInProgress(w http.ResponseWriter, qid string) {
	code := "333334"
	msg := "Asynchronous execution in progress. Use provided query id to perform query monitoring and management."
	writeJSON(w, envelope{
		Data: map[string]any{
			"queryId":              qid,
			"getResultUrl":         "/queries/" + qid + "/result",
			"queryAbortsAfterSecs": 300,
			"progressDesc":         nil,
		},
		Code: &code, Message: &msg, Success: true,
	})
}

// fetchResult answers polls of getResultUrl and fetches of a result by query ID.
func (s *Server) fetchResult(w http.ResponseWriter, r *http.Request) {
	qid := r.PathValue("id")
	s.mu.Lock()
	q := s.queries[qid]
	if q == nil {
		s.mu.Unlock()
		writeFail(w, QueryError{Code: "000709", SQLState: "02000", Message: fmt.Sprintf("Statement %s not found", qid)}, qid)
		return
	}
	if q.polls > 0 {
		q.polls--
		s.stats.Polls++
		s.mu.Unlock()
		writeInProgress(w, qid)
		return
	}
	s.stats.ResultFetches++
	role, wh := "", ""
	if sess := s.sessions[bearer(r)]; sess != nil {
		role, wh = sess.role, sess.wh
	}
	s.mu.Unlock()
	s.answer(w, q, role, wh)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	qid := r.PathValue("id")
	s.mu.Lock()
	s.stats.StatusChecks++
	q := s.queries[qid]
	s.mu.Unlock()
	if q == nil {
		writeOK(w, map[string]any{"queries": []any{}})
		return
	}
	state := "SUCCESS"
	if q.polls > 0 {
		state = "RUNNING"
	}
	writeOK(w, map[string]any{"queries": []any{map[string]any{
		"id":           qid,
		"status":       state,
		"sqlText":      "",
		"errorCode":    "",
		"errorMessage": "",
		"stats":        map[string]any{"scanBytes": 0, "producedRows": q.res.total},
	}}})
}

func (s *Server) abort(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.stats.Aborts++
	s.mu.Unlock()
	writeOK(w, nil)
}

// bearer extracts the token of an Authorization: Snowflake Token="…" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = `Snowflake Token="`
	if !strings.HasPrefix(h, prefix) || !strings.HasSuffix(h, `"`) {
		return ""
	}
	return h[len(prefix) : len(h)-1]
}

func newToken(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
