package snowflake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// pemPKCS8 encodes key as an unencrypted PKCS#8 PEM block.
func pemPKCS8(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	key, err := testKey()
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	encrypted, err := os.ReadFile("testdata/keys/rsa_key_aes256.p8")
	require.NoError(t, err)
	encryptedSHA1, err := os.ReadFile("testdata/keys/rsa_key_aes128_sha1.p8")
	require.NoError(t, err)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	const pass = "correct horse battery staple"

	tests := []struct {
		name       string
		pem        string
		passphrase string
		err        string
	}{
		{name: "PKCS#8", pem: pemPKCS8(t, key)},
		{name: "PKCS#1", pem: pkcs1},
		{name: "encrypted AES-256 SHA-256", pem: string(encrypted), passphrase: pass},
		{name: "encrypted AES-128 SHA-1", pem: string(encryptedSHA1), passphrase: pass},
		{name: "wrong passphrase", pem: string(encrypted), passphrase: "Tr0ub4dor&3", err: "the private key passphrase is wrong"},
		{name: "no passphrase", pem: string(encrypted), err: "set private_key_passphrase"},
		{name: "needless passphrase", pem: pemPKCS8(t, key), passphrase: pass, err: "the private key is not encrypted"},
		{name: "not PEM", pem: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", err: "not a PEM private key"},
		{name: "public key", pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})), err: `PEM block "PUBLIC KEY" is not a private key`},
		{name: "EC key", pem: pemPKCS8(t, ec), err: "needs an RSA key"},
		{name: "legacy encryption", pem: "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n", err: "legacy PEM encryption"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parsePrivateKey([]byte(tt.pem), []byte(tt.passphrase))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.NotContains(t, err.Error(), "MII", "errors never quote the key")
				return
			}
			require.NoError(t, err)
			if _, isRSA := any(got).(*rsa.PrivateKey); isRSA && tt.name != "EC key" {
				require.True(t, key.Equal(got), "the same key as the fixture")
			}
		})
	}
}
