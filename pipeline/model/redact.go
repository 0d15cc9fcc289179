package model

import (
	"net/url"
	"regexp"
)

// Redacted replaces a secret wherever one would be printed.
const Redacted = "xxxxx"

var (
	// keywordPassword matches password=... in a keyword/value connection string,
	// quoted or not.
	keywordPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)`)
	// urlPassword matches the password of a URL that net/url cannot parse.
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)
)

// RedactDSN returns dsn with its password replaced, whether it is a URL
// (postgres://user:secret@host/db, or ?password=secret) or a keyword/value string
// (host=db password=secret). Use it for every DSN printed in a log or an error.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Redacted)
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", Redacted)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	dsn = urlPassword.ReplaceAllString(dsn, "${1}"+Redacted+"@")
	return keywordPassword.ReplaceAllString(dsn, "${1}"+Redacted)
}
