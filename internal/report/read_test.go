package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// memReader answers the read layer from one generation in memory, as the
// contract defines the answers, and counts what it was asked.
type memReader struct {
	m                    *model.Mirror
	whole, sliced, names int
	scanned              bool
	// focuses are the focuses of the slices asked, in order.
	focuses []model.Focus
}

func (r *memReader) Slice(_ context.Context, _ int, f model.Focus) (*model.Mirror, error) {
	if f.Empty() {
		r.whole++
	} else {
		r.sliced++
	}
	r.focuses = append(r.focuses, f)
	return model.SliceOf(r.m, f), nil
}

func (r *memReader) Changes(context.Context, int, int, model.Focus) (*model.Changes, error) {
	return nil, errors.New("not asked")
}

func (r *memReader) Scan(_ context.Context, _ int, fn func(model.Row) error) error {
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
	return model.ObjectNamesOf(r.m, account), nil
}

func (r *memReader) People(context.Context, int) ([]model.Person, error) {
	return model.PeopleOf(r.m), nil
}

func normalizer(m model.Meta) *ident.Normalizer { return ident.NewNormalizer(m.Settings.Aliases()) }

// TestGenerateReadsOnlyWhatItNeeds: the full access report streams from Scan
// and equals the report of the whole generation, local grants merged in; a
// report on people reads their slices and shows them as the whole generation
// does.
func TestGenerateReadsOnlyWhatItNeeds(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	local := []LocalGrant{
		{Row: model.Row{Account: "ACME", Email: "carol.smith@acme.example", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"},
			ID: 3, Approver: "dave@acme.example", Reason: "audit", Until: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)},
	}
	for _, format := range Formats {
		for _, l := range [][]LocalGrant{nil, local} {
			o := Options{By: ByAccess, Format: format, Now: reportNow, Local: l}
			var whole, streamed bytes.Buffer
			require.NoError(t, Write(&whole, m, o))
			r := &memReader{m: m}
			require.NoError(t, Generate(context.Background(), &streamed, Source{Reader: r, Normalizer: normalizer}, o))
			switch format {
			case JSON:
				// A streamed access report reads no access history, which the
				// access view does not use: its header counts none.
				require.Equal(t, withoutHistory(t, whole.String()), withoutHistory(t, streamed.String()), "%d local grants", len(l))
			case CSV:
				require.Equal(t, whole.String(), streamed.String(), "%d local grants", len(l))
			case XLSX:
				require.NotZero(t, streamed.Len())
			default:
				// The header's history counts are the slice's: none.
				var none bytes.Buffer
				require.NoError(t, Write(&none, historyless(m), o))
				require.Equal(t, none.String(), streamed.String(), "--format %s, %d local grants", format, len(l))
			}
			require.True(t, r.scanned)
			require.Zero(t, r.whole, "the full access report never reads the generation whole")
			if l != nil && (format == JSON || format == CSV) {
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
		sameArray(t, whole.Bytes(), got.Bytes(), map[View]string{ByUser: "people", ByAccess: "rows"}[by], "--by %s", by)
	}
}

// sameArray requires the array key of the JSON report got to be non-empty and
// equal to want's.
func sameArray(t *testing.T, want, got []byte, key string, msg ...any) {
	t.Helper()
	var g, w map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(got, &g))
	require.NoError(t, json.Unmarshal(want, &w))
	require.NotEqual(t, "[]", string(g[key]), msg...)
	require.JSONEq(t, string(w[key]), string(g[key]), msg...)
}

// viewKeys are the arrays of a JSON report of view v.
func viewKeys(v View) []string {
	keys := map[View]string{ByUser: "people", ByAccess: "rows", ByObject: "objects", ByRole: "roles"}
	if v == ByAll {
		return []string{"people", "objects", "roles", "rows"}
	}
	return []string{keys[v]}
}

// historyless is m without access history, as a streamed report reads it.
func historyless(m *model.Mirror) *model.Mirror {
	c := *m
	snap := *m.Snapshot
	snap.Accounts = nil
	for _, a := range m.Snapshot.Accounts {
		b := *a
		b.History = nil
		snap.Accounts = append(snap.Accounts, &b)
	}
	c.Snapshot = &snap
	return &c
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
		{Row: model.Row{Account: "ACME", Email: "carol.smith@acme.example", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.ORDERS", Privilege: "SELECT"},
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
	roleViews := 0
	for _, f := range filters {
		for _, by := range []View{ByObject, ByUser, ByAccess, ByRole, ByAll} {
			for _, format := range Formats {
				if by == ByAll && format == CSV {
					continue // one table per file: refused
				}
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
					for _, key := range viewKeys(by) {
						require.JSONEq(t, string(w[key]), string(g[key]), "%s: %s", what, key)
					}
					if by == ByRole && string(g["roles"]) != "[]" {
						roleViews++
					}
					require.Equal(t, sliceHeader(t, w["header"]), sliceHeader(t, g["header"]), what)
				case CSV:
					require.Equal(t, whole.String(), got.String(), what)
				}
			}
		}
	}
	// The filters above are not all empty answers.
	require.Greater(t, roleViews, 3, "role views with members")
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

// TestGenerateOnRoles: a report on the holders of roles, or the role view of
// people, reads one slice about them, never the generation whole, and shows its
// view as the report of the whole generation does.
func TestGenerateOnRoles(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	type filter struct{ emails, roles []string }
	filters := []filter{
		{roles: []string{"ANALYST"}},
		{roles: []string{"ANALYST", "SYSADMIN"}},
		{roles: []string{"NO_SUCH_ROLE"}},
		{emails: []string{"carol.smith@acme.example"}},
		{emails: []string{"alice.martin@acme-emea.example"}, roles: []string{"ANALYST"}},
	}
	shown := 0
	for _, f := range filters {
		for _, by := range []View{ByRole, ByUser, ByAccess} {
			o := Options{By: by, Format: JSON, Now: reportNow, Emails: f.emails, Roles: f.roles}
			r := &memReader{m: m}
			var got bytes.Buffer
			require.NoError(t, Generate(context.Background(), &got, Source{Reader: r, Normalizer: normalizer}, o))
			require.Zero(t, r.whole, "--by %s %+v reads slices", by, f)
			require.Equal(t, f.roles, r.focuses[0].Roles)

			want := o
			want.Emails = mapEmails(normalizer(m.Meta), f.emails)
			var whole bytes.Buffer
			require.NoError(t, Write(&whole, m, want))
			var g, w map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(got.Bytes(), &g))
			require.NoError(t, json.Unmarshal(whole.Bytes(), &w))
			for _, key := range viewKeys(by) {
				require.JSONEq(t, string(w[key]), string(g[key]), "--by %s %+v", by, f)
				if string(g[key]) != "[]" {
					shown++
				}
			}
		}
	}
	require.Greater(t, shown, 9, "views with something in them")
}

// TestGenerateUserViewStreams: the user view of a whole generation reads its
// people's memberships and grants a batch of people at a time, in slices
// without rows, streams the rows person by person from Scan, never reads the
// generation whole, and shows what one slice about everyone shows, and the
// same people as the whole generation, in every format, whatever the batch
// size; a person with rows but no recorded memberships is listed too, between
// batches or not.
func TestGenerateUserViewStreams(t *testing.T) {
	t.Parallel()
	for _, sample := range []string{"acme", "adversarial", "tiny"} {
		m := setup(t, sample)
		gens, orphan := streamedGenerations(m)
		unheld := unheldHistory(m)
		if unheld != nil {
			gens = append(gens, unheld)
		}
		// Batches of one person and of a few in the small samples; in acme
		// (about 300 people) three batches, since each batch is a slice of the
		// whole generation in memory here.
		sizes := []int{1, 2, 7, 0}
		if sample == "acme" {
			sizes = []int{100, 0}
		}
		for _, gen := range gens {
			read := sliceOfEveryone(gen)
			for _, format := range Formats {
				for _, unused := range []bool{false, true} {
					if unused && (format == XLSX || !gen.Snapshot.Accounts[0].HasHistory) {
						continue
					}
					if gen == unheld && (format != CSV || unused) {
						// It concerns how history is matched, which the
						// lines of the user view show.
						continue
					}
					o := Options{By: ByUser, Format: format, Now: reportNow, Unused: unused}
					want, whole := expected(t, read, gen, o)
					for _, batch := range sizes {
						what := fmt.Sprintf("%s --format %s --unused=%v, batches of %d", sample, format, unused, batch)
						r, streamed := generateStreamed(t, gen, o, batch, want, whole, what)
						require.True(t, r.scanned, what)
						for _, f := range r.focuses[1:] {
							require.LessOrEqual(t, len(f.Emails), cmp.Or(batch, batchPeople), "a slice holds one batch: %s", what)
						}
						if streamed == nil {
							continue
						}
						switch format {
						case JSON:
							key := map[bool]string{false: "people", true: "unused"}[unused]
							sameArray(t, whole.Bytes(), streamed.Bytes(), key, "%s: the same people as the whole generation", what)
						}
						if !unused {
							require.Contains(t, streamed.String(), orphan)
						}
					}
				}
			}
		}
	}
}

// streamedGenerations returns the generations a streamed report is checked
// on: m; m without the memberships of one person, orphan, who still has rows
// (a generation read back without provenance); and, when m has access
// history, m with a user's history filed under a second address
// (aliasHistory).
func streamedGenerations(m *model.Mirror) (gens []*model.Mirror, orphan string) {
	orphan = m.Memberships[len(m.Memberships)-1].Email
	bare := *m
	bare.Memberships = slices.DeleteFunc(slices.Clone(m.Memberships), func(ms model.Membership) bool { return ms.Email == orphan })
	gens = []*model.Mirror{m, &bare}
	if shared := aliasHistory(m); shared != nil {
		gens = append(gens, shared)
	}
	return gens, orphan
}

// unheldHistory returns m with a grant on "sales"."public"."x" to a role
// nobody holds, and a query of the first history event's user on
// sales.public.x: read as stored (the case kept), the name is that granted
// object, read folded it would be a table of SALES. History is matched
// against every granted object, held or not, so the query counts for
// neither SALES nor SALES.PUBLIC, which that user's person can use. Nil when
// m has no access history.
func unheldHistory(m *model.Mirror) *model.Mirror {
	if m.Snapshot == nil || len(m.Snapshot.Accounts[0].History) == 0 {
		return nil
	}
	c := *m
	snap := *m.Snapshot
	a := *snap.Accounts[0]
	first := a.History[0]
	a.History = append(slices.Clone(a.History), model.AccessEvent{User: first.User, ObjectDomain: "Table", ObjectName: "sales.public.x", LastAccessed: first.LastAccessed.Add(time.Hour), QueryCount: 1000})
	snap.Accounts = append([]*model.Account{&a}, snap.Accounts[1:]...)
	c.Snapshot = &snap
	c.Grants = append(slices.Clone(m.Grants), model.Grant{Account: a.Name, Role: "NOBODY_HOLDS", ObjectType: "TABLE", ObjectName: `"sales"."public"."x"`, Privilege: "SELECT"})
	return &c
}

// aliasHistory returns m with the Snowflake user of a person whose users have
// access history filed under a second address too, "zz.alias." + theirs (far
// from theirs in table order, so in another batch), with the same memberships
// and rows: the user's history comes with the batches of both addresses and
// must count once. Nil when no user has history.
func aliasHistory(m *model.Mirror) *model.Mirror {
	if m.Snapshot == nil {
		return nil
	}
	var who string
	for _, a := range m.Snapshot.Accounts {
		for _, ev := range a.History {
			for _, ms := range m.Memberships {
				if who == "" && ms.Account == a.Name && strings.EqualFold(ms.User, ev.User) {
					who = ms.Email
				}
			}
		}
	}
	if who == "" {
		return nil
	}
	c := *m
	rows := slices.Collect(m.Access.All())
	for r := range m.Access.For("", who) {
		r.Email = "zz.alias." + who
		rows = append(rows, r)
	}
	c.Access = model.NewAccess(rows)
	c.Meta.Rows = c.Access.Len()
	c.Memberships = slices.Clone(m.Memberships)
	for _, ms := range m.Memberships {
		if ms.Email == who {
			ms.Email = "zz.alias." + who
			c.Memberships = append(c.Memberships, ms)
		}
	}
	// Memberships are listed by account and email, each person's in order.
	slices.SortStableFunc(c.Memberships, func(a, b model.Membership) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Email, b.Email))
	})
	return &c
}

