package rls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/localgrant"
	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
	"github.com/grantmirror/grantmirror/query"
)

// fixture is a published mirror in a schema of its own, a product schema with
// an events table, and two roles that are not superusers: a reader, and an
// owner the table is handed to.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	admin  *pgxpool.Pool
	store  *pgstore.Store
	mirror string // the mirror's schema
	app    string // the product's schema
	table  string // app.events, quoted
	reader string
	owner  string
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newFixture publishes mirror (extracted at extractedAt) and creates the events
// table with one row per object below, ids in order.
func newFixture(t testing.TB, extractedAt time.Time, rows []model.Row) *fixture {
	t.Helper()
	ctx := context.Background()
	admin := pgtest.Pool(t)
	f := &fixture{t: t, ctx: ctx, admin: admin, mirror: pgtest.Schema(t, admin), app: pgtest.Schema(t, admin)}
	f.table = pgx.Identifier{f.app, "events"}.Sanitize()
	s, err := pgstore.Open(ctx, pgtest.URL(), pgstore.Options{Schema: f.mirror})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(ctx))
	f.store = s
	f.publish(extractedAt, rows)

	f.exec(`CREATE TABLE ` + f.table + ` (id bigint PRIMARY KEY, table_name text, db text, sch text, name varchar(255),
		account text, payload text NOT NULL, n integer)`)
	f.reader = f.role("rls_test_reader_")
	f.owner = f.role("rls_test_owner_")
	f.exec(`ALTER TABLE ` + f.table + ` OWNER TO ` + pgx.Identifier{f.owner}.Sanitize())
	for _, r := range []string{f.reader, f.owner} {
		q := pgx.Identifier{r}.Sanitize()
		f.exec(`GRANT USAGE ON SCHEMA ` + pgx.Identifier{f.app}.Sanitize() + `, ` + pgx.Identifier{f.mirror}.Sanitize() + ` TO ` + q)
		f.exec(`GRANT SELECT ON ` + f.table + ` TO ` + q)
		f.exec(`GRANT SELECT ON ` + pgx.Identifier{f.mirror, "access"}.Sanitize() + `, ` + pgx.Identifier{f.mirror, "current"}.Sanitize() + ` TO ` + q)
	}
	return f
}

// role creates a role with a unique name, dropped with its privileges at cleanup.
func (f *fixture) role(prefix string) string {
	name := prefix + randomHex()
	q := pgx.Identifier{name}.Sanitize()
	f.exec(`CREATE ROLE ` + q)
	f.t.Cleanup(func() {
		ctx := context.Background()
		_, err := f.admin.Exec(ctx, `DROP OWNED BY `+q)
		require.NoError(f.t, err)
		_, err = f.admin.Exec(ctx, `DROP ROLE `+q)
		require.NoError(f.t, err)
	})
	return name
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	_, err := f.admin.Exec(f.ctx, sql, args...)
	require.NoError(f.t, err, sql)
}

// publish makes rows the current generation; edits add what else it holds.
func (f *fixture) publish(extractedAt time.Time, rows []model.Row, edits ...func(*model.Mirror)) {
	f.t.Helper()
	m := &model.Mirror{Meta: model.Meta{
		Accounts: []model.AccountMeta{{Name: "ACME", ExtractedAt: extractedAt, Source: "test"}},
		Mode:     model.Effective, Roles: model.AllRoles, PublishedAt: time.Now(),
	}}
	// Every object is granted to one role, so that the schema knows it, as a
	// sync's grants would make it.
	for _, r := range rows {
		m.Grants = append(m.Grants, model.Grant{Account: r.Account, Role: "R", ObjectType: r.ObjectType, ObjectName: r.ObjectName, Privilege: r.Privilege})
	}
	m.Access = model.NewAccess(slices.Clone(rows))
	m.Meta.Rows = m.Access.Len()
	for _, edit := range edits {
		edit(m)
	}
	opts := model.DefaultPublishOptions()
	opts.Force = true
	_, err := f.store.Publish(f.ctx, m, opts)
	require.NoError(f.t, err)
}

