package snowflake

import (
	"database/sql/driver"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// timeLayout is how timestamps are written when a query returns them as
// timestamps rather than text: Snowflake's own TIMESTAMP_LTZ output, which the
// extraction queries produce with TO_VARCHAR and the snapshot reader parses.
const timeLayout = "2006-01-02 15:04:05.000 -0700"

// writeRecord writes the rows of one Arrow record to w and returns how many.
// Columns are formatted column by column through a formatter chosen once per
// column, so the per-cell cost is one closure call.
func writeRecord(w *csv.Writer, rec arrow.Record, buf []string) (int64, error) {
	cols := rec.Columns()
	if len(cols) != len(buf) {
		return 0, fmt.Errorf("%w: a record batch has %d columns, the result %d", ErrResult, len(cols), len(buf))
	}
	fmts := make([]func(int) string, len(cols))
	for j, col := range cols {
		f, err := formatter(col)
		if err != nil {
			return 0, fmt.Errorf("column %s: %w", rec.ColumnName(j), err)
		}
		fmts[j] = f
	}
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		for j, f := range fmts {
			buf[j] = f(i)
		}
		if err := w.Write(buf); err != nil {
			return int64(i), err
		}
	}
	return int64(n), nil
}

// formatter returns a function rendering row i of col as CSV text; NULL is
// the empty string, as in every snapshot file.
func formatter(col arrow.Array) (func(int) string, error) {
	var f func(int) string
	switch c := col.(type) {
	case *array.String:
		f = c.Value
	case *array.LargeString:
		f = c.Value
	case *array.Binary:
		f = func(i int) string { return hex.EncodeToString(c.Value(i)) }
	case *array.Boolean:
		f = func(i int) string { return strconv.FormatBool(c.Value(i)) }
	case *array.Int8:
		f = func(i int) string { return strconv.FormatInt(int64(c.Value(i)), 10) }
	case *array.Int16:
		f = func(i int) string { return strconv.FormatInt(int64(c.Value(i)), 10) }
	case *array.Int32:
		f = func(i int) string { return strconv.FormatInt(int64(c.Value(i)), 10) }
	case *array.Int64:
		f = func(i int) string { return strconv.FormatInt(c.Value(i), 10) }
	case *array.Uint64:
		f = func(i int) string { return strconv.FormatUint(c.Value(i), 10) }
	case *array.Float64:
		f = func(i int) string { return strconv.FormatFloat(c.Value(i), 'f', -1, 64) }
	case *array.Decimal128:
		scale := c.DataType().(*arrow.Decimal128Type).Scale
		f = func(i int) string { return c.Value(i).ToString(scale) }
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		f = func(i int) string { return c.Value(i).ToTime(unit).UTC().Format(timeLayout) }
	case *array.Date32:
		f = func(i int) string { return c.Value(i).ToTime().Format(time.DateOnly) }
	default:
		return nil, fmt.Errorf("%w: Arrow type %s cannot be written as text; render the column with TO_VARCHAR in the query", ErrResult, col.DataType())
	}
	if col.NullN() == 0 {
		return f, nil
	}
	return func(i int) string {
		if col.IsNull(i) {
			return ""
		}
		return f(i)
	}, nil
}

// formatValue renders one value of a row-by-row (JSON) result as CSV text.
func formatValue(v driver.Value) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []byte:
		return hex.EncodeToString(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case time.Time:
		return x.UTC().Format(timeLayout), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", fmt.Errorf("%w: a value of type %T cannot be written as text; render the column with TO_VARCHAR in the query", ErrResult, v)
}
