package snowflake

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults applied by WithDefaults.
const (
	DefaultHistoryDays  = 90
	DefaultQueryTimeout = 15 * time.Minute
	// maxHistoryDays is how long ACCESS_HISTORY keeps rows.
	maxHistoryDays = 365
)

// Authenticators an account may use.
const (
	// AuthJWT is key-pair authentication: the recommended way for jobs, as no
	// password can be phished and the key can be rotated without downtime.
	AuthJWT = "jwt"
	// AuthPassword is user name and password.
	AuthPassword = "password"
	// AuthOAuth is an OAuth access token obtained elsewhere.
	AuthOAuth = "oauth"
)

// Config is the Snowflake side of grantmirror's configuration: which accounts to
// read and how. Its mapstructure tags let viper decode it, e.g. from YAML:
//
//	snowflake:
//	  history_days: 90
//	  query_timeout: 15m
//	  allow_partial: [SANDBOX]
//	  accounts:
//	    - name: PROD
//	      account: myorg-prod
//	      user: GRANTMIRROR
//	      role: GRANTMIRROR_READER
//	      warehouse: GRANTMIRROR_WH
//	      authenticator: jwt
//	      private_key_file: /var/run/secrets/snowflake/rsa_key.p8
//	      private_key_passphrase_file: /var/run/secrets/snowflake/passphrase
//
// The role needs IMPORTED PRIVILEGES on the SNOWFLAKE database, or the database
// roles SNOWFLAKE.GOVERNANCE_VIEWER and SNOWFLAKE.SECURITY_VIEWER, and a warehouse
// to run the queries on.
type Config struct {
	// HistoryDays is how many days of ACCESS_HISTORY to aggregate (1 to 365);
	// 0 means DefaultHistoryDays.
	HistoryDays int `mapstructure:"history_days"`
	// QueryTimeout bounds each query, from sending it to the last row written;
	// 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration `mapstructure:"query_timeout"`
	// AllowPartial names accounts that may fail without failing the extract:
	// they are skipped, logged and listed in Result.Skipped.
	AllowPartial []string `mapstructure:"allow_partial"`
	// Accounts to extract, in order.
	Accounts []Account `mapstructure:"accounts"`
}

// Account is one Snowflake account to extract. Secrets come from files (a
// mounted Kubernetes Secret) or from the config layer, which may fill
// private_key, password or token from the environment; they never appear in
// String, logs or errors.
type Account struct {
	// Name is the account's name in the mirror and its directory in a
	// multi-account snapshot; empty means Account.
	Name string `mapstructure:"name"`
	// Account is Snowflake's account identifier, e.g. myorg-prod or xy12345.eu-west-1.
	Account   string `mapstructure:"account"`
	User      string `mapstructure:"user"`
	Role      string `mapstructure:"role"`
	Warehouse string `mapstructure:"warehouse"`
	// Host, Port and Protocol override the address derived from Account, for
	// private link endpoints and for tests; Protocol is https (default) or http.
	Host     string `mapstructure:"host"`
	Port     int    `mapstructure:"port"`
	Protocol string `mapstructure:"protocol"`
	// Authenticator is jwt, password or oauth; empty means the one whose
	// credential is set.
	Authenticator string `mapstructure:"authenticator"`

	// PrivateKey is a PEM private key (PKCS#8, possibly encrypted, or PKCS#1)
	// for jwt, typically filled from the environment; PrivateKeyFile names a
	// file holding one instead.
	PrivateKey               string `mapstructure:"private_key"`
	PrivateKeyFile           string `mapstructure:"private_key_file"`
	PrivateKeyPassphrase     string `mapstructure:"private_key_passphrase"`
	PrivateKeyPassphraseFile string `mapstructure:"private_key_passphrase_file"`
	Password                 string `mapstructure:"password"`
	PasswordFile             string `mapstructure:"password_file"`
	Token                    string `mapstructure:"token"`
	TokenFile                string `mapstructure:"token_file"`
}

// WithDefaults returns c with the defaults filled in: history days, query
// timeout, account names and authenticators inferred from the credential set.
func (c Config) WithDefaults() Config {
	if c.HistoryDays == 0 {
		c.HistoryDays = DefaultHistoryDays
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	c.Accounts = append([]Account(nil), c.Accounts...)
	for i := range c.Accounts {
		c.Accounts[i] = c.Accounts[i].withDefaults()
	}
	return c
}

func (a Account) withDefaults() Account {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		a.Name = strings.TrimSpace(a.Account)
	}
	a.Authenticator = strings.ToLower(strings.TrimSpace(a.Authenticator))
	if a.Authenticator == "" {
		var kinds []string
		if a.PrivateKey != "" || a.PrivateKeyFile != "" {
			kinds = append(kinds, AuthJWT)
		}
		if a.Password != "" || a.PasswordFile != "" {
			kinds = append(kinds, AuthPassword)
		}
		if a.Token != "" || a.TokenFile != "" {
			kinds = append(kinds, AuthOAuth)
		}
		if len(kinds) == 1 {
			a.Authenticator = kinds[0]
		}
	}
	return a
}

