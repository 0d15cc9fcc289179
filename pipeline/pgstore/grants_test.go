package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/localgrant"
	"github.com/grantmirror/grantmirror/internal/pgtest"
	"github.com/grantmirror/grantmirror/internal/webhook"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/query"
)

const (
	zoe    = "zoe@tiny.example" // no Snowflake user: sees nothing but local grants
	carol  = "carol@tiny.example"
	dave   = "dave@tiny.example"
	erin   = "erin@tiny.example"
	anna   = "anna@tiny.example"
	items  = "SHOP.PUBLIC.ITEMS"
	vstock = "SHOP.PUBLIC.V_STOCK"
)

// setupGrants publishes the tiny account on a fresh schema, with the store's
// clock at the real time, so that the access view's clock (the database's) and
// the store's agree. dave is the designated approver of schema SHOP.PUBLIC.
func setupGrants(t *testing.T) *timeline {
	t.Helper()
	tl := setupTimeline(t, Options{Actor: "sync-job"})
	tl.publishAt(t, tinySeries(t)[0], time.Now().UTC().Truncate(time.Second), 3)
	tl.policy(t, PolicyChange{Kind: PolicyApprover, Scope: "schema", Name: "SHOP.PUBLIC", Email: dave, Designated: true})
	return tl
}

// policy changes the policy as the schema's owner, its first admin.
func (tl *timeline) policy(t *testing.T, ch PolicyChange) {
	t.Helper()
	if ch.Reason == "" {
		ch.Reason = "set up the test"
	}
	require.NoError(t, tl.s.ChangePolicy(context.Background(), ch))
}

// person is someone with a database role of their own.
type person struct {
	email string
	role  string
	dsn   string
	s     *Store
}

// person creates a login role req_…, maps it to email in the identity table,
// gives it what a reader of the mirror has (USAGE on the schema, SELECT on its
// tables, nothing more), and opens a store as it. The role is dropped at cleanup.
func (tl *timeline) person(t *testing.T, email string, service bool) *person {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	p := &person{email: email, role: "req_" + hex.EncodeToString(b)}
	id := pgx.Identifier{p.role}.Sanitize()
	_, err := tl.admin.Exec(ctx, "CREATE ROLE "+id+" LOGIN")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := tl.admin.Exec(ctx, "DROP OWNED BY "+id)
		require.NoError(t, err)
		_, err = tl.admin.Exec(ctx, "DROP ROLE "+id)
		require.NoError(t, err)
	})
	_, err = tl.admin.Exec(ctx, tl.sql("GRANT USAGE ON SCHEMA %s TO "+id))
	require.NoError(t, err)
	_, err = tl.admin.Exec(ctx, tl.sql("GRANT SELECT ON ALL TABLES IN SCHEMA %s TO "+id))
	require.NoError(t, err)
	tl.policy(t, PolicyChange{Kind: PolicyIdentity, Role: p.role, Email: email, Service: service})
	p.dsn = withUser(t, pgtest.URL(), p.role, "unused")
	p.s, err = Open(ctx, p.dsn, Options{Schema: tl.schema})
	require.NoError(t, err)
	t.Cleanup(func() { p.s.Close() })
	return p
}

// conn is a raw connection as the person, for the SQL API.
func (p *person) conn(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), p.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// pin stands the request functions' clock at at (the privileged clock_pin only
// the owner writes); a zero at unpins it.
func (tl *timeline) pin(t *testing.T, at time.Time) {
	t.Helper()
	_, err := tl.admin.Exec(context.Background(), tl.sql(`DELETE FROM %s.clock_pin`))
	require.NoError(t, err)
	if !at.IsZero() {
		_, err = tl.admin.Exec(context.Background(), tl.sql(`INSERT INTO %s.clock_pin (at) VALUES ($1)`), at)
		require.NoError(t, err)
	}
}

// ask is carol's request of SELECT on ITEMS for zoe, for two days.
func ask(approvers ...string) localgrant.Ask {
	return localgrant.Ask{Email: zoe, ObjectType: "TABLE", ObjectName: items, Privilege: "SELECT",
		Duration: 48 * time.Hour, Reason: "covers for anna during the audit", Approvers: approvers}
}

