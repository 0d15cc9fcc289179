package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// samples is where the bundled sample accounts live.
const samples = "../../testdata/sample"

// reportNow is the injected clock of every test: three days after the samples'
// snapshots, so ages are stable.
var reportNow = time.Date(2026, 11, 4, 9, 30, 0, 0, time.UTC)

// sampleAliases are acme's own settings (testdata/sample/acme/config.yaml): its
// EMEA subsidiary signs in with acme.example addresses, and the Airflow service
// user acts for the data-platform team.
var sampleAliases = ident.Aliases{
	Domains: map[string]string{"acme-emea.example": "acme.example"},
	Users:   map[string]string{"AIRFLOW": "data-platform@acme.example"},
}

// setup flattens a bundled sample as sync would and stamps it as generation 7.
func setup(t *testing.T, sample string) *model.Mirror {
	t.Helper()
	snap, err := pipeline.ReadSnapshot(filepath.Join(samples, sample))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Aliases: sampleAliases, Now: time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)})
	require.NoError(t, err)
	m.Meta.Generation = 7
	return m
}

// render writes a report and fails the test on error.
func render(t *testing.T, m *model.Mirror, o Options) string {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = reportNow
	}
	var b bytes.Buffer
	require.NoError(t, Write(&b, m, o))
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/report -update to create %s", path)
	require.Equal(t, string(want), got, "golden %s differs; rerun with -update if the change is intended", path)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	alice := []string{"alice.martin@acme.example"}
	orders := []string{"SALES.PUBLIC.ORDERS"}
	cases := []struct {
		sample, name string
		o            Options
	}{
		// tiny has no access history: usage must read as unknown.
		{"tiny", "access", Options{By: ByAccess}},
		{"tiny", "user", Options{By: ByUser}},
		{"tiny", "object", Options{By: ByObject}},
		{"tiny", "role", Options{By: ByRole}},
		// acme has access history; filters keep the files readable.
		{"acme", "user-alice", Options{By: ByUser, Emails: alice}},
		{"acme", "unused-alice", Options{By: ByUser, Unused: true, Emails: alice}},
		{"acme", "object-orders", Options{By: ByObject, Objects: orders}},
		{"acme", "role-sales-analyst", Options{By: ByRole, Roles: []string{"SALES_ANALYST"}}},
		{"acme", "access-sales-core", Options{By: ByAccess, Objects: []string{"SALES.CORE"}, Emails: alice}},
		{"acme", "all-alice", Options{By: ByAll, Emails: alice}},
	}
	for _, tc := range cases {
		for _, f := range []Format{Markdown, CSV, JSON} {
			if tc.o.By == ByAll && f == CSV {
				continue
			}
			t.Run(tc.sample+"-"+tc.name+"."+string(f), func(t *testing.T) {
				t.Parallel()
				o := tc.o
				o.Format = f
				o.Emails, o.Objects = slices.Clone(o.Emails), slices.Clone(o.Objects)
				got := render(t, setup(t, tc.sample), o)
				golden(t, tc.sample+"-"+tc.name+"."+string(f), got)
				if f == JSON {
					require.True(t, json.Valid([]byte(got)), "JSON report must be one valid document")
				}
			})
		}
	}
}

// TestAccessCSVContract: the unfiltered access report is byte-identical to the
// sample's expected table, the contract scripts rely on.
func TestAccessCSVContract(t *testing.T) {
	t.Parallel()
	for _, sample := range []string{"tiny", "acme", "adversarial"} {
		t.Run(sample, func(t *testing.T) {
			t.Parallel()
			m := setup(t, sample)
			want, err := os.ReadFile(filepath.Join(samples, sample, "expected-effective.csv"))
			require.NoError(t, err)
			require.Equal(t, string(want), render(t, m, Options{By: ByAccess, Format: CSV}))
			var b bytes.Buffer
			require.NoError(t, AccessCSV(&b, m.Access))
			require.Equal(t, string(want), b.String())
		})
	}
}

