package pgstore

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/query"
)

const (
	zoe   = "zoe@tiny.example" // no Snowflake user: sees nothing but local grants
	carol = "carol@tiny.example"
	dave  = "dave@tiny.example"
	items = "SHOP.PUBLIC.ITEMS"
)

// setupGrants publishes the tiny account on a fresh schema, with the store's
// clock at the real time, so that the access view's clock (the database's) and
// the store's agree.
func setupGrants(t *testing.T) *timeline {
	t.Helper()
	tl := setupTimeline(t, Options{Actor: "sync-job"})
	tl.publishAt(t, tinySeries(t)[0], time.Now().UTC().Truncate(time.Second), 3)
	return tl
}

// request is a valid grant of SELECT on ITEMS to zoe for two days, from carol,
// approved by dave.
func (tl *timeline) request() GrantRequest {
	return GrantRequest{Email: zoe, ObjectType: "TABLE", ObjectName: items, Privilege: "SELECT",
		Until: tl.now.Add(48 * time.Hour), Actor: carol, Approver: dave, Reason: "covers for anna during the audit"}
}

// TestLocalGrantExpiresAtTheSecond moves the access view's clock around a grant's
// until: one second before it the row is there, at it and after it the row is
// gone, with no sync in between.
func TestLocalGrantExpiresAtTheSecond(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	r := tl.request()
	g, err := tl.s.AddGrant(ctx, r, DefaultGrantPolicy())
	require.NoError(t, err)
	require.Equal(t, "TINY", g.Account, "the only account of the generation")
	require.Equal(t, GrantActive, g.Status())
	require.Equal(t, r.Until, g.Until)
	require.Equal(t, 1, tl.visible(t, tl.admin, zoe, items), "visible at once, by the real clock")

	conn := tl.sessionAt(t, r.Until.Add(-time.Second))
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{-time.Second, 1}, {-time.Microsecond, 1}, {0, 0}, {time.Second, 0}, {-time.Second, 1}} {
		tl.setClock(t, conn, r.Until.Add(c.at))
		require.Equal(t, c.want, tl.visible(t, conn, zoe, items), "at until%+v", c.at)
	}
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{-time.Second, 1}, {0, 0}, {-49 * time.Hour, 0}} {
		gs, err := tl.s.GrantsFor(ctx, zoe, r.Until.Add(c.at))
		require.NoError(t, err)
		require.Len(t, gs, c.want, "grants in force at until%+v", c.at)
	}
}

// TestRevokeIsImmediate revokes a grant: the access view drops it in the same
// moment, and the grant cannot be revoked twice.
func TestRevokeIsImmediate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	g, err := tl.s.AddGrant(ctx, tl.request(), DefaultGrantPolicy())
	require.NoError(t, err)
	require.Equal(t, 1, tl.visible(t, tl.admin, zoe, items))

	tl.now = tl.now.Add(time.Hour)
	revoked, err := tl.s.RevokeGrant(ctx, g.ID, dave, "anna is back")
	require.NoError(t, err)
	require.Zero(t, tl.visible(t, tl.admin, zoe, items))
	require.Equal(t, GrantRevoked, revoked.Status())
	require.Equal(t, tl.now, revoked.RevokedAt)

	_, err = tl.s.RevokeGrant(ctx, g.ID, dave, "again")
	require.ErrorIs(t, err, ErrGrantEnded)
	require.ErrorContains(t, err, "revoked at")
	_, err = tl.s.RevokeGrant(ctx, g.ID+100, dave, "no such grant")
	require.ErrorIs(t, err, ErrUnknownGrant)
	_, err = tl.s.RevokeGrant(ctx, g.ID, dave, " ")
	require.ErrorIs(t, err, ErrGrantRefused, "a revoke needs a reason")

	active, err := tl.s.LocalGrants(ctx, false)
	require.NoError(t, err)
	require.Empty(t, active)
	all, err := tl.s.LocalGrants(ctx, true)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, "anna is back", all[0].RevokeReason)

	// In force between its creation and its revocation, and not after.
	for _, c := range []struct {
		at   time.Time
		want int
	}{{g.CreatedAt.Add(-time.Second), 0}, {g.CreatedAt, 1}, {tl.now.Add(-time.Second), 1}, {tl.now, 0}} {
		gs, err := tl.s.GrantsFor(ctx, zoe, c.at)
		require.NoError(t, err)
		require.Len(t, gs, c.want, "at %s", c.at)
	}
	require.Equal(t, []string{"publish", "grant.add", "grant.revoke"}, tl.auditActions(t))
}

