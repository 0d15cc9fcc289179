package pgstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// BenchmarkSyncSample runs whole syncs (read the snapshot directory, flatten,
// publish) of `grantmirror sample --users 20000 --roles 4000 --grants 400000`
// into a fresh schema, side by side in one run: the first sync; a resync of the
// same snapshot (which ends at its fingerprint); a resync of the same content
// under another manifest (read and flattened, found unchanged); a forced
// publish of an identical generation; and a resync after 1% of the users lost
// their role grants. It
// reports each in seconds, and the bytes the 1% resync's generation added to the
// row tables against the full first generation (pg_total_relation_size).
//
//	go test -run '^$' -bench BenchmarkSyncSample -benchtime 1x -timeout 30m ./pipeline/pgstore/
func BenchmarkSyncSample(b *testing.B) {
	ctx := context.Background()
	a, err := sample.Generate(sample.Options{Users: 20_000, Roles: 4000, Grants: 400_000, Seed: 1})
	require.NoError(b, err)
	full := b.TempDir()
	require.NoError(b, pipeline.WriteSnapshot(full, &model.Snapshot{Accounts: []*model.Account{a}}))
	changed := *a
	changed.UserGrants = append([]model.UserGrant(nil), a.UserGrants...)
	gone := map[string]bool{}
	for i, u := range a.Users {
		if i%100 == 0 {
			gone[u.Name] = true
		}
	}
	for i := range changed.UserGrants {
		if gone[changed.UserGrants[i].Grantee] {
			changed.UserGrants[i].DeletedOn = a.ExtractedAt.Add(-time.Hour)
		}
	}
	// The same snapshot with its manifest rewritten: another fingerprint, so the
	// sync reads and flattens it, and finds the mirror unchanged.
	reread := b.TempDir()
	require.NoError(b, pipeline.WriteSnapshot(reread, &model.Snapshot{Accounts: []*model.Account{a}}))
	man, err := os.ReadFile(filepath.Join(reread, "manifest.json"))
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(filepath.Join(reread, "manifest.json"), append(man, '\n'), 0o644))
	onePercent := b.TempDir()
	require.NoError(b, pipeline.WriteSnapshot(onePercent, &model.Snapshot{Accounts: []*model.Account{&changed}}))

	totals := map[string]float64{}
	var rows, fullBytes, changedBytes int64
	for b.Loop() {
		b.StopTimer()
		s, f := setup(b)
		b.StartTimer()
		for _, step := range []struct {
			name, dir string
			force     bool
		}{{"first", full, false}, {"unchanged", full, false}, {"unchanged-reread", reread, false}, {"forced", full, true}, {"one-percent", onePercent, false}} {
			start := time.Now()
			res, err := pipeline.Run(ctx, pipeline.Config{Source: pipeline.DirSource{Dir: step.dir}, Store: s, Publish: model.PublishOptions{MaxRevokeRatio: 0.2, MaxAddRatio: 0.5, Keep: 3, Force: step.force}})
			require.NoError(b, err)
			totals[step.name+"-s"] += time.Since(start).Seconds()
			for _, p := range res.Phases {
				totals[step.name+"-"+p.Name+"-s"] += p.Duration.Seconds()
			}
			b.StopTimer()
			switch step.name {
			case "first":
				rows = int64(res.Mirror.Access.Len())
				fullBytes = f.rowBytes(b)
			case "unchanged":
				require.True(b, res.InputUnchanged, "the same input is not read again")
			case "unchanged-reread":
				require.True(b, res.Unchanged)
				require.False(b, res.InputUnchanged)
			case "forced":
				require.Zero(b, res.Added+res.Removed)
				changedBytes = f.rowBytes(b)
			case "one-percent":
				require.Positive(b, res.Removed)
				b.Logf("1%% of users: +%d −%d rows", res.Added, res.Removed)
				changedBytes = f.rowBytes(b) - changedBytes
			}
			b.StartTimer()
		}
		b.StopTimer()
		reads(b, s, a, totals)
		b.StartTimer()
	}
	for name, total := range totals {
		b.ReportMetric(total/float64(b.N), name)
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(fullBytes), "full-generation-bytes")
	b.ReportMetric(float64(changedBytes), "one-percent-generation-bytes")
	b.ReportMetric(100*float64(changedBytes)/float64(fullBytes), "one-percent-%-of-full")
}

// reads times the Reader's questions on the three generations of
// BenchmarkSyncSample, each the best of five (the first warms the caches):
// check's and explain's slice for one person and object, the slice of one
// object's audience, the changes between identical generations (1 and 2) and
// between generations 1% apart (2 and 3), and the object names.
func reads(b *testing.B, s *Store, a *model.Account, totals map[string]float64) {
	ctx := context.Background()
	var email, object string
	require.NoError(b, s.Scan(ctx, 0, func(r model.Row) error {
		if email == "" && r.ObjectType == "TABLE" {
			email, object = r.Email, r.ObjectName
		}
		return nil
	}))
	best := func(name string, fn func() error) {
		var min time.Duration
		for i := range 5 {
			start := time.Now()
			require.NoError(b, fn())
			if d := time.Since(start); i == 0 || d < min {
				min = d
			}
		}
		totals[name] += min.Seconds()
	}
	best("read-slice-person-object-s", func() error {
		_, err := s.Slice(ctx, 0, model.Focus{Email: email, Objects: []string{object}})
		return err
	})
	best("read-slice-object-s", func() error {
		_, err := s.Slice(ctx, 0, model.Focus{Objects: []string{object}})
		return err
	})
	best("read-changes-identical-s", func() error {
		c, err := s.Changes(ctx, 1, 2, model.Focus{})
		if err == nil && len(c.Added)+len(c.Removed) != 0 {
			b.Fatalf("identical generations differ")
		}
		return err
	})
	best("read-changes-one-percent-s", func() error {
		c, err := s.Changes(ctx, 2, 3, model.Focus{})
		if err == nil && len(c.Removed) == 0 {
			b.Fatalf("no change found")
		}
		return err
	})
	best("read-object-names-s", func() error {
		_, err := s.ObjectNames(ctx, 0, a.Name)
		return err
	})
}
