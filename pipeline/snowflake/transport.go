package snowflake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// cleanupTimeout bounds the requests the driver sends after a failure or at the
// end (abort a query, close the session), which must outlive a cancelled
// extract but not hang it.
const cleanupTimeout = 10 * time.Second

// resultMeta is what a query response said about its result.
type resultMeta struct {
	format  string // "arrow" or "json"
	total   int64  // rows in the whole result
	columns int
}

// transport sits under the driver's HTTP client for one account. It does two
// things the driver does not expose:
//
//   - It binds every request to the account's context, as the driver sends its
//     login under context.Background: a cancelled extract or a stalled login
//     must not hang the job.
//   - It reads each query response's result metadata (format, row total), so
//     the extractor can tell an Arrow result from a JSON one. With
//     WithArrowBatches a JSON answer otherwise yields no batches and no error,
//     and a JSON answer split into chunks makes the driver fail on download.
type transport struct {
	base         http.RoundTripper
	bind         context.Context
	loginTimeout time.Duration

	mu      sync.Mutex
	results map[string]resultMeta // by query ID, until taken
}

func newTransport(bind context.Context, base http.RoundTripper, loginTimeout time.Duration) *transport {
	return &transport{base: base, bind: bind, loginTimeout: loginTimeout, results: map[string]resultMeta{}}
}

// take returns and forgets the metadata of a query's result.
func (t *transport) take(queryID string) (resultMeta, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.results[queryID]
	delete(t.results, queryID)
	return m, ok
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, release := t.requestContext(req)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	if isResultRequest(req) && resp.StatusCode == http.StatusOK {
		if err := t.inspect(resp); err != nil {
			release()
			return nil, err
		}
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// requestContext bounds a request. Cleanup requests (abort a query, close the
// session) get a deadline of their own, as they must outlive a cancelled
// extract; every other request is cancelled with the account's context, and
// login requests also time out. Requests under a query's context are bound
// twice, harmlessly: that context derives from the account's.
func (t *transport) requestContext(req *http.Request) (context.Context, context.CancelFunc) {
	path := req.URL.Path
	if path == "/queries/v1/abort-request" || (path == "/session" && req.URL.Query().Get("delete") == "true") {
		return context.WithTimeout(req.Context(), cleanupTimeout)
	}
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.bind, cancel)
	if strings.HasPrefix(path, "/session/") && t.loginTimeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, t.loginTimeout)
		return ctx, func() { stop(); cancelTimeout(); cancel() }
	}
	return ctx, func() { stop(); cancel() }
}

// isResultRequest reports requests answered with a query result: the query
// itself and the polls or fetches of its result URL.
func isResultRequest(req *http.Request) bool {
	p := req.URL.Path
	if p == "/queries/v1/query-request" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/queries/")
	return ok && strings.HasSuffix(rest, "/result") && strings.Count(rest, "/") == 1
}

// inspect reads the response body, records its result metadata and puts the
// body back for the driver. The driver decodes the whole body in memory anyway,
// so holding it here costs one copy while it is decoded.
func (t *transport) inspect(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read query response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var env struct {
		Data struct {
			QueryID           string            `json:"queryId"`
			QueryResultFormat string            `json:"queryResultFormat"`
			Total             int64             `json:"total"`
			RowType           []json.RawMessage `json:"rowtype"`
		} `json:"data"`
		Success bool `json:"success"`
	}
	if json.Unmarshal(body, &env) != nil || !env.Success || env.Data.QueryID == "" || env.Data.QueryResultFormat == "" {
		// Errors, "still running" answers and bodies that are not JSON are the
		// driver's to handle.
		return nil
	}
	t.mu.Lock()
	t.results[env.Data.QueryID] = resultMeta{
		format:  strings.ToLower(env.Data.QueryResultFormat),
		total:   env.Data.Total,
		columns: len(env.Data.RowType),
	}
	t.mu.Unlock()
	return nil
}

// releasingBody releases a request's context once the driver is done with the
// response.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
