package dirstore

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// benchSizes are the accounts of BENCHMARKS.md §6; GRANTMIRROR_BENCH_LARGE=1 adds
// 50,000 users.
func benchSizes() []sample.Options {
	sizes := []sample.Options{{Users: 20_000, Roles: 4000, Grants: 400_000, Seed: 1}}
	if os.Getenv("GRANTMIRROR_BENCH_LARGE") != "" {
		sizes = append(sizes, sample.Options{Users: 50_000, Roles: 10_000, Grants: 1_000_000, Seed: 1})
	}
	return sizes
}

// peakRSS resets the process's peak resident set (Linux: clear_refs 5) and returns
// a function reading the peak since, in bytes.
// rss is the process's resident set now, in bytes.
func rss() float64 { return procStatus("VmRSS:") }

func procStatus(field string) float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(st, []byte("\n")) {
		if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == field {
			kb, _ := strconv.ParseFloat(string(f[1]), 64)
			return kb * 1024
		}
	}
	return 0
}

func peakRSS(b *testing.B) func() float64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not measured: %v", err)
		return func() float64 { return 0 }
	}
	return func() float64 { return procStatus("VmHWM:") }
}

// cpuTime is the CPU time the process has used, user and system: on a shared
// machine it says what a step costs where wall time says how loaded the machine was.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// step times fn and reports its wall and CPU seconds as name-s and name-cpu-s.
func step(b *testing.B, name string, fn func()) time.Duration {
	start, cpu := time.Now(), cpuTime()
	fn()
	d := time.Since(start)
	b.ReportMetric(d.Seconds(), name+"-s")
	b.ReportMetric((cpuTime() - cpu).Seconds(), name+"-cpu-s")
	return d
}

func dirBytes(dir string) float64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return float64(n)
}

// BenchmarkDirectoryTarget publishes a generated account to an empty directory
// target, publishes it again unchanged, then with 1% of the people disabled, and
// asks the point questions of check and explain and the diffs of both pairs:
//
//	go test ./pipeline/dirstore -run '^$' -bench DirectoryTarget -benchtime 1x
func BenchmarkDirectoryTarget(b *testing.B) {
	for _, size := range benchSizes() {
		for _, mode := range []model.Mode{model.Effective, model.Granted} {
			b.Run(fmt.Sprintf("users=%d/%s", size.Users, mode), func(b *testing.B) {
				a, err := sample.Generate(size)
				require.NoError(b, err)
				m, err := pipeline.Flatten(&model.Snapshot{Accounts: []*model.Account{a}}, pipeline.Options{Mode: mode})
				require.NoError(b, err)
				// 1% of the people are disabled: their rows and memberships go.
				changed := *a
				changed.Users = append([]model.User(nil), a.Users...)
				for i := range changed.Users {
					if i%100 == 50 {
						changed.Users[i].Disabled = true
					}
				}
				m2, err := pipeline.Flatten(&model.Snapshot{Accounts: []*model.Account{&changed}}, pipeline.Options{Mode: mode})
				require.NoError(b, err)
				var email, object string
				for r := range m.Access.All() {
					if r.ObjectType == "TABLE" {
						email, object = r.Email, r.ObjectName
						break
					}
				}
				ctx := context.Background()
				opts := model.DefaultPublishOptions()
				for b.Loop() {
					dir := b.TempDir()
					s, err := Open(dir)
					require.NoError(b, err)
					runtime.GC()
					base := rss()
					b.ReportMetric(base/(1<<20), "RSS-before-MB")
					peak := peakRSS(b)
					first := step(b, "first", func() {
						_, err = s.Publish(ctx, m, opts)
						require.NoError(b, err)
					})
					b.ReportMetric(float64(m.Access.Len())/first.Seconds()/1e6, "first-Mrows/s")
					b.ReportMetric(peak()/(1<<20), "peak-RSS-MB")
					full := dirBytes(dir)
					b.ReportMetric(full/(1<<20), "first-MB")

					step(b, "unchanged", func() {
						_, err = s.Publish(ctx, m, opts)
						require.NoError(b, err)
					})
					b.ReportMetric((dirBytes(dir)-full)/(1<<20), "unchanged-MB")

					before := dirBytes(dir)
					step(b, "changed1%", func() {
						_, err = s.Publish(ctx, m2, opts)
						require.NoError(b, err)
					})
					b.ReportMetric((dirBytes(dir)-before)/(1<<20), "changed1%-MB")

					r := model.ReaderOf(s)
					step(b, "slice", func() {
						sl, err := r.Slice(ctx, 0, model.Focus{Email: email, Objects: []string{object}})
						require.NoError(b, err)
						require.NotZero(b, sl.Access.Len())
					})
					step(b, "slice-email", func() {
						sl, err := r.Slice(ctx, 0, model.Focus{Email: email})
						require.NoError(b, err)
						require.NotZero(b, sl.Access.Len())
					})
					step(b, "changes-same", func() {
						c, err := r.Changes(ctx, 1, 2, model.Focus{})
						require.NoError(b, err)
						require.Empty(b, c.Added)
					})
					step(b, "changes-1%", func() {
						c, err := r.Changes(ctx, 2, 3, model.Focus{})
						require.NoError(b, err)
						require.NotEmpty(b, c.Removed)
					})
					step(b, "scan", func() {
						n := 0
						require.NoError(b, r.Scan(ctx, 0, func(model.Row) error { n++; return nil }))
						require.Equal(b, m2.Access.Len(), n)
					})
				}
				b.ReportMetric(float64(m.Access.Len()), "rows")
			})
		}
	}
}
