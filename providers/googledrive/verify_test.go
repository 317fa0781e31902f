package googledrive

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

const accessToken = "ya29.access-token"

// fake is Google's token endpoint and the Drive v3 endpoints verify calls. It
// checks the documented request and answers 400/401 when anything differs;
// answer decides what a well-formed request gets.
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
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("alt") != "json" {
		googleauthtest.APIError(w, 400, "badRequest", "bad request")
		return
	}
	if f.answer != nil && f.answer(w, r, n) {
		return
	}
	switch r.URL.Path {
	case "/drive/v3/about":
		if q.Get("fields") != "user(displayName,emailAddress)" {
			googleauthtest.APIError(w, 400, "required", "The 'fields' parameter is required for this method.")
			return
		}
		writeJSON(w, map[string]any{"user": map[string]any{"displayName": "Ada Lovelace", "emailAddress": "ada@example.com", "kind": "drive#user"}})
	case "/drive/v3/drives/0AdriveID":
		if q.Get("fields") != "id,name" {
			googleauthtest.APIError(w, 400, "badRequest", "fields")
			return
		}
		writeJSON(w, map[string]any{"id": "0AdriveID", "name": "Finance"})
	case "/drive/v3/files/folderID", "/drive/v3/files/fileID":
		if q.Get("supportsAllDrives") != "true" || q.Get("fields") != "id,name,mimeType,trashed" {
			googleauthtest.APIError(w, 400, "badRequest", "supportsAllDrives")
			return
		}
		mime := folderMimeType
		if strings.HasSuffix(r.URL.Path, "fileID") {
			mime = "application/pdf"
		}
		writeJSON(w, map[string]any{"id": "x", "name": "Invoices", "mimeType": mime})
	default:
		googleauthtest.APIError(w, 404, "notFound", "File not found: "+r.URL.Path)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"client_id": googleauthtest.ClientID, "base_url": f.srv.URL + "/", "token_url": f.srv.URL + "/token"}
	for k, v := range extra {
		s[k] = v
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
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		answer   func(http.ResponseWriter, *http.Request, int) bool
		token    func(*googleauthtest.TokenServer)
		deadline time.Duration
		code     providers.Code
		msg      string // substring of the error message
		details  map[string]any
		calls    int // API calls expected, when not 0
	}{
		{name: "success", details: map[string]any{"email": "ada@example.com", "display_name": "Ada Lovelace", "auth_mode": "oauth_refresh_token"}},
		{name: "401", answer: googleError(401, "authError", "Invalid Credentials"), code: providers.CodeAuthFailed, msg: "Invalid Credentials"},
		{name: "403 scope", answer: googleError(403, "insufficientPermissions", "Request had insufficient authentication scopes."), code: providers.CodePermissionDenied, msg: "insufficientPermissions"},
		{name: "403 user rate limit", answer: googleError(403, "userRateLimitExceeded", "User rate limit exceeded."), code: providers.CodeRateLimited},
		{name: "404", answer: googleError(404, "notFound", "File not found"), code: providers.CodeNotFound},
		{name: "429 Retry-After beyond deadline", deadline: time.Second,
			answer: googleError(429, "rateLimitExceeded", "Rate limit exceeded", "Retry-After", "30"), code: providers.CodeRateLimited},
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
			answer: googleError(400, "invalid", "bad refresh_token "+googleauthtest.RefreshToken+" and secret "+googleauthtest.ClientSecret)},
		{name: "echoed access token", code: providers.CodeProviderError, msg: "bad token [REDACTED] or [REDACTED]",
			answer: googleError(400, "invalid", "bad token "+accessToken+" or "+base64.StdEncoding.EncodeToString([]byte(accessToken)))},
		{name: "refresh token revoked", code: providers.CodeAuthFailed, msg: "re-authorise",
			token: func(s *googleauthtest.TokenServer) {
				s.FailStatus, s.FailBody = 400, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`
			}},
		{name: "shared drive and root folder",
			settings: map[string]any{"shared_drive_id": "0AdriveID", "root_folder_id": "folderID"},
			details:  map[string]any{"shared_drive_name": "Finance", "root_folder_name": "Invoices"}, calls: 3},
		{name: "root folder missing", settings: map[string]any{"root_folder_id": "missingID"},
			code: providers.CodeNotFound, msg: `root folder "missingID" was not found`},
		{name: "root folder is a file", settings: map[string]any{"root_folder_id": "fileID"},
			code: providers.CodeInvalidConfig, msg: "not a folder"},
		{name: "service account", settings: map[string]any{"auth_mode": "service_account", "subject": "ada@example.com", "client_id": nil},
			secrets: map[string]string{"service_account_json": googleauthtest.ServiceAccountJSON(t)},
			token:   func(s *googleauthtest.TokenServer) { s.Subject = "ada@example.com" },
			details: map[string]any{"email": "ada@example.com", "auth_mode": "service_account", "service_account": googleauthtest.SAEmail}},
		{name: "service account wrong subject", settings: map[string]any{"auth_mode": "service_account", "subject": "bob@example.com", "client_id": nil},
			secrets: map[string]string{"service_account_json": googleauthtest.ServiceAccountJSON(t)},
			token:   func(s *googleauthtest.TokenServer) { s.Subject = "ada@example.com" },
			code:    providers.CodeAuthFailed, msg: "Invalid email or User ID"},
		{name: "service account without delegation", settings: map[string]any{"auth_mode": "service_account", "subject": "ada@example.com", "client_id": nil},
			secrets: map[string]string{"service_account_json": googleauthtest.ServiceAccountJSON(t)},
			token: func(s *googleauthtest.TokenServer) {
				s.FailStatus, s.FailBody = 401, `{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method."}`
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
			settings := f.settings(tc.settings)
			for k, v := range settings {
				if v == nil {
					delete(settings, k)
				}
			}
			secrets := tc.secrets
			if secrets == nil {
				secrets = oauthSecrets()
			}
			c := providertest.Open(t, Driver{}, settings, secrets)
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
				if tc.code == providers.CodeRateLimited && tc.deadline > 0 {
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
	cases := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
	}{
		{"base_url scheme", map[string]any{"client_id": "c", "base_url": "ftp://example.com/"}, oauthSecrets()},
		{"token_url missing host", map[string]any{"client_id": "c", "token_url": "https:///token"}, oauthSecrets()},
		{"not JSON", map[string]any{"auth_mode": "service_account"}, map[string]string{"service_account_json": "{not json"}},
		{"not a service account", map[string]any{"auth_mode": "service_account"}, map[string]string{"service_account_json": `{"type":"authorized_user"}`}},
		{"bad key", map[string]any{"auth_mode": "service_account"}, map[string]string{"service_account_json": `{"type":"service_account","client_email":"a@b","private_key":"nope"}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, tc.settings, tc.secrets))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("want invalid_config, got %v", err)
			}
		})
	}
}

// TestTokenNotSentToOtherHost: a redirect to another host must not carry the
// bearer token.
func TestTokenNotSentToOtherHost(t *testing.T) {
	var got atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		writeJSON(w, map[string]any{"user": map[string]any{"emailAddress": "x@example.com"}})
	}))
	defer other.Close()
	f := newFake(t)
	f.answer = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	}
	c := providertest.Open(t, Driver{}, f.settings(nil), oauthSecrets())
	if _, pe := providertest.Verify(context.Background(), c); pe != nil {
		t.Fatalf("verify: %v", pe)
	}
	if h, _ := got.Load().(string); h != "" {
		t.Fatalf("the other host got Authorization %q", h)
	}
}

// TestRevokedAccessTokenIsReplaced: an API 401 for a token that has not
// expired yet gets one new token and one retry.
func TestRevokedAccessTokenIsReplaced(t *testing.T) {
	f := newFake(t)
	f.tok.AccessTokenFor = func(n int) string {
		if n == 1 {
			return "ya29.revoked"
		}
		return accessToken
	}
	c := providertest.Open(t, Driver{}, f.settings(nil), oauthSecrets())
	if _, pe := providertest.Verify(context.Background(), c); pe != nil {
		t.Fatalf("verify: %s: %s", pe.Code, pe.Message)
	}
	if n := f.tok.Calls(); n != 2 {
		t.Fatalf("token calls = %d, want 2", n)
	}
}

// TestServiceAccountConcurrentVerifyOneTokenCall: the JWT bearer grant goes
// through the shared machinery too, so 50 verifies (each making three API
// calls) make one token call.
func TestServiceAccountConcurrentVerifyOneTokenCall(t *testing.T) {
	f := newFake(t)
	f.tok.Subject = "ada@example.com"
	c := providertest.Open(t, Driver{}, f.settings(map[string]any{"auth_mode": "service_account", "subject": "ada@example.com",
		"shared_drive_id": "0AdriveID", "root_folder_id": "folderID"}),
		map[string]string{"service_account_json": googleauthtest.ServiceAccountJSON(t)})
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tok.Calls(); n != 1 {
		t.Fatalf("token calls = %d, want 1", n)
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
	store := cfg.Tokens.(*providertest.MemTokenStore)
	tok, _ := store.LoadToken(context.Background())
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
