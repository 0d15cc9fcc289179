package pipeline_test

import (
	"crypto/sha256"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// BenchmarkContentDigest measures the digest that lets a sync skip an
// unchanged generation, beside what it replaces: hashing every row as text.
// Besides wall time it reports the process's CPU time per digest, which a
// loaded machine distorts less.
//
//	go test ./pipeline -run '^$' -bench ContentDigest -benchtime 3x
func BenchmarkContentDigest(b *testing.B) {
	for _, size := range []sample.Options{{Users: 20_000, Roles: 4000, Grants: 400_000, Seed: 1}} {
		a, err := sample.Generate(size)
		require.NoError(b, err)
		for _, mode := range []model.Mode{model.Effective, model.Granted} {
			m, err := pipeline.Flatten(&model.Snapshot{Accounts: []*model.Account{a}}, pipeline.Options{Mode: mode, Roles: model.AllRoles})
			require.NoError(b, err)
			name := sizeName(size) + "/" + string(mode)
			b.Run(name+"/compact", func(b *testing.B) {
				start := cpuTime()
				for b.Loop() {
					m.ContentDigest()
				}
				b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
				b.ReportMetric(float64(m.Access.Len()), "rows")
			})
			b.Run(name+"/rows", func(b *testing.B) {
				var buf []byte
				start := cpuTime()
				for b.Loop() {
					h := sha256.New()
					for r := range m.Access.All() {
						buf = append(append(append(append(append(append(append(append(append(buf[:0],
							r.Account...), 0), r.Email...), 0), r.ObjectType...), 0), r.ObjectName...), 0), r.Privilege...)
						h.Write(buf)
					}
					h.Sum(nil)
				}
				b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
				b.ReportMetric(float64(m.Access.Len()), "rows")
			})
		}
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
