package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
	"github.com/grantmirror/grantmirror/pipeline/snowflake"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, ""},
		{"guard", fmt.Errorf("publish: %w", model.ErrRevokeGuard), KindGuard},
		{"locked", fmt.Errorf("%w: /data", model.ErrLocked), KindLocked},
		{"bad snapshot", fmt.Errorf("read dir:x: %w", fmt.Errorf("users.csv:3: %w", model.ErrInput)), KindInput},
		{"empty extract", model.ErrEmptyExtract, KindInput},
		{"snowflake error", &snowflake.Error{Code: 2003, Kind: snowflake.ErrPermission}, KindSnowflake},
		{"snowflake error without kind", fmt.Errorf("read snowflake:ACME: %w", &snowflake.Error{Code: 1}), KindSnowflake},
		{"snowflake timeout", fmt.Errorf("%w: %w", snowflake.ErrTimeout, context.DeadlineExceeded), KindSnowflake},
		{"snowflake auth", fmt.Errorf("login: %w", snowflake.ErrAuth), KindSnowflake},
		{"bad target", fmt.Errorf("%w: empty directory", model.ErrTarget), KindTarget},
		{"postgres unreachable", fmt.Errorf("%w: dial tcp", pgstore.ErrUnreachable), KindTarget},
		{"postgres permission", pgstore.ErrPermission, KindTarget},
		{"interrupted", context.Canceled, KindOther},
		{"disk full", errors.New("write access.parquet: no space left on device"), KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Classify(tt.err))
		})
	}
}

