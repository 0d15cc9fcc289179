package fakesnowflake

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// result is a view's answer, encoded once in the server's format and split into
// the inline part and the chunks.
type result struct {
	format  Format
	columns []string
	total   int
	// Inline rows: JSON rows, or a base64 Arrow IPC stream.
	rowset       [][]*string
	rowsetBase64 string
	chunks       []chunk
}

type chunk struct {
	body         []byte
	rows         int
	uncompressed int
}

// result loads and encodes a view once; later queries reuse it. The error wraps
// fs.ErrNotExist when the snapshot has no file for the view. A view with
// missing columns answers each query with the file's other columns that the
// query names, so that a query leaving columns out gets a result without them.
func (s *Server) result(view, sql string) (*result, error) {
	missing := s.missing[view]
	s.mu.Lock()
	res := s.results[view]
	s.mu.Unlock()
	if res != nil && len(missing) == 0 {
		return res, nil
	}
	cols, rows, err := readCSV(filepath.Join(s.opts.Dir, strings.ToLower(view)+".csv"))
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		code := withoutComments(sql)
		drop := slices.Clone(missing)
		for _, c := range cols {
			if !names(code, c) {
				drop = append(drop, c)
			}
		}
		cols, rows = without(cols, rows, drop)
	}
	res, err = encode(s.opts, cols, rows)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", view, err)
	}
	if len(missing) == 0 {
		s.mu.Lock()
		s.results[view] = res
		s.mu.Unlock()
	}
	return res, nil
}

// without removes the named columns from a result.
func without(cols []string, rows [][]*string, drop []string) ([]string, [][]*string) {
	if len(drop) == 0 {
		return cols, rows
	}
	var keep []int
	var kept []string
	for i, c := range cols {
		if !slices.Contains(drop, c) {
			keep, kept = append(keep, i), append(kept, c)
		}
	}
	out := make([][]*string, len(rows))
	for r, row := range rows {
		out[r] = make([]*string, len(keep))
		for j, i := range keep {
			out[r][j] = row[i]
		}
	}
	return kept, out
}

// readCSV reads a snapshot file; empty cells become NULL, as Snowflake's views
// hold NULL where a CSV can only hold nothing.
func readCSV(path string) ([]string, [][]*string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	cols := make([]string, len(head))
	for i, h := range head {
		cols[i] = strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	}
	var rows [][]*string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return cols, rows, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		row := make([]*string, len(cols))
		for i := range row {
			if i < len(rec) && rec[i] != "" {
				v := rec[i]
				row[i] = &v
			}
		}
		rows = append(rows, row)
	}
}

func encode(opts Options, cols []string, rows [][]*string) (*result, error) {
	res := &result{format: opts.Format, columns: cols, total: len(rows) + opts.MisreportTotal}
	inline := rows
	var rest [][]*string
	if opts.ChunkRows > 0 && len(rows) > opts.ChunkRows {
		inline, rest = rows[:opts.ChunkRows], rows[opts.ChunkRows:]
	}
	if opts.ChunkRows > 0 && opts.NoInline {
		inline, rest = nil, rows
	}
	switch opts.Format {
	case JSON:
		res.rowset = inline
		if res.rowset == nil {
			res.rowset = [][]*string{}
		}
	case Arrow:
		if len(inline) > 0 {
			b, err := arrowStream(cols, inline)
			if err != nil {
				return nil, err
			}
			res.rowsetBase64 = base64.StdEncoding.EncodeToString(b)
		}
	}
	for len(rest) > 0 {
		n := min(opts.ChunkRows, len(rest))
		part := rest[:n]
		rest = rest[n:]
		var body []byte
		var err error
		if opts.Format == JSON {
			body, err = jsonChunk(part)
		} else {
			body, err = arrowStream(cols, part)
		}
		if err != nil {
			return nil, err
		}
		c := chunk{rows: n, uncompressed: len(body)}
		if opts.GzipChunks {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			if _, err := zw.Write(body); err != nil {
				return nil, err
			}
			if err := zw.Close(); err != nil {
				return nil, err
			}
			body = buf.Bytes()
		}
		c.body = body
		res.chunks = append(res.chunks, c)
	}
	return res, nil
}