// rowSet reads a CSV report into a set of rows keyed by the named columns.
func rowSet(t *testing.T, data string, cols ...string) map[string]bool {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = slices.Index(recs[0], c)
		require.GreaterOrEqual(t, idx[i], 0, "column %s in %v", c, recs[0])
	}
	out := map[string]bool{}
	for _, r := range recs[1:] {
		var k []string
		for _, i := range idx {
			k = append(k, r[i])
		}
		out[strings.Join(k, "|")] = true
	}
	return out
}

// accessKeys is the access table as "account|email|type|name|privilege" keys.
func accessKeys(m *model.Mirror, keep func(model.Row) bool) map[string]bool {
	out := map[string]bool{}
	for r := range m.Access.All() {
		if keep == nil || keep(r) {
			out[strings.Join([]string{r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege}, "|")] = true
		}
	}
	return out
}

// explode turns rows with a "; "-joined privileges column into one key per privilege.
func explode(t *testing.T, data string, cols ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for k := range rowSet(t, data, cols...) {
		parts := strings.Split(k, "|")
		for _, p := range strings.Split(parts[len(parts)-1], "; ") {
			out[strings.Join(append(slices.Clone(parts[:len(parts)-1]), p), "|")] = true
		}
	}
	return out
}

// TestViewsCoverTheTable: the user and object views, read back from their CSV,
// hold exactly the rows of the access table: nothing invented, nothing lost.
func TestViewsCoverTheTable(t *testing.T) {
	t.Parallel()
	for _, sample := range []string{"tiny", "acme", "adversarial"} {
		t.Run(sample, func(t *testing.T) {
			t.Parallel()
			m := setup(t, sample)
			want := accessKeys(m, nil)
			byUser := explode(t, render(t, m, Options{By: ByUser, Format: CSV}), "account", "email", "object_type", "object_name", "privileges")
			require.Equal(t, want, byUser)
			byObject := explode(t, render(t, m, Options{By: ByObject, Format: CSV}), "account", "email", "object_type", "object_name", "privileges")
			require.Equal(t, want, byObject)
		})
	}
}

