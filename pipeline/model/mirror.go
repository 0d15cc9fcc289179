package model

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
)

// Mode chooses which grants count.
type Mode string

// The modes of DESIGN.md's semantics.
const (
	// Effective counts a privilege on an object only when the person also holds
	// USAGE on its database and schema, as a Snowflake session needs.
	Effective Mode = "effective"
	// Granted counts every grant as it stands, containers or not.
	Granted Mode = "granted"
)

// RoleMode chooses which of a user's roles a session activates.
type RoleMode string

// The role modes.
const (
	// AllRoles is Snowflake's default since 2024: secondary roles ALL, so a session
	// holds every granted role at once.
	AllRoles RoleMode = "all"
	// PrimaryRole counts only the user's DEFAULT_ROLE (and PUBLIC), as a session with
	// secondary roles off would.
	PrimaryRole RoleMode = "primary"
)

// Row is one published row: a person may use privilege on an object.
type Row struct {
	Account    string `json:"account"`
	Email      string `json:"email"`
	ObjectType string `json:"object_type"`
	ObjectName string `json:"object_name"`
	Privilege  string `json:"privilege"`
}

// Compare orders rows by account, email, object type, object name, privilege: the
// order of every published table and report.
func (r Row) Compare(o Row) int {
	if c := cmp.Compare(r.Account, o.Account); c != 0 {
		return c
	}
	if c := cmp.Compare(r.Email, o.Email); c != 0 {
		return c
	}
	if c := cmp.Compare(r.ObjectType, o.ObjectType); c != 0 {
		return c
	}
	if c := cmp.Compare(r.ObjectName, o.ObjectName); c != 0 {
		return c
	}
	return cmp.Compare(r.Privilege, o.Privilege)
}

// Membership says that a person, through one of their Snowflake users, holds a role.
// Path runs from a role granted to the user to Role itself; it is the shortest such
// chain, ties broken by role name, so it is stable from run to run.
type Membership struct {
	Account string   `json:"account"`
	Email   string   `json:"email"`
	User    string   `json:"user"`
	Role    string   `json:"role"`
	Path    []string `json:"path"`
}

// Grant is a privilege a role holds on an object, after OWNERSHIP expansion. Via is
// OWNERSHIP when the privilege is implied by ownership, empty when granted as is.
// Rows are exactly the grants reachable from a person's memberships (and, in
// effective mode, whose containers they can use): Grants and Memberships together
// are the provenance of every row.
type Grant struct {
	Account    string `json:"account"`
	Role       string `json:"role"`
	ObjectType string `json:"object_type"`
	ObjectName string `json:"object_name"`
	Privilege  string `json:"privilege"`
	Via        string `json:"via,omitempty"`
}

// Exclusion is a Snowflake user whose access is not mirrored, and why.
type Exclusion struct {
	Account string `json:"account"`
	User    string `json:"user"`
	Email   string `json:"email"`
	Reason  string `json:"reason"`
}

// MaskedColumn is a column Snowflake masks (a masking policy) or tags as PII, a
// column with a projection policy, or (Column empty) an object with a row access
// policy; data APIs guard each by default. Column "*" stands for every column of
// the object (or of every table in the schema or database it names): a policy that
// comes with a tag set above the columns. Rule is the policy's translated rule;
// nil for PII tags, and for masking policies whose definitions the snapshot lacks.
type MaskedColumn struct {
	Account    string      `json:"account"`
	ObjectName string      `json:"object_name"`
	Column     string      `json:"column_name"`
	Reason     string      `json:"reason"`
	Rule       *PolicyRule `json:"rule,omitempty"`
}

// AccountMeta describes where one account's data came from.
type AccountMeta struct {
	Name        string    `json:"name"`
	ExtractedAt time.Time `json:"extracted_at"`
	Source      string    `json:"source"`
}