// TestGrantPolicy refuses every grant outside the allow-list, the duration limit
// or the rules of who may approve, and changes nothing when it does.
func TestGrantPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	insertOnTables := GrantPolicy{Allow: []GrantAllow{{ObjectType: "table", Privileges: []string{"select", "insert"}}}, MaxDuration: 72 * time.Hour}
	for _, c := range []struct {
		name   string
		edit   func(r *GrantRequest)
		policy GrantPolicy
		want   string // "" means allowed
	}{
		{"ownership", func(r *GrantRequest) { r.Privilege = "OWNERSHIP" }, DefaultGrantPolicy(), "ownership is never granted"},
		{"a privilege the list lacks", func(r *GrantRequest) { r.Privilege = "INSERT" }, DefaultGrantPolicy(), "INSERT on TABLE is not allowed"},
		{"an object type the list lacks", func(r *GrantRequest) { r.ObjectType, r.ObjectName, r.Privilege = "DATABASE", "SHOP", "USAGE" }, DefaultGrantPolicy(), "USAGE on DATABASE is not allowed"},
		{"a role", func(r *GrantRequest) { r.ObjectType, r.ObjectName, r.Privilege = "ROLE", "WRITER", "USAGE" }, DefaultGrantPolicy(), "roles are never granted"},
		{"longer than the maximum", func(r *GrantRequest) { r.Until = tl.now.Add(31 * 24 * time.Hour) }, DefaultGrantPolicy(), "31 days away, more than local_grants.max_duration (30 days)"},
		{"longer than a configured maximum", func(r *GrantRequest) { r.Until = tl.now.Add(73 * time.Hour) }, insertOnTables, "max_duration (3 days)"},
		{"in the past", func(r *GrantRequest) { r.Until = tl.now.Add(-time.Minute) }, DefaultGrantPolicy(), "not in the future"},
		{"no reason", func(r *GrantRequest) { r.Reason = "  " }, DefaultGrantPolicy(), "give a reason"},
		{"self-approved", func(r *GrantRequest) { r.Approver = "Zoe@Tiny.Example" }, DefaultGrantPolicy(), "cannot approve their own access"},
		{"approved by the granter", func(r *GrantRequest) { r.Approver = carol }, DefaultGrantPolicy(), "cannot approve a grant they make"},
		{"approver not an email", func(r *GrantRequest) { r.Approver = "dave" }, DefaultGrantPolicy(), "must be an email"},
		{"no actor", func(r *GrantRequest) { r.Actor = "" }, DefaultGrantPolicy(), "who grants"},
		{"unknown object", func(r *GrantRequest) { r.ObjectName = "SHOP.PUBLIC.ITEMZ" }, DefaultGrantPolicy(), "has no TABLE SHOP.PUBLIC.ITEMZ in account TINY"},
		{"wrong object type", func(r *GrantRequest) { r.ObjectName = "SHOP.PUBLIC.V_STOCK" }, DefaultGrantPolicy(), "has no TABLE SHOP.PUBLIC.V_STOCK"},
		{"not canonical", func(r *GrantRequest) { r.ObjectName = "shop.public.items" }, DefaultGrantPolicy(), "spell it canonically, as SHOP.PUBLIC.ITEMS"},
		{"unknown account", func(r *GrantRequest) { r.Account = "OTHER" }, DefaultGrantPolicy(), "no account OTHER"},
		{"already held in Snowflake", func(r *GrantRequest) { r.Email = "anna@tiny.example" }, DefaultGrantPolicy(), "already has SELECT on TABLE SHOP.PUBLIC.ITEMS through Snowflake"},
		{"a policy allowing ownership", func(r *GrantRequest) {}, GrantPolicy{Allow: []GrantAllow{{ObjectType: "TABLE", Privileges: []string{"OWNERSHIP"}}}, MaxDuration: time.Hour}, "ownership is never granted"},
		{"a policy allowing roles", func(r *GrantRequest) {}, GrantPolicy{Allow: []GrantAllow{{ObjectType: "DATABASE_ROLE", Privileges: []string{"USAGE"}}}, MaxDuration: time.Hour}, "roles are never granted"},
		{"a configured privilege", func(r *GrantRequest) { r.Privilege, r.Until = "insert", tl.now.Add(72*time.Hour) }, insertOnTables, ""},
		{"the default", func(r *GrantRequest) { r.ObjectType, r.ObjectName = "view", "SHOP.PUBLIC.V_STOCK" }, DefaultGrantPolicy(), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := tl.request()
			c.edit(&r)
			before := tl.count(t, `SELECT count(*) FROM %s.local_grants`)
			g, err := tl.s.AddGrant(ctx, r, c.policy)
			if c.want == "" {
				require.NoError(t, err)
				require.Equal(t, 1, tl.visible(t, tl.admin, zoe, g.ObjectName))
				return
			}
			require.ErrorIs(t, err, ErrGrantRefused)
			require.ErrorContains(t, err, c.want)
			require.Equal(t, before, tl.count(t, `SELECT count(*) FROM %s.local_grants`))
		})
	}

	// A second grant of a row a local grant already gives is refused.
	_, err := tl.s.AddGrant(ctx, tl.request(), DefaultGrantPolicy())
	require.NoError(t, err)
	_, err = tl.s.AddGrant(ctx, tl.request(), DefaultGrantPolicy())
	require.ErrorIs(t, err, ErrGrantRefused)
	require.ErrorContains(t, err, "revoke it first")

	// The schema itself refuses ownership and roles, whatever the code says.
	for _, c := range []struct{ typ, priv string }{{"TABLE", "OWNERSHIP"}, {"ROLE", "USAGE"}} {
		_, err := tl.admin.Exec(ctx, tl.sql(`INSERT INTO %s.local_grants (account, email, object_type, object_name, privilege,
			granted_by, approver, reason, created_at, until) VALUES ('TINY', $1, $2, 'X', $3, 'c', 'd', 'r', now(), now() + interval '1 hour')`), zoe, c.typ, c.priv)
		require.ErrorContains(t, err, "violates check constraint")
	}
}