// insert adds events rows: id, canonical name, parts, account.
func (f *fixture) insert(id int, canonical, db, sch, name, account string) {
	f.t.Helper()
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	f.exec(`INSERT INTO `+f.table+` (id, table_name, db, sch, name, account, payload, n) VALUES ($1, $2, $3, $4, $5, $6, 'p', 0)`,
		id, null(canonical), null(db), null(sch), null(name), null(account))
}

// ids reads the events table's ids as role, with viewer set for the transaction
// ("" sets nothing), through a plain SELECT as any client would send it.
func (f *fixture) ids(role, viewer string) []int64 {
	f.t.Helper()
	var ids []int64
	err := pgx.BeginFunc(f.ctx, f.admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(f.ctx, `SET LOCAL ROLE `+pgx.Identifier{role}.Sanitize()); err != nil {
			return err
		}
		if viewer != "" {
			if _, err := tx.Exec(f.ctx, `SELECT set_config('grantmirror.viewer', $1, true)`, viewer); err != nil {
				return err
			}
		}
		rows, err := tx.Query(f.ctx, `SELECT id FROM `+f.table+` ORDER BY id`)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	require.NoError(f.t, err)
	return ids
}

func (f *fixture) enable(s Spec) Table {
	f.t.Helper()
	s.Table = f.app + ".events"
	got, err := Enable(f.ctx, f.admin, f.mirror, s)
	require.NoError(f.t, err)
	return got
}

func row(email, typ, name, priv string) model.Row {
	return model.Row{Account: "ACME", Email: email, ObjectType: typ, ObjectName: name, Privilege: priv}
}

// mirrorRows: alice reads ORDERS and "lines"; bob reads CUSTOMERS and may only
// insert into ORDERS; carol holds SELECT on a view named like the ORDERS table.
var mirrorRows = []model.Row{
	row("alice@example.com", "TABLE", "SALES.PUBLIC.ORDERS", "SELECT"),
	row("alice@example.com", "TABLE", `SALES.CORE."lines"`, "SELECT"),
	row("bob@example.com", "TABLE", "SALES.PUBLIC.CUSTOMERS", "SELECT"),
	row("bob@example.com", "TABLE", "SALES.PUBLIC.ORDERS", "INSERT"),
	row("carol@example.com", "VIEW", "SALES.PUBLIC.ORDERS", "SELECT"),
	{Account: "OTHER", Email: "alice@example.com", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.SECRET", Privilege: "SELECT"},
}

// events: 1-2 ORDERS, 3 lines, 4 CUSTOMERS, 5 SECRET in OTHER, 6 SECRET in ACME,
// 7 an object the mirror does not know, 8 no object at all.
func (f *fixture) events() {
	f.insert(1, "SALES.PUBLIC.ORDERS", "SALES", "PUBLIC", "ORDERS", "ACME")
	f.insert(2, "SALES.PUBLIC.ORDERS", "SALES", "PUBLIC", "ORDERS", "ACME")
	f.insert(3, `SALES.CORE."lines"`, "SALES", "CORE", "lines", "ACME")
	f.insert(4, "SALES.PUBLIC.CUSTOMERS", "SALES", "PUBLIC", "CUSTOMERS", "ACME")
	f.insert(5, "SALES.PUBLIC.SECRET", "SALES", "PUBLIC", "SECRET", "OTHER")
	f.insert(6, "SALES.PUBLIC.SECRET", "SALES", "PUBLIC", "SECRET", "ACME")
	f.insert(7, "SALES.PUBLIC.GONE", "SALES", "PUBLIC", "GONE", "ACME")
	f.insert(8, "", "", "", "", "")
}

func TestGuardsEveryClientRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.events()
	all := []int64{1, 2, 3, 4, 5, 6, 7, 8}
	require.Equal(t, all, f.ids(f.reader, "alice@example.com"), "before enable the table is not guarded")

	// The set limit 1 is below what alice and bob hold: their rows are decided by
	// probes. The default builds their sets. Both must give the same answers.
	for _, limit := range []int{0, 1} {
		t.Run(fmt.Sprintf("set limit %d", limit), func(t *testing.T) {
			got := f.enable(Spec{ObjectColumn: "table_name", ObjectType: "table", Privilege: "select", SetLimit: limit})
			require.True(t, got.Guarded)
			require.True(t, got.Enabled)
			require.False(t, got.Forced)
			require.NotNil(t, got.Settings)
			require.Equal(t, "table_name", got.Settings.ObjectColumn)
			require.Equal(t, "TABLE", got.Settings.ObjectType)
			require.Equal(t, "SELECT", got.Settings.Privilege)
			require.Equal(t, Duration(DefaultMaxStaleness), got.Settings.MaxStaleness)

			require.Equal(t, []int64{1, 2, 3, 5, 6}, f.ids(f.reader, "alice@example.com"), "alice: ORDERS, lines, SECRET (in any account)")
			require.Equal(t, []int64{1, 2, 3, 5, 6}, f.ids(f.reader, "  Alice@Example.COM "), "the viewer is normalized as the mirror is")
			require.Equal(t, []int64{4}, f.ids(f.reader, "bob@example.com"), "bob: CUSTOMERS only; INSERT on ORDERS is not SELECT")
			require.Empty(t, f.ids(f.reader, "carol@example.com"), "carol: SELECT on a VIEW is not on a TABLE")
			require.Empty(t, f.ids(f.reader, "mallory@example.com"), "someone the mirror does not know")
			require.Empty(t, f.ids(f.reader, ""), "no viewer set: no rows")
			// The owner bypasses the policy unless the table forces it.
			require.Equal(t, all, f.ids(f.owner, ""))
		})
	}
}

// TestRowAccessPolicies: the policy hides the rows of an object whose Snowflake
// row access policy does not admit the viewer, in both modes, and only those: a
// translated policy admits by role (in its own account) or person, an
// untranslated one by its fallback. The reader holds nothing beyond the access
// and current views.
func TestRowAccessPolicies(t *testing.T) {
	t.Parallel()
	rows := []model.Row{
		row("alice@example.com", "TABLE", "SALES.PUBLIC.ORDERS", "SELECT"),
		row("alice@example.com", "TABLE", `SALES.CORE."lines"`, "SELECT"),
		row("alice@example.com", "TABLE", "SALES.PUBLIC.CUSTOMERS", "SELECT"),
		row("bob@example.com", "TABLE", "SALES.PUBLIC.ORDERS", "SELECT"),
		row("bob@example.com", "TABLE", "SALES.PUBLIC.CUSTOMERS", "SELECT"),
		row("carol@example.com", "TABLE", "SALES.PUBLIC.ORDERS", "SELECT"),
		row("carol@example.com", "TABLE", `SALES.CORE."lines"`, "SELECT"),
		{Account: "OTHER", Email: "alice@example.com", ObjectType: "TABLE", ObjectName: "SALES.PUBLIC.SECRET", Privilege: "SELECT"},
	}
	f := newFixture(t, time.Now().Add(-time.Hour), rows)
	f.events()
	policy := func(account, object string, r model.PolicyRule) model.MaskedColumn {
		r.Kind = model.RowAccessRule
		return model.MaskedColumn{Account: account, ObjectName: object, Reason: "row access policy " + r.Policy, Rule: &r}
	}
	f.publish(time.Now().Add(-time.Hour), rows, func(m *model.Mirror) {
		m.Meta.Accounts = append(m.Meta.Accounts, model.AccountMeta{Name: "OTHER", ExtractedAt: m.Meta.Accounts[0].ExtractedAt, Source: "test"})
		m.Masked = []model.MaskedColumn{
			policy("ACME", "SALES.PUBLIC.ORDERS", model.PolicyRule{Policy: "GOV.P.SALES", Translated: true,
				Roles: []string{"SALES_ALL"}, Emails: []string{"carol@example.com"}}),
			policy("ACME", `SALES.CORE."lines"`, model.PolicyRule{Policy: "GOV.P.ODD", Fallback: model.FallbackDeny}),
			policy("ACME", "SALES.PUBLIC.CUSTOMERS", model.PolicyRule{Policy: "GOV.P.ODD", Fallback: model.FallbackAllow}),
			// SECRET is protected in ACME, where alice holds nothing; hers is in OTHER.
			policy("ACME", "SALES.PUBLIC.SECRET", model.PolicyRule{Policy: "GOV.P.ODD", Fallback: model.FallbackDeny}),
		}
		m.Memberships = []model.Membership{
			{Account: "ACME", Email: "bob@example.com", User: "BOB", Role: "SALES_ALL", Path: []string{"SALES_ALL"}},
			// Another account's role admits nothing in ACME.
			{Account: "OTHER", Email: "alice@example.com", User: "ALICE", Role: "SALES_ALL", Path: []string{"SALES_ALL"}},
		}
	})
	for _, limit := range []int{0, 1} {
		f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", SetLimit: limit})
		require.Equal(t, []int64{4}, f.ids(f.reader, "alice@example.com"),
			"alice: CUSTOMERS (fallback allow); not ORDERS (role in another account), lines (fallback deny), nor SECRET (protected by name) (set limit %d)", limit)
		require.Equal(t, []int64{1, 2, 4}, f.ids(f.reader, "bob@example.com"), "bob: ORDERS by role (set limit %d)", limit)
		require.Equal(t, []int64{1, 2}, f.ids(f.reader, "carol@example.com"), "carol: ORDERS by address, not lines (set limit %d)", limit)

		// With the account column, SECRET's policy in ACME says nothing of OTHER's.
		f.enable(Spec{ObjectParts: []string{"db", "sch", "name"}, AccountColumn: "account", ObjectType: "TABLE", Privilege: "SELECT", SetLimit: limit})
		require.Equal(t, []int64{4, 5}, f.ids(f.reader, "alice@example.com"), "set limit %d", limit)
		require.Equal(t, []int64{1, 2, 4}, f.ids(f.reader, "bob@example.com"), "set limit %d", limit)
	}
	// The next generation without the policies shows everything granted again.
	f.publish(time.Now().Add(-time.Hour), rows)
	require.Equal(t, []int64{1, 2, 3, 4, 5}, f.ids(f.reader, "alice@example.com"))
}

// TestInstallerMustReadRowPolicies: a role that cannot read row_policies and
// memberships cannot install the policy, which reads them with its rights.
func TestInstallerMustReadRowPolicies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.exec(`GRANT CREATE ON SCHEMA ` + pgx.Identifier{f.mirror}.Sanitize() + ` TO ` + pgx.Identifier{f.owner}.Sanitize())
	err := pgx.BeginFunc(f.ctx, f.admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(f.ctx, `SET LOCAL ROLE `+pgx.Identifier{f.owner}.Sanitize()); err != nil {
			return err
		}
		_, err := Enable(f.ctx, tx, f.mirror, Spec{Table: f.app + ".events", ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT"})
		return err
	})
	require.ErrorIs(t, err, ErrSpec)
	require.ErrorContains(t, err, "row_policies")
}

func TestForceOwner(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.events()
	got := f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", ForceOwner: true})
	require.True(t, got.Forced)
	require.Empty(t, f.ids(f.owner, ""), "a forced table guards its owner too")
	require.Equal(t, []int64{4}, f.ids(f.owner, "bob@example.com"))

	got, err := Disable(f.ctx, f.admin, f.mirror, f.table)
	require.NoError(t, err)
	require.False(t, got.Guarded)
	require.False(t, got.Enabled)
	require.False(t, got.Forced)
	require.Len(t, f.ids(f.owner, ""), 8)
}

func TestStaleMirrorAdmitsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-2*time.Hour), mirrorRows)
	f.events()
	for _, limit := range []int{0, 1} {
		f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", MaxStaleness: time.Hour, SetLimit: limit})
		require.Empty(t, f.ids(f.reader, "alice@example.com"), "snapshot 2h old, 1h allowed (set limit %d)", limit)
		f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", MaxStaleness: 3 * time.Hour, SetLimit: limit})
		require.Equal(t, []int64{1, 2, 3, 5, 6}, f.ids(f.reader, "alice@example.com"), "3h allowed (set limit %d)", limit)
	}
	// A newer generation extracted long ago makes the same policy fail closed.
	f.publish(time.Now().Add(-5*time.Hour), mirrorRows)
	require.Empty(t, f.ids(f.reader, "alice@example.com"))
	require.Empty(t, f.ids(f.reader, "bob@example.com"))
}

func TestPartsAndAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.events()
	for _, limit := range []int{0, 1} {
		got := f.enable(Spec{ObjectParts: []string{"db", "sch", "name"}, AccountColumn: "account",
			ObjectType: "TABLE", Privilege: "SELECT", SetLimit: limit})
		require.Equal(t, []string{"db", "sch", "name"}, got.Settings.ObjectParts)
		require.Equal(t, "account", got.Settings.AccountColumn)
		// Row 3's parts are SALES, CORE, lines: assembled as SALES.CORE."lines".
		// SECRET is alice's only in OTHER: row 5, not row 6.
		require.Equal(t, []int64{1, 2, 3, 5}, f.ids(f.reader, "alice@example.com"), "set limit %d", limit)
		require.Equal(t, []int64{4}, f.ids(f.reader, "bob@example.com"), "set limit %d", limit)
	}
	// The canonical column with the account: alice's SECRET in ACME stays hidden.
	f.enable(Spec{ObjectColumn: "table_name", AccountColumn: "account", ObjectType: "TABLE", Privilege: "SELECT", SetLimit: 1})
	require.Equal(t, []int64{1, 2, 3, 5}, f.ids(f.reader, "alice@example.com"))
}

func TestLocalGrantsCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.events()
	// A local grant exists once a designated approver approves its request: the
	// test's role, mapped as a service, asks for ops and approves for lead.
	f.exec(`SELECT ` + pgx.Identifier{f.mirror}.Sanitize() + `.policy_identity(session_user, 'grants-bot@example.com', true, 'test')`)
	f.exec(`SELECT ` + pgx.Identifier{f.mirror}.Sanitize() + `.policy_approver('fallback', '', 'lead@example.com', true, 'test')`)
	r, err := f.store.RequestFor(f.ctx, "ops@example.com", localgrant.Ask{Email: "dave@example.com", ObjectType: "TABLE",
		ObjectName: "SALES.PUBLIC.CUSTOMERS", Privilege: "SELECT", Duration: time.Hour, Reason: "covers for bob",
		Approvers: []string{"lead@example.com"}})
	require.NoError(t, err)
	_, err = f.store.ApproveFor(f.ctx, "lead@example.com", r.ID)
	require.NoError(t, err)
	for _, limit := range []int{0, 1} {
		f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", SetLimit: limit})
		require.Equal(t, []int64{4}, f.ids(f.reader, "dave@example.com"), "a local grant in force counts (set limit %d)", limit)
	}
}

