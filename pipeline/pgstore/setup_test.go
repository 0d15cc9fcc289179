package pgstore

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// fixture is a fresh schema on the test database.
type fixture struct {
	admin  *pgxpool.Pool // a superuser connection for setting up and checking
	schema string
}

// setup opens a store on a fresh, migrated schema that is dropped when the test
// ends.
func setup(t testing.TB) (*Store, *fixture) {
	t.Helper()
	f := newFixture(t)
	s := f.open(t, pgtest.URL())
	require.NoError(t, s.Migrate(context.Background()))
	return s, f
}

// newFixture names a fresh schema and drops it at cleanup, without creating it.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{admin: pgtest.Pool(t), schema: randomName("gm_test_")}
	t.Cleanup(func() {
		_, err := f.admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{f.schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
	})
	return f
}

// open opens a store on the fixture's schema, closed at cleanup.
func (f *fixture) open(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{Schema: f.schema})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// sql fills the schema's quoted name in for %s (or %[1]s) in query.
func (f *fixture) sql(query string) string {
	quoted := pgx.Identifier{f.schema}.Sanitize()
	return strings.NewReplacer("%[1]s", quoted, "%s", quoted).Replace(query)
}

// exec runs a statement with the schema's name filled in for %s.
func (f *fixture) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	_, err := f.admin.Exec(context.Background(), f.sql(query), args...)
	require.NoError(t, err)
}

// count runs a query returning one number, with the schema's name filled in for %s.
func (f *fixture) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, f.admin.QueryRow(context.Background(), f.sql(query), args...).Scan(&n))
	return n
}

// storage counts the rows of every table that holds generations, so that a test
// can tell that an operation wrote or deleted nothing.
func (f *fixture) storage(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"generations", "access_rows", "membership_rows", "grant_rows", "masked_rows", "digests", "snapshot_files", "snapshot_parts", "snapshot_blobs"} {
		out[table] = f.count(t, `SELECT count(*) FROM %s.`+table)
	}
	return out
}

// checksum is the number of access rows of generation gen and an MD5 of them in
// table order, read from the row table itself.
func (f *fixture) checksum(t testing.TB, gen int) (int, string) {
	t.Helper()
	var n int
	var sum string
	require.NoError(t, f.admin.QueryRow(context.Background(), f.sql(`
		SELECT count(*), coalesce(md5(string_agg(concat_ws(' ', account, email, object_type, object_name, privilege), E'\n'
			ORDER BY account, email, object_type, object_name, privilege)), '')
		FROM %s.access_rows WHERE valid_from <= $1 AND valid_to > $1`), gen).Scan(&n, &sum))
	return n, sum
}

// checksumOf is checksum for the rows of a mirror, computed in Go.
func checksumOf(m *model.Mirror) (int, string) {
	var b strings.Builder
	for r := range m.Access.All() {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.Join([]string{r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege}, " "))
	}
	if m.Access.Len() == 0 {
		return 0, ""
	}
	return m.Access.Len(), fmt.Sprintf("%x", md5.Sum([]byte(b.String())))
}

// role creates a login role with password, dropped at cleanup, and returns a DSN
// for it on the test database.
func (f *fixture) role(t testing.TB, password string) (name, dsn string) {
	t.Helper()
	name = randomName("gm_test_role_")
	ident := pgx.Identifier{name}.Sanitize()
	_, err := f.admin.Exec(context.Background(), fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", ident, password))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		_, err := f.admin.Exec(ctx, "DROP OWNED BY "+ident)
		require.NoError(t, err)
		_, err = f.admin.Exec(ctx, "DROP ROLE "+ident)
		require.NoError(t, err)
	})
	return name, withUser(t, pgtest.URL(), name, password)
}

// withUser returns dsn logging in as user with password.
func withUser(t testing.TB, dsn, user, password string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.User = url.UserPassword(user, password)
	return u.String()
}

// generated builds a mirror of people × perPerson rows over a pool of objects,
// with three roles per person and the grants behind every row, as a large account
// would flatten to.
func generated(people, perPerson int) *model.Mirror {
	const objects, roles = 20000, 300
	rows := make([]model.Row, 0, people*perPerson)
	m := &model.Mirror{Meta: model.Meta{
		Accounts: []model.AccountMeta{{Name: "ACME", ExtractedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Source: "generated"}},
		Mode:     model.Effective, Roles: model.AllRoles, PublishedAt: time.Now(),
	}}
	object := func(o int) (typ, name string) {
		return "TABLE", fmt.Sprintf("DB%d.SCHEMA%d.TABLE_%d", o%7, o%61, o)
	}
	for p := 0; p < people; p++ {
		email := fmt.Sprintf("person%06d@example.com", p)
		for k := 0; k < perPerson; k++ {
			typ, name := object((p*31 + k*17) % objects)
			rows = append(rows, model.Row{Account: "ACME", Email: email, ObjectType: typ, ObjectName: name, Privilege: "SELECT"})
		}
		for r := 0; r < 3; r++ {
			role := fmt.Sprintf("ROLE_%d", (p+r*101)%roles)
			m.Memberships = append(m.Memberships, model.Membership{Account: "ACME", Email: email, User: fmt.Sprintf("P%06d", p), Role: role, Path: []string{role}})
		}
	}
	for o := 0; o < objects; o++ {
		typ, name := object(o)
		m.Grants = append(m.Grants, model.Grant{Account: "ACME", Role: fmt.Sprintf("ROLE_%d", o%roles), ObjectType: typ, ObjectName: name, Privilege: "SELECT"})
	}
	m.Access = model.NewAccess(rows)
	m.Meta.Rows = m.Access.Len()
	return m
}
