package cli

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// runRollback is the status of a rollback in the run history. The rollback
// command records it; the history has no columns for a rollback's origin and
// author, so its Source says both (rollbackSource), in words a person reading
// the runs table understands too.
const runRollback = "rollback"

func rollbackSource(from int, by string) string {
	s := fmt.Sprintf("rollback from generation %d", from)
	if by != "" {
		s += " by " + by
	}
	return s
}

var rollbackSourceRE = regexp.MustCompile(`^rollback from generation (\d+)(?: by (.+))?$`)

// rollbackOf reads a rollback's run record: the generation it replaced and who
// made it (empty when unknown). ok is false for any other run.
func rollbackOf(r model.RunRecord) (from int, by string, ok bool) {
	if r.Status != runRollback {
		return 0, "", false
	}
	m := rollbackSourceRE.FindStringSubmatch(r.Source)
	if m == nil {
		return 0, "", false
	}
	from, _ = strconv.Atoi(m[1])
	return from, m[2], true
}

// runView is a run as generations --format json shows it: a rollback with the
// generation it replaced and its author as fields of their own.
type runView struct {
	model.RunRecord
	From int    `json:"from,omitempty"`
	By   string `json:"by,omitempty"`
}

func generationsCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "generations",
		Usage: "list the kept generations and recent runs",
		Description: `Lists the generations the target keeps for diff and rollback, newest first, with
when each was published, how old its snapshot was, and what it added and removed;
then the most recent runs, whatever their outcome (published, unchanged, refused,
failed, dry-run, rollback). A rollback shows the generation it replaced and the one
it made current again (GENERATION 2 → 1), what that changed, and who ran it when
known (who ran it: $USER, else the account it ran as).

Examples:
   grantmirror generations
   grantmirror generations --target postgres://grantmirror@db/app --runs 30 --format json`,
		Flags: targetFlags(formatFlag("text", "text", "json"), &cli.IntFlag{Name: "runs", Value: 10, Usage: "how many recent runs to show"}),
		Action: e.action(func(c *cli.Context) error {
			s, err := e.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			gens, err := s.Generations(e.ctx)
			if err != nil {
				return err
			}
			runs, err := s.Runs(e.ctx, c.Int("runs"))
			if err != nil {
				return err
			}
			switch c.String("format") {
			case "json":
				views := make([]runView, len(runs))
				for i, r := range runs {
					views[i].RunRecord = r
					views[i].From, views[i].By, _ = rollbackOf(r)
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"generations": gens, "runs": views})
			case "text":
			default:
				return usageErr("format %q: want text or json", c.String("format"))
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GENERATION\tPUBLISHED\tSNAPSHOT\tROWS\tADDED\tREMOVED\tMODE\t")
			for _, g := range gens {
				mark := ""
				if g.Current {
					mark = "current"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", g.Number, stamp(g.PublishedAt), stamp(g.SnapshotAt), g.Rows, g.Added, g.Removed, g.Mode, mark)
			}
			tw.Flush()
			if len(runs) > 0 {
				fmt.Fprintln(e.stdout, "\nRECENT RUNS")
				tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "STARTED\tSTATUS\tGENERATION\tROWS\tADDED\tREMOVED\tDETAIL")
				for _, r := range runs {
					gen, detail := strconv.Itoa(r.Generation), r.Error
					if from, by, ok := rollbackOf(r); ok {
						gen = fmt.Sprintf("%d → %d", from, r.Generation)
						if by != "" {
							detail = "by " + by
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", stamp(r.StartedAt), r.Status, gen, r.Rows, r.Added, r.Removed, detail)
				}
				tw.Flush()
			}
			return nil
		}),
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func diffCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "diff",
		Usage: "show the rows added and removed between two generations",
		Description: `Compares two kept generations (default: current, and the generation it replaced:
the one published before it, or after a rollback the one the rollback replaced).
Exit 0 when they are identical, 1 when anything changed.

The summary comes first: the rows added and removed, then counted by object, by
role (the role granted to the person that heads the row's role path) and by cause:
what differs between the two generations that explains the row (a grant added or
revoked on the object, a role granted or revoked, usage on the database or schema,
a user new, dropped, disabled, re-enabled or expired, a changed email mapping).
Roles and causes are read in one slice of each generation about the changed
people, whose cost follows how many they are: they are found for the --causes
people with the most changed rows (default 200, everyone in a 1% change of 20,000
people); the rows of the others are counted as not analysed, and the summary says
how many.
Then the rows, by person and object. --format json has the summary as fields;
--format csv is the rows alone.

--since compares the rows as they stood at a past moment with the current ones: who
gained and who lost access since then. The moment is judged by publish time: the rows
readers were served then, whatever the age of their snapshot. A Postgres target answers from its access
history, a directory target from the generations it keeps. A moment before the first
generation compares with nothing mirrored: every current row is added.

Examples:
   grantmirror diff
   grantmirror diff --from 1 --to 2 --format csv
   grantmirror diff --since 24h
   grantmirror diff --since 2026-03-01 --format csv`,
		Flags: targetFlags(
			&cli.IntFlag{Name: "from", Usage: "older generation", DefaultText: "the one --to replaced"},
			&cli.IntFlag{Name: "to", Usage: "newer generation", DefaultText: "current"},
			&cli.StringFlag{Name: "since", Usage: "compare the rows at this moment with the current ones: RFC 3339, a date (midnight UTC) or a duration ago (24h, 7d)"},
			&cli.IntFlag{Name: "causes", Value: defaultCausePeople, Usage: "find roles and causes for at most this many changed people, the most changed first (0: everyone; the slice of both generations they are read from grows with them)"},
			formatFlag("text", "text", "json", "csv"),
		),
		Action: e.action(func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "json" && format != "csv" {
				return usageErr("format %q: want text, json or csv", format)
			}
			if c.Int("causes") < 0 {
				return usageErr("--causes %d: want 0 (everyone) or more", c.Int("causes"))
			}
			var since time.Time
			if c.IsSet("since") {
				if c.IsSet("from") || c.IsSet("to") {
					return usageErr("--since compares with the current generation: give it without --from and --to")
				}
				t, err := parseMoment(c.String("since"), time.Now())
				if err != nil {
					return usageErr("--since %v", err)
				}
				since = t
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			var d *diffPlan
			if !since.IsZero() {
				d, err = e.changesSince(s, since)
			} else {
				d, err = e.changes(s, c.Int("from"), c.Int("to"))
			}
			if err != nil {
				return e.noGeneration(err)
			}
			d.causePeople = c.Int("causes")
			changed, err := e.writeDiff(format, d)
			if err != nil {
				return err
			}
			if changed {
				return findings
			}
			return nil
		}),
	}
}

