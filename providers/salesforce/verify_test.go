package salesforce

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	clientID     = "3MVG9-consumer-key"
	clientSecret = "consumer-secret-4711"
	refreshTok   = "5Aep-refresh-token-0001"
)

// fake is a Salesforce login + REST server that checks every request against
// the documented shape and answers 400/401 when anything differs.
type fake struct {
	t   *testing.T
	srv *httptest.Server
	mux *http.ServeMux

	mu       sync.Mutex
	refresh  string   // the refresh token the token endpoint accepts
	rotateTo string   // when set, the refresh grant answers this new refresh token (once)
	issued   []string // access tokens handed out
	instance string   // instance_url in token responses; srv.URL when empty
	jwtKey   *rsa.PublicKey
	username string

	tokenCalls  atomic.Int32
	limitsCalls atomic.Int32
	// limits, when set, answers the n-th (1-based) /limits call after the checks.
	limits func(w http.ResponseWriter, n int32)
}

func newFake(t *testing.T) *fake {
	mux := http.NewServeMux()
	f := &fake{t: t, refresh: refreshTok, mux: mux}
	mux.HandleFunc("/services/oauth2/token", f.token)
	mux.HandleFunc("/services/data/v62.0/limits", f.limitsHandler)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	n := f.tokenCalls.Add(1)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthErr(w, 400, "invalid_request", "expected a form POST")
		return
	}
	if err := r.ParseForm(); err != nil || len(r.URL.Query()) > 0 {
		oauthErr(w, 400, "invalid_request", "parameters belong in the body")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := map[string]any{"token_type": "Bearer", "issued_at": "1700000000000"}
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
			oauthErr(w, 400, "invalid_client", "invalid client credentials")
			return
		}
		if r.PostForm.Get("refresh_token") != f.refresh {
			oauthErr(w, 400, "invalid_grant", "expired access/refresh token")
			return
		}
		if f.rotateTo != "" {
			resp["refresh_token"], f.refresh, f.rotateTo = f.rotateTo, f.rotateTo, ""
		}
	case "client_credentials":
		if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
			oauthErr(w, 400, "invalid_client", "invalid client credentials")
			return
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if err := f.checkAssertion(r.PostForm.Get("assertion")); err != nil {
			oauthErr(w, 400, "invalid_grant", err.Error())
			return
		}
	default:
		oauthErr(w, 400, "unsupported_grant_type", "grant type not supported")
		return
	}
	at := fmt.Sprintf("00Dxx!access-%d", n)
	f.issued = append(f.issued, at)
	resp["access_token"] = at
	resp["instance_url"] = f.srv.URL
	if f.instance != "" {
		resp["instance_url"] = f.instance
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (f *fake) checkAssertion(assertion string) error {
	var claims jwt.MapClaims
	_, err := jwt.ParseWithClaims(assertion, &claims, func(*jwt.Token) (any, error) { return f.jwtKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer(clientID), jwt.WithSubject(f.username), jwt.WithAudience(f.srv.URL))
	if err != nil {
		return fmt.Errorf("invalid assertion: %w", err)
	}
	if aud, _ := claims["aud"].(string); aud != f.srv.URL {
		return errors.New("audience must be a single string")
	}
	return nil
}

func (f *fake) limitsHandler(w http.ResponseWriter, r *http.Request) {
	n := f.limitsCalls.Add(1)
	ok := f.authorized(r)
	if r.Method != http.MethodGet || len(r.URL.Query()) > 0 {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
		return
	}
	if f.limits != nil {
		f.limits(w, n)
		return
	}
	limitsOK(w)
}

// authorized reports whether r carries an access token the fake issued.
func (f *fake) authorized(r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, at := range f.issued {
		if r.Header.Get("Authorization") == "Bearer "+at {
			return true
		}
	}
	return false
}

func limitsOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Sforce-Limit-Info", "api-usage=25/15000")
	fmt.Fprint(w, `{"DailyApiRequests":{"Max":15000,"Remaining":14975},"DailyBulkApiBatches":{"Max":15000,"Remaining":15000}}`)
}

func sfError(status int, code, msg string) func(http.ResponseWriter, int32) {
	return func(w http.ResponseWriter, _ int32) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode([]map[string]string{{"message": msg, "errorCode": code}})
	}
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"login_url": f.srv.URL, "client_id": clientID}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func refreshSecrets() map[string]string {
	return map[string]string{"client_secret": clientSecret, "refresh_token": refreshTok}
}

