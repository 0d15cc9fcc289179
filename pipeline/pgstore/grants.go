package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline"
)

// Statuses of a local grant.
const (
	GrantActive  = "active"  // the access view counts it
	GrantExpired = "expired" // its until has passed
	GrantRevoked = "revoked" // someone ended it early
)

// LocalGrant is access granted by hand on top of the mirror, for a while: the
// access view includes its row from CreatedAt until Until, unless it is revoked
// earlier. Rows are never deleted.
type LocalGrant struct {
	ID int64 `json:"id"`
	pipeline.Row
	GrantedBy    string    `json:"granted_by"`
	Approver     string    `json:"approver"`
	Reason       string    `json:"reason"`
	CreatedAt    time.Time `json:"created_at"`
	Until        time.Time `json:"until"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokedBy    string    `json:"revoked_by,omitempty"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
	// ExpiredAt is when a sync recorded that the grant ran out; it stopped
	// counting at Until whether or not a sync ran.
	ExpiredAt time.Time `json:"expired_at,omitzero"`
	// InForce says the access view counted the grant when it was read.
	InForce bool `json:"in_force"`
}

// Status is GrantActive, GrantExpired or GrantRevoked. An expiry a sync recorded
// is final, even read by a clock that has not reached until.
func (g LocalGrant) Status() string {
	switch {
	case !g.RevokedAt.IsZero():
		return GrantRevoked
	case g.InForce && g.ExpiredAt.IsZero():
		return GrantActive
	}
	return GrantExpired
}

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

// selectPrivilege is the privilege the default policy allows.
const selectPrivilege = "SELECT"

// DefaultGrantMaxDuration is the longest a local grant may last when the policy
// sets no limit.
const DefaultGrantMaxDuration = 30 * 24 * time.Hour

// GrantAllow lets local grants give these privileges on objects of one type.
type GrantAllow struct {
	ObjectType string   `mapstructure:"object_type" json:"object_type"`
	Privileges []string `mapstructure:"privileges" json:"privileges"`
}

// GrantPolicy bounds what local grants may give: only the listed privileges on
// the listed object types, for at most MaxDuration. OWNERSHIP and roles are never
// allowed, whatever the list says; the schema refuses them too.
type GrantPolicy struct {
	Allow       []GrantAllow
	MaxDuration time.Duration
}

// DefaultGrantPolicy allows SELECT on tables, views and materialized views, for
// up to 30 days.
func DefaultGrantPolicy() GrantPolicy {
	return GrantPolicy{
		Allow: []GrantAllow{
			{ObjectType: "TABLE", Privileges: []string{selectPrivilege}},
			{ObjectType: "VIEW", Privileges: []string{selectPrivilege}},
			{ObjectType: "MATERIALIZED_VIEW", Privileges: []string{selectPrivilege}},
		},
		MaxDuration: DefaultGrantMaxDuration,
	}
}

// roleTypes are the object types a grant on which would hand out a role.
var roleTypes = []string{"ROLE", "DATABASE_ROLE", "APPLICATION_ROLE", "INSTANCE_ROLE"}

// Validate refuses a policy that would allow what is never allowed, or nothing.
func (p GrantPolicy) Validate() error {
	if p.MaxDuration <= 0 {
		return fmt.Errorf("%w: local_grants.max_duration %v: want a positive duration", ErrGrantRefused, p.MaxDuration)
	}
	if len(p.Allow) == 0 {
		return fmt.Errorf("%w: local_grants.allow is empty", ErrGrantRefused)
	}
	for _, a := range p.Allow {
		typ := ident.Word(a.ObjectType)
		if typ == "" || len(a.Privileges) == 0 {
			return fmt.Errorf("%w: local_grants.allow: each entry needs an object_type and privileges", ErrGrantRefused)
		}
		if slices.Contains(roleTypes, typ) {
			return fmt.Errorf("%w: local_grants.allow: %s: roles are never granted locally", ErrGrantRefused, typ)
		}
		for _, priv := range a.Privileges {
			if ident.Privilege(priv) == privilege.Ownership {
				return fmt.Errorf("%w: local_grants.allow: %s on %s: ownership is never granted locally", ErrGrantRefused, privilege.Ownership, typ)
			}
		}
	}
	return nil
}

// allows reports whether the policy lists the privilege on the object type.
func (p GrantPolicy) allows(objectType, priv string) bool {
	for _, a := range p.Allow {
		if ident.Word(a.ObjectType) != objectType {
			continue
		}
		for _, q := range a.Privileges {
			if ident.Privilege(q) == priv {
				return true
			}
		}
	}
	return false
}