// TestGenerateWideViewsStream: the object and role views of a whole generation,
// read a batch of objects or roles at a time beside everyone's memberships,
// are the report of one slice about everyone with every grant and row in
// memory, in every format, at any batch size; their objects and roles are
// the whole generation's, the roles nobody holds and the objects nobody can
// use among them.
func TestGenerateWideViewsStream(t *testing.T) {
	t.Parallel()
	for _, sample := range []string{"acme", "adversarial", "tiny"} {
		// The user view of --by all lists the person without memberships; the
		// header counts a user filed under two addresses once. Those concern
		// the user view: the object and role views are asked of the first.
		gens, _ := streamedGenerations(setup(t, sample))
		checkWideViews(t, sample, gens[0], ByObject, ByRole, ByAll)
		for _, gen := range gens[1:] {
			checkWideViews(t, sample, gen, ByAll)
		}
	}
}

// sliceOfEveryone is what a streamed report of everything must equal the
// report of: one slice about everyone, with the rows in memory and every
// grant (the object and role views list every granted object and role, and
// access history is matched against every granted object, held or not:
// unheldHistory).
func sliceOfEveryone(gen *model.Mirror) *model.Mirror {
	var everyone model.Focus
	for _, p := range model.PeopleOf(gen) {
		everyone.Emails = append(everyone.Emails, p.Email)
	}
	everyone.NoPersonRows = true
	read := model.SliceOf(gen, everyone)
	read.Access, read.Grants = gen.Access, gen.Grants
	return read
}