func verify(t *testing.T, ctx context.Context, settings map[string]any, secrets map[string]string) (*providers.VerifyResult, providers.Config, error) {
	t.Helper()
	cfg := providertest.Config(t, Driver{}, settings, secrets)
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
	return res, cfg, err
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		limits func(http.ResponseWriter, int32)
		ctx    func() (context.Context, context.CancelFunc)
		code   providers.Code // "" means success
		check  func(t *testing.T, f *fake, res *providers.VerifyResult, pe *providers.Error)
	}{
		{name: "success", check: func(t *testing.T, f *fake, res *providers.VerifyResult, _ *providers.Error) {
			d := res.Details
			if d["instance_url"] != f.srv.URL || d["api_version"] != "v62.0" || d["auth_mode"] != "refresh_token" || d["api_usage"] != "25/15000" {
				t.Errorf("details = %v", d)
			}
			daily, _ := d["daily_api_requests"].(map[string]any)
			if daily["max"] != int64(15000) || daily["remaining"] != int64(14975) {
				t.Errorf("daily_api_requests = %v", d["daily_api_requests"])
			}
		}},
		{name: "invalid session", limits: sfError(401, "INVALID_SESSION_ID", "Session expired or invalid"), code: providers.CodeAuthFailed},
		{name: "api disabled", limits: sfError(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."), code: providers.CodePermissionDenied},
		{name: "daily limit", limits: sfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), code: providers.CodeRateLimited},
		{name: "plain 403", limits: sfError(403, "INSUFFICIENT_ACCESS", "insufficient access rights on object id"), code: providers.CodePermissionDenied},
		{
			name: "429 with long Retry-After comes back fast",
			limits: func(w http.ResponseWriter, _ int32) {
				w.Header().Set("Retry-After", "30")
				sfError(429, "REQUEST_LIMIT_EXCEEDED", "slow down")(w, 0)
			},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Second)
			},
			code: providers.CodeRateLimited,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				providertest.WantRateLimited(t, pe, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried",
			limits: func(w http.ResponseWriter, n int32) {
				if n == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(429)
					return
				}
				limitsOK(w)
			},
			check: func(t *testing.T, f *fake, _ *providers.VerifyResult, _ *providers.Error) {
				if got := f.limitsCalls.Load(); got != 2 {
					t.Errorf("limits calls = %d, want 2", got)
				}
			},
		},
		{
			name:   "upstream echoes secrets",
			limits: sfError(400, "MALFORMED_QUERY", "bad value "+clientSecret+" and "+refreshTok+" and 00Dxx!access-1 and "+url.QueryEscape("00Dxx!access-1")),
			code:   providers.CodeProviderError,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				// The access token also echoed URL-encoded (00Dxx%21access-1).
				for _, s := range []string{clientSecret, refreshTok, "00Dxx!access-1", url.QueryEscape("00Dxx!access-1")} {
					if strings.Contains(pe.Error(), s) {
						t.Errorf("message leaks %q: %s", s, pe.Error())
					}
				}
				if !strings.Contains(pe.Error(), "MALFORMED_QUERY") {
					t.Errorf("message lost the upstream code: %s", pe.Error())
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.limits = tc.limits
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			res, _, err := verify(t, ctx, f.settings(nil), refreshSecrets())
			var pe *providers.Error
			if tc.code == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
			} else {
				pe = providertest.WantCode(t, err, tc.code)
			}
			if tc.check != nil {
				tc.check(t, f, res, pe)
			}
		})
	}
}

