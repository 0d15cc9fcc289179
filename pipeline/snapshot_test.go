package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/snaptest"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// validSnapshot writes a small valid account and returns its directory.
func validSnapshot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"users.csv":           "NAME,EMAIL,DISABLED,DELETED_ON\nANNA,anna@x.example,false,\n",
		"grants_to_users.csv": "ROLE,GRANTED_TO,GRANTEE_NAME,DELETED_ON\nR,USER,ANNA,\n",
		"grants_to_roles.csv": "PRIVILEGE,GRANTED_ON,NAME,TABLE_CATALOG,TABLE_SCHEMA,GRANTED_TO,GRANTEE_NAME,DELETED_ON\nUSAGE,WAREHOUSE,WH,,,ROLE,R,\n",
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

func TestReadSnapshotErrors(t *testing.T) {
	t.Parallel()
	const roleHead = "PRIVILEGE,GRANTED_ON,NAME,TABLE_CATALOG,TABLE_SCHEMA,GRANTED_TO,GRANTEE_NAME,DELETED_ON\n"
	for _, tc := range []struct {
		name  string
		file  string
		body  string // "" removes the file
		want  string
		sents []error
	}{
		{"missing required file", "grants_to_roles.csv", "", "grants_to_roles.csv: required file is missing", nil},
		{"empty file", "grants_to_users.csv", "\x00", "grants_to_users.csv: file is empty (no header line)", nil},
		{"missing column", "users.csv", "NAME,EMAIL,DELETED_ON\nA,a@x.example,\n", "users.csv:1: missing column DISABLED", nil},
		{"bad boolean", "users.csv", "NAME,EMAIL,DISABLED,DELETED_ON\nA,a@x.example,maybe,\n", `users.csv:2: DISABLED "maybe" is not a boolean`, nil},
		{"bad timestamp", "users.csv", "NAME,EMAIL,DISABLED,DELETED_ON\nA,a@x.example,false,yesterday\n", `users.csv:2: DELETED_ON "yesterday" is not a timestamp`, nil},
		{"empty GRANTED_ON", "grants_to_roles.csv", roleHead + "USAGE,WAREHOUSE,WH,,,ROLE,R,\nSELECT,,T,DB,S,ROLE,R,\n", "grants_to_roles.csv:3: GRANTED_ON is empty", nil},
		{"unknown GRANTED_TO", "grants_to_roles.csv", roleHead + "SELECT,TABLE,T,DB,S,GROUP,R,\n", `grants_to_roles.csv:2: GRANTED_TO "GROUP" is not a grantee kind`, nil},
		{"schema without database", "grants_to_roles.csv", roleHead + "SELECT,TABLE,T,,S,ROLE,R,\n", "grants_to_roles.csv:2: TABLE_CATALOG is empty", nil},
		{"broken csv quoting", "grants_to_roles.csv", roleHead + "SELECT,TABLE,\"T,DB,S,ROLE,R,\n", "grants_to_roles.csv: line 2", nil},
		{"grant to a non-user", "grants_to_users.csv", "ROLE,GRANTED_TO,GRANTEE_NAME,DELETED_ON\nR,ROLE,X,\n", `grants_to_users.csv:2: GRANTED_TO is "ROLE"`, nil},
		{"empty extract", "users.csv", "NAME,EMAIL,DISABLED,DELETED_ON\n", "users.csv has no rows", []error{model.ErrEmptyExtract}},
		{"bad manifest", "manifest.json", `{"extracted_at": "last tuesday"}`, `extracted_at "last tuesday" is not RFC3339`, nil},
		{"record with fewer fields", "users.csv", "NAME,EMAIL,DISABLED,DELETED_ON\nA,a@x.example,false,\nB,b@x.example", "users.csv:3: the record has 2 fields but the header has 4", nil},
		{"last field cut", "grants_to_users.csv", "ROLE,GRANTED_TO,GRANTEE_NAME,DELETED_ON\nR,USER,ANNA,\nR2,USER,ANNA,", "grants_to_users.csv:3: the last record does not end with a line break", nil},
		{"record with more fields", "grants_to_users.csv", "ROLE,GRANTED_TO,GRANTEE_NAME,DELETED_ON\nR,USER,ANNA,,extra\n", "grants_to_users.csv:2: the record has 5 fields but the header has 4", nil},
		{"NUL byte", "grants_to_roles.csv", roleHead + "SELECT,TABLE,T\x00X,DB,S,ROLE,R,\n", "grants_to_roles.csv:2: NAME holds a NUL byte", nil},
		{"invalid UTF-8", "users.csv", "NAME,EMAIL,DISABLED,DELETED_ON\nA\xff,a@x.example,false,\n", "users.csv:2: NAME is not valid UTF-8", nil},
		{"field too long", "grants_to_roles.csv", roleHead + "SELECT,TABLE," + strings.Repeat("T", 1001) + ",DB,S,ROLE,R,\n", "grants_to_roles.csv:2: NAME is 1001 bytes long; the limit is 1000", nil},
		{"object name too long", "grants_to_roles.csv", roleHead + "SELECT,TABLE," + strings.Repeat("T", 1000) + "," + strings.Repeat("D", 300) + ",S,ROLE,R,\n", "grants_to_roles.csv:2: NAME with its database, schema, GRANTED_ON and PRIVILEGE makes 1314 bytes; the limit is 1300", nil},
		{"role too long once quoted", "grants_to_users.csv", "ROLE,GRANTED_TO,GRANTEE_NAME,DELETED_ON\n" + strings.Repeat("r", 999) + ",USER,ANNA,\n", "grants_to_users.csv:2: ROLE is 1001 bytes long quoted", nil},
		{"header not UTF-8", "roles.csv", "NAME,DELETED_ON,\xfe\n", "roles.csv:1: column 3 of the header is not valid UTF-8", nil},
		{"account name too long", "manifest.json", `{"account": "` + strings.Repeat("A", 256) + `"}`, "is 256 bytes long; the limit is 255", nil},
		{"bad history count", "access_history.csv", "USER_NAME,OBJECT_DOMAIN,OBJECT_NAME,LAST_ACCESSED,QUERY_COUNT\nA,TABLE,X,2026-01-01,lots\n", `access_history.csv:2: QUERY_COUNT "lots"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := validSnapshot(t)
			path := filepath.Join(dir, tc.file)
			switch tc.body {
			case "":
				require.NoError(t, os.Remove(path))
			case "\x00":
				require.NoError(t, os.WriteFile(path, nil, 0o644))
			default:
				require.NoError(t, os.WriteFile(path, []byte(tc.body), 0o644))
			}
			_, err := pipeline.ReadSnapshot(dir)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			sents := tc.sents
			if sents == nil {
				sents = []error{model.ErrInput}
			}
			for _, s := range sents {
				require.True(t, errors.Is(err, s), "%v is not %v", err, s)
			}
		})
	}
}

func TestReadSnapshotAccepts(t *testing.T) {
	t.Parallel()
	dir := validSnapshot(t)
	// Extra columns, any column order, lower-case headers, a BOM, keywords with spaces,
	// Snowflake's timestamp format and an unknown privilege are all fine.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "grants_to_roles.csv"), []byte("\ufeffgrantee_name,privilege,granted_on,name,table_catalog,table_schema,granted_to,deleted_on,created_on\n"+
		"R,SELECT,materialized view,MV,DB,S,ACCOUNT ROLE,,2020-01-01\n"+
		"R,IMAGINE,HOLOGRAM,H,,,ROLE,2026-01-01 00:00:00.000 -0700,\n"), 0o644))
	snap, err := pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	a := snap.Accounts[0]
	require.Equal(t, strings.ToUpper(filepath.Base(dir)), a.Name, "account defaults to the directory name")
	require.Len(t, a.RoleGrants, 2)
	require.Equal(t, "MATERIALIZED_VIEW", a.RoleGrants[0].GrantedOn)
	require.Equal(t, "ROLE", a.RoleGrants[0].GrantedTo)
	require.Equal(t, time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC), a.RoleGrants[1].DeletedOn)
	require.Equal(t, "IMAGINE", a.RoleGrants[1].Privilege)

	// Every way a timestamp reaches a CSV reads as the same instant.
	want := time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC)
	for _, ts := range []string{"2026-01-01 00:00:00.000 -0700", "2026-01-01 00:00:00 -07:00", "2026-01-01 07:00:00.000 Z",
		"2026-01-01 07:00:00Z", "2026-01-01T00:00:00-07:00", "2026-01-01T00:00:00.123456-0700", "2026-01-01 07:00:00"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), []byte("NAME,EMAIL,DISABLED,DELETED_ON\nA,a@x.example,false,"+ts+"\n"), 0o644))
		snap, err := pipeline.ReadSnapshot(dir)
		require.NoError(t, err, ts)
		require.WithinDuration(t, want, snap.Accounts[0].Users[0].DeletedOn, time.Second, ts)
	}
}

func TestMultiAccountSnapshot(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	for _, name := range []string{"zeta", "alpha"} {
		require.NoError(t, os.CopyFS(filepath.Join(parent, name), os.DirFS(validSnapshot(t))))
	}
	snap, err := pipeline.ReadSnapshot(parent)
	require.NoError(t, err)
	require.Equal(t, []string{"ALPHA", "ZETA"}, []string{snap.Accounts[0].Name, snap.Accounts[1].Name})
	m, err := pipeline.Flatten(snap, pipeline.Options{})
	require.NoError(t, err)
	var accounts []string
	for r := range m.Access.All() {
		accounts = append(accounts, r.Account)
	}
	require.Equal(t, []string{"ALPHA", "ZETA"}, slices.Compact(accounts))

	// Written back, the snapshot reads the same.
	out := t.TempDir()
	require.NoError(t, pipeline.WriteSnapshot(out, snap))
	again, err := pipeline.ReadSnapshot(out)
	require.NoError(t, err)
	for i := range snap.Accounts {
		require.Equal(t, snap.Accounts[i].Name, again.Accounts[i].Name)
		require.Equal(t, len(snap.Accounts[i].RoleGrants), len(again.Accounts[i].RoleGrants))
	}
}

func TestDuplicateActiveUser(t *testing.T) {
	t.Parallel()
	dir := validSnapshot(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), []byte("NAME,EMAIL,DISABLED,DELETED_ON\nANNA,a@x.example,false,\nANNA,b@x.example,false,\n"), 0o644))
	snap, err := pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	_, err = pipeline.Flatten(snap, pipeline.Options{})
	require.ErrorIs(t, err, model.ErrInput)
	require.Contains(t, err.Error(), "users.csv:3: NAME ANNA is an active user already at line 2")
}

// randomWord is n upper-case letters that compress poorly, as the widest index
// entries Postgres must take would.
func randomWord(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + rand.IntN(26))
	}
	return string(b)
}

// TestLimitsFitBothTargets publishes a snapshot whose values are as long as the
// reader allows, in the widest index entry of the Postgres target (account, role,
// object type, object name, privilege), to both targets: what the reader accepts,
// every target stores. One byte more is refused by the reader, for both.
func TestLimitsFitBothTargets(t *testing.T) {
	t.Parallel()
	account, role := randomWord(255), randomWord(1000)
	name, schema := randomWord(1000), "S"
	catalog := randomWord(1300 - len("TABLE") - len("SELECT") - len(name) - len(schema) - 2)
	write := func(t *testing.T, catalog string) string {
		dir := t.TempDir()
		files := map[string]string{
			"manifest.json":       `{"account": "` + account + `", "extracted_at": "2026-11-01T00:00:00Z"}`,
			"users.csv":           "NAME,EMAIL,DISABLED,DELETED_ON\nU," + strings.Repeat("u", 64) + "@" + strings.Repeat("d", 63) + ".example,false,\n",
			"grants_to_users.csv": "ROLE,GRANTED_TO,GRANTEE_NAME,DELETED_ON\n" + role + ",USER,U,\n",
			"grants_to_roles.csv": "PRIVILEGE,GRANTED_ON,NAME,TABLE_CATALOG,TABLE_SCHEMA,GRANTED_TO,GRANTEE_NAME,DELETED_ON\n" +
				"SELECT,TABLE," + name + "," + catalog + "," + schema + ",ROLE," + role + ",\n",
		}
		for f, body := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644))
		}
		return dir
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := kind.open(t)
			cfg := syncConfig(write(t, catalog), s, false)
			cfg.Flatten.Mode = model.Granted
			res, err := pipeline.Run(ctx, cfg)
			require.NoError(t, err)
			require.Equal(t, 1, res.Generation.Rows)
			back, err := s.Open(ctx, 0)
			require.NoError(t, err)
			require.Equal(t, 1, back.Access.Len())
			require.Equal(t, 1300-len("TABLE")-len("SELECT"), len(back.Grants[0].ObjectName))

			cfg = syncConfig(write(t, catalog+"X"), s, true)
			cfg.Flatten.Mode = model.Granted
			_, err = pipeline.Run(ctx, cfg)
			require.ErrorIs(t, err, model.ErrInput)
			require.ErrorContains(t, err, "grants_to_roles.csv:2: NAME with its database, schema, GRANTED_ON and PRIVILEGE makes 1301 bytes")
		})
	}
}

// sealedSnapshot is validSnapshot with a manifest that records its files.
func sealedSnapshot(t *testing.T) string {
	t.Helper()
	dir := validSnapshot(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"account": "X", "extracted_at": "2026-11-01T00:00:00Z"}`), 0o644))
	snaptest.Reseal(t, dir)
	return dir
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestManifestVerifies: a manifest with rows and checksums is checked file by
// file, and every way a file can differ from the extract is an error naming the
// file and what was expected against what was found.
func TestManifestVerifies(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(sealedSnapshot(t))
	require.NoError(t, err, "a sealed snapshot reads")
	require.Empty(t, snap.Warnings)

	const users = "NAME,EMAIL,DISABLED,DELETED_ON\nANNA,anna@x.example,false,\n"
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string) string // returns the expected message
	}{
		{"file changed", func(t *testing.T, dir string) string {
			changed := "NAME,EMAIL,DISABLED,DELETED_ON\nANNA,anna@x.example,true,\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), []byte(changed), 0o644))
			return "users.csv: the file's SHA-256 is " + sha([]byte(changed)) + " but manifest.json says " + sha([]byte(users))
		}},
		{"file cut mid-record", func(t *testing.T, dir string) string {
			cut := users[:len(users)-8]
			require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), []byte(cut), 0o644))
			return "users.csv: the file's SHA-256 is " + sha([]byte(cut)) + " but manifest.json says " + sha([]byte(users))
		}},
		{"row count differs", func(t *testing.T, dir string) string {
			rewriteManifest(t, dir, `"users.csv": 1`, `"users.csv": 2`)
			return "users.csv: the file has 1 rows but manifest.json says 2"
		}},
		{"listed file missing", func(t *testing.T, dir string) string {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "roles.csv"), []byte("NAME,DELETED_ON\nR,\n"), 0o644))
			snaptest.Reseal(t, dir)
			require.NoError(t, os.Remove(filepath.Join(dir, "roles.csv")))
			return "roles.csv: manifest.json lists the file but it is missing"
		}},
		{"file not listed", func(t *testing.T, dir string) string {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "roles.csv"), []byte("NAME,DELETED_ON\nR,\n"), 0o644))
			return "roles.csv: the file is not listed in manifest.json"
		}},
		{"malformed checksum", func(t *testing.T, dir string) string {
			rewriteManifest(t, dir, sha([]byte(users)), "abc")
			return `sha256 of users.csv is "abc"; want 64 hex digits`
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := sealedSnapshot(t)
			want := tc.change(t, dir)
			_, err := pipeline.ReadSnapshot(dir)
			require.ErrorIs(t, err, model.ErrInput)
			require.ErrorContains(t, err, want)
		})
	}
}

