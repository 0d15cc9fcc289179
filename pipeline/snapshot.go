package pipeline

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// manifest is the optional manifest.json of a snapshot. Rows and SHA256, when
// present, describe each file as the extract wrote it, by file name: the number
// of records after the header and the SHA-256 of the file's bytes, in hex. The
// reader verifies them, so that a file cut short or altered after the extract
// is an error rather than a smaller grant graph (a lost line that marked a role
// dropped brings the role back). The Snowflake extract writes more fields, for
// people; the reader ignores them.
type manifest struct {
	Account     string            `json:"account"`
	ExtractedAt string            `json:"extracted_at,omitempty"`
	Source      string            `json:"source"`
	Rows        map[string]int64  `json:"rows,omitempty"`
	SHA256      map[string]string `json:"sha256,omitempty"`
}

// checked says whether the manifest describes the files.
func (m *manifest) checked() bool { return m != nil && (m.Rows != nil || m.SHA256 != nil) }

// lists says whether the manifest describes the file.
func (m *manifest) lists(name string) bool {
	if m == nil {
		return false
	}
	_, rows := m.Rows[name]
	_, sum := m.SHA256[name]
	return rows || sum
}

// ReadSnapshot reads a snapshot directory: one account when it holds users.csv,
// otherwise one account per subdirectory (hidden ones aside), each of which must
// hold users.csv: an account whose users went missing must not be read as an
// account that is gone. Errors name the file and line.
func ReadSnapshot(dir string) (*model.Snapshot, error) { return readSnapshot(dir, nil) }

// readSnapshot is ReadSnapshot calling advance, when not nil, as records are
// read (in steps of advanceStep), for a progress bar.
func readSnapshot(dir string, advance func(int)) (*model.Snapshot, error) {
	snap := &model.Snapshot{}
	dirs, err := accountDirs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", model.ErrInput, err)
	}
	for _, sub := range dirs {
		if _, err := os.Stat(filepath.Join(sub, "users.csv")); err != nil {
			return nil, fmt.Errorf("%w: %s: required file users.csv is missing; every subdirectory of a multi-account snapshot is an account, and an account without users cannot be mirrored (restore the file, or remove the directory to drop the account)",
				model.ErrInput, filepath.Join(sub, "users.csv"))
		}
		a, err := readAccount(sub, snap, advance)
		if err != nil {
			return nil, err
		}
		snap.Accounts = append(snap.Accounts, a)
	}
	if len(snap.Accounts) == 0 {
		return nil, fmt.Errorf("%w: %s: no users.csv here or in any subdirectory (a snapshot needs users.csv, grants_to_users.csv and grants_to_roles.csv)", model.ErrInput, dir)
	}
	seen := map[string]string{}
	for _, a := range snap.Accounts {
		if prev, ok := seen[a.Name]; ok {
			return nil, fmt.Errorf("%w: account %s appears twice (%s and %s): give each manifest.json its own account", model.ErrInput, a.Name, prev, a.Source)
		}
		seen[a.Name] = a.Source
	}
	sort.Slice(snap.Accounts, func(i, j int) bool { return snap.Accounts[i].Name < snap.Accounts[j].Name })
	return snap, nil
}

// accountDirs lists the account directories of a snapshot directory: dir itself
// when it holds users.csv, otherwise its subdirectories, hidden ones aside.
func accountDirs(dir string) (dirs []string, err error) {
	if _, err := os.Stat(filepath.Join(dir, "users.csv")); err == nil {
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, filepath.Join(dir, e.Name()))
		}
	}
	return dirs, nil
}

// accountFile is one file of an account's snapshot and how it is read into a.
type accountFile struct {
	file     string
	required bool
	read     func(*table) error
	present  *bool
}

// accountReader reads an account's files into it.
type accountReader struct{ *model.Account }

// accountFiles lists the files of an account's snapshot, in reading order.
func accountFiles(acct *model.Account) []accountFile {
	a := accountReader{acct}
	return []accountFile{
		{"users.csv", true, a.readUsers, nil},
		{"grants_to_users.csv", true, a.readUserGrants, nil},
		{"grants_to_roles.csv", true, a.readRoleGrants, nil},
		{"roles.csv", false, a.readRoles, &a.HasRoles},
		{"tag_references.csv", false, a.readTags, nil},
		{"policy_references.csv", false, a.readPolicies, nil},
		{"masking_policies.csv", false, a.bodyReader("MASKING_POLICY"), nil},
		{"row_access_policies.csv", false, a.bodyReader("ROW_ACCESS_POLICY"), nil},
		{"projection_policies.csv", false, a.bodyReader("PROJECTION_POLICY"), nil},
		{"access_history.csv", false, a.readHistory, &a.HasHistory},
	}
}