// diffPlan is what a diff compares: the changes, and each side's provenance
// for the summary's roles and causes.
type diffPlan struct {
	ch *model.Changes
	// since, when set, is the moment the older side stood at.
	since time.Time
	// from and to read the part of each side a focus concerns; nil when that
	// side has no role paths (a past moment answered from the access history).
	from, to slicer
	// nothing says the older side is the state before the first generation.
	nothing bool
	// note says how the older side was chosen when it is not plain.
	note string
	// noCauses says why roles and causes are not given.
	noCauses string
	// causePeople bounds the people whose roles and causes are read (0: all).
	causePeople int
}

// slicer reads the part of one side of a diff that a focus concerns.
type slicer func(model.Focus) (*model.Mirror, error)

func (e *env) generationSlicer(r model.Reader, n int) slicer {
	return func(f model.Focus) (*model.Mirror, error) { return r.Slice(e.ctx, n, f) }
}

func mirrorSlicer(m *model.Mirror) slicer {
	return func(f model.Focus) (*model.Mirror, error) { return model.SliceOf(m, f), nil }
}

// changes compares generation from (0: the one to replaced) with generation to
// (0: current).
func (e *env) changes(s model.Store, from, to int) (*diffPlan, error) {
	r := model.ReaderOf(s)
	gens, err := s.Generations(e.ctx)
	if err != nil {
		return nil, err
	}
	d := &diffPlan{}
	if to == 0 {
		for _, g := range gens {
			if g.Current {
				to = g.Number
			}
		}
		if to == 0 {
			return nil, model.ErrNoGeneration
		}
		if from == 0 {
			from, d.note, err = e.replaced(s, gens, to)
			if err != nil {
				return nil, err
			}
		}
	}
	if from == 0 {
		for _, g := range gens {
			if g.Number < to && g.Number > from {
				from = g.Number
			}
		}
		if from == 0 {
			return nil, fmt.Errorf("%w: no generation kept before %d to compare with", model.ErrUnknownGeneration, to)
		}
	}
	d.ch, err = r.Changes(e.ctx, from, to, model.Focus{})
	if err != nil {
		return nil, err
	}
	d.from, d.to = e.generationSlicer(r, from), e.generationSlicer(r, to)
	return d, nil
}