func TestStatusAndDisable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.events()

	got, err := Status(f.ctx, f.admin, f.mirror, f.table)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.False(t, got[0].Guarded)
	require.Equal(t, f.owner, got[0].Owner)

	_, err = Disable(f.ctx, f.admin, f.mirror, f.table)
	require.ErrorIs(t, err, ErrNotGuarded)

	f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", MaxStaleness: 90 * time.Minute})
	got, err = Status(f.ctx, f.admin, f.mirror, "")
	require.NoError(t, err)
	require.Len(t, got, 1, "status lists the tables guarded with this mirror")
	require.Equal(t, f.table, got[0].Name)
	require.Equal(t, Duration(90*time.Minute), got[0].Settings.MaxStaleness)
	other, err := Status(f.ctx, f.admin, "some_other_mirror", "")
	require.NoError(t, err)
	require.Empty(t, other, "policies of another mirror's schema are not this one's")

	// Another policy on the table keeps row-level security on after disable.
	f.exec(`CREATE POLICY staff ON ` + f.table + ` FOR SELECT TO ` + pgx.Identifier{f.reader}.Sanitize() + ` USING (n > 100)`)
	got1, err := Disable(f.ctx, f.admin, f.mirror, f.table)
	require.NoError(t, err)
	require.False(t, got1.Guarded)
	require.True(t, got1.Enabled, "the staff policy still needs RLS")
	require.Equal(t, []string{"staff"}, got1.OtherPolicies)
	require.Empty(t, f.ids(f.reader, "alice@example.com"), "only the staff policy is left, and it admits nothing")

	f.exec(`DROP POLICY staff ON ` + f.table)
	f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT"})
	got1, err = Disable(f.ctx, f.admin, f.mirror, f.table)
	require.NoError(t, err)
	require.False(t, got1.Enabled)
	require.Len(t, f.ids(f.reader, ""), 8, "unguarded again")
}

func TestBadInputLeavesTableAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.events()
	good := Spec{Table: f.app + ".events", ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT"}
	for _, tc := range []struct {
		name   string
		edit   func(*Spec)
		want   error
		substr string
	}{
		{"injection in the table", func(s *Spec) { s.Table = f.app + ".events; DROP TABLE " + f.table }, query.ErrIdentifier, "events; DROP"},
		{"alias", func(s *Spec) { s.Table = f.app + ".events e" }, ErrSpec, ""},
		{"injection in the column", func(s *Spec) { s.ObjectColumn = "table_name) OR (true" }, query.ErrIdentifier, "table_name) OR (true"},
		{"quote in the column", func(s *Spec) { s.ObjectColumn = `table_name"; --` }, ErrSpec, ""},
		{"qualified column", func(s *Spec) { s.ObjectColumn = "events.table_name" }, query.ErrIdentifier, "without its table"},
		{"injection in the type", func(s *Spec) { s.ObjectType = "TABLE') OR true --" }, query.ErrObjectType, "TABLE') OR true"},
		{"unknown privilege", func(s *Spec) { s.Privilege = "SEE" }, query.ErrPrivilege, "SEE"},
		{"no object column", func(s *Spec) { s.ObjectColumn = "" }, ErrSpec, "no object column"},
		{"both", func(s *Spec) { s.ObjectParts = []string{"db"} }, ErrSpec, "one or the other"},
		{"negative staleness", func(s *Spec) { s.MaxStaleness = -time.Second }, ErrSpec, "negative"},
		{"missing table", func(s *Spec) { s.Table = f.app + ".nope" }, ErrNotFound, "nope"},
		{"missing column", func(s *Spec) { s.ObjectColumn = "object" }, ErrNotFound, "column object"},
		{"integer column", func(s *Spec) { s.ObjectColumn = "n" }, ErrColumnType, "integer"},
		{"integer account", func(s *Spec) { s.AccountColumn = "n" }, ErrColumnType, "integer"},
	} {
		s := good
		tc.edit(&s)
		_, err := Enable(f.ctx, f.admin, f.mirror, s)
		require.ErrorIs(t, err, tc.want, tc.name)
		require.ErrorContains(t, err, tc.substr, tc.name)
	}
	_, err := Enable(f.ctx, f.admin, "gm_no_such_mirror", good)
	require.ErrorIs(t, err, ErrNoMirror)

	got, err := Status(f.ctx, f.admin, f.mirror, f.table)
	require.NoError(t, err)
	require.False(t, got[0].Guarded)
	require.False(t, got[0].Enabled)
	require.Len(t, f.ids(f.reader, ""), 8, "the table is as it was")
}