// TestApprovalPutsTheGrantInForce: a pending request grants nothing, in the
// access view, GrantsFor and a guarded read; the approval puts it in force at
// once, until its approval plus its duration.
func TestApprovalPutsTheGrantInForce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c, d := tl.person(t, carol, false), tl.person(t, dave, false)
	read := tl.guardedRead(t, zoe)

	r, err := c.s.Request(ctx, ask(dave))
	require.NoError(t, err)
	require.Equal(t, localgrant.RequestPending, r.Status)
	require.Equal(t, carol, r.RequestedBy, "the requester is the session's person")
	require.Equal(t, c.role, r.RequestedVia)
	require.Equal(t, "TINY", r.Account)
	require.Zero(t, r.GrantID)
	require.Zero(t, tl.visible(t, tl.admin, zoe, items), "a pending request grants nothing")
	require.Empty(t, read(tl.admin))
	gs, err := tl.s.GrantsFor(ctx, zoe, time.Time{})
	require.NoError(t, err)
	require.Empty(t, gs)
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.local_grants`))

	g, err := d.s.Approve(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, 1, tl.visible(t, tl.admin, zoe, items), "in force at once")
	require.Equal(t, []string{items}, read(tl.admin))
	require.Equal(t, GrantActive, g.Status())
	require.Equal(t, carol, g.GrantedBy)
	require.Equal(t, dave, g.Approver)
	require.Equal(t, 48*time.Hour, g.Until.Sub(g.CreatedAt), "the duration runs from the approval")
	for _, c := range []struct {
		at   time.Time
		want int
	}{{g.CreatedAt.Add(-time.Second), 0}, {g.CreatedAt, 1}, {g.Until.Add(-time.Second), 1}, {g.Until, 0}} {
		gs, err := tl.s.GrantsFor(ctx, zoe, c.at)
		require.NoError(t, err)
		require.Len(t, gs, c.want, "in force at %s", c.at)
	}
	approved, err := d.s.Requests(ctx, RequestsMine)
	require.NoError(t, err)
	require.Empty(t, approved, "dave neither made it nor receives it")
	all, err := d.s.Requests(ctx, RequestsAll)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, localgrant.RequestApproved, all[0].Status)
	require.Equal(t, g.ID, all[0].GrantID)
	require.Equal(t, g.CreatedAt, all[0].DecidedAt)

	_, err = d.s.Approve(ctx, r.ID)
	require.ErrorIs(t, err, ErrGrantRefused)
	require.ErrorContains(t, err, "is approved, not pending")
	_, err = d.s.Approve(ctx, r.ID+100)
	require.ErrorIs(t, err, ErrUnknownGrant)
}

// guardedRead returns a read of a data table through the query package, guarded
// by the access view, for viewer.
func (tl *timeline) guardedRead(t *testing.T, viewer string) func(q query.Querier) []string {
	t.Helper()
	ctx := context.Background()
	_, err := tl.admin.Exec(ctx, tl.sql(`CREATE TABLE %s.item_stats (object_name text, reads int)`))
	require.NoError(t, err)
	_, err = tl.admin.Exec(ctx, tl.sql(`INSERT INTO %s.item_stats VALUES ('SHOP.PUBLIC.ITEMS', 7), ('SHOP.HIDDEN.SECRETS', 9)`))
	require.NoError(t, err)
	b, err := query.New(query.Options{Schema: tl.schema, MaxStaleness: query.NoStalenessLimit})
	require.NoError(t, err)
	sql, args, err := b.Select(ctx, viewer,
		query.From(tl.schema+".item_stats s"), query.Columns("s.object_name", "s.reads"),
		query.Guard("TABLE", "s.object_name", "SELECT")).ToSql()
	require.NoError(t, err)
	return func(q query.Querier) []string {
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
}

// refusedSQL runs a statement of the SQL API and requires the database's refusal.
func refusedSQL(t *testing.T, c *pgx.Conn, want, query string, args ...any) {
	t.Helper()
	_, err := c.Exec(context.Background(), query, args...)
	require.Error(t, err)
	require.ErrorContains(t, err, want)
}

// TestSelfApprovalRefused: nobody approves their own request or their own
// access, through the store, the raw SQL API, a service acting for them, or a
// direct write of the table.
func TestSelfApprovalRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	tl.policy(t, PolicyChange{Kind: PolicyApprover, Scope: "schema", Name: "SHOP.PUBLIC", Email: carol, Designated: true})
	tl.policy(t, PolicyChange{Kind: PolicyApprover, Scope: "schema", Name: "SHOP.PUBLIC", Email: zoe, Designated: true})
	c, z, d := tl.person(t, carol, false), tl.person(t, zoe, false), tl.person(t, dave, false)
	bot := tl.person(t, "accessbot@tiny.example", true)

	_, err := c.s.Request(ctx, ask(carol))
	require.ErrorIs(t, err, ErrGrantRefused)
	require.ErrorContains(t, err, "carol@tiny.example cannot approve a request for their own access or that they make")
	_, err = c.s.Request(ctx, ask(zoe))
	require.ErrorContains(t, err, "zoe@tiny.example cannot approve")

	raw := c.conn(t)
	call := tl.sql(`SELECT %s.request($1, 'TINY', 'TABLE', $2, 'SELECT', interval '2 days', 'r', $3)`)
	refusedSQL(t, raw, "cannot approve a request for their own access or that they make", call, zoe, items, []string{carol})

	// Named approvers are carol and zoe and dave; the requester and the
	// beneficiary are refused, in the database, whichever client asks.
	r, err := c.s.Request(ctx, ask(dave))
	require.NoError(t, err)
	_, err = c.s.Approve(ctx, r.ID)
	require.ErrorIs(t, err, ErrGrantRefused)
	require.ErrorContains(t, err, "nobody approves their own request")
	refusedSQL(t, raw, "nobody approves their own request", tl.sql(`SELECT %s.approve($1)`), r.ID)
	refusedSQL(t, z.conn(t), "nobody approves their own request or their own access", tl.sql(`SELECT %s.approve($1)`), r.ID)

	// A service acting for carol is carol.
	botc := bot.conn(t)
	var id int64
	require.NoError(t, botc.QueryRow(ctx, tl.sql(`SELECT %s.request_for($1, $2, 'TINY', 'VIEW', $3, 'SELECT', interval '1 day', 'bot', $4)`),
		carol, zoe, vstock, []string{dave}).Scan(&id))
	refusedSQL(t, botc, "nobody approves their own request", tl.sql(`SELECT %s.approve_for($1, $2)`), carol, id)
	_, err = bot.s.ApproveFor(ctx, zoe, id)
	require.ErrorContains(t, err, "nobody approves their own request or their own access")
	viaBot, err := bot.s.RequestFor(ctx, carol, localgrant.Ask{Email: zoe, ObjectType: "VIEW", ObjectName: vstock, Privilege: "SELECT",
		Duration: time.Hour, Reason: "bot", Approvers: []string{dave}})
	require.NoError(t, err)
	require.Equal(t, carol, viaBot.RequestedBy, "the person the service acts for")
	require.Equal(t, bot.role, viaBot.RequestedVia, "through the service's own role")
	// Only a service role may act for someone else, and a role without an
	// identity may do nothing.
	refusedSQL(t, raw, "is not a service role and cannot act for", tl.sql(`SELECT %s.approve_for($1, $2)`), dave, id)
	unknown := tl.person(t, erin, false)
	tl.policy(t, PolicyChange{Kind: PolicyIdentity, Role: unknown.role})
	refusedSQL(t, unknown.conn(t), "has no email in", tl.sql(`SELECT %s.approve($1)`), id)

	// Not even the owner writes a self-approval into the table.
	_, err = tl.admin.Exec(ctx, tl.sql(`UPDATE %s.requests SET status = 'denied', decided_at = now(), decided_by = requested_by WHERE id = $1`), r.ID)
	require.NoError(t, err, "a requester may withdraw")
	_, err = tl.admin.Exec(ctx, tl.sql(`INSERT INTO %s.requests (account, email, object_type, object_name, privilege, duration, reason,
		requested_by, requested_via, approvers, status, created_at) VALUES ('TINY', $1, 'TABLE', $2, 'SELECT', '1 day', 'r', $3, 'x', $4, 'pending', now())`),
		zoe, items, carol, []string{carol})
	require.ErrorContains(t, err, "requests_check")

	// And nobody but the owner writes the tables at all.
	refusedSQL(t, raw, "permission denied", tl.sql(`INSERT INTO %s.local_grants (account, email, object_type, object_name, privilege,
		granted_by, approver, reason, created_at, until) VALUES ('TINY', $1, 'TABLE', $2, 'SELECT', 'c', 'd', 'r', now(), now() + interval '1 day')`), zoe, items)
	refusedSQL(t, raw, "permission denied", tl.sql(`UPDATE %s.requests SET status = 'approved'`))
	refusedSQL(t, raw, "permission denied", tl.sql(`INSERT INTO %s.identities VALUES ('x', 'x@tiny.example', false)`))
	refusedSQL(t, raw, "permission denied", tl.sql(`DELETE FROM %s.audit`))
	refusedSQL(t, raw, "permission denied", tl.sql(`DELETE FROM %s.webhook_outbox`))
	refusedSQL(t, raw, "permission denied", tl.sql(`INSERT INTO %s.clock_pin VALUES (now() + interval '1 year')`))
	refusedSQL(t, raw, "permission denied", tl.sql(`SELECT %s.do_approve($1, $2)`), dave, r.ID)

	// dave, named and designated, approves.
	_, err = d.s.Approve(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 1, tl.visible(t, tl.admin, zoe, vstock))
}

// TestApproverMustBeDesignated: an approver must be designated for the object,
// at the most specific level that designates anyone (object, schema, database,
// then the fallback), when the request is made and when it is approved.
func TestApproverMustBeDesignated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c, d, e := tl.person(t, carol, false), tl.person(t, dave, false), tl.person(t, erin, false)

	_, err := c.s.Request(ctx, ask(erin))
	require.ErrorIs(t, err, ErrGrantRefused)
	require.ErrorContains(t, err, "erin@tiny.example is not a designated approver for SHOP.PUBLIC.ITEMS (designated: dave@tiny.example)")
	refusedSQL(t, c.conn(t), "is not a designated approver", tl.sql(`SELECT %s.request($1, 'TINY', 'TABLE', $2, 'SELECT', interval '1 day', 'r', $3)`),
		zoe, items, []string{erin})

	// A pending request names dave; an object-level designation of erin then
	// takes over from the schema's, so dave may no longer approve, and erin,
	// designated but not named, may not either.
	r, err := c.s.Request(ctx, ask(dave))
	require.NoError(t, err)
	tl.policy(t, PolicyChange{Kind: PolicyApprover, Scope: "object", Name: items, Email: erin, Designated: true})
	_, err = d.s.Approve(ctx, r.ID)
	require.ErrorContains(t, err, "dave@tiny.example is no longer a designated approver for SHOP.PUBLIC.ITEMS")
	refusedSQL(t, d.conn(t), "dave@tiny.example is no longer a designated approver", tl.sql(`SELECT %s.approve($1)`), r.ID)
	_, err = e.s.Approve(ctx, r.ID)
	require.ErrorContains(t, err, "erin@tiny.example is not an approver of request")
	require.Zero(t, tl.visible(t, tl.admin, zoe, items))

	// The view keeps the schema's designation; the fallback designates for
	// objects no level names.
	_, err = c.s.Request(ctx, localgrant.Ask{Email: zoe, ObjectType: "VIEW", ObjectName: vstock, Privilege: "SELECT",
		Duration: time.Hour, Reason: "r", Approvers: []string{erin}})
	require.ErrorContains(t, err, "(designated: dave@tiny.example)")
	tl.policy(t, PolicyChange{Kind: PolicyApprover, Scope: "schema", Name: "SHOP.PUBLIC", Email: dave})
	_, err = c.s.Request(ctx, localgrant.Ask{Email: zoe, ObjectType: "VIEW", ObjectName: vstock, Privilege: "SELECT",
		Duration: time.Hour, Reason: "r", Approvers: []string{erin}})
	require.ErrorContains(t, err, "(designated: nobody; ask a policy admin)")
	tl.policy(t, PolicyChange{Kind: PolicyApprover, Scope: "fallback", Email: erin, Designated: true})
	r2, err := c.s.Request(ctx, localgrant.Ask{Email: zoe, ObjectType: "VIEW", ObjectName: vstock, Privilege: "SELECT",
		Duration: time.Hour, Reason: "r", Approvers: []string{erin}})
	require.NoError(t, err)
	_, err = e.s.Approve(ctx, r2.ID)
	require.NoError(t, err)
	require.Equal(t, 1, tl.visible(t, tl.admin, zoe, vstock))

	p, err := c.s.Policy(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{erin}, p.Designated(items), "the database and localgrant agree")
	require.Equal(t, []string{erin}, p.Designated(vstock))
}

// TestPolicyIsTheDatabases: the allow-list and the maximum duration are checked
// in the database for every client, and only a policy admin changes them, with
// an audit entry.
func TestPolicyIsTheDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c := tl.person(t, carol, false)
	raw := c.conn(t)
	call := tl.sql(`SELECT %s.request($1, 'TINY', $2, $3, $4, $5::interval, 'r', $6)`)
	for _, tc := range []struct {
		typ, name, priv, dur, want string
	}{
		{"TABLE", items, "INSERT", "1 day", "INSERT on TABLE is not allowed (policy allows: SELECT on MATERIALIZED_VIEW, SELECT on TABLE, SELECT on VIEW)"},
		{"TABLE", items, "OWNERSHIP", "1 day", "ownership is never granted locally"},
		{"ROLE", "WRITER", "USAGE", "1 day", "roles are never granted locally"},
		{"TABLE", items, "SELECT", "31 days", "is longer than the policy allows (30 days)"},
		{"TABLE", items, "SELECT", "-1 hour", "the duration must be positive"},
		{"TABLE", "SHOP.PUBLIC.ITEMZ", "SELECT", "1 day", "has no TABLE SHOP.PUBLIC.ITEMZ in account TINY"},
	} {
		refusedSQL(t, raw, tc.want, call, zoe, tc.typ, tc.name, tc.priv, tc.dur, []string{dave})
	}
	refusedSQL(t, raw, "already has SELECT on TABLE SHOP.PUBLIC.ITEMS through Snowflake", call, anna, "TABLE", items, "SELECT", "1 day", []string{dave})
	refusedSQL(t, raw, "name at least one approver", call, zoe, "TABLE", items, "SELECT", "1 day", []*string{nil})
	refusedSQL(t, raw, "is not a designated approver", call, zoe, "TABLE", items, "SELECT", "1 day", []*string{nil, ptr(erin)})
	refusedSQL(t, raw, "give a reason", tl.sql(`SELECT %s.request($1, 'TINY', 'TABLE', $2, 'SELECT', interval '1 day', ' ', $3)`), zoe, items, []string{dave})

	// carol is no admin, through the store or raw SQL.
	err := c.s.ChangePolicy(ctx, PolicyChange{Kind: PolicyAllow, ObjectType: "TABLE", Privileges: []string{"INSERT"}, Allowed: true, Reason: "r"})
	require.ErrorIs(t, err, ErrNotPolicyAdmin)
	refusedSQL(t, raw, "is not a policy admin", tl.sql(`SELECT %s.policy_limits('3650 days', NULL, NULL, NULL, NULL, false, 'r')`))
	refusedSQL(t, raw, "permission denied", tl.sql(`UPDATE %s.policy SET max_duration = '3650 days'`))
	refusedSQL(t, raw, "permission denied", tl.sql(`INSERT INTO %s.policy_allow VALUES ('TABLE', 'DELETE')`))

	// An admin may widen it, within the floor, and it is audited.
	err = tl.s.ChangePolicy(ctx, PolicyChange{Kind: PolicyAllow, ObjectType: "table", Privileges: []string{"ownership"}, Allowed: true, Reason: "r"})
	require.ErrorContains(t, err, "ownership is never granted locally")
	tl.policy(t, PolicyChange{Kind: PolicyAllow, ObjectType: "table", Privileges: []string{"insert"}, Allowed: true, Reason: "loads need fixing"})
	tl.policy(t, PolicyChange{Kind: PolicyLimits, MaxDuration: 3 * 24 * time.Hour})
	refusedSQL(t, raw, "is longer than the policy allows (3 days)", call, zoe, "TABLE", items, "INSERT", "4 days", []string{dave})
	var id int64
	require.NoError(t, raw.QueryRow(ctx, call, zoe, "TABLE", items, "INSERT", "3 days", []string{dave}).Scan(&id))
	require.Positive(t, id)
	var who, reason string
	var details []byte
	require.NoError(t, tl.admin.QueryRow(ctx, tl.sql(`SELECT actor, reason, details FROM %s.audit WHERE action = 'policy.allow' ORDER BY id DESC LIMIT 1`)).Scan(&who, &reason, &details))
	require.Equal(t, "postgres", who, "the admin's role, which has no email")
	require.Equal(t, "loads need fixing", reason)
	require.Contains(t, string(details), `"privilege": "INSERT"`)
	p, err := c.s.Policy(ctx)
	require.NoError(t, err)
	require.True(t, p.Allows("TABLE", "INSERT"))
	require.Equal(t, 3*24*time.Hour, p.MaxDuration)
}

// TestExpiryAtTheSecond: a grant is in force until its approval plus its
// duration and not a microsecond later, by the access view's own clock. The
// request functions' clock is pinned (clock_pin) so that two grants end exactly
// at, and one second after, the moment a reading transaction stands at.
func TestExpiryAtTheSecond(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c, d := tl.person(t, carol, false), tl.person(t, dave, false)

	reader, err := tl.admin.Begin(ctx)
	require.NoError(t, err)
	defer reader.Rollback(ctx)
	var n time.Time
	require.NoError(t, reader.QueryRow(ctx, `SELECT now()`).Scan(&n))

	const dur = 2 * time.Hour
	grant := func(object, typ string, until time.Time) *LocalGrant {
		tl.pin(t, until.Add(-dur-time.Minute))
		r, err := c.s.Request(ctx, localgrant.Ask{Email: zoe, ObjectType: typ, ObjectName: object, Privilege: "SELECT",
			Duration: dur, Reason: "r", Approvers: []string{dave}})
		require.NoError(t, err)
		tl.pin(t, until.Add(-dur))
		g, err := d.s.Approve(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, until.UTC(), g.Until)
		return g
	}
	atUntil := grant(items, "TABLE", n)
	secondBefore := grant(vstock, "VIEW", n.Add(time.Second))
	tl.pin(t, time.Time{})
	require.Zero(t, tl.visible(t, reader, zoe, items), "gone at until")
	require.Equal(t, 1, tl.visible(t, reader, zoe, vstock), "there a second before until")

	// The sync records each expiry once, with its audit entry and notification.
	tl.now = secondBefore.Until
	conn, err := tl.s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	expired, err := tl.s.sweep(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, 2, expired)
	expired, err = tl.s.sweep(ctx, conn)
	require.NoError(t, err)
	require.Zero(t, expired)
	require.Equal(t, 2, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'grant.expire'`))
	require.Equal(t, 2, tl.count(t, `SELECT count(*) FROM %s.webhook_outbox WHERE event = 'expiry'`))
	all, err := tl.s.LocalGrants(ctx, true)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, GrantExpired, all[0].Status())
	require.Equal(t, atUntil.ID, all[0].ID)
}