// allowed lists the policy for an error message.
func (p GrantPolicy) allowed() string {
	var parts []string
	for _, a := range p.Allow {
		privs := make([]string, len(a.Privileges))
		for i, q := range a.Privileges {
			privs[i] = ident.Privilege(q)
		}
		parts = append(parts, strings.Join(privs, ", ")+" on "+ident.Word(a.ObjectType))
	}
	return strings.Join(parts, "; ")
}

// GrantRequest asks for a local grant. Email and ObjectName should already be
// spelled as the mirror spells them (aliases applied, canonical name); the store
// checks the name is canonical and folds the rest.
type GrantRequest struct {
	// Account holds the object; empty means the only account of the current
	// generation.
	Account    string
	Email      string
	ObjectType string
	ObjectName string
	Privilege  string
	Until      time.Time
	// Actor is who grants; Approver who approved it (an email, not the person
	// receiving it, not the actor); Reason why. All three are required.
	Actor    string
	Approver string
	Reason   string
}

// check applies the policy and the rules every grant follows, at now.
func (r *GrantRequest) check(p GrantPolicy, now time.Time) error {
	r.Email = ident.NormalizeEmail(r.Email)
	r.Approver = ident.NormalizeEmail(r.Approver)
	r.ObjectType = ident.Word(r.ObjectType)
	r.Privilege = ident.Privilege(r.Privilege)
	r.Actor, r.Reason = strings.TrimSpace(r.Actor), strings.TrimSpace(r.Reason)
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrGrantRefused, fmt.Sprintf(format, args...))
	}
	name, err := ident.Canonical(r.ObjectName)
	switch {
	case err != nil:
		return refuse("object %q: %v", r.ObjectName, err)
	case name != r.ObjectName:
		return refuse("object %q: spell it canonically, as %s", r.ObjectName, name)
	case !ident.ValidEmail(r.Email):
		return refuse("%q is not a usable email", r.Email)
	case r.Privilege == privilege.Ownership:
		return refuse("ownership is never granted locally")
	case slices.Contains(roleTypes, r.ObjectType):
		return refuse("roles are never granted locally")
	case !p.allows(r.ObjectType, r.Privilege):
		return refuse("%s on %s is not allowed (local_grants.allow: %s)", r.Privilege, r.ObjectType, p.allowed())
	case r.Reason == "":
		return refuse("give a reason")
	case r.Actor == "":
		return refuse("say who grants it")
	case !ident.ValidEmail(r.Approver):
		return refuse("the approver must be an email, not %q", r.Approver)
	case r.Approver == r.Email:
		return refuse("%s cannot approve their own access", r.Email)
	case r.Approver == ident.NormalizeEmail(r.Actor):
		return refuse("%s cannot approve a grant they make", r.Approver)
	case !r.Until.After(now):
		return refuse("until %s is not in the future", stampUTC(r.Until))
	case r.Until.Sub(now) > p.MaxDuration:
		return refuse("until %s is %s away, more than local_grants.max_duration (%s)", stampUTC(r.Until),
			span(r.Until.Sub(now)), span(p.MaxDuration))
	}
	return nil
}

// span writes a duration as people say it: in days when it is two days or more,
// to the minute otherwise.
func span(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day {
		if d%day == 0 {
			return fmt.Sprintf("%d days", d/day)
		}
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Minute).String()
}

