package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/snaptest"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// tinyEdited copies the tiny sample with each file's replacements applied
// (old, new pairs; an empty old appends new) and reseals it.
func tinyEdited(t *testing.T, edits map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repo, "testdata/sample/tiny")
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		text := string(b)
		pairs := edits[e.Name()]
		for i := 0; i < len(pairs); i += 2 {
			if pairs[i] == "" {
				text += pairs[i+1]
				continue
			}
			require.Contains(t, text, pairs[i])
			text = strings.Replace(text, pairs[i], pairs[i+1], 1)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), []byte(text), 0o644))
	}
	snaptest.Reseal(t, dir)
	return dir
}

// diffTargets are the two kinds of target, each fresh for one test.
func diffTargets(t *testing.T) map[string][]string {
	t.Helper()
	return map[string][]string{
		"dir":      {"--target", "dir:" + t.TempDir(), "--log-level", "error"},
		"postgres": {"--target", pgtest.URL(), "--schema", pgtest.Schema(t, pgtest.Pool(t)), "--log-level", "error"},
	}
}

// diffJSON is what diff --format json prints.
type diffJSON struct {
	From, To int
	Note     string
	Summary  diffSummary
	Changes  []struct {
		Email, ObjectType, ObjectName string
		Added                         bool
	}
}

func (d diffJSON) count(list []diffCount, name string) diffCount {
	for _, c := range list {
		if c.Name == name {
			return c
		}
	}
	return diffCount{Name: name}
}