// TestPendingRequestsExpire: a request nobody decides within the policy's
// pending time can no longer be approved and is closed by the next sync.
func TestPendingRequestsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c, d := tl.person(t, carol, false), tl.person(t, dave, false)
	start := tl.now
	tl.pin(t, start)
	r, err := c.s.Request(ctx, ask(dave))
	require.NoError(t, err)
	tl.pin(t, start.Add(7*24*time.Hour))
	_, err = d.s.Approve(ctx, r.ID)
	require.ErrorContains(t, err, "waited longer than the policy allows")
	tl.now = start.Add(7 * 24 * time.Hour)
	conn, err := tl.s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = tl.s.sweep(ctx, conn)
	require.NoError(t, err)
	mine, err := c.s.Requests(ctx, RequestsMine)
	require.NoError(t, err)
	require.Equal(t, localgrant.RequestExpired, mine[0].Status)
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'request.expire'`))
}

// TestBreakGlass: an emergency grant is in force at once, no longer than the
// break-glass maximum, loud (audit, outbox, the counter's total), and waits for
// a review by a designated approver who is not its maker.
func TestBreakGlass(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c, d, e := tl.person(t, carol, false), tl.person(t, dave, false), tl.person(t, erin, false)
	emergency := localgrant.Ask{Email: zoe, ObjectType: "TABLE", ObjectName: items, Privilege: "SELECT",
		Duration: 5 * time.Hour, Reason: "orders are failing, zoe is on call"}

	_, err := c.s.BreakGlass(ctx, emergency)
	require.ErrorContains(t, err, "5h0m0s is longer than the policy allows (4h0m0s)")
	refusedSQL(t, c.conn(t), "05:00:00 is longer than the policy allows (04:00:00)",
		tl.sql(`SELECT %s.break_glass($1, 'TINY', 'TABLE', $2, 'SELECT', interval '5 hours', 'r')`), zoe, items)
	emergency.Duration = time.Hour
	r, err := c.s.BreakGlass(ctx, emergency)
	require.NoError(t, err)
	require.Equal(t, localgrant.RequestBreakGlass, r.Status)
	require.True(t, r.NeedsReview())
	require.Equal(t, 1, tl.visible(t, tl.admin, zoe, items), "in force at once")
	total, err := tl.s.BreakGlassTotal(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, total)
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'request.break_glass' AND actor = $1`, carol))
	var text string
	require.NoError(t, tl.admin.QueryRow(ctx, tl.sql(`SELECT text FROM %s.webhook_outbox WHERE event = 'break_glass'`)).Scan(&text))
	require.Contains(t, text, "BREAK-GLASS")
	require.Contains(t, text, "Review needed from dave@tiny.example")

	todo, err := d.s.Requests(ctx, RequestsToApprove)
	require.NoError(t, err)
	require.Len(t, todo, 1, "dave is to review it")
	todo, err = c.s.Requests(ctx, RequestsToApprove)
	require.NoError(t, err)
	require.Empty(t, todo, "carol does not review her own")
	require.ErrorContains(t, c.s.Review(ctx, r.ID, "fine"), "cannot review their own break-glass")
	require.ErrorContains(t, e.s.Review(ctx, r.ID, "fine"), "erin@tiny.example is not a designated approver")
	require.ErrorContains(t, d.s.Review(ctx, r.ID, " "), "write what the review found")
	require.NoError(t, d.s.Review(ctx, r.ID, "incident 42, justified"))
	require.ErrorContains(t, d.s.Review(ctx, r.ID, "again"), "was reviewed by dave@tiny.example already")
	all, err := d.s.Requests(ctx, RequestsAll)
	require.NoError(t, err)
	require.False(t, all[0].NeedsReview())
	require.Equal(t, "incident 42, justified", all[0].ReviewNote)

	tl.policy(t, PolicyChange{Kind: PolicyLimits, SetBreakGlassMax: true})
	emergency.ObjectType, emergency.ObjectName = "VIEW", vstock
	_, err = c.s.BreakGlass(ctx, emergency)
	require.ErrorContains(t, err, "break-glass is disabled by the policy")
}

