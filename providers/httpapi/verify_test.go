package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	password     = "s3cret-password"
	bearer       = "bearer-token-value"
	apiKey       = "api-key-value-123"
	clientSecret = "oauth-client-secret"
	accessToken  = "cc-access-token"
)

// fake is an API whose /v1/health requires the auth the case expects, and an
// OAuth token endpoint for the client-credentials grant. Anything off the
// expected request gets 400 (or 401 for wrong credentials).
type fake struct {
	srv        *httptest.Server
	check      func(r *http.Request) string // "" when the request is as expected
	answer     func(w http.ResponseWriter, r *http.Request, attempt int) bool
	calls      atomic.Int64
	tokenCalls atomic.Int64
	issue      func(n int) string // the access token of the n-th token call, when set
}

func newFake(t *testing.T) *fake {
	f := &fake{}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", f.token)
	mux.HandleFunc("/", f.api)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	n := int(f.tokenCalls.Add(1))
	access := accessToken
	if f.issue != nil {
		access = f.issue(n)
	}
	r.ParseForm()
	id, secret, _ := r.BasicAuth()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("scope") != "read:things write:things" || r.PostForm.Get("audience") != "https://api.example.com":
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"invalid_request"}`)
	case id != "cc-client" || secret != clientSecret:
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
	default:
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, access)
	}
}

func (f *fake) api(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	if f.check != nil {
		if msg := f.check(r); msg != "" {
			status := 400
			if strings.HasPrefix(msg, "auth:") {
				status = 401
			}
			http.Error(w, msg, status)
			return
		}
	}
	if f.answer != nil && f.answer(w, r, n) {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Server", "fake/1.0")
	if r.Method != http.MethodHead {
		fmt.Fprint(w, `{"status":"ok"}`)
	}
}

// expect returns a check for method, path, and one header or query value.
func expect(method, path string, extra func(r *http.Request) string) func(r *http.Request) string {
	return func(r *http.Request) string {
		if r.Method != method || r.URL.Path != path {
			return fmt.Sprintf("want %s %s, got %s %s", method, path, r.Method, r.URL.Path)
		}
		if extra != nil {
			return extra(r)
		}
		return ""
	}
}

func header(name, want string) func(r *http.Request) string {
	return func(r *http.Request) string {
		if got := r.Header.Get(name); got != want {
			return fmt.Sprintf("auth: %s = %q", name, got)
		}
		return ""
	}
}

func TestVerify(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:"+password))
	reply := func(status int, body string, hdr ...string) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, r *http.Request, _ int) bool {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return true
		}
	}
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		check    func(r *http.Request) string
		answer   func(http.ResponseWriter, *http.Request, int) bool
		deadline time.Duration
		code     providers.Code
		msg      string
		details  map[string]any
		calls    int
		hidden   []string // run-time values the message must not contain
	}{
		{name: "none", check: expect("GET", "/v1/health", header("Authorization", "")),
			details: map[string]any{"status": 200, "content_type": "application/json", "final_path": "/v1/health", "server": "fake/1.0"}},
		{name: "path and query joined to base_url", settings: map[string]any{"base_url": "{srv}/v1/", "verify_path": "health?full=1"},
			check: expect("GET", "/v1/health", func(r *http.Request) string {
				if r.URL.RawQuery != "full=1" {
					return "query " + r.URL.RawQuery
				}
				return ""
			}), details: map[string]any{"final_path": "/v1/health"}},
		{name: "HEAD", settings: map[string]any{"verify_method": "HEAD"}, check: expect("HEAD", "/v1/health", nil), details: map[string]any{"status": 200}},
		{name: "basic", settings: map[string]any{"auth_type": "basic"}, secrets: map[string]string{"username": "bob", "password": password},
			check: expect("GET", "/v1/health", header("Authorization", basic)), details: map[string]any{"status": 200}},
		{name: "bearer", settings: map[string]any{"auth_type": "bearer"}, secrets: map[string]string{"token": bearer},
			check: expect("GET", "/v1/health", header("Authorization", "Bearer "+bearer)), details: map[string]any{"status": 200}},
		{name: "api key header", settings: map[string]any{"auth_type": "api_key_header", "api_key_name": "X-Api-Token"}, secrets: map[string]string{"api_key": apiKey},
			check: expect("GET", "/v1/health", header("X-Api-Token", apiKey)), details: map[string]any{"status": 200}},
		{name: "api key query is not in details", settings: map[string]any{"auth_type": "api_key_query", "api_key_name": "key", "verify_path": "/v1/health?x=1"},
			secrets: map[string]string{"api_key": apiKey},
			check: expect("GET", "/v1/health", func(r *http.Request) string {
				if r.URL.Query().Get("key") != apiKey || r.URL.Query().Get("x") != "1" {
					return "auth: query " + r.URL.RawQuery
				}
				return ""
			}), details: map[string]any{"final_path": "/v1/health"}},
		{name: "oauth2 client credentials", settings: map[string]any{"auth_type": "oauth2_client_credentials", "token_url": "{srv}/oauth/token",
			"client_id": "cc-client", "scopes": []any{"read:things", "write:things"}, "audience": "https://api.example.com"},
			secrets: map[string]string{"client_secret": clientSecret},
			check:   expect("GET", "/v1/health", header("Authorization", "Bearer "+accessToken)), details: map[string]any{"status": 200}},
		{name: "oauth2 bad client secret", settings: map[string]any{"auth_type": "oauth2_client_credentials", "token_url": "{srv}/oauth/token",
			"client_id": "cc-client", "scopes": []any{"read:things", "write:things"}, "audience": "https://api.example.com"},
			secrets: map[string]string{"client_secret": "wrong-secret"}, code: providers.CodeAuthFailed},
		{name: "extra headers", settings: map[string]any{"extra_headers": map[string]any{"x-tenant": "acme", "Accept": "application/vnd.api+json"}},
			check: expect("GET", "/v1/health", func(r *http.Request) string {
				if r.Header.Get("X-Tenant") != "acme" || r.Header.Get("Accept") != "application/vnd.api+json" {
					return "missing extra headers"
				}
				return ""
			}), details: map[string]any{"status": 200}},
		{name: "expected status", settings: map[string]any{"expected_status": 204}, answer: reply(204, ""), details: map[string]any{"status": 204}},
		{name: "unexpected 2xx", settings: map[string]any{"expected_status": 204}, code: providers.CodeProviderError, msg: "HTTP 200, expected 204"},
		{name: "401", settings: map[string]any{"auth_type": "bearer"}, secrets: map[string]string{"token": "wrong-token"},
			check: expect("GET", "/v1/health", header("Authorization", "Bearer "+bearer)), code: providers.CodeAuthFailed},
		{name: "403", answer: reply(403, `{"message":"forbidden for this key"}`), code: providers.CodePermissionDenied, msg: "forbidden for this key"},
		{name: "404", settings: map[string]any{"verify_path": "/nope"}, answer: reply(404, `{}`), code: providers.CodeNotFound, msg: "/nope was not found"},
		{name: "429 Retry-After beyond deadline", deadline: time.Second, answer: reply(429, `{}`, "Retry-After", "30"), code: providers.CodeRateLimited},
		{name: "429 then 200", calls: 2, details: map[string]any{"status": 200},
			answer: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(429)
				return true
			}},
		{name: "leak", settings: map[string]any{"auth_type": "basic"}, secrets: map[string]string{"username": "bob", "password": password},
			answer: reply(401, `{"error":"bad password `+password+` (`+basic+`)"}`), code: providers.CodeAuthFailed, msg: "[REDACTED]"},
		{name: "leak of the access token", settings: map[string]any{"auth_type": "oauth2_client_credentials", "token_url": "{srv}/oauth/token",
			"client_id": "cc-client", "scopes": []any{"read:things", "write:things"}, "audience": "https://api.example.com"},
			secrets: map[string]string{"client_secret": clientSecret},
			check:   expect("GET", "/v1/health", header("Authorization", "Bearer "+accessToken)),
			answer:  reply(403, `{"error":"token `+accessToken+` (`+base64.StdEncoding.EncodeToString([]byte(accessToken))+`) may not read this"}`),
			code:    providers.CodePermissionDenied, msg: "[REDACTED]",
			hidden: []string{accessToken, base64.StdEncoding.EncodeToString([]byte(accessToken))}},
		{name: "leak of a query key", settings: map[string]any{"auth_type": "api_key_query", "api_key_name": "key"}, secrets: map[string]string{"api_key": apiKey},
			answer: func(w http.ResponseWriter, r *http.Request, _ int) bool {
				http.Error(w, "invalid request "+r.URL.String(), 400)
				return true
			}, code: providers.CodeProviderError, msg: "[REDACTED]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.check, f.answer = tc.check, tc.answer
			settings := map[string]any{"base_url": f.srv.URL, "verify_path": "/v1/health"}
			for k, v := range tc.settings {
				if s, ok := v.(string); ok {
					v = strings.ReplaceAll(s, "{srv}", f.srv.URL)
				}
				settings[k] = v
			}
			c := providertest.Open(t, Driver{}, settings, tc.secrets)
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
				for _, s := range tc.secrets {
					if len(s) > 3 && strings.Contains(pe.Message, s) {
						t.Errorf("message leaks a secret: %s", pe.Message)
					}
				}
				for _, s := range tc.hidden {
					if strings.Contains(pe.Message, s) {
						t.Errorf("message leaks %q: %s", s, pe.Message)
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
			for k, v := range res.Details {
				if s := fmt.Sprint(v); strings.Contains(s, apiKey) || strings.Contains(s, "?") {
					t.Errorf("details[%s] = %q carries a query or the key", k, s)
				}
			}
			if tc.calls != 0 && int(f.calls.Load()) != tc.calls {
				t.Errorf("API calls = %d, want %d", f.calls.Load(), tc.calls)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
	}{
		{"base_url scheme", map[string]any{"base_url": "ftp://example.com"}, nil},
		{"base_url relative", map[string]any{"base_url": "/api"}, nil},
		{"base_url user info", map[string]any{"base_url": "https://bob:pw@example.com"}, nil},
		{"extra header not a string", map[string]any{"extra_headers": map[string]any{"X-Count": 3}}, nil},
		{"extra header Authorization", map[string]any{"extra_headers": map[string]any{"authorization": "Bearer x"}}, nil},
		{"extra header overrides the api key", map[string]any{"auth_type": "api_key_header", "extra_headers": map[string]any{"x-api-key": "other"}}, map[string]string{"api_key": apiKey}},
		{"extra header bad name", map[string]any{"extra_headers": map[string]any{"Bad Name": "x"}}, nil},
		{"extra header line break", map[string]any{"extra_headers": map[string]any{"X-A": "a\r\nX-Injected: 1"}}, nil},
		{"api key header name invalid", map[string]any{"auth_type": "api_key_header", "api_key_name": "x key"}, map[string]string{"api_key": apiKey}},
		{"expected status out of range", map[string]any{"expected_status": 42}, nil},
		{"token_url scheme", map[string]any{"auth_type": "oauth2_client_credentials", "token_url": "file:///etc/passwd", "client_id": "c"}, map[string]string{"client_secret": "s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := map[string]any{"base_url": "https://api.example.com"}
			for k, v := range tc.settings {
				s[k] = v
			}
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, s, tc.secrets))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("want invalid_config, got %v", err)
			}
		})
	}
}

func oauthSettings(f *fake) map[string]any {
	return map[string]any{"base_url": f.srv.URL, "verify_path": "/v1/health",
		"auth_type": "oauth2_client_credentials", "token_url": f.srv.URL + "/oauth/token", "client_id": "cc-client",
		"scopes": []any{"read:things", "write:things"}, "audience": "https://api.example.com"}
}

// TestRevokedAccessTokenIsReplaced: a 401 for a client-credentials token that
// has not expired yet gets one new token and one retry.
func TestRevokedAccessTokenIsReplaced(t *testing.T) {
	f := newFake(t)
	f.check = expect("GET", "/v1/health", header("Authorization", "Bearer "+accessToken))
	f.issue = func(n int) string {
		if n == 1 {
			return "revoked-token"
		}
		return accessToken
	}
	c := providertest.Open(t, Driver{}, oauthSettings(f), map[string]string{"client_secret": clientSecret})
	if _, pe := providertest.Verify(context.Background(), c); pe != nil {
		t.Fatalf("verify: %s: %s", pe.Code, pe.Message)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("token calls = %d, want 2", n)
	}
}

// TestConcurrentVerifyOneTokenCall: 50 concurrent verifies share one
// client-credentials token.
func TestConcurrentVerifyOneTokenCall(t *testing.T) {
	f := newFake(t)
	f.check = expect("GET", "/v1/health", header("Authorization", "Bearer "+accessToken))
	c := providertest.Open(t, Driver{}, oauthSettings(f), map[string]string{"client_secret": clientSecret})
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls = %d, want 1", n)
	}
}