// AddGrant gives r's person r's privilege until r.Until, within the policy: the
// access view includes it at once. The object must exist in the current
// generation's account, and the person must not already have the privilege,
// from Snowflake or from another local grant. The grant and its audit entry are
// written in one transaction.
func (s *Store) AddGrant(ctx context.Context, r GrantRequest, p GrantPolicy) (_ *LocalGrant, err error) {
	defer s.boundary(&err)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := s.clock()
	r.Until = r.Until.UTC().Truncate(time.Microsecond)
	if err := r.check(p, now); err != nil {
		return nil, err
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	var g LocalGrant
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.stmt("grant_lock", nil), s.grantKey); err != nil {
			return err
		}
		cur, err := s.current(ctx, tx)
		if err != nil {
			return fmt.Errorf("%w: local grants build on a published generation", err)
		}
		if err := resolveAccount(&r, cur); err != nil {
			return err
		}
		gen := vars{"gen": cur.Number}
		var known, held bool
		if err := tx.QueryRow(ctx, s.stmt("grant_object_known", gen), r.Account, r.ObjectType, r.ObjectName).Scan(&known); err != nil {
			return fmt.Errorf("look up %s %s: %w", r.ObjectType, r.ObjectName, err)
		}
		if !known {
			return fmt.Errorf("%w: generation %d has no %s %s in account %s; check the name and --object-type",
				ErrGrantRefused, cur.Number, r.ObjectType, r.ObjectName, r.Account)
		}
		err = tx.QueryRow(ctx, s.stmt("grant_row_held", gen), r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege).Scan(&held)
		if err != nil {
			return fmt.Errorf("look up %s's access: %w", r.Email, err)
		}
		if held {
			return fmt.Errorf("%w: %s already has %s on %s %s through Snowflake (see grantmirror explain)",
				ErrGrantRefused, r.Email, r.Privilege, r.ObjectType, r.ObjectName)
		}
		var otherID int64
		var otherUntil time.Time
		err = tx.QueryRow(ctx, s.stmt("grant_in_force_for_row", nil), r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege).Scan(&otherID, &otherUntil)
		switch {
		case err == nil:
			return fmt.Errorf("%w: local grant #%d already gives %s %s on %s until %s; revoke it first to change it",
				ErrGrantRefused, otherID, r.Email, r.Privilege, r.ObjectName, stampUTC(otherUntil))
		case !errNoRows(err):
			return err
		}
		g, err = scanGrant(tx.QueryRow(ctx, s.stmt("grant_insert", nil), r.Account, r.Email, r.ObjectType, r.ObjectName,
			r.Privilege, r.Actor, r.Approver, r.Reason, now, r.Until))
		if err != nil {
			return fmt.Errorf("insert local grant: %w", err)
		}
		return s.audit(ctx, tx, now, r.Actor, actionGrantAdd, grantTarget(g.ID), r.Reason, grantDetails(g))
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("local grant added", "id", g.ID, "email", g.Email, "object", g.ObjectName, "privilege", g.Privilege, "until", g.Until)
	return &g, nil
}

// resolveAccount fills in or checks the request's account against the current
// generation's.
func resolveAccount(r *GrantRequest, cur *pipeline.Generation) error {
	if r.Account == "" {
		if len(cur.Accounts) != 1 {
			return fmt.Errorf("%w: generation %d has accounts %s: say which one", ErrGrantRefused, cur.Number, strings.Join(cur.Accounts, ", "))
		}
		r.Account = cur.Accounts[0]
		return nil
	}
	if !slices.Contains(cur.Accounts, r.Account) {
		return fmt.Errorf("%w: generation %d has no account %s (it has %s)", ErrGrantRefused, cur.Number, r.Account, strings.Join(cur.Accounts, ", "))
	}
	return nil
}

func grantTarget(id int64) string { return fmt.Sprintf("local grant #%d", id) }

// grantDetails is what the audit log keeps of a grant.
func grantDetails(g LocalGrant) map[string]any {
	return map[string]any{"id": g.ID, "account": g.Account, "email": g.Email, "object_type": g.ObjectType,
		"object_name": g.ObjectName, "privilege": g.Privilege, "granted_by": g.GrantedBy, "approver": g.Approver,
		"created_at": g.CreatedAt, "until": g.Until}
}

