package gmail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/googleauth/googleauthtest"
	"github.com/junctionhq/junction/providers/providertest"
)

const accessToken = "ya29.gmail-access-token"

// fake is Google's token endpoint and users.getProfile. It checks the
// documented request (GET /gmail/v1/users/me/profile, bearer token) and answers
// 400/401/404 when anything differs; answer decides what a well-formed request
// gets.
type fake struct {
	srv    *httptest.Server
	tok    *googleauthtest.TokenServer
	answer func(w http.ResponseWriter, r *http.Request, attempt int) bool
	calls  atomic.Int64
}

func newFake(t *testing.T) *fake {
	f := &fake{tok: &googleauthtest.TokenServer{Scope: scope, AccessToken: accessToken}}
	mux := http.NewServeMux()
	mux.Handle("/token", f.tok)
	mux.HandleFunc("/", f.api)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.tok.Audience = f.srv.URL + "/token"
	return f
}

func (f *fake) api(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	if r.Header.Get("Authorization") != "Bearer "+accessToken {
		googleauthtest.APIError(w, 401, "authError", "Request had invalid authentication credentials.")
		return
	}
	if r.Method != http.MethodGet || r.URL.Query().Get("alt") != "json" {
		googleauthtest.APIError(w, 400, "badRequest", "bad request")
		return
	}
	if r.URL.Path != "/gmail/v1/users/me/profile" {
		googleauthtest.APIError(w, 404, "notFound", "Not Found")
		return
	}
	if f.answer != nil && f.answer(w, r, n) {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"emailAddress": "ada@example.com", "messagesTotal": 1234, "threadsTotal": 567, "historyId": "89"})
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"client_id": googleauthtest.ClientID, "base_url": f.srv.URL + "/", "token_url": f.srv.URL + "/token"}
	for k, v := range extra {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
	return s
}

func oauthSecrets() map[string]string {
	return map[string]string{"client_secret": googleauthtest.ClientSecret, "refresh_token": googleauthtest.RefreshToken}
}