// replaced finds, in the run history, the kept generation that current replaced
// when it became current: the one current before a rollback, or before a
// publish (after a rollback, the generation rolled back to, not the newest one
// before current). It returns 0 when the history does not tell, or when a
// publish's predecessor is no longer kept (the caller then compares with the
// newest kept one before), and an error when a rollback's is not: comparing
// with another would misstate what the rollback did. note, when set, says what
// was chosen and why.
func (e *env) replaced(s model.Store, gens []model.Generation, current int) (int, string, error) {
	runs, err := s.Runs(e.ctx, 0)
	if err != nil {
		return 0, "", err
	}
	kept := map[int]bool{}
	newestBefore := 0
	for _, g := range gens {
		kept[g.Number] = true
		if g.Number < current {
			newestBefore = max(newestBefore, g.Number)
		}
	}
	// Runs are newest first; those that made a generation current are publishes
	// and rollbacks.
	var became []model.RunRecord
	for _, r := range runs {
		if r.Status == model.RunPublished || r.Status == runRollback {
			became = append(became, r)
		}
	}
	if len(became) == 0 || became[0].Generation != current {
		return 0, "", nil
	}
	if from, by, ok := rollbackOf(became[0]); ok {
		if !kept[from] {
			return 0, "", fmt.Errorf("%w: generation %d is current again by a rollback from generation %d, which is no longer kept; name two kept generations with --from and --to",
				model.ErrUnknownGeneration, current, from)
		}
		who := ""
		if by != "" {
			who = " by " + by
		}
		return from, fmt.Sprintf("generation %d is current again by a rollback at %s%s; compared with generation %d, which it replaced",
			current, stamp(became[0].StartedAt), who, from), nil
	}
	if len(became) < 2 || !kept[became[1].Generation] || became[1].Generation == current {
		return 0, "", nil
	}
	from := became[1].Generation
	if from == newestBefore {
		return from, "", nil
	}
	return from, fmt.Sprintf("generation %d replaced generation %d, current after a rollback; compared with it", current, from), nil
}

// changesSince compares the rows as they stood at since with the current ones.
// A target with an access history answers a past moment from it, whole; any
// other from the generation current then. A moment before the first generation
// compares with nothing: every current row is added.
func (e *env) changesSince(s model.Store, since time.Time) (*diffPlan, error) {
	r := model.ReaderOf(s)
	d := &diffPlan{since: since}
	if h, ok := s.(historian); ok {
		old, withPaths, err := h.MirrorAt(e.ctx, since)
		if errors.Is(err, model.ErrNoGeneration) {
			return e.sinceNothing(s, since, err)
		}
		if err != nil {
			return nil, err
		}
		cur, err := r.Slice(e.ctx, 0, model.Focus{})
		if err != nil {
			return nil, err
		}
		d.ch = model.ChangesOf(old, cur, old.Meta.Generation, cur.Meta.Generation, model.Focus{})
		d.to = mirrorSlicer(cur)
		if withPaths {
			d.from = mirrorSlicer(old)
		} else {
			d.noCauses = fmt.Sprintf("generation %d, current at %s, is no longer kept: the access history has its rows, not their role paths", old.Meta.Generation, stamp(since))
		}
		return d, nil
	}
	n, err := e.generationAt(s, since)
	if errors.Is(err, model.ErrUnknownGeneration) {
		return e.sinceNothing(s, since, err)
	}
	if err != nil {
		return nil, err
	}
	if d.ch, err = r.Changes(e.ctx, n, 0, model.Focus{}); err != nil {
		return nil, err
	}
	d.from, d.to = e.generationSlicer(r, n), e.generationSlicer(r, d.ch.To)
	return d, nil
}

