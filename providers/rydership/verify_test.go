package rydership

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	clientID     = "whiplash-app-id-1"
	clientSecret = "whiplash-client-secret-9"
	refreshTok   = "rt-whiplash-0001"
)

// fake is a Whiplash/RyderShip server: a Doorkeeper-style token endpoint and
// the items count resource, both checking the documented request.
type fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	refresh  string
	rotateTo string
	issued   map[string]bool

	tokenCalls atomic.Int32
	countCalls atomic.Int32
	count      func(w http.ResponseWriter, n int32)
}

func newFake(t *testing.T) *fake {
	f := &fake{refresh: refreshTok, issued: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", f.token)
	mux.HandleFunc("/api/v2/items/count", f.itemsCount)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	n := f.tokenCalls.Add(1)
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "refused"})
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil || len(r.URL.Query()) > 0 || r.PostForm.Get("grant_type") != "refresh_token" {
		fail("invalid_request")
		return
	}
	if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
		fail("invalid_client")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("refresh_token") != f.refresh {
		fail("invalid_grant")
		return
	}
	resp := map[string]any{"token_type": "Bearer", "expires_in": 7200, "scope": "user_read", "created_at": 1700000000}
	if f.rotateTo != "" {
		resp["refresh_token"], f.refresh, f.rotateTo = f.rotateTo, f.rotateTo, ""
	}
	at := fmt.Sprintf("at-whiplash-%d", n)
	f.issued[at] = true
	resp["access_token"] = at
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (f *fake) itemsCount(w http.ResponseWriter, r *http.Request) {
	n := f.countCalls.Add(1)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	ok := f.issued[tok]
	f.mu.Unlock()
	if r.Method != http.MethodGet || len(r.URL.Query()) > 0 {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !ok {
		apiError(w, 401, "You are not authorized")
		return
	}
	if f.count != nil {
		f.count(w, n)
		return
	}
	countOK(w)
}

func countOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"count":42}`)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (f *fake) settings() map[string]any {
	return map[string]any{"base_url": f.srv.URL, "token_url": f.srv.URL + "/oauth/token", "client_id": clientID}
}

func secrets() map[string]string {
	return map[string]string{"client_secret": clientSecret, "refresh_token": refreshTok}
}

func TestVerify(t *testing.T) {
	encodedToken := base64.StdEncoding.EncodeToString([]byte("at-whiplash-1"))
	tests := []struct {
		name    string
		refresh string // refresh token the fake accepts; refreshTok when empty
		count   func(http.ResponseWriter, int32)
		timeout time.Duration
		code    providers.Code
		check   func(t *testing.T, f *fake, res *providers.VerifyResult, pe *providers.Error)
	}{
		{name: "success", check: func(t *testing.T, f *fake, res *providers.VerifyResult, _ *providers.Error) {
			if res.Details["count"] != int64(42) || res.Details["scope"] != "user_read" {
				t.Errorf("details = %v", res.Details)
			}
			if f.tokenCalls.Load() != 1 {
				t.Errorf("token calls = %d", f.tokenCalls.Load())
			}
		}},
		{name: "revoked refresh token", refresh: "another", code: providers.CodeAuthFailed},
		{name: "401", count: func(w http.ResponseWriter, _ int32) { apiError(w, 401, "invalid token") }, code: providers.CodeAuthFailed},
		{name: "403", count: func(w http.ResponseWriter, _ int32) { apiError(w, 403, "Forbidden") }, code: providers.CodePermissionDenied},
		{
			name: "429 with long Retry-After comes back fast",
			count: func(w http.ResponseWriter, _ int32) {
				w.Header().Set("Retry-After", "30")
				apiError(w, 429, "Too many requests")
			},
			timeout: time.Second,
			code:    providers.CodeRateLimited,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				providertest.WantRateLimited(t, pe, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried",
			count: func(w http.ResponseWriter, n int32) {
				if n == 1 {
					w.Header().Set("Retry-After", "0")
					apiError(w, 429, "Too many requests")
					return
				}
				countOK(w)
			},
			check: func(t *testing.T, f *fake, _ *providers.VerifyResult, _ *providers.Error) {
				if n := f.countCalls.Load(); n != 2 {
					t.Errorf("count calls = %d, want 2", n)
				}
			},
		},
		{
			name: "upstream echoes secrets",
			count: func(w http.ResponseWriter, _ int32) {
				apiError(w, 422, "bad "+clientSecret+" "+refreshTok+" at-whiplash-1 "+encodedToken)
			},
			code: providers.CodeProviderError,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				// The access token also echoed base64-encoded.
				for _, s := range []string{clientSecret, refreshTok, "at-whiplash-1", encodedToken} {
					if strings.Contains(pe.Error(), s) {
						t.Errorf("message leaks %q: %s", s, pe.Error())
					}
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.count = tc.count
			if tc.refresh != "" {
				f.refresh = tc.refresh
			}
			c := providertest.Open(t, Driver{}, f.settings(), secrets())
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
			var pe *providers.Error
			if tc.code == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
			} else {
				pe = providertest.WantCode(t, err, tc.code)
				if strings.Contains(pe.Error(), clientSecret) || strings.Contains(pe.Error(), refreshTok) {
					t.Errorf("message leaks a secret: %s", pe.Error())
				}
			}
			if tc.check != nil {
				tc.check(t, f, res, pe)
			}
		})
	}
}

// TestVerifyReplacesRefusedToken revokes the cached access token between two
// verifies: the second gets a 401, refreshes once and succeeds.
func TestVerifyReplacesRefusedToken(t *testing.T) {
	f := newFake(t)
	c := providertest.Open(t, Driver{}, f.settings(), secrets())
	v := c.(providers.Verifier)
	if _, err := v.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("first verify: %v", err)
	}
	f.mu.Lock()
	clear(f.issued)
	f.mu.Unlock()
	if _, err := v.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("verify after revocation: %v", err)
	}
	if n, cc := f.tokenCalls.Load(), f.countCalls.Load(); n != 2 || cc != 3 {
		t.Errorf("token calls = %d (want 2), count calls = %d (want 3)", n, cc)
	}
}

func TestVerifyRotatesRefreshToken(t *testing.T) {
	f := newFake(t)
	f.rotateTo = "rt-whiplash-0002"
	cfg := providertest.Config(t, Driver{}, f.settings(), secrets())
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	tok, err := cfg.Tokens.LoadToken(context.Background())
	if err != nil || tok == nil || tok.RefreshToken != "rt-whiplash-0002" {
		t.Fatalf("stored token = %+v, %v; want the rotated refresh token saved", tok, err)
	}
}

func TestVerifyConcurrentOneTokenCall(t *testing.T) {
	f := newFake(t)
	c := providertest.Open(t, Driver{}, f.settings(), secrets())
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tokenCalls.Load(); n != 1 {
		t.Errorf("token calls = %d, want 1", n)
	}
}

func TestOpenDefaultsAndBadURL(t *testing.T) {
	c := providertest.Open(t, Driver{}, map[string]any{"environment": "sandbox.whiplash.app", "client_id": clientID}, secrets()).(*conn)
	if c.baseURL != "https://sandbox.whiplash.app" || c.tokenURL != "https://sandbox.whiplash.app/oauth/token" {
		t.Errorf("base %s, token %s", c.baseURL, c.tokenURL)
	}
	_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{},
		map[string]any{"client_id": clientID, "base_url": "getwhiplash.com"}, secrets()))
	providertest.WantCode(t, err, providers.CodeInvalidConfig)
}
