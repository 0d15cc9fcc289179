package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/grantmirror/grantmirror/pipeline"
)

// Write renders the report of a generation that o asks for. CSV, JSON and Markdown
// stream row by row; HTML summarizes tables longer than o.MaxRows; XLSX streams
// each sheet.
func Write(w io.Writer, m *pipeline.Mirror, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	md := newModel(m, o)
	if o.Unused && !md.usageKnown() {
		var names []string
		for _, a := range md.accounts {
			names = append(names, a.meta.Name)
		}
		return fmt.Errorf("%w for %s: the snapshot has no access_history.csv (ACCOUNT_USAGE.ACCESS_HISTORY, Enterprise edition), so unused access cannot be told from used", ErrNoHistory, strings.Join(names, ", "))
	}
	switch o.Format {
	case CSV:
		return writeCSV(w, md)
	case JSON:
		return writeJSON(w, md)
	case Markdown:
		return writeMarkdown(w, md)
	case HTML:
		return writeHTML(w, md)
	case XLSX:
		return writeXLSX(w, md)
	}
	return fmt.Errorf("%w: format %s", ErrOptions, o.Format)
}
