package snowflake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// parsePrivateKey reads the RSA key Snowflake's key-pair authentication uses, as
// Snowflake's documentation has people create it: PKCS#8, encrypted with a
// passphrase (openssl pkcs8 -topk8 -v2 aes256) or not, or a PKCS#1 RSA key.
// Errors describe the key, never its content.
func parsePrivateKey(pemBytes, passphrase []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("not a PEM private key (want -----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)")
	}
	der := block.Bytes
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		if len(passphrase) == 0 {
			return nil, errors.New("the private key is encrypted; set private_key_passphrase or private_key_passphrase_file")
		}
		plain, err := decryptPKCS8(der, passphrase)
		if err != nil {
			return nil, err
		}
		der = plain
	case "PRIVATE KEY":
		if len(passphrase) > 0 {
			return nil, errors.New("a passphrase is set but the private key is not encrypted; remove private_key_passphrase")
		}
	case "RSA PRIVATE KEY":
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return nil, errors.New("legacy PEM encryption is not supported; convert the key with openssl pkcs8 -topk8 -v2 aes256")
		}
		if len(passphrase) > 0 {
			return nil, errors.New("a passphrase is set but the private key is not encrypted; remove private_key_passphrase")
		}
		key, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil {
			return nil, errors.New("the PKCS#1 RSA private key does not parse")
		}
		return key, nil
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("the PKCS#8 private key does not parse")
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is %T; Snowflake key-pair authentication needs an RSA key", key)
	}
	return rsaKey, nil
}

// Object identifiers of PKCS#5 v2 (RFC 8018) that OpenSSL writes.
var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type encryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

type pbes2Params struct {
	KeyDerivation pkix.AlgorithmIdentifier
	Encryption    pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo protected with PBES2:
// PBKDF2 (HMAC-SHA1, -SHA256 or -SHA512) and AES-CBC, which is what OpenSSL
// and Snowflake's documented commands produce.
func decryptPKCS8(der, passphrase []byte) ([]byte, error) {
	unsupported := errors.New("the encrypted private key uses an unsupported scheme; re-encrypt it with openssl pkcs8 -topk8 -v2 aes256")
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, errors.New("the encrypted private key does not parse")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, unsupported
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, unsupported
	}
	if !params.KeyDerivation.Algorithm.Equal(oidPBKDF2) {
		return nil, unsupported
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivation.Parameters.FullBytes, &kdf); err != nil {
		return nil, unsupported
	}
	var prf func() hash.Hash
	switch alg := kdf.PRF.Algorithm; {
	case len(alg) == 0, alg.Equal(oidHMACWithSHA1):
		prf = sha1.New
	case alg.Equal(oidHMACWithSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACWithSHA512):
		prf = sha512.New
	default:
		return nil, unsupported
	}
	var keyLen int
	switch alg := params.Encryption.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen = 16
	case alg.Equal(oidAES192CBC):
		keyLen = 24
	case alg.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, unsupported
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Encryption.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, unsupported
	}
	if kdf.Iterations < 1 || len(info.Data) == 0 || len(info.Data)%aes.BlockSize != 0 {
		return nil, errors.New("the encrypted private key is malformed")
	}
	key, err := pbkdf2.Key(prf, string(passphrase), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, unsupported
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, unsupported
	}
	plain := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, info.Data)
	// A wrong passphrase shows as bad PKCS#7 padding or, rarely, as a key that
	// does not parse afterwards.
	wrong := errors.New("the private key passphrase is wrong")
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, wrong
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, wrong
		}
	}
	plain = plain[:len(plain)-pad]
	if _, err := x509.ParsePKCS8PrivateKey(plain); err != nil {
		return nil, wrong
	}
	return plain, nil
}