// checkWideViews checks the streamed views of gen that views names.
func checkWideViews(t *testing.T, sample string, gen *model.Mirror, views ...View) {
	t.Helper()
	read := sliceOfEveryone(gen)
	held := map[string]bool{}
	for _, ms := range gen.Memberships {
		held[ms.Role] = true
	}
	unheld := ""
	for _, g := range gen.Grants {
		if !held[g.Role] && unheld == "" {
			unheld = g.Role
		}
	}
	sizes := []int{1, 2, 7, 0}
	if sample == "acme" {
		sizes = []int{16, 0}
	}
	for _, by := range views {
		for _, format := range Formats {
			if by == ByAll && format == CSV {
				continue
			}
			o := Options{By: by, Format: format, Now: reportNow}
			want, whole := expected(t, read, gen, o)
			for _, batch := range sizes {
				what := fmt.Sprintf("%s --by %s --format %s, batches of %d", sample, by, format, batch)
				r, streamed := generateStreamed(t, gen, o, batch, want, whole, what)
				for _, f := range r.focuses {
					require.LessOrEqual(t, len(f.Objects), cmp.Or(batch, batchObjects), "a slice holds one batch: %s", what)
					require.LessOrEqual(t, len(f.RoleGrants), cmp.Or(batch, batchRoles), "a slice holds one batch: %s", what)
					if len(f.RoleGrants) > 1 {
						// A role with more grants than a batch is a batch alone.
						n := 0
						for _, g := range gen.Grants {
							if slices.Contains(f.RoleGrants, g.Role) {
								n++
							}
						}
						require.LessOrEqual(t, n, cmp.Or(batch, batchGrants), "a batch of roles holds at most a batch of grants: %s", what)
					}
				}
				if streamed == nil {
					continue
				}
				switch format {
				case JSON:
					for _, key := range viewKeys(by) {
						sameArray(t, whole.Bytes(), streamed.Bytes(), key, "%s: the same %s as the whole generation", what, key)
					}
				}
				if by == ByRole && unheld != "" {
					require.Contains(t, streamed.String(), unheld, "%s: a role nobody holds is listed", what)
				}
			}
		}
	}
	if sample == "acme" {
		require.NotEmpty(t, unheld, "acme has a grant to a role nobody holds")
	}
}