// sinceNothing answers --since for a moment the target could not find a
// generation for (err): when it is before the first generation ever published,
// the rows then were none, and every current row is added. Otherwise (an empty
// target, a moment older than the history or the kept generations reach) err
// stands.
func (e *env) sinceNothing(s model.Store, since time.Time, err error) (*diffPlan, error) {
	cur, cerr := s.Current(e.ctx)
	if cerr != nil {
		return nil, err
	}
	n, when, at, known, ferr := e.firstPublication(s)
	if ferr != nil {
		return nil, ferr
	}
	if !known || !since.Before(at) {
		return nil, err
	}
	d := &diffPlan{since: since, nothing: true, ch: &model.Changes{To: cur.Number}}
	d.note = fmt.Sprintf("no generation was current at %s; the first, generation %d, was %s: every row is added", stamp(since), n, when)
	r := model.ReaderOf(s)
	if err := r.Scan(e.ctx, cur.Number, func(row model.Row) error {
		d.ch.Added = append(d.ch.Added, row)
		return nil
	}); err != nil {
		return nil, err
	}
	d.from, d.to = mirrorSlicer(&model.Mirror{Access: model.NewAccess(nil)}), e.generationSlicer(r, cur.Number)
	return d, nil
}

// firstPublication is the first generation the target published, and when:
// in words, "published at T" from the generation itself while it is kept, or
// from the run that published it. A target with an access history answers for
// moments before the generations it keeps; a directory does not, so for it
// known is false once the first generation is pruned.
func (e *env) firstPublication(s model.Store) (n int, when string, at time.Time, known bool, err error) {
	gens, err := s.Generations(e.ctx)
	if err != nil {
		return 0, "", time.Time{}, false, err
	}
	runs, err := s.Runs(e.ctx, 0)
	if err != nil {
		return 0, "", time.Time{}, false, err
	}
	for _, g := range gens {
		if n == 0 || g.Number < n {
			n, at, known = g.Number, g.PublishedAt, true
			when = "published at " + stamp(at)
		}
	}
	for _, r := range runs {
		if r.Status == model.RunPublished && r.Generation > 0 && (n == 0 || r.Generation < n) {
			n, at, known = r.Generation, r.FinishedAt, false
			when = "published by the run that finished at " + stamp(at)
		}
	}
	if _, ok := s.(historian); ok && n > 0 {
		known = true
	}
	return n, when, at, known, nil
}

// writeDiff writes the summary and the changes; it reports whether anything
// changed.
func (e *env) writeDiff(format string, d *diffPlan) (bool, error) {
	// A diff of a 1% change at 50,000 people is 455,000 lines: unbuffered, their
	// write calls were a third of the command's time.
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	changed, err := e.writeDiffTo(out, format, d)
	return changed, cmp.Or(err, out.Flush())
}

func (e *env) writeDiffTo(out io.Writer, format string, d *diffPlan) (bool, error) {
	ch := d.ch
	changed := len(ch.Added)+len(ch.Removed) > 0
	if format == "csv" {
		w := csv.NewWriter(out)
		w.Write([]string{"change", "account", "email", "object_type", "object_name", "privilege"})
		for c := range ch.All() {
			w.Write([]string{changeWord(c), c.Account, c.Email, c.ObjectType, c.ObjectName, c.Privilege})
		}
		w.Flush()
		return changed, w.Error()
	}
	sum, err := e.summarize(d, d.causePeople)
	if err != nil {
		return changed, err
	}
	if format == "json" {
		doc := diffDoc{Since: d.since, From: ch.From, To: ch.To, Note: d.note, Summary: sum}
		return changed, encodeDiffJSON(out, doc, ch.All())
	}
	if !d.since.IsZero() {
		fmt.Fprintf(out, "since %s: ", stamp(d.since))
	}
	if d.nothing {
		fmt.Fprintf(out, "nothing mirrored → generation %d\n", ch.To)
	} else {
		fmt.Fprintf(out, "generation %d → %d\n", ch.From, ch.To)
	}
	if d.note != "" {
		fmt.Fprintf(out, "note: %s\n", d.note)
	}
	sum.write(out)
	// The rows by person, then object, which is how people read them: "who lost
	// access yesterday?"
	lastPerson, lastObject := "", ""
	for c := range ch.All() {
		if p := c.Account + " " + c.Email; p != lastPerson {
			fmt.Fprintf(out, "%s (%s)\n", c.Email, c.Account)
			lastPerson, lastObject = p, ""
		}
		if o := c.ObjectType + " " + c.ObjectName; o != lastObject {
			fmt.Fprintf(out, "  %s\n", o)
			lastObject = o
		}
		sign := "-"
		if c.Added {
			sign = "+"
		}
		fmt.Fprintf(out, "    %s %s\n", sign, c.Privilege)
	}
	return changed, nil
}

