package pipeline_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/dirstore"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// recorder is an Observer that writes down every call, and can cancel the run
// when a given event happens.
type recorder struct {
	events   []string
	cancelAt string
	cancel   context.CancelFunc
}

func (r *recorder) Phase(name string, done bool) {
	ev := name + " start"
	if done {
		ev = name + " done"
	}
	r.record(ev)
}

func (r *recorder) Rows(phase string, n int) { r.record(fmt.Sprintf("%s rows %d", phase, n)) }

func (r *recorder) record(ev string) {
	r.events = append(r.events, ev)
	if ev == r.cancelAt && r.cancel != nil {
		r.cancel()
	}
}

func TestRunReportsPhasesToObserver(t *testing.T) {
	t.Parallel()
	src := pipeline.DirSource{Dir: "../testdata/sample/tiny"}
	snap, err := src.Load(context.Background())
	require.NoError(t, err)
	records := 0
	for _, a := range snap.Accounts {
		records += len(a.Users) + len(a.Roles) + len(a.UserGrants) + len(a.RoleGrants) + len(a.Tags) + len(a.Policies) + len(a.History)
	}

	for _, dryRun := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run=%v", dryRun), func(t *testing.T) {
			t.Parallel()
			store, err := dirstore.Open(t.TempDir())
			require.NoError(t, err)
			rec := &recorder{}
			res, err := pipeline.Run(context.Background(), pipeline.Config{Source: src, Store: store,
				Flatten: pipeline.Options{Mode: model.Effective, Roles: model.AllRoles}, Publish: model.DefaultPublishOptions(),
				DryRun: dryRun, Observer: rec})
			require.NoError(t, err)
			rows := res.Mirror.Access.Len()
			require.Positive(t, rows)
			last := "publish"
			if dryRun {
				last = "diff"
			}
			require.Equal(t, []string{
				"extract start", fmt.Sprintf("extract rows %d", records), "extract done",
				"flatten start", fmt.Sprintf("flatten rows %d", rows), "flatten done",
				last + " start", fmt.Sprintf("%s rows %d", last, rows), last + " done",
			}, rec.events)
			require.Len(t, res.Phases, 3)
		})
	}
}

// TestCancelledRunPublishesNothing cancels the run's context at each point an
// observer sees, after a first generation exists: the run fails and the first
// generation stays current, with nothing half-written beside it.
func TestCancelledRunPublishesNothing(t *testing.T) {
	t.Parallel()
	src := pipeline.DirSource{Dir: "../testdata/sample/tiny"}
	cfg := func(store model.Store, obs pipeline.Observer) pipeline.Config {
		return pipeline.Config{Source: src, Store: store, Observer: obs,
			Flatten: pipeline.Options{Mode: model.Effective, Roles: model.AllRoles}, Publish: model.DefaultPublishOptions()}
	}
	for _, at := range []string{"extract done", "flatten start", "flatten done", "publish start"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			store, err := dirstore.Open(t.TempDir())
			require.NoError(t, err)
			_, err = pipeline.Run(context.Background(), cfg(store, nil))
			require.NoError(t, err)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := &recorder{cancelAt: at, cancel: cancel}
			// Forced: the same input again would otherwise end before any phase.
			second := cfg(store, rec)
			second.Publish.Force = true
			res, err := pipeline.Run(ctx, second)
			require.ErrorIs(t, err, context.Canceled)
			require.Nil(t, res.Generation)
			require.NotContains(t, rec.events, "publish done")

			gens, err := store.Generations(context.Background())
			require.NoError(t, err)
			require.Len(t, gens, 1, "no second generation, complete or not")
			cur, err := store.Current(context.Background())
			require.NoError(t, err)
			require.Equal(t, 1, cur.Number)
			runs, err := store.Runs(context.Background(), 1)
			require.NoError(t, err)
			require.Equal(t, model.RunFailed, runs[0].Status, "the interrupted run is in the history")
		})
	}
}
