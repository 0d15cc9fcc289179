package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/viper"
	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
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
	Email          EmailConfig    `mapstructure:"email"`
	Postgres       PostgresConfig `mapstructure:"postgres"`
	LocalGrants    LocalGrants    `mapstructure:"local_grants"`
	LogLevel       string         `mapstructure:"log_level"`
	LogFormat      string         `mapstructure:"log_format"`
	// Pushgateway is the URL of a Prometheus Pushgateway that receives the
	// metrics of a one-shot sync when it ends; empty pushes nothing.
	Pushgateway string `mapstructure:"pushgateway"`

	// v keeps the merged settings so sections owned by other packages (the
	// Snowflake accounts) can be decoded into their own types.
	v *viper.Viper
}

// EmailConfig maps Snowflake's addresses to the ones people sign in with.
type EmailConfig struct {
	DomainAliases map[string]string `mapstructure:"domain_aliases"`
	Overrides     map[string]string `mapstructure:"overrides"`
}

// LocalGrants is the policy of `grantmirror grant add`: what local grants may give
// and for how long. Empty fields mean pgstore.DefaultGrantPolicy's.
type LocalGrants struct {
	Allow       []pgstore.GrantAllow `mapstructure:"allow"`
	MaxDuration string               `mapstructure:"max_duration"`
}

// PostgresConfig tunes the Postgres target.
type PostgresConfig struct {
	Schema string `mapstructure:"schema"`
}

// defaults are the values used when nothing else sets a key.
var defaults = map[string]any{
	"target":           "dir:./grantmirror-data",
	"mode":             string(pipeline.Effective),
	"roles":            string(pipeline.AllRoles),
	"max_revoke_ratio": 0.2,
	"max_add_ratio":    0.5,
	"keep":             3,
	"history_days":     365,
	"postgres::schema": "grantmirror",
	"log_level":        "info",
	"log_format":       "auto",
	"pii_tags":         pipeline.DefaultPIITags,
}

// envKeys are bound explicitly, so an environment variable works even when the
// config file does not mention the key.
var envKeys = []string{
	"source", "target", "mode", "roles", "max_revoke_ratio", "max_add_ratio", "force", "keep", "history_days", "pii_tags",
	"postgres::schema", "log_level", "log_format", "pushgateway",
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
	if path := c.String("config"); path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, usageErr("read config %s: %v", path, err)
		}
	}
	for _, k := range envKeys {
		name := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(k, keyDelim, "_"))
		if val, ok := os.LookupEnv(name); ok {
			v.Set(k, val)
		}
	}
	for flag, key := range flagKeys {
		if c.IsSet(flag) {
			v.Set(key, c.Value(flag))
		}
	}
	var cfg Config
	if err := v.Unmarshal(&cfg); err != nil {
		return nil, usageErr("config: %v", err)
	}
	cfg.v = v
	if def := pgstore.DefaultGrantPolicy(); cfg.LocalGrants.Allow == nil {
		cfg.LocalGrants.Allow = def.Allow
	}
	if cfg.LocalGrants.MaxDuration == "" {
		cfg.LocalGrants.MaxDuration = fmt.Sprintf("%gd", pgstore.DefaultGrantMaxDuration.Hours()/24)
	}
	return &cfg, nil
}

// flattenOptions turns the config into flatten options.
func (c *Config) flattenOptions() (pipeline.Options, error) {
	o := pipeline.Options{
		Mode:    pipeline.Mode(c.Mode),
		Roles:   pipeline.RoleMode(c.Roles),
		Aliases: ident.Aliases{Domains: c.Email.DomainAliases, Users: c.Email.Overrides},
		PIITags: c.PIITags,
	}
	if err := o.Validate(); err != nil {
		return o, usageErr("%v", err)
	}
	return o, nil
}

func (c *Config) publishOptions() (pipeline.PublishOptions, error) {
	o := pipeline.PublishOptions{MaxRevokeRatio: c.MaxRevokeRatio, MaxAddRatio: c.MaxAddRatio, Force: c.Force, Keep: c.Keep}
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
