package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// A sync whose input is the one that built the current generation, read by the
// same grantmirror with the same settings, would flatten to the same mirror: it
// can say "unchanged" without parsing or flattening anything. The input digest
// says so. It is recorded with each run (RunRecord.InputDigest) and is made of
// the snapshot's fingerprint, the settings that shape a flatten, and a digest of
// the running executable, so an upgraded grantmirror (whose rules may differ)
// always flattens again.

// Fingerprinter is a Source that can tell what it would load without loading
// it. Fingerprint returns "" when it cannot; a Run then reads the source.
type Fingerprinter interface {
	Fingerprint(ctx context.Context) (string, error)
}

// Fingerprint is the fingerprint of the snapshot directory (SnapshotFingerprint).
func (d DirSource) Fingerprint(context.Context) (string, error) { return SnapshotFingerprint(d.Dir) }

// SnapshotFingerprint is a digest of a snapshot directory: every account's
// manifest.json and the checksums of its files, each verified against the file.
// It is "" when the directory cannot be fingerprinted without reading it: an
// account without manifest.json, without extracted_at (its users' expiry is then
// judged by the time it is read) or without the checksum of a file it holds, or a
// file whose content differs from its checksum (reading it says which).
func SnapshotFingerprint(dir string) (string, error) {
	dirs, err := accountDirs(dir)
	if err != nil || dirs == nil {
		// Not laid out as a snapshot: reading it says why.
		return "", nil
	}
	h := sha256.New()
	for _, d := range dirs {
		ok, err := fingerprintAccount(h, d)
		if err != nil || !ok {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fingerprintAccount writes one account's manifest and verified checksums to
// h; false when the account cannot be fingerprinted.
func fingerprintAccount(h io.Writer, dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var man manifest
	if json.Unmarshal(b, &man) != nil || man.ExtractedAt == "" {
		return false, nil
	}
	sum := sha256.Sum256(b)
	h.Write([]byte(filepath.Base(dir) + "\x00"))
	h.Write(sum[:])
	for _, f := range accountFiles(&model.Account{}) {
		path := filepath.Join(dir, f.file)
		want, listed := man.SHA256[f.file]
		got, err := FileSHA256(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !listed:
			continue
		case err != nil:
			return false, nil
		case !listed || got != want:
			return false, nil
		}
		h.Write([]byte(f.file + "\x00" + got + "\n"))
	}
	return true, nil
}

// FileSHA256 is the SHA-256 of a file's bytes, in hex, as manifest.json records
// it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// InputDigest is the input digest of a sync of a source with this fingerprint,
// flattened with o; "" when the fingerprint is unknown or the executable cannot
// be read.
func InputDigest(fingerprint string, o Options) string {
	if fingerprint == "" || o.Validate() != nil {
		return ""
	}
	exe := executableDigest()
	if exe == "" {
		return ""
	}
	tags := slices.Clone(o.PIITags)
	for i := range tags {
		tags[i] = strings.ToUpper(tags[i])
	}
	slices.Sort(tags)
	settings, err := json.Marshal(struct {
		Mode           model.Mode
		Roles          model.RoleMode
		Domains, Users map[string]string
		PIITags        []string
		PolicyFallback string
	}{o.Mode, o.Roles, o.Aliases.Domains, o.Aliases.Users, tags, o.PolicyFallback})
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(fingerprint + "\x00" + exe + "\x00"))
	h.Write(settings)
	return hex.EncodeToString(h.Sum(nil))
}

// executableDigest is the SHA-256 of the running executable, read once.
var executableDigest = sync.OnceValue(func() string {
	path, err := os.Executable()
	if err != nil {
		return ""
	}
	sum, err := FileSHA256(path)
	if err != nil {
		return ""
	}
	return sum
})
