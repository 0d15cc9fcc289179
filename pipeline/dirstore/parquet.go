package dirstore

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// batchRows is how many rows go into one Arrow record before it is written, which
// bounds the memory a writer holds whatever the size of the table.
const batchRows = 64 << 10

// stringSchema builds a schema of string columns, the last one a list of strings
// when withList is set (a membership's role path).
func stringSchema(withList bool, names ...string) *arrow.Schema {
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String}
	}
	if withList {
		fields[len(fields)-1].Type = arrow.ListOf(arrow.BinaryTypes.String)
	}
	return arrow.NewSchema(fields, nil)
}

// writerOnly hides the file's Close from the Parquet writer, which would otherwise
// close it before we can fsync it.
type writerOnly struct{ io.Writer }

// tableWriter streams rows of strings into a Parquet file.
type tableWriter struct {
	f    *os.File
	w    *pqarrow.FileWriter
	b    *array.RecordBuilder
	rows int
}

func newTableWriter(path string, schema *arrow.Schema) (*tableWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(true))
	w, err := pqarrow.NewFileWriter(schema, writerOnly{f}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &tableWriter{f: f, w: w, b: array.NewRecordBuilder(memory.DefaultAllocator, schema)}, nil
}

// row appends one row; list is the value of the list column, if the schema has one.
func (t *tableWriter) row(values []string, list []string) error {
	for i, v := range values {
		t.b.Field(i).(*array.StringBuilder).Append(v)
	}
	if list != nil || t.b.Schema().NumFields() > len(values) {
		lb := t.b.Field(len(values)).(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, v := range list {
			vb.Append(v)
		}
	}
	t.rows++
	if t.rows%batchRows == 0 {
		return t.flush()
	}
	return nil
}

func (t *tableWriter) flush() error {
	rec := t.b.NewRecord()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil
	}
	return t.w.Write(rec)
}

// close writes what is buffered and makes the file durable.
func (t *tableWriter) close() error {
	defer t.b.Release()
	err := t.flush()
	if cerr := t.w.Close(); err == nil {
		err = cerr
	}
	if serr := t.f.Sync(); err == nil {
		err = serr
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readTable calls fn for every row of a Parquet file of string columns (and an
// optional trailing list-of-strings column).
func readTable(ctx context.Context, path string, fn func(values []string, list []string) error) error {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: batchRows}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer rr.Release()
	var values, list []string
	for rr.Next() {
		rec := rr.Record()
		var strs []*array.String
		var lists *array.List
		for i := 0; i < int(rec.NumCols()); i++ {
			switch c := rec.Column(i).(type) {
			case *array.String:
				strs = append(strs, c)
			case *array.List:
				lists = c
			default:
				return fmt.Errorf("read %s: column %s has type %s", path, rec.ColumnName(i), c.DataType())
			}
		}
		values = make([]string, len(strs))
		for r := 0; r < int(rec.NumRows()); r++ {
			for i, c := range strs {
				values[i] = c.Value(r)
			}
			list = nil
			if lists != nil {
				start, end := lists.ValueOffsets(r)
				items := lists.ListValues().(*array.String)
				list = make([]string, 0, end-start)
				for k := start; k < end; k++ {
					list = append(list, items.Value(int(k)))
				}
			}
			if err := fn(values, list); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
