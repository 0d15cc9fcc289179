package ident

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Aliases maps the addresses Snowflake holds to the one address a person signs in
// with. Domains maps a whole domain (a subsidiary's "corp-sub.example") to another;
// Users maps a Snowflake user name, case-insensitively, to an address, which rescues
// service accounts whose EMAIL holds an ID.
type Aliases struct {
	Domains map[string]string
	Users   map[string]string
}

// Normalizer applies Aliases. Build it once with NewNormalizer; it is safe for
// concurrent use.
type Normalizer struct {
	domains map[string]string
	users   map[string]string
}

// NewNormalizer folds the alias keys so lookups are case-insensitive.
func NewNormalizer(a Aliases) *Normalizer {
	n := &Normalizer{domains: map[string]string{}, users: map[string]string{}}
	for from, to := range a.Domains {
		n.domains[foldDomain(from)] = foldDomain(to)
	}
	for user, email := range a.Users {
		n.users[strings.ToUpper(strings.TrimSpace(user))] = NormalizeEmail(email)
	}
	return n
}

func foldDomain(d string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
}

// NormalizeEmail trims and lower-cases an address without applying any alias.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// Resolution says how a user's address was obtained, so lint can report who
// matches only thanks to aliasing.
type Resolution int

// The ways a user's address can be resolved.
const (
	Direct   Resolution = iota // EMAIL as stored, normalized
	Override                   // a per-user override
	Aliased                    // EMAIL with its domain aliased
)

// User returns the address a Snowflake user maps to and how it was found. A per-user
// override wins and is final; otherwise the stored EMAIL is normalized and its domain
// aliased. The result may still be invalid: check it with ValidEmail.
func (n *Normalizer) User(name, email string) (string, Resolution) {
	if o, ok := n.users[strings.ToUpper(strings.TrimSpace(name))]; ok {
		return o, Override
	}
	return n.Email(email)
}

// Email normalizes an address a viewer presents (or Snowflake stores) and applies the
// domain aliases, so both sides of the guard agree on one spelling.
func (n *Normalizer) Email(email string) (string, Resolution) {
	e := NormalizeEmail(email)
	at := strings.LastIndexByte(e, '@')
	if at < 0 {
		return e, Direct
	}
	if to, ok := n.domains[e[at+1:]]; ok {
		return e[:at+1] + to, Aliased
	}
	return e, Direct
}

// ValidEmail reports whether a normalized address is usable as a person's identity:
// one @, a non-empty local part without spaces or separators, and a domain of at
// least two dot-separated labels of letters (any script), digits, hyphens and
// underscores, whose last label is not a number. Service accounts with numeric IDs
// and "eve@example" fail; unusual but real addresses pass, because leaving a person
// out locks them out.
func ValidEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	if at <= 0 || at != strings.LastIndexByte(e, '@') || len(e) > 254 {
		return false
	}
	for _, r := range e[:at] {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(",;<>()[]\\\"", r) {
			return false
		}
	}
	labels := strings.Split(e[at+1:], ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return utf8.RuneCountInString(tld) >= 2 && strings.IndexFunc(tld, unicode.IsLetter) >= 0
}
