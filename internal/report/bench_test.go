package report

import (
	"io"
	"testing"

	"github.com/grantmirror/grantmirror/internal/sample"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// BenchmarkReport renders acme, the realistic sample (296 people, 8,076 rows), in
// every view and format.
func BenchmarkReport(b *testing.B) {
	snap, err := pipeline.ReadSnapshot(samples + "/acme")
	if err != nil {
		b.Fatal(err)
	}
	m, err := pipeline.Flatten(snap, pipeline.Options{Aliases: sampleAliases, Now: reportNow})
	if err != nil {
		b.Fatal(err)
	}
	for _, by := range []View{ByAccess, ByUser, ByObject, ByRole} {
		for _, f := range Formats {
			b.Run(string(by)+"/"+string(f), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := Write(io.Discard, m, Options{By: by, Format: f, Now: reportNow}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkReportLarge renders a generated account far larger than acme, to see
// that the streaming formats stay linear and HTML stays bounded.
func BenchmarkReportLarge(b *testing.B) {
	a, err := sample.Generate(sample.Options{Users: 5000, Roles: 1000, Grants: 100_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	m, err := pipeline.Flatten(&model.Snapshot{Accounts: []*model.Account{a}}, pipeline.Options{Now: reportNow})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d rows, %d memberships, %d grants", m.Access.Len(), len(m.Memberships), len(m.Grants))
	for _, tc := range []struct {
		by View
		f  Format
	}{{ByAccess, CSV}, {ByAccess, JSON}, {ByAccess, Markdown}, {ByAccess, HTML}, {ByAccess, XLSX}, {ByUser, CSV}, {ByUser, HTML}, {ByObject, CSV}, {ByRole, CSV}, {ByRole, HTML}} {
		b.Run(string(tc.by)+"/"+string(tc.f), func(b *testing.B) {
			b.ReportAllocs()
			var n countWriter
			for b.Loop() {
				n = 0
				if err := Write(&n, m, Options{By: tc.by, Format: tc.f, Now: reportNow}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.Access.Len())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(n), "out-bytes")
		})
	}
}

// countWriter counts what a report writes.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
