package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/snaptest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/dirstore"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

func TestCheckChanges(t *testing.T) {
	t.Parallel()
	opts := model.DefaultPublishOptions()
	for _, tc := range []struct {
		name    string
		changes []model.AccountChange
		want    []string // "" : passes
	}{
		{"nothing published yet", []model.AccountChange{{Account: "A", Next: 100, Added: 100}}, nil},
		{"small change", []model.AccountChange{{Account: "A", Current: 100, Next: 110, Added: 15, Removed: 5}}, nil},
		{"new account beside an old one", []model.AccountChange{
			{Account: "A", Current: 100, Next: 100},
			{Account: "B", Next: 5000, Added: 5000}}, nil},
		{"account vanished", []model.AccountChange{
			{Account: "A", Current: 100, Next: 100},
			{Account: "B", Current: 10, Removed: 10, Vanished: true}},
			[]string{"account B (10 rows) is missing from the new snapshot"}},
		{"account emptied", []model.AccountChange{
			{Account: "A", Current: 1000, Next: 1000},
			{Account: "B", Current: 10, Removed: 10}},
			[]string{"account B would lose all its 10 rows"}},
		{"too many removed in one account, few overall", []model.AccountChange{
			{Account: "A", Current: 10000, Next: 10000},
			{Account: "B", Current: 100, Next: 70, Removed: 30}},
			[]string{"account B would lose 30 of its 100 rows (30.0%, limit 20.0%)"}},
		{"too many added", []model.AccountChange{{Account: "A", Current: 100, Next: 151, Added: 51}},
			[]string{"account A would gain 51 rows on its 100 (51.0%, limit 50.0%)"}},
		{"every problem named", []model.AccountChange{
			{Account: "A", Current: 100, Next: 200, Added: 100},
			{Account: "B", Current: 100, Next: 50, Removed: 50},
			{Account: "C", Current: 3, Removed: 3, Vanished: true}},
			[]string{"account A would gain 100", "account B would lose 50 of its 100", "account C (3 rows) is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := model.CheckChanges(tc.changes, opts)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, model.ErrRevokeGuard)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			var g *model.GuardError
			require.True(t, errors.As(err, &g))
			require.Len(t, g.Problems, len(tc.want))
			forced := opts
			forced.Force = true
			require.NoError(t, model.CheckChanges(tc.changes, forced))
		})
	}
}

func TestPublishOptionsValidate(t *testing.T) {
	t.Parallel()
	o := model.DefaultPublishOptions()
	require.NoError(t, o.Validate())
	o.MaxAddRatio = 3
	require.NoError(t, o.Validate(), "growth beyond the current size is allowed when configured")
	o.MaxAddRatio = -0.1
	require.ErrorContains(t, o.Validate(), "max-add-ratio -0.1")
}

// storeKinds opens a fresh, empty store of each target kind.
var storeKinds = []struct {
	name string
	open func(t *testing.T) model.Store
}{
	{"dir", func(t *testing.T) model.Store {
		s, err := dirstore.Open(t.TempDir())
		require.NoError(t, err)
		return s
	}},
	{"postgres", func(t *testing.T) model.Store {
		pool := pgtest.Pool(t)
		schema := pgtest.Schema(t, pool)
		s, err := pgstore.Open(context.Background(), pgtest.URL(), pgstore.Options{Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// copyDir copies a snapshot directory (files only, one level).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(to, 0o755))
	entries, err := os.ReadDir(from)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o644))
	}
}

// multiSnapshot writes a snapshot of three accounts, ACME, ADV and TINY, from
// the bundled samples.
func multiSnapshot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"acme", "adversarial", "tiny"} {
		copyDir(t, filepath.Join("..", "testdata", "sample", name), filepath.Join(dir, name))
	}
	return dir
}

func syncConfig(dir string, store model.Store, force bool) pipeline.Config {
	opts := model.DefaultPublishOptions()
	opts.Force = force
	return pipeline.Config{Source: pipeline.DirSource{Dir: dir}, Store: store, Publish: opts,
		Flatten: pipeline.Options{Mode: model.Effective, Roles: model.AllRoles}}
}

// accountRows counts the rows of each account of a generation.
func accountRows(t *testing.T, s model.Store) map[string]int {
	t.Helper()
	m, err := s.Open(context.Background(), 0)
	require.NoError(t, err)
	out := map[string]int{}
	for r := range m.Access.All() {
		out[r.Account]++
	}
	return out
}