// TestSweepRecordsExpiry publishes after a grant ran out: the sync records the
// expiry once, in the grant and the audit log, and deletes nothing.
func TestSweepRecordsExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	series := tinySeries(t)
	g, err := tl.s.AddGrant(ctx, tl.request(), DefaultGrantPolicy())
	require.NoError(t, err)
	short := tl.request()
	short.Email, short.Until = "yuri@tiny.example", tl.now.Add(time.Hour)
	s, err := tl.s.AddGrant(ctx, short, DefaultGrantPolicy())
	require.NoError(t, err)

	tl.publishAt(t, series[0], tl.now.Add(2*time.Hour), 3)
	tl.publishAt(t, series[0], tl.now.Add(time.Hour), 3)
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'grant.expire' AND target = $1 AND actor = 'sync-job'`, grantTarget(s.ID)))
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'grant.expire' AND target = $1`, grantTarget(g.ID)))
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.local_grants WHERE id = $1 AND expired_at = $2`, s.ID, s.Until.Add(time.Hour)))
	require.Equal(t, 2, tl.count(t, `SELECT count(*) FROM %s.local_grants`), "history is never deleted")

	all, err := tl.s.LocalGrants(ctx, true)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, GrantExpired, all[1].Status(), "the recorded expiry is final")
	_, err = tl.s.RevokeGrant(ctx, s.ID, dave, "too late")
	require.ErrorIs(t, err, ErrGrantEnded)
	require.ErrorContains(t, err, "expired at")

	var details []byte
	require.NoError(t, tl.admin.QueryRow(ctx, tl.sql(`SELECT details FROM %s.audit WHERE action = 'grant.add' AND target = $1`), grantTarget(g.ID)).Scan(&details))
	var d map[string]any
	require.NoError(t, json.Unmarshal(details, &d))
	require.Equal(t, dave, d["approver"])
	require.Equal(t, items, d["object_name"])
}

// TestGuardedReadSeesLocalGrant reads a data table through the public query
// package, guarded by the store's access view: the viewer sees the row while the
// local grant is in force, through the index, and not before or after.
func TestGuardedReadSeesLocalGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	_, err := tl.admin.Exec(ctx, tl.sql(`CREATE TABLE %s.item_stats (object_name text, reads int)`))
	require.NoError(t, err)
	_, err = tl.admin.Exec(ctx, tl.sql(`INSERT INTO %s.item_stats VALUES ('SHOP.PUBLIC.ITEMS', 7), ('SHOP.HIDDEN.SECRETS', 9)`))
	require.NoError(t, err)
	b, err := query.New(query.Options{Schema: tl.schema, MaxStaleness: query.NoStalenessLimit})
	require.NoError(t, err)
	sql, args, err := b.Select(ctx, "Zoe@tiny.example",
		query.From(tl.schema+".item_stats s"), query.Columns("s.object_name", "s.reads"),
		query.Guard("TABLE", "s.object_name", "SELECT")).ToSql()
	require.NoError(t, err)
	read := func(q query.Querier) []string {
		rows, err := q.Query(ctx, sql, args...)
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var name string
			var reads int
			err := r.Scan(&name, &reads)
			return name, err
		})
		require.NoError(t, err)
		return names
	}
	require.Empty(t, read(tl.admin), "zoe has no Snowflake user")

	g, err := tl.s.AddGrant(ctx, tl.request(), DefaultGrantPolicy())
	require.NoError(t, err)
	require.Equal(t, []string{items}, read(tl.admin))

	conn := tl.sessionAt(t, g.Until)
	require.Empty(t, read(conn), "expired by the view's clock")
	tl.setClock(t, conn, g.Until.Add(-time.Second))
	require.Equal(t, []string{items}, read(conn))

	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	require.NoError(t, err)
	defer conn.Exec(ctx, `RESET enable_seqscan`)
	var plan string
	rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan = strings.Join(lines, "\n")
	t.Log(plan)
	require.Contains(t, plan, "local_grants_active", "the local grants are read through their index:\n%s", plan)
	require.Contains(t, plan, "access_rows_key", "the generation is read through its index:\n%s", plan)

	_, err = tl.s.RevokeGrant(ctx, g.ID, dave, "done")
	require.NoError(t, err)
	require.Empty(t, read(conn), "revoked, whatever the clock")
	require.Empty(t, read(tl.admin))
}

// TestGrantUsage judges use from the acme sample's access history: a later
// LAST_ACCESSED by one of the person's users counts, an earlier one does not.
func TestGrantUsage(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "sample", "acme"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Now: day0})
	require.NoError(t, err)
	var last time.Time
	var user string
	for _, ev := range snap.Accounts[0].History {
		if ev.ObjectName == "SALES.PUBLIC.ORDERS" && ev.LastAccessed.After(last) {
			last, user = ev.LastAccessed, ev.User
		}
	}
	require.NotEmpty(t, user)
	var email string
	for _, ms := range m.Memberships {
		if ms.User == user {
			email = ms.Email
		}
	}
	require.NotEmpty(t, email)
	grant := func(id int64, created time.Time, account, object string) LocalGrant {
		return LocalGrant{ID: id, Row: pipeline.Row{Account: account, Email: email, ObjectType: "TABLE", ObjectName: object, Privilege: "SELECT"},
			CreatedAt: created, Until: created.Add(time.Hour)}
	}
	uses := GrantUsage([]LocalGrant{
		grant(1, last.Add(-time.Hour), snap.Accounts[0].Name, "SALES.PUBLIC.ORDERS"),
		grant(2, last.Add(time.Hour), snap.Accounts[0].Name, "SALES.PUBLIC.ORDERS"),
		grant(3, last.Add(-time.Hour), "ELSEWHERE", "SALES.PUBLIC.ORDERS"),
	}, m)
	require.Equal(t, UsageUsed, uses[0].Usage)
	require.Equal(t, last.UTC(), uses[0].LastAccessed)
	require.Equal(t, UsageUnused, uses[1].Usage, "accessed only before the grant")
	require.Equal(t, UsageUnknown, uses[2].Usage, "no history for that account")
	require.Equal(t, GrantExpired, uses[0].Status)
	require.Equal(t, UsageUnknown, GrantUsage([]LocalGrant{grant(1, last, "TINY", items)}, nil)[0].Usage)
}

// auditActions lists the audit log's actions in order.
func (tl *timeline) auditActions(t *testing.T) []string {
	t.Helper()
	rows, err := tl.admin.Query(context.Background(), tl.sql(`SELECT action FROM %s.audit ORDER BY id`))
	require.NoError(t, err)
	actions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return actions
}
