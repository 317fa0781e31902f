package starlink

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
	testClientID = "sa-0f4c2a5e-6b1d-4c7e-9a3f-1e2d3c4b5a69"
	testSecret   = "sl-secret-7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a"
	testToken    = "eyJhbGciOiJSUzM4NCJ9.starlink-access-token.sig"
)

const accountAnswer = `{"content":{"accountNumber":"ACC-511274-31364-54","regionCode":"US","accountName":"Example Fleet","activeSuspensions":[]},"errors":[],"warnings":[],"information":[],"isValid":true}`

// fake is the Starlink token endpoint and public API, both checking the
// documented request.
type fake struct {
	srv        *httptest.Server
	account    func(w http.ResponseWriter, call int)
	token      func(w http.ResponseWriter)
	issue      []string // access tokens the token endpoint hands out in turn; the last one repeats
	last       atomic.Value
	apiCalls   atomic.Int32
	tokenCalls atomic.Int32
}

func newFake(t *testing.T) *fake {
	f := &fake{
		account: func(w http.ResponseWriter, _ int) { fmt.Fprint(w, accountAnswer) },
		issue:   []string{testToken},
	}
	f.token = func(w http.ResponseWriter) {
		tok := f.issue[min(int(f.tokenCalls.Load()), len(f.issue))-1]
		f.last.Store(tok)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"expires_in":900,"token_type":"Bearer","scope":"api"}`, tok)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/public/v2/account", func(w http.ResponseWriter, r *http.Request) {
		n := f.apiCalls.Add(1)
		last, _ := f.last.Load().(string)
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer "+last || r.URL.RawQuery != "" {
			http.Error(w, `{"errors":[{"errorMessage":"unexpected request"}],"isValid":false}`, http.StatusBadRequest)
			return
		}
		f.account(w, int(n))
	})
	mux.HandleFunc("/api/auth/connect/token", func(w http.ResponseWriter, r *http.Request) {
		f.tokenCalls.Add(1)
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret))
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != basic || r.ParseForm() != nil ||
			r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_secret") != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request"}`)
			return
		}
		f.token(w)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"base_url": f.srv.URL + "/api", "token_url": f.srv.URL + "/api/auth/connect/token", "client_id": testClientID}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

var secrets = map[string]string{"client_secret": testSecret}

func wantCode(t *testing.T, err error, code providers.Code) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("error = %#v, want code %s", err, code)
	}
	for _, s := range []string{testSecret, testToken} {
		if strings.Contains(pe.Error(), s) {
			t.Errorf("message leaks a secret: %q", pe.Error())
		}
	}
	return pe
}

func TestVerify(t *testing.T) {
	envelopeError := func(status int, msg string) func(w http.ResponseWriter, _ int) {
		return func(w http.ResponseWriter, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"errors":[{"memberNames":[],"errorMessage":%q}],"warnings":[],"information":[],"isValid":false}`, msg)
		}
	}
	tests := []struct {
		name       string
		account    func(w http.ResponseWriter, call int)
		issue      []string
		settings   map[string]any
		deadline   time.Duration
		calls      int32
		tokenCalls int32 // 1 when zero
		wantCode   providers.Code
		check      func(t *testing.T, res *providers.VerifyResult, err *providers.Error)
	}{
		{
			name: "success", calls: 1,
			check: func(t *testing.T, res *providers.VerifyResult, _ *providers.Error) {
				if res.Details["account_number"] != "ACC-511274-31364-54" || res.Details["account_name"] != "Example Fleet" || res.Details["region_code"] != "US" {
					t.Errorf("details = %v", res.Details)
				}
			},
		},
		{name: "configured account number matches", settings: map[string]any{"account_number": "ACC-511274-31364-54"}, calls: 1},
		{name: "configured account number differs", settings: map[string]any{"account_number": "ACC-1-2-3"}, calls: 1, wantCode: providers.CodeInvalidConfig},
		{name: "401 even with a fresh token", account: func(w http.ResponseWriter, _ int) { w.WriteHeader(http.StatusUnauthorized) },
			calls: 2, tokenCalls: 2, wantCode: providers.CodeAuthFailed},
		{
			name:  "401 on a stale token mints a new one once",
			issue: []string{"stale-token-0001", "fresh-token-0002"},
			account: func(w http.ResponseWriter, call int) {
				if call == 1 {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				fmt.Fprint(w, accountAnswer)
			},
			calls: 2, tokenCalls: 2,
		},
		{name: "403 user_lacks_required_permission", account: envelopeError(403, "user_lacks_required_permission"), calls: 1, wantCode: providers.CodePermissionDenied,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "Account information, View") {
					t.Errorf("message = %q", err.Message)
				}
			}},
		{name: "404", account: envelopeError(404, "not_found"), calls: 1, wantCode: providers.CodeNotFound},
		{name: "422", account: envelopeError(422, "Failed to retrieve account"), calls: 1, wantCode: providers.CodeProviderError,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "Failed to retrieve account") {
					t.Errorf("message = %q", err.Message)
				}
			}},
		{
			name: "429 with a long Retry-After returns at once",
			account: func(w http.ResponseWriter, _ int) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			deadline: time.Second, calls: 1, wantCode: providers.CodeRateLimited,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				providertest.WantRateLimited(t, err, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried",
			account: func(w http.ResponseWriter, call int) {
				if call == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				fmt.Fprint(w, accountAnswer)
			},
			calls: 2,
		},
		{
			name:    "secrets echoed in the error body are redacted",
			account: envelopeError(422, "bad client "+testSecret+" with token "+testToken),
			calls:   1, wantCode: providers.CodeProviderError,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "bad client "+providers.Redacted+" with token "+providers.Redacted) {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.account != nil {
				f.account = tt.account
			}
			if tt.issue != nil {
				f.issue = tt.issue
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			c := providertest.Open(t, Driver{}, f.settings(tt.settings), secrets)
			res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
			var pe *providers.Error
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else {
				pe = wantCode(t, err, tt.wantCode)
			}
			if got := f.apiCalls.Load(); got != tt.calls {
				t.Errorf("API calls = %d, want %d", got, tt.calls)
			}
			if got, want := f.tokenCalls.Load(), max(tt.tokenCalls, 1); got != want {
				t.Errorf("token calls = %d, want %d", got, want)
			}
			if tt.check != nil {
				tt.check(t, res, pe)
			}
		})
	}
}

func TestVerifyTokenEndpoint(t *testing.T) {
	t.Run("invalid_client is auth_failed", func(t *testing.T) {
		f := newFake(t)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
		}
		c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
		_, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{})
		wantCode(t, err, providers.CodeAuthFailed)
		if f.apiCalls.Load() != 0 {
			t.Errorf("API called without a token")
		}
	})
	t.Run("token endpoint 429 is rate_limited", func(t *testing.T) {
		f := newFake(t)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
		_, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
		wantCode(t, err, providers.CodeRateLimited)
	})
}

func TestVerifyConcurrentOneTokenCall(t *testing.T) {
	f := newFake(t)
	c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tokenCalls.Load(); n != 1 {
		t.Errorf("token calls = %d, want 1", n)
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	for name, s := range map[string]map[string]any{
		"base url without scheme": {"base_url": "starlink.com/api"},
		"token url with a query":  {"token_url": "https://starlink.com/api/auth/connect/token?x=1"},
	} {
		t.Run(name, func(t *testing.T) {
			s["client_id"] = testClientID
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, s, secrets))
			wantCode(t, err, providers.CodeInvalidConfig)
		})
	}
}
