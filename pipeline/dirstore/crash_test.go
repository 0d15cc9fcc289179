package dirstore

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

// publishSteps are the failpoints of Publish, in order; from "pointed" on, the new
// generation is current.
var publishSteps = []string{"parts", "written", "renamed", "logged", "pointed", "trashed"}

func pointerMoved(step string) bool { return step == "pointed" || step == "trashed" }

// crashEnv makes the test binary a child that publishes and SIGKILLs itself at
// the named step: TestMain runs it instead of the tests.
const crashEnv = "GRANTMIRROR_DIRSTORE_CRASH"

func TestMain(m *testing.M) {
	if v := os.Getenv(crashEnv); v != "" {
		step, dir, _ := strings.Cut(v, ":")
		os.Exit(crashChild(step, dir))
	}
	os.Exit(m.Run())
}

// crashChild publishes the granted sample and is killed at step; it returns only
// if the step never came.
func crashChild(step, dir string) int {
	s, err := Open(dir)
	if err != nil {
		return 2
	}
	s.failpoint = func(at string) error {
		if at == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
		return nil
	}
	opts := model.DefaultPublishOptions()
	opts.Force = true
	opts.Keep = 0
	if _, err := s.Publish(context.Background(), storetest.Sample(&testing.T{}, model.Granted), opts); err != nil {
		return 2
	}
	return 0
}

// checkAfterCrash checks a target whose second publish died at step: the
// generation readers get is the one the pointer names, exactly; a directory that
// was never published is not listed, not a rollback target, not counted in
// retention; the next publish cleans up and keeps the real previous generation.
func checkAfterCrash(t *testing.T, dir, step string, first, second *model.Mirror) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(dir)
	require.NoError(t, err)
	want, wantN := first, 1
	if pointerMoved(step) {
		want, wantN = second, 2
	}
	cur, err := s.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, wantN, cur.Number)
	back, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, slices.Collect(want.Access.All()), slices.Collect(back.Access.All()))
	require.Equal(t, want.Memberships, back.Memberships)

	gens, err := s.Generations(ctx)
	require.NoError(t, err)
	var numbers []int
	for _, g := range gens {
		numbers = append(numbers, g.Number)
	}
	if pointerMoved(step) {
		require.Contains(t, numbers, 2)
		// The run record of the publish survives the kill.
		runs, err := s.Runs(ctx, 10)
		require.NoError(t, err)
		require.NotEmpty(t, runs)
		require.Equal(t, 2, runs[0].Generation)
		require.Equal(t, model.RunPublished, runs[0].Status)
		require.Equal(t, second.Access.Len(), runs[0].Rows)
	} else {
		require.Equal(t, []int{1}, numbers, "a generation that was never published is not listed")
		_, err = s.Rollback(ctx, 2)
		require.ErrorIs(t, err, model.ErrUnknownGeneration, "never published: not a rollback target")
		_, err = s.Open(ctx, 2)
		require.ErrorIs(t, err, model.ErrUnknownGeneration)
	}

	keep := model.DefaultPublishOptions()
	keep.Keep = 1
	keep.Force = true
	g, err := s.Publish(ctx, first, keep)
	require.NoError(t, err)
	gens, err = s.Generations(ctx)
	require.NoError(t, err)
	numbers = numbers[:0]
	for _, x := range gens {
		numbers = append(numbers, x.Number)
	}
	require.Equal(t, []int{g.Number, wantN}, numbers, "the generation that was current is the one kept")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), tmpPrefix, "leftover temporary generation")
		if strings.HasPrefix(e.Name(), genPrefix) {
			require.Contains(t, []string{genDir(g.Number), genDir(wantN)}, e.Name(), "a never-published generation was left")
		}
	}
	g, err = s.Rollback(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, wantN, g.Number)
	back, err = s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, slices.Collect(want.Access.All()), slices.Collect(back.Access.All()))
	requireNoOrphans(t, s)
}

// requireNoOrphans checks that every partition file is named by a kept generation.
func requireNoOrphans(t *testing.T, s *Store) {
	t.Helper()
	unlock, err := s.lock()
	require.NoError(t, err)
	defer unlock()
	before, err := os.ReadDir(filepath.Join(s.dir, partsDir))
	require.NoError(t, err)
	require.NoError(t, s.collect())
	after, err := os.ReadDir(filepath.Join(s.dir, partsDir))
	require.NoError(t, err)
	require.Equal(t, len(before), len(after), "partition files left that no generation names")
}

// TestCrashAtEveryStep interrupts a publish at each step, as a kill would, with
// an injected failure.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, step := range publishSteps {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			s, err := Open(dir)
			require.NoError(t, err)
			first, second := storetest.Sample(t, model.Effective), storetest.Sample(t, model.Granted)
			_, err = s.Publish(ctx, first, model.DefaultPublishOptions())
			require.NoError(t, err)
			crash := errors.New("killed")
			s.failpoint = func(at string) error {
				if at == step {
					return crash
				}
				return nil
			}
			opts := model.DefaultPublishOptions()
			opts.Keep, opts.Force = 0, true
			_, err = s.Publish(ctx, second, opts)
			require.ErrorIs(t, err, crash)
			checkAfterCrash(t, dir, step, first, second)
		})
	}
}

// TestKilledPublish kills a real child process (this test binary, re-executed) at
// each step of its publish with SIGKILL: nothing runs after the kill, no deferred
// cleanup, no error path.
func TestKilledPublish(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, step := range publishSteps {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			s, err := Open(dir)
			require.NoError(t, err)
			first, second := storetest.Sample(t, model.Effective), storetest.Sample(t, model.Granted)
			_, err = s.Publish(ctx, first, model.DefaultPublishOptions())
			require.NoError(t, err)

			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), crashEnv+"="+step+":"+dir)
			err = cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			ws, ok := exit.Sys().(syscall.WaitStatus)
			require.True(t, ok)
			require.True(t, ws.Signaled(), "the child must die at %s, not exit (%v)", step, err)
			require.Equal(t, syscall.SIGKILL, ws.Signal())
			checkAfterCrash(t, dir, step, first, second)
		})
	}
}

// TestCrashDuringRollback interrupts a rollback after its log entry: the pointer
// did not move, and both generations stay published.
func TestCrashDuringRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	first, second := storetest.Sample(t, model.Effective), storetest.Sample(t, model.Granted)
	_, err = s.Publish(ctx, first, model.DefaultPublishOptions())
	require.NoError(t, err)
	_, err = s.Publish(ctx, second, model.DefaultPublishOptions())
	require.NoError(t, err)
	crash := errors.New("killed")
	s.failpoint = func(at string) error {
		if at == "rollback-logged" {
			return crash
		}
		return nil
	}
	_, err = s.Rollback(ctx, 1)
	require.ErrorIs(t, err, crash)
	s.failpoint = nil
	cur, err := s.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, cur.Number)
	gens, err := s.Generations(ctx)
	require.NoError(t, err)
	require.Len(t, gens, 2)
	g, err := s.Rollback(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, 1, g.Number)
	// A publish after a rollback keeps the generation it replaced, not the newer
	// one the rollback left.
	keep := model.DefaultPublishOptions()
	keep.Keep, keep.Force = 1, true
	g, err = s.Publish(ctx, second, keep)
	require.NoError(t, err)
	gens, err = s.Generations(ctx)
	require.NoError(t, err)
	require.Len(t, gens, 2)
	require.Equal(t, []int{3, 1}, []int{gens[0].Number, gens[1].Number}, "the generation current before the publish is the one kept")
}
