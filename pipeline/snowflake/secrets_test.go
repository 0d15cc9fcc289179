package snowflake

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
)

// TestSecretsNeverPrinted runs extracts that succeed and fail with every kind
// of secret set, at debug level, and looks for the secrets in everything a
// person could see: logs, errors, results and the configuration printed in
// every way fmt and slog can.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	key, err := testKey()
	require.NoError(t, err)
	keyPEM := pemPKCS8(t, key)
	const (
		token      = "oauth-T0ken-Secret-xyz"
		passphrase = "passphrase-Secret-123"
	)
	// Any line of the key's base64 body is a secret.
	var secrets []string
	for _, line := range strings.Split(keyPEM, "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			secrets = append(secrets, line)
		}
	}
	secrets = append(secrets, testPassword, token, passphrase, "wrong-"+testPassword)

	cases := []struct {
		name string
		edit func(a *Account)
		ok   bool
	}{
		{name: "password", edit: func(a *Account) {}, ok: true},
		{name: "wrong password", edit: func(a *Account) { a.Password = "wrong-" + testPassword }},
		{name: "oauth refused", edit: func(a *Account) { a.Authenticator, a.Password, a.Token = AuthOAuth, "", token }},
		{name: "key with needless passphrase", edit: func(a *Account) {
			a.Authenticator, a.Password, a.PrivateKey, a.PrivateKeyPassphrase = AuthJWT, "", keyPEM, passphrase
		}},
		{name: "key refused", edit: func(a *Account) { a.Authenticator, a.Password, a.PrivateKey = AuthJWT, "", keyPEM }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, fakesnowflake.Options{})
			tc.edit(&f.cfg.Accounts[0])
			log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			log.Info("configuration", "snowflake", f.cfg, "account", f.cfg.Accounts[0])

			res, err := f.extract(t.Context())
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			src := &Source{Config: f.cfg}
			seen := strings.Join([]string{
				f.logs.String(),
				fmt.Sprint(err), fmt.Sprintf("%+v %#v", err, err),
				fmt.Sprintf("%v %+v %#v %s %q", f.cfg, f.cfg, f.cfg, f.cfg, f.cfg),
				fmt.Sprintf("%v %+v %#v", f.cfg.Accounts, f.cfg.Accounts[0], f.cfg.Accounts[0]),
				fmt.Sprintf("%+v %#v", res, res),
				src.String(),
			}, "\n")
			require.Contains(t, seen, "[redacted]", "the configuration says a secret is set")
			for _, s := range secrets {
				require.NotContains(t, seen, s)
			}
		})
	}
}
