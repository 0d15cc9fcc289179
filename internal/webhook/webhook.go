// Package webhook delivers the notifications of access requests (request,
// approval, denial, expiry, break-glass) to a Slack-compatible incoming webhook:
// a POST of {"text": …}. The events wait in an outbox the database keeps, written
// in the transaction that made the change, so none is lost when the process
// dies; a deliverer claims them for a while, posts each once, retries a failure
// with backoff, and records an event dead after its last attempt.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Event is one notification waiting in the outbox.
type Event struct {
	ID   int64
	Kind string // request, approval, denial, expiry or break_glass
	Text string
	// Attempts counts the deliveries that failed already.
	Attempts int
}

// Outbox is where events wait. Claim hands out undelivered events that no other
// deliverer holds, for lease; Delivered and Failed settle one. Failed with dead
// moves the event to the dead letters, with reason.
type Outbox interface {
	Claim(ctx context.Context, limit int, lease time.Duration) ([]Event, error)
	Delivered(ctx context.Context, id int64) error
	Failed(ctx context.Context, id int64, reason string, dead bool) error
}

// Defaults of Sender.
const (
	DefaultMaxAttempts = 5
	DefaultBackoff     = time.Second
	defaultTimeout     = 10 * time.Second
	claimBatch         = 100
)

// Sender posts events to URL. The URL of an incoming webhook is a secret (it is
// the credential), so it never appears in an error or a log line.
type Sender struct {
	URL string
	// Client defaults to one with a 10-second timeout.
	Client *http.Client
	// MaxAttempts is how many times an event is tried in all before it is
	// recorded dead; default 5.
	MaxAttempts int
	// Backoff is the wait before the second attempt, doubled before each next
	// one; zero retries at once (the config's default is DefaultBackoff).
	Backoff time.Duration
	Log     *slog.Logger
}

// Report counts what one delivery run did.
type Report struct {
	Delivered, Retried, Dead int
}

// ErrConfig is returned for a webhook URL that cannot be used.
var ErrConfig = errors.New("webhook URL unusable")

// Check refuses a URL that is not absolute http(s), without repeating it.
func Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: want an absolute http:// or https:// URL", ErrConfig)
	}
	return nil
}

// Deliver posts every event the outbox hands out until none is left or the
// context ends. An event is tried until it succeeds or has failed MaxAttempts
// times in all (counting earlier runs), waiting Backoff, then twice as long, in
// between.
func (s *Sender) Deliver(ctx context.Context, box Outbox) (Report, error) {
	var rep Report
	if err := Check(s.URL); err != nil {
		return rep, err
	}
	max, backoff := s.MaxAttempts, s.Backoff
	if max <= 0 {
		max = DefaultMaxAttempts
	}
	if backoff < 0 {
		backoff = 0
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The lease covers every attempt of one event, so no other deliverer claims
	// it while this one waits to retry.
	lease := defaultTimeout*time.Duration(max) + backoff*time.Duration(1<<min(max, 20)) + time.Minute
	for {
		events, err := box.Claim(ctx, claimBatch, lease)
		if err != nil || len(events) == 0 {
			return rep, err
		}
		for _, ev := range events {
			wait := backoff
			for attempt := ev.Attempts + 1; ; attempt++ {
				err := s.post(ctx, ev.Text)
				if err == nil {
					if err := box.Delivered(ctx, ev.ID); err != nil {
						return rep, err
					}
					rep.Delivered++
					break
				}
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				dead := attempt >= max
				if ferr := box.Failed(ctx, ev.ID, err.Error(), dead); ferr != nil {
					return rep, ferr
				}
				if dead {
					log.Warn("notification recorded dead", "event", ev.ID, "kind", ev.Kind, "attempts", attempt, "error", err)
					rep.Dead++
					break
				}
				log.Info("notification failed; retrying", "event", ev.ID, "kind", ev.Kind, "attempt", attempt, "error", err)
				rep.Retried++
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return rep, ctx.Err()
				}
				wait *= 2
			}
		}
	}
}

// escape writes &, < and > as Slack's message format wants them literal: a
// request's reason is the requester's text, and must not become a mention of
// the whole channel (<!channel>) or a disguised link.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// post sends one message. Its errors say what went wrong without the URL.
func (s *Sender) post(ctx context.Context, text string) error {
	body, err := json.Marshal(map[string]string{"text": escape.Replace(text)})
	if err != nil {
		return err
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, errors.Unwrap(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("post to the webhook: %v", ue.Err)
		}
		return fmt.Errorf("post to the webhook: %v", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}
