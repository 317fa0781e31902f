package gorgias

import (
	"context"
	"encoding/base64"
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
	email  = "ops@acme.example"
	apiKey = "gorgias-api-key-5f2e9c"
)

// fake is a Gorgias account endpoint that checks the path, method and Basic
// credentials, and answers 401 with the documented body otherwise.
type fake struct {
	srv     *httptest.Server
	calls   atomic.Int32
	account func(w http.ResponseWriter, n int32)
}

func newFake(t *testing.T) *fake {
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.calls.Add(1)
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+apiKey))
		if r.Method != http.MethodGet || r.URL.Path != "/api/account" || r.URL.RawQuery != "" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != want {
			gorgiasError(w, 401, "Unauthorized")
			return
		}
		if f.account != nil {
			f.account(w, n)
			return
		}
		accountOK(w)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func accountOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Gorgias-Account-Api-Call-Limit", "1/40")
	fmt.Fprint(w, `{"created_datetime":"2017-11-23T15:59:41.966927","domain":"acme","settings":[],"status":{"status":"active"}}`)
}

func gorgiasError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"msg":%q}}`, msg)
}

func TestVerify(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + apiKey))
	tests := []struct {
		name    string
		key     string
		account func(http.ResponseWriter, int32)
		timeout time.Duration
		code    providers.Code
		check   func(t *testing.T, f *fake, res *providers.VerifyResult, pe *providers.Error)
	}{
		{name: "success", check: func(t *testing.T, _ *fake, res *providers.VerifyResult, _ *providers.Error) {
			d := res.Details
			if d["domain"] != "acme" || d["status"] != "active" || d["api_call_limit"] != "1/40" || d["created_datetime"] == nil {
				t.Errorf("details = %v", d)
			}
		}},
		{name: "wrong key", key: "wrong-key-0000", code: providers.CodeAuthFailed},
		{name: "403", account: func(w http.ResponseWriter, _ int32) { gorgiasError(w, 403, "Forbidden") }, code: providers.CodePermissionDenied},
		{
			name: "429 with long Retry-after comes back fast",
			account: func(w http.ResponseWriter, _ int32) {
				w.Header().Set("Retry-after", "30")
				w.Header().Set("X-Gorgias-Account-Api-Call-Limit", "40/40")
				gorgiasError(w, 429, "Too many requests")
			},
			timeout: time.Second,
			code:    providers.CodeRateLimited,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				providertest.WantRateLimited(t, pe, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried",
			account: func(w http.ResponseWriter, n int32) {
				if n == 1 {
					w.Header().Set("Retry-after", "0")
					gorgiasError(w, 429, "Too many requests")
					return
				}
				accountOK(w)
			},
			check: func(t *testing.T, f *fake, _ *providers.VerifyResult, _ *providers.Error) {
				if n := f.calls.Load(); n != 2 {
					t.Errorf("calls = %d, want 2", n)
				}
			},
		},
		{
			name: "upstream echoes the key",
			account: func(w http.ResponseWriter, _ int32) {
				gorgiasError(w, 400, "bad header Basic "+basic+" for key "+apiKey)
			},
			code: providers.CodeProviderError,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				if strings.Contains(pe.Error(), apiKey) || strings.Contains(pe.Error(), basic) {
					t.Errorf("message leaks the key: %s", pe.Error())
				}
				if !strings.Contains(pe.Error(), "bad header") {
					t.Errorf("message lost the upstream text: %s", pe.Error())
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.account = tc.account
			key := apiKey
			if tc.key != "" {
				key = tc.key
			}
			c := providertest.Open(t, Driver{}, map[string]any{"subdomain": "acme", "base_url": f.srv.URL, "username": email},
				map[string]string{"api_key": key})
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
			}
			if tc.check != nil {
				tc.check(t, f, res, pe)
			}
		})
	}
}

func TestOpenSubdomain(t *testing.T) {
	c := providertest.Open(t, Driver{}, map[string]any{"subdomain": "Acme-EU", "username": email}, map[string]string{"api_key": apiKey}).(*conn)
	if c.baseURL != "https://acme-eu.gorgias.com" {
		t.Errorf("base URL = %s", c.baseURL)
	}
	for _, sub := range []string{"acme.gorgias.com", "https://acme", "acme/evil", "-acme", "a b"} {
		t.Run(sub, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{},
				map[string]any{"subdomain": sub, "username": email}, map[string]string{"api_key": apiKey}))
			providertest.WantCode(t, err, providers.CodeInvalidConfig)
		})
	}
}
