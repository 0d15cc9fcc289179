package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnknownConfigKeys: a misspelled key in the file is an error that names
// the file, the line and the key it was meant to be; nothing runs.
func TestUnknownConfigKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, want string }{
		{"nested", "mode: effective\nemail:\n  domain_alias:\n    corp-sub.example: example.com\n",
			":3: unknown key email.domain_alias; did you mean email.domain_aliases?"},
		{"top level", "keep: 3\nmax_revoke_ration: 0.5\n", ":2: unknown key max_revoke_ration; did you mean max_revoke_ratio?"},
		{"in a list", "snowflake:\n  accounts:\n    - name: A\n      acount: x\n", ":4: unknown key snowflake.accounts[…].acount; did you mean snowflake.accounts[…].account?"},
		{"far from any key", "colour: blue\n", ":1: unknown key colour (grantmirror.example.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tc.text)
			r := run(t, "config", "--config", path)
			require.Equal(t, ExitError, r.code, r.stdout)
			require.Contains(t, r.stderr, path+tc.want)
			require.Empty(t, r.stdout, "nothing runs with a config it cannot read")
		})
	}
	// Keys whose values are data are not settings: any domain or user name goes.
	r := run(t, "config", "--config", writeConfig(t, "email:\n  domain_aliases:\n    Any.Domain: example.com\n  overrides:\n    SVC_USER: team@example.com\n"))
	require.Equal(t, ExitOK, r.code, r.stderr)
	// Keys are case-insensitive, as viper reads them.
	r = run(t, "config", "--config", writeConfig(t, "Keep: 4\n"))
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "keep: 4\n")
}

// TestUnknownEnvironmentVariables: a GRANTMIRROR_* variable that sets nothing
// is an error with the nearest variable; one that names a key the environment
// cannot set says so.
func TestUnknownEnvironmentVariables(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"GRANTMIRROR_MAX_REVOKE_RATION", "0.5", "GRANTMIRROR_MAX_REVOKE_RATION names no setting; did you mean GRANTMIRROR_MAX_REVOKE_RATIO?"},
		{"GRANTMIRROR_TARGT", "dir:/x", "did you mean GRANTMIRROR_TARGET?"},
		{"GRANTMIRROR_EMAIL_DOMAIN_ALIASES", "a=b", "email.domain_aliases cannot be set from the environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			r := run(t, "config")
			require.Equal(t, ExitError, r.code, r.stdout)
			require.Contains(t, r.stderr, "environment: "+tc.name)
			require.Contains(t, r.stderr, tc.want)
		})
	}
	t.Run("variables of the tests and the example API", func(t *testing.T) {
		t.Setenv("GRANTMIRROR_HASH_KEY", "k")
		t.Setenv("GRANTMIRROR_MAX_REVOKE_RATIO", "0.5")
		r := run(t, "config")
		require.Equal(t, ExitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, "max_revoke_ratio: 0.5\n")
	})
}

