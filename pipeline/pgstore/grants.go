package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/internal/localgrant"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// The store keeps and enforces local grants and the requests behind them; their
// rules are those of package localgrant, checked again by the database functions
// of migration 00004 whoever calls them. Every change runs as the session's
// database role, which the database maps to a person: the store never says who
// acts.

// LocalGrant is a local grant as the store reads it.
type LocalGrant = localgrant.Grant

// GrantUse is a local grant with its status and use.
type GrantUse = localgrant.Use

// Statuses of a local grant.
const (
	GrantActive  = localgrant.GrantActive
	GrantExpired = localgrant.GrantExpired
	GrantRevoked = localgrant.GrantRevoked
)

// scanGrant reads the columns every local-grant statement returns.
func scanGrant(row pgx.Row) (LocalGrant, error) {
	var g LocalGrant
	var revokedAt, expiredAt *time.Time
	var revokedBy, revokeReason *string
	err := row.Scan(&g.ID, &g.Account, &g.Email, &g.ObjectType, &g.ObjectName, &g.Privilege, &g.GrantedBy, &g.Approver,
		&g.Reason, &g.CreatedAt, &g.Until, &revokedAt, &revokedBy, &revokeReason, &expiredAt, &g.InForce)
	g.CreatedAt, g.Until = g.CreatedAt.UTC(), g.Until.UTC()
	if revokedAt != nil {
		g.RevokedAt = revokedAt.UTC()
	}
	if expiredAt != nil {
		g.ExpiredAt = expiredAt.UTC()
	}
	if revokedBy != nil {
		g.RevokedBy = *revokedBy
	}
	if revokeReason != nil {
		g.RevokeReason = *revokeReason
	}
	return g, err
}

// scanRequest reads the columns of requests_list.sql.
func scanRequest(row pgx.Row) (localgrant.Request, error) {
	var r localgrant.Request
	var seconds int64
	var decidedAt, reviewedAt pgtype.Timestamptz
	var decidedBy, decision, reviewedBy, note pgtype.Text
	var grant pgtype.Int8
	err := row.Scan(&r.ID, &r.Account, &r.Email, &r.ObjectType, &r.ObjectName, &r.Privilege, &seconds, &r.Reason,
		&r.RequestedBy, &r.RequestedVia, &r.Approvers, &r.Status, &r.CreatedAt, &decidedAt, &decidedBy, &decision,
		&grant, &reviewedAt, &reviewedBy, &note)
	r.Duration = time.Duration(seconds) * time.Second
	r.CreatedAt = r.CreatedAt.UTC()
	r.DecidedAt, r.ReviewedAt = decidedAt.Time.UTC(), reviewedAt.Time.UTC()
	if !decidedAt.Valid {
		r.DecidedAt = time.Time{}
	}
	if !reviewedAt.Valid {
		r.ReviewedAt = time.Time{}
	}
	r.DecidedBy, r.Decision, r.ReviewedBy, r.ReviewNote = decidedBy.String, decision.String, reviewedBy.String, note.String
	r.GrantID = grant.Int64
	return r, err
}

// Whoami is the email the database maps the session's role to.
func (s *Store) Whoami(ctx context.Context) (_ string, err error) {
	defer s.boundary(&err)
	var email string
	err = s.pool.QueryRow(ctx, s.stmt("whoami", nil)).Scan(&email)
	return email, err
}

// policyAndMe reads the policy and who the session's person is.
func (s *Store) policyAndMe(ctx context.Context) (localgrant.Policy, string, error) {
	var doc []byte
	var me string
	if err := s.pool.QueryRow(ctx, s.stmt("policy_whoami", nil)).Scan(&doc, &me); err != nil {
		return localgrant.Policy{}, "", err
	}
	p, err := localgrant.ParsePolicy(doc)
	return p, me, err
}

// Policy reads the access policy the database enforces.
func (s *Store) Policy(ctx context.Context) (_ localgrant.Policy, err error) {
	defer s.boundary(&err)
	if err := s.ready(ctx); err != nil {
		return localgrant.Policy{}, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, s.stmt("policy_show", nil)).Scan(&doc); err != nil {
		return localgrant.Policy{}, fmt.Errorf("read the access policy: %w", err)
	}
	return localgrant.ParsePolicy(doc)
}

