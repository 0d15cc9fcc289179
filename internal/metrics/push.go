package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/push"
)

// Job is the job label grantmirror pushes under.
const Job = "grantmirror"

// pushTimeout bounds a push, so an unreachable Pushgateway cannot hold up the
// end of a sync.
const pushTimeout = 15 * time.Second

// Push sends the metrics of the last run to the Pushgateway at gateway (a URL,
// or host:port), under job "grantmirror". After a run that published, it
// replaces everything the job pushed before (HTTP PUT). After any other run it
// replaces only the series that run set (HTTP POST), so the Pushgateway keeps
// the time and row counts of the last publish, which is what staleness alerts
// compare against. Credentials in the URL are sent as basic auth and never
// appear in errors.
func (s *Sync) Push(ctx context.Context, gateway string) error {
	target, user, pass, err := splitUserinfo(gateway)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	last := s.LastRun()
	published := Outcome(last.Result, last.Err) == OutcomePublished
	p := push.New(target, Job).Client(&http.Client{Timeout: pushTimeout})
	if user != "" {
		p = p.BasicAuth(user, pass)
	}
	if published {
		err = p.Gatherer(s.reg).PushContext(ctx)
	} else {
		err = p.Gatherer(s.touchedGatherer()).AddContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrPushgateway, target, err)
	}
	return nil
}

// splitUserinfo takes the user and password out of a Pushgateway URL.
func splitUserinfo(gateway string) (target, user, pass string, err error) {
	if strings.TrimSpace(gateway) == "" {
		return "", "", "", fmt.Errorf("%w: empty URL", ErrPushgateway)
	}
	if !strings.Contains(gateway, "://") {
		gateway = "http://" + gateway
	}
	u, err := url.Parse(gateway)
	if err != nil {
		// url.Parse quotes the whole input, password included.
		return "", "", "", fmt.Errorf("%w: cannot parse the URL", ErrPushgateway)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", "", fmt.Errorf("%w: scheme %q: want http or https", ErrPushgateway, u.Scheme)
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	return u.String(), user, pass, nil
}
