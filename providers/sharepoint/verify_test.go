package sharepoint

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
	tenant       = "contoso.onmicrosoft.com"
	clientID     = "11111111-2222-3333-4444-555555555555"
	clientSecret = "Xy8Q~client-secret-value"
	accessToken  = "eyJ0eXAi.graph-access-token"
)

// fake is the Entra ID token endpoint and the Graph endpoints verify calls.
// It checks the documented requests and answers like Graph when anything
// differs; answer decides what a well-formed Graph request gets.
type fake struct {
	srv        *httptest.Server
	tokenCalls atomic.Int64
	calls      atomic.Int64
	tokenFail  string             // a JSON error body for the token endpoint
	issue      func(n int) string // the access token of the n-th token call, when set
	answer     func(w http.ResponseWriter, r *http.Request, attempt int) bool
}

func newFake(t *testing.T) *fake {
	f := &fake{}
	mux := http.NewServeMux()
	mux.HandleFunc("/"+tenant+"/oauth2/v2.0/token", f.token)
	mux.HandleFunc("/v1.0/", f.graph)
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
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	r.ParseForm()
	switch {
	case f.tokenFail != "":
		w.WriteHeader(400)
		fmt.Fprint(w, f.tokenFail)
	case r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("scope") != f.srv.URL+"/.default":
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"invalid_request","error_description":"AADSTS900144: bad request"}`)
	case r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret:
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
	default:
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":%q}`, access)
	}
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (f *fake) graph(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	if r.Header.Get("Authorization") != "Bearer "+accessToken {
		graphError(w, 401, "InvalidAuthenticationToken", "Access token validation failure.")
		return
	}
	if r.Method != http.MethodGet {
		graphError(w, 405, "BadRequest", "method")
		return
	}
	if f.answer != nil && f.answer(w, r, n) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch path, sel := r.URL.EscapedPath(), r.URL.Query().Get("$select"); {
	case path == "/v1.0/sites/contoso.sharepoint.com:/sites/Finance%20Team" && sel == "id,displayName,webUrl":
		fmt.Fprint(w, `{"id":"contoso.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,2D2244C3-251A-49EA-93A8-39E1C3A060FE","displayName":"Finance Team","webUrl":"https://contoso.sharepoint.com/sites/Finance%20Team"}`)
	case path == "/v1.0/sites/contoso.sharepoint.com" && sel == "id,displayName,webUrl":
		fmt.Fprint(w, `{"id":"contoso.sharepoint.com,root,web","displayName":"Communication site","webUrl":"https://contoso.sharepoint.com"}`)
	case r.URL.Path == "/v1.0/drives/b!drive" && sel == "id,name,driveType":
		fmt.Fprint(w, `{"id":"b!drive","name":"Documents","driveType":"documentLibrary"}`)
	default:
		graphError(w, 404, "itemNotFound", "The requested resource doesn't exist.")
	}
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{
		"tenant_id": tenant, "client_id": clientID, "site_hostname": "contoso.sharepoint.com", "site_path": "/sites/Finance Team",
		"base_url": f.srv.URL, "authority_url": f.srv.URL,
	}
	for k, v := range extra {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
	return s
}

var secrets = map[string]string{"client_secret": clientSecret}

func TestVerify(t *testing.T) {
	reply := func(status int, code, msg string, header ...string) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, r *http.Request, _ int) bool {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			graphError(w, status, code, msg)
			return true
		}
	}
	cases := []struct {
		name      string
		settings  map[string]any
		secrets   map[string]string
		answer    func(http.ResponseWriter, *http.Request, int) bool
		tokenFail string
		deadline  time.Duration
		code      providers.Code
		msg       string
		details   map[string]any
		calls     int
	}{
		{name: "site by path", details: map[string]any{"site_name": "Finance Team", "web_url": "https://contoso.sharepoint.com/sites/Finance%20Team",
			"site_id": "contoso.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,2D2244C3-251A-49EA-93A8-39E1C3A060FE"}},
		{name: "root site", settings: map[string]any{"site_path": nil}, details: map[string]any{"site_name": "Communication site"}},
		{name: "root site as slash", settings: map[string]any{"site_path": "/"}, details: map[string]any{"site_name": "Communication site"}},
		{name: "drive", settings: map[string]any{"drive_id": "b!drive"}, details: map[string]any{"site_name": "Finance Team", "drive_name": "Documents"}, calls: 2},
		{name: "drive missing", settings: map[string]any{"drive_id": "b!other"}, code: providers.CodeNotFound, msg: `the drive "b!other" was not found`},
		{name: "site missing", settings: map[string]any{"site_path": "/sites/Nope"}, code: providers.CodeNotFound, msg: "the site contoso.sharepoint.com/sites/Nope was not found (HTTP 404, itemNotFound)"},
		{name: "401", answer: reply(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."), code: providers.CodeAuthFailed, msg: "InvalidAuthenticationToken"},
		{name: "403", answer: reply(403, "accessDenied", "Either scp or roles claim need to be present in the token."), code: providers.CodePermissionDenied, msg: "Sites.Read.All"},
		{name: "429 Retry-After beyond deadline", deadline: time.Second,
			answer: reply(429, "TooManyRequests", "Too many requests", "Retry-After", "30"), code: providers.CodeRateLimited},
		{name: "429 then 200", calls: 2, details: map[string]any{"site_name": "Finance Team"},
			answer: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", "0")
				graphError(w, 429, "TooManyRequests", "Too many requests")
				return true
			}},
		{name: "leak", answer: reply(400, "invalidRequest", "client_secret "+clientSecret+" is not allowed here, nor token "+accessToken+" "+base64.StdEncoding.EncodeToString([]byte(accessToken))), code: providers.CodeProviderError, msg: "[REDACTED]"},
		{name: "bad client secret", secrets: map[string]string{"client_secret": "wrong-secret"}, code: providers.CodeAuthFailed, msg: "client id or secret"},
		{name: "tenant not found", code: providers.CodeNotFound, msg: "tenant_id",
			tokenFail: `{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'contoso.onmicrosoft.com' not found."}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.answer, f.tokenFail = tc.answer, tc.tokenFail
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
				if tc.deadline > 0 {
					providertest.WantRateLimited(t, pe, 30*time.Second)
				}
				if strings.Contains(pe.Message, clientSecret) {
					t.Errorf("message leaks the client secret: %s", pe.Message)
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
				t.Errorf("Graph calls = %d, want %d", f.calls.Load(), tc.calls)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for name, extra := range map[string]map[string]any{
		"hostname with scheme": {"site_hostname": "https://contoso.sharepoint.com"},
		"hostname with path":   {"site_hostname": "contoso.sharepoint.com/sites/x"},
		"site path is a URL":   {"site_path": "https://contoso.sharepoint.com/sites/x"},
		"tenant with slash":    {"tenant_id": "common/../x"},
		"base_url scheme":      {"base_url": "graph.microsoft.com"},
		"authority user info":  {"authority_url": "https://u:p@login.microsoftonline.com"},
	} {
		t.Run(name, func(t *testing.T) {
			s := map[string]any{"tenant_id": tenant, "client_id": clientID, "site_hostname": "contoso.sharepoint.com"}
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

// TestRevokedAccessTokenIsReplaced: a Graph 401 for a token that has not
// expired yet gets one new token and one retry.
func TestRevokedAccessTokenIsReplaced(t *testing.T) {
	f := newFake(t)
	f.issue = func(n int) string {
		if n == 1 {
			return "revoked-token"
		}
		return accessToken
	}
	c := providertest.Open(t, Driver{}, f.settings(map[string]any{"drive_id": "b!drive"}), secrets)
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
	c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls = %d, want 1", n)
	}
}
