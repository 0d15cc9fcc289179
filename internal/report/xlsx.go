package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// sheetRows is how many data rows one worksheet holds below its header: the
// format's 1,048,576 rows less the header. A longer table continues on further
// sheets; tests lower it to split small tables.
var sheetRows = 1048575

// numericColumns hold counts, written as numbers so that a spreadsheet sorts them.
var numericColumns = map[string]bool{"query_count": true, "roles": true, "objects": true, "unused_objects": true}

// writeXLSX writes a workbook: an About sheet with the header, then one sheet per
// table of the view, each with a frozen header row, filter buttons and set column
// widths. Sheets are streamed to a temporary file by excelize, not held in memory.
func writeXLSX(w io.Writer, md *reportModel) error {
	f := excelize.NewFile()
	defer f.Close()
	const about = "About"
	if err := f.SetSheetName("Sheet1", about); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	head, err := f.NewStyle(&excelize.Style{
		Font: &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"305496"}},
	})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := writeAbout(f, about, md, bold); err != nil {
		return err
	}
	sheets := md.sheets()
	for i, t := range sheets {
		if err := writeSheet(f, t, i, head); err != nil {
			return fmt.Errorf("xlsx sheet %s: %w", t.Sheet, err)
		}
		if i == len(sheets)-1 || sheets[i+1].view != t.view {
			md.viewDone(t.view)
		}
	}
	// About was the workbook's first sheet and stays the active one. Calling
	// SetActiveSheet would read every streamed sheet back into memory.
	_, err = f.WriteTo(w)
	return err
}

func writeAbout(f *excelize.File, sheet string, md *reportModel, bold int) error {
	h := md.header()
	rows := [][]any{{h.Title}, {}}
	for _, kv := range h.facts() {
		rows = append(rows, []any{kv[0], kv[1]})
	}
	if len(h.Notes) > 0 {
		rows = append(rows, []any{})
		for _, n := range h.Notes {
			rows = append(rows, []any{"Note", n})
		}
	}
	for _, g := range h.NotMirrored {
		rows = append(rows, []any{"Not mirrored", g.Account + ": " + g.String()})
	}
	rows = append(rows, []any{}, []any{"Sheets", fmt.Sprintf("each sheet is one table with filter buttons on its header row; a table longer than %s rows continues on the next sheets (Access 2, Access 3, …), each with the header; lists inside a cell are separated by \"; \" and role paths by \" > \"", thousands(sheetRows))})
	for i, r := range rows {
		if len(r) == 0 {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			return fmt.Errorf("xlsx about: %w", err)
		}
		if err := f.SetCellStyle(sheet, cell, cell, bold); err != nil {
			return fmt.Errorf("xlsx about: %w", err)
		}
	}
	if err := f.SetColWidth(sheet, "A", "A", 28); err != nil {
		return err
	}
	return f.SetColWidth(sheet, "B", "B", 110)
}

// writeSheet writes table t, the workbook's nth, as one sheet, or when it has
// more rows than a sheet holds as several: "Access", "Access 2", …, each with
// the header, its own frozen pane and filter buttons. Rows stream through, so
// a table of any size costs the memory of one row.
func writeSheet(f *excelize.File, t flatTable, n int, head int) error {
	numeric := make([]bool, len(t.Columns))
	for i, c := range t.Columns {
		numeric[i] = numericColumns[c]
	}
	part, row := 1, 1
	sw, err := startSheet(f, t, t.Sheet, head)
	if err != nil {
		return err
	}
	values := make([]any, len(t.Columns))
	for rec := range t.Rows() {
		if row > sheetRows {
			if err := endSheet(sw, t, fmt.Sprintf("T%d_%d_%s", n+1, part, t.Sheet), row); err != nil {
				return err
			}
			part, row = part+1, 1
			if sw, err = startSheet(f, t, fmt.Sprintf("%s %d", t.Sheet, part), head); err != nil {
				return err
			}
		}
		row++
		for i, v := range rec {
			values[i] = v
			if numeric[i] {
				if x, err := strconv.ParseInt(v, 10, 64); err == nil {
					values[i] = x
				}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := sw.SetRow(cell, values); err != nil {
			return err
		}
	}
	return endSheet(sw, t, fmt.Sprintf("T%d_%d_%s", n+1, part, t.Sheet), row)
}

// startSheet adds a sheet for table t and writes its header.
func startSheet(f *excelize.File, t flatTable, sheet string, head int) (*excelize.StreamWriter, error) {
	if _, err := f.NewSheet(sheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	for i := range t.Columns {
		width := 16.0
		if i < len(t.Widths) {
			width = t.Widths[i]
		}
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return nil, err
	}
	header := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = excelize.Cell{StyleID: head, Value: c}
	}
	return sw, sw.SetRow("A1", header)
}

// endSheet gives a sheet whose last row is row its table and flushes it. A
// table gives the header its filter buttons and survives sorting; its name must
// be unique in the workbook and a valid identifier.
func endSheet(sw *excelize.StreamWriter, t flatTable, name string, row int) error {
	last, _ := excelize.CoordinatesToCellName(len(t.Columns), max(row, 2))
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: name, StyleName: "TableStyleLight9", ShowRowStripes: ptr(true)}); err != nil {
		return err
	}
	return sw.Flush()
}

// thousands writes n with comma thousands separators, as people read counts.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }
