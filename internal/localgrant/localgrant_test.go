package localgrant

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// shop designates dave for the schema SHOP.PUBLIC, erin for one object in it,
// frank for the database SHOP and gina as the fallback.
func shop() Policy {
	return Policy{
		Allow:       []Allow{{"TABLE", "SELECT"}, {"VIEW", "SELECT"}},
		MaxDuration: 30 * 24 * time.Hour, BreakGlassMax: 4 * time.Hour,
		Approvers: []Approver{
			{ScopeSchema, "SHOP.PUBLIC", "dave@x.example"},
			{ScopeObject, "SHOP.PUBLIC.SECRETS", "erin@x.example"},
			{ScopeDatabase, "SHOP", "frank@x.example"},
			{ScopeFallback, "", "gina@x.example"},
			{ScopeSchema, "SHOP.PUBLIC", "dave@x.example"},
		},
		Sensitive: []string{"HR", "SHOP.PUBLIC.SECRETS"},
	}
}

func TestDesignatedIsTheMostSpecificLevel(t *testing.T) {
	t.Parallel()
	p := shop()
	for object, want := range map[string][]string{
		"SHOP.PUBLIC.SECRETS":    {"erin@x.example"},
		"SHOP.PUBLIC.ITEMS":      {"dave@x.example"},
		"SHOP.PUBLIC":            {"dave@x.example"},
		"SHOP.OTHER.ITEMS":       {"frank@x.example"},
		"SHOPPING.PUBLIC.ITEMS":  {"gina@x.example"},
		"SHOP.PUBLICITY.T":       {"frank@x.example"},
		`"SHOP.PUBLIC".X.ITEMS`:  {"gina@x.example"},
		"HR.PEOPLE.SALARIES":     {"gina@x.example"},
		"SHOP.PUBLIC.SECRETS_V2": {"dave@x.example"},
	} {
		require.Equal(t, want, p.Designated(object), object)
	}
	require.Nil(t, Policy{}.Designated("SHOP.PUBLIC.ITEMS"))
}

func TestSensitive(t *testing.T) {
	t.Parallel()
	p := shop()
	require.True(t, p.IsSensitive("HR.PEOPLE.SALARIES"))
	require.True(t, p.IsSensitive("SHOP.PUBLIC.SECRETS"))
	require.False(t, p.IsSensitive("SHOP.PUBLIC.SECRETS_V2"))
	require.False(t, p.IsSensitive("HRX.A.B"))
}

func TestCheck(t *testing.T) {
	t.Parallel()
	p := shop()
	base := Ask{Email: "zoe@x.example", ObjectType: "TABLE", ObjectName: "SHOP.PUBLIC.ITEMS", Privilege: "SELECT",
		Duration: 48 * time.Hour, Reason: "audit", Approvers: []string{"dave@x.example"}}
	for _, c := range []struct {
		name  string
		edit  func(a *Ask)
		glass bool
		want  string
	}{
		{"fine", func(a *Ask) {}, false, ""},
		{"ownership", func(a *Ask) { a.Privilege = "OWNERSHIP" }, false, "ownership is never granted"},
		{"a role", func(a *Ask) { a.ObjectType = "DATABASE_ROLE" }, false, "roles are never granted"},
		{"not allowed", func(a *Ask) { a.Privilege = "DELETE" }, false, "DELETE on TABLE is not allowed (policy allows: SELECT on TABLE, SELECT on VIEW)"},
		{"too long", func(a *Ask) { a.Duration = 31 * 24 * time.Hour }, false, "31 days is longer than the policy allows (30 days)"},
		{"no reason", func(a *Ask) { a.Reason = "" }, false, "give a reason"},
		{"no approver", func(a *Ask) { a.Approvers = nil }, false, "name at least one approver (designated for SHOP.PUBLIC.ITEMS: dave@x.example)"},
		{"self", func(a *Ask) { a.Approvers = []string{"carol@x.example"} }, false, "carol@x.example cannot approve"},
		{"beneficiary", func(a *Ask) { a.Approvers = []string{"zoe@x.example"} }, false, "zoe@x.example cannot approve"},
		{"not designated", func(a *Ask) { a.Approvers = []string{"frank@x.example"} }, false, "frank@x.example is not a designated approver"},
		{"one of two not designated", func(a *Ask) { a.Approvers = []string{"dave@x.example", "gina@x.example"} }, false, "gina@x.example is not a designated"},
		{"break-glass", func(a *Ask) { a.Approvers, a.Duration = nil, time.Hour }, true, ""},
		{"break-glass too long", func(a *Ask) { a.Approvers = nil }, true, "is longer than the policy allows (4h0m0s)"},
	} {
		a := base
		c.edit(&a)
		err := p.Check(a, "carol@x.example", c.glass)
		if c.want == "" {
			require.NoError(t, err, c.name)
			continue
		}
		require.ErrorIs(t, err, ErrRefused, c.name)
		require.ErrorContains(t, err, c.want, c.name)
	}
	off := shop()
	off.BreakGlassMax = 0
	require.ErrorContains(t, off.Check(Ask{ObjectType: "TABLE", Privilege: "SELECT", Reason: "r", Duration: time.Hour}, "c@x.example", true),
		"break-glass is disabled")
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	a := Ask{Email: " Zoe@X.Example ", ObjectType: "table", ObjectName: "SHOP.PUBLIC.ITEMS", Privilege: "select",
		Approvers: []string{"Dave@x.example", "dave@x.example "}}
	require.NoError(t, a.Normalize())
	require.Equal(t, "zoe@x.example", a.Email)
	require.Equal(t, "TABLE", a.ObjectType)
	require.Equal(t, "SELECT", a.Privilege)
	require.Equal(t, []string{"dave@x.example"}, a.Approvers)
	a.ObjectName = "shop.public.items"
	require.ErrorContains(t, a.Normalize(), "spell it canonically, as SHOP.PUBLIC.ITEMS")
	a = Ask{Email: "zoe", ObjectName: "A.B.C"}
	require.ErrorContains(t, a.Normalize(), "is not a usable email")
	a = Ask{Email: "zoe@x.example", ObjectName: "A.B.C", Approvers: []string{"dave"}}
	require.ErrorContains(t, a.Normalize(), "the approver must be an email")
}

func TestCanApprove(t *testing.T) {
	t.Parallel()
	p := shop()
	r := Request{ID: 7, Email: "zoe@x.example", ObjectName: "SHOP.PUBLIC.ITEMS", RequestedBy: "carol@x.example",
		Approvers: []string{"dave@x.example", "frank@x.example"}, Status: RequestPending}
	require.NoError(t, p.CanApprove(r, "dave@x.example"))
	require.ErrorContains(t, p.CanApprove(r, "carol@x.example"), "nobody approves their own request")
	require.ErrorContains(t, p.CanApprove(r, "zoe@x.example"), "nobody approves their own request or their own access")
	require.ErrorContains(t, p.CanApprove(r, "gina@x.example"), "is not an approver of request #7")
	require.ErrorContains(t, p.CanApprove(r, "frank@x.example"), "no longer a designated approver", "the schema's level wins over the database's")
	r.Status = RequestDenied
	require.ErrorContains(t, p.CanApprove(r, "dave@x.example"), "is denied, not pending")
}

func TestGrantStatus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, GrantActive, Grant{InForce: true}.Status())
	require.Equal(t, GrantExpired, Grant{InForce: false}.Status())
	require.Equal(t, GrantExpired, Grant{InForce: true, ExpiredAt: now}.Status(), "a recorded expiry is final")
	require.Equal(t, GrantRevoked, Grant{InForce: false, RevokedAt: now}.Status())
	require.True(t, Request{Status: RequestBreakGlass}.NeedsReview())
	require.False(t, Request{Status: RequestBreakGlass, ReviewedAt: now}.NeedsReview())
	require.False(t, Request{Status: RequestApproved}.NeedsReview())
}