func TestVerifyAuthModes(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))

	t.Run("client credentials", func(t *testing.T) {
		f := newFake(t)
		res, _, err := verify(t, context.Background(), f.settings(map[string]any{"auth_mode": "client_credentials"}),
			map[string]string{"client_secret": clientSecret})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if res.Details["auth_mode"] != "client_credentials" {
			t.Errorf("details = %v", res.Details)
		}
	})
	t.Run("jwt bearer", func(t *testing.T) {
		f := newFake(t)
		f.jwtKey, f.username = &key.PublicKey, "integration@example.com"
		settings := f.settings(map[string]any{"auth_mode": "jwt_bearer", "username": "integration@example.com"})
		res, _, err := verify(t, context.Background(), settings, map[string]string{"private_key_pem": keyPEM})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if res.Details["instance_url"] != f.srv.URL {
			t.Errorf("details = %v", res.Details)
		}
	})
	t.Run("jwt bearer with the wrong key", func(t *testing.T) {
		f := newFake(t)
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		f.jwtKey, f.username = &other.PublicKey, "integration@example.com"
		settings := f.settings(map[string]any{"auth_mode": "jwt_bearer", "username": "integration@example.com"})
		_, _, err := verify(t, context.Background(), settings, map[string]string{"private_key_pem": keyPEM})
		pe := providertest.WantCode(t, err, providers.CodeAuthFailed)
		if !strings.Contains(pe.Message, "invalid assertion") || strings.Contains(pe.Message, "PRIVATE KEY") {
			t.Errorf("message = %s, want Salesforce's description and no key", pe.Message)
		}
	})
	t.Run("jwt bearer token is cached", func(t *testing.T) {
		f := newFake(t)
		f.jwtKey, f.username = &key.PublicKey, "integration@example.com"
		settings := f.settings(map[string]any{"auth_mode": "jwt_bearer", "username": "integration@example.com"})
		cfg := providertest.Config(t, Driver{}, settings, map[string]string{"private_key_pem": keyPEM})
		c, err := Driver{}.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{}); err != nil {
				t.Fatalf("verify %d: %v", i, err)
			}
		}
		if n := f.tokenCalls.Load(); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
	})
	t.Run("configured instance_url wins over the token's", func(t *testing.T) {
		f := newFake(t)
		f.instance = "http://127.0.0.1:1"
		res, _, err := verify(t, context.Background(), f.settings(map[string]any{"instance_url": f.srv.URL + "/"}), refreshSecrets())
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if res.Details["instance_url"] != f.srv.URL {
			t.Errorf("instance_url = %v", res.Details["instance_url"])
		}
	})
	t.Run("revoked refresh token", func(t *testing.T) {
		f := newFake(t)
		f.refresh = "another"
		_, _, err := verify(t, context.Background(), f.settings(nil), refreshSecrets())
		pe := providertest.WantCode(t, err, providers.CodeAuthFailed)
		if strings.Contains(pe.Error(), refreshTok) {
			t.Errorf("message leaks the refresh token: %s", pe.Error())
		}
	})
}

// TestVerifyReplacesRefusedToken revokes the cached access token between two
// verifies: the second sees INVALID_SESSION_ID, refreshes once and succeeds.
func TestVerifyReplacesRefusedToken(t *testing.T) {
	f := newFake(t)
	cfg := providertest.Config(t, Driver{}, f.settings(nil), refreshSecrets())
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := c.(providers.Verifier)
	if _, err := v.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("first verify: %v", err)
	}
	f.mu.Lock()
	f.issued = nil
	f.mu.Unlock()
	if _, err := v.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("verify after revocation: %v", err)
	}
	if n, l := f.tokenCalls.Load(), f.limitsCalls.Load(); n != 2 || l != 3 {
		t.Errorf("token calls = %d (want 2), limits calls = %d (want 3)", n, l)
	}
}

func TestVerifyRotatesRefreshToken(t *testing.T) {
	f := newFake(t)
	f.rotateTo = "5Aep-refresh-token-0002"
	_, cfg, err := verify(t, context.Background(), f.settings(nil), refreshSecrets())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	tok, err := cfg.Tokens.LoadToken(context.Background())
	if err != nil || tok == nil || tok.RefreshToken != "5Aep-refresh-token-0002" {
		t.Fatalf("stored token = %+v, %v; want the rotated refresh token saved", tok, err)
	}
}

func TestVerifyConcurrentOneTokenCall(t *testing.T) {
	f := newFake(t)
	cfg := providertest.Config(t, Driver{}, f.settings(nil), refreshSecrets())
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tokenCalls.Load(); n != 1 {
		t.Errorf("token calls = %d, want 1", n)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
	}{
		{"login url without scheme", map[string]any{"login_url": "login.salesforce.com"}, refreshSecrets()},
		{"bad api version", map[string]any{"api_version": "latest"}, refreshSecrets()},
		{"bad instance url", map[string]any{"instance_url": "ftp://x"}, refreshSecrets()},
		{"bad private key", map[string]any{"auth_mode": "jwt_bearer", "username": "u@example.com"}, map[string]string{"private_key_pem": "not a key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := map[string]any{"client_id": clientID}
			for k, v := range tc.settings {
				s[k] = v
			}
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, s, tc.secrets))
			pe := providertest.WantCode(t, err, providers.CodeInvalidConfig)
			if strings.Contains(pe.Error(), "not a key") {
				t.Errorf("message echoes the key: %s", pe.Error())
			}
		})
	}
}
