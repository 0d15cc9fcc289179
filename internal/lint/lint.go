package lint

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Severities. Error findings make `grantmirror lint` exit 1.
const (
	Error   = "error"
	Warning = "warning"
	Info    = "info"
)

var severityOrder = []string{Error, Warning, Info}

// Finding codes.
const (
	InvalidEmail       = "invalid_email"
	ServiceAsPerson    = "service_user_as_person"
	SharedEmail        = "shared_email"
	AliasedEmail       = "aliased_email"
	RoleHeldByNobody   = "role_granted_to_nobody"
	GrantToDroppedRole = "grant_to_dropped_role"
	DatabaseRoleUnused = "database_role_never_granted"
	UserWithoutRoles   = "user_without_roles"
	NoContainerUsage   = "no_container_usage"
	UserLocked         = "user_locked"
	UserExpired        = "user_expired"
	UnknownSecondary   = "unknown_secondary_roles"
	NotMirrored        = "not_mirrored"
)

// Finding is one thing to look at, with what to do about it.
type Finding struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Account  string `json:"account"`
	Subject  string `json:"subject"`
	Detail   string `json:"detail"`
	Hint     string `json:"hint"`
}

// ConfigDiffers is the code of the note that the caller's config differs from
// the settings a published generation was built with.
const ConfigDiffers = "config_differs"

// Generation checks a published generation with norm, the email mapping it was
// built with; notes, which say how the caller's config differs from its
// settings, lead the findings as information.
func Generation(m *model.Mirror, norm *ident.Normalizer, notes []string) []Finding {
	var out []Finding
	for _, n := range notes {
		out = append(out, Finding{Severity: Info, Code: ConfigDiffers, Subject: fmt.Sprintf("generation %d", m.Meta.Generation), Detail: n,
			Hint: "lint judges the generation by the settings it was built with; sync with your config to publish a generation built with it"})
	}
	return append(out, Lint(m, norm)...)
}

