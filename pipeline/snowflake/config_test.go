package snowflake

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func validAccount() Account {
	return Account{Name: "PROD", Account: "myorg-prod", User: "GRANTMIRROR", Authenticator: AuthJWT, PrivateKeyFile: "/secrets/key.p8"}
}

func TestConfigWithDefaults(t *testing.T) {
	t.Parallel()
	cfg := Config{Accounts: []Account{
		{Account: "myorg-prod", User: "U", Password: "p"},
		{Account: "myorg-dev", User: "U", TokenFile: "/t"},
		{Account: "x", User: "U", PrivateKey: "k", Authenticator: " JWT "},
		{Account: "y", User: "U", Password: "p", Token: "t"},
	}}.WithDefaults()
	require.Equal(t, DefaultHistoryDays, cfg.HistoryDays)
	require.Equal(t, DefaultQueryTimeout, cfg.QueryTimeout)
	require.Equal(t, "myorg-prod", cfg.Accounts[0].Name)
	require.Equal(t, AuthPassword, cfg.Accounts[0].Authenticator)
	require.Equal(t, AuthOAuth, cfg.Accounts[1].Authenticator)
	require.Equal(t, AuthJWT, cfg.Accounts[2].Authenticator)
	require.Empty(t, cfg.Accounts[3].Authenticator, "two credentials: no guess")
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(c *Config)
		want []string // substrings of the error; none means valid
	}{
		{name: "valid", edit: func(c *Config) {}},
		{name: "valid with everything", edit: func(c *Config) {
			c.HistoryDays, c.QueryTimeout, c.AllowPartial = 365, time.Hour, []string{"prod"}
			c.Accounts[0].PrivateKeyPassphraseFile, c.Accounts[0].Host, c.Accounts[0].Port, c.Accounts[0].Protocol = "/p", "x.privatelink.snowflakecomputing.com", 443, "https"
		}},
		{name: "no accounts", edit: func(c *Config) { c.Accounts = nil }, want: []string{"accounts: none configured"}},
		{name: "history days", edit: func(c *Config) { c.HistoryDays = 400 }, want: []string{"history_days 400: want 1 to 365"}},
		{name: "negative timeout", edit: func(c *Config) { c.QueryTimeout = -time.Second }, want: []string{"query_timeout -1s"}},
		{name: "missing fields", edit: func(c *Config) { c.Accounts[0] = Account{Name: "X", Authenticator: AuthJWT, PrivateKey: "k"} },
			want: []string{"accounts[0] (X): account is required", "accounts[0] (X): user is required"}},
		{name: "no authenticator", edit: func(c *Config) { c.Accounts[0].Authenticator, c.Accounts[0].PrivateKeyFile = "", "" },
			want: []string{"accounts[0] (PROD): authenticator is required: jwt (key pair, recommended for jobs), password or oauth"}},
		{name: "unknown authenticator", edit: func(c *Config) { c.Accounts[0].Authenticator = "externalbrowser" },
			want: []string{`authenticator "externalbrowser": want jwt, password or oauth`}},
		{name: "jwt without key", edit: func(c *Config) { c.Accounts[0].PrivateKeyFile = "" },
			want: []string{"authenticator jwt needs private_key or private_key_file"}},
		{name: "two key sources", edit: func(c *Config) { c.Accounts[0].PrivateKey = "pem" },
			want: []string{"both private_key and private_key_file are set; keep one"}},
		{name: "stray password", edit: func(c *Config) { c.Accounts[0].PasswordFile = "/pw" },
			want: []string{"password is set but authenticator is jwt"}},
		{name: "password without password", edit: func(c *Config) {
			c.Accounts[0].Authenticator, c.Accounts[0].PrivateKeyFile = AuthPassword, ""
		}, want: []string{"authenticator password needs password or password_file"}},
		{name: "oauth with key", edit: func(c *Config) { c.Accounts[0].Authenticator, c.Accounts[0].Token = AuthOAuth, "t" },
			want: []string{"private_key is set but authenticator is oauth"}},
		{name: "bad address", edit: func(c *Config) {
			c.Accounts[0].Host, c.Accounts[0].Port, c.Accounts[0].Protocol = "https://x.example", 70000, "ftp"
		}, want: []string{`protocol "ftp": want https or http`, "port 70000", `host "https://x.example": want a host name only`}},
		{name: "name as path", edit: func(c *Config) { c.Accounts[0].Name = "../etc" },
			want: []string{`name "../etc" cannot start with a dot`}},
		{name: "name with slash", edit: func(c *Config) { c.Accounts[0].Name = "a/b" },
			want: []string{`name "a/b" cannot contain a slash`}},
		{name: "duplicate names", edit: func(c *Config) {
			b := validAccount()
			b.Name = "prod"
			c.Accounts = append(c.Accounts, b)
		}, want: []string{`accounts[1] (prod): name "prod" is already used by accounts[0]`}},
		{name: "unknown allow_partial", edit: func(c *Config) { c.AllowPartial = []string{"STAGING"} },
			want: []string{`allow_partial: "STAGING" is not the name of a configured account`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Accounts: []Account{validAccount()}}
			tt.edit(&cfg)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrConfig)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}
