package pgstore

import (
	"regexp"
	"strings"
)

// keywordDSN matches the start of a keyword/value connection string
// (host=db user=gm password=…): a libpq keyword, then an equals sign.
var keywordDSN = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|passfile|sslmode|sslrootcert|sslcert|sslkey|application_name|connect_timeout|options|service|target_session_attrs)\s*=`)

// IsDSN reports whether target names a Postgres database: a postgres:// or
// postgresql:// URL, or a keyword/value string that starts with a libpq
// keyword. Whether it is a valid one is for Open to say, naming what is wrong.
func IsDSN(target string) bool {
	if strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") {
		return true
	}
	return keywordDSN.MatchString(target)
}