// prepare normalizes an ask, applies the policy's rules as the session's person
// (so that a refusal says what to fix before anything is written; the database
// applies them again, whoever calls) and fills in the account from the current
// generation when the ask names none.
func (s *Store) prepare(ctx context.Context, a *localgrant.Ask, breakGlass bool, person string) error {
	if err := a.Normalize(); err != nil {
		return err
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	p, me, err := s.policyAndMe(ctx)
	if err != nil {
		return err
	}
	if person != "" {
		me = strings.ToLower(strings.TrimSpace(person))
	}
	if err := p.Check(*a, me, breakGlass); err != nil {
		return err
	}
	cur, err := s.current(ctx, s.pool)
	if err != nil {
		return fmt.Errorf("%w: local grants build on a published generation", err)
	}
	if a.Account == "" {
		if len(cur.Accounts) != 1 {
			return fmt.Errorf("%w: generation %d has accounts %s: say which one", ErrGrantRefused, cur.Number, strings.Join(cur.Accounts, ", "))
		}
		a.Account = cur.Accounts[0]
	} else if !slices.Contains(cur.Accounts, a.Account) {
		return fmt.Errorf("%w: generation %d has no account %s (it has %s)", ErrGrantRefused, cur.Number, a.Account, strings.Join(cur.Accounts, ", "))
	}
	return nil
}

// Request asks for a local grant as the session's person, naming its approvers.
// Nothing is in force until one of them approves it; the database refuses what
// the policy does not allow.
func (s *Store) Request(ctx context.Context, a localgrant.Ask) (_ *localgrant.Request, err error) {
	defer s.boundary(&err)
	return s.ask(ctx, "", a)
}

// RequestFor is Request made by a service role (identities.service) for person,
// whom the service authenticated itself.
func (s *Store) RequestFor(ctx context.Context, person string, a localgrant.Ask) (_ *localgrant.Request, err error) {
	defer s.boundary(&err)
	if strings.TrimSpace(person) == "" {
		return nil, fmt.Errorf("%w: say whom the service acts for", ErrGrantRefused)
	}
	return s.ask(ctx, person, a)
}

func (s *Store) ask(ctx context.Context, person string, a localgrant.Ask) (*localgrant.Request, error) {
	if err := s.prepare(ctx, &a, false, person); err != nil {
		return nil, err
	}
	var id int64
	var err error
	if person == "" {
		err = s.pool.QueryRow(ctx, s.stmt("request_create", nil), a.Email, a.Account, a.ObjectType, a.ObjectName, a.Privilege,
			a.Duration, a.Reason, a.Approvers).Scan(&id)
	} else {
		err = s.pool.QueryRow(ctx, s.stmt("request_create_for", nil), person, a.Email, a.Account, a.ObjectType, a.ObjectName,
			a.Privilege, a.Duration, a.Reason, a.Approvers).Scan(&id)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("access requested", "request", id, "email", a.Email, "object", a.ObjectName, "privilege", a.Privilege)
	return s.request(ctx, id)
}

// BreakGlass makes an emergency grant as the session's person: in force at once,
// for at most the policy's break-glass maximum, announced, and waiting for a
// designated approver's review.
func (s *Store) BreakGlass(ctx context.Context, a localgrant.Ask) (_ *localgrant.Request, err error) {
	defer s.boundary(&err)
	if err := s.prepare(ctx, &a, true, ""); err != nil {
		return nil, err
	}
	var id int64
	err = s.pool.QueryRow(ctx, s.stmt("request_break_glass", nil), a.Email, a.Account, a.ObjectType, a.ObjectName,
		a.Privilege, a.Duration, a.Reason).Scan(&id)
	if err != nil {
		return nil, err
	}
	s.log.Warn("break-glass grant", "request", id, "email", a.Email, "object", a.ObjectName, "privilege", a.Privilege)
	return s.request(ctx, id)
}

// Approve approves pending request id as the session's person, who must be one
// of its approvers and not its requester nor its beneficiary, and returns the
// local grant now in force.
func (s *Store) Approve(ctx context.Context, id int64) (_ *LocalGrant, err error) {
	defer s.boundary(&err)
	return s.approve(ctx, "", id)
}

// ApproveFor is Approve made by a service role for person, whom the service
// authenticated itself.
func (s *Store) ApproveFor(ctx context.Context, person string, id int64) (_ *LocalGrant, err error) {
	defer s.boundary(&err)
	if strings.TrimSpace(person) == "" {
		return nil, fmt.Errorf("%w: say whom the service acts for", ErrGrantRefused)
	}
	return s.approve(ctx, person, id)
}

func (s *Store) approve(ctx context.Context, person string, id int64) (*LocalGrant, error) {
	p, me, err := s.policyAndMe(ctx)
	if err != nil {
		return nil, err
	}
	if person != "" {
		me = strings.ToLower(strings.TrimSpace(person))
	}
	r, err := s.request(ctx, id)
	switch {
	case errNoRows(err):
		return nil, fmt.Errorf("%w: no request #%d", ErrUnknownGrant, id)
	case err != nil:
		return nil, err
	}
	if err := p.CanApprove(*r, me); err != nil {
		return nil, err
	}
	var gid int64
	if person == "" {
		err = s.pool.QueryRow(ctx, s.stmt("request_approve", nil), id).Scan(&gid)
	} else {
		err = s.pool.QueryRow(ctx, s.stmt("request_approve_for", nil), person, id).Scan(&gid)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("access request approved", "request", id, "grant", gid)
	g, err := scanGrant(s.pool.QueryRow(ctx, s.stmt("grant_by_id", nil), gid))
	if err != nil {
		return nil, fmt.Errorf("read local grant #%d: %w", gid, err)
	}
	return &g, nil
}

// Deny closes pending request id with a reason, as one of its approvers (or its
// requester, withdrawing it).
func (s *Store) Deny(ctx context.Context, id int64, reason string) (err error) {
	defer s.boundary(&err)
	_, err = s.pool.Exec(ctx, s.stmt("request_deny", nil), id, strings.TrimSpace(reason))
	return err
}

// Review records a designated approver's review of break-glass request id.
func (s *Store) Review(ctx context.Context, id int64, note string) (err error) {
	defer s.boundary(&err)
	_, err = s.pool.Exec(ctx, s.stmt("request_review", nil), id, strings.TrimSpace(note))
	return err
}

// RevokeGrant ends local grant id now, as the session's person (its holder, a
// designated approver of its object or a policy admin): the access view stops
// counting it the moment the transaction commits. A grant already revoked or
// expired returns ErrGrantEnded; an unknown number ErrUnknownGrant.
func (s *Store) RevokeGrant(ctx context.Context, id int64, reason string) (_ *LocalGrant, err error) {
	defer s.boundary(&err)
	if _, err := s.pool.Exec(ctx, s.stmt("grant_revoke", nil), id, strings.TrimSpace(reason)); err != nil {
		return nil, err
	}
	s.log.Info("local grant revoked", "id", id)
	g, err := scanGrant(s.pool.QueryRow(ctx, s.stmt("grant_by_id", nil), id))
	if err != nil {
		return nil, fmt.Errorf("read local grant #%d: %w", id, err)
	}
	return &g, nil
}

// Scopes of Requests.
const (
	RequestsMine      = "mine"
	RequestsToApprove = "to_approve"
	RequestsAll       = "all"
)

// Requests lists requests, oldest first, as the session's person sees them:
// RequestsMine, RequestsToApprove or RequestsAll.
func (s *Store) Requests(ctx context.Context, scope string) (_ []localgrant.Request, err error) {
	defer s.boundary(&err)
	rows, err := s.pool.Query(ctx, s.stmt("requests_list", nil), scope, nil)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (localgrant.Request, error) { return scanRequest(r) })
}

func (s *Store) request(ctx context.Context, id int64) (*localgrant.Request, error) {
	r, err := scanRequest(s.pool.QueryRow(ctx, s.stmt("requests_list", nil), RequestsAll, id))
	if err != nil {
		return nil, fmt.Errorf("read request #%d: %w", id, err)
	}
	return &r, nil
}

// LocalGrants lists the local grants, oldest first: those in force now, or all
// of them, revoked and expired too, when all is true.
func (s *Store) LocalGrants(ctx context.Context, all bool) (_ []LocalGrant, err error) {
	defer s.boundary(&err)
	return s.collectGrants(ctx, s.stmt("grants_list", nil), all)
}

// GrantsFor lists the local grants of one person in force at t, oldest first;
// a zero t means now, as the access view judges it.
func (s *Store) GrantsFor(ctx context.Context, email string, t time.Time) (_ []LocalGrant, err error) {
	defer s.boundary(&err)
	return s.collectGrants(ctx, s.stmt("grants_for", nil), email, nullTime(t))
}

func (s *Store) collectGrants(ctx context.Context, query string, args ...any) ([]LocalGrant, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err == nil {
		var gs []LocalGrant
		gs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LocalGrant, error) { return scanGrant(r) })
		if err == nil {
			return gs, nil
		}
	}
	if notMigrated(err) {
		return nil, nil
	}
	return nil, fmt.Errorf("list local grants: %w", err)
}

// sweep records, once each, the local grants that ran out and the requests left
// pending too long, each with an audit entry and a notification, then lets
// activity extend the grants access history shows in use. It returns how many
// grants ran out.
func (s *Store) sweep(ctx context.Context, conn *pgxpool.Conn) (int, error) {
	now := s.clock()
	var grants, requests int
	if err := conn.QueryRow(ctx, s.stmt("grants_expire", nil), s.actor, now).Scan(&grants, &requests); err != nil {
		return 0, fmt.Errorf("sweep expired local grants: %w", err)
	}
	if grants > 0 || requests > 0 {
		s.log.Info("recorded expired local grants and requests", "grants", grants, "requests", requests)
	}
	if err := s.extendByActivity(ctx, conn, now); err != nil {
		return grants, err
	}
	return grants, nil
}

// extendByActivity extends the approved grants that the current generation's
// access history shows in use, as far as the policy lets it (the database caps
// it at the ceiling and skips sensitive objects and break-glass grants).
func (s *Store) extendByActivity(ctx context.Context, conn *pgxpool.Conn, now time.Time) error {
	var doc []byte
	if err := conn.QueryRow(ctx, s.stmt("policy_show", nil)).Scan(&doc); err != nil {
		return fmt.Errorf("read the access policy: %w", err)
	}
	p, err := localgrant.ParsePolicy(doc)
	if err != nil || p.ActivityExtension <= 0 {
		return err
	}
	rows, err := conn.Query(ctx, s.stmt("grants_extendable", nil), now)
	if err != nil {
		return err
	}
	grants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LocalGrant, error) { return scanGrant(r) })
	if err != nil || len(grants) == 0 {
		return err
	}
	m, err := s.Open(ctx, 0)
	if err != nil {
		return fmt.Errorf("read access history for activity-based expiry: %w", err)
	}
	for _, u := range localgrant.Usage(grants, m) {
		if _, ok := p.ExtendedUntil(u.Grant, u.LastAccessed, false); u.Usage != localgrant.UsageUsed || !ok {
			continue
		}
		var until *time.Time
		if err := conn.QueryRow(ctx, s.stmt("grant_extend", nil), s.actor, u.ID, u.LastAccessed, now).Scan(&until); err != nil {
			return fmt.Errorf("extend local grant #%d: %w", u.ID, err)
		}
		if until != nil {
			s.log.Info("local grant extended by use", "id", u.ID, "used", u.LastAccessed, "until", until.UTC())
		}
	}
	return nil
}

