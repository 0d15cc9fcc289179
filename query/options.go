package query

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
)

// Mode says how a statement enforces the mirror. The zero value is Enforce, so a
// forgotten setting filters rather than leaks.
type Mode int

const (
	// Enforce filters rows through the guards and masks PII columns.
	Enforce Mode = iota
	// Shadow returns every row unmasked, as if grantmirror were not there, and
	// measures what Enforce would have hidden: the SQL carries a last boolean column
	// named "visible", which Query and Collect consume, count and log (see
	// Stmt.Query). Teams run it to measure mismatches before switching enforcement on.
	Shadow
	// Off returns every row unmasked and adds nothing.
	Off
)

// String names the mode as configuration files spell it.
func (m Mode) String() string {
	switch m {
	case Enforce:
		return "enforce"
	case Shadow:
		return "shadow"
	case Off:
		return "off"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads "enforce", "shadow" or "off".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Enforce, Shadow, Off} {
		if s == m.String() {
			return m, nil
		}
	}
	return Enforce, fmt.Errorf("%w: mode %q (want enforce, shadow or off)", ErrOptions, s)
}

// DefaultSchema is where the sync publishes the mirror unless configured otherwise.
const DefaultSchema = "grantmirror"

// DefaultMaxStaleness is the snapshot age after which a mirror no longer admits rows
// when Options.MaxStaleness is zero. ACCOUNT_USAGE lags up to two hours and the sync
// usually runs hourly, so a snapshot older than six hours means the job is failing.
const DefaultMaxStaleness = 6 * time.Hour

// NoStalenessLimit, as Options.MaxStaleness, accepts a mirror of any age. A mirror
// that was never published still admits no row.
const NoStalenessLimit time.Duration = -1

// Options configure a Builder. The zero value enforces against grantmirror.access
// with the default staleness limit.
type Options struct {
	// AccessTable is the published access view, default Schema + ".access".
	AccessTable string
	// Schema holds memberships, current, masked_columns and row_policies; default
	// "grantmirror".
	Schema string
	// Mode applies when Modes is nil.
	Mode Mode
	// Modes, when set, chooses the mode per tenant (see WithTenant and Rollout).
	Modes ModeResolver
	// MaxStaleness is how old the mirror's knowledge may be before guards admit
	// nothing and masks hide everything: the age of the Snowflake snapshot the
	// current generation was computed from (current.snapshot_at), not of its publish,
	// or of the publish when the snapshot recorded no extraction time. Zero means
	// DefaultMaxStaleness, NoStalenessLimit disables the age check.
	MaxStaleness time.Duration
	// HashKey keys the Hash mask's HMAC-SHA256. Keep it secret and stable: a new key
	// changes every hashed value.
	HashKey []byte
	// EmailDomains maps a viewer's domain to the one the mirror uses, the same
	// aliases the sync applies ("sub.example" → "example.com").
	EmailDomains map[string]string
	// Account, when set, restricts guards, role checks and masks to one Snowflake
	// account of a multi-account mirror.
	Account string
	// ObjectTypes and Privileges extend the known GRANTED_ON words and privileges,
	// for objects Snowflake adds after this release.
	ObjectTypes []string
	Privileges  []string
	// Now is the clock staleness and rollouts are judged by, default time.Now.
	Now func() time.Time
	// Logger receives shadow-mode mismatches, one Info record per statement that
	// served rows Enforce would have hidden; default slog.Default().
	Logger *slog.Logger
}

// Builder builds guarded statements. It is immutable and safe for concurrent use.
type Builder struct {
	access      name
	memberships name
	current     name
	masked      name
	rowPolicies name
	// counts is the schema's viewer_objects, which a split statement reads when the
	// builder learned that the viewer can read it and the access view is the
	// schema's own, the one it counts (see counted).
	counts      name
	ownAccess   bool
	mode        Mode
	modes       ModeResolver
	maxAge      time.Duration
	ipad, opad  []byte
	hasKey      bool
	normalizer  *ident.Normalizer
	account     string
	objectTypes map[string]bool
	privileges  map[string]bool
	now         func() time.Time
	log         *slog.Logger
	shadow      *shadowTotals
	indexes     *indexKnowledge
}

