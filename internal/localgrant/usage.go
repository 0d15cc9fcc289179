package localgrant

import (
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

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

// Use is a local grant with its status and what access history says of its use.
type Use struct {
	Grant
	Status string `json:"status"`
	Usage  string `json:"usage"`
	// LastAccessed is the person's latest access to the object that history
	// records, when it came after the grant was made.
	LastAccessed time.Time `json:"last_accessed,omitzero"`
}

// Usage judges each grant's use from the snapshot of m (the current generation,
// normally): used when a Snowflake user of the person (by m's memberships, so
// with the sync's aliases) has a LAST_ACCESSED on the object in
// access_history.csv later than the grant's creation. Without access history for
// the account, or without a snapshot, the use is unknown.
func Usage(grants []Grant, m *model.Mirror) []Use {
	type person struct{ account, email string }
	users := map[person]map[string]bool{}
	history := map[string]*model.Account{}
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
	out := make([]Use, 0, len(grants))
	for _, g := range grants {
		u := Use{Grant: g, Status: g.Status(), Usage: UsageUnknown}
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