// BreakGlassTotal counts the break-glass grants ever made, for the metric.
func (s *Store) BreakGlassTotal(ctx context.Context) (_ int64, err error) {
	defer s.boundary(&err)
	var n int64
	err = s.pool.QueryRow(ctx, s.stmt("request_break_glass_total", nil)).Scan(&n)
	if notMigrated(err) {
		return 0, nil
	}
	return n, err
}

// GrantUsage judges each grant's use from the snapshot of m; see
// localgrant.Usage.
func GrantUsage(grants []LocalGrant, m *model.Mirror) []GrantUse {
	return localgrant.Usage(grants, m)
}

// Use of a local grant, as access history tells it; see localgrant.Usage.
const (
	UsageUsed    = localgrant.UsageUsed
	UsageUnused  = localgrant.UsageUnused
	UsageUnknown = localgrant.UsageUnknown
)

// Kinds of PolicyChange.
const (
	PolicyAllow     = "allow"
	PolicyLimits    = "limits"
	PolicyApprover  = "approver"
	PolicySensitive = "sensitive"
	PolicyIdentity  = "identity"
	PolicyAdmin     = "admin"
)

// PolicyChange is one change to the access policy, made by a policy admin
// through the database's policy_* functions, which audit it. Zero fields of a
// PolicyLimits change keep their limit.
type PolicyChange struct {
	Kind   string
	Reason string
	// PolicyAllow: allow (or, Allowed false, stop allowing) the privileges on
	// the object type.
	ObjectType string
	Privileges []string
	Allowed    bool
	// PolicyLimits.
	MaxDuration, PendingTTL            time.Duration
	BreakGlassMax                      time.Duration
	SetBreakGlassMax                   bool // BreakGlassMax is set, 0 disabling break-glass
	ActivityExtension, ActivityCeiling time.Duration
	ActivityOff                        bool
	// PolicyApprover: designate (Designated) or stop designating Email for the
	// scope's Name.
	Scope      string
	Name       string
	Email      string
	Designated bool
	// PolicySensitive: mark Name sensitive or not.
	Sensitive bool
	// PolicyIdentity: map Role to Email (empty removes the mapping), as a
	// service or not. PolicyAdmin: make Role an admin or not.
	Role    string
	Service bool
	Admin   bool
}

