package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/report"
)

func reportCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "export who can see what",
		Description: `Writes the published access table. --by access --format csv is a stable contract:
the header account,email,object_type,object_name,privilege and one sorted row per
published row.

Examples:
   grantmirror report --by access --format csv > access.csv
   grantmirror report --target postgres://grantmirror@db/app --out access.csv`,
		Flags: targetFlags(
			&cli.StringFlag{Name: "by", Value: "access", Usage: "access"},
			formatFlag("csv", "csv"),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write to this file instead of standard output"},
			&cli.IntFlag{Name: "generation", Usage: "read this kept generation instead of the current one"},
		),
		Action: e.action(func(c *cli.Context) error {
			if by, f := c.String("by"), c.String("format"); by != "access" || f != "csv" {
				return usageErr("report --by %s --format %s: only --by access --format csv is available", by, f)
			}
			m, err := e.openMirror(c.Int("generation"))
			if err != nil {
				return err
			}
			return e.writeOut(c.String("out"), func(w io.Writer) error { return report.AccessCSV(w, m.Access) })
		}),
	}
}

// writeOut writes to stdout, or to path through a temporary file renamed into place,
// so a reader of path never sees half a report.
func (e *env) writeOut(path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(e.stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".grantmirror-report-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}
