package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/snaptest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// snapshotFiles are the CSV files of a snapshot.
var snapshotFiles = []string{"users.csv", "roles.csv", "grants_to_users.csv", "grants_to_roles.csv",
	"tag_references.csv", "policy_references.csv", "access_history.csv"}

// cut is one damaged copy of a snapshot file.
type cut struct {
	file, name string
	body       []byte
	// lastField says the cut lies inside the record's last field, after its
	// last separator: the record keeps every field, only a value is short.
	lastField bool
	// newline says a line break follows the cut.
	newline bool
}

// cuts damages one file of the acme sample at every column of a few records
// that matter (the first, the last, and the first that disables, deletes or
// revokes something): the record ends just before a separator, just after it,
// or in the middle of a field; with and without a line break after the cut; and
// with the rest of the file dropped, as a truncated extract is, or kept, as a
// record corrupted in place is.
func cuts(t *testing.T, dir, file string) []cut {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	// The sample's records hold no line breaks, so lines are records.
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	records := []int{1, len(lines) - 1}
	for i := 1; i < len(lines); i++ {
		if strings.Contains(lines[i], ",true,") || strings.Contains(lines[i], ",20") {
			records = append(records, i)
			break
		}
	}
	slices.Sort(records)
	records = slices.Compact(records)
	var out []cut
	for _, i := range records {
		line := lines[i]
		last := strings.LastIndexByte(line, ',')
		var at []int
		start := 0
		for j := 0; j <= len(line); j++ {
			if j == len(line) || line[j] == ',' {
				if mid := (start + j) / 2; mid > start {
					at = append(at, mid)
				}
				if j < len(line) {
					at = append(at, j, j+1)
				}
				start = j + 1
			}
		}
		slices.Sort(at)
		for _, n := range slices.Compact(at) {
			for _, newline := range []bool{false, true} {
				for _, rest := range []bool{false, true} {
					if rest && !newline {
						continue // without a line break the rest would join the cut record
					}
					body := strings.Join(lines[:i], "\n") + "\n" + line[:n]
					if newline {
						body += "\n"
					}
					if rest && i+1 < len(lines) {
						body += strings.Join(lines[i+1:], "\n") + "\n"
					}
					if body == string(b) {
						continue // a record ending in a separator, "cut" after it
					}
					out = append(out, cut{file: file, body: []byte(body), lastField: n > last, newline: newline,
						name: fmt.Sprintf("%s line %d cut at byte %d newline=%v rest=%v", file, i+1, n, newline, rest)})
				}
			}
		}
	}
	return out
}

// TestTruncatedRecordCorpus cuts a record of every file of the acme sample at
// every column, and syncs each damaged copy over the published sample on both
// targets. No cut may change the published generation: the reader refuses it
// (a record with fewer fields than the header, a file that does not end with a
// line break, a file that does not match its manifest) or, when the copy reads,
// its mirror equals the published one and the sync publishes nothing. Two kinds of snapshot are damaged: the
// sample as bundled, whose manifest records every file's rows and checksum, and
// the sample without them, as an older extract is.
//
// Without checksums, a record cut inside its last field and then given a line
// break (`EXEC,USER,CSMITH,` from a revoked grant) is a well-formed record that
// no reader can tell from the real one: only the manifest catches it, so those
// cuts are checked against the sealed sample alone.
//
// The reader's verdict does not depend on the target, so each cut is read once;
// the cuts that read, and the first refused cut of each file, are then synced
// to both targets.
func TestTruncatedRecordCorpus(t *testing.T) {
	t.Parallel()
	acme := filepath.Join("..", "testdata", "sample", "acme")
	type damaged struct {
		cut
		sealed bool
	}
	var sync []damaged
	for _, sealed := range []bool{true, false} {
		dir := t.TempDir()
		copyDir(t, acme, dir)
		if !sealed {
			snaptest.Strip(t, dir)
		}
		refused, read := 0, 0
		for _, file := range snapshotFiles {
			orig, err := os.ReadFile(filepath.Join(dir, file))
			require.NoError(t, err)
			first := true
			for _, c := range cuts(t, dir, file) {
				if c.lastField && c.newline && !sealed {
					continue
				}
				require.NoError(t, os.WriteFile(filepath.Join(dir, file), c.body, 0o644))
				if _, err := pipeline.ReadSnapshot(dir); err != nil {
					require.ErrorIs(t, err, model.ErrInput, c.name)
					require.Contains(t, err.Error(), file, "%s: the error names the file", c.name)
					refused++
					if !first {
						continue
					}
					first = false
				} else {
					read++
				}
				sync = append(sync, damaged{c, sealed})
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, file), orig, 0o644))
		}
		t.Logf("sealed=%v: %d cuts refused by the reader, %d read", sealed, refused, read)
		if sealed {
			require.Zero(t, read, "every cut of a sealed snapshot fails its checksum")
		}
	}

	ctx := context.Background()
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			s := kind.open(t)
			_, err := pipeline.Run(ctx, syncConfig(acme, s, false))
			require.NoError(t, err)
			published, err := s.Current(ctx)
			require.NoError(t, err)
			want := accountRows(t, s)
			for _, d := range sync {
				dir := t.TempDir()
				copyDir(t, acme, dir)
				if !d.sealed {
					snaptest.Strip(t, dir)
				}
				require.NoError(t, os.WriteFile(filepath.Join(dir, d.file), d.body, 0o644))
				res, err := pipeline.Run(ctx, syncConfig(dir, s, false))
				if err == nil {
					require.True(t, res.Unchanged, "%s: sealed=%v changes the mirror", d.name, d.sealed)
					continue
				}
				require.True(t, errors.Is(err, model.ErrInput) || errors.Is(err, model.ErrRevokeGuard), "%s: %v", d.name, err)
				cur, err := s.Current(ctx)
				require.NoError(t, err)
				require.Equal(t, published.Number, cur.Number, "%s: a refused sync publishes nothing", d.name)
			}
			require.Equal(t, want, accountRows(t, s), "the published rows never changed")
		})
	}
}
