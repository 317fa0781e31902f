package bullhorn

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	clientID     = "8686f50f-client-id"
	clientSecret = "bh-client-secret-AgRV5Q"
	apiUser      = "acme.api"
	apiPassword  = "p@ss w0rd&more=1"
	refreshTok   = "23:refresh-0001"
)

// fake emulates Bullhorn's chain: loginInfo, the OAuth authorize page (which
// redirects with a code only for the right user and password), the token
// endpoint (single-use refresh tokens), REST login and ping. Every step
// checks the documented method and parameters.
type fake struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	codes    map[string]bool
	refresh  string // the one refresh token currently valid
	access   map[string]bool
	sessions map[string]bool
	n        int

	loginInfoCalls, tokenCalls, pingCalls, followed atomic.Int32
	ping                                            func(w http.ResponseWriter, n int32)
}

func newFake(t *testing.T) *fake {
	f := &fake{t: t, codes: map[string]bool{}, refresh: refreshTok, access: map[string]bool{}, sessions: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/rest-services/loginInfo", f.loginInfo)
	mux.HandleFunc("/oauth/authorize", f.authorize)
	mux.HandleFunc("/oauth/token", f.token)
	mux.HandleFunc("/rest-services/login", f.restLogin)
	mux.HandleFunc("/rest-services/e999/ping", f.pingHandler)
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) { f.followed.Add(1) })
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) next(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%d", prefix, f.n)
}

func bhError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errorMessage": msg, "errorCode": status})
}

func oauthError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(400)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "Invalid, expired, or revoked token."})
}

func (f *fake) loginInfo(w http.ResponseWriter, r *http.Request) {
	f.loginInfoCalls.Add(1)
	if r.Method != http.MethodGet || r.URL.Query().Get("username") != apiUser {
		bhError(w, 400, "unknown user")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"oauthUrl": f.srv.URL + "/oauth", "restUrl": f.srv.URL + "/rest-services", "dataCenterId": 2})
}

func (f *fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("client_id") != clientID || q.Get("response_type") != "code" || q.Get("action") != "Login" {
		w.WriteHeader(400)
		fmt.Fprint(w, "Invalid client_id")
		return
	}
	if q.Get("username") != apiUser || q.Get("password") != apiPassword {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><form>Bullhorn login: invalid username or password</form></html>")
		return
	}
	f.mu.Lock()
	code := f.next("23:code")
	f.codes[code] = true
	f.mu.Unlock()
	http.Redirect(w, r, f.srv.URL+"/callback?"+url.Values{"code": {code}, "client_id": {clientID}}.Encode(), http.StatusFound)
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	f.tokenCalls.Add(1)
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.Form.Get("client_id") != clientID || r.Form.Get("client_secret") != clientSecret {
		oauthError(w, "invalid_client")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Form.Get("grant_type") {
	case "authorization_code":
		// Documented as query parameters.
		code := r.URL.Query().Get("code")
		if !f.codes[code] || r.URL.Query().Get("client_secret") != clientSecret {
			oauthError(w, "invalid_grant")
			return
		}
		delete(f.codes, code)
	case "refresh_token":
		if r.Form.Get("refresh_token") != f.refresh {
			oauthError(w, "invalid_grant")
			return
		}
	default:
		oauthError(w, "unsupported_grant_type")
		return
	}
	at, rt := f.next("at"), f.next("24:refresh")
	f.access[at], f.refresh = true, rt // refresh tokens are single-use
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 600, "refresh_token": rt})
}

func (f *fake) restLogin(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Query().Get("version") != "*" || !f.access[r.URL.Query().Get("access_token")] {
		bhError(w, 401, "Invalid or expired OAuth access token.")
		return
	}
	bh := f.next("bhrest")
	f.sessions[bh] = true
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"BhRestToken": bh, "restUrl": f.srv.URL + "/rest-services/e999/"})
}

func (f *fake) pingHandler(w http.ResponseWriter, r *http.Request) {
	n := f.pingCalls.Add(1)
	f.mu.Lock()
	ok := f.sessions[r.Header.Get("BhRestToken")]
	f.mu.Unlock()
	if r.Method != http.MethodGet {
		w.WriteHeader(405)
		return
	}
	if !ok {
		bhError(w, 401, "Bad 'BhRestToken' or timed-out.")
		return
	}
	if f.ping != nil {
		f.ping(w, n)
		return
	}
	pingOK(w)
}

func pingOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"sessionExpires":1700000600000}`)
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"client_id": clientID, "api_username": apiUser, "login_info_url": f.srv.URL + "/rest-services/loginInfo"}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func passwordSecrets() map[string]string {
	return map[string]string{"client_secret": clientSecret, "api_password": apiPassword}
}

func refreshSecrets() map[string]string {
	return map[string]string{"client_secret": clientSecret, "refresh_token": refreshTok}
}

// noLeak fails if any secret appears in the error's message or anywhere in
// its chain of causes (a url.Error would carry the whole URL).
func noLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	var texts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e))
	}
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s))} {
			for _, txt := range texts {
				if strings.Contains(txt, form) {
					t.Errorf("error leaks %q: %s", form, txt)
				}
			}
		}
	}
}

func TestVerifyPasswordLogin(t *testing.T) {
	f := newFake(t)
	cfg := providertest.Config(t, Driver{}, f.settings(map[string]any{"redirect_uri": f.srv.URL + "/callback"}), passwordSecrets())
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	d := res.Details
	if d["auth_mode"] != "password" || d["rest_url"] != f.srv.URL+"/rest-services/e999/" || d["rest_host"] != strings.TrimPrefix(f.srv.URL, "http://") ||
		d["session_expires"] != "2023-11-14T22:23:20Z" {
		t.Errorf("details = %v", d)
	}
	if f.followed.Load() != 0 {
		t.Error("the authorize redirect was followed")
	}
	tok, _ := cfg.Tokens.LoadToken(context.Background())
	f.mu.Lock()
	current := f.refresh
	f.mu.Unlock()
	if tok == nil || tok.RefreshToken != current {
		t.Errorf("stored token = %+v, want refresh token %s saved", tok, current)
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		ping     func(http.ResponseWriter, int32)
		timeout  time.Duration
		code     providers.Code
		check    func(t *testing.T, f *fake, res *providers.VerifyResult, err error)
	}{
		{
			name:    "refresh token with configured URLs skips loginInfo",
			secrets: refreshSecrets(),
			check: func(t *testing.T, f *fake, res *providers.VerifyResult, _ error) {
				if res.Details["auth_mode"] != "refresh_token" || f.loginInfoCalls.Load() != 0 {
					t.Errorf("details = %v, loginInfo calls = %d", res.Details, f.loginInfoCalls.Load())
				}
			},
		},
		{
			name:    "wrong password: the authorize page answers its form",
			secrets: map[string]string{"client_secret": clientSecret, "api_password": "wrong-password"},
			code:    providers.CodeAuthFailed,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, err error) {
				noLeak(t, err, "wrong-password", clientSecret)
			},
		},
		{name: "revoked refresh token", secrets: map[string]string{"client_secret": clientSecret, "refresh_token": "23:stale"}, code: providers.CodeAuthFailed},
		{name: "wrong client secret", secrets: map[string]string{"client_secret": "not-the-secret", "api_password": apiPassword}, code: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, err error) {
				noLeak(t, err, "not-the-secret", apiPassword)
			}},
		{name: "ping 401", ping: func(w http.ResponseWriter, _ int32) { bhError(w, 401, "Bad 'BhRestToken' or timed-out.") }, code: providers.CodeAuthFailed},
		{name: "ping 403", ping: func(w http.ResponseWriter, _ int32) { bhError(w, 403, "Forbidden") }, code: providers.CodePermissionDenied},
		{
			name: "429 with long Retry-After comes back fast",
			ping: func(w http.ResponseWriter, _ int32) {
				w.Header().Set("Retry-After", "30")
				bhError(w, 429, "Too Many Requests")
			},
			timeout: time.Second,
			code:    providers.CodeRateLimited,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, err error) {
				providertest.WantRateLimited(t, err, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried",
			ping: func(w http.ResponseWriter, n int32) {
				if n == 1 {
					w.Header().Set("Retry-After", "0")
					bhError(w, 429, "Too Many Requests")
					return
				}
				pingOK(w)
			},
			check: func(t *testing.T, f *fake, _ *providers.VerifyResult, _ error) {
				if n := f.pingCalls.Load(); n != 2 {
					t.Errorf("ping calls = %d, want 2", n)
				}
			},
		},
		{
			name: "upstream echoes secrets and tokens",
			ping: func(w http.ResponseWriter, _ int32) {
				bhError(w, 400, "bad "+apiPassword+" "+clientSecret+" at-2 bhrest-4 24:refresh-3 "+base64.StdEncoding.EncodeToString([]byte("bhrest-4")))
			},
			code: providers.CodeProviderError,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, err error) {
				noLeak(t, err, apiPassword, clientSecret, "at-2", "bhrest-4", "24:refresh-3")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.ping = tc.ping
			settings := f.settings(tc.settings)
			secrets := tc.secrets
			if secrets == nil {
				secrets = passwordSecrets()
			}
			if secrets["refresh_token"] != "" {
				settings["oauth_url"] = f.srv.URL + "/oauth"
				settings["rest_url"] = f.srv.URL + "/rest-services/"
			}
			c := providertest.Open(t, Driver{}, settings, secrets)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
			if tc.code == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
			} else {
				providertest.WantCode(t, err, tc.code)
				noLeak(t, err, apiPassword, clientSecret, refreshTok)
			}
			if tc.check != nil {
				tc.check(t, f, res, err)
			}
		})
	}
}

// TestTransportErrorsHideQueryStrings makes the password-bearing authorize
// request fail in the transport (a closed port, a deadline) and checks that
// neither the message nor any cause carries the URL's query.
func TestTransportErrorsHideQueryStrings(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)

	tests := []struct {
		name string
		base string
		code providers.Code
	}{
		{"closed port", closedURL, providers.CodeUnreachable},
		{"deadline", hang.URL, providers.CodeTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := providertest.Open(t, Driver{}, map[string]any{"client_id": clientID, "api_username": apiUser,
				"oauth_url": tc.base + "/oauth", "rest_url": tc.base + "/rest-services"}, passwordSecrets())
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
			providertest.WantCode(t, err, tc.code)
			noLeak(t, err, apiPassword, clientSecret, "password=")
		})
	}
}

// TestVerifyReplacesRefusedToken expires the cached access token between two
// verifies: the REST login refuses it, and the driver refreshes once.
func TestVerifyReplacesRefusedToken(t *testing.T) {
	f := newFake(t)
	c := providertest.Open(t, Driver{}, f.settings(nil), refreshSecrets())
	v := c.(providers.Verifier)
	if _, err := v.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("first verify: %v", err)
	}
	f.mu.Lock()
	clear(f.access)
	f.mu.Unlock()
	if _, err := v.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("verify after expiry: %v", err)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Errorf("token calls = %d, want 2", n)
	}
}

func TestVerifyRotatesRefreshToken(t *testing.T) {
	f := newFake(t)
	cfg := providertest.Config(t, Driver{}, f.settings(nil), refreshSecrets())
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	f.mu.Lock()
	current := f.refresh
	f.mu.Unlock()
	tok, err := cfg.Tokens.LoadToken(context.Background())
	if err != nil || tok == nil || tok.RefreshToken != current {
		t.Fatalf("stored token = %+v, %v; want the rotated refresh token %s saved", tok, err, current)
	}
}

func TestVerifyConcurrentOneTokenCall(t *testing.T) {
	f := newFake(t)
	c := providertest.Open(t, Driver{}, f.settings(nil), refreshSecrets())
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
		{"neither password nor refresh token", nil, map[string]string{"client_secret": clientSecret}},
		{"bad oauth url", map[string]any{"oauth_url": "auth.bullhornstaffing.com"}, passwordSecrets()},
		{"bad login info url", map[string]any{"login_info_url": "ftp://x/loginInfo"}, passwordSecrets()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := map[string]any{"client_id": clientID, "api_username": apiUser}
			for k, v := range tc.settings {
				s[k] = v
			}
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, s, tc.secrets))
			providertest.WantCode(t, err, providers.CodeInvalidConfig)
		})
	}
}