// expected writes the report o asks for of read (one slice about everyone,
// with the rows in memory), which a streamed report must equal, and of the
// whole generation gen.
func expected(t *testing.T, read, gen *model.Mirror, o Options) (want, whole *bytes.Buffer) {
	t.Helper()
	want, whole = &bytes.Buffer{}, &bytes.Buffer{}
	require.NoError(t, Write(want, read, o))
	require.NoError(t, Write(whole, gen, o))
	return want, whole
}

// workbookCells is every sheet of a workbook, by name, as rows of cell text.
func workbookCells(t *testing.T, b []byte) map[string][][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	require.NoError(t, err)
	defer f.Close()
	out := map[string][][]string{}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		require.NoError(t, err)
		out[sheet] = rows
	}
	return out
}

// generateStreamed writes the report o asks for of gen from a reader in memory
// at a batch size, and checks what every streamed report of everything must
// be: written without reading the generation whole, equal to want (the same
// report of one slice about everyone with the rows in memory) and, in CSV,
// to whole (the report of the whole generation). It returns the reader, for
// what it was asked, and the report, nil for XLSX (whose cells are compared
// at the default sizes).
func generateStreamed(t *testing.T, gen *model.Mirror, o Options, batch int, want, whole *bytes.Buffer, what string) (*memReader, *bytes.Buffer) {
	t.Helper()
	r := &memReader{m: gen}
	var streamed bytes.Buffer
	require.NoError(t, Generate(context.Background(), &streamed, Source{Reader: r, Normalizer: normalizer, batch: batch}, o))
	require.Zero(t, r.whole, "the report never reads the generation whole: %s", what)
	if o.Format == XLSX {
		// Its sheets come from the iterators the other formats are checked
		// through at every size: the cells are compared at the default sizes,
		// for what only a workbook does (its sheets and when their views'
		// data goes).
		if batch == 0 {
			require.Equal(t, workbookCells(t, want.Bytes()), workbookCells(t, streamed.Bytes()), what)
		} else {
			require.NotZero(t, streamed.Len(), what)
		}
		return r, nil
	}
	require.Equal(t, want.String(), streamed.String(), what)
	if o.Format == CSV {
		require.Equal(t, whole.String(), streamed.String(), "%s: the same lines as the whole generation", what)
	}
	return r, &streamed
}
