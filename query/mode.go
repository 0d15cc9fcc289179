package query

import (
	"context"
	"time"
)

// ModeResolver chooses the mode for one tenant at one moment. Builders call it for
// every Select whose context names a tenant (and with "" for those that do not).
type ModeResolver interface {
	ModeFor(tenant string, now time.Time) Mode
}

// ModeFunc adapts a function to ModeResolver.
type ModeFunc func(tenant string, now time.Time) Mode

// ModeFor calls f.
func (f ModeFunc) ModeFor(tenant string, now time.Time) Mode { return f(tenant, now) }

// Rollout switches tenants to Enforce one at a time, each on its own opt-in date, and
// keeps everyone else in Before (usually Shadow, so their mismatches are measured
// while they keep today's answers). A tenant whose date has passed is enforced; a
// tenant in Pinned stays in the pinned mode whatever its date, for a quick rollback.
type Rollout struct {
	Before    Mode
	EnforceOn map[string]time.Time
	Pinned    map[string]Mode
}

// ModeFor implements ModeResolver.
func (r Rollout) ModeFor(tenant string, now time.Time) Mode {
	if m, ok := r.Pinned[tenant]; ok {
		return m
	}
	if on, ok := r.EnforceOn[tenant]; ok && !now.Before(on) {
		return Enforce
	}
	return r.Before
}

type tenantKey struct{}

// WithTenant records in ctx the tenant a request belongs to, for Options.Modes.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantFrom returns the tenant WithTenant recorded, or "".
func TenantFrom(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(string)
	return t
}

// modeFor resolves the mode of one statement.
func (b *Builder) modeFor(ctx context.Context) Mode {
	if b.modes == nil {
		return b.mode
	}
	m := b.modes.ModeFor(TenantFrom(ctx), b.now())
	if m < Enforce || m > Off {
		// An out-of-range answer from a resolver is a bug; enforcing is the safe reading.
		return Enforce
	}
	return m
}
