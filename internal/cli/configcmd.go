package cli

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/snowflake"
)

// model.Redacted replaces every secret the config command prints.

func configCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "print the effective configuration as YAML, secrets redacted",
		Description: `Prints every setting grantmirror would run with, as YAML: each key merged from flags,
the environment (GRANTMIRROR_*), the config file and the built-in defaults, in that order
of precedence, with the Snowflake defaults applied to each account. Secrets never
appear: passwords in DSNs and URLs, and every password, passphrase, token and private
key, are printed as xxxxx when set; *_file settings are paths and printed as they are.
The output is itself a valid config file.

Examples:
   grantmirror config --config grantmirror.yaml
   GRANTMIRROR_TARGET=postgres://gm:secret@db/app grantmirror config --mode granted`,
		Flags: configFlags(),
		Action: e.action(func(c *cli.Context) error {
			sf, err := e.cfg.snowflakeConfig()
			if err != nil {
				return err
			}
			doc := effectiveConfig(e.cfg, sf.WithDefaults())
			enc := yaml.NewEncoder(e.stdout)
			enc.SetIndent(2)
			if err := enc.Encode(doc); err != nil {
				return fmt.Errorf("print config: %w", err)
			}
			return enc.Close()
		}),
	}
}

// snowflakeConfig decodes the snowflake section, then gives each account the
// secrets the environment holds (GRANTMIRROR_SNOWFLAKE_PRIVATE_KEY,
// _PRIVATE_KEY_PASSPHRASE, _PASSWORD, _TOKEN) that its authenticator uses and
// that it sets neither as a value nor as a *_file of its own. An account with no
// authenticator and no credential takes the one kind of secret the environment
// holds, when it holds exactly one.
func (c *Config) snowflakeConfig() (snowflake.Config, error) {
	var sf snowflake.Config
	// AllSettings rather than UnmarshalKey: once a snowflake key is set from the
	// environment, viper's Get("snowflake") returns that key alone and hides the
	// accounts of the config file.
	section, _ := c.v.AllSettings()["snowflake"].(map[string]any)
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           &sf,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(), mapstructure.StringToSliceHookFunc(",")),
	})
	if err != nil {
		return sf, err
	}
	if err := dec.Decode(section); err != nil {
		return sf, usageErr("config snowflake: %v", err)
	}
	env := struct{ key, passphrase, password, token string }{
		c.v.GetString("snowflake::private_key"), c.v.GetString("snowflake::private_key_passphrase"),
		c.v.GetString("snowflake::password"), c.v.GetString("snowflake::token"),
	}
	fill := func(dst *string, file, value string) {
		if *dst == "" && file == "" {
			*dst = value
		}
	}
	for i := range sf.Accounts {
		a := &sf.Accounts[i]
		auth := snowflake.Config{Accounts: []snowflake.Account{*a}}.WithDefaults().Accounts[0].Authenticator
		noCredential := a.PrivateKey+a.PrivateKeyFile+a.Password+a.PasswordFile+a.Token+a.TokenFile == ""
		if auth == "" && noCredential {
			switch {
			case env.key != "" && env.password == "" && env.token == "":
				auth = snowflake.AuthJWT
			case env.key == "" && env.password != "" && env.token == "":
				auth = snowflake.AuthPassword
			case env.key == "" && env.password == "" && env.token != "":
				auth = snowflake.AuthOAuth
			}
		}
		switch auth {
		case snowflake.AuthJWT:
			fill(&a.PrivateKey, a.PrivateKeyFile, env.key)
			fill(&a.PrivateKeyPassphrase, a.PrivateKeyPassphraseFile, env.passphrase)
		case snowflake.AuthPassword:
			fill(&a.Password, a.PasswordFile, env.password)
		case snowflake.AuthOAuth:
			fill(&a.Token, a.TokenFile, env.token)
		}
	}
	return sf, nil
}

// effectiveConfig is the YAML document of the config command: every key of
// cfg in declaration order, then the snowflake section.
func effectiveConfig(cfg *Config, sf snowflake.Config) *yaml.Node {
	doc := configNode(reflect.ValueOf(*cfg), "")
	doc.Content = append(doc.Content, scalar("!!str", "snowflake"), configNode(reflect.ValueOf(sf), "snowflake"))
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}
}

var durationType = reflect.TypeFor[time.Duration]()

// configNode renders a config value as YAML under its mapstructure key names,
// redacting by key: every secret, and every password inside a URL.
func configNode(v reflect.Value, key string) *yaml.Node {
	switch {
	case v.Type() == durationType:
		return scalar("!!str", time.Duration(v.Int()).String())
	case v.Kind() == reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			n.Content = append(n.Content, scalar("!!str", name), configNode(v.Field(i), name))
		}
		return n
	case v.Kind() == reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			// Map keys are data (domains, user names), not settings: a user
			// named TOKEN_SVC is no secret.
			n.Content = append(n.Content, scalar("!!str", k.String()), configNode(v.MapIndex(k), ""))
		}
		return n
	case v.Kind() == reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		if v.Type().Elem().Kind() != reflect.Struct {
			n.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			n.Content = append(n.Content, configNode(v.Index(i), key))
		}
		return n
	case v.Kind() == reflect.String:
		s := v.String()
		if s != "" && isSecretKey(key) {
			return scalar("!!str", model.Redacted)
		}
		return scalar("!!str", model.RedactDSN(s))
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case v.CanInt():
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case v.CanFloat():
		return scalar("!!float", strconv.FormatFloat(v.Float(), 'g', -1, 64))
	}
	return scalar("!!str", fmt.Sprint(v.Interface()))
}

// isSecretKey reports whether a setting holds a secret: any key about a
// password, passphrase, token, private key or webhook URL, except the *_file keys that hold
// the path of one.
func isSecretKey(key string) bool {
	if strings.HasSuffix(key, "_file") {
		return false
	}
	for _, w := range []string{"password", "passphrase", "token", "private_key", "webhook_url"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}
