package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
)

// memReader answers the read layer from one generation in memory, as the
// contract defines the answers, and counts what it was asked.
type memReader struct {
	m                    *pipeline.Mirror
	whole, sliced, names int
	scanned              bool
	// focuses are the focuses of the slices asked, in order.
	focuses []pipeline.Focus
}

func (r *memReader) Slice(_ context.Context, _ int, f pipeline.Focus) (*pipeline.Mirror, error) {
	if f.Empty() {
		r.whole++
	} else {
		r.sliced++
	}
	r.focuses = append(r.focuses, f)
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

func (r *memReader) ObjectNames(_ context.Context, _ int, account string) ([]string, error) {
	r.names++
	return pipeline.ObjectNamesOf(r.m, account), nil
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
		require.Equal(t, 2, r.sliced, "the people are asked at once, and again as the generation maps their addresses")
		require.Equal(t, []string{"alice.martin@acme.example", "carol.smith@acme.example"}, r.focuses[1].People())
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

// TestGenerateOnObjects: a report on objects (a table, a schema, a database, an
// object nobody has, with and without people and roles) reads the objects'
// slice and one slice about them and their audience, never the generation
// whole, and shows its view as the report of the whole generation does, in
// every format. Only the header's account of the snapshot is the slice's: the
// access history of its people and objects, and the policies on its objects.
func TestGenerateOnObjects(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	local := []LocalGrant{
		{Row: pipeline.Row{Account: "ACME", Email: "carol.smith@acme.example", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"},
			ID: 3, Approver: "dave@acme.example", Reason: "audit", Until: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)},
	}
	type filter struct {
		objects, emails, roles []string
	}
	filters := []filter{
		{objects: []string{"SALES.PUBLIC.ORDERS"}},
		{objects: []string{"SALES.PUBLIC"}},
		{objects: []string{"SALES"}},
		{objects: []string{"SALES.PUBLIC.ORDERS", "HR.PAYROLL.SALARIES"}},
		{objects: []string{"NO_DB.NO_SCHEMA.NOTHING"}},
		{objects: []string{"SALES.PUBLIC.ORDERS"}, emails: []string{"alice.martin@acme-emea.example", "carol.smith@acme.example"}},
		{objects: []string{"SALES.PUBLIC"}, roles: []string{"ANALYST"}},
	}
	for _, f := range filters {
		for _, by := range []View{ByObject, ByUser, ByAccess} {
			for _, format := range Formats {
				o := Options{By: by, Format: format, Now: reportNow, Objects: f.objects, Emails: f.emails, Roles: f.roles, Local: local}
				r := &memReader{m: m}
				var got bytes.Buffer
				require.NoError(t, Generate(context.Background(), &got, Source{Reader: r, Normalizer: normalizer}, o))
				require.Zero(t, r.whole, "a report on objects never reads the generation whole")
				require.LessOrEqual(t, r.sliced, 3)
				if mayContain(f.objects[0]) {
					require.Equal(t, 1, r.names, "a database or schema is asked for the objects inside it")
				}
				last := r.focuses[len(r.focuses)-1]
				if len(last.People()) > 0 {
					require.Equal(t, last.Objects, r.focuses[len(r.focuses)-2].Objects, "the audience and the objects together")
				}

				want := o
				want.Emails = mapEmails(normalizer(m.Meta), f.emails)
				var whole bytes.Buffer
				require.NoError(t, Write(&whole, m, want))
				what := fmt.Sprintf("--by %s --format %s, %+v", by, format, f)
				switch format {
				case JSON:
					var g, w map[string]json.RawMessage
					require.NoError(t, json.Unmarshal(got.Bytes(), &g))
					require.NoError(t, json.Unmarshal(whole.Bytes(), &w))
					key := map[View]string{ByUser: "people", ByAccess: "rows", ByObject: "objects"}[by]
					require.JSONEq(t, string(w[key]), string(g[key]), what)
					require.Equal(t, sliceHeader(t, w["header"]), sliceHeader(t, g["header"]), what)
				case CSV:
					require.Equal(t, whole.String(), got.String(), what)
				}
			}
		}
	}
	// The filters above are not all empty answers.
	var got bytes.Buffer
	o := Options{By: ByObject, Format: JSON, Now: reportNow, Objects: []string{"SALES"}}
	require.NoError(t, Generate(context.Background(), &got, Source{Reader: &memReader{m: m}, Normalizer: normalizer}, o))
	var doc struct {
		Objects []ObjectReport `json:"objects"`
	}
	require.NoError(t, json.Unmarshal(got.Bytes(), &doc))
	require.Greater(t, len(doc.Objects), 3)
	require.NotEmpty(t, doc.Objects[0].People)
}

// sliceHeader is a JSON report's header without what it counts of the
// snapshot's access history and policies, which a slice holds in part.
func sliceHeader(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	for _, a := range h["accounts"].([]any) {
		for _, k := range []string{"history_rows", "history_latest", "history_unmatched"} {
			delete(a.(map[string]any), k)
		}
	}
	delete(h, "not_mirrored")
	delete(h, "notes")
	return h
}