// TestAuditTellsTheStory follows one request from its making to its revocation
// in the audit table alone: who did what, as whom, when and why.
func TestAuditTellsTheStory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c, d, z := tl.person(t, carol, false), tl.person(t, dave, false), tl.person(t, zoe, false)
	r, err := c.s.Request(ctx, ask(dave))
	require.NoError(t, err)
	g, err := d.s.Approve(ctx, r.ID)
	require.NoError(t, err)
	_, err = z.s.RevokeGrant(ctx, g.ID, "done early")
	require.NoError(t, err)
	require.Zero(t, tl.visible(t, tl.admin, zoe, items), "revoked at once")
	_, err = z.s.RevokeGrant(ctx, g.ID, "again")
	require.ErrorIs(t, err, ErrGrantEnded)

	rows, err := tl.admin.Query(ctx, tl.sql(`SELECT action, actor, target, reason, details FROM %s.audit
		WHERE action LIKE 'request.%' OR action LIKE 'grant.%' ORDER BY id`))
	require.NoError(t, err)
	type entry struct {
		action, actor, target, reason string
		details                       map[string]any
	}
	story, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry, error) {
		var e entry
		var b []byte
		if err := r.Scan(&e.action, &e.actor, &e.target, &e.reason, &b); err != nil {
			return e, err
		}
		return e, json.Unmarshal(b, &e.details)
	})
	require.NoError(t, err)
	require.Len(t, story, 3)
	want := []struct{ action, actor, target, reason, role string }{
		{"request.create", carol, fmt.Sprintf("request #%d", r.ID), "covers for anna during the audit", c.role},
		{"request.approve", dave, fmt.Sprintf("request #%d", r.ID), "", d.role},
		{"grant.revoke", zoe, fmt.Sprintf("local grant #%d", g.ID), "done early", z.role},
	}
	for i, w := range want {
		require.Equal(t, w.action, story[i].action)
		require.Equal(t, w.actor, story[i].actor)
		require.Equal(t, w.target, story[i].target)
		require.Equal(t, w.reason, story[i].reason)
		require.Equal(t, w.role, story[i].details["session_user"])
	}
	require.Equal(t, zoe, story[0].details["email"])
	require.Equal(t, items, story[0].details["object_name"])
	require.Equal(t, []any{dave}, story[0].details["approvers"])
	require.EqualValues(t, g.ID, story[1].details["grant"])
	require.NotEmpty(t, story[1].details["until"])
	require.EqualValues(t, r.ID, story[2].details["request"])
}

