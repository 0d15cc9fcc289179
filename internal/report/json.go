package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"iter"
)

// writeJSON writes one JSON document: the header, then one array per view with one
// element per line. Elements are encoded as they are produced, so memory holds one
// person, object or role at a time.
func writeJSON(w io.Writer, md *reportModel) error {
	b := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	put := func(v any) error {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			return err
		}
		_, err := b.Write(bytes.TrimRight(buf.Bytes(), "\n"))
		return err
	}
	b.WriteString("{\"header\": ")
	if err := put(md.header()); err != nil {
		return err
	}
	for _, v := range md.o.views() {
		var err error
		switch {
		case v == ByUser && md.o.Unused:
			err = jsonArray(b, "unused", md.people(true), put)
		case v == ByUser:
			err = jsonArray(b, "people", md.people(false), put)
		case v == ByObject:
			err = jsonArray(b, "objects", md.objectReports(), put)
		case v == ByRole:
			err = jsonArray(b, "roles", md.roleReports(), put)
		case v == ByAccess:
			err = jsonArray(b, "rows", md.accessRows(), put)
		}
		if err != nil {
			return err
		}
		md.viewDone(v)
	}
	b.WriteString("\n}\n")
	return b.Flush()
}

func jsonArray[T any](b *bufio.Writer, key string, items iter.Seq[T], put func(any) error) error {
	b.WriteString(",\n\"" + key + "\": [")
	first := true
	for it := range items {
		if first {
			b.WriteString("\n")
		} else {
			b.WriteString(",\n")
		}
		first = false
		if err := put(it); err != nil {
			return err
		}
	}
	if !first {
		b.WriteString("\n")
	}
	b.WriteString("]")
	return nil
}