func TestExtendedUntil(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	p := shop()
	p.ActivityExtension, p.ActivityCeiling = 3*24*time.Hour, 10*24*time.Hour
	g := Grant{Row: model.Row{ObjectName: "SHOP.PUBLIC.ITEMS"}, CreatedAt: start, Until: start.Add(48 * time.Hour)}
	until, ok := p.ExtendedUntil(g, start.Add(time.Hour), false)
	require.True(t, ok)
	require.Equal(t, start.Add(73*time.Hour), until)
	until, ok = p.ExtendedUntil(g, start.Add(9*24*time.Hour), false)
	require.True(t, ok)
	require.Equal(t, start.Add(10*24*time.Hour), until, "capped at the ceiling")
	_, ok = p.ExtendedUntil(g, start.Add(-time.Hour), false)
	require.False(t, ok, "a use before the grant")
	_, ok = p.ExtendedUntil(g, start.Add(time.Hour), true)
	require.False(t, ok, "break-glass")
	_, ok = p.ExtendedUntil(Grant{Row: model.Row{ObjectName: "HR.A.B"}, CreatedAt: start, Until: start.Add(time.Hour)}, start, false)
	require.False(t, ok, "sensitive")
	long := g
	long.Until = start.Add(5 * 24 * time.Hour)
	_, ok = p.ExtendedUntil(long, start.Add(time.Hour), false)
	require.False(t, ok, "never shortens")
	_, ok = shop().ExtendedUntil(g, start.Add(time.Hour), false)
	require.False(t, ok, "off")
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte(`{"max_duration": 2592000, "pending_ttl": 604800, "break_glass_max": 14400,
		"activity_extension": null, "activity_ceiling": null, "allow": [{"object_type": "TABLE", "privilege": "SELECT"}],
		"approvers": [{"scope": "fallback", "name": "", "email": "g@x.example"}], "sensitive": ["HR"],
		"identities": [{"role": "r1", "email": "a@x.example", "service": false}], "admins": ["postgres"]}`))
	require.NoError(t, err)
	require.Equal(t, 30*24*time.Hour, p.MaxDuration)
	require.Equal(t, 4*time.Hour, p.BreakGlassMax)
	require.Zero(t, p.ActivityExtension)
	require.True(t, p.Allows("table", "select"))
	require.Equal(t, []string{"g@x.example"}, p.Designated("A.B.C"))
	require.True(t, p.IsSensitive("HR.X.Y"))
}

// TestUsage judges use from the acme sample's access history: a later
// LAST_ACCESSED by one of the person's users counts, an earlier one does not.
func TestUsage(t *testing.T) {
	t.Parallel()
	snap, err := pipeline.ReadSnapshot(filepath.Join("..", "..", "testdata", "sample", "acme"))
	require.NoError(t, err)
	m, err := pipeline.Flatten(snap, pipeline.Options{Now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)})
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
	grant := func(id int64, created time.Time, account, object string) Grant {
		return Grant{ID: id, Row: model.Row{Account: account, Email: email, ObjectType: "TABLE", ObjectName: object, Privilege: "SELECT"},
			CreatedAt: created, Until: created.Add(time.Hour)}
	}
	uses := Usage([]Grant{
		grant(1, last.Add(-time.Hour), snap.Accounts[0].Name, "SALES.PUBLIC.ORDERS"),
		grant(2, last.Add(time.Hour), snap.Accounts[0].Name, "SALES.PUBLIC.ORDERS"),
		grant(3, last.Add(-time.Hour), "ELSEWHERE", "SALES.PUBLIC.ORDERS"),
	}, m)
	require.Equal(t, UsageUsed, uses[0].Usage)
	require.Equal(t, last.UTC(), uses[0].LastAccessed)
	require.Equal(t, UsageUnused, uses[1].Usage, "accessed only before the grant")
	require.Equal(t, UsageUnknown, uses[2].Usage, "no history for that account")
	require.Equal(t, GrantExpired, uses[0].Status)
	require.Equal(t, UsageUnknown, Usage([]Grant{grant(1, last, "TINY", "SHOP.PUBLIC.ITEMS")}, nil)[0].Usage)
}
