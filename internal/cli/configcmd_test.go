package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// printConfig runs `grantmirror config` and parses what it printed.
func printConfig(t *testing.T, args ...string) (map[string]any, string) {
	t.Helper()
	r := run(t, append([]string{"config"}, args...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(r.stdout), &doc), r.stdout)
	return doc, r.stdout
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "grantmirror.yaml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// TestConfigPrecedence sets one key at each layer in turn: the highest layer
// set wins, flag > env > file > default.
func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, "keep: 5\nmode: granted\ntarget: dir:/from/file\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		keep int
		mode string
		tgt  string
	}{
		{"defaults", nil, nil, 3, "effective", "dir:./grantmirror-data"},
		{"file", nil, []string{"--config", file}, 5, "granted", "dir:/from/file"},
		{"env over file", map[string]string{"GRANTMIRROR_KEEP": "7", "GRANTMIRROR_TARGET": "dir:/from/env"}, []string{"--config", file}, 7, "granted", "dir:/from/env"},
		{"flag over env", map[string]string{"GRANTMIRROR_KEEP": "7", "GRANTMIRROR_MODE": "effective"}, []string{"--config", file, "--keep", "9", "--target", "dir:/from/flag"}, 9, "effective", "dir:/from/flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			doc, _ := printConfig(t, tt.args...)
			require.Equal(t, tt.keep, doc["keep"])
			require.Equal(t, tt.mode, doc["mode"])
			require.Equal(t, tt.tgt, doc["target"])
			require.Equal(t, "info", doc["log_level"], "untouched keys keep their default")
		})
	}
}

// secrets are set through the environment by the redaction tests; none may be
// printed or logged.
var secrets = map[string]string{
	"GRANTMIRROR_TARGET":                           "postgres://gm:hunter2-db@127.0.0.1:1/app?sslmode=disable",
	"GRANTMIRROR_SNOWFLAKE_PRIVATE_KEY":            "-----BEGIN PRIVATE KEY-----\nMIIEvkey-material\n-----END PRIVATE KEY-----",
	"GRANTMIRROR_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "s3cret-passphrase",
	"GRANTMIRROR_SNOWFLAKE_PASSWORD":               "sn0wflake-password",
	"GRANTMIRROR_SNOWFLAKE_TOKEN":                  "oauth-t0ken",
}

// secretValues are what must never appear in any output.
var secretValues = []string{"hunter2-db", "key-material", "s3cret-passphrase", "sn0wflake-password", "oauth-t0ken", "pushpass"}

func setSecrets(t *testing.T) {
	t.Helper()
	for k, v := range secrets {
		t.Setenv(k, v)
	}
}

const accountsConfig = `source: snowflake
snowflake:
  accounts:
    - name: KEYPAIR
      account: org-keypair
      user: GM
      authenticator: jwt
    - name: KEYFILE
      account: org-keyfile
      user: GM
      private_key_file: /secrets/rsa_key.p8
    - name: PASSWORD
      account: org-password
      user: GM
      authenticator: password
    - name: OAUTH
      account: org-oauth
      user: GM
      authenticator: oauth
      token_file: /secrets/token
`

func TestConfigRedactsSecrets(t *testing.T) {
	setSecrets(t)
	t.Setenv("GRANTMIRROR_PUSHGATEWAY", "http://pusher:pushpass@pushgateway:9091")
	doc, out := printConfig(t, "--config", writeConfig(t, accountsConfig))
	for _, s := range secretValues {
		require.NotContains(t, out, s)
	}
	require.Equal(t, "postgres://gm:xxxxx@127.0.0.1:1/app?sslmode=disable", doc["target"])
	require.Equal(t, "http://pusher:xxxxx@pushgateway:9091", doc["pushgateway"])

	accounts := doc["snowflake"].(map[string]any)["accounts"].([]any)
	require.Len(t, accounts, 4)
	get := func(i int, k string) any { return accounts[i].(map[string]any)[k] }
	// The environment fills what each account's authenticator uses and it does
	// not set itself; the config command shows that a secret is set, not what.
	require.Equal(t, "xxxxx", get(0, "private_key"))
	require.Equal(t, "xxxxx", get(0, "private_key_passphrase"))
	require.Equal(t, "", get(0, "password"), "a jwt account takes no password")
	require.Equal(t, "", get(1, "private_key"), "the account's own key file wins")
	require.Equal(t, "/secrets/rsa_key.p8", get(1, "private_key_file"), "paths are not secrets")
	require.Equal(t, "jwt", get(1, "authenticator"), "inferred from the key file")
	require.Equal(t, "xxxxx", get(1, "private_key_passphrase"))
	require.Equal(t, "xxxxx", get(2, "password"))
	require.Equal(t, "", get(2, "token"))
	require.Equal(t, "", get(3, "token"), "the account's own token file wins")
	require.Equal(t, "/secrets/token", get(3, "token_file"))
}