// TestProvenance: every role the object view names for a person is one they hold,
// and it has a grant of that privilege on that object.
func TestProvenance(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	held := map[string]bool{}
	for _, ms := range m.Memberships {
		held[ms.Email+"|"+ms.Role] = true
		require.Equal(t, ms.Role, ms.Path[len(ms.Path)-1])
	}
	granted := map[string]bool{}
	for _, g := range m.Grants {
		granted[strings.Join([]string{g.Role, g.ObjectType, g.ObjectName, g.Privilege}, "|")] = true
	}
	recs, err := csv.NewReader(strings.NewReader(render(t, m, Options{By: ByObject, Format: CSV}))).ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(recs), 1000)
	for _, r := range recs[1:] {
		typ, name, email, privs, role, path := r[1], r[2], r[3], r[4], r[5], r[6]
		require.True(t, held[email+"|"+role], "%s does not hold %s", email, role)
		require.True(t, strings.HasSuffix(path, role), "path %q ends at %s", path, role)
		for _, p := range strings.Split(privs, "; ") {
			require.True(t, granted[strings.Join([]string{role, typ, name, p}, "|")], "%s has no %s on %s", role, p, name)
		}
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	// Naive reference for the role filter: the roles SALES_ANALYST reaches, by
	// following role paths of the people who hold it.
	holders := map[string]bool{}
	for _, ms := range m.Memberships {
		if ms.Role == "SALES_ANALYST" {
			holders[ms.Email] = true
		}
	}
	reached := map[string]bool{}
	for _, ms := range m.Memberships {
		if i := slices.Index(ms.Path, "SALES_ANALYST"); i >= 0 {
			for _, r := range ms.Path[i:] {
				reached[r] = true
			}
		}
	}
	viaRole := map[string]bool{}
	for _, g := range m.Grants {
		if reached[g.Role] {
			viaRole[strings.Join([]string{g.ObjectType, g.ObjectName, g.Privilege}, "|")] = true
		}
	}
	cases := []struct {
		name string
		o    Options
		keep func(model.Row) bool
	}{
		{"email", Options{Emails: []string{"bob.nguyen@acme.example"}}, func(r model.Row) bool { return r.Email == "bob.nguyen@acme.example" }},
		{"object exact", Options{Objects: []string{"SALES.PUBLIC.ORDERS"}}, func(r model.Row) bool { return r.ObjectName == "SALES.PUBLIC.ORDERS" }},
		{"schema prefix", Options{Objects: []string{"SALES.CORE"}}, func(r model.Row) bool {
			return r.ObjectName == "SALES.CORE" || strings.HasPrefix(r.ObjectName, "SALES.CORE.")
		}},
		{"database prefix keeps quoted children", Options{Objects: []string{"RAW"}}, func(r model.Row) bool {
			return r.ObjectName == "RAW" || strings.HasPrefix(r.ObjectName, "RAW.")
		}},
		{"role", Options{Roles: []string{"SALES_ANALYST"}}, func(r model.Row) bool {
			return holders[r.Email] && viaRole[strings.Join([]string{r.ObjectType, r.ObjectName, r.Privilege}, "|")]
		}},
		{"account", Options{Accounts: []string{"acme"}}, nil},
		{"other account", Options{Accounts: []string{"NOPE"}}, func(model.Row) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.o
			o.By, o.Format = ByAccess, CSV
			want := accessKeys(m, tc.keep)
			got := rowSet(t, render(t, m, o), AccessHeader...)
			require.Equal(t, want, got)
			require.True(t, tc.name == "other account" || len(got) > 0, "a filter that keeps nothing tests nothing")
		})
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	out := render(t, m, Options{By: ByUser, Format: JSON, Emails: []string{"alice.martin@acme.example"}})
	var doc struct {
		Header Header   `json:"header"`
		People []Person `json:"people"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Len(t, doc.People, 1)
	require.Equal(t, "known", doc.Header.Accounts[0].Usage)
	byName := map[string]ReachObject{}
	for _, o := range doc.People[0].Objects {
		byName[o.ObjectName] = o
	}
	// access_history.csv: AMARTIN read SALES.PUBLIC.ORDERS last on 2026-10-31
	// (one of alice's two users), so the person used it.
	orders := byName["SALES.PUBLIC.ORDERS"]
	require.Equal(t, Used, orders.Usage)
	require.Equal(t, "2026-10-31", orders.LastAccessed.Format("2006-01-02"))
	require.Positive(t, orders.QueryCount)
	// A schema is used when something inside it is.
	require.Equal(t, Used, byName["SALES.PUBLIC"].Usage)
	require.Equal(t, Unused, byName["SALES.CORE.ACCOUNTS"].Usage)
	require.Nil(t, byName["SALES.CORE.ACCOUNTS"].LastAccessed)
	require.Equal(t, NotTracked, byName["COMPUTE_WH"].Usage)

	// Narrowing the window to a day before the snapshot makes the same read old.
	out = render(t, m, Options{By: ByUser, Unused: true, Days: 1, Format: CSV, Emails: []string{"alice.martin@acme.example"}})
	require.Contains(t, out, "ACME,alice.martin@acme.example,TABLE,SALES.PUBLIC.ORDERS,SELECT,SALES.READER,2026-10-31,")
}

func TestHistoryName(t *testing.T) {
	t.Parallel()
	known := map[string]bool{`SALES.CORE."lines"`: true, "SALES.PUBLIC.ORDERS": true}
	for _, tc := range []struct{ raw, want string }{
		{"SALES.PUBLIC.ORDERS", "SALES.PUBLIC.ORDERS"},
		{"sales.public.orders", "SALES.PUBLIC.ORDERS"},
		{`SALES.CORE."lines"`, `SALES.CORE."lines"`},
		// Stored case-sensitive but written unquoted: read as stored.
		{"SALES.CORE.lines", `SALES.CORE."lines"`},
		// Unknown objects are still canonical, folded as a person would type them.
		{"raw.x.y", "RAW.X.Y"},
		{"a..b", ""},
	} {
		require.Equal(t, tc.want, historyName(tc.raw, known), tc.raw)
	}
}

// TestWithoutHistory: tiny has no access_history.csv; reports say usage is
// unknown, and an unused-access report refuses rather than list nothing.
func TestWithoutHistory(t *testing.T) {
	t.Parallel()
	m := setup(t, "tiny")
	out := render(t, m, Options{By: ByUser, Format: Markdown})
	require.Contains(t, out, "Usage is unknown for TINY")
	require.Contains(t, out, "| Usage | unknown (no access_history.csv) |")
	require.NotContains(t, out, "| Used |")
	// The same holds for acme once its history is taken away.
	acme := setup(t, "acme")
	acme.Snapshot.Accounts[0].HasHistory, acme.Snapshot.Accounts[0].History = false, nil
	out = render(t, acme, Options{By: ByObject, Format: Markdown, Objects: []string{"SALES.PUBLIC.ORDERS"}})
	require.Contains(t, out, "Usage is unknown for ACME")
	require.NotContains(t, out, "used 2026")
	require.NotContains(t, out, "| Used |")
	for _, f := range Formats {
		err := Write(&bytes.Buffer{}, m, Options{By: ByUser, Unused: true, Format: f, Now: reportNow})
		require.ErrorIs(t, err, ErrNoHistory, f)
		require.ErrorContains(t, err, "access_history.csv")
	}
}

// TestMultiAccount reads the samples directory as one snapshot of three accounts.
func TestMultiAccount(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(samples)
	require.NoError(t, err)
	require.Len(t, snap.Accounts, 3)
	m, err := pipeline.Flatten(snap, pipeline.Options{Aliases: sampleAliases, Now: reportNow})
	require.NoError(t, err)
	tiny := setup(t, "tiny")
	require.Equal(t, render(t, tiny, Options{By: ByAccess, Format: CSV, Accounts: []string{"tiny"}}),
		render(t, m, Options{By: ByAccess, Format: CSV, Accounts: []string{"TINY"}}))
	md := render(t, m, Options{By: ByRole, Format: Markdown, Roles: []string{"WRITER"}})
	require.Contains(t, md, "### TINY: WRITER")
	require.Contains(t, md, "Usage (ACME) | known")
	require.Contains(t, md, "Usage (TINY) | unknown")
	require.Contains(t, md, "Role hierarchy of TINY")
}

func TestMissingPersonIsSaid(t *testing.T) {
	t.Parallel()
	out := render(t, setup(t, "acme"), Options{By: ByUser, Format: Markdown, Emails: []string{"nobody@acme.example"}})
	require.Contains(t, out, "nobody@acme.example is not in this generation")
	require.Contains(t, out, "Nothing matches the filters.")
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{By: "people"}, "--by people"},
		{Options{Format: "pdf"}, "--format pdf"},
		{Options{By: ByAll, Format: CSV}, "a CSV file holds one table"},
		{Options{By: ByObject, Unused: true}, "use it with --by user"},
		{Options{Days: -3}, "--days -3"},
		{Options{MaxRows: -1}, "max rows"},
	} {
		o := tc.o
		err := o.Validate()
		require.ErrorIs(t, err, ErrOptions, "%+v", tc.o)
		require.ErrorContains(t, err, tc.want)
	}
	o := Options{}
	require.NoError(t, o.Validate())
	require.Equal(t, ByAccess, o.By)
	require.Equal(t, CSV, o.Format)
	require.Equal(t, DefaultDays, o.Days)
	require.Equal(t, DefaultMaxRows, o.MaxRows)
	require.False(t, o.Now.IsZero())
}

func TestAge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "in the future (check the clocks)"},
		{10 * time.Second, "less than a minute"},
		{time.Minute, "1 minute"},
		{89 * time.Minute, "89 minutes"},
		{3 * time.Hour, "3 hours"},
		{47 * time.Hour, "47 hours"},
		{72 * time.Hour, "3 days"},
	} {
		require.Equal(t, tc.want, age(tc.d), tc.d)
	}
}

// failWriter fails after n bytes, like a full disk or a closed pipe.
type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestWriteErrors: a failing writer surfaces its error from every format, at the
// start of the report or in the middle of it.
func TestWriteErrors(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	for _, f := range Formats {
		for _, after := range []int{0, 100_000} {
			t.Run(fmt.Sprintf("%s/%d", f, after), func(t *testing.T) {
				t.Parallel()
				by := ByUser
				if f == CSV {
					by = ByObject
				}
				err := Write(&failWriter{n: after}, m, Options{By: by, Format: f, Now: reportNow})
				require.ErrorIs(t, err, errDiskFull)
			})
		}
	}
}
