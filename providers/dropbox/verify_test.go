package dropbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	appKey       = "app-key-123"
	appSecret    = "app-secret-456"
	refreshToken = "refresh-token-789-abcdef"
	accessToken  = "sl.access-token"
)

// fake is Dropbox's token endpoint and users/get_current_account. It checks
// the documented requests (refresh grant with app key and secret in the form;
// POST with a bearer token, no body and no Content-Type) and answers like
// Dropbox when anything differs.
type fake struct {
	srv             *httptest.Server
	mux             *http.ServeMux
	tokenCalls      atomic.Int64
	calls           atomic.Int64
	newRefreshToken string
	pathRoot        string             // the Dropbox-API-Path-Root header expected
	issue           func(n int) string // the access token of the n-th token call, when set
	answer          func(w http.ResponseWriter, r *http.Request, attempt int) bool
}

func newFake(t *testing.T) *fake {
	f := &fake{mux: http.NewServeMux()}
	f.mux.HandleFunc("/oauth2/token", f.token)
	f.mux.HandleFunc("/2/", f.api)
	f.srv = httptest.NewServer(f.mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	n := int(f.tokenCalls.Add(1))
	w.Header().Set("Content-Type", "application/json")
	r.ParseForm()
	switch {
	case r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "refresh_token":
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"unsupported_grant_type"}`)
	case r.PostForm.Get("client_id") != appKey || r.PostForm.Get("client_secret") != appSecret:
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"Invalid client_id or client_secret"}`)
	case r.PostForm.Get("refresh_token") != refreshToken:
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"refresh token is invalid or revoked"}`)
	default:
		resp := map[string]any{"access_token": accessToken, "token_type": "bearer", "expires_in": 14400}
		if f.issue != nil {
			resp["access_token"] = f.issue(n)
		}
		if f.newRefreshToken != "" {
			resp["refresh_token"] = f.newRefreshToken
		}
		json.NewEncoder(w).Encode(resp)
	}
}

func dropboxError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (f *fake) api(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/2/users/get_current_account":
		w.WriteHeader(404)
		fmt.Fprint(w, "Unknown API function")
		return
	case r.Header.Get("Content-Type") != "" || len(body) != 0:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(400)
		fmt.Fprint(w, `Error in call to API function "users/get_current_account": request body: could not decode input as JSON`)
		return
	case r.Header.Get("Authorization") != "Bearer "+accessToken:
		dropboxError(w, 401, `{"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}}`)
		return
	case r.Header.Get("Dropbox-API-Path-Root") != f.pathRoot:
		dropboxError(w, 422, `{"error_summary": "invalid_root/..", "error": {".tag": "invalid_root", "invalid_root": {".tag": "team", "home_namespace_id": "3235641", "root_namespace_id": "7"}}}`)
		return
	}
	if f.answer != nil && f.answer(w, r, n) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "name": {"given_name": "Franz", "surname": "Ferdinand", "familiar_name": "Franz", "display_name": "Franz Ferdinand (Personal)", "abbreviated_name": "FF"}, "email": "franz@dropbox.com", "email_verified": true, "disabled": false, "locale": "en", "is_paired": true, "account_type": {".tag": "business"}, "root_info": {".tag": "team", "root_namespace_id": "7", "home_namespace_id": "3235641"}, "country": "US", "team": {"id": "dbtid:AAFdgehTzw7WlXhZJsbGCLePe8RvQGYDr-I", "name": "Acme, Inc."}}`)
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"app_key": appKey, "base_url": f.srv.URL, "token_url": f.srv.URL + "/oauth2/token"}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

var secrets = map[string]string{"app_secret": appSecret, "refresh_token": refreshToken}

func TestVerify(t *testing.T) {
	reply := func(status int, body string, header ...string) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, r *http.Request, _ int) bool {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			dropboxError(w, status, body)
			return true
		}
	}
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		pathRoot string
		answer   func(http.ResponseWriter, *http.Request, int) bool
		deadline time.Duration
		code     providers.Code
		msg      string
		details  map[string]any
		calls    int
	}{
		{name: "success", details: map[string]any{"account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "email": "franz@dropbox.com",
			"display_name": "Franz Ferdinand (Personal)", "account_type": "business", "root_namespace_id": "7", "team": "Acme, Inc."}},
		{name: "team space path root", settings: map[string]any{"path_root": "7"}, pathRoot: `{".tag":"root","root":"7"}`,
			details: map[string]any{"root_namespace_id": "7"}},
		{name: "path root is not the root namespace", settings: map[string]any{"path_root": "3235641"}, pathRoot: `{".tag":"root","root":"7"}`,
			code: providers.CodeInvalidConfig, msg: "invalid_root"},
		{name: "401 expired", answer: reply(401, `{"error_summary": "expired_access_token/...", "error": {".tag": "expired_access_token"}}`),
			code: providers.CodeAuthFailed, msg: "expired_access_token"},
		{name: "401 missing scope", answer: reply(401, `{"error_summary": "missing_scope/..", "error": {".tag": "missing_scope", "required_scope": "account_info.read"}}`),
			code: providers.CodePermissionDenied, msg: "account_info.read"},
		{name: "403", answer: reply(403, `{"error_summary": "no_account/..", "error": {".tag": "no_account"}}`), code: providers.CodePermissionDenied},
		{name: "429 Retry-After beyond deadline", deadline: time.Second,
			answer: reply(429, `{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 30}}`, "Retry-After", "30"),
			code:   providers.CodeRateLimited},
		{name: "429 then 200", calls: 2, details: map[string]any{"email": "franz@dropbox.com"},
			answer: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", "0")
				dropboxError(w, 429, `{"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 0}}`)
				return true
			}},
		{name: "leak", answer: func(w http.ResponseWriter, r *http.Request, _ int) bool {
			w.WriteHeader(400)
			fmt.Fprintf(w, "Error in call to API function: bad refresh token %s and secret %s, token %s", refreshToken, appSecret,
				base64.StdEncoding.EncodeToString([]byte(accessToken)))
			return true
		}, code: providers.CodeProviderError, msg: "[REDACTED]"},
		// Byte 300 of the reason falls inside "é": the cut must move back.
		{name: "long reason cut on a character", answer: func(w http.ResponseWriter, r *http.Request, _ int) bool {
			w.WriteHeader(400)
			fmt.Fprint(w, "a"+strings.Repeat("é", 200))
			return true
		}, code: providers.CodeProviderError, msg: "ééé…"},
		{name: "refresh token revoked", secrets: map[string]string{"app_secret": appSecret, "refresh_token": "revoked-refresh-token"},
			code: providers.CodeAuthFailed, msg: "re-authorise"},
		{name: "bad app secret", secrets: map[string]string{"app_secret": "wrong-app-secret", "refresh_token": refreshToken},
			code: providers.CodeAuthFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.answer, f.pathRoot = tc.answer, tc.pathRoot
			sec := tc.secrets
			if sec == nil {
				sec = secrets
			}
			c := providertest.Open(t, Driver{}, f.settings(tc.settings), sec)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			res, pe := providertest.Verify(ctx, c)
			if tc.code != "" {
				if pe == nil {
					t.Fatalf("want %s, got success %v", tc.code, res.Details)
				}
				if pe.Code != tc.code || !strings.Contains(pe.Message, tc.msg) {
					t.Fatalf("want %s containing %q, got %s: %s", tc.code, tc.msg, pe.Code, pe.Message)
				}
				if !utf8.ValidString(pe.Message) {
					t.Errorf("message is not valid UTF-8: %q", pe.Message)
				}
				if tc.deadline > 0 {
					providertest.WantRateLimited(t, pe, 30*time.Second)
				}
				for _, s := range sec {
					if strings.Contains(pe.Message, s) {
						t.Errorf("message leaks a secret: %s", pe.Message)
					}
				}
				for _, s := range []string{accessToken, base64.StdEncoding.EncodeToString([]byte(accessToken))} {
					if strings.Contains(pe.Message, s) {
						t.Errorf("message leaks the access token: %s", pe.Message)
					}
				}
				return
			}
			if pe != nil {
				t.Fatalf("verify: %s: %s", pe.Code, pe.Message)
			}
			for k, v := range tc.details {
				if res.Details[k] != v {
					t.Errorf("details[%s] = %v, want %v (all: %v)", k, res.Details[k], v, res.Details)
				}
			}
			if tc.calls != 0 && int(f.calls.Load()) != tc.calls {
				t.Errorf("API calls = %d, want %d", f.calls.Load(), tc.calls)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for name, extra := range map[string]map[string]any{
		"path_root not a namespace id": {"path_root": `{".tag":"root"}`},
		"base_url scheme":              {"base_url": "api.dropboxapi.com"},
		"token_url user info":          {"token_url": "https://a:b@api.dropboxapi.com/oauth2/token"},
	} {
		t.Run(name, func(t *testing.T) {
			s := map[string]any{"app_key": appKey}
			for k, v := range extra {
				s[k] = v
			}
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, s, secrets))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("want invalid_config, got %v", err)
			}
		})
	}
}