// mirror builds a flattened mirror of rows rows from a snapshot of one account.
func mirror(rows int) *model.Mirror {
	rs := make([]model.Row, rows)
	for i := range rs {
		rs[i] = model.Row{Account: "ACME", Email: fmt.Sprintf("p%d@example.com", i), ObjectType: "TABLE", ObjectName: "DB.S.T", Privilege: "SELECT"}
	}
	acct := &model.Account{Name: "ACME",
		Users:      make([]model.User, 4),
		UserGrants: make([]model.UserGrant, 5),
		RoleGrants: make([]model.RoleGrant, 6),
	}
	return &model.Mirror{Access: model.NewAccess(rs), Snapshot: &model.Snapshot{Accounts: []*model.Account{acct}},
		Excluded: []model.Exclusion{{Account: "ACME", User: "SVC_1"}}}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func published(gen, rows, added, removed int, end time.Time) Run {
	return Run{
		Result: &pipeline.Result{Mirror: mirror(rows), Added: added, Removed: removed,
			Generation: &model.Generation{Number: gen, Rows: rows, Added: added, Removed: removed},
			Phases:     []pipeline.Phase{{Name: "extract", Duration: 2 * time.Second}, {Name: "flatten", Duration: time.Second}, {Name: "publish", Duration: 500 * time.Millisecond}}},
		Start: end.Add(-4 * time.Second), End: end,
	}
}

func TestObserve(t *testing.T) {
	t.Parallel()
	s := New("v1.2.3")

	s.Observe(published(7, 3, 3, 0, t0))
	require.Equal(t, 1.0, testutil.ToFloat64(s.runs.WithLabelValues(OutcomePublished)))
	require.Equal(t, 3.0, testutil.ToFloat64(s.published))
	require.Equal(t, 7.0, testutil.ToFloat64(s.generation))
	require.Equal(t, 3.0, testutil.ToFloat64(s.added))
	require.Equal(t, 1.0, testutil.ToFloat64(s.excluded))
	require.Equal(t, 2.0, testutil.ToFloat64(s.phases.WithLabelValues("extract")))
	require.Equal(t, 0.5, testutil.ToFloat64(s.phases.WithLabelValues("publish")))
	require.Equal(t, 4.0, testutil.ToFloat64(s.extracted.WithLabelValues("users")))
	require.Equal(t, 6.0, testutil.ToFloat64(s.extracted.WithLabelValues("grants_to_roles")))
	require.Equal(t, float64(t0.Unix()), testutil.ToFloat64(s.lastSuccessTS))
	require.Equal(t, t0, s.LastSuccess())

	// A run that fails in extract counts an error and keeps the last success,
	// the published rows and the phases it never reached.
	failed := Run{Result: &pipeline.Result{}, Err: fmt.Errorf("read dir:x: %w", model.ErrInput), Start: t0.Add(time.Hour), End: t0.Add(time.Hour + time.Second)}
	s.Observe(failed)
	require.Equal(t, 1.0, testutil.ToFloat64(s.runs.WithLabelValues(OutcomeFailed)))
	require.Equal(t, 1.0, testutil.ToFloat64(s.errs.WithLabelValues(string(KindInput))))
	require.Equal(t, 0.0, testutil.ToFloat64(s.errs.WithLabelValues(string(KindGuard))))
	require.Equal(t, float64(t0.Unix()), testutil.ToFloat64(s.lastSuccessTS))
	require.Equal(t, 3.0, testutil.ToFloat64(s.published))
	require.Equal(t, 0.5, testutil.ToFloat64(s.phases.WithLabelValues("publish")))

	// A refused publish is an error of kind guard and a refusal.
	refused := Run{Result: &pipeline.Result{Mirror: mirror(1), Refused: true,
		Phases: []pipeline.Phase{{Name: "extract", Duration: time.Second}, {Name: "flatten", Duration: time.Second}}},
		Err: fmt.Errorf("x: %w", model.ErrRevokeGuard), Start: t0.Add(2 * time.Hour), End: t0.Add(2*time.Hour + 2*time.Second)}
	s.Observe(refused)
	require.Equal(t, 1.0, testutil.ToFloat64(s.refusals))
	require.Equal(t, 1.0, testutil.ToFloat64(s.runs.WithLabelValues(OutcomeRefused)))
	require.Equal(t, 1.0, testutil.ToFloat64(s.errs.WithLabelValues(string(KindGuard))))
	require.Equal(t, 1.0, testutil.ToFloat64(s.rows), "the refused mirror's rows")
	require.Equal(t, 3.0, testutil.ToFloat64(s.published), "what readers still see")
	require.Equal(t, 2, testutil.CollectAndCount(s.phases), "publish was not reached: its old gauge is dropped")
	require.Equal(t, 3.0, value(t, family(t, s, NameDuration)), "every run is timed")
	require.Equal(t, float64(t0.Unix()), testutil.ToFloat64(s.lastSuccessTS))
}

func TestEverySeriesExistsBeforeTheFirstRun(t *testing.T) {
	t.Parallel()
	s := New("dev")
	require.Equal(t, 5, testutil.CollectAndCount(s.runs))
	require.Equal(t, len(Kinds), testutil.CollectAndCount(s.errs))
	require.NoError(t, testutil.GatherAndCompare(s.reg, strings.NewReader(`
# HELP grantmirror_build_info Always 1; the version label says which grantmirror runs.
# TYPE grantmirror_build_info gauge
grantmirror_build_info{version="dev"} 1
`), NameBuildInfo))
	require.True(t, s.LastSuccess().IsZero())
}

// family gathers one metric family of s.
func family(t *testing.T, s *Sync, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := s.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric family %s", name)
	return nil
}

// pushed is one request a fake Pushgateway received.
type pushed struct {
	method, path, user, pass string
	families                 map[string]*dto.MetricFamily
}

// gateway is a fake Pushgateway that records what it receives.
type gateway struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []pushed
	status int
}

func setupGateway(t *testing.T, status int) *gateway {
	t.Helper()
	g := &gateway{status: status}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := pushed{method: r.Method, path: r.URL.Path, families: map[string]*dto.MetricFamily{}}
		p.user, p.pass, _ = r.BasicAuth()
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if !errors.Is(err, io.EOF) {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				break
			}
			p.families[mf.GetName()] = &mf
		}
		g.mu.Lock()
		g.got = append(g.got, p)
		g.mu.Unlock()
		w.WriteHeader(g.status)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) last(t *testing.T) pushed {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	require.NotEmpty(t, g.got)
	return g.got[len(g.got)-1]
}

func value(t *testing.T, mf *dto.MetricFamily, labels ...string) float64 {
	t.Helper()
	require.NotNil(t, mf)
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("%s has no series %v", mf.GetName(), labels)
	return 0
}

