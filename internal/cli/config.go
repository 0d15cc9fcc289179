package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/viper"
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/explain"
	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/webhook"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// EnvPrefix prefixes every environment variable grantmirror reads.
const EnvPrefix = "GRANTMIRROR"

// keyDelim separates nested config keys inside viper. The default "." would split
// map keys such as the domain "corp-sub.example" into nested maps.
const keyDelim = "::"

// Config is the whole configuration, from flags, env, file and defaults in that
// order of precedence.
type Config struct {
	Source         string         `mapstructure:"source"`
	Target         string         `mapstructure:"target"`
	Mode           string         `mapstructure:"mode"`
	Roles          string         `mapstructure:"roles"`
	MaxRevokeRatio float64        `mapstructure:"max_revoke_ratio"`
	MaxAddRatio    float64        `mapstructure:"max_add_ratio"`
	Force          bool           `mapstructure:"force"`
	Keep           int            `mapstructure:"keep"`
	HistoryDays    int            `mapstructure:"history_days"`
	PIITags        []string       `mapstructure:"pii_tags"`
	PolicyFallback string         `mapstructure:"policy_fallback"`
	Email          EmailConfig    `mapstructure:"email"`
	Postgres       PostgresConfig `mapstructure:"postgres"`
	Notifications  Notifications  `mapstructure:"notifications"`
	LogLevel       string         `mapstructure:"log_level"`
	LogFormat      string         `mapstructure:"log_format"`
	// Pushgateway is the URL of a Prometheus Pushgateway that receives the
	// metrics of a one-shot sync when it ends; empty pushes nothing.
	Pushgateway string `mapstructure:"pushgateway"`

	// v keeps the merged settings so sections owned by other packages (the
	// Snowflake accounts) can be decoded into their own types.
	v *viper.Viper
	// explicit holds the dotted keys set by the file, the environment or a
	// flag rather than by default.
	explicit map[string]bool
}

// EmailConfig maps Snowflake's addresses to the ones people sign in with.
type EmailConfig struct {
	DomainAliases map[string]string `mapstructure:"domain_aliases"`
	Overrides     map[string]string `mapstructure:"overrides"`
}

// Notifications is where the notifications of access requests go: a
// Slack-compatible incoming webhook. Its URL is a secret (it is the credential):
// give it as GRANTMIRROR_NOTIFICATIONS_WEBHOOK_URL; it is never logged or printed.
type Notifications struct {
	WebhookURL  string        `mapstructure:"webhook_url"`
	MaxAttempts int           `mapstructure:"max_attempts"`
	Backoff     time.Duration `mapstructure:"backoff"`
}

// PostgresConfig tunes the Postgres target.
type PostgresConfig struct {
	Schema string `mapstructure:"schema"`
}

// defaults are the values used when nothing else sets a key.
var defaults = map[string]any{
	"target":                      "dir:./grantmirror-data",
	"mode":                        string(model.Effective),
	"roles":                       string(model.AllRoles),
	"max_revoke_ratio":            0.2,
	"max_add_ratio":               0.5,
	"keep":                        3,
	"history_days":                365,
	"postgres::schema":            "grantmirror",
	"log_level":                   "info",
	"log_format":                  "auto",
	"pii_tags":                    model.DefaultPIITags,
	"policy_fallback":             model.FallbackDeny,
	"notifications::webhook_url":  "",
	"notifications::max_attempts": webhook.DefaultMaxAttempts,
	"notifications::backoff":      webhook.DefaultBackoff,
}

// envKeys are bound explicitly, so an environment variable works even when the
// config file does not mention the key.
var envKeys = []string{
	"source", "target", "mode", "roles", "max_revoke_ratio", "max_add_ratio", "force", "keep", "history_days", "pii_tags", "policy_fallback",
	"postgres::schema", "log_level", "log_format", "pushgateway",
	"notifications::webhook_url", "notifications::max_attempts", "notifications::backoff",
	// Snowflake secrets for the accounts that name no file for them (see
	// snowflakeConfig), meant to come from the environment, not from a file.
	"snowflake::private_key", "snowflake::private_key_passphrase", "snowflake::password", "snowflake::token",
}