// ChangePolicy applies ch as the session's role, which must be a policy admin.
func (s *Store) ChangePolicy(ctx context.Context, ch PolicyChange) (err error) {
	defer s.boundary(&err)
	if err := s.ready(ctx); err != nil {
		return err
	}
	optional := func(d time.Duration) any {
		if d == 0 {
			return nil
		}
		return d
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		switch ch.Kind {
		case PolicyAllow:
			for _, priv := range ch.Privileges {
				if _, err := tx.Exec(ctx, s.stmt("policy_allow", nil), ch.ObjectType, priv, ch.Allowed, ch.Reason); err != nil {
					return err
				}
			}
			return nil
		case PolicyLimits:
			var bg any
			if ch.SetBreakGlassMax {
				bg = ch.BreakGlassMax
			}
			_, err := tx.Exec(ctx, s.stmt("policy_limits", nil), optional(ch.MaxDuration), optional(ch.PendingTTL), bg,
				optional(ch.ActivityExtension), optional(ch.ActivityCeiling), ch.ActivityOff, ch.Reason)
			return err
		case PolicyApprover:
			_, err := tx.Exec(ctx, s.stmt("policy_approver", nil), ch.Scope, ch.Name, ch.Email, ch.Designated, ch.Reason)
			return err
		case PolicySensitive:
			_, err := tx.Exec(ctx, s.stmt("policy_sensitive", nil), ch.Name, ch.Sensitive, ch.Reason)
			return err
		case PolicyIdentity:
			var email any
			if ch.Email != "" {
				email = ch.Email
			}
			_, err := tx.Exec(ctx, s.stmt("policy_identity", nil), ch.Role, email, ch.Service, ch.Reason)
			return err
		case PolicyAdmin:
			_, err := tx.Exec(ctx, s.stmt("policy_admin", nil), ch.Role, ch.Admin, ch.Reason)
			return err
		}
		return fmt.Errorf("%w: unknown policy change %q", ErrGrantRefused, ch.Kind)
	})
	if err == nil {
		s.log.Info("access policy changed", "change", ch.Kind)
	}
	return err
}