func readAccount(dir string, snap *model.Snapshot, advance func(int)) (*model.Account, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	a := &model.Account{Name: strings.ToUpper(filepath.Base(abs)), Source: "dir:" + dir}
	man, err := readManifest(dir, a)
	if err != nil {
		return nil, err
	}
	if man == nil {
		snap.Warnings = append(snap.Warnings, fmt.Sprintf("%s has no manifest.json: the account is named %s after its directory, and when it was extracted is unknown, so no answer can say how old it is",
			dir, a.Name))
	}
	if msg := checkValue("the account name "+strconv.Quote(a.Name), a.Name, maxAccountBytes); msg != "" {
		return nil, fmt.Errorf("%w: %s: %s", model.ErrInput, dir, msg)
	}
	if msg := checkValue("the source", a.Source, maxFieldBytes); msg != "" {
		return nil, fmt.Errorf("%w: %s: %s", model.ErrInput, dir, msg)
	}
	steps := accountFiles(a)
	for _, s := range steps {
		path := filepath.Join(dir, s.file)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && !s.required {
			if man.lists(s.file) {
				return nil, fmt.Errorf("%w: %s: manifest.json lists the file but it is missing", model.ErrInput, path)
			}
			continue
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s: required file is missing", model.ErrInput, path)
			}
			return nil, fmt.Errorf("%w: %v", model.ErrInput, err)
		}
		read := s.read
		if advance != nil {
			read = func(t *table) error { t.advance = advance; return s.read(t) }
		}
		err = readFile(path, s.file, f, man, read)
		f.Close()
		if err != nil {
			return nil, err
		}
		if s.present != nil {
			*s.present = true
		}
	}
	if len(a.Users) == 0 {
		return nil, fmt.Errorf("%w: %s: users.csv has no rows; refusing to mirror an account with no users", model.ErrEmptyExtract, dir)
	}
	return a, nil
}

// readFile reads one snapshot file with read, verifying it against the
// manifest when the manifest describes the files. The bytes are hashed as the
// CSV reader consumes them, so a file is read once.
func readFile(path, name string, f io.Reader, man *manifest, read func(*table) error) error {
	if !man.checked() {
		// Without a checksum, the one trace of a file cut inside its last field
		// ("…,ANNA," from "…,ANNA,2026-01-31") is the line break missing at its
		// end: every CSV writer ends the last record with one.
		end := &lastByte{r: f}
		t, err := newTable(path, end)
		if err == nil {
			err = read(t)
		}
		if err == nil && t.records > 0 && end.b != '\n' {
			err = fmt.Errorf("%w: %s:%d: the last record does not end with a line break, so the file may be cut short; if it is complete, end it with a line break",
				model.ErrInput, path, t.line)
		}
		return err
	}
	wantRows, hasRows := man.Rows[name]
	wantSum, hasSum := man.SHA256[name]
	if !man.lists(name) {
		return fmt.Errorf("%w: %s: the file is not listed in manifest.json, which lists the files of the extract", model.ErrInput, path)
	}
	h := sha256.New()
	t, err := newTable(path, io.TeeReader(f, h))
	rows := int64(0)
	if err == nil {
		// A hint only, checked once the file is read, and capped so that a
		// manifest that lies cannot make the reader reserve gigabytes.
		t.expect = int(min(max(wantRows, 0), 1<<20))
		err = read(t)
		rows = t.records
	}
	// The rest of the file, after a parse error, still counts towards its sum.
	if _, cerr := io.Copy(h, f); cerr != nil && err == nil {
		err = fmt.Errorf("%w: %s: %v", model.ErrInput, path, cerr)
	}
	// A file that is not the one extracted is the cause of whatever else went
	// wrong reading it, so its checksum is reported first.
	if sum := hex.EncodeToString(h.Sum(nil)); hasSum && !strings.EqualFold(sum, wantSum) {
		return fmt.Errorf("%w: %s: the file's SHA-256 is %s but manifest.json says %s; the file was cut short or changed after the extract (re-extract, or restore it)",
			model.ErrInput, path, sum, strings.ToLower(wantSum))
	}
	if err != nil {
		return err
	}
	if hasRows && rows != wantRows {
		return fmt.Errorf("%w: %s: the file has %d rows but manifest.json says %d; the file was cut short or changed after the extract (re-extract, or restore it)",
			model.ErrInput, path, rows, wantRows)
	}
	return nil
}