func rewriteManifest(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// TestManifestOptional: a manifest without rows and checksums (an older
// extract) reads unchecked and without a warning; no manifest at all reads
// with a warning that says what is then unknown.
func TestManifestOptional(t *testing.T) {
	t.Parallel()
	dir := sealedSnapshot(t)
	snaptest.Strip(t, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.csv"), []byte("NAME,EMAIL,DISABLED,DELETED_ON\nBO,bo@x.example,false,\n"), 0o644))
	snap, err := pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	require.Empty(t, snap.Warnings)
	require.Equal(t, "X", snap.Accounts[0].Name)

	require.NoError(t, os.Remove(filepath.Join(dir, "manifest.json")))
	snap, err = pipeline.ReadSnapshot(dir)
	require.NoError(t, err)
	name := strings.ToUpper(filepath.Base(dir))
	require.Equal(t, []string{dir + " has no manifest.json: the account is named " + name +
		" after its directory, and when it was extracted is unknown, so no answer can say how old it is"}, snap.Warnings)
	require.True(t, snap.Accounts[0].ExtractedAt.IsZero())
}

// TestWrittenSnapshotIsSealed: WriteSnapshot records every file's rows and
// checksum, so a snapshot kept with a generation is verified when read back.
func TestWrittenSnapshotIsSealed(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "testdata", "sample", "acme"))
	require.NoError(t, err)
	out := t.TempDir()
	require.NoError(t, pipeline.WriteSnapshot(out, snap))
	var m struct {
		Rows   map[string]int64  `json:"rows"`
		SHA256 map[string]string `json:"sha256"`
	}
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	a := snap.Accounts[0]
	require.Equal(t, int64(len(a.Users)), m.Rows["users.csv"])
	require.Equal(t, int64(len(a.RoleGrants)), m.Rows["grants_to_roles.csv"])
	require.Len(t, m.SHA256, 7)
	for name, sum := range m.SHA256 {
		data, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		require.Equal(t, sha(data), sum, name)
	}
	_, err = pipeline.ReadSnapshot(out)
	require.NoError(t, err)
	appendTo(t, filepath.Join(out, "roles.csv"), "LEGACY,,,\n")
	_, err = pipeline.ReadSnapshot(out)
	require.ErrorContains(t, err, "roles.csv: the file's SHA-256 is ")
}

// TestMultiAccountSubdirectoryWithoutUsers: every subdirectory of a
// multi-account snapshot is an account, so one without users.csv is an error
// naming it rather than an account silently gone; hidden directories are not
// accounts.
func TestMultiAccountSubdirectoryWithoutUsers(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	for _, name := range []string{"alpha", "beta", ".cache"} {
		require.NoError(t, os.CopyFS(filepath.Join(parent, name), os.DirFS(validSnapshot(t))))
	}
	require.NoError(t, os.Remove(filepath.Join(parent, ".cache", "users.csv")))
	snap, err := pipeline.ReadSnapshot(parent)
	require.NoError(t, err)
	require.Len(t, snap.Accounts, 2)
	require.Len(t, snap.Warnings, 2, "neither account has a manifest")

	require.NoError(t, os.Remove(filepath.Join(parent, "beta", "users.csv")))
	_, err = pipeline.ReadSnapshot(parent)
	require.ErrorIs(t, err, model.ErrInput)
	require.ErrorContains(t, err, filepath.Join(parent, "beta", "users.csv")+": required file users.csv is missing; every subdirectory of a multi-account snapshot is an account")
}