// diffDoc is the JSON form of a diff, but for its changes, which
// encodeDiffJSON streams after it.
type diffDoc struct {
	Since   time.Time    `json:"since,omitzero"`
	From    int          `json:"from"`
	To      int          `json:"to"`
	Note    string       `json:"note,omitempty"`
	Summary *diffSummary `json:"summary"`
}

// encodeDiffJSON writes doc with a last field "changes", the same bytes as
// json.Encoder with a two-space indent would write for the whole document, one
// change at a time: a 1% change at 50,000 people is 229,000 changes, which
// encoding/json would hold as a slice, encode by reflection and indent again
// in one buffer (0.35 s of a 1 s diff; bw is w itself when w is a large
// enough bufio.Writer). Strings are quoted by encoding/json,
// once per distinct string: changes repeat their people, objects and
// privileges.
func encodeDiffJSON(w io.Writer, doc diffDoc, changes iter.Seq[model.Change]) error {
	head, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(head[:len(head)-len("\n}")])
	bw.WriteString(",\n  \"changes\": [")
	quoted := map[string][]byte{}
	field := func(name, value string) {
		q, ok := quoted[value]
		if !ok {
			q, _ = json.Marshal(value)
			quoted[value] = q
		}
		bw.WriteString("\n      \"" + name + "\": ")
		bw.Write(q)
		bw.WriteByte(',')
	}
	n := 0
	for c := range changes {
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		bw.WriteString("\n    {")
		field("account", c.Account)
		field("email", c.Email)
		field("object_type", c.ObjectType)
		field("object_name", c.ObjectName)
		field("privilege", c.Privilege)
		bw.WriteString("\n      \"added\": " + strconv.FormatBool(c.Added) + "\n    }")
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

func changeWord(ch model.Change) string {
	if ch.Added {
		return "added"
	}
	return "removed"
}

// diffCount is how many rows one object, role or cause added and removed.
type diffCount struct {
	Name    string `json:"name"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
}

// diffSummary is what a diff says before its rows.
type diffSummary struct {
	Added    int         `json:"added"`
	Removed  int         `json:"removed"`
	ByObject []diffCount `json:"by_object"`
	ByRole   []diffCount `json:"by_role"`
	ByCause  []diffCount `json:"by_cause"`
	// NoCauses says why ByRole and ByCause are empty although rows changed.
	NoCauses string `json:"no_causes,omitempty"`
	// Partial says whose rows ByRole and ByCause leave "not analysed".
	Partial string `json:"partial,omitempty"`
}

// Causes of a changed row, as the summary names them: the added wording first,
// the removed one second.
var (
	causeGrant       = [2]string{"grant added on the object", "grant revoked on the object"}
	causeRole        = [2]string{"role granted", "role revoked"}
	causeUsage       = [2]string{"usage on the database or schema granted", "usage on the database or schema revoked"}
	causeUser        = [2]string{"user new", "user dropped"}
	causeDisabled    = [2]string{"user re-enabled", "user disabled"}
	causeExpired     = [2]string{"user no longer expired", "user expired"}
	causeEmail       = [2]string{"email mapping changed", "email mapping changed"}
	causeNothing     = "nothing mirrored before"
	causeUnexplained = "unexplained"
	causeNotAnalysed = "not analysed"
)

// defaultCausePeople is how many changed people a diff finds roles and causes
// for unless --causes says otherwise. They are read in one slice of each
// generation, whose cost follows the rows and memberships of the people in it:
// at 20,000 people, about 0.5 s for the 192 people of a 1% change on either
// target, and 0.7 s (directory) to 1.9 s (Postgres) a side for 1,000. So a
// change to up to 1% of people at that size is explained whole within the
// diff's second, and a larger one still costs about that, its most changed
// people, who hold most of its rows, explained first.
const defaultCausePeople = 200

// summarize counts the changes by object, by the role heading each row's role
// path, and by cause, from the provenance of both sides: one slice of each
// generation compared about the changed people (their memberships, the grants
// of the roles they hold, and the users of the snapshot), for at most limit
// people (0: all of them), those with the most changed rows first. The rows of
// the others are counted under causeNotAnalysed, and Partial says so.
func (e *env) summarize(d *diffPlan, limit int) (*diffSummary, error) {
	sum := &diffSummary{Added: len(d.ch.Added), Removed: len(d.ch.Removed), ByObject: []diffCount{}, ByRole: []diffCount{}, ByCause: []diffCount{}}
	objects, roles, causes := map[string]*diffCount{}, map[string]*diffCount{}, map[string]*diffCount{}
	bump := func(m map[string]*diffCount, name string, added bool) {
		c := m[name]
		if c == nil {
			c = &diffCount{Name: name}
			m[name] = c
		}
		if added {
			c.Added++
		} else {
			c.Removed++
		}
	}
	// Changed rows per person: who changed, and who changed most.
	rowsOf := map[string]int{}
	for c := range d.ch.All() {
		bump(objects, c.ObjectType+" "+c.ObjectName, c.Added)
		rowsOf[c.Email]++
	}
	sum.ByObject = sortedCounts(objects)
	switch {
	case len(rowsOf) == 0:
		return sum, nil
	case d.from == nil || d.to == nil:
		sum.NoCauses = d.noCauses
		return sum, nil
	}
	emails := slices.Collect(maps.Keys(rowsOf))
	slices.SortFunc(emails, func(a, b string) int { return cmp.Or(cmp.Compare(rowsOf[b], rowsOf[a]), cmp.Compare(a, b)) })
	if limit > 0 && len(emails) > limit {
		left, rows := emails[limit:], 0
		for _, email := range left {
			rows += rowsOf[email]
		}
		sum.Partial = fmt.Sprintf("roles and causes of the %d people with the most changed rows; the %d rows of the other %d people are not analysed (--causes %d, or 0 for everyone, reads them too)",
			limit, rows, len(left), len(emails))
		emails = emails[:limit]
	}
	// One slice of each side about every analysed person: a row's role and
	// cause need only its person's memberships and the grants of the roles they
	// hold, which a slice about several people keeps for each of them, not
	// their rows, and of the snapshot's users only theirs (at 50,000 users,
	// decoding all of them was a quarter of the diff).
	from, to, err := sides(d, model.Focus{Emails: emails, NoPersonRows: true, OwnUsers: true})
	if err != nil {
		return nil, err
	}
	// A user who gives one side's memberships and is not among the other's
	// users was dropped there, or is filed under an address nobody analysed
	// (its email or the aliases changed): only the other side's every user
	// tells which. The common change, a grant or a role, needs no second read.
	if from.lacksUsersOf(to) || to.lacksUsersOf(from) {
		if from, to, err = sides(d, model.Focus{Emails: emails, NoPersonRows: true}); err != nil {
			return nil, err
		}
	}
	analysed := map[string]bool{}
	for _, e := range emails {
		analysed[e] = true
	}
	for c := range d.ch.All() {
		if !analysed[c.Email] {
			bump(roles, causeNotAnalysed, c.Added)
			bump(causes, causeNotAnalysed, c.Added)
			continue
		}
		has, other := from, to
		if c.Added {
			has, other = other, has
		}
		granting := has.granting(c.Row)
		bump(roles, head(granting), c.Added)
		if d.nothing {
			bump(causes, causeNothing, c.Added)
		} else {
			bump(causes, cause(c, granting, has, other), c.Added)
		}
	}
	sum.ByRole, sum.ByCause = sortedCounts(roles), sortedCounts(causes)
	return sum, nil
}

// sortedCounts lists the counts most changed first, then by name.
func sortedCounts(m map[string]*diffCount) []diffCount {
	out := make([]diffCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b diffCount) int {
		if c := cmp.Compare(b.Added+b.Removed, a.Added+a.Removed); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// side indexes one side of a diff: who holds which roles, which role grants
// what, and the snapshot's users.
type side struct {
	meta model.Meta
	// memberships of each (account, email).
	memberships map[[2]string][]model.Membership
	// grantedTo is the roles that hold each grant (an access row without its
	// email): one lookup per changed row finds every role that gives it.
	grantedTo map[grantKey]map[string]bool
	// users by (account, name); nil when the side has no snapshot.
	users map[[2]string]*model.User
}

func newSide(m *model.Mirror) *side {
	s := &side{meta: m.Meta, memberships: map[[2]string][]model.Membership{}, grantedTo: map[grantKey]map[string]bool{}}
	for _, ms := range m.Memberships {
		k := [2]string{ms.Account, ms.Email}
		s.memberships[k] = append(s.memberships[k], ms)
	}
	for _, g := range m.Grants {
		k := grantKey{g.Account, g.ObjectType, g.ObjectName, g.Privilege}
		if s.grantedTo[k] == nil {
			s.grantedTo[k] = map[string]bool{}
		}
		s.grantedTo[k][g.Role] = true
	}
	if m.Snapshot != nil {
		s.users = map[[2]string]*model.User{}
		for _, a := range m.Snapshot.Accounts {
			for i := range a.Users {
				u := &a.Users[i]
				// A dropped user may share its name with an active one: the active
				// one is the user.
				if prev := s.users[[2]string{a.Name, u.Name}]; prev == nil || !prev.Active() {
					s.users[[2]string{a.Name, u.Name}] = u
				}
			}
		}
	}
	return s
}

// sides reads the slice f of both sides of d, side by side: neither needs the
// other.
func sides(d *diffPlan, f model.Focus) (from, to *side, err error) {
	var fromErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		var m *model.Mirror
		if m, fromErr = d.from(f); fromErr == nil {
			from = newSide(m)
		}
	})
	m, err := d.to(f)
	wg.Wait()
	if err = cmp.Or(fromErr, err); err != nil {
		return nil, nil, err
	}
	return from, newSide(m), nil
}

// lacksUsersOf reports whether a user of one of other's memberships is not
// among s's users, when both sides have them.
func (s *side) lacksUsersOf(other *side) bool {
	if s.users == nil || other.users == nil {
		return false
	}
	for _, held := range other.memberships {
		for _, ms := range held {
			if s.users[[2]string{ms.Account, ms.User}] == nil {
				return true
			}
		}
	}
	return false
}

// grantKey is a grant without its role: the object privilege an access row is.
type grantKey struct{ account, objectType, objectName, privilege string }

func grantOf(r model.Row) grantKey {
	return grantKey{r.Account, r.ObjectType, r.ObjectName, r.Privilege}
}

// granting returns the person's memberships whose role holds the row's grant.
func (s *side) granting(r model.Row) []model.Membership {
	roles := s.grantedTo[grantOf(r)]
	if len(roles) == 0 {
		return nil
	}
	var out []model.Membership
	for _, ms := range s.memberships[[2]string{r.Account, r.Email}] {
		if roles[ms.Role] {
			out = append(out, ms)
		}
	}
	return out
}

// head is the role at the head of the shortest role path of the memberships
// that grant a row (side.granting): the role granted to the person's user that
// leads to the grant.
func head(granting []model.Membership) string {
	best := ""
	bestLen := 0
	for _, ms := range granting {
		h := ms.Role
		if len(ms.Path) > 0 {
			h = ms.Path[0]
		}
		if best == "" || len(ms.Path) < bestLen || len(ms.Path) == bestLen && h < best {
			best, bestLen = h, len(ms.Path)
		}
	}
	if best == "" {
		return causeUnexplained
	}
	return best
}

// holds reports whether the person of r holds role in its account.
func (s *side) holds(r model.Row, role string) bool {
	for _, ms := range s.memberships[[2]string{r.Account, r.Email}] {
		if ms.Role == role {
			return true
		}
	}
	return false
}

// cause names why the row c is on side has and not on side other, whose
// memberships granting it are granting: first what happened to the person's
// user, then to the roles that grant the row.
func cause(c model.Change, granting []model.Membership, has, other *side) string {
	word := func(pair [2]string) string {
		if c.Added {
			return pair[0]
		}
		return pair[1]
	}
	if len(granting) == 0 {
		return causeUnexplained
	}
	if has.users != nil && other.users != nil {
		users := map[string]bool{}
		for _, ms := range granting {
			users[ms.User] = true
		}
		for _, name := range slices.Sorted(maps.Keys(users)) {
			ou := other.users[[2]string{c.Account, name}]
			switch {
			case ou == nil || !ou.DeletedOn.IsZero():
				return word(causeUser)
			case ou.Disabled:
				return word(causeDisabled)
			case ou.Expired:
				return word(causeExpired)
			}
			// The user is active on both sides but filed under another email on
			// the other: its email or the aliases mapping it changed.
			hu := has.users[[2]string{c.Account, name}]
			if hu != nil && !other.mapsUser(c.Account, c.Email, name) &&
				(!strings.EqualFold(strings.TrimSpace(hu.Email), strings.TrimSpace(ou.Email)) || !sameAliases(has.meta, other.meta)) {
				return word(causeEmail)
			}
		}
	}
	// Each side knows the grants of the roles the person holds on it (a slice
	// about the changed people), which is what tells the causes apart.
	held, granted := false, false
	for _, ms := range granting {
		if other.holds(c.Row, ms.Role) {
			held = true
			granted = granted || other.grantedTo[grantOf(c.Row)][ms.Role]
		}
	}
	switch {
	case granted:
		// The same role holds the same grant on both sides: in effective mode,
		// what changed is usage on a container.
		return word(causeUsage)
	case !held:
		return word(causeRole)
	}
	return word(causeGrant)
}

// mapsUser reports whether this side files the Snowflake user under email.
func (s *side) mapsUser(account, email, user string) bool {
	for _, ms := range s.memberships[[2]string{account, email}] {
		if ms.User == user {
			return true
		}
	}
	return false
}

// sameAliases reports whether two generations map users to emails with the
// same aliases and overrides (both unrecorded counts as the same).
func sameAliases(a, b model.Meta) bool {
	if a.Settings == nil || b.Settings == nil {
		return a.Settings == b.Settings
	}
	return maps.Equal(a.Settings.DomainAliases, b.Settings.DomainAliases) && maps.Equal(a.Settings.Overrides, b.Settings.Overrides)
}

// summaryLines is how many objects, roles and causes the text summary lists
// each; JSON has them all.
const summaryLines = 10

func (s *diffSummary) write(out io.Writer) {
	fmt.Fprintf(out, "%d added, %d removed\n", s.Added, s.Removed)
	group := func(title string, counts []diffCount) {
		if len(counts) == 0 {
			return
		}
		fmt.Fprintf(out, "by %s:\n", title)
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for i, c := range counts {
			if i == summaryLines {
				fmt.Fprintf(tw, "  … and %d more\n", len(counts)-i)
				break
			}
			fmt.Fprintf(tw, "  +%d\t−%d\t%s\n", c.Added, c.Removed, c.Name)
		}
		tw.Flush()
	}
	group("object", s.ByObject)
	group("role", s.ByRole)
	group("cause", s.ByCause)
	if s.NoCauses != "" {
		fmt.Fprintf(out, "roles and causes unavailable: %s\n", s.NoCauses)
	}
	if s.Partial != "" {
		fmt.Fprintf(out, "%s\n", s.Partial)
	}
}

func rollbackCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "make a kept generation current again",
		ArgsUsage: "[GENERATION]",
		Description: `Points the target back at a kept generation (default: the one published before
the current one). Readers switch in one atomic step. The next sync publishes a new
generation as usual. The rollback is recorded as a run (generations lists it, with
who ran it: $USER, else the account it ran as), and a bare diff afterwards compares the generation made current
again with the one it replaced.

Examples:
   grantmirror rollback
   grantmirror rollback 1 --target postgres://grantmirror@db/app`,
		Flags: targetFlags(),
		Action: e.action(func(c *cli.Context) error {
			n := 0
			if c.NArg() > 1 {
				return usageErr("want at most one GENERATION argument")
			}
			if c.NArg() == 1 {
				if _, err := fmt.Sscan(c.Args().First(), &n); err != nil || n <= 0 {
					return usageErr("generation %q: want a positive number", c.Args().First())
				}
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			started := time.Now().UTC()
			// The generation this rollback replaces, for its run record. The
			// store takes its publish lock only inside Rollback; a sync that
			// publishes in between would be the one replaced, and the record
			// names the older one.
			cur, err := s.Current(e.ctx)
			if err != nil {
				return e.noGeneration(err)
			}
			g, err := s.Rollback(e.ctx, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "generation %d is current again (%d rows, published %s); it replaced generation %d\n", g.Number, g.Rows, stamp(g.PublishedAt), cur.Number)
			rec := model.RunRecord{StartedAt: started, Status: runRollback, Source: rollbackSource(cur.Number, whoRuns()),
				Generation: g.Number, Rows: g.Rows}
			// Both generations are kept (a rollback prunes nothing), so what the
			// rollback changed is a question to the read layer, as for diff.
			ch, err := model.ReaderOf(s).Changes(e.ctx, cur.Number, g.Number, model.Focus{})
			if err != nil {
				return fmt.Errorf("rolled back, but could not count what changed for the run history: %w", err)
			}
			rec.Added, rec.Removed, rec.FinishedAt = len(ch.Added), len(ch.Removed), time.Now().UTC()
			if err := s.RecordRun(e.ctx, rec); err != nil {
				return fmt.Errorf("rolled back, but could not record the run: %w", err)
			}
			return nil
		}),
	}
}