// Meta describes a generation. With Accounts (each with its extraction time),
// Mode, Roles and Settings it records everything that shaped its rows, so a
// reader judges a generation by what built it, never by its own config.
type Meta struct {
	Generation  int           `json:"generation,omitempty"`
	PublishedAt time.Time     `json:"published_at"`
	Accounts    []AccountMeta `json:"accounts"`
	Mode        Mode          `json:"mode"`
	Roles       RoleMode      `json:"roles"`
	Rows        int           `json:"rows"`
	// Settings is nil in generations published before they were recorded.
	Settings *Settings `json:"settings,omitempty"`
	// Digest is the generation's ContentDigest, set by Run: a sync whose digest
	// equals the current generation's publishes nothing.
	Digest string `json:"digest,omitempty"`
}

// Settings are the configured choices besides the mode and role mode that
// shaped a generation: how Snowflake users became people, and which tags mark
// PII. The local-grant policy is not among them: it lives in the database, where
// only its admins change it and every change is audited (grant policy).
type Settings struct {
	DomainAliases map[string]string `json:"domain_aliases"`
	Overrides     map[string]string `json:"overrides"`
	PIITags       []string          `json:"pii_tags"`
}

// Aliases are the email aliases the generation was built with.
func (s *Settings) Aliases() ident.Aliases {
	return ident.Aliases{Domains: s.DomainAliases, Users: s.Overrides}
}

// Differences names, as config keys, the settings in which a config (its mode,
// role mode and settings) differs from those that built the generation, each
// with both values: "email.domain_aliases (built with {a: b}; yours {})". Keys
// that the config does not set explicitly are skipped when explicit is not nil.
// A generation without recorded settings is compared on its mode and roles only.
func (m Meta) Differences(mode Mode, roles RoleMode, s Settings, explicit func(key string) bool) []string {
	var out []string
	add := func(key string, built, yours any) {
		if explicit != nil && !explicit(key) {
			return
		}
		b, y := settingText(built), settingText(yours)
		if b != y {
			out = append(out, fmt.Sprintf("%s (built with %s; yours %s)", key, b, y))
		}
	}
	add("mode", m.Mode, mode)
	add("roles", m.Roles, roles)
	if m.Settings == nil {
		return out
	}
	built := m.Settings
	add("email.domain_aliases", foldMap(built.DomainAliases, foldDomain, foldDomain), foldMap(s.DomainAliases, foldDomain, foldDomain))
	add("email.overrides", foldMap(built.Overrides, foldUser, ident.NormalizeEmail), foldMap(s.Overrides, foldUser, ident.NormalizeEmail))
	add("pii_tags", foldTags(built.PIITags), foldTags(s.PIITags))
	return out
}

// DifferenceNote is the sentence that names a config's differences from the
// settings that built a generation, for answers to show.
func DifferenceNote(m Meta, differences []string) string {
	return fmt.Sprintf("generation %d was built with its own settings, which this answer uses; your config differs in %s",
		m.Generation, strings.Join(differences, ", "))
}

// foldMap folds an alias map's keys and values the way ident.NewNormalizer
// does, so that spellings it treats alike compare equal.
func foldMap(m map[string]string, key, value func(string) string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[key(k)] = value(v)
	}
	return out
}

func foldDomain(d string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
}
func foldUser(u string) string { return strings.ToUpper(strings.TrimSpace(u)) }