// TestRevokedAccessTokenIsReplaced: a 401 for a token that has not expired
// yet gets one new token and one retry.
func TestRevokedAccessTokenIsReplaced(t *testing.T) {
	f := newFake(t)
	f.issue = func(n int) string {
		if n == 1 {
			return "sl.revoked"
		}
		return accessToken
	}
	c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
	if _, pe := providertest.Verify(context.Background(), c); pe != nil {
		t.Fatalf("verify: %s: %s", pe.Code, pe.Message)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("token calls = %d, want 2", n)
	}
}

// TestRefreshRotation: a new refresh token from the token endpoint is saved.
func TestRefreshRotation(t *testing.T) {
	f := newFake(t)
	f.newRefreshToken = "rotated-refresh-token"
	cfg := providertest.Config(t, Driver{}, f.settings(nil), secrets)
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, pe := providertest.Verify(context.Background(), c); pe != nil {
		t.Fatalf("verify: %v", pe)
	}
	tok, _ := cfg.Tokens.(*providertest.MemTokenStore).LoadToken(context.Background())
	if tok == nil || tok.RefreshToken != "rotated-refresh-token" {
		t.Fatalf("stored token = %+v, want the rotated refresh token", tok)
	}
}

// TestConcurrentVerifyOneTokenCall: 50 concurrent verifies share one token.
func TestConcurrentVerifyOneTokenCall(t *testing.T) {
	f := newFake(t)
	c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls = %d, want 1", n)
	}
}