// Lint checks one generation (its snapshot, memberships and grants) with the email
// settings the sync used.
func Lint(m *model.Mirror, norm *ident.Normalizer) []Finding {
	var out []Finding
	if m.Snapshot == nil {
		return out
	}
	for _, a := range m.Snapshot.Accounts {
		out = append(out, lintAccount(a, m, norm)...)
	}
	// What the mirror does not reproduce: a reviewer must not take the fallback
	// for Snowflake's answer.
	for _, g := range model.NotMirrored(m) {
		out = append(out, Finding{Severity: Warning, Code: NotMirrored, Account: g.Account, Subject: g.What,
			Detail: "not mirrored: " + g.String(), Hint: "grantmirror's answer for these differs from Snowflake's where the fallback does"})
	}
	slices.SortStableFunc(out, func(x, y Finding) int {
		if c := slices.Index(severityOrder, x.Severity) - slices.Index(severityOrder, y.Severity); c != 0 {
			return c
		}
		return strings.Compare(x.Code+"\x00"+x.Account+"\x00"+x.Subject, y.Code+"\x00"+y.Account+"\x00"+y.Subject)
	})
	return out
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

func lintAccount(a *model.Account, m *model.Mirror, norm *ident.Normalizer) []Finding {
	var out []Finding
	add := func(sev, code, subject, hint, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Code: code, Account: a.Name, Subject: subject, Detail: fmt.Sprintf(format, args...), Hint: hint})
	}
	graph := model.NewRoleGraph(a)

	// Direct roles of every active user, whatever their email.
	direct := map[string][]string{}
	for _, ug := range a.UserGrants {
		if ug.DeletedOn.IsZero() && graph.Dropped[ident.Part(ug.Role)].IsZero() {
			direct[ug.Grantee] = append(direct[ug.Grantee], ident.Part(ug.Role))
		}
	}
	byEmail := map[string][]*model.User{}
	aliased := map[string][]string{}        // domain → users matched only through its alias
	held := graph.Closure(model.PublicRole) // every user holds PUBLIC and what it inherits
	for i := range a.Users {
		u := &a.Users[i]
		if u.DeletedOn.IsZero() && !u.Disabled && u.Expired {
			add(Info, UserExpired, "user "+u.Name, fmt.Sprintf("ALTER USER %s UNSET DAYS_TO_EXPIRY if the user should sign in again", ident.Part(u.Name)),
				"user %s expired on %s (EXPIRES_AT) and is left out of the mirror, like a disabled user", u.Name, u.ExpiresAt.UTC().Format(time.RFC3339))
		}
		if !u.Active() {
			continue
		}
		if u.SnowflakeLock || !u.LockedUntil.IsZero() && u.LockedUntil.After(a.ExtractedAt) {
			why := "Snowflake placed a temporary lock on it (SNOWFLAKE_LOCK)"
			if !u.SnowflakeLock {
				why = "it is locked until " + u.LockedUntil.UTC().Format(time.RFC3339) + " (LOCKED_UNTIL_TIME), after failed sign-ins"
			}
			add(Warning, UserLocked, "user "+u.Name, "nothing to do if the lock is expected; the user keeps its access once it lifts",
				"user %s cannot sign in right now: %s; a lock is temporary, so its access stays mirrored", u.Name, why)
		}
		if u.SecondaryRoles == "" && u.SecondaryRaw != "" {
			add(Warning, UnknownSecondary, "user "+u.Name, "expected [\"ALL\"] or []: check the extract",
				"user %s has DEFAULT_SECONDARY_ROLE %q, which is not a documented value; the configured --roles %s applies to it", u.Name, u.SecondaryRaw, m.Meta.Roles)
		}
		for _, r := range direct[u.Name] {
			for s := range graph.Closure(r) {
				held[s] = true
			}
		}
		email, how := norm.User(u.Name, u.Email)
		roles := strings.Join(direct[u.Name], ", ")
		switch {
		case !ident.ValidEmail(email):
			sev, what := Warning, "holds only PUBLIC"
			if len(direct[u.Name]) > 0 {
				sev, what = Error, "holds "+roles+" but will see nothing through grantmirror"
			}
			shown := strings.TrimSpace(u.Email)
			if shown == "" {
				shown = "empty"
			} else {
				shown = fmt.Sprintf("%q", shown)
			}
			add(sev, InvalidEmail, "user "+u.Name, fmt.Sprintf("set EMAIL in Snowflake, or map it in the config: email.overrides: {%s: team@example.com}", u.Name),
				"user %s (%s) has no valid email (%s); it %s", u.Name, orNone(u.Type), shown, what)
			continue
		case how == ident.Aliased:
			from := strings.ToLower(strings.TrimSpace(u.Email))
			from = from[strings.LastIndexByte(from, '@')+1:]
			aliased[from] = append(aliased[from], u.Name)
		case how == ident.Override:
			add(Info, AliasedEmail, "user "+u.Name, "kept by email.overrides in the config",
				"user %s is mapped to %s by an override", u.Name, email)
		}
		if len(direct[u.Name]) == 0 {
			add(Info, UserWithoutRoles, "user "+u.Name, "nothing to do if intended; grant a role in Snowflake otherwise",
				"user %s (%s) holds no role but PUBLIC", u.Name, email)
		}
		byEmail[email] = append(byEmail[email], u)
	}
	for _, domain := range sortedKeys(aliased) {
		users := slices.Sorted(slices.Values(aliased[domain]))
		shown := users
		if len(shown) > 10 {
			shown = append(slices.Clone(shown[:10]), fmt.Sprintf("and %d more", len(users)-10))
		}
		to, _ := norm.Email("x@" + domain)
		add(Info, AliasedEmail, "domain "+domain, "expected when a subsidiary uses another domain; check the alias is intended",
			"%d users match only through the alias %s → %s: %s", len(users), domain, to[2:], strings.Join(shown, ", "))
	}
	for _, email := range sortedKeys(byEmail) {
		users := byEmail[email]
		if len(users) < 2 {
			continue
		}
		var names []string
		person := false
		for _, u := range users {
			names = append(names, u.Name)
			person = person || u.Type == "PERSON" || u.Type == ""
		}
		add(Info, SharedEmail, email, "fine when one person has several users; their access is merged",
			"%d users share %s: %s", len(users), email, strings.Join(names, ", "))
		for _, u := range users {
			if person && (u.Type == "SERVICE" || u.Type == "LEGACY_SERVICE") {
				add(Warning, ServiceAsPerson, "user "+u.Name, "give the service user its own address (email.overrides), so its roles are not added to the person's",
					"service user %s maps to %s, a person's address: its roles (%s) count as that person's", u.Name, email, strings.Join(direct[u.Name], ", "))
			}
		}
	}

	// Roles: nobody holds them; dropped ones still granted; database roles unused.
	known := map[string]bool{}
	for _, r := range a.Roles {
		if r.DeletedOn.IsZero() {
			db := ""
			if r.Type == "DATABASE_ROLE" || r.Type == "APPLICATION_ROLE" {
				db = r.Database
			}
			known[roleName(r.Name, db)] = true
		}
	}
	grantedTo := map[string]bool{}
	for to, from := range graph.Inherits {
		known[to] = true
		for _, f := range from {
			known[f] = true
			grantedTo[f] = true
		}
	}
	for i := range a.RoleGrants {
		rg := &a.RoleGrants[i]
		role := model.GranteeRole(rg)
		if !rg.DeletedOn.IsZero() || role == "" || strings.HasPrefix(role, "USER ") {
			continue
		}
		if t := graph.Dropped[role]; !t.IsZero() {
			add(Warning, GrantToDroppedRole, "role "+role, "the grant disappears from ACCOUNT_USAGE in time; nothing to do unless the role should exist",
				"%s on %s %s is still granted to role %s, dropped on %s; it counts for nobody", rg.Privilege, rg.GrantedOn, model.ObjectName(rg), role, t.UTC().Format("2006-01-02"))
			continue
		}
		known[role] = true
	}
	for _, ug := range a.UserGrants {
		if ug.DeletedOn.IsZero() {
			grantedTo[ident.Part(ug.Role)] = true
		}
	}
	for _, role := range sortedKeys(known) {
		if held[role] || !graph.Dropped[role].IsZero() {
			continue
		}
		noun, _ := privilege.RoleWords(graph.Kind(role))
		if isDatabaseRole(role) && !grantedTo[role] {
			add(Info, DatabaseRoleUnused, "role "+role, "grant it to an account role, or drop it",
				"%s %s is never granted to a role", noun, role)
			continue
		}
		add(Warning, RoleHeldByNobody, "role "+role, "grant it to the users or roles that need it, or drop it",
			"%s %s is held by no active user, directly or through other roles", noun, role)
	}

	// Objects whose database or schema no role can use: their grants help nobody.
	usage := map[[2]string]bool{}
	for _, g := range m.Grants {
		if g.Account == a.Name && g.Privilege == privilege.Usage && (g.ObjectType == "DATABASE" || g.ObjectType == "SCHEMA") {
			usage[[2]string{g.ObjectType, g.ObjectName}] = true
		}
	}
	stuck := map[[2]string][]string{}
	for _, g := range m.Grants {
		if g.Account != a.Name || g.Via != "" {
			continue
		}
		for _, c := range model.Containers(g.ObjectType, g.ObjectName) {
			if n := [2]string{c.Type, c.Name}; !usage[n] {
				stuck[n] = append(stuck[n], g.Privilege+" on "+g.ObjectType+" "+g.ObjectName)
			}
		}
	}
	for _, k := range sortedKeys2(stuck) {
		grants := slices.Compact(slices.Sorted(slices.Values(stuck[k])))
		shown := grants
		if len(shown) > 3 {
			shown = append(slices.Clone(shown[:3]), fmt.Sprintf("and %d more", len(grants)-3))
		}
		add(Warning, NoContainerUsage, k[0]+" "+k[1], fmt.Sprintf("GRANT USAGE ON %s %s TO ROLE … for the roles that should read it", k[0], k[1]),
			"no role has USAGE on %s %s, so %s inside it reach nobody: %s", k[0], k[1], plural(len(grants), "grant"), strings.Join(shown, "; "))
	}
	return out
}