// reportRows reads a generation's access rows through report --format csv.
func reportRows(t *testing.T, args []string, gen int) map[string]bool {
	t.Helper()
	r := run(t, append([]string{"report", "--by", "access", "--format", "csv", "--generation", fmt.Sprint(gen)}, args...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	require.NoError(t, err)
	rows := map[string]bool{}
	for _, rec := range recs[1:] {
		rows[strings.Join(rec, "|")] = true
	}
	return rows
}

// changeSet is what changed from one generation's rows to another's, counted
// by object ("TYPE NAME") and by email and object type ("EMAIL|TYPE"), [added,
// removed].
func changeSet(from, to map[string]bool) (total [2]int, byObject, byPerson map[string][2]int) {
	byObject, byPerson = map[string][2]int{}, map[string][2]int{}
	add := func(row string, i int) {
		f := strings.Split(row, "|") // account, email, type, name, privilege
		o, p := byObject[f[2]+" "+f[3]], byPerson[f[1]+"|"+f[2]]
		o[i]++
		p[i]++
		total[i]++
		byObject[f[2]+" "+f[3]], byPerson[f[1]+"|"+f[2]] = o, p
	}
	for r := range to {
		if !from[r] {
			add(r, 0)
		}
	}
	for r := range from {
		if !to[r] {
			add(r, 1)
		}
	}
	return total, byObject, byPerson
}

// TestDiffSummary publishes three generations of the tiny sample on each target,
// each changing people for known reasons, and checks the summary's counts
// against the change set computed from the published rows.
func TestDiffSummary(t *testing.T) {
	t.Parallel()
	tiny := filepath.Join(repo, "testdata/sample/tiny")
	// Generation 2: ANNA is disabled, CARL is new with READER, READER gains
	// SELECT on a new table (BEN gets it through WRITER → READER).
	second := tinyEdited(t, map[string][]string{
		"users.csv":           {"ANNA,anna@tiny.example,false,", "ANNA,anna@tiny.example,true,", "", "CARL,carl@tiny.example,false,\n"},
		"grants_to_users.csv": {"", "READER,USER,CARL,\n"},
		"grants_to_roles.csv": {"", "SELECT,TABLE,ORDERS,SHOP,PUBLIC,ROLE,READER,false,\n"},
	})
	// Generation 3: BEN loses WRITER, CARL's email changes.
	third := tinyEdited(t, map[string][]string{
		"users.csv":           {"ANNA,anna@tiny.example,false,", "ANNA,anna@tiny.example,true,", "", "CARL,carl.b@tiny.example,false,\n"},
		"grants_to_users.csv": {"WRITER,USER,BEN,", "WRITER,USER,BEN,2026-11-02 00:00:00.000 +0000", "", "READER,USER,CARL,\n"},
		"grants_to_roles.csv": {"", "SELECT,TABLE,ORDERS,SHOP,PUBLIC,ROLE,READER,false,\n"},
	})
	// Generation 4: READER loses USAGE on the schema; in effective mode CARL
	// loses the tables in it too, though their grants stay.
	fourth := tinyEdited(t, map[string][]string{
		"users.csv":           {"ANNA,anna@tiny.example,false,", "ANNA,anna@tiny.example,true,", "", "CARL,carl.b@tiny.example,false,\n"},
		"grants_to_users.csv": {"WRITER,USER,BEN,", "WRITER,USER,BEN,2026-11-02 00:00:00.000 +0000", "", "READER,USER,CARL,\n"},
		"grants_to_roles.csv": {"USAGE,SCHEMA,PUBLIC,SHOP,,ROLE,READER,false,", "USAGE,SCHEMA,PUBLIC,SHOP,,ROLE,READER,false,2026-11-02 00:00:00.000 +0000", "", "SELECT,TABLE,ORDERS,SHOP,PUBLIC,ROLE,READER,false,\n"},
	})
	for name, target := range diffTargets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			with := func(args ...string) []string { return append(args, target...) }
			for _, src := range []string{tiny, second, third, fourth} {
				r := run(t, with("sync", "--source", "dir:"+src, "--force")...)
				require.Equal(t, ExitOK, r.code, r.stderr)
			}
			for _, tc := range []struct {
				from, to int
				// causes maps an email, or an email and object type
				// ("EMAIL|TYPE"), to the cause of its rows.
				causes map[string]string
			}{
				{1, 2, map[string]string{"anna@tiny.example": "user disabled", "carl@tiny.example": "user new", "ben@tiny.example": "grant added on the object"}},
				{2, 3, map[string]string{"ben@tiny.example": "role revoked", "carl@tiny.example": "email mapping changed", "carl.b@tiny.example": "email mapping changed"}},
				{3, 4, map[string]string{"carl.b@tiny.example|SCHEMA": "grant revoked on the object", "carl.b@tiny.example": "usage on the database or schema revoked"}},
			} {
				r := run(t, with("diff", "--from", fmt.Sprint(tc.from), "--to", fmt.Sprint(tc.to), "--format", "json")...)
				require.Equal(t, ExitFindings, r.code, r.stderr)
				var got diffJSON
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
				total, byObject, byPerson := changeSet(reportRows(t, target, tc.from), reportRows(t, target, tc.to))
				require.NotZero(t, total[0]+total[1])
				require.Equal(t, total, [2]int{got.Summary.Added, got.Summary.Removed})
				require.Len(t, got.Summary.ByObject, len(byObject))
				for o, n := range byObject {
					c := got.count(got.Summary.ByObject, o)
					require.Equal(t, n, [2]int{c.Added, c.Removed}, "%d → %d: %s", tc.from, tc.to, o)
				}
				want := map[string][2]int{}
				for person, n := range byPerson {
					cause, ok := tc.causes[person]
					if !ok {
						email, _, _ := strings.Cut(person, "|")
						cause, ok = tc.causes[email]
					}
					require.True(t, ok, "%s changed unexpectedly", person)
					w := want[cause]
					want[cause] = [2]int{w[0] + n[0], w[1] + n[1]}
				}
				distinct := map[string]bool{}
				for _, c := range tc.causes {
					distinct[c] = true
				}
				require.Len(t, want, len(distinct), "every expected cause has rows")
				require.Len(t, got.Summary.ByCause, len(want), "%+v", got.Summary.ByCause)
				for cause, n := range want {
					c := got.count(got.Summary.ByCause, cause)
					require.Equal(t, n, [2]int{c.Added, c.Removed}, "%d → %d: %s", tc.from, tc.to, cause)
				}
				roles := 0
				for _, c := range got.Summary.ByRole {
					require.Contains(t, []string{"READER", "WRITER"}, c.Name)
					roles += c.Added + c.Removed
				}
				require.Equal(t, total[0]+total[1], roles, "every row is counted under the role heading its path")
			}
			// In text, the summary comes first, then the rows by person.
			r := run(t, with("diff", "--from", "2", "--to", "3")...)
			require.Equal(t, ExitFindings, r.code, r.stderr)
			summary, rows, ok := strings.Cut(r.stdout, "ben@tiny.example (TINY)")
			require.True(t, ok)
			require.Regexp(t, `(?m)^by cause:\n(  \+\d+\s+−\d+\s+\S.*\n)+`, summary, "the summary comes before the rows")
			require.NotContains(t, rows, "by cause:")
		})
	}
}