// Validate checks the configuration, defaults applied, without reading any
// file. It reports every problem at once, each naming the account and the
// setting; the error wraps ErrConfig.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if len(c.Accounts) == 0 {
		add("accounts: none configured; list at least one account to extract")
	}
	if c.HistoryDays < 1 || c.HistoryDays > maxHistoryDays {
		add("history_days %d: want 1 to %d (ACCESS_HISTORY keeps a year)", c.HistoryDays, maxHistoryDays)
	}
	if c.QueryTimeout < 0 {
		add("query_timeout %s: want a positive duration such as 15m", c.QueryTimeout)
	}
	names := map[string]int{}
	for i, a := range c.Accounts {
		where := fmt.Sprintf("accounts[%d]", i)
		if a.Name != "" {
			where += " (" + a.Name + ")"
		}
		for _, p := range a.problems() {
			problems = append(problems, fmt.Errorf("%s: %w", where, p))
		}
		key := strings.ToUpper(a.Name)
		if key == "" {
			continue
		}
		if j, dup := names[key]; dup {
			add("%s: name %q is already used by accounts[%d]; names must differ (case-insensitively), as each becomes a directory", where, a.Name, j)
			continue
		}
		names[key] = i
	}
	for _, n := range c.AllowPartial {
		if _, ok := names[strings.ToUpper(strings.TrimSpace(n))]; !ok {
			add("allow_partial: %q is not the name of a configured account", n)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(problems...))
	}
	return nil
}

