package localgrant

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// Approver scopes, from the most specific to the fallback.
const (
	ScopeObject   = "object"
	ScopeSchema   = "schema"
	ScopeDatabase = "database"
	ScopeFallback = "fallback"
)

// Scopes lists the approver scopes from the most specific to the least.
var Scopes = []string{ScopeObject, ScopeSchema, ScopeDatabase, ScopeFallback}

// Allow lets requests ask for one privilege on objects of one type.
type Allow struct {
	ObjectType string `json:"object_type"`
	Privilege  string `json:"privilege"`
}

// Approver designates who may approve requests on an object, a schema, a
// database (Name is its canonical dotted name) or anything (the fallback, Name
// empty).
type Approver struct {
	Scope string `json:"scope"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Identity maps a database role to the email of the person it is. A service
// role may act for the people it authenticates.
type Identity struct {
	Role    string `json:"role"`
	Email   string `json:"email"`
	Service bool   `json:"service"`
}

// Policy is what the database allows, as the policy tables hold it.
type Policy struct {
	Allow       []Allow
	MaxDuration time.Duration
	// PendingTTL is how long a request may wait for a decision before it expires.
	PendingTTL time.Duration
	// BreakGlassMax is the longest an emergency grant may last; zero disables
	// break-glass.
	BreakGlassMax time.Duration
	// ActivityExtension, when positive, extends an approved grant that access
	// history shows in use to that long after its last use, never beyond
	// ActivityCeiling from its start, and never on a sensitive object.
	ActivityExtension time.Duration
	ActivityCeiling   time.Duration
	Approvers         []Approver
	Sensitive         []string
	Identities        []Identity
	Admins            []string
}

// policyJSON is the document the database's policy_show() returns; durations
// are in seconds, null when unset.
type policyJSON struct {
	MaxDuration       int64      `json:"max_duration"`
	PendingTTL        int64      `json:"pending_ttl"`
	BreakGlassMax     int64      `json:"break_glass_max"`
	ActivityExtension *int64     `json:"activity_extension"`
	ActivityCeiling   *int64     `json:"activity_ceiling"`
	Allow             []Allow    `json:"allow"`
	Approvers         []Approver `json:"approvers"`
	Sensitive         []string   `json:"sensitive"`
	Identities        []Identity `json:"identities"`
	Admins            []string   `json:"admins"`
}

// ParsePolicy reads the document policy_show() returns.
func ParsePolicy(b []byte) (Policy, error) {
	var j policyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Policy{}, err
	}
	sec := func(n int64) time.Duration { return time.Duration(n) * time.Second }
	p := Policy{Allow: j.Allow, MaxDuration: sec(j.MaxDuration), PendingTTL: sec(j.PendingTTL), BreakGlassMax: sec(j.BreakGlassMax),
		Approvers: j.Approvers, Sensitive: j.Sensitive, Identities: j.Identities, Admins: j.Admins}
	if j.ActivityExtension != nil && j.ActivityCeiling != nil {
		p.ActivityExtension, p.ActivityCeiling = sec(*j.ActivityExtension), sec(*j.ActivityCeiling)
	}
	return p, nil
}

// Allows reports whether the policy lists the privilege on the object type.
func (p Policy) Allows(objectType, priv string) bool {
	return slices.Contains(p.Allow, Allow{ObjectType: ident.Word(objectType), Privilege: ident.Privilege(priv)})
}

// allowed lists the allow-list for an error message.
func (p Policy) allowed() string {
	if len(p.Allow) == 0 {
		return "nothing"
	}
	parts := make([]string, len(p.Allow))
	for i, a := range p.Allow {
		parts[i] = a.Privilege + " on " + a.ObjectType
	}
	return strings.Join(parts, ", ")
}

// within reports whether object is name or lies inside it (name a database or
// schema, dotted canonically).
func within(object, name string) bool {
	return object == name || strings.HasPrefix(object, name+".")
}

// Designated lists, sorted, the approvers of the most specific level that names
// anyone for object: the object itself, then its schema, its database, the
// fallback.
func (p Policy) Designated(object string) []string {
	for _, scope := range Scopes {
		var out []string
		for _, a := range p.Approvers {
			if a.Scope != scope {
				continue
			}
			switch {
			case scope == ScopeObject && a.Name == object,
				(scope == ScopeSchema || scope == ScopeDatabase) && within(object, a.Name),
				scope == ScopeFallback:
				out = append(out, a.Email)
			}
		}
		if len(out) > 0 {
			slices.Sort(out)
			return slices.Compact(out)
		}
	}
	return nil
}

// IsSensitive reports whether the policy marks the object, or a schema or
// database holding it, sensitive.
func (p Policy) IsSensitive(object string) bool {
	return slices.ContainsFunc(p.Sensitive, func(name string) bool { return within(object, name) })
}

// ExtendedUntil is how long activity extends grant g that was last used at used:
// to used + ActivityExtension, capped at CreatedAt + ActivityCeiling. It reports
// false when the policy extends nothing, the object is sensitive, the grant is
// an emergency one (breakGlass), the use came before the grant, or the extension
// would not lengthen it.
func (p Policy) ExtendedUntil(g Grant, used time.Time, breakGlass bool) (time.Time, bool) {
	if p.ActivityExtension <= 0 || breakGlass || p.IsSensitive(g.ObjectName) || used.Before(g.CreatedAt) {
		return time.Time{}, false
	}
	want := used.Add(p.ActivityExtension)
	if ceiling := g.CreatedAt.Add(p.ActivityCeiling); want.After(ceiling) {
		want = ceiling
	}
	if !want.After(g.Until) {
		return time.Time{}, false
	}
	return want, true
}