// flagKeys maps flag names to config keys; a flag set on the command line wins.
var flagKeys = map[string]string{
	"source": "source", "target": "target", "mode": "mode", "roles": "roles",
	"max-revoke-ratio": "max_revoke_ratio", "max-add-ratio": "max_add_ratio", "force": "force", "keep": "keep", "history-days": "history_days",
	"schema": "postgres::schema", "log-level": "log_level", "log-format": "log_format",
	"pushgateway": "pushgateway",
}

// loadConfig builds the Config of one command invocation.
func loadConfig(c *cli.Context) (*Config, error) {
	v := viper.NewWithOptions(viper.KeyDelimiter(keyDelim))
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	keys := configKeys()
	if err := checkEnv(os.Environ(), keys); err != nil {
		return nil, err
	}
	explicit := map[string]bool{}
	if path := c.String("config"); path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, usageErr("read config %s: %v", path, err)
		}
		set, err := checkFileKeys(path, keys)
		if err != nil {
			return nil, err
		}
		explicit = set
	}
	for _, k := range envKeys {
		if val, ok := os.LookupEnv(envName(k)); ok {
			v.Set(k, val)
			explicit[strings.ReplaceAll(k, keyDelim, ".")] = true
		}
	}
	for flag, key := range flagKeys {
		if c.IsSet(flag) {
			v.Set(key, c.Value(flag))
			explicit[strings.ReplaceAll(key, keyDelim, ".")] = true
		}
	}
	// What local grants may give is the database's policy, which only its admins
	// change (grant policy set); a config file that still says it would look
	// like it decides, and must not.
	if v.IsSet("local_grants") {
		return nil, usageErr("config local_grants: the access policy lives in the database now; remove local_grants and set it with grantmirror grant policy set (policy admins)")
	}
	var cfg Config
	if err := v.Unmarshal(&cfg); err != nil {
		return nil, usageErr("config: %v", err)
	}
	cfg.v, cfg.explicit = v, explicit
	if cfg.Notifications.WebhookURL != "" {
		if err := webhook.Check(cfg.Notifications.WebhookURL); err != nil {
			return nil, usageErr("config notifications.webhook_url: %v", err)
		}
	}
	return &cfg, nil
}

// flattenOptions turns the config into flatten options; the generation records
// them.
func (c *Config) flattenOptions() (pipeline.Options, error) {
	o := pipeline.Options{
		Mode:    model.Mode(c.Mode),
		Roles:   model.RoleMode(c.Roles),
		Aliases: ident.Aliases{Domains: c.Email.DomainAliases, Users: c.Email.Overrides},
		PIITags: c.PIITags,
		// What a row access or projection policy whose body grantmirror cannot
		// translate does: deny (nobody) unless the config says allow.
		PolicyFallback: c.PolicyFallback,
	}
	if err := o.Validate(); err != nil {
		return o, usageErr("%v", err)
	}
	return o, nil
}

// caller is the config as check, explain and lint compare it with the
// settings a generation recorded.
func (c *Config) caller() explain.Config {
	tags := c.PIITags
	if tags == nil {
		tags = model.DefaultPIITags
	}
	return explain.Config{
		Mode:  model.Mode(c.Mode),
		Roles: model.RoleMode(c.Roles),
		Settings: model.Settings{DomainAliases: c.Email.DomainAliases, Overrides: c.Email.Overrides,
			PIITags: tags},
		Explicit: func(key string) bool { return c.explicit[key] },
	}
}

func (c *Config) publishOptions() (model.PublishOptions, error) {
	o := model.PublishOptions{MaxRevokeRatio: c.MaxRevokeRatio, MaxAddRatio: c.MaxAddRatio, Force: c.Force, Keep: c.Keep}
	if err := o.Validate(); err != nil {
		return o, usageErr("%v", err)
	}
	return o, nil
}

func (c *Config) normalizer() *ident.Normalizer {
	return ident.NewNormalizer(ident.Aliases{Domains: c.Email.DomainAliases, Users: c.Email.Overrides})
}

// usageError is bad input from the person: flags, config, arguments. Exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}
