package report

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// TestXLSX writes workbooks of acme and reads them back with excelize: the sheets,
// their headers, a known row, the frozen header row, filter buttons and widths.
func TestXLSX(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	cases := []struct {
		o      Options
		sheets []string
		sheet  string // the sheet holding the known row
		row    []string
	}{
		{Options{By: ByAccess}, []string{"About", "Access"}, "Access",
			[]string{"ACME", "alice.martin@acme.example", "TABLE", "SALES.PUBLIC.ORDERS", "SELECT"}},
		{Options{By: ByUser}, []string{"About", "People", "User roles", "User access"}, "User roles",
			[]string{"ACME", "alice.martin@acme.example", "SALES.READER", "inherited", "SALES_ANALYST > ANALYST > SALES.READER", "AMARTIN"}},
		{Options{By: ByObject}, []string{"About", "Object access"}, "Object access",
			[]string{"ACME", "TABLE", "SALES.PUBLIC.ORDERS", "alice.martin@acme.example", "SELECT", "SALES.READER", "SALES_ANALYST > ANALYST > SALES.READER", "AMARTIN", "used", "2026-10-31"}},
		{Options{By: ByRole}, []string{"About", "Role members", "Role privileges", "Role hierarchy"}, "Role hierarchy",
			[]string{"ACME", "SALES_ANALYST", "ANALYST"}},
		{Options{By: ByUser, Unused: true}, []string{"About", "Unused access"}, "Unused access",
			[]string{"ACME", "alice.martin@acme.example", "TABLE", "SALES.CORE.ACCOUNTS", "SELECT", "SALES.READER", "", "0"}},
		{Options{By: ByAll}, []string{"About", "People", "User roles", "User access", "Object access", "Role members", "Role privileges", "Role hierarchy", "Access"}, "Access",
			[]string{"ACME", "bob.nguyen@acme.example", "DATABASE", "FINANCE", "USAGE"}},
	}
	for _, tc := range cases {
		name := string(tc.o.By)
		if tc.o.Unused {
			name += "-unused"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := tc.o
			o.Format = XLSX
			f, err := excelize.OpenReader(bytes.NewReader([]byte(render(t, m, o))))
			require.NoError(t, err)
			defer f.Close()
			require.Equal(t, tc.sheets, f.GetSheetList())
			require.Equal(t, 0, f.GetActiveSheetIndex(), "the workbook opens on About, which says how old the data is")

			about, err := f.GetRows("About")
			require.NoError(t, err)
			require.Contains(t, about, []string{"Snapshot taken", "2026-11-01 06:00 UTC, 3 days before this report"})
			require.Contains(t, about, []string{"Generation", "7"})

			for _, sheet := range tc.sheets[1:] {
				panes, err := f.GetPanes(sheet)
				require.NoError(t, err)
				require.True(t, panes.Freeze, sheet)
				require.Equal(t, 1, panes.YSplit, sheet)
				require.Equal(t, "A2", panes.TopLeftCell, sheet)
				tables, err := f.GetTables(sheet)
				require.NoError(t, err)
				require.Len(t, tables, 1, "%s: one table, so the header has filter buttons", sheet)
				w, err := f.GetColWidth(sheet, "B")
				require.NoError(t, err)
				require.Greater(t, w, 9.0, "%s: columns have set widths", sheet)
			}

			rows, err := f.GetRows(tc.sheet)
			require.NoError(t, err)
			require.Greater(t, len(rows), 1)
			// excelize drops trailing empty cells of a row.
			want := tc.row
			for len(want) > 0 && want[len(want)-1] == "" {
				want = want[:len(want)-1]
			}
			found := slices.ContainsFunc(rows[1:], func(r []string) bool {
				return len(r) >= len(want) && slices.Equal(r[:len(want)], want)
			})
			require.True(t, found, "%s has no row starting %q", tc.sheet, want)
			tables, err := f.GetTables(tc.sheet)
			require.NoError(t, err)
			last, err := excelize.CoordinatesToCellName(len(rows[0]), len(rows))
			require.NoError(t, err)
			require.Equal(t, "A1:"+last, tables[0].Range, "the filter covers every row")
		})
	}
}

// TestXLSXMatchesCSV: the workbook's access sheet holds what the CSV contract holds.
func TestXLSXMatchesCSV(t *testing.T) {
	t.Parallel()
	m := setup(t, "tiny")
	f, err := excelize.OpenReader(bytes.NewReader([]byte(render(t, m, Options{By: ByAccess, Format: XLSX}))))
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows("Access")
	require.NoError(t, err)
	require.Equal(t, AccessHeader, rows[0])
	var want [][]string
	for r := range m.Access.All() {
		want = append(want, []string{r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege})
	}
	require.Equal(t, want, rows[1:])
}

// TestXLSXSplitsLongTables lowers the rows a sheet holds: a longer table
// continues on "Access 2", "Access 3", each with the header, frozen and
// filterable, and the sheets together hold every row in order. Not parallel: it
// changes sheetRows, which every workbook reads.
func TestXLSXSplitsLongTables(t *testing.T) {
	defer func(n int) { sheetRows = n }(sheetRows)
	sheetRows = 4
	m := setup(t, "tiny")
	require.Equal(t, 10, m.Access.Len(), "the sample has the rows this test splits")
	f, err := excelize.OpenReader(bytes.NewReader([]byte(render(t, m, Options{By: ByAccess, Format: XLSX}))))
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, []string{"About", "Access", "Access 2", "Access 3"}, f.GetSheetList())
	var got [][]string
	for i, sheet := range []string{"Access", "Access 2", "Access 3"} {
		rows, err := f.GetRows(sheet)
		require.NoError(t, err)
		require.Equal(t, AccessHeader, rows[0], sheet)
		require.Len(t, rows, 1+[]int{4, 4, 2}[i], sheet)
		got = append(got, rows[1:]...)
		panes, err := f.GetPanes(sheet)
		require.NoError(t, err)
		require.True(t, panes.Freeze, sheet)
		tables, err := f.GetTables(sheet)
		require.NoError(t, err)
		require.Len(t, tables, 1, sheet)
		last, err := excelize.CoordinatesToCellName(len(AccessHeader), len(rows))
		require.NoError(t, err)
		require.Equal(t, "A1:"+last, tables[0].Range, sheet)
	}
	var want [][]string
	for r := range m.Access.All() {
		want = append(want, []string{r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege})
	}
	require.Equal(t, want, got)
	about, err := f.GetRows("About")
	require.NoError(t, err)
	require.Contains(t, fmt.Sprint(about), "a table longer than 4 rows continues on the next sheets (Access 2, Access 3, …), each with the header")

	// Every table of a combined workbook splits the same way, each part its own
	// filterable table under a name unique in the workbook.
	all, err := excelize.OpenReader(bytes.NewReader([]byte(render(t, m, Options{By: ByAll, Format: XLSX}))))
	require.NoError(t, err)
	defer all.Close()
	sheets := all.GetSheetList()
	require.Contains(t, sheets, "Access 3")
	require.Contains(t, sheets, "User access 2")
	names := map[string]bool{}
	for _, sheet := range sheets[1:] {
		rows, err := all.GetRows(sheet)
		require.NoError(t, err)
		require.LessOrEqual(t, len(rows), 1+sheetRows, sheet)
		tables, err := all.GetTables(sheet)
		require.NoError(t, err)
		require.Len(t, tables, 1, sheet)
		require.False(t, names[tables[0].Name], "table name %s is used twice", tables[0].Name)
		names[tables[0].Name] = true
	}
}