// TestRollbackIsARun rolls back on each target: generations lists the rollback
// among the runs, with the generations and who ran it, and a bare diff
// compares the generation made current again with the one it replaced. Not
// parallel: it sets $USER, which names who rolled back.
func TestRollbackIsARun(t *testing.T) {
	t.Setenv("USER", "alice")
	for name, target := range diffTargets(t) {
		t.Run(name, func(t *testing.T) {
			with := func(args ...string) []string { return append(args, target...) }
			r := run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			r = run(t, with("sync", "--source", "dir:"+tinyWithoutBen(t), "--force")...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			forward := run(t, with("diff", "--format", "json")...)
			require.Equal(t, ExitFindings, forward.code, forward.stderr)
			var fwd diffJSON
			require.NoError(t, json.Unmarshal([]byte(forward.stdout), &fwd))
			require.Equal(t, [2]int{1, 2}, [2]int{fwd.From, fwd.To})
			require.Empty(t, fwd.Note, "a plain publish needs no note")

			r = run(t, with("rollback")...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			require.Contains(t, r.stdout, "generation 1 is current again")
			require.Contains(t, r.stdout, "it replaced generation 2")

			r = run(t, with("generations")...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			_, runs, ok := strings.Cut(r.stdout, "RECENT RUNS")
			require.True(t, ok)
			require.Regexp(t, fmt.Sprintf(`(?m)^\S+ \S+\s+rollback\s+2 → 1\s+%d\s+%d\s+%d\s+by alice$`,
				rowsOf(t, with, 1), fwd.Summary.Removed, fwd.Summary.Added), runs)
			r = run(t, with("generations", "--format", "json")...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			var gens struct {
				Runs []struct {
					Status     string
					Generation int
					From       int
					By         string
				}
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &gens))
			require.Equal(t, "rollback", gens.Runs[0].Status)
			require.Equal(t, [2]int{2, 1}, [2]int{gens.Runs[0].From, gens.Runs[0].Generation})
			require.Equal(t, "alice", gens.Runs[0].By)

			r = run(t, with("diff")...)
			require.Equal(t, ExitFindings, r.code, r.stderr)
			require.Contains(t, r.stdout, "generation 2 → 1\n")
			require.Contains(t, r.stdout, "compared with generation 2, which it replaced")
			r = run(t, with("diff", "--format", "json")...)
			require.Equal(t, ExitFindings, r.code, r.stderr)
			var back diffJSON
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &back))
			require.Equal(t, [2]int{2, 1}, [2]int{back.From, back.To})
			require.Equal(t, [2]int{fwd.Summary.Removed, fwd.Summary.Added}, [2]int{back.Summary.Added, back.Summary.Removed}, "the rollback undoes the publish")
			require.Equal(t, fwd.Summary.Removed, back.count(back.Summary.ByCause, "role granted").Added, "BEN has WRITER again")

			// A publish after the rollback replaced generation 1, not 2.
			r = run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"), "--force")...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			r = run(t, with("diff")...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			require.Contains(t, r.stdout, "generation 1 → 3\n")
			require.Contains(t, r.stdout, "0 added, 0 removed")
		})
	}
}

// rowsOf is the number of rows of a generation, as generations lists it.
func rowsOf(t *testing.T, with func(...string) []string, gen int) int {
	t.Helper()
	r := run(t, with("generations", "--format", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var out struct {
		Generations []struct{ Generation, Rows int }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	for _, g := range out.Generations {
		if g.Generation == gen {
			return g.Rows
		}
	}
	t.Fatalf("generation %d not kept", gen)
	return 0
}

// TestDiffSinceBeforeFirstGeneration: a moment before anything was published
// compares with nothing mirrored, on each target; a directory that no longer
// keeps its first generation cannot tell and refuses.
func TestDiffSinceBeforeFirstGeneration(t *testing.T) {
	t.Parallel()
	for name, target := range diffTargets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			with := func(args ...string) []string { return append(args, target...) }
			r := run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			r = run(t, with("sync", "--source", "dir:"+tinyWithoutBen(t), "--force")...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			var gens struct {
				Generations []struct {
					Generation  int
					PublishedAt time.Time `json:"published_at"`
					Rows        int
				}
			}
			r = run(t, with("generations", "--format", "json")...)
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &gens))
			first, current := gens.Generations[1], gens.Generations[0]

			r = run(t, with("diff", "--since", "2020-01-01")...)
			require.Equal(t, ExitFindings, r.code, r.stderr)
			require.Contains(t, r.stdout, "since 2020-01-01 00:00:00Z: nothing mirrored → generation 2\n")
			require.Contains(t, r.stdout, fmt.Sprintf("no generation was current at 2020-01-01 00:00:00Z; the first, generation 1, was published at %s", stamp(first.PublishedAt)))
			require.Contains(t, r.stdout, fmt.Sprintf("%d added, 0 removed\n", current.Rows))
			r = run(t, with("diff", "--since", "2020-01-01", "--format", "csv")...)
			require.Equal(t, ExitFindings, r.code, r.stderr)
			require.Equal(t, current.Rows, strings.Count(r.stdout, "\nadded,"))
			r = run(t, with("diff", "--since", "2020-01-01", "--format", "json")...)
			var got diffJSON
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
			require.Equal(t, [2]int{0, 2}, [2]int{got.From, got.To})
			require.Equal(t, current.Rows, got.count(got.Summary.ByCause, causeNothing).Added)
		})
	}
	t.Run("dir without its first generation", func(t *testing.T) {
		t.Parallel()
		target := []string{"--target", "dir:" + t.TempDir(), "--log-level", "error"}
		r := run(t, append([]string{"sync", "--source", "dir:" + filepath.Join(repo, "testdata/sample/tiny")}, target...)...)
		require.Equal(t, ExitOK, r.code, r.stderr)
		r = run(t, append([]string{"sync", "--source", "dir:" + tinyWithoutBen(t), "--force", "--keep", "0"}, target...)...)
		require.Equal(t, ExitOK, r.code, r.stderr)
		r = run(t, append([]string{"diff", "--since", "2020-01-01"}, target...)...)
		require.Equal(t, ExitError, r.code, "the directory no longer knows when its first generation was published")
		require.Contains(t, r.stderr, "a directory target answers only for the generations it keeps")
	})
}