// foldTags is a tag list as compared: upper-cased, sorted, distinct.
func foldTags(tags []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = strings.ToUpper(strings.TrimSpace(t))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// settingText renders a setting compactly and deterministically for messages.
func settingText(v any) string {
	switch v := v.(type) {
	case map[string]string:
		keys := slices.Sorted(maps.Keys(v))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + v[k]
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []string:
		return "[" + strings.Join(v, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// Normalizer maps Snowflake users to addresses as the generation does: with
// the aliases it recorded, none when it recorded no settings.
func (m Meta) Normalizer() *ident.Normalizer {
	if m.Settings == nil {
		return ident.NewNormalizer(ident.Aliases{})
	}
	return ident.NewNormalizer(m.Settings.Aliases())
}

// UserAddresses returns, for a generation m, the addresses a slice of the
// people's own users (Focus.OwnUsers) finds a snapshot user of an account
// under: first the one the generation maps it to, then every other address
// m's memberships file it under (email aliases that disagree), each once.
func UserAddresses(m *Mirror) func(account string, u *User) []string {
	norm := m.Meta.Normalizer()
	filed := map[[2]string][]string{}
	for i := range m.Memberships {
		ms := &m.Memberships[i]
		k := [2]string{ms.Account, ms.User}
		if !slices.Contains(filed[k], ms.Email) {
			filed[k] = append(filed[k], ms.Email)
		}
	}
	return func(account string, u *User) []string {
		email, _ := norm.User(u.Name, u.Email)
		out := []string{email}
		for _, e := range filed[[2]string{account, u.Name}] {
			if e != email {
				out = append(out, e)
			}
		}
		return out
	}
}

// SnapshotAt is when the oldest account of the generation was extracted: the age
// every answer must admit to. Zero when no account recorded it.
func (m Meta) SnapshotAt() time.Time {
	var t time.Time
	for _, a := range m.Accounts {
		if !a.ExtractedAt.IsZero() && (t.IsZero() || a.ExtractedAt.Before(t)) {
			t = a.ExtractedAt
		}
	}
	return t
}

// Mirror is one complete generation: the access table with its provenance and the
// snapshot it was computed from.
type Mirror struct {
	Meta        Meta
	Access      *Access
	Memberships []Membership
	Grants      []Grant
	Excluded    []Exclusion
	Masked      []MaskedColumn
	Snapshot    *Snapshot
}

// Access is the published table, sorted and distinct. Flatten builds it compactly:
// people who hold the same roles share one list of object privileges, so memory
// grows with distinct role sets, not with rows.
type Access struct {
	parts []accessPart
	n     int
}

type accessPart struct {
	account string
	objects []ObjectPrivilege // sorted; a list holds indexes into it
	emails  []string          // sorted
	lists   [][]int32         // per email, ascending
}

func (o ObjectPrivilege) compare(p ObjectPrivilege) int {
	if c := cmp.Compare(o.Type, p.Type); c != 0 {
		return c
	}
	if c := cmp.Compare(o.Name, p.Name); c != 0 {
		return c
	}
	return cmp.Compare(o.Privilege, p.Privilege)
}

// Len is the number of rows.
func (a *Access) Len() int {
	if a == nil {
		return 0
	}
	return a.n
}

// All yields every row in order.
func (a *Access) All() iter.Seq[Row] {
	return func(yield func(Row) bool) {
		if a == nil {
			return
		}
		for _, p := range a.parts {
			for i, e := range p.emails {
				for _, o := range p.lists[i] {
					ob := p.objects[o]
					if !yield(Row{p.account, e, ob.Type, ob.Name, ob.Privilege}) {
						return
					}
				}
			}
		}
	}
}

// Emails yields each (account, email) that has at least one row, in order.
func (a *Access) Emails() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if a == nil {
			return
		}
		for _, p := range a.parts {
			for _, e := range p.emails {
				if !yield(p.account, e) {
					return
				}
			}
		}
	}
}

// Has reports whether the table holds the row.
func (a *Access) Has(r Row) bool {
	if a == nil {
		return false
	}
	for _, p := range a.parts {
		if p.account != r.Account {
			continue
		}
		i, ok := slices.BinarySearch(p.emails, r.Email)
		if !ok {
			return false
		}
		want := ObjectPrivilege{r.ObjectType, r.ObjectName, r.Privilege}
		_, found := slices.BinarySearchFunc(p.lists[i], want, func(o int32, w ObjectPrivilege) int { return p.objects[o].compare(w) })
		return found
	}
	return false
}

// For yields the rows of one person in one account (every account when account is
// empty).
func (a *Access) For(account, email string) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		if a == nil {
			return
		}
		for _, p := range a.parts {
			if account != "" && p.account != account {
				continue
			}
			i, ok := slices.BinarySearch(p.emails, email)
			if !ok {
				continue
			}
			for _, o := range p.lists[i] {
				ob := p.objects[o]
				if !yield(Row{p.account, email, ob.Type, ob.Name, ob.Privilege}) {
					return
				}
			}
		}
	}
}

