package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
)

// TestPolicyRulesPublished: the rules of masked columns reach the masked_columns
// view and come back whole; the fifth migration, undone and redone under a
// published generation, keeps the view on that generation's rows.
func TestPolicyRulesPublished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, f := setup(t)
	snap, err := pipeline.ReadSnapshot("../../testdata/conformance/policies")
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Now: time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	_, err = s.Publish(ctx, m, pipeline.DefaultPublishOptions())
	require.NoError(t, err)

	g, err := s.Current(ctx)
	require.NoError(t, err)
	back, err := s.Open(ctx, g.Number)
	require.NoError(t, err)
	require.Equal(t, m.Masked, back.Masked)
	rules := f.count(t, `SELECT count(*) FROM %s.masked_columns WHERE rule <> ''`)
	withRule := 0
	for _, c := range m.Masked {
		if c.Rule != nil {
			withRule++
		}
	}
	require.Equal(t, withRule, rules)
	require.Equal(t, 1, f.count(t, `SELECT count(*) FROM %s.masked_columns WHERE column_name = 'SSN' AND rule::jsonb -> 'emails' ? 'bea@example.com'`))

	p, done, err := s.provider()
	require.NoError(t, err)
	defer done()
	_, err = p.DownTo(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, len(m.Masked), f.count(t, `SELECT count(*) FROM %s.masked_columns`), "undone: the view still shows the generation")
	require.Zero(t, f.count(t, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'rule'`, f.schema))
	_, err = p.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, len(m.Masked), f.count(t, `SELECT count(*) FROM %s.masked_columns`))
	require.Equal(t, 0, f.count(t, `SELECT count(*) FROM %s.masked_columns WHERE rule <> ''`), "a generation from before the migration has no rules")
}