// TestActivityExtendsUpToTheCeiling: use seen in the published access history
// extends an approved grant at sync time, up to the policy's ceiling, never on a
// sensitive object.
func TestActivityExtendsUpToTheCeiling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	tl.policy(t, PolicyChange{Kind: PolicyAllow, ObjectType: "TABLE", Privileges: []string{"INSERT"}, Allowed: true})
	tl.policy(t, PolicyChange{Kind: PolicyLimits, ActivityExtension: 3 * 24 * time.Hour, ActivityCeiling: 30 * 24 * time.Hour})
	tl.policy(t, PolicyChange{Kind: PolicySensitive, Name: items, Sensitive: true})
	c, d := tl.person(t, carol, false), tl.person(t, dave, false)
	start := tl.now
	tl.pin(t, start)
	grant := func(typ, object, priv string) *LocalGrant {
		r, err := c.s.Request(ctx, localgrant.Ask{Email: anna, ObjectType: typ, ObjectName: object, Privilege: priv,
			Duration: 48 * time.Hour, Reason: "r", Approvers: []string{dave}})
		require.NoError(t, err)
		g, err := d.s.Approve(ctx, r.ID)
		require.NoError(t, err)
		return g
	}
	view, sensitive := grant("VIEW", vstock, "SELECT"), grant("TABLE", items, "INSERT")
	tl.pin(t, time.Time{})

	used := start.Add(time.Hour)
	withHistory := tinySeries(t)[0]
	a := withHistory.Snapshot.Accounts[0]
	a.HasHistory = true
	a.History = []model.AccessEvent{
		{User: "ANNA", ObjectDomain: "View", ObjectName: vstock, LastAccessed: used, QueryCount: 3},
		{User: "ANNA", ObjectDomain: "Table", ObjectName: items, LastAccessed: used, QueryCount: 3},
	}
	// The sync before a publish extends by the current generation's history:
	// the second publish brings the history, the third applies it.
	tl.publishAt(t, withHistory, start.Add(2*time.Hour), 3)
	tl.publishAt(t, withHistory, start.Add(3*time.Hour), 3)

	all, err := tl.s.LocalGrants(ctx, true)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, used.Add(3*24*time.Hour), all[0].Until, "extended to three days after the use")
	require.Equal(t, sensitive.Until, all[1].Until, "a sensitive object is never extended")
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.audit WHERE action = 'grant.extend'`))

	// The ceiling caps it: a use 29 days in would extend past day 30.
	late := start.Add(29 * 24 * time.Hour)
	a.History[0].LastAccessed = late
	tl.publishAt(t, withHistory, start.Add(4*time.Hour), 3)
	tl.publishAt(t, withHistory, start.Add(5*time.Hour), 3)
	all, err = tl.s.LocalGrants(ctx, true)
	require.NoError(t, err)
	require.Equal(t, view.CreatedAt.Add(30*24*time.Hour), all[0].Until, "never beyond the ceiling")
}

// TestOutboxDeliversOnce claims and settles notifications as the webhook's
// outbox: a claimed event is not handed out twice, a dead one moves to the dead
// letters.
func TestOutboxDeliversOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c := tl.person(t, carol, false)
	_, err := c.s.Request(ctx, ask(dave))
	require.NoError(t, err)
	_, err = c.s.Claim(ctx, 10, time.Minute)
	require.ErrorIs(t, err, ErrPermission, "people's own roles do not deliver")

	first, err := tl.s.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Equal(t, "request", first[0].Kind)
	require.Contains(t, first[0].Text, "carol@tiny.example asks for zoe@tiny.example to have SELECT on TABLE SHOP.PUBLIC.ITEMS")
	again, err := tl.s.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "claimed already")
	require.NoError(t, tl.s.Failed(ctx, first[0].ID, "the webhook answered 500", false))
	require.NoError(t, tl.s.Failed(ctx, first[0].ID, "the webhook answered 500", true))
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.webhook_outbox`))
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.webhook_dead WHERE attempts = 2 AND last_error = 'the webhook answered 500'`))
}

// TestWebhookReceivesEachEventOnce delivers the outbox of a real flow (request,
// approval, denial, break-glass, expiry) to a local webhook that answers the
// first post of the approval with a 500: every event (two requests among them)
// arrives once, the approval
// after a retry; a webhook that keeps failing leaves a dead letter.
func TestWebhookReceivesEachEventOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tl := setupGrants(t)
	c, d := tl.person(t, carol, false), tl.person(t, dave, false)
	tl.pin(t, tl.now.Add(-3*time.Hour))
	short := ask(dave)
	short.Duration = 2 * time.Hour
	r, err := c.s.Request(ctx, short)
	require.NoError(t, err)
	_, err = d.s.Approve(ctx, r.ID)
	require.NoError(t, err)
	tl.pin(t, time.Time{})
	denied, err := c.s.Request(ctx, localgrant.Ask{Email: zoe, ObjectType: "VIEW", ObjectName: vstock, Privilege: "SELECT",
		Duration: time.Hour, Reason: "r", Approvers: []string{dave}})
	require.NoError(t, err)
	require.NoError(t, d.s.Deny(ctx, denied.ID, "not needed"))
	_, err = c.s.BreakGlass(ctx, localgrant.Ask{Email: zoe, ObjectType: "TABLE", ObjectName: items, Privilege: "SELECT",
		Duration: time.Hour, Reason: "incident"})
	require.NoError(t, err)
	conn, err := tl.s.pool.Acquire(ctx)
	require.NoError(t, err)
	expired, err := tl.s.sweep(ctx, conn)
	conn.Release()
	require.NoError(t, err)
	require.Equal(t, 1, expired)

	var mu sync.Mutex
	ok, failed := map[string]int{}, map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct{ Text string }
		require.NoError(t, json.NewDecoder(r.Body).Decode(&msg))
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(msg.Text, "approved by") && failed[msg.Text] == 0 {
			failed[msg.Text]++
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		ok[msg.Text]++
	}))
	defer srv.Close()
	sender := webhook.Sender{URL: srv.URL, MaxAttempts: 3}
	rep, err := sender.Deliver(ctx, tl.s)
	require.NoError(t, err)
	require.Equal(t, webhook.Report{Delivered: 6, Retried: 1}, rep)
	rep, err = sender.Deliver(ctx, tl.s)
	require.NoError(t, err)
	require.Zero(t, rep.Delivered, "nothing twice")
	require.Len(t, ok, 6)
	for text, n := range ok {
		require.Equal(t, 1, n, text)
	}
	require.Len(t, failed, 1)
	var kinds []string
	for text := range ok {
		for _, k := range []string{"asks for", "approved by", "denied by", "BREAK-GLASS", "expired:"} {
			if strings.Contains(text, k) {
				kinds = append(kinds, k)
			}
		}
	}
	require.ElementsMatch(t, []string{"asks for", "asks for", "approved by", "denied by", "BREAK-GLASS", "expired:"}, kinds)

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer down.Close()
	_, err = c.s.Request(ctx, localgrant.Ask{Email: zoe, ObjectType: "VIEW", ObjectName: vstock, Privilege: "SELECT",
		Duration: time.Hour, Reason: "again", Approvers: []string{dave}})
	require.NoError(t, err)
	rep, err = (&webhook.Sender{URL: down.URL, MaxAttempts: 2}).Deliver(ctx, tl.s)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Dead)
	require.Equal(t, 1, tl.count(t, `SELECT count(*) FROM %s.webhook_dead WHERE event = 'request' AND attempts = 2 AND last_error = 'the webhook answered 502 Bad Gateway'`))
	require.Zero(t, tl.count(t, `SELECT count(*) FROM %s.webhook_outbox WHERE delivered_at IS NULL`))
}

func ptr[T any](v T) *T { return &v }
