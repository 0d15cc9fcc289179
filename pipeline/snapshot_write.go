package pipeline

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
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
func WriteSnapshot(dir string, snap *Snapshot) error {
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

func writeAccount(dir string, a *Account) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(manifest{Account: a.Name, ExtractedAt: a.ExtractedAt.Format(time.RFC3339), Source: a.Source}, "", "  ")
	if err != nil {
		return err
	}
	if a.ExtractedAt.IsZero() {
		b, _ = json.MarshalIndent(manifest{Account: a.Name, Source: a.Source}, "", "  ")
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644); err != nil {
		return err
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
		{"policy_references.csv", []string{"POLICY_NAME", "POLICY_KIND", "REF_DATABASE_NAME", "REF_SCHEMA_NAME", "REF_ENTITY_NAME", "REF_COLUMN_NAME"}, len(a.Policies), func(i int) []string {
			p := &a.Policies[i]
			return []string{p.PolicyName, p.PolicyKind, p.Database, p.Schema, p.Entity, p.Column}
		}, len(a.Policies) > 0},
		{"access_history.csv", []string{"USER_NAME", "OBJECT_DOMAIN", "OBJECT_NAME", "LAST_ACCESSED", "QUERY_COUNT"}, len(a.History), func(i int) []string {
			e := &a.History[i]
			return []string{e.User, e.ObjectDomain, e.ObjectName, formatTime(e.LastAccessed), strconv.FormatInt(e.QueryCount, 10)}
		}, a.HasHistory},
	}
	for _, f := range files {
		if !f.write {
			continue
		}
		if err := writeCSV(filepath.Join(dir, f.name), f.header, f.n, f.row); err != nil {
			return err
		}
	}
	return nil
}

// usersHeader names the users.csv columns. DEFAULT_SECONDARY_ROLE is written only
// when some user had it, because an absent column means "use the configured
// default" while an empty one means "no secondary roles".
func usersHeader(a *Account) []string {
	h := []string{"NAME", "EMAIL", "DISABLED", "DELETED_ON", "TYPE", "LOGIN_NAME", "DISPLAY_NAME", "DEFAULT_ROLE", "EXPIRES_AT", "SNOWFLAKE_LOCK", "LOCKED_UNTIL_TIME"}
	if hasSecondary(a) {
		h = append(h, "DEFAULT_SECONDARY_ROLE")
	}
	return h
}

func hasSecondary(a *Account) bool {
	for i := range a.Users {
		if a.Users[i].SecondaryRoles != "" || a.Users[i].SecondaryRaw != "" {
			return true
		}
	}
	return false
}

func writeCSV(path string, header []string, n int, row func(int) []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.Write(header); err != nil {
		f.Close()
		return err
	}
	for i := 0; i < n; i++ {
		if err := w.Write(row(i)); err != nil {
			f.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
