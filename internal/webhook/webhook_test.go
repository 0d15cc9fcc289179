package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memOutbox is an outbox in memory, settling events as the database would.
type memOutbox struct {
	mu        sync.Mutex
	pending   []Event
	claimed   map[int64]bool
	delivered []int64
	dead      map[int64]string
}

func newOutbox(events ...Event) *memOutbox {
	return &memOutbox{pending: events, claimed: map[int64]bool{}, dead: map[int64]string{}}
}

func (o *memOutbox) Claim(_ context.Context, limit int, _ time.Duration) ([]Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Event
	for _, e := range o.pending {
		if !o.claimed[e.ID] && len(out) < limit {
			o.claimed[e.ID] = true
			out = append(out, e)
		}
	}
	return out, nil
}

func (o *memOutbox) Delivered(_ context.Context, id int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.delivered = append(o.delivered, id)
	return nil
}

func (o *memOutbox) Failed(_ context.Context, id int64, reason string, dead bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if dead {
		o.dead[id] = reason
	}
	return nil
}

// hook answers with the statuses of fail for the first attempts at a text, 200
// after, and records every body.
type hook struct {
	*httptest.Server
	mu    sync.Mutex
	posts map[string]int
	fail  map[string][]int
}

func newHook(t *testing.T, fail map[string][]int) *hook {
	h := &hook{posts: map[string]int{}, fail: fail}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg map[string]string
		require.NoError(t, json.NewDecoder(r.Body).Decode(&msg))
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		h.mu.Lock()
		defer h.mu.Unlock()
		n := h.posts[msg["text"]]
		h.posts[msg["text"]]++
		if codes := h.fail[msg["text"]]; n < len(codes) {
			w.WriteHeader(codes[n])
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func TestDeliverRetriesThenRecordsDead(t *testing.T) {
	t.Parallel()
	h := newHook(t, map[string][]int{"flaky": {500}, "broken": {500, 502, 503}})
	box := newOutbox(Event{ID: 1, Kind: "request", Text: "fine"}, Event{ID: 2, Kind: "approval", Text: "flaky"},
		Event{ID: 3, Kind: "break_glass", Text: "broken"}, Event{ID: 4, Kind: "denial", Text: "late", Attempts: 2})
	h.fail["late"] = []int{500}
	s := Sender{URL: h.URL + "/services/T/B/secret", MaxAttempts: 3}
	s.Backoff = 0
	rep, err := s.Deliver(context.Background(), box)
	require.NoError(t, err)
	require.Equal(t, Report{Delivered: 2, Retried: 3, Dead: 2}, rep)
	require.Equal(t, []int64{1, 2}, box.delivered)
	require.Equal(t, map[string]int{"fine": 1, "flaky": 2, "broken": 3, "late": 1}, h.posts,
		"a 500 is retried; an event that failed twice before gets its last attempt only")
	require.Equal(t, "the webhook answered 503 Service Unavailable", box.dead[3])
	require.NotContains(t, box.dead[3], "secret")
}

func TestDeliverKeepsTheURLOutOfErrors(t *testing.T) {
	t.Parallel()
	h := newHook(t, nil)
	url := h.URL + "/services/T/B/s3cr3t"
	h.Close()
	box := newOutbox(Event{ID: 1, Text: "x"})
	_, err := (&Sender{URL: url, MaxAttempts: 1}).Deliver(context.Background(), box)
	require.NoError(t, err)
	require.Contains(t, box.dead[1], "post to the webhook")
	require.NotContains(t, box.dead[1], "s3cr3t")
	require.ErrorIs(t, Check("hooks.example/s3cr3t"), ErrConfig)
	require.NotContains(t, Check("hooks.example/s3cr3t").Error(), "s3cr3t")
	require.NoError(t, Check("https://hooks.example/s"))
}

func TestDeliverEscapesSlackMarkup(t *testing.T) {
	t.Parallel()
	h := newHook(t, nil)
	box := newOutbox(Event{ID: 1, Text: `reason: <!channel> see <https://evil.example|the runbook> & more`})
	_, err := (&Sender{URL: h.URL}).Deliver(context.Background(), box)
	require.NoError(t, err)
	require.Equal(t, map[string]int{`reason: &lt;!channel&gt; see &lt;https://evil.example|the runbook&gt; &amp; more`: 1}, h.posts)
}