// TestAccountVanishes is the multi-account vanish matrix: on both targets, an
// account that drops out of the snapshot, or loses all its rows, is refused by
// name while the other accounts are untouched, the refused run is recorded with
// the rows it would have removed, and --force publishes it.
func TestAccountVanishes(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		for _, tc := range []struct {
			name    string
			account string
			damage  func(t *testing.T, dir string)
			want    string
		}{
			{"account directory removed", "ADV", func(t *testing.T, dir string) {
				require.NoError(t, os.RemoveAll(filepath.Join(dir, "adversarial")))
			}, "account ADV (%d rows) is missing from the new snapshot"},
			{"grants_to_roles.csv cut to its header", "ACME", func(t *testing.T, dir string) {
				cutToHeader(t, filepath.Join(dir, "acme", "grants_to_roles.csv"))
			}, "account ACME would lose all its %d rows"},
			{"grants_to_users.csv cut to its header", "TINY", func(t *testing.T, dir string) {
				cutToHeader(t, filepath.Join(dir, "tiny", "grants_to_users.csv"))
			}, "account TINY would lose all its %d rows"},
		} {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				s := kind.open(t)
				dir := multiSnapshot(t)
				first, err := pipeline.Run(ctx, syncConfig(dir, s, false))
				require.NoError(t, err)
				before := accountRows(t, s)
				require.Len(t, before, 3)
				lost := before[tc.account]
				require.Positive(t, lost)

				tc.damage(t, dir)
				for _, sub := range []string{"acme", "adversarial", "tiny"} {
					snaptest.Reseal(t, filepath.Join(dir, sub))
				}
				res, err := pipeline.Run(ctx, syncConfig(dir, s, false))
				require.ErrorIs(t, err, model.ErrRevokeGuard)
				require.ErrorContains(t, err, strings.ReplaceAll(tc.want, "%d", strconv.Itoa(lost)))
				require.True(t, res.Refused)
				cur, err := s.Current(ctx)
				require.NoError(t, err)
				require.Equal(t, first.Generation.Number, cur.Number, "a refused run publishes nothing")
				require.Equal(t, before, accountRows(t, s))
				runs, err := s.Runs(ctx, 1)
				require.NoError(t, err)
				require.Equal(t, model.RunRefused, runs[0].Status)
				require.Equal(t, lost, runs[0].Removed, "the refused run records what it would have removed")
				require.Zero(t, runs[0].Added)

				res, err = pipeline.Run(ctx, syncConfig(dir, s, true))
				require.NoError(t, err)
				require.Equal(t, lost, res.Removed)
				after := accountRows(t, s)
				require.Zero(t, after[tc.account])
				for name, n := range before {
					if name != tc.account {
						require.Equal(t, n, after[name], "account %s is untouched", name)
					}
				}
			})
		}
	}
}

// TestGuardRefusesAdditions grants access to more people than the account's
// rows allow for in one sync, as an extract that lost its DISABLED column's
// values would: the guard refuses the additions on both targets and records
// what they would have been. (A record cut short is the reader's to reject; a
// whole but wrong record only the guard can weigh.)
func TestGuardRefusesAdditions(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := kind.open(t)
			dir := t.TempDir()
			copyDir(t, filepath.Join("..", "testdata", "sample", "tiny"), dir)
			_, err := pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			before := accountRows(t, s)

			// Two disabled users come back as active, with BEN's role: 14 rows
			// added to TINY's 10.
			appendTo(t, filepath.Join(dir, "users.csv"), "CARL,carl@tiny.example,false,\nDORA,dora@tiny.example,false,\n")
			appendTo(t, filepath.Join(dir, "grants_to_users.csv"), "WRITER,USER,CARL,\nWRITER,USER,DORA,\n")
			snaptest.Reseal(t, dir)
			res, err := pipeline.Run(ctx, syncConfig(dir, s, false))
			require.ErrorIs(t, err, model.ErrRevokeGuard)
			require.ErrorContains(t, err, "account TINY would gain 14 rows on its 10")
			require.Equal(t, 14, res.Added)
			require.Equal(t, before, accountRows(t, s), "the additions are not published")
			runs, err := s.Runs(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, model.RunRefused, runs[0].Status)
			require.Equal(t, res.Added, runs[0].Added, "the refused run records what it would have added")
		})
	}
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func cutToHeader(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	head, _, _ := strings.Cut(string(b), "\n")
	require.NoError(t, os.WriteFile(path, []byte(head+"\n"), 0o644))
}

// TestAccountWithoutUsers: in a multi-account snapshot, an account whose
// users.csv went missing fails the sync on both targets, naming the file, and
// the published generation stays as it was.
func TestAccountWithoutUsers(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := kind.open(t)
			dir := multiSnapshot(t)
			first, err := pipeline.Run(ctx, syncConfig(dir, s, false))
			require.NoError(t, err)
			before := accountRows(t, s)

			users := filepath.Join(dir, "acme", "users.csv")
			require.NoError(t, os.Remove(users))
			for _, force := range []bool{false, true} {
				_, err = pipeline.Run(ctx, syncConfig(dir, s, force))
				require.ErrorIs(t, err, model.ErrInput, "even --force cannot publish an account without its users")
				require.ErrorContains(t, err, users+": required file users.csv is missing")
			}
			cur, err := s.Current(ctx)
			require.NoError(t, err)
			require.Equal(t, first.Generation.Number, cur.Number)
			require.Equal(t, before, accountRows(t, s))
			runs, err := s.Runs(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, model.RunFailed, runs[0].Status)
		})
	}
}