// NewAccess builds an access table from rows in any order, dropping duplicates. Stores
// use it to read a generation back.
func NewAccess(rows []Row) *Access {
	slices.SortFunc(rows, Row.Compare)
	rows = slices.Compact(rows)
	a := &Access{n: len(rows)}
	var p *accessPart
	objIndex := map[ObjectPrivilege]int32{}
	for _, r := range rows {
		if p == nil || p.account != r.Account {
			if p != nil {
				finishPart(p)
			}
			a.parts = append(a.parts, accessPart{account: r.Account})
			p = &a.parts[len(a.parts)-1]
			clear(objIndex)
		}
		if n := len(p.emails); n == 0 || p.emails[n-1] != r.Email {
			p.emails = append(p.emails, r.Email)
			p.lists = append(p.lists, nil)
		}
		o := ObjectPrivilege{r.ObjectType, r.ObjectName, r.Privilege}
		id, ok := objIndex[o]
		if !ok {
			id = int32(len(p.objects))
			objIndex[o] = id
			p.objects = append(p.objects, o)
		}
		p.lists[len(p.lists)-1] = append(p.lists[len(p.lists)-1], id)
	}
	if p != nil {
		finishPart(p)
	}
	return a
}

// finishPart renumbers objects so that index order is sort order, which keeps every
// list ascending and lets Has binary-search.
func finishPart(p *accessPart) {
	order := make([]int32, len(p.objects))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(i, j int) bool { return p.objects[order[i]].compare(p.objects[order[j]]) < 0 })
	rank := make([]int32, len(order))
	sorted := make([]ObjectPrivilege, len(order))
	for r, o := range order {
		rank[o] = int32(r)
		sorted[r] = p.objects[o]
	}
	p.objects = sorted
	for _, l := range p.lists {
		for i, o := range l {
			l[i] = rank[o]
		}
	}
}

// ObjectPrivilege is one object privilege of an access table: the object type,
// its canonical name and the privilege.
type ObjectPrivilege struct{ Type, Name, Privilege string }

// AccessPart is one account's rows in the compact form Flatten builds: the
// account's distinct object privileges in table order, its emails in order, and
// for each email the ascending indexes into Objects of its rows.
type AccessPart struct {
	Account string
	Objects []ObjectPrivilege
	Emails  []string
	// Lists may be shared between emails (people who hold the same roles) and
	// must not be modified.
	Lists [][]int32
}

// Parts yields the table account by account in its compact form, so a store can
// encode it without building one Row per row. The parts are the table's own and
// must not be modified.
func (a *Access) Parts() iter.Seq[AccessPart] {
	return func(yield func(AccessPart) bool) {
		if a == nil {
			return
		}
		for _, p := range a.parts {
			if !yield(AccessPart{Account: p.account, Objects: p.objects, Emails: p.emails, Lists: p.lists}) {
				return
			}
		}
	}
}

// DefaultPIITags are Snowflake's classification tag and the conventional PII tag.
var DefaultPIITags = []string{"PRIVACY_CATEGORY", "SEMANTIC_CATEGORY", "PII"}

// PublicRole is held by every user.
const PublicRole = "PUBLIC"

// SessionRoles is the role mode of a user's sessions: its own DEFAULT_SECONDARY_ROLE
// when the snapshot has one Snowflake documents, otherwise the configured default.
func SessionRoles(u *User, configured RoleMode) RoleMode {
	if u.SecondaryRoles != "" {
		return u.SecondaryRoles
	}
	return configured
}

// AppendPart adds an account's rows in their compact form after the accounts the
// table holds: Flatten builds a table account by account without one Row per
// row. p.Objects must be sorted and distinct, p.Emails sorted and distinct, the
// account new to the table and sorted after its accounts, and each list
// ascending; the table keeps p's slices.
func (a *Access) AppendPart(p AccessPart) {
	if len(p.Emails) == 0 {
		return
	}
	a.parts = append(a.parts, accessPart{account: p.Account, objects: p.Objects, emails: p.Emails, lists: p.Lists})
	for _, l := range p.Lists {
		a.n += len(l)
	}
}
