package report

import (
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Usage states of a (person, object) pair.
const (
	// Used means an access was recorded within the window.
	Used = "used"
	// Unused means access history is known and shows no access within the window.
	Unused = "unused"
	// Unknown means the snapshot has no access history for the account.
	Unknown = "unknown"
	// NotTracked means ACCESS_HISTORY does not record reads of this kind of object
	// (warehouses, integrations, functions), so use cannot be judged.
	NotTracked = "not tracked"
)

// trackedTypes are the object types whose reads ACCESS_HISTORY records.
var trackedTypes = map[string]bool{
	"TABLE": true, "VIEW": true, "MATERIALIZED_VIEW": true, "EXTERNAL_TABLE": true,
	"DYNAMIC_TABLE": true, "EVENT_TABLE": true, "ICEBERG_TABLE": true, "HYBRID_TABLE": true,
	"STREAM": true, "STAGE": true,
}

// containerTypes take the latest use of anything inside them.
var containerTypes = map[string]bool{"DATABASE": true, "SCHEMA": true}

// stat is what history says of one person and one object.
type stat struct {
	last  time.Time
	count int64
}

// usage is an account's access history by person: history rows are per Snowflake
// user, and a person may have several users.
type usage struct {
	byEmail map[string]map[string]stat // email → canonical object name → stat
	events  int
	latest  time.Time
	// unmatched counts history rows of users that map to no person of the mirror
	// (service users without email, dropped users).
	unmatched int
}

// newUsage indexes snap's access history by a's people. known are the object
// names history names are matched against (historyName); nil means the objects
// of a's grants.
func newUsage(a *account, snap *model.Account, known map[string]bool) *usage {
	u := &usage{byEmail: map[string]map[string]stat{}}
	userEmail := map[string]string{}
	for e, p := range a.people {
		for _, name := range p.users {
			userEmail[name] = e
			userEmail[strings.ToUpper(name)] = e
		}
	}
	if known == nil {
		known = map[string]bool{}
		for _, k := range a.objects {
			known[k.name] = true
		}
	}
	for _, ev := range snap.History {
		email, ok := userEmail[ev.User]
		if !ok {
			email, ok = userEmail[strings.ToUpper(ev.User)]
		}
		name := u.tally(ev.ObjectName, ev.LastAccessed, ok, known)
		if name == "" {
			continue
		}
		objs := u.byEmail[email]
		if objs == nil {
			objs = map[string]stat{}
			u.byEmail[email] = objs
		}
		names := []string{name}
		// A use of a table is a use of its schema and database too.
		if parts, err := ident.Split(name); err == nil && len(parts) >= 2 {
			names = append(names, ident.Part(parts[0]))
			if len(parts) >= 3 {
				names = append(names, ident.Join(parts[0], parts[1]))
			}
		}
		for _, n := range names {
			s := objs[n]
			if ev.LastAccessed.After(s.last) {
				s.last = ev.LastAccessed
			}
			s.count += ev.QueryCount
			objs[n] = s
		}
	}
	return u
}

// tally counts one history row, of a person's user when matched, in the
// account's totals, and returns the object it names, or "" when it is
// unmatched (no person's user, or a name that does not parse).
func (u *usage) tally(object string, at time.Time, matched bool, known map[string]bool) string {
	u.events++
	if at.After(u.latest) {
		u.latest = at
	}
	name := historyName(object, known)
	if !matched || name == "" {
		u.unmatched++
		return ""
	}
	return name
}

// historyName canonicalizes an OBJECT_NAME of access history. Snowflake writes it
// dotted; a part may arrive unquoted yet case-sensitive, so when reading it as a
// person would type it (folding to upper case) names no granted object, reading
// it as stored (keeping case) is tried too.
func historyName(raw string, known map[string]bool) string {
	folded, err := ident.Canonical(raw)
	if err == nil && known[folded] {
		return folded
	}
	if parts, err := ident.SplitStored(raw); err == nil {
		if stored := ident.Join(parts...); known[stored] {
			return stored
		}
	}
	if err != nil {
		return ""
	}
	return folded
}

// usageOf says whether a person used an object within the window, and when last.
func (a *account) usageOf(email string, k objKey) (state string, last time.Time, count int64) {
	if a.usage == nil {
		return Unknown, time.Time{}, 0
	}
	if !trackedTypes[k.typ] && !containerTypes[k.typ] {
		return NotTracked, time.Time{}, 0
	}
	s := a.usage.byEmail[email][k.name]
	if !s.last.IsZero() && !s.last.Before(a.cutoff) {
		return Used, s.last, s.count
	}
	return Unused, s.last, s.count
}