// New validates the options and returns a Builder.
func New(o Options) (*Builder, error) {
	schemaText := o.Schema
	if schemaText == "" {
		schemaText = DefaultSchema
	}
	schema, err := fullName(schemaText, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("%w: schema: %w", ErrOptions, err)
	}
	b := &Builder{
		memberships: name{schema[0], "memberships"},
		current:     name{schema[0], "current"},
		masked:      name{schema[0], "masked_columns"},
		rowPolicies: name{schema[0], "row_policies"},
		access:      name{schema[0], "access"},
		counts:      name{schema[0], "viewer_objects"},
		mode:        o.Mode,
		modes:       o.Modes,
		maxAge:      o.MaxStaleness,
		normalizer:  ident.NewNormalizer(ident.Aliases{Domains: o.EmailDomains}),
		account:     o.Account,
		objectTypes: map[string]bool{},
		privileges:  map[string]bool{},
		now:         o.Now,
		log:         o.Logger,
		shadow:      &shadowTotals{},
		indexes:     &indexKnowledge{},
	}
	if o.AccessTable != "" {
		if b.access, err = fullName(o.AccessTable, 1, 2); err != nil {
			return nil, fmt.Errorf("%w: access table: %w", ErrOptions, err)
		}
	}
	b.ownAccess = b.access.equal(name{schema[0], "access"})
	if b.mode < Enforce || b.mode > Off {
		return nil, fmt.Errorf("%w: mode %d", ErrOptions, b.mode)
	}
	if b.maxAge == 0 {
		b.maxAge = DefaultMaxStaleness
	}
	if b.maxAge < 0 && b.maxAge != NoStalenessLimit {
		return nil, fmt.Errorf("%w: MaxStaleness %v is negative (use NoStalenessLimit)", ErrOptions, b.maxAge)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if len(o.HashKey) > 0 {
		b.ipad, b.opad = hmacPads(o.HashKey)
		b.hasKey = true
	}
	for _, t := range knownObjectTypes {
		b.objectTypes[t] = true
	}
	for _, t := range o.ObjectTypes {
		w := ident.Word(t)
		if !plainWord(w) {
			return nil, fmt.Errorf("%w: object type %q", ErrOptions, t)
		}
		b.objectTypes[w] = true
	}
	for _, t := range knownObjectTypes {
		for _, p := range privilege.Implied(t) {
			b.privileges[p] = true
		}
	}
	for _, p := range knownPrivileges {
		b.privileges[p] = true
	}
	for _, p := range o.Privileges {
		w := ident.Privilege(p)
		if !plainWord(w) {
			return nil, fmt.Errorf("%w: privilege %q", ErrOptions, p)
		}
		b.privileges[w] = true
	}
	return b, nil
}

// MustNew is New for package-level builders whose options are constants; it panics
// on invalid options.
func MustNew(o Options) *Builder {
	b, err := New(o)
	if err != nil {
		panic(err)
	}
	return b
}

// plainWord accepts what an extension type or privilege may look like: upper-case
// letters, digits, underscores and single spaces.
func plainWord(w string) bool {
	if w == "" {
		return false
	}
	for _, c := range []byte(w) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ' ') {
			return false
		}
	}
	return true
}