func orNone(t string) string {
	if t == "" {
		return "no TYPE"
	}
	return t
}

func roleName(name, db string) string {
	if db == "" {
		return ident.Part(name)
	}
	return ident.Join(db, name)
}

// isDatabaseRole reports whether a role lives in a database or application (DB.ROLE)
// rather than in the account.
func isDatabaseRole(role string) bool { return len(ident.Parts(role)) == 2 }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

func sortedKeys2(m map[[2]string][]string) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	return keys
}

// WriteText writes findings for people, with a summary line.
func WriteText(w io.Writer, fs []Finding) error {
	counts := map[string]int{}
	for _, f := range fs {
		counts[f.Severity]++
		fmt.Fprintf(w, "%-7s %s [%s] %s\n        %s\n", strings.ToUpper(f.Severity), f.Code, f.Account, f.Detail, "hint: "+f.Hint)
	}
	_, err := fmt.Fprintf(w, "%s, %s, %s\n", plural(counts[Error], "error"), plural(counts[Warning], "warning"), plural(counts[Info], "note"))
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// WriteJSON writes findings as a JSON array.
func WriteJSON(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}

// WriteCSV writes findings as CSV with a header.
func WriteCSV(w io.Writer, fs []Finding) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"severity", "code", "account", "subject", "detail", "hint"})
	for _, f := range fs {
		cw.Write([]string{f.Severity, f.Code, f.Account, f.Subject, f.Detail, f.Hint})
	}
	cw.Flush()
	return cw.Error()
}