// TestDiffSummaryPartial: a summary bounded to fewer people than changed finds
// roles and causes for those with the most changed rows, exactly as an unbounded
// one does for them, and counts everyone else's rows as not analysed.
func TestDiffSummaryPartial(t *testing.T) {
	t.Parallel()
	e, d := changesOfSyncs(t, filepath.Join(repo, "testdata/sample/acme"), tinyWithoutBen(t), filepath.Join(repo, "testdata/sample/tiny"))
	all, err := e.summarize(d, 0)
	require.NoError(t, err)
	require.Empty(t, all.Partial)
	require.NotContains(t, names(all.ByCause), causeNotAnalysed)

	rowsOf := map[string]int{}
	for c := range d.ch.All() {
		rowsOf[c.Email]++
	}
	require.Greater(t, len(rowsOf), 2, "the acme → tiny diff changes many people")
	part, err := e.summarize(d, 2)
	require.NoError(t, err)
	require.Equal(t, all.ByObject, part.ByObject, "objects are counted from the rows alone")
	total := func(cs []diffCount) (n int) {
		for _, c := range cs {
			n += c.Added + c.Removed
		}
		return n
	}
	require.Equal(t, total(all.ByCause), total(part.ByCause), "every row is counted once")
	require.Equal(t, total(all.ByRole), total(part.ByRole))
	notAnalysed := 0
	for _, c := range part.ByCause {
		if c.Name == causeNotAnalysed {
			notAnalysed = c.Added + c.Removed
		}
	}
	counts := slices.Sorted(maps.Values(rowsOf))
	top := counts[len(counts)-1] + counts[len(counts)-2]
	require.Equal(t, total(all.ByCause)-top, notAnalysed, "the two most changed people are analysed")
	require.Contains(t, part.Partial, fmt.Sprintf("the %d rows of the other %d people are not analysed", notAnalysed, len(rowsOf)-2))
}