// hmacPads precomputes HMAC's inner and outer key blocks (RFC 2104), so that Postgres's
// built-in sha256() can compute HMAC-SHA256 as sha256(opad || sha256(ipad || message))
// without the pgcrypto extension. The pads are as secret as the key; they travel as
// bind parameters, like the key would with pgcrypto's hmac().
func hmacPads(key []byte) (ipad, opad []byte) {
	const block = 64
	if len(key) > block {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	ipad = make([]byte, block)
	opad = make([]byte, block)
	copy(ipad, key)
	copy(opad, key)
	for i := range block {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	return ipad, opad
}

// HashValue computes in Go what the Hash mask computes in SQL for a value's text
// form, so a caller can look up a hashed value it knows in the clear.
func (b *Builder) HashValue(text string) (string, error) {
	if !b.hasKey {
		return "", ErrNoHashKey
	}
	inner := sha256.New()
	inner.Write(b.ipad)
	inner.Write([]byte(text))
	outer := sha256.New()
	outer.Write(b.opad)
	outer.Write(inner.Sum(nil))
	sum := outer.Sum(nil)
	return fmt.Sprintf("%x", sum), nil
}

// knownObjectTypes are Snowflake's GRANTED_ON words a guard may name.
var knownObjectTypes = []string{
	"ACCOUNT", "DATABASE", "SCHEMA", "TABLE", "VIEW", "MATERIALIZED_VIEW", "EXTERNAL_TABLE",
	"DYNAMIC_TABLE", "EVENT_TABLE", "HYBRID_TABLE", "ICEBERG_TABLE", "WAREHOUSE", "STAGE",
	"FUNCTION", "PROCEDURE", "SEQUENCE", "FILE_FORMAT", "INTEGRATION", "STREAM", "TASK",
	"PIPE", "ROLE", "DATABASE_ROLE", "APPLICATION_ROLE", "APPLICATION", "USER", "TAG",
	"MASKING_POLICY", "ROW_ACCESS_POLICY", "NETWORK_POLICY", "SESSION_POLICY",
	"PASSWORD_POLICY", "AGGREGATION_POLICY", "PROJECTION_POLICY", "ALERT", "SECRET",
	"NETWORK_RULE", "NOTEBOOK", "STREAMLIT", "COMPUTE_POOL", "IMAGE_REPOSITORY", "SERVICE",
	"MODEL", "CORTEX_SEARCH_SERVICE", "SEMANTIC_VIEW", "EXTERNAL_VOLUME", "RESOURCE_MONITOR",
	"SHARE", "CONNECTION", "REPLICATION_GROUP", "FAILOVER_GROUP", "BUDGET",
}

// knownPrivileges are privileges beyond those OWNERSHIP implies (package privilege).
var knownPrivileges = []string{
	"OWNERSHIP", "USAGE", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES",
	"READ", "WRITE", "MONITOR", "OPERATE", "MODIFY", "APPLY", "APPLYBUDGET",
	"IMPORTED PRIVILEGES", "REFERENCE_USAGE", "ATTACH POLICY", "EXECUTE TASK",
	"EXECUTE MANAGED TASK", "CREATE DATABASE", "CREATE WAREHOUSE", "CREATE ROLE",
	"CREATE USER", "CREATE INTEGRATION", "CREATE SHARE", "MANAGE GRANTS",
	"IMPORT SHARE", "READ SESSION", "BIND SERVICE ENDPOINT",
}

// normalizeType checks an object type against the known words.
func (b *Builder) normalizeType(t string) (string, error) {
	w := ident.Word(t)
	if !b.objectTypes[w] {
		return "", fmt.Errorf("%w: %q", ErrObjectType, t)
	}
	return w, nil
}

// normalizePrivilege checks a privilege against the known names.
func (b *Builder) normalizePrivilege(p string) (string, error) {
	w := ident.Privilege(p)
	if !b.privileges[w] {
		return "", fmt.Errorf("%w: %q", ErrPrivilege, p)
	}
	return w, nil
}

// viewer normalizes the viewer's address the way the sync normalized the mirror's.
func (b *Builder) viewer(email string) (string, error) {
	e, _ := b.normalizer.Email(email)
	if !ident.ValidEmail(e) {
		return "", fmt.Errorf("%w: %q", ErrViewer, email)
	}
	return e, nil
}
