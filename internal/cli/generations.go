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
gained and who lost access since then. A Postgres target answers from its access
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
			to, err := s.Open(e.ctx, c.Int("to"))
			if err != nil {
				return err
			}
			if !since.IsZero() {
				old, _, err := e.mirrorAt(s, since)
				if err != nil {
					return err
				}
				changed, err := writeDiff(e, format, old, to, since)
				if err != nil {
					return err
				}
				if changed {
					return findings
				}
				return nil
			}
			from := c.Int("from")
			if from == 0 {
				gens, err := s.Generations(e.ctx)
				if err != nil {
					return err
				}
				for _, g := range gens {
					if g.Number < to.Meta.Generation && g.Number > from {
						from = g.Number
					}
				}
				if from == 0 {
					return fmt.Errorf("%w: no generation kept before %d to compare with", pipeline.ErrUnknownGeneration, to.Meta.Generation)
				}
			}
			old, err := s.Open(e.ctx, from)
			if err != nil {
				return err
			}
			changed, err := writeDiff(e, format, old, to, time.Time{})
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

// writeDiff writes the changes from old to cur; since, when set, is the moment old
// stood at.
func writeDiff(e *env, format string, old, cur *pipeline.Mirror, since time.Time) (bool, error) {
	changed := false
	switch format {
	case "csv":
		w := csv.NewWriter(e.stdout)
		w.Write([]string{"change", "account", "email", "object_type", "object_name", "privilege"})
		for ch := range pipeline.Diff(old.Access, cur.Access) {
			changed = true
			w.Write([]string{changeWord(ch), ch.Account, ch.Email, ch.ObjectType, ch.ObjectName, ch.Privilege})
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
		out.Since, out.From, out.To, out.Changes = since, old.Meta.Generation, cur.Meta.Generation, []pipeline.Change{}
		for ch := range pipeline.Diff(old.Access, cur.Access) {
			out.Changes = append(out.Changes, ch)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return len(out.Changes) > 0, enc.Encode(out)
	}
	// Text groups changes by person, then object, which is how people read them:
	// "who lost access yesterday?"
	if !since.IsZero() {
		fmt.Fprintf(e.stdout, "since %s: ", stamp(since))
	}
	fmt.Fprintf(e.stdout, "generation %d → %d\n", old.Meta.Generation, cur.Meta.Generation)
	lastPerson, lastObject := "", ""
	added, removed := 0, 0
	for ch := range pipeline.Diff(old.Access, cur.Access) {
		changed = true
		if p := ch.Account + " " + ch.Email; p != lastPerson {
			fmt.Fprintf(e.stdout, "%s (%s)\n", ch.Email, ch.Account)
			lastPerson, lastObject = p, ""
		}
		if o := ch.ObjectType + " " + ch.ObjectName; o != lastObject {
			fmt.Fprintf(e.stdout, "  %s\n", o)
			lastObject = o
		}
		sign := "-"
		if ch.Added {
			sign, added = "+", added+1
		} else {
			removed++
		}
		fmt.Fprintf(e.stdout, "    %s %s\n", sign, ch.Privilege)
	}
	fmt.Fprintf(e.stdout, "%d added, %d removed\n", added, removed)
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
