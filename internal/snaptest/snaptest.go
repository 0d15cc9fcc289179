// Package snaptest helps tests that change a copy of a snapshot. A snapshot's
// manifest.json records the rows and SHA-256 of every file, and the reader
// refuses a file that no longer matches; a test that edits a file on purpose,
// to stand for an extract that returned different data, reseals the copy.
package snaptest

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// files are the snapshot files a manifest describes.
var files = []string{"users.csv", "roles.csv", "grants_to_users.csv", "grants_to_roles.csv",
	"tag_references.csv", "policy_references.csv", "masking_policies.csv", "row_access_policies.csv",
	"projection_policies.csv", "access_history.csv"}

// Reseal rewrites the rows and sha256 of dir's manifest.json for the files as
// they are now, keeping its other fields. A directory without a manifest is
// left alone: it stands for an older extract.
func Reseal(t testing.TB, dir string) {
	t.Helper()
	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rows, sums := map[string]int{}, map[string]string{}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		sums[name] = hex.EncodeToString(sum[:])
		rows[name] = records(data)
	}
	m["rows"], m["sha256"] = rows, sums
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Strip removes the rows and sha256 from dir's manifest.json, as an extract
// made before they were recorded has them.
func Strip(t testing.TB, dir string) {
	t.Helper()
	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	delete(m, "rows")
	delete(m, "sha256")
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// records counts the records after the header, as the snapshot reader does. A
// file that does not parse counts what parses: the reader reports the rest.
func records(data []byte) int {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	n := -1
	for {
		if _, err := r.Read(); err != nil {
			return max(n, 0)
		}
		n++
	}
}