func names(cs []diffCount) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// TestDiffSinceWithoutRolePaths: a Postgres target answers a moment whose
// generation it no longer keeps from its access history, which has the rows
// but not their role paths: the summary counts rows and objects and says why
// it has no roles and causes.
func TestDiffSinceWithoutRolePaths(t *testing.T) {
	t.Parallel()
	pg := []string{"--target", pgtest.URL(), "--schema", pgtest.Schema(t, pgtest.Pool(t)), "--log-level", "error"}
	with := func(args ...string) []string { return append(args, pg...) }
	r := run(t, with("sync", "--source", "dir:"+filepath.Join(repo, "testdata/sample/tiny"))...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	between := time.Now().UTC()
	r = run(t, with("sync", "--source", "dir:"+tinyWithoutBen(t), "--force", "--keep", "0")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	r = run(t, with("diff", "--since", between.Format(time.RFC3339Nano))...)
	require.Equal(t, ExitFindings, r.code, r.stderr)
	require.Contains(t, r.stdout, "generation 1 → 2\n0 added, 7 removed\nby object:\n")
	require.Contains(t, r.stdout, fmt.Sprintf("roles and causes unavailable: generation 1, current at %s, is no longer kept: the access history has its rows, not their role paths", stamp(between)))
	require.NotContains(t, r.stdout, "by cause:")
}

// TestDiffSummaryOneSlicePerSide: the summary reads one slice of each side,
// about every analysed person at once and only their own users, and finds the
// roles and causes that the whole generations give. A change where users left
// the analysed people (acme replaced by tiny: every acme user is gone; an email
// that is no longer valid) reads each side a second time with every user; a
// revoked role does not.
func TestDiffSummaryOneSlicePerSide(t *testing.T) {
	t.Parallel()
	tiny := filepath.Join(repo, "testdata/sample/tiny")
	for _, tc := range []struct {
		name   string
		srcs   []string
		slices int
	}{
		{"users gone", []string{filepath.Join(repo, "testdata/sample/acme"), tinyWithoutBen(t)}, 2},
		{"role revoked", []string{tiny, tinyWithoutBen(t)}, 1},
		// BEN's new address is no address: he is filed under nobody, and only
		// every user of the newer side says his email changed, not that he was
		// dropped.
		{"email no longer valid", []string{tiny, tinyEdited(t, map[string][]string{"users.csv": {"BEN,Ben@Tiny.Example", "BEN,ben at tiny"}})}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, d := changesOfSyncs(t, tc.srcs...)
			changed := map[string]bool{}
			for c := range d.ch.All() {
				changed[c.Email] = true
			}
			require.NotEmpty(t, changed)

			var asked [2][]model.Focus
			count := func(i int, sl slicer) slicer {
				return func(f model.Focus) (*model.Mirror, error) {
					asked[i] = append(asked[i], f)
					return sl(f)
				}
			}
			from, to := d.from, d.to
			d.from, d.to = count(0, from), count(1, to)
			got, err := e.summarize(d, 0)
			require.NoError(t, err)
			for i := range asked {
				require.Len(t, asked[i], tc.slices, "slices of side %d", i)
				require.True(t, asked[i][0].OwnUsers, "the first slice has the people's own users")
				for _, f := range asked[i] {
					require.ElementsMatch(t, slices.Collect(maps.Keys(changed)), f.People())
				}
			}

			whole := func(sl slicer) slicer {
				m, err := sl(model.Focus{})
				require.NoError(t, err)
				return func(model.Focus) (*model.Mirror, error) { return m, nil }
			}
			d.from, d.to = whole(from), whole(to)
			want, err := e.summarize(d, 0)
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.NotContains(t, names(got.ByRole), causeUnexplained)
			require.NotContains(t, names(got.ByCause), causeUnexplained)
		})
	}
}

// TestDiffJSONStreamsWhatEncodingJSONWrites: the changes are written one at a
// time, and the document is the same bytes as encoding/json writes for the
// whole of it, for no change, one, and names that JSON escapes.
func TestDiffJSONStreamsWhatEncodingJSONWrites(t *testing.T) {
	odd := model.Row{Account: "A", Email: `o"neil@example.com`, ObjectType: "TABLE", ObjectName: `DB."<tab>&\x"` + "\u2028é\x01", Privilege: "SELECT"}
	plain := model.Row{Account: "A", Email: "bob@example.com", ObjectType: "SCHEMA", ObjectName: "DB.S", Privilege: "USAGE"}
	sum := &diffSummary{Added: 1, Removed: 2, ByObject: []diffCount{{Name: "TABLE DB.T", Removed: 2}}, ByRole: []diffCount{}, ByCause: []diffCount{}}
	for _, tc := range []struct {
		doc     diffDoc
		changes []model.Change
	}{
		{diffDoc{From: 1, To: 2, Summary: &diffSummary{ByObject: []diffCount{}, ByRole: []diffCount{}, ByCause: []diffCount{}}}, nil},
		{diffDoc{From: 3, To: 4, Note: "after a rollback", Summary: sum}, []model.Change{{Row: odd, Added: true}}},
		{diffDoc{Since: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: 5, Summary: sum}, []model.Change{{Row: plain}, {Row: odd, Added: true}, {Row: plain, Added: true}}},
	} {
		var want strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		whole := struct {
			diffDoc
			Changes []model.Change `json:"changes"`
		}{tc.doc, append([]model.Change{}, tc.changes...)}
		require.NoError(t, enc.Encode(whole))
		var got strings.Builder
		require.NoError(t, encodeDiffJSON(&got, tc.doc, slices.Values(tc.changes)))
		require.Equal(t, want.String(), got.String())
	}
}

// changesOfSyncs syncs each source in turn (forced, so each publishes) into a
// fresh directory target and returns the environment and the changes from the
// first generation to the second; the store stays open until the test ends.
func changesOfSyncs(t *testing.T, srcs ...string) (*env, *diffPlan) {
	t.Helper()
	target := t.TempDir()
	for _, src := range srcs {
		r := run(t, "sync", "--source", "dir:"+src, "--target", "dir:"+target, "--force", "--log-level", "error")
		require.Equal(t, ExitOK, r.code, r.stderr)
	}
	e := &env{ctx: t.Context(), cfg: &Config{Target: "dir:" + target}}
	s, err := e.openStore()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	d, err := e.changes(s, 1, 2)
	require.NoError(t, err)
	return e, d
}