func TestVerify(t *testing.T) {
	googleError := func(status int, reason, msg string, header ...string) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, r *http.Request, _ int) bool {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			googleauthtest.APIError(w, status, reason, msg)
			return true
		}
	}
	saSettings := map[string]any{"auth_mode": "service_account", "mailbox": "ada@example.com", "client_id": nil}
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		answer   func(http.ResponseWriter, *http.Request, int) bool
		token    func(*googleauthtest.TokenServer)
		deadline time.Duration
		code     providers.Code
		msg      string
		details  map[string]any
		calls    int
	}{
		{name: "success", details: map[string]any{"email": "ada@example.com", "messages_total": int64(1234), "threads_total": int64(567), "auth_mode": "oauth_refresh_token"}},
		{name: "401", answer: googleError(401, "authError", "Invalid Credentials"), code: providers.CodeAuthFailed, msg: "Invalid Credentials"},
		{name: "403 scope", answer: googleError(403, "insufficientPermissions", "Request had insufficient authentication scopes."), code: providers.CodePermissionDenied, msg: "insufficient authentication scopes"},
		{name: "403 rate limit", answer: googleError(403, "rateLimitExceeded", "Rate Limit Exceeded"), code: providers.CodeRateLimited},
		{name: "429 Retry-After beyond deadline", deadline: time.Second,
			answer: googleError(429, "userRateLimitExceeded", "Too many concurrent requests for user", "Retry-After", "30"), code: providers.CodeRateLimited},
		{name: "429 then 200", calls: 2, details: map[string]any{"email": "ada@example.com"},
			answer: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", "0")
				googleauthtest.APIError(w, 429, "rateLimitExceeded", "Rate limit exceeded")
				return true
			}},
		{name: "leak", code: providers.CodeProviderError,
			answer: googleError(400, "failedPrecondition", "refresh_token="+googleauthtest.RefreshToken+" client_secret="+googleauthtest.ClientSecret)},
		{name: "echoed access token", code: providers.CodeProviderError, msg: "bad token [REDACTED] or [REDACTED]",
			answer: googleError(400, "failedPrecondition", "bad token "+accessToken+" or "+base64.StdEncoding.EncodeToString([]byte(accessToken)))},
		{name: "refresh token revoked", code: providers.CodeAuthFailed, msg: "re-authorise",
			token: func(s *googleauthtest.TokenServer) {
				s.FailStatus, s.FailBody = 400, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`
			}},
		{name: "service account impersonates the mailbox", settings: saSettings,
			secrets: map[string]string{"service_account_json": googleauthtest.ServiceAccountJSON(t)},
			token:   func(s *googleauthtest.TokenServer) { s.Subject = "ada@example.com" },
			details: map[string]any{"email": "ada@example.com", "auth_mode": "service_account", "service_account": googleauthtest.SAEmail}},
		{name: "service account without delegation", settings: saSettings,
			secrets: map[string]string{"service_account_json": googleauthtest.ServiceAccountJSON(t)},
			token: func(s *googleauthtest.TokenServer) {
				s.FailStatus, s.FailBody = 401, `{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}`
			},
			code: providers.CodePermissionDenied, msg: "domain-wide delegation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.answer = tc.answer
			if tc.token != nil {
				tc.token(f.tok)
			}
			secrets := tc.secrets
			if secrets == nil {
				secrets = oauthSecrets()
			}
			c := providertest.Open(t, Driver{}, f.settings(tc.settings), secrets)
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
				if tc.deadline > 0 {
					providertest.WantRateLimited(t, pe, 30*time.Second)
				}
				for _, s := range secrets {
					if strings.Contains(pe.Message, s) {
						t.Errorf("message leaks a secret: %s", pe.Message)
					}
				}
				return
			}
			if pe != nil {
				t.Fatalf("verify: %s: %s", pe.Code, pe.Message)
			}
			for k, v := range tc.details {
				if res.Details[k] != v {
					t.Errorf("details[%s] = %v (%T), want %v (all: %v)", k, res.Details[k], res.Details[k], v, res.Details)
				}
			}
			if tc.calls != 0 && int(f.calls.Load()) != tc.calls {
				t.Errorf("API calls = %d, want %d", f.calls.Load(), tc.calls)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	sa := googleauthtest.ServiceAccountJSON(t)
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
	}{
		{"base_url scheme", map[string]any{"client_id": "c", "base_url": "gmail.googleapis.com"}, oauthSecrets()},
		{"token_url with user info", map[string]any{"client_id": "c", "token_url": "https://u:p@oauth2.googleapis.com/token"}, oauthSecrets()},
		{"service account key is a user credential", map[string]any{"auth_mode": "service_account", "mailbox": "a@b.c"}, map[string]string{"service_account_json": `{"type":"authorized_user","client_id":"x"}`}},
		{"service account blank mailbox", map[string]any{"auth_mode": "service_account", "mailbox": "{blank}"}, map[string]string{"service_account_json": sa}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := providertest.Config(t, Driver{}, tc.settings, tc.secrets)
			if cfg.Settings["mailbox"] == "{blank}" {
				cfg.Settings["mailbox"] = " " // Validate refuses it already; Open must too
			}
			_, err := Driver{}.Open(context.Background(), cfg)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("want invalid_config, got %v", err)
			}
		})
	}
}

// TestRefreshRotation: a new refresh token from the token endpoint is saved.
func TestRefreshRotation(t *testing.T) {
	f := newFake(t)
	f.tok.NewRefreshToken = "1//rotated-refresh-token"
	cfg := providertest.Config(t, Driver{}, f.settings(nil), oauthSecrets())
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, pe := providertest.Verify(context.Background(), c); pe != nil {
		t.Fatalf("verify: %v", pe)
	}
	tok, _ := cfg.Tokens.(*providertest.MemTokenStore).LoadToken(context.Background())
	if tok == nil || tok.RefreshToken != "1//rotated-refresh-token" {
		t.Fatalf("stored token = %+v, want the rotated refresh token", tok)
	}
}

// TestConcurrentVerifyOneTokenCall: 50 concurrent verifies share one token.
func TestConcurrentVerifyOneTokenCall(t *testing.T) {
	f := newFake(t)
	c := providertest.Open(t, Driver{}, f.settings(nil), oauthSecrets())
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tok.Calls(); n != 1 {
		t.Fatalf("token calls = %d, want 1", n)
	}
}