// lastByte remembers the last byte read through it.
type lastByte struct {
	r io.Reader
	b byte
}

func (l *lastByte) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		l.b = p[n-1]
	}
	return n, err
}

// readManifest reads manifest.json into a; it returns nil when there is none.
func readManifest(dir string, a *model.Account) (*manifest, error) {
	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", model.ErrInput, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", model.ErrInput, path, err)
	}
	for name, n := range m.Rows {
		if n < 0 {
			return nil, fmt.Errorf("%w: %s: rows of %s is %d; want 0 or more", model.ErrInput, path, name, n)
		}
	}
	for name, sum := range m.SHA256 {
		if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%w: %s: sha256 of %s is %q; want 64 hex digits", model.ErrInput, path, name, sum)
		}
	}
	if m.Account != "" {
		a.Name = strings.ToUpper(strings.TrimSpace(m.Account))
	}
	if m.Source != "" {
		a.Source = m.Source
	}
	if m.ExtractedAt != "" {
		t, err := time.Parse(time.RFC3339, m.ExtractedAt)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: extracted_at %q is not RFC3339", model.ErrInput, path, m.ExtractedAt)
		}
		a.ExtractedAt = t.UTC()
	}
	return &m, nil
}

// Limits on the values of a snapshot. Both targets must be able to store what
// the reader accepts, or a directory target publishes what every Postgres sync
// then fails on, which becomes staleness and a lockout. Postgres refuses a btree
// index entry over about 2,700 bytes (a third of an 8 kB page), and the widest
// entries are (email, object type, object name, privilege, account) and
// (account, role, object type, object name, privilege). With a field at most
// maxFieldBytes, an object with its type and privilege at most maxObjectBytes and
// an account name at most maxAccountBytes, an entry stays under 2,560 bytes of
// values plus its headers. Snowflake identifiers are at most 255 characters, so
// 1,000 bytes leaves room for any real name in UTF-8; Snowflake's own limit on
// an account identifier is far below 255.
const (
	maxFieldBytes   = 1000
	maxObjectBytes  = 1300
	maxAccountBytes = 255
)

// checkValue rejects what a Postgres text column cannot hold (a NUL byte, bytes
// that are not UTF-8) and values over the limit; what names the value.
func checkValue(what, v string, limit int) string {
	switch {
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Sprintf("%s holds a NUL byte, which no target can store", what)
	case !utf8.ValidString(v):
		return fmt.Sprintf("%s is not valid UTF-8", what)
	case len(v) > limit:
		return fmt.Sprintf("%s is %d bytes long; the limit is %d, so that every target can index it", what, len(v), limit)
	}
	return ""
}

// table reads one CSV file by column name. Header names are matched
// case-insensitively; extra columns are ignored, as the views grow new ones.
// Every record must have as many fields as the header: a record cut short
// would read its missing fields as empty, and an empty DISABLED or DELETED_ON
// means active.
type table struct {
	path string
	r    *csv.Reader
	head []string
	cols map[string]int
	rec  []string
	line int
	// records counts the records read so far, the header aside.
	records int64
	// advance, when not nil, hears of every advanceStep records and of the
	// rest at the end.
	advance func(int)
	// expect is how many records the manifest says the file holds (0: not
	// known), so a reader sizes its table once rather than growing it.
	expect int
}

// advanceStep is how many records a table reads between two reports of
// progress: often enough for a bar to move, rarely enough to cost nothing.
const advanceStep = 4096

func newTable(path string, f io.Reader) (*table, error) {
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	head, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: %s: file is empty (no header line)", model.ErrInput, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", model.ErrInput, path, csvErr(err))
	}
	t := &table{path: path, r: r, cols: map[string]int{}, head: make([]string, len(head))}
	for i, h := range head {
		if msg := checkValue(fmt.Sprintf("column %d of the header", i+1), h, maxFieldBytes); msg != "" {
			return nil, fmt.Errorf("%w: %s:1: %s", model.ErrInput, path, msg)
		}
		h = strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		t.head[i] = h
		if _, dup := t.cols[h]; !dup {
			t.cols[h] = i
		}
	}
	return t, nil
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %v", pe.Line, pe.Err)
	}
	return err
}