func TestPush(t *testing.T) {
	t.Parallel()
	g := setupGateway(t, http.StatusOK)
	s := New("v1")

	// A run that published replaces the job's group with everything.
	s.Observe(published(3, 5, 2, 1, t0))
	require.NoError(t, s.Push(context.Background(), g.srv.URL))
	p := g.last(t)
	require.Equal(t, http.MethodPut, p.method)
	require.Equal(t, "/metrics/job/grantmirror", p.path)
	require.Equal(t, 5.0, value(t, p.families[NamePublished]))
	require.Equal(t, 3.0, value(t, p.families[NameGeneration]))
	require.Equal(t, 2.0, value(t, p.families[NameAdded]))
	require.Equal(t, 1.0, value(t, p.families[NameRemoved]))
	require.Equal(t, float64(t0.Unix()), value(t, p.families[NameLastSuccess]))
	require.Equal(t, 1.0, value(t, p.families[NameRuns], "outcome", OutcomePublished))
	require.Equal(t, 1.0, value(t, p.families[NameDuration]))
	require.Equal(t, 6.0, value(t, p.families[NameExtracted], "view", "grants_to_roles"))

	// A failed run adds its own series and leaves the last publish's alone.
	s.Observe(Run{Result: &pipeline.Result{}, Err: fmt.Errorf("%w: busy", model.ErrLocked), Start: t0, End: t0.Add(time.Second)})
	require.NoError(t, s.Push(context.Background(), g.srv.URL))
	p = g.last(t)
	require.Equal(t, http.MethodPost, p.method)
	require.Equal(t, 1.0, value(t, p.families[NameErrors], "kind", string(KindLocked)))
	require.Equal(t, 1.0, value(t, p.families[NameRuns], "outcome", OutcomeFailed))
	for _, kept := range []string{NameLastSuccess, NamePublished, NameGeneration, NameAdded, NameRemoved, NamePhase} {
		require.NotContains(t, p.families, kept, "a failed run must not overwrite %s", kept)
	}
}

func TestPushCredentialsStayOutOfErrors(t *testing.T) {
	t.Parallel()
	g := setupGateway(t, http.StatusOK)
	s := New("v1")
	s.Observe(published(1, 1, 1, 0, t0))
	u := strings.Replace(g.srv.URL, "http://", "http://pusher:hunter2@", 1)
	require.NoError(t, s.Push(context.Background(), u))
	p := g.last(t)
	require.Equal(t, "pusher", p.user)
	require.Equal(t, "hunter2", p.pass)

	bad := setupGateway(t, http.StatusInternalServerError)
	u = strings.Replace(bad.srv.URL, "http://", "http://pusher:hunter2@", 1)
	err := s.Push(context.Background(), u)
	require.ErrorIs(t, err, ErrPushgateway)
	require.Contains(t, err.Error(), "500")
	require.NotContains(t, err.Error(), "hunter2")
}

func TestPushRejectsUnusableURLs(t *testing.T) {
	t.Parallel()
	s := New("v1")
	for _, u := range []string{"", "ftp://gw:9091", "http://user:pa ss@%zz"} {
		err := s.Push(context.Background(), u)
		require.ErrorIs(t, err, ErrPushgateway, u)
		require.NotContains(t, err.Error(), "pa ss")
	}
}

func TestPushUnreachableGatewayFails(t *testing.T) {
	t.Parallel()
	g := setupGateway(t, http.StatusOK)
	addr := g.srv.URL
	g.srv.Close()
	s := New("v1")
	s.Observe(published(1, 1, 1, 0, t0))
	require.ErrorIs(t, s.Push(context.Background(), addr), ErrPushgateway)
}

// TestBreakGlassFollowsTheDatabase rises by what the database recorded since the
// last observation, never falls, and joins the next push.
func TestBreakGlassFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	s := New("dev")
	require.Equal(t, 0.0, testutil.ToFloat64(s.breakGlass))
	s.Observe(published(1, 10, 10, 0, time.Now()))
	s.ObserveBreakGlass(2)
	require.Equal(t, 2.0, testutil.ToFloat64(s.breakGlass))
	s.ObserveBreakGlass(3)
	s.ObserveBreakGlass(1)
	require.Equal(t, 3.0, testutil.ToFloat64(s.breakGlass), "a counter never goes down")
	require.True(t, s.touched[NameBreakGlass])
}