// chartLeavesOut are the config keys the Helm chart does not expose, and why;
// every other key must be in values.schema.json, so a key added to the config
// is either offered by the chart or deliberately left out here.
var chartLeavesOut = map[string]string{
	"target":                                      "the DSN comes from a Secret as GRANTMIRROR_TARGET",
	"force":                                       "a deliberate one-off run passes --force in extraArgs",
	"history_days":                                "the default retention of the access history",
	"log_level":                                   "the chart's top-level logLevel value, passed as --log-level",
	"log_format":                                  "the chart's top-level logFormat value, passed as --log-format",
	"pushgateway":                                 "the chart's top-level pushgateway.url value, passed as --pushgateway",
	"policy_fallback":                             "the chart keeps the default: deny what a policy grantmirror cannot translate",
	"notifications":                               "the chart's top-level notifications values",
	"notifications.webhook_url":                   "from a Secret (notifications.webhookSecretName) as GRANTMIRROR_NOTIFICATIONS_WEBHOOK_URL",
	"notifications.max_attempts":                  "the default retries of a webhook delivery",
	"notifications.backoff":                       "the default backoff of a webhook delivery",
	"snowflake.private_key":                       "keys are mounted from keySecret as files",
	"snowflake.private_key_passphrase":            "keys are mounted from keySecret as files",
	"snowflake.password":                          "the chart authenticates with key pairs only",
	"snowflake.token":                             "the chart authenticates with key pairs only",
	"snowflake.accounts[].host":                   "PrivateLink endpoints are not offered by the chart",
	"snowflake.accounts[].port":                   "see host",
	"snowflake.accounts[].protocol":               "see host",
	"snowflake.accounts[].authenticator":          "always jwt, rendered by the chart",
	"snowflake.accounts[].private_key":            "keys are mounted from keySecret as files",
	"snowflake.accounts[].password":               "the chart authenticates with key pairs only",
	"snowflake.accounts[].password_file":          "the chart authenticates with key pairs only",
	"snowflake.accounts[].token":                  "the chart authenticates with key pairs only",
	"snowflake.accounts[].token_file":             "the chart authenticates with key pairs only",
	"snowflake.accounts[].private_key_passphrase": "mounted from keySecret as a file",
	// The chart renders these two from keySecret.
	"snowflake.accounts[].private_key_file":            "rendered from keySecret.privateKey",
	"snowflake.accounts[].private_key_passphrase_file": "rendered from keySecret.passphrase",
}

// chartOnly are keys of the chart's config values that are not config keys:
// the chart turns them into others.
var chartOnly = map[string]bool{"snowflake.accounts[].key_secret": true}

// TestChartSchemaMatchesConfig keeps charts/grantmirror/values.schema.json in
// step with the config: every key the chart's config values may hold is a key
// grantmirror knows (else the rendered file would be refused), and every key
// grantmirror knows is offered by the chart or listed in chartLeavesOut.
func TestChartSchemaMatchesConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repo, "charts", "grantmirror", "values.schema.json"))
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(b, &schema))
	defs, _ := schema["definitions"].(map[string]any)
	config := schema["properties"].(map[string]any)["config"].(map[string]any)
	offered := map[string]bool{}
	schemaKeys(config, "", defs, offered)
	require.NotEmpty(t, offered)

	keys := configKeys()
	for k := range offered {
		if chartOnly[k] {
			continue
		}
		_, ok := keys[k]
		require.True(t, ok, "values.schema.json offers config.%s, which grantmirror does not know", k)
	}
	for k := range keys {
		if offered[k] {
			continue
		}
		_, left := chartLeavesOut[k]
		require.True(t, left, "config key %s is neither in values.schema.json nor in chartLeavesOut", k)
	}
	for k := range chartLeavesOut {
		_, ok := keys[k]
		require.True(t, ok, "chartLeavesOut names %s, which is no config key", k)
		require.False(t, offered[k], "%s is in values.schema.json: drop it from chartLeavesOut", k)
	}
}

var upper = regexp.MustCompile(`[A-Z]`)

// schemaKeys collects the dotted snake_case keys of a JSON schema object.
func schemaKeys(node map[string]any, prefix string, defs map[string]any, out map[string]bool) {
	if ref, ok := node["$ref"].(string); ok {
		node = defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
	}
	props, _ := node["properties"].(map[string]any)
	for name, child := range props {
		key := strings.ToLower(upper.ReplaceAllString(name, "_$0"))
		if prefix != "" {
			key = prefix + "." + key
		}
		out[key] = true
		c := child.(map[string]any)
		if ref, ok := c["$ref"].(string); ok {
			c = defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
		}
		switch {
		case c["type"] == "array":
			if items, ok := c["items"].(map[string]any); ok {
				if chartOnly[key+"[]"] {
					continue
				}
				schemaKeys(items, key+"[]", defs, out)
			}
		case c["type"] == "object" && c["properties"] != nil:
			if !chartOnly[key] {
				schemaKeys(c, key, defs, out)
			}
		}
	}
}