// require checks the header has every named column and returns their indexes.
func (t *table) require(names ...string) ([]int, error) {
	idx := make([]int, len(names))
	for i, n := range names {
		j, ok := t.cols[n]
		if !ok {
			return nil, fmt.Errorf("%w: %s:1: missing column %s", model.ErrInput, t.path, n)
		}
		idx[i] = j
	}
	return idx, nil
}

// optional returns the index of a column, or -1 when absent.
func (t *table) optional(name string) int {
	if j, ok := t.cols[name]; ok {
		return j
	}
	return -1
}

// each calls fn for every record, stopping at the first error.
func (t *table) each(fn func() error) error {
	for {
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
}

// next advances to the next record; it returns false at the end or on error.
func (t *table) next() (bool, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		if t.advance != nil {
			t.advance(int(t.records % advanceStep))
			t.advance = nil
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: %s: %v", model.ErrInput, t.path, csvErr(err))
	}
	t.rec = rec
	t.records++
	if t.advance != nil && t.records%advanceStep == 0 {
		t.advance(advanceStep)
	}
	t.line, _ = t.r.FieldPos(0)
	if len(rec) != len(t.head) {
		return false, fmt.Errorf("%w: %s:%d: the record has %d fields but the header has %d; the file is truncated or a value is not quoted",
			model.ErrInput, t.path, t.line, len(rec), len(t.head))
	}
	for i, v := range rec {
		if msg := checkValue(t.head[i], v, maxFieldBytes); msg != "" {
			line, _ := t.r.FieldPos(i)
			return false, fmt.Errorf("%w: %s:%d: %s", model.ErrInput, t.path, line, msg)
		}
	}
	return true, nil
}

// get returns the trimmed field at index i ("" when the column is absent or the row short).
func (t *table) get(i int) string {
	if i < 0 || i >= len(t.rec) {
		return ""
	}
	return strings.TrimSpace(t.rec[i])
}

func (t *table) errf(col, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s %s", model.ErrInput, t.path, t.line, col, fmt.Sprintf(format, args...))
}

func (t *table) boolean(i int, col string) (bool, error) {
	v := t.get(i)
	switch strings.ToLower(v) {
	case "", "false", "0", "no", "n", "f":
		return false, nil
	case "true", "1", "yes", "y", "t":
		return true, nil
	}
	return false, t.errf(col, "%q is not a boolean (want true or false)", v)
}

// timestampLayouts are the ways ACCOUNT_USAGE timestamps reach a CSV: Snowflake's
// default TIMESTAMP_LTZ output, ISO 8601 and plain dates. Fractional seconds are
// accepted after the seconds by time.Parse without being in the layout.
var timestampLayouts = []string{
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04:05Z07:00",
	time.RFC3339,
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

func (t *table) timestamp(i int, col string) (time.Time, error) {
	v := t.get(i)
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range timestampLayouts {
		if ts, err := time.Parse(l, v); err == nil {
			return ts.UTC(), nil
		}
	}
	return time.Time{}, t.errf(col, "%q is not a timestamp (want e.g. 2026-01-31 12:00:00.000 -0700)", v)
}

func (a accountReader) readUsers(t *table) error {
	idx, err := t.require("NAME", "EMAIL", "DISABLED", "DELETED_ON")
	if err != nil {
		return err
	}
	typ, login, display, role := t.optional("TYPE"), t.optional("LOGIN_NAME"), t.optional("DISPLAY_NAME"), t.optional("DEFAULT_ROLE")
	expires, lock, until, secondary := t.optional("EXPIRES_AT"), t.optional("SNOWFLAKE_LOCK"), t.optional("LOCKED_UNTIL_TIME"), t.optional("DEFAULT_SECONDARY_ROLE")
	now := a.ExtractedAt
	if now.IsZero() {
		now = time.Now().UTC()
	}
	return t.each(func() error {
		u := model.User{Line: t.line, Name: t.get(idx[0]), Email: t.get(idx[1]), Type: ident.Word(t.get(typ)),
			LoginName: t.get(login), DisplayName: t.get(display), DefaultRole: t.get(role)}
		if u.ExpiresAt, err = t.timestamp(expires, "EXPIRES_AT"); err != nil {
			return err
		}
		u.Expired = !u.ExpiresAt.IsZero() && !u.ExpiresAt.After(now)
		if u.SnowflakeLock, err = t.boolean(lock, "SNOWFLAKE_LOCK"); err != nil {
			return err
		}
		if u.LockedUntil, err = t.timestamp(until, "LOCKED_UNTIL_TIME"); err != nil {
			return err
		}
		if secondary >= 0 {
			u.SecondaryRaw = t.get(secondary)
			u.SecondaryRoles = SecondaryRoleMode(u.SecondaryRaw)
		}
		if u.Name == "" {
			return t.errf("NAME", "is empty")
		}
		if u.Disabled, err = t.boolean(idx[2], "DISABLED"); err != nil {
			return err
		}
		if u.DeletedOn, err = t.timestamp(idx[3], "DELETED_ON"); err != nil {
			return err
		}
		a.Users = append(a.Users, u)
		return nil
	})
}

// SecondaryRoleMode reads a DEFAULT_SECONDARY_ROLE value: ["ALL"] (or ALL) means
// every granted role is active, [] (the property set to ()) only the default role.
// NULL, written empty, is the property unset, which Snowflake's behavior change
// bundle 2024_08 (BCR-1692) turned from no secondary roles into ('ALL'), and which
// ACCOUNT_USAGE.USERS may go on showing as NULL after the change: the snapshot
// cannot tell which an account follows, so it gives "", the configured default,
// as anything else Snowflake does not document does.
func SecondaryRoleMode(v string) model.RoleMode {
	w := strings.ToUpper(strings.Join(strings.Fields(v), ""))
	switch w {
	case `["ALL"]`, "ALL", `('ALL')`, "[ALL]":
		return model.AllRoles
	case "[]", "()":
		return model.PrimaryRole
	}
	return ""
}

func (a accountReader) readRoles(t *table) error {
	idx, err := t.require("NAME", "DELETED_ON")
	if err != nil {
		return err
	}
	typ, db := t.optional("ROLE_TYPE"), t.optional("ROLE_DATABASE_NAME")
	return t.each(func() error {
		r := model.Role{Line: t.line, Name: t.get(idx[0]), Type: ident.Word(t.get(typ)), Database: t.get(db)}
		if r.Name == "" {
			return t.errf("NAME", "is empty")
		}
		if r.DeletedOn, err = t.timestamp(idx[1], "DELETED_ON"); err != nil {
			return err
		}
		a.Roles = append(a.Roles, r)
		return nil
	})
}

func (a accountReader) readUserGrants(t *table) error {
	idx, err := t.require("ROLE", "GRANTEE_NAME", "GRANTED_TO", "DELETED_ON")
	if err != nil {
		return err
	}
	return t.each(func() error {
		g := model.UserGrant{Line: t.line, Role: t.get(idx[0]), Grantee: t.get(idx[1])}
		if g.Role == "" {
			return t.errf("ROLE", "is empty")
		}
		if g.Grantee == "" {
			return t.errf("GRANTEE_NAME", "is empty")
		}
		if q := ident.Part(g.Role); len(q) > maxFieldBytes {
			return t.errf("ROLE", "is %d bytes long quoted; the limit is %d, so that every target can index it", len(q), maxFieldBytes)
		}
		if to := ident.Word(t.get(idx[2])); to != "USER" {
			return t.errf("GRANTED_TO", "is %q; grants_to_users.csv holds grants to USER only", to)
		}
		if g.DeletedOn, err = t.timestamp(idx[3], "DELETED_ON"); err != nil {
			return err
		}
		a.UserGrants = append(a.UserGrants, g)
		return nil
	})
}

// grantees are the GRANTED_TO values of GRANTS_TO_ROLES; "ACCOUNT ROLE" is the
// newer spelling of ROLE.
var grantees = map[string]string{
	"ROLE": "ROLE", "ACCOUNT_ROLE": "ROLE", "DATABASE_ROLE": "DATABASE_ROLE",
	"APPLICATION_ROLE": "APPLICATION_ROLE", "INSTANCE_ROLE": "INSTANCE_ROLE",
	"APPLICATION": "APPLICATION", "USER": "USER", "SHARE": "SHARE",
}

func (a accountReader) readRoleGrants(t *table) error {
	idx, err := t.require("PRIVILEGE", "GRANTED_ON", "NAME", "TABLE_CATALOG", "TABLE_SCHEMA", "GRANTED_TO", "GRANTEE_NAME", "DELETED_ON")
	if err != nil {
		return err
	}
	opt, inst := t.optional("GRANT_OPTION"), t.optional("OBJECT_INSTANCE")
	a.RoleGrants = slices.Grow(a.RoleGrants, t.expect)
	return t.each(func() error {
		g := model.RoleGrant{Line: t.line, Privilege: ident.Privilege(t.get(idx[0])), GrantedOn: ident.Word(t.get(idx[1])),
			Name: t.get(idx[2]), Catalog: t.get(idx[3]), Schema: t.get(idx[4]), Grantee: t.get(idx[6]), Instance: t.get(inst)}
		switch {
		case g.Privilege == "":
			return t.errf("PRIVILEGE", "is empty")
		case g.GrantedOn == "":
			return t.errf("GRANTED_ON", "is empty")
		case g.Name == "":
			return t.errf("NAME", "is empty")
		case g.Grantee == "":
			return t.errf("GRANTEE_NAME", "is empty")
		}
		to := ident.Word(t.get(idx[5]))
		if g.GrantedTo = grantees[to]; g.GrantedTo == "" {
			return t.errf("GRANTED_TO", "%q is not a grantee kind (want ROLE, DATABASE_ROLE, APPLICATION_ROLE, INSTANCE_ROLE, APPLICATION, SHARE or USER)", t.get(idx[5]))
		}
		if err := checkContainer(t, &g); err != nil {
			return err
		}
		if err := checkGrantLengths(t, &g); err != nil {
			return err
		}
		if g.GrantOption, err = t.boolean(opt, "GRANT_OPTION"); err != nil {
			return err
		}
		if g.DeletedOn, err = t.timestamp(idx[7], "DELETED_ON"); err != nil {
			return err
		}
		a.RoleGrants = append(a.RoleGrants, g)
		return nil
	})
}

func (a accountReader) readTags(t *table) error {
	idx, err := t.require("TAG_DATABASE", "TAG_SCHEMA", "TAG_NAME", "TAG_VALUE", "OBJECT_DATABASE", "OBJECT_SCHEMA", "OBJECT_NAME", "COLUMN_NAME", "DOMAIN")
	if err != nil {
		return err
	}
	return t.each(func() error {
		a.Tags = append(a.Tags, model.TagRef{TagDatabase: t.get(idx[0]), TagSchema: t.get(idx[1]), TagName: t.get(idx[2]), TagValue: t.get(idx[3]),
			ObjectDatabase: t.get(idx[4]), ObjectSchema: t.get(idx[5]), ObjectName: t.get(idx[6]), Column: t.get(idx[7]), Domain: ident.Word(t.get(idx[8]))})
		return nil
	})
}

func (a accountReader) readPolicies(t *table) error {
	idx, err := t.require("POLICY_NAME", "POLICY_KIND", "REF_DATABASE_NAME", "REF_SCHEMA_NAME", "REF_ENTITY_NAME", "REF_COLUMN_NAME")
	if err != nil {
		return err
	}
	pdb, psch, dom := t.optional("POLICY_DB"), t.optional("POLICY_SCHEMA"), t.optional("REF_ENTITY_DOMAIN")
	tdb, tsch, tname, status := t.optional("TAG_DATABASE"), t.optional("TAG_SCHEMA"), t.optional("TAG_NAME"), t.optional("POLICY_STATUS")
	return t.each(func() error {
		a.Policies = append(a.Policies, model.PolicyRef{PolicyName: t.get(idx[0]), PolicyKind: ident.Word(t.get(idx[1])),
			Database: t.get(idx[2]), Schema: t.get(idx[3]), Entity: t.get(idx[4]), Column: t.get(idx[5]),
			PolicyDatabase: t.get(pdb), PolicySchema: t.get(psch), EntityDomain: ident.Word(t.get(dom)),
			TagDatabase: t.get(tdb), TagSchema: t.get(tsch), TagName: t.get(tname), Status: ident.Word(t.get(status))})
		return nil
	})
}

// bodyReader reads one of the policy definition views (MASKING_POLICIES,
// ROW_ACCESS_POLICIES, PROJECTION_POLICIES); dropped policies are left out.
func (a accountReader) bodyReader(kind string) func(*table) error {
	return func(t *table) error {
		idx, err := t.require("POLICY_CATALOG", "POLICY_SCHEMA", "POLICY_NAME", "POLICY_BODY")
		if err != nil {
			return err
		}
		sig, deleted := t.optional("POLICY_SIGNATURE"), t.optional("DELETED")
		if a.BodiesOf == nil {
			a.BodiesOf = map[string]bool{}
		}
		a.BodiesOf[kind] = true
		return t.each(func() error {
			b := model.PolicyBody{Line: t.line, File: filepath.Base(t.path), Kind: kind, Database: t.get(idx[0]), Schema: t.get(idx[1]), Name: t.get(idx[2]),
				Signature: t.get(sig), Body: t.get(idx[3])}
			if b.Name == "" {
				return t.errf("POLICY_NAME", "is empty")
			}
			gone, err := t.timestamp(deleted, "DELETED")
			if err != nil || !gone.IsZero() {
				return err
			}
			a.Bodies = append(a.Bodies, b)
			return nil
		})
	}
}

func (a accountReader) readHistory(t *table) error {
	idx, err := t.require("USER_NAME", "OBJECT_DOMAIN", "OBJECT_NAME", "LAST_ACCESSED", "QUERY_COUNT")
	if err != nil {
		return err
	}
	return t.each(func() error {
		e := model.AccessEvent{User: t.get(idx[0]), ObjectDomain: ident.Word(t.get(idx[1])), ObjectName: t.get(idx[2])}
		if e.LastAccessed, err = t.timestamp(idx[3], "LAST_ACCESSED"); err != nil {
			return err
		}
		if v := t.get(idx[4]); v != "" {
			if e.QueryCount, err = strconv.ParseInt(v, 10, 64); err != nil {
				return t.errf("QUERY_COUNT", "%q is not a whole number", v)
			}
		}
		a.History = append(a.History, e)
		return nil
	})
}

// objectParts is the longest name flatten can make of a grant's object: every
// non-empty part, quoted as needed and joined.
func objectParts(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return ident.Join(nonEmpty...)
}

// checkGrantLengths refuses a grant whose quoted object name or grantee is too
// long for every target to index. Quoting at most doubles a part and adds two
// quotes (and a name at most two dots), so the names of nearly every row are
// measured without being quoted.
func checkGrantLengths(t *table, g *model.RoleGrant) error {
	if 2*(len(g.Catalog)+len(g.Schema)+len(g.Name))+8+len(g.GrantedOn)+len(g.Privilege) > maxObjectBytes {
		if n := len(objectParts(g.Catalog, g.Schema, g.Name)) + len(g.GrantedOn) + len(g.Privilege); n > maxObjectBytes {
			return t.errf("NAME", "with its database, schema, GRANTED_ON and PRIVILEGE makes %d bytes; the limit is %d, so that every target can index it", n, maxObjectBytes)
		}
	}
	if 2*len(g.Grantee)+2 > maxFieldBytes {
		if q := ident.Part(g.Grantee); len(q) > maxFieldBytes {
			return t.errf("GRANTEE_NAME", "is %d bytes long quoted; the limit is %d, so that every target can index it", len(q), maxFieldBytes)
		}
	}
	return nil
}

// checkContainer rejects rows whose object cannot be named: a schema, a database
// role or an object inside a schema without its database.
func checkContainer(t *table, g *model.RoleGrant) error {
	if g.Catalog != "" {
		return nil
	}
	switch {
	case g.Schema != "" && g.GrantedOn != "DATABASE":
		return t.errf("TABLE_CATALOG", "is empty but TABLE_SCHEMA is %q; an object in a schema needs its database", g.Schema)
	case g.GrantedOn == "SCHEMA":
		return t.errf("TABLE_CATALOG", "is empty for a SCHEMA grant; a schema needs its database")
	case g.GrantedOn == "DATABASE_ROLE" && !strings.Contains(g.Name, "."):
		return t.errf("TABLE_CATALOG", "is empty for a DATABASE_ROLE grant on %q; a database role needs its database", g.Name)
	case g.GrantedTo == "DATABASE_ROLE" && g.GrantedOn != "DATABASE" && !strings.Contains(g.Grantee, "."):
		return t.errf("TABLE_CATALOG", "is empty but the grantee %q is a database role; its database cannot be known", g.Grantee)
	}
	return nil
}