// TestPlanShape pins how the policy runs: the mode is an InitPlan, chosen once;
// the visible set is read once, and the per-row probe runs only for a viewer
// past the set limit.
func TestPlanShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().Add(-time.Hour), mirrorRows)
	f.events()
	for _, tc := range []struct {
		limit  int
		probes bool
	}{{0, false}, {1, true}} {
		f.enable(Spec{ObjectColumn: "table_name", ObjectType: "TABLE", Privilege: "SELECT", SetLimit: tc.limit})
		var raw []byte
		err := pgx.BeginFunc(f.ctx, f.admin, func(tx pgx.Tx) error {
			if _, err := tx.Exec(f.ctx, `SET LOCAL ROLE `+pgx.Identifier{f.reader}.Sanitize()); err != nil {
				return err
			}
			if _, err := tx.Exec(f.ctx, `SET LOCAL grantmirror.viewer = 'alice@example.com'`); err != nil {
				return err
			}
			return tx.QueryRow(f.ctx, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) SELECT * FROM `+f.table+` ORDER BY id DESC LIMIT 2`).Scan(&raw)
		})
		require.NoError(t, err)
		var plans []struct {
			Plan plan `json:"Plan"`
		}
		require.NoError(t, json.Unmarshal(raw, &plans))
		// The set is the SubPlan that unnests rls_objects (a ProjectSet); the
		// probe is the other one.
		var initPlans, setLoops, probeLoops int
		plans[0].Plan.walk(func(p plan) {
			switch p.Relationship {
			case "InitPlan":
				initPlans++
				// The mode, and the current generation the access view reads,
				// are each evaluated once per statement.
				require.LessOrEqual(t, p.Loops, 1, "an InitPlan runs once:\n%s", raw)
			case "SubPlan":
				isSet := false
				p.walk(func(c plan) { isSet = isSet || c.NodeType == "ProjectSet" })
				if isSet {
					setLoops += p.Loops
				} else {
					probeLoops += p.Loops
				}
			}
		})
		require.Positive(t, initPlans, "the mode is chosen once, up front:\n%s", raw)
		if tc.probes {
			require.Positive(t, probeLoops, "past the set limit, rows are probed:\n%s", raw)
			require.Zero(t, setLoops, "past the set limit, no set is built:\n%s", raw)
		} else {
			require.Zero(t, probeLoops, "within the set limit, no row is probed:\n%s", raw)
			require.Equal(t, 1, setLoops, "within the set limit, the set is read once:\n%s", raw)
		}
	}
}

type plan struct {
	NodeType     string `json:"Node Type"`
	Relationship string `json:"Parent Relationship"`
	Loops        int    `json:"Actual Loops"`
	Plans        []plan `json:"Plans"`
}

func (p plan) walk(fn func(plan)) {
	fn(p)
	for _, c := range p.Plans {
		c.walk(fn)
	}
}

// TestStatementsFilled: every placeholder of the embedded statements is one the
// package fills, so a renamed placeholder fails here rather than at a customer.
func TestStatementsFilled(t *testing.T) {
	t.Parallel()
	known := []string{"schema", "table", "object", "account", "by_account", "type", "privilege", "max_age", "set_limit", "config", "force", "column"}
	for name, q := range statements {
		for i := 0; i < len(q); i++ {
			if q[i] == '{' && i+1 < len(q) && q[i+1] == '{' {
				end := i + 2
				for end < len(q) && q[end] != '}' {
					end++
				}
				require.Contains(t, known, q[i+2:end], "rls_%s.sql", name)
			}
		}
	}
}