func (a Account) problems() []error {
	var out []error
	add := func(format string, args ...any) { out = append(out, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(a.Account) == "" {
		add("account is required (the account identifier, e.g. myorg-prod)")
	}
	if strings.TrimSpace(a.User) == "" {
		add("user is required")
	}
	switch {
	case a.Name == "":
	case a.Name == "." || a.Name == ".." || strings.HasPrefix(a.Name, "."):
		add("name %q cannot start with a dot: it becomes a directory name", a.Name)
	case strings.ContainsAny(a.Name, `/\`+"\x00"):
		add("name %q cannot contain a slash: it becomes a directory name", a.Name)
	}
	switch a.Protocol {
	case "", "http", "https":
	default:
		add("protocol %q: want https or http", a.Protocol)
	}
	if a.Port < 0 || a.Port > 65535 {
		add("port %d: want 1 to 65535", a.Port)
	}
	if strings.Contains(a.Host, "://") || strings.Contains(a.Host, "/") {
		add("host %q: want a host name only; put the scheme in protocol and the port in port", a.Host)
	}
	both := func(value, file, name string) {
		if value != "" && file != "" {
			add("both %s and %s_file are set; keep one", name, name)
		}
	}
	both(a.PrivateKey, a.PrivateKeyFile, "private_key")
	both(a.PrivateKeyPassphrase, a.PrivateKeyPassphraseFile, "private_key_passphrase")
	both(a.Password, a.PasswordFile, "password")
	both(a.Token, a.TokenFile, "token")
	hasKey := a.PrivateKey != "" || a.PrivateKeyFile != ""
	hasPass := a.PrivateKeyPassphrase != "" || a.PrivateKeyPassphraseFile != ""
	hasPassword := a.Password != "" || a.PasswordFile != ""
	hasToken := a.Token != "" || a.TokenFile != ""
	unused := func(set bool, name string) {
		if set {
			add("%s is set but authenticator is %s; remove it or change the authenticator", name, a.Authenticator)
		}
	}
	switch a.Authenticator {
	case "":
		add("authenticator is required: jwt (key pair, recommended for jobs), password or oauth; " +
			"it is inferred only when exactly one of private_key, password and token is set")
	case AuthJWT:
		if !hasKey {
			add("authenticator jwt needs private_key or private_key_file")
		}
		unused(hasPassword, "password")
		unused(hasToken, "token")
	case AuthPassword:
		if !hasPassword {
			add("authenticator password needs password or password_file")
		}
		unused(hasKey, "private_key")
		unused(hasPass, "private_key_passphrase")
		unused(hasToken, "token")
	case AuthOAuth:
		if !hasToken {
			add("authenticator oauth needs token or token_file")
		}
		unused(hasKey, "private_key")
		unused(hasPass, "private_key_passphrase")
		unused(hasPassword, "password")
	default:
		add("authenticator %q: want jwt, password or oauth", a.Authenticator)
	}
	return out
}

// allowsPartial reports whether the account named name may fail alone.
func (c Config) allowsPartial(name string) bool {
	for _, n := range c.AllowPartial {
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return true
		}
	}
	return false
}

// credentials are an account's secrets, read from wherever the config says.
type credentials struct {
	privateKey []byte
	passphrase []byte
	password   string
	token      string
}

// readCredentials reads the secrets of a, from files when so configured. Errors
// name the setting and the file, never the content.
func (a Account) readCredentials() (credentials, error) {
	var c credentials
	read := func(value, file, name string) (string, error) {
		if file == "" {
			return value, nil
		}
		b, err := os.ReadFile(filepath.Clean(file))
		if err != nil {
			return "", fmt.Errorf("%w: %s_file: %w", ErrConfig, name, err)
		}
		return string(b), nil
	}
	key, err := read(a.PrivateKey, a.PrivateKeyFile, "private_key")
	if err != nil {
		return c, err
	}
	pass, err := read(a.PrivateKeyPassphrase, a.PrivateKeyPassphraseFile, "private_key_passphrase")
	if err != nil {
		return c, err
	}
	password, err := read(a.Password, a.PasswordFile, "password")
	if err != nil {
		return c, err
	}
	token, err := read(a.Token, a.TokenFile, "token")
	if err != nil {
		return c, err
	}
	// Files written by editors and secret stores often end with a newline that
	// is not part of the secret.
	c.privateKey = []byte(key)
	c.passphrase = []byte(strings.TrimRight(pass, "\r\n"))
	c.password = strings.TrimRight(password, "\r\n")
	c.token = strings.TrimSpace(token)
	return c, nil
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	names := make([]string, len(c.Accounts))
	for i, a := range c.Accounts {
		names[i] = a.String()
	}
	return fmt.Sprintf("snowflake: history_days=%d query_timeout=%s allow_partial=%v accounts=[%s]",
		c.HistoryDays, c.QueryTimeout, c.AllowPartial, strings.Join(names, "; "))
}

// GoString keeps %#v from printing the secrets of the accounts.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration without its secrets.
func (c Config) LogValue() slog.Value {
	accounts := make([]string, len(c.Accounts))
	for i, a := range c.Accounts {
		accounts[i] = a.String()
	}
	return slog.GroupValue(
		slog.Int("history_days", c.HistoryDays),
		slog.Duration("query_timeout", c.QueryTimeout),
		slog.Any("allow_partial", c.AllowPartial),
		slog.Any("accounts", accounts),
	)
}

// String describes the account: where it is, who logs in and how, and which
// secret sources are set, never the secrets themselves.
func (a Account) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (account=%s user=%s", a.Name, a.Account, a.User)
	if a.Role != "" {
		fmt.Fprintf(&b, " role=%s", a.Role)
	}
	if a.Warehouse != "" {
		fmt.Fprintf(&b, " warehouse=%s", a.Warehouse)
	}
	if a.Host != "" {
		fmt.Fprintf(&b, " host=%s", a.Host)
	}
	if a.Port != 0 {
		fmt.Fprintf(&b, " port=%d", a.Port)
	}
	if a.Protocol != "" {
		fmt.Fprintf(&b, " protocol=%s", a.Protocol)
	}
	if a.Authenticator != "" {
		fmt.Fprintf(&b, " authenticator=%s", a.Authenticator)
	}
	secret := func(value, file, name string) {
		switch {
		case file != "":
			fmt.Fprintf(&b, " %s_file=%s", name, file)
		case value != "":
			fmt.Fprintf(&b, " %s=[redacted]", name)
		}
	}
	secret(a.PrivateKey, a.PrivateKeyFile, "private_key")
	secret(a.PrivateKeyPassphrase, a.PrivateKeyPassphraseFile, "private_key_passphrase")
	secret(a.Password, a.PasswordFile, "password")
	secret(a.Token, a.TokenFile, "token")
	b.WriteString(")")
	return b.String()
}

// GoString keeps %#v from printing the secrets.
func (a Account) GoString() string { return a.String() }

// LogValue logs the account without its secrets.
func (a Account) LogValue() slog.Value { return slog.StringValue(a.String()) }
