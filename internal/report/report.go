package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Write renders the report of a generation that o asks for. CSV, JSON and Markdown
// stream row by row; HTML summarizes tables longer than o.MaxRows; XLSX streams
// each sheet.
func Write(w io.Writer, m *model.Mirror, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return write(w, newModel(m, o))
}

// write renders a report of a built model.
func write(w io.Writer, md *reportModel) error {
	o := md.o
	if o.Unused && !md.usageKnown() {
		var names []string
		for _, a := range md.accounts {
			names = append(names, a.meta.Name)
		}
		return fmt.Errorf("%w for %s: the snapshot has no access_history.csv (ACCOUNT_USAGE.ACCESS_HISTORY, Enterprise edition), so unused access cannot be told from used", ErrNoHistory, strings.Join(names, ", "))
	}
	var err error
	switch o.Format {
	case CSV:
		err = writeCSV(w, md)
	case JSON:
		err = writeJSON(w, md)
	case Markdown:
		err = writeMarkdown(w, md)
	case HTML:
		err = writeHTML(w, md)
	case XLSX:
		err = writeXLSX(w, md)
	default:
		return fmt.Errorf("%w: format %s", ErrOptions, o.Format)
	}
	if md.err != nil {
		return md.err
	}
	return err
}