// RevokeGrant ends local grant id now: the access view stops counting it the
// moment the transaction commits. A grant already revoked or expired returns
// ErrGrantEnded; an unknown number ErrUnknownGrant.
func (s *Store) RevokeGrant(ctx context.Context, id int64, actor, reason string) (_ *LocalGrant, err error) {
	defer s.boundary(&err)
	actor, reason = strings.TrimSpace(actor), strings.TrimSpace(reason)
	if actor == "" || reason == "" {
		return nil, fmt.Errorf("%w: revoking needs an actor and a reason", ErrGrantRefused)
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	now := s.clock()
	var g LocalGrant
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.stmt("grant_lock", nil), s.grantKey); err != nil {
			return err
		}
		old, err := scanGrant(tx.QueryRow(ctx, s.stmt("grant_for_update", nil), id))
		switch {
		case errNoRows(err):
			return fmt.Errorf("%w: #%d", ErrUnknownGrant, id)
		case err != nil:
			return err
		case old.Status() == GrantRevoked:
			return fmt.Errorf("%w: #%d was revoked at %s by %s", ErrGrantEnded, id, stampUTC(old.RevokedAt), old.RevokedBy)
		case old.Status() == GrantExpired:
			return fmt.Errorf("%w: #%d expired at %s", ErrGrantEnded, id, stampUTC(old.Until))
		}
		if g, err = scanGrant(tx.QueryRow(ctx, s.stmt("grant_revoke", nil), id, now, actor, reason)); err != nil {
			return fmt.Errorf("revoke local grant #%d: %w", id, err)
		}
		return s.audit(ctx, tx, now, actor, actionGrantRevoke, grantTarget(id), reason, grantDetails(g))
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("local grant revoked", "id", id, "by", actor)
	return &g, nil
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

// sweep records, once each, the local grants that ran out, with an audit entry
// per grant, and returns how many.
func (s *Store) sweep(ctx context.Context, conn *pgxpool.Conn) (int, error) {
	now := s.clock()
	n := 0
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.stmt("grant_lock", nil), s.grantKey); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, s.stmt("grants_sweep", nil), now)
		if err != nil {
			return err
		}
		expired, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LocalGrant, error) { return scanGrant(r) })
		if err != nil {
			return err
		}
		for _, g := range expired {
			if err := s.audit(ctx, tx, now, s.actor, actionGrantExpire, grantTarget(g.ID),
				"expired at "+stampUTC(g.Until), grantDetails(g)); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep expired local grants: %w", err)
	}
	if n > 0 {
		s.log.Info("recorded expired local grants", "grants", n)
	}
	return n, nil
}

// Use of a local grant, as access history tells it.
const (
	// UsageUsed means one of the person's Snowflake users accessed the object
	// after the grant was made.
	UsageUsed = "used"
	// UsageUnused means access history is known and shows no such access.
	UsageUnused = "unused"
	// UsageUnknown means the snapshot has no access history for the account.
	UsageUnknown = "unknown"
)

// GrantUse is a local grant with its status and what access history says of its
// use.
type GrantUse struct {
	LocalGrant
	Status string `json:"status"`
	Usage  string `json:"usage"`
	// LastAccessed is the person's latest access to the object that history
	// records, when it came after the grant was made.
	LastAccessed time.Time `json:"last_accessed,omitzero"`
}

// GrantUsage judges each grant's use from the snapshot of m (the current
// generation, normally): used when a Snowflake user of the person (by m's
// memberships, so with the sync's aliases) has a LAST_ACCESSED on the object in
// access_history.csv later than the grant's creation. Without access history for
// the account, or without a snapshot, the use is unknown.
func GrantUsage(grants []LocalGrant, m *pipeline.Mirror) []GrantUse {
	type person struct{ account, email string }
	users := map[person]map[string]bool{}
	history := map[string]*pipeline.Account{}
	if m != nil {
		for _, ms := range m.Memberships {
			p := person{ms.Account, ms.Email}
			if users[p] == nil {
				users[p] = map[string]bool{}
			}
			users[p][strings.ToUpper(ms.User)] = true
		}
		if m.Snapshot != nil {
			for _, a := range m.Snapshot.Accounts {
				if a.HasHistory {
					history[a.Name] = a
				}
			}
		}
	}
	out := make([]GrantUse, 0, len(grants))
	for _, g := range grants {
		u := GrantUse{LocalGrant: g, Status: g.Status(), Usage: UsageUnknown}
		a := history[g.Account]
		if a == nil {
			out = append(out, u)
			continue
		}
		u.Usage = UsageUnused
		mine := users[person{g.Account, g.Email}]
		for _, ev := range a.History {
			if !mine[strings.ToUpper(ev.User)] || !historyNames(ev.ObjectName, g.ObjectName) || ev.LastAccessed.Before(g.CreatedAt) {
				continue
			}
			u.Usage = UsageUsed
			if ev.LastAccessed.After(u.LastAccessed) {
				u.LastAccessed = ev.LastAccessed.UTC()
			}
		}
		out = append(out, u)
	}
	return out
}

// historyNames reports whether an OBJECT_NAME of access history names the
// canonical object: Snowflake writes it dotted, and a part may arrive unquoted
// yet case-sensitive, so it is read both as a person would type it and as stored.
func historyNames(raw, canonical string) bool {
	if name, err := ident.Canonical(raw); err == nil && name == canonical {
		return true
	}
	parts, err := ident.SplitStored(raw)
	return err == nil && ident.Join(parts...) == canonical
}