// arrowStream encodes rows as an Arrow IPC stream of text columns, which is how
// Snowflake sends VARCHAR results to a client asking for Arrow.
func arrowStream(cols []string, rows [][]*string) ([]byte, error) {
	mem := memory.NewGoAllocator()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{
			Name:     c,
			Type:     arrow.BinaryTypes.String,
			Nullable: true,
			Metadata: arrow.NewMetadata(
				[]string{"logicalType", "charLength", "byteLength", "finalType"},
				[]string{"TEXT", "16777216", "16777216", "T"}),
		}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, row := range rows {
		for j, v := range row {
			sb := b.Field(j).(*array.StringBuilder)
			if v == nil {
				sb.AppendNull()
			} else {
				sb.Append(*v)
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonChunk encodes rows the way Snowflake stores JSON result chunks: the rows
// of an array without its brackets.
func jsonChunk(rows [][]*string) ([]byte, error) {
	var buf bytes.Buffer
	for i, row := range rows {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := json.Marshal(row)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

func selectOneResult(f Format) *result {
	one := "1"
	rows := [][]*string{{&one}}
	res, err := encode(Options{Format: f}, []string{"1"}, rows)
	if err != nil {
		panic(err) // a constant one-row result always encodes
	}
	return res
}

// answer writes a successful query response for q.
func (s *Server) answer(w http.ResponseWriter, q *query, role, wh string) {
	res := q.res
	rowtype := make([]map[string]any, len(res.columns))
	for i, c := range res.columns {
		rowtype[i] = map[string]any{
			"name": c, "database": "SNOWFLAKE", "schema": "ACCOUNT_USAGE", "table": q.view,
			"type": "text", "nullable": true, "length": 16777216, "byteLength": 16777216,
			"precision": nil, "scale": nil, "collation": nil,
		}
	}
	chunks := make([]map[string]any, len(res.chunks))
	for i, c := range res.chunks {
		chunks[i] = map[string]any{
			"url":              fmt.Sprintf("%s/chunks/%s/%d", s.URL, q.id, i),
			"rowCount":         c.rows,
			"uncompressedSize": c.uncompressed,
			"compressedSize":   len(c.body),
		}
	}
	data := map[string]any{
		"parameters":         []map[string]any{{"name": "TIMEZONE", "value": "UTC"}},
		"rowtype":            rowtype,
		"total":              res.total,
		"returned":           res.total,
		"queryId":            q.id,
		"databaseProvider":   nil,
		"finalDatabaseName":  nil,
		"finalSchemaName":    nil,
		"finalWarehouseName": nullIfEmpty(wh),
		"finalRoleName":      nullIfEmpty(role),
		"numberOfBinds":      0,
		"statementTypeId":    4096,
		"version":            1,
		"queryResultFormat":  string(res.format),
	}
	if len(chunks) > 0 {
		data["chunks"] = chunks
		data["qrmk"] = q.qrmk
	}
	if res.format == JSON {
		data["rowset"] = res.rowset
	} else {
		data["rowset"] = [][]*string{}
		data["rowsetBase64"] = res.rowsetBase64
	}
	s.mu.Lock()
	if res.format == JSON {
		s.stats.JSONResults++
	} else {
		s.stats.ArrowResults++
	}
	s.mu.Unlock()
	writeOK(w, data)
}

// chunk serves one result chunk. Like a presigned cloud storage URL it needs no
// session, only the result's key in the SSE-C header.
func (s *Server) chunk(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	s.mu.Lock()
	q := s.queries[r.PathValue("id")]
	fail := s.failing > 0
	if fail {
		s.failing--
		s.stats.ChunkFailures++
	}
	s.mu.Unlock()
	switch {
	case q == nil || err != nil || n < 0 || n >= len(q.res.chunks):
		http.NotFound(w, r)
		return
	case fail:
		http.Error(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", http.StatusForbidden)
		return
	case r.Header.Get("x-amz-server-side-encryption-customer-key") != q.qrmk:
		http.Error(w, "<Error><Code>InvalidArgument</Code><Message>wrong SSE-C key</Message></Error>", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.stats.Chunks++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(q.res.chunks[n].body)))
	_, _ = w.Write(q.res.chunks[n].body)
}