// TestSecretsStayOutOfLogs runs commands with secrets in the environment, at
// debug level, through their success and failure paths, and greps everything
// they wrote.
func TestSecretsStayOutOfLogs(t *testing.T) {
	setSecrets(t)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadGateway)
	}))
	defer gw.Close()
	t.Setenv("GRANTMIRROR_PUSHGATEWAY", strings.Replace(gw.URL, "http://", "http://pusher:pushpass@", 1))
	cfg := writeConfig(t, accountsConfig)
	src := "dir:" + filepath.Join(repo, "testdata/sample/tiny")

	outputs := []result{
		// The DSN from the environment: an unreachable Postgres.
		run(t, "sync", "--config", cfg, "--source", src, "--log-level", "debug", "--log-format", "json"),
		// A flag target wins; the sync succeeds, and the push fails.
		run(t, "sync", "--config", cfg, "--source", src, "--target", "dir:"+t.TempDir(), "--log-level", "debug", "--log-format", "text"),
		run(t, "sync", "--config", cfg, "--source", src, "--target", "dir:"+t.TempDir(), "--dry-run", "--log-level", "debug"),
		// The Snowflake source with every secret set.
		run(t, "sync", "--config", cfg, "--target", "dir:"+t.TempDir(), "--log-level", "debug"),
		run(t, "config", "--config", cfg),
	}
	require.Equal(t, ExitError, outputs[0].code)
	require.Equal(t, ExitOK, outputs[1].code, outputs[1].stderr)
	require.Contains(t, outputs[1].stderr, "metrics not pushed")
	require.Contains(t, outputs[1].stderr, "pusher:xxxxx@")
	for i, r := range outputs {
		for _, s := range secretValues {
			require.NotContains(t, r.stdout, s, "output %d", i)
			require.NotContains(t, r.stderr, s, "output %d", i)
		}
	}
}

// keyPaths lists the dotted key paths of a YAML document; list items share
// the path "parent[]". The keys of the email maps are data, not settings.
func keyPaths(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			if p != "email.domain_aliases" && p != "email.overrides" {
				keyPaths(p, child, out)
			}
		}
	case []any:
		for _, child := range v {
			keyPaths(prefix+"[]", child, out)
		}
	}
}

// TestConfigMatchesExample keeps grantmirror.example.yaml and the config
// command in step: every key the example sets is a key grantmirror prints, and
// every key grantmirror prints is documented in the example, set or in a
// comment.
func TestConfigMatchesExample(t *testing.T) {
	t.Parallel()
	example := filepath.Join(repo, "grantmirror.example.yaml")
	text, err := os.ReadFile(example)
	require.NoError(t, err)
	var exampleDoc map[string]any
	require.NoError(t, yaml.Unmarshal(text, &exampleDoc))
	documented := map[string]bool{}
	keyPaths("", exampleDoc, documented)

	doc, _ := printConfig(t, "--config", example)
	printed := map[string]bool{}
	keyPaths("", doc, printed)

	for p := range documented {
		require.True(t, printed[p], "%s is in the example but grantmirror does not know it", p)
	}
	for p := range printed {
		name := p[strings.LastIndex(p, ".")+1:]
		re := regexp.MustCompile(`(?m)^\s*(#\s*)?(- )?` + regexp.QuoteMeta(name) + `:`)
		require.True(t, re.Match(text), "%s is not documented in grantmirror.example.yaml", p)
	}
	require.True(t, printed["pushgateway"])
	require.True(t, printed["snowflake.accounts[].private_key_passphrase"])
}

// TestConfigOutputIsAConfigFile feeds the printed config back in: the same
// settings come out.
func TestConfigOutputIsAConfigFile(t *testing.T) {
	t.Parallel()
	_, first := printConfig(t, "--config", filepath.Join(repo, "grantmirror.example.yaml"), "--keep", "8", "--pushgateway", "pushgateway:9091")
	_, second := printConfig(t, "--config", writeConfig(t, first))
	require.Equal(t, first, second)
	require.Contains(t, first, "keep: 8\n")
	require.Contains(t, first, "pushgateway: pushgateway:9091\n")
	require.Contains(t, first, "query_timeout: 15m0s\n", "Snowflake defaults are applied")
	require.True(t, slices.Contains(strings.Split(first, "\n"), "pii_tags: [PRIVACY_CATEGORY, SEMANTIC_CATEGORY, PII]"))
}
