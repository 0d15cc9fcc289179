package explain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// A question that names a privilege, an object type or an email nobody has is
// a typo far more often than a question: check, explain and grant refuse it as
// a usage mistake, with the nearest name, rather than answer "denied" or print
// a fix that is not SQL (GRANT SELEC ON TABLE …).

// UnknownEmailError is an address no user of the generation maps to, while
// some map to addresses a typo away from it.
type UnknownEmailError struct {
	Email   string
	Nearest []string // nearest first
}

func (e *UnknownEmailError) Error() string {
	return fmt.Sprintf("unknown email %q (did you mean %s?)", e.Email, strings.Join(e.Nearest, " or "))
}

// maxNearEmails bounds the suggestions of one UnknownEmailError.
const maxNearEmails = 3

// CheckPrivilege returns a *privilege.UnknownError when q names a privilege
// that neither Snowflake's list nor the grants of m (a generation, or the slice
// of it about q) know.
func CheckPrivilege(m *model.Mirror, q Query) error {
	if q.Privilege == "" || privilege.Lookup(q.Privilege) == nil {
		return nil
	}
	return privilege.Lookup(q.Privilege, seenPrivileges(m)...)
}

// seenPrivileges are the privileges m's grants and rows name: a generation
// may hold privileges newer than Snowflake's list here.
func seenPrivileges(m *model.Mirror) []string {
	var seen []string
	for _, g := range m.Grants {
		seen = append(seen, g.Privilege)
	}
	for r := range m.Access.All() {
		seen = append(seen, r.Privilege)
	}
	slices.Sort(seen)
	return slices.Compact(seen)
}

// SeenObjectTypes are the object types m's grants name, for
// privilege.LookupObjectType.
func SeenObjectTypes(m *model.Mirror) []string {
	var seen []string
	for _, g := range m.Grants {
		seen = append(seen, g.ObjectType)
	}
	slices.Sort(seen)
	return slices.Compact(seen)
}

// CheckEmail returns an *UnknownEmailError when no user of m (a generation, or
// a slice of it: slices keep every user) maps to email with norm, no row is
// published for it, and users map to addresses near it. A generation read
// without its snapshot (the access history of a moment whose generation is no
// longer kept) knows too little to say, and an address far from every known
// one is a person Snowflake does not know, which is an answer, not a mistake.
func CheckEmail(m *model.Mirror, norm *ident.Normalizer, email string) error {
	if m.Snapshot == nil || knownEmail(m, norm, email) {
		return nil
	}
	var near []string
	for _, n := range nearEmails(m, norm, email) {
		near = append(near, n.email)
	}
	if len(near) == 0 {
		return nil
	}
	return &UnknownEmailError{Email: email, Nearest: near}
}

func knownEmail(m *model.Mirror, norm *ident.Normalizer, email string) bool {
	return holder(m, email) || filedUnder(m, norm, email, "")
}

// filedUnder reports whether a snapshot user of m, in account (every account
// when empty), maps to email with norm.
func filedUnder(m *model.Mirror, norm *ident.Normalizer, email, account string) bool {
	if m.Snapshot == nil {
		return false
	}
	for _, a := range m.Snapshot.Accounts {
		if account != "" && a.Name != account {
			continue
		}
		for i := range a.Users {
			if e, _ := norm.User(a.Users[i].Name, a.Users[i].Email); e == email {
				return true
			}
		}
	}
	return false
}

// holder reports whether email holds a role or a row in m (a generation, or a
// slice of it about email): a person the mirror knows, whatever the snapshot
// says.
func holder(m *model.Mirror, email string) bool {
	for _, ms := range m.Memberships {
		if ms.Email == email {
			return true
		}
	}
	for _, e := range m.Access.Emails() {
		if e == email {
			return true
		}
	}
	return false
}

// nearEmail is an active user's usable address a typo away from the one asked.
type nearEmail struct {
	email, user string
	distance    int
}

// nearEmails lists the active users' addresses within two edits of email,
// nearest first, one entry per address, at most maxNearEmails.
func nearEmails(m *model.Mirror, norm *ident.Normalizer, email string) []nearEmail {
	var out []nearEmail
	seen := map[string]bool{}
	for _, a := range m.Snapshot.Accounts {
		for i := range a.Users {
			u := &a.Users[i]
			e, _ := norm.User(u.Name, u.Email)
			if !u.Active() || seen[e] || e == email || !ident.ValidEmail(e) {
				continue
			}
			if d := ident.Distance(e, email); d <= 2 {
				seen[e] = true
				out = append(out, nearEmail{e, u.Name, d})
			}
		}
	}
	slices.SortFunc(out, func(a, b nearEmail) int {
		return cmp.Or(cmp.Compare(a.distance, b.distance), cmp.Compare(a.email, b.email))
	})
	return out[:min(len(out), maxNearEmails)]
}
