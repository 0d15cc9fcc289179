package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/pipeline"
)

func generationsCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "generations",
		Usage: "list the kept generations and recent runs",
		Description: `Lists the generations the target keeps for diff and rollback, newest first, with
when each was published, how old its snapshot was, and what it added and removed;
then the most recent runs, whatever their outcome (published, unchanged, refused,
failed, rollback).

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
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"generations": gens, "runs": runs})
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
				fmt.Fprintln(tw, "STARTED\tSTATUS\tGENERATION\tROWS\tADDED\tREMOVED\tERROR")
				for _, r := range runs {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", stamp(r.StartedAt), r.Status, r.Generation, r.Rows, r.Added, r.Removed, r.Error)
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
		Description: `Compares two kept generations (default: the one before current, and current).
Exit 0 when they are identical, 1 when anything changed.

--since compares the rows as they stood at a past moment with the current ones: who
gained and who lost access since then. The moment is judged by publish time: the rows
readers were served then, whatever the age of their snapshot. A Postgres target answers from its access
history, a directory target from the generations it keeps.

Examples:
   grantmirror diff
   grantmirror diff --from 1 --to 2 --format csv
   grantmirror diff --since 24h
   grantmirror diff --since 2026-03-01 --format csv`,
		Flags: targetFlags(
			&cli.IntFlag{Name: "from", Usage: "older generation", DefaultText: "the newest before --to"},
			&cli.IntFlag{Name: "to", Usage: "newer generation", DefaultText: "current"},
			&cli.StringFlag{Name: "since", Usage: "compare the rows at this moment with the current ones: RFC 3339, a date (midnight UTC) or a duration ago (24h, 7d)"},
			formatFlag("text", "text", "json", "csv"),
		),
		Action: e.action(func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "json" && format != "csv" {
				return usageErr("format %q: want text, json or csv", format)
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
			changes, err := e.changes(s, c.Int("from"), c.Int("to"), since)
			if err != nil {
				return e.noGeneration(err)
			}
			changed, err := writeDiff(e, format, changes, since)
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

// changes asks the read layer what changed from generation from (0: the newest
// kept before to) to generation to (0: current), or, when since is set, from
// the rows as they stood then to the current ones. A target with an access
// history answers a past moment from it, whole; any other from the generation
// current then.
func (e *env) changes(s pipeline.Store, from, to int, since time.Time) (*pipeline.Changes, error) {
	r := pipeline.ReaderOf(s)
	if !since.IsZero() {
		if h, ok := s.(historian); ok {
			old, _, err := h.MirrorAt(e.ctx, since)
			if err != nil {
				return nil, err
			}
			cur, err := r.Slice(e.ctx, 0, pipeline.Focus{})
			if err != nil {
				return nil, err
			}
			return pipeline.ChangesOf(old, cur, old.Meta.Generation, cur.Meta.Generation, pipeline.Focus{}), nil
		}
		n, err := e.generationAt(s, since)
		if err != nil {
			return nil, err
		}
		return r.Changes(e.ctx, n, 0, pipeline.Focus{})
	}
	gens, err := s.Generations(e.ctx)
	if err != nil {
		return nil, err
	}
	if to == 0 {
		for _, g := range gens {
			if g.Current {
				to = g.Number
			}
		}
		if to == 0 {
			return nil, pipeline.ErrNoGeneration
		}
	}
	if from == 0 {
		for _, g := range gens {
			if g.Number < to && g.Number > from {
				from = g.Number
			}
		}
		if from == 0 {
			return nil, fmt.Errorf("%w: no generation kept before %d to compare with", pipeline.ErrUnknownGeneration, to)
		}
	}
	return r.Changes(e.ctx, from, to, pipeline.Focus{})
}

// writeDiff writes the changes; since, when set, is the moment the older side
// stood at.
func writeDiff(e *env, format string, ch *pipeline.Changes, since time.Time) (bool, error) {
	changed := len(ch.Added)+len(ch.Removed) > 0
	switch format {
	case "csv":
		w := csv.NewWriter(e.stdout)
		w.Write([]string{"change", "account", "email", "object_type", "object_name", "privilege"})
		for c := range ch.All() {
			w.Write([]string{changeWord(c), c.Account, c.Email, c.ObjectType, c.ObjectName, c.Privilege})
		}
		w.Flush()
		return changed, w.Error()
	case "json":
		var out struct {
			Since   time.Time         `json:"since,omitzero"`
			From    int               `json:"from"`
			To      int               `json:"to"`
			Changes []pipeline.Change `json:"changes"`
		}
		out.Since, out.From, out.To, out.Changes = since, ch.From, ch.To, []pipeline.Change{}
		for c := range ch.All() {
			out.Changes = append(out.Changes, c)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return changed, enc.Encode(out)
	}
	// Text groups changes by person, then object, which is how people read them:
	// "who lost access yesterday?"
	if !since.IsZero() {
		fmt.Fprintf(e.stdout, "since %s: ", stamp(since))
	}
	fmt.Fprintf(e.stdout, "generation %d → %d\n", ch.From, ch.To)
	lastPerson, lastObject := "", ""
	for c := range ch.All() {
		if p := c.Account + " " + c.Email; p != lastPerson {
			fmt.Fprintf(e.stdout, "%s (%s)\n", c.Email, c.Account)
			lastPerson, lastObject = p, ""
		}
		if o := c.ObjectType + " " + c.ObjectName; o != lastObject {
			fmt.Fprintf(e.stdout, "  %s\n", o)
			lastObject = o
		}
		sign := "-"
		if c.Added {
			sign = "+"
		}
		fmt.Fprintf(e.stdout, "    %s %s\n", sign, c.Privilege)
	}
	fmt.Fprintf(e.stdout, "%d added, %d removed\n", len(ch.Added), len(ch.Removed))
	return changed, nil
}

func changeWord(ch pipeline.Change) string {
	if ch.Added {
		return "added"
	}
	return "removed"
}

func rollbackCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "make a kept generation current again",
		ArgsUsage: "[GENERATION]",
		Description: `Points the target back at a kept generation (default: the one published before
the current one). Readers switch in one atomic step. The next sync publishes a new
generation as usual.

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
			g, err := s.Rollback(e.ctx, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "generation %d is current again (%d rows, published %s)\n", g.Number, g.Rows, stamp(g.PublishedAt))
			return nil
		}),
	}
}
