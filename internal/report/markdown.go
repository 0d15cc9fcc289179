package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// writeMarkdown writes the readable report as GitHub-flavoured Markdown, one
// section at a time, so a large account is never held whole.
func writeMarkdown(w io.Writer, md *reportModel) error {
	b := bufio.NewWriterSize(w, 64<<10)
	h := md.header()
	fmt.Fprintf(b, "# %s\n\n", mdEscape(h.Title))
	fmt.Fprintln(b, "| | |")
	fmt.Fprintln(b, "|---|---|")
	for _, f := range h.facts() {
		fmt.Fprintf(b, "| %s | %s |\n", mdEscape(f[0]), mdEscape(f[1]))
	}
	fmt.Fprintln(b)
	for _, n := range h.Notes {
		fmt.Fprintf(b, "> %s\n>\n", mdEscape(n))
	}
	if len(h.Notes) > 0 {
		fmt.Fprintln(b)
	}
	docs := md.viewDocs()
	for i, v := range docs {
		v.build()
		fmt.Fprintf(b, "## %s\n\n", v.Title)
		for _, p := range v.Intro {
			fmt.Fprintf(b, "%s\n\n", p)
		}
		for _, d := range v.Diagrams {
			writeMermaid(b, md, d)
		}
		n := 0
		for s := range v.Sections() {
			n++
			if s.Title != "" {
				title := mdEscape(s.Title)
				if s.Badge != "" {
					title += " (" + mdEscape(s.Badge) + ")"
				}
				fmt.Fprintf(b, "### %s\n\n", title)
			}
			for _, f := range s.Facts {
				vals := make([]string, len(f.Value))
				for i, c := range f.Value {
					vals[i] = mdEscape(c.Text)
				}
				fmt.Fprintf(b, "- **%s:** %s\n", mdEscape(f.Label), strings.Join(vals, ", "))
			}
			if len(s.Facts) > 0 {
				fmt.Fprintln(b)
			}
			for _, t := range s.Tables {
				writeMarkdownTable(b, t)
			}
			if b.Buffered() > 32<<10 {
				if err := b.Flush(); err != nil {
					return err
				}
			}
		}
		if n == 0 {
			fmt.Fprintf(b, "Nothing matches the filters.\n\n")
		}
		docs[i] = nil
		md.viewDone(v.View)
	}
	return b.Flush()
}

func writeMermaid(b *bufio.Writer, md *reportModel, d *diagram) {
	title := "Role hierarchy"
	if len(md.accounts) > 1 {
		title += " of " + d.Account
	}
	fmt.Fprintf(b, "### %s\n\n", title)
	if d.Mermaid == "" {
		fmt.Fprintf(b, "No role in this report inherits another.\n\n")
		return
	}
	fmt.Fprintf(b, "An arrow A --> B means role B is granted to role A: whoever holds A also holds B.\n\n")
	fmt.Fprintf(b, "```mermaid\n%s```\n\n", d.Mermaid)
	if t := d.AloneText(); t != "" {
		fmt.Fprintf(b, "%s\n\n", mdEscape(t))
	}
}

func writeMarkdownTable(b *bufio.Writer, t *table) {
	if t.Title != "" {
		fmt.Fprintf(b, "**%s**\n\n", mdEscape(t.Title))
	}
	n := 0
	for row := range t.all() {
		if n == 0 {
			b.WriteString("|")
			for _, c := range t.Columns {
				fmt.Fprintf(b, " %s |", mdEscape(c.Name))
			}
			b.WriteString("\n|")
			for _, c := range t.Columns {
				if c.Kind == kindNum || c.Kind == kindCheck {
					b.WriteString(":---:|")
				} else {
					b.WriteString("---|")
				}
			}
			b.WriteString("\n")
		}
		n++
		b.WriteString("|")
		for _, c := range row {
			fmt.Fprintf(b, " %s |", mdEscape(c.Text))
		}
		b.WriteString("\n")
	}
	if n == 0 {
		b.WriteString("_none_\n")
	}
	b.WriteString("\n")
}

// mdEscaper keeps names readable in raw Markdown while stopping the characters
// that would break a table or start markup.
var mdEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "`", "\\`",
	"[", `\[`, "]", `\]`, "\n", " ", "\r", " ")

func mdEscape(s string) string { return mdEscaper.Replace(s) }
