package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
)

// memReader answers the read layer from one generation in memory, as the
// contract defines the answers, and counts what it was asked.
type memReader struct {
	m             *pipeline.Mirror
	whole, sliced int
	scanned       bool
}

func (r *memReader) Slice(_ context.Context, _ int, f pipeline.Focus) (*pipeline.Mirror, error) {
	if f.Empty() {
		r.whole++
	} else {
		r.sliced++
	}
	return pipeline.SliceOf(r.m, f), nil
}

func (r *memReader) Changes(context.Context, int, int, pipeline.Focus) (*pipeline.Changes, error) {
	return nil, errors.New("not asked")
}

func (r *memReader) Scan(_ context.Context, _ int, fn func(pipeline.Row) error) error {
	r.scanned = true
	for row := range r.m.Access.All() {
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

func (r *memReader) ObjectNames(context.Context, int, string) ([]string, error) {
	return nil, errors.New("not asked")
}

func normalizer(m pipeline.Meta) *ident.Normalizer { return ident.NewNormalizer(m.Settings.Aliases()) }

// TestGenerateReadsOnlyWhatItNeeds: the full access report streams from Scan
// and equals the report of the whole generation, local grants merged in; a
// report on people reads their slices and shows them as the whole generation
// does.
func TestGenerateReadsOnlyWhatItNeeds(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	local := []LocalGrant{
		{Row: pipeline.Row{Account: "ACME", Email: "carol.smith@acme.example", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"},
			ID: 3, Approver: "dave@acme.example", Reason: "audit", Until: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)},
	}
	for _, format := range []Format{CSV, JSON} {
		for _, l := range [][]LocalGrant{nil, local} {
			o := Options{By: ByAccess, Format: format, Now: reportNow, Local: l}
			var whole, streamed bytes.Buffer
			require.NoError(t, Write(&whole, m, o))
			r := &memReader{m: m}
			require.NoError(t, Generate(context.Background(), &streamed, Source{Reader: r, Normalizer: normalizer}, o))
			if format == JSON {
				// A streamed access report reads no access history, which the
				// access view does not use: its header counts none.
				require.Equal(t, withoutHistory(t, whole.String()), withoutHistory(t, streamed.String()), "%d local grants", len(l))
			} else {
				require.Equal(t, whole.String(), streamed.String(), "%d local grants", len(l))
			}
			require.True(t, r.scanned)
			require.Zero(t, r.whole, "the full access report never reads the generation whole")
			if l != nil {
				require.Contains(t, streamed.String(), "dave@acme.example")
			}
		}
	}

	// A person's report, asked under the subsidiary's domain the generation aliases.
	for _, by := range []View{ByUser, ByAccess} {
		o := Options{By: by, Format: JSON, Now: reportNow, Emails: []string{"alice.martin@acme-emea.example", "carol.smith@acme.example"}, Local: local}
		r := &memReader{m: m}
		var got bytes.Buffer
		require.NoError(t, Generate(context.Background(), &got, Source{Reader: r, Normalizer: normalizer}, o))
		require.Zero(t, r.whole, "a report on people reads their slices")
		require.Equal(t, 3, r.sliced, "the first address is asked again as the generation maps it")
		want := o
		want.Emails = []string{"alice.martin@acme.example", "carol.smith@acme.example"}
		var whole bytes.Buffer
		require.NoError(t, Write(&whole, m, want))
		var g, w map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(got.Bytes(), &g))
		require.NoError(t, json.Unmarshal(whole.Bytes(), &w))
		key := map[View]string{ByUser: "people", ByAccess: "rows"}[by]
		require.NotEqual(t, "[]", string(g[key]))
		require.JSONEq(t, string(w[key]), string(g[key]), "--by %s", by)
	}
}

// withoutHistory drops the access-history counts from a JSON report's header.
func withoutHistory(t *testing.T, doc string) string {
	t.Helper()
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &d))
	for _, a := range d["header"].(map[string]any)["accounts"].([]any) {
		for _, k := range []string{"history_rows", "history_latest", "history_unmatched"} {
			delete(a.(map[string]any), k)
		}
	}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	return string(b)
}
