package fakesnowflake

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// loginRequest is the body gosnowflake posts to /session/v1/login-request.
type loginRequest struct {
	Data struct {
		AccountName       string         `json:"ACCOUNT_NAME"`
		LoginName         string         `json:"LOGIN_NAME"`
		Password          string         `json:"PASSWORD"`
		Authenticator     string         `json:"AUTHENTICATOR"`
		Token             string         `json:"TOKEN"`
		SessionParameters map[string]any `json:"SESSION_PARAMETERS"`
	} `json:"data"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.opts.StallLogin {
		s.stall(r, "login")
		return
	}
	var req loginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d := req.Data
	s.mu.Lock()
	s.stats.Authenticators = append(s.stats.Authenticators, d.Authenticator)
	s.mu.Unlock()

	if e := s.authenticate(d.AccountName, d.LoginName, d.Password, d.Authenticator, d.Token); e != nil {
		s.mu.Lock()
		s.stats.FailedLogins++
		s.mu.Unlock()
		writeFail(w, *e, "")
		return
	}

	q := r.URL.Query()
	s.mu.Lock()
	s.seq++
	sess := &session{
		id:     int64(1000 + s.seq),
		token:  newToken("ver:1-hint:1-ETMsDgAAA"),
		master: newToken("ver:1-hint:1-ETMsDgAAAm"),
		role:   strings.ToUpper(q.Get("roleName")),
		wh:     strings.ToUpper(q.Get("warehouse")),
	}
	s.sessions[sess.token] = sess
	s.masters[sess.master] = sess
	s.stats.Logins++
	s.stats.LoginParameters = d.SessionParameters
	s.mu.Unlock()

	tz := "UTC"
	if v, ok := d.SessionParameters["TIMEZONE"].(string); ok && v != "" {
		tz = v
	}
	writeOK(w, map[string]any{
		"token":                   sess.token,
		"validityInSeconds":       3600,
		"masterToken":             sess.master,
		"masterValidityInSeconds": 14400,
		"displayUserName":         d.LoginName,
		"serverVersion":           "8.40.0",
		"firstLogin":              false,
		"sessionId":               sess.id,
		"parameters": []map[string]any{
			{"name": "TIMEZONE", "value": tz},
			{"name": "CLIENT_SESSION_KEEP_ALIVE", "value": false},
		},
		"sessionInfo": map[string]any{
			"databaseName":  nil,
			"schemaName":    nil,
			"warehouseName": nullIfEmpty(sess.wh),
			"roleName":      nullIfEmpty(sess.role),
		},
	})
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// authenticate checks one login attempt and returns the error Snowflake would
// answer, or nil.
func (s *Server) authenticate(account, login, password, authenticator, token string) *QueryError {
	if s.opts.Account != "" && !strings.EqualFold(account, s.opts.Account) {
		return &errBadPassword
	}
	switch strings.ToUpper(authenticator) {
	case "", "SNOWFLAKE":
		if s.opts.Users == nil {
			return nil
		}
		u, ok := s.user(login)
		if !ok || u.Password == "" || u.Password != password {
			return &errBadPassword
		}
		return nil
	case "OAUTH":
		if s.opts.Users == nil {
			return nil
		}
		for _, u := range s.opts.Users {
			if u.OAuthToken != "" && u.OAuthToken == token {
				return nil
			}
		}
		return &errBadOAuth
	case "SNOWFLAKE_JWT":
		if err := s.verifyJWT(account, token); err != nil {
			return &errBadJWT
		}
		return nil
	}
	return &errBadPassword
}

func (s *Server) user(login string) (User, bool) {
	for name, u := range s.opts.Users {
		if strings.EqualFold(name, login) {
			return u, true
		}
	}
	return User{}, false
}

var errJWT = errors.New("jwt rejected")

// verifyJWT checks a key-pair token the way Snowflake does: subject
// ACCOUNT.USER, issuer ACCOUNT.USER.SHA256:<fingerprint of the public key>,
// an RS256 signature by the user's registered key, and an expiry. With no
// registered users, a well-formed token naming the right account is enough.
func (s *Server) verifyJWT(account, token string) error {
	acct := strings.ToUpper(account)
	if i := strings.Index(acct, "."); i > 0 {
		acct = acct[:i]
	}
	claims := jwt.MapClaims{}
	if s.opts.Users == nil {
		if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
			return errJWT
		}
		if sub, _ := claims["sub"].(string); !strings.HasPrefix(sub, acct+".") {
			return errJWT
		}
		return nil
	}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		sub, _ := claims["sub"].(string)
		a, name, ok := strings.Cut(sub, ".")
		if !ok || a != acct {
			return nil, errJWT
		}
		u, found := s.user(name)
		if !found || u.PublicKey == nil {
			return nil, errJWT
		}
		der, err := x509.MarshalPKIXPublicKey(u.PublicKey)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(der)
		if iss, _ := claims["iss"].(string); iss != sub+".SHA256:"+base64.StdEncoding.EncodeToString(sum[:]) {
			return nil, errJWT
		}
		return u.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
	if err != nil {
		return errJWT
	}
	return nil
}
