package pipeline

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// snapshotTime is how timestamps are written: Snowflake's own TIMESTAMP_LTZ output.
const snapshotTime = "2006-01-02 15:04:05.000 -0700"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(snapshotTime)
}

// WriteSnapshot writes snap in the snapshot format, so that ReadSnapshot gives it
// back: one directory per account when there are several, the files of the only
// account directly in dir otherwise.
func WriteSnapshot(dir string, snap *model.Snapshot) error {
	for _, a := range snap.Accounts {
		d := dir
		if len(snap.Accounts) > 1 {
			d = filepath.Join(dir, a.Name)
		}
		if err := writeAccount(d, a); err != nil {
			return fmt.Errorf("write snapshot of %s: %w", a.Name, err)
		}
	}
	return nil
}

// writeAccount writes the files of one account, then manifest.json with each
// file's rows and SHA-256, so that reading the snapshot back verifies it.
func writeAccount(dir string, a *model.Account) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	man := manifest{Account: a.Name, Source: a.Source, Rows: map[string]int64{}, SHA256: map[string]string{}}
	if !a.ExtractedAt.IsZero() {
		man.ExtractedAt = a.ExtractedAt.Format(time.RFC3339)
	}
	files := []struct {
		name   string
		header []string
		n      int
		row    func(i int) []string
		write  bool
	}{
		{"users.csv", usersHeader(a), len(a.Users), func(i int) []string {
			u := &a.Users[i]
			row := []string{u.Name, u.Email, strconv.FormatBool(u.Disabled), formatTime(u.DeletedOn), u.Type, u.LoginName, u.DisplayName, u.DefaultRole,
				formatTime(u.ExpiresAt), strconv.FormatBool(u.SnowflakeLock), formatTime(u.LockedUntil)}
			if hasSecondary(a) {
				row = append(row, u.SecondaryRaw)
			}
			return row
		}, true},
		{"roles.csv", []string{"NAME", "ROLE_TYPE", "ROLE_DATABASE_NAME", "DELETED_ON"}, len(a.Roles), func(i int) []string {
			r := &a.Roles[i]
			return []string{r.Name, r.Type, r.Database, formatTime(r.DeletedOn)}
		}, a.HasRoles},
		{"grants_to_users.csv", []string{"ROLE", "GRANTED_TO", "GRANTEE_NAME", "DELETED_ON"}, len(a.UserGrants), func(i int) []string {
			g := &a.UserGrants[i]
			return []string{g.Role, "USER", g.Grantee, formatTime(g.DeletedOn)}
		}, true},
		{"grants_to_roles.csv", []string{"PRIVILEGE", "GRANTED_ON", "NAME", "TABLE_CATALOG", "TABLE_SCHEMA", "GRANTED_TO", "GRANTEE_NAME", "GRANT_OPTION", "DELETED_ON", "OBJECT_INSTANCE"}, len(a.RoleGrants), func(i int) []string {
			g := &a.RoleGrants[i]
			return []string{g.Privilege, g.GrantedOn, g.Name, g.Catalog, g.Schema, g.GrantedTo, g.Grantee, strconv.FormatBool(g.GrantOption), formatTime(g.DeletedOn), g.Instance}
		}, true},
		{"tag_references.csv", []string{"TAG_DATABASE", "TAG_SCHEMA", "TAG_NAME", "TAG_VALUE", "OBJECT_DATABASE", "OBJECT_SCHEMA", "OBJECT_NAME", "COLUMN_NAME", "DOMAIN"}, len(a.Tags), func(i int) []string {
			t := &a.Tags[i]
			return []string{t.TagDatabase, t.TagSchema, t.TagName, t.TagValue, t.ObjectDatabase, t.ObjectSchema, t.ObjectName, t.Column, t.Domain}
		}, len(a.Tags) > 0},
		{"policy_references.csv", []string{"POLICY_NAME", "POLICY_KIND", "REF_DATABASE_NAME", "REF_SCHEMA_NAME", "REF_ENTITY_NAME", "REF_COLUMN_NAME", "POLICY_DB", "POLICY_SCHEMA", "REF_ENTITY_DOMAIN", "TAG_DATABASE", "TAG_SCHEMA", "TAG_NAME", "POLICY_STATUS"}, len(a.Policies), func(i int) []string {
			p := &a.Policies[i]
			return []string{p.PolicyName, p.PolicyKind, p.Database, p.Schema, p.Entity, p.Column, p.PolicyDatabase, p.PolicySchema, p.EntityDomain,
				p.TagDatabase, p.TagSchema, p.TagName, p.Status}
		}, len(a.Policies) > 0},
		{"access_history.csv", []string{"USER_NAME", "OBJECT_DOMAIN", "OBJECT_NAME", "LAST_ACCESSED", "QUERY_COUNT"}, len(a.History), func(i int) []string {
			e := &a.History[i]
			return []string{e.User, e.ObjectDomain, e.ObjectName, formatTime(e.LastAccessed), strconv.FormatInt(e.QueryCount, 10)}
		}, a.HasHistory},
	}
	for kind, name := range map[string]string{"MASKING_POLICY": "masking_policies.csv", "ROW_ACCESS_POLICY": "row_access_policies.csv", "PROJECTION_POLICY": "projection_policies.csv"} {
		var bodies []*model.PolicyBody
		for i := range a.Bodies {
			if a.Bodies[i].Kind == kind {
				bodies = append(bodies, &a.Bodies[i])
			}
		}
		files = append(files, struct {
			name   string
			header []string
			n      int
			row    func(i int) []string
			write  bool
		}{name, []string{"POLICY_CATALOG", "POLICY_SCHEMA", "POLICY_NAME", "POLICY_SIGNATURE", "POLICY_BODY"}, len(bodies), func(i int) []string {
			b := bodies[i]
			return []string{b.Database, b.Schema, b.Name, b.Signature, b.Body}
		}, a.BodiesOf[kind]})
	}
	for _, f := range files {
		if !f.write {
			continue
		}
		sum, err := writeCSV(filepath.Join(dir, f.name), f.header, f.n, f.row)
		if err != nil {
			return err
		}
		man.Rows[f.name], man.SHA256[f.name] = int64(f.n), sum
	}
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644)
}

// usersHeader names the users.csv columns. DEFAULT_SECONDARY_ROLE is written only
// when some user had it, because an absent column means "use the configured
// default" while an empty one means "no secondary roles".
func usersHeader(a *model.Account) []string {
	h := []string{"NAME", "EMAIL", "DISABLED", "DELETED_ON", "TYPE", "LOGIN_NAME", "DISPLAY_NAME", "DEFAULT_ROLE", "EXPIRES_AT", "SNOWFLAKE_LOCK", "LOCKED_UNTIL_TIME"}
	if hasSecondary(a) {
		h = append(h, "DEFAULT_SECONDARY_ROLE")
	}
	return h
}

func hasSecondary(a *model.Account) bool {
	for i := range a.Users {
		if a.Users[i].SecondaryRoles != "" || a.Users[i].SecondaryRaw != "" {
			return true
		}
	}
	return false
}

// writeCSV writes one file and returns the SHA-256 of its bytes, in hex.
func writeCSV(path string, header []string, n int, row func(int) []string) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	w := csv.NewWriter(io.MultiWriter(f, h))
	if err := w.Write(header); err != nil {
		f.Close()
		return "", err
	}
	for i := 0; i < n; i++ {
		if err := w.Write(row(i)); err != nil {
			f.Close()
			return "", err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}
