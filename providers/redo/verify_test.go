package redo

import (
	"context"
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
	testStore  = "64e5a8a1af0e2b6f1c3d4e5f"
	testSecret = "redo_sk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// checkRequest returns why r is not the documented verify request, or "".
func checkRequest(r *http.Request) string {
	switch {
	case r.Method != http.MethodGet:
		return "method " + r.Method
	case r.URL.Path != "/v2.2/stores/"+testStore+"/returns":
		return "path " + r.URL.Path
	case r.URL.Query().Get("page-size") != "1":
		return "page-size " + r.URL.Query().Get("page-size")
	case r.Header.Get("Authorization") != "Bearer "+testSecret:
		return "authorization header"
	}
	return ""
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		respond  func(w http.ResponseWriter, call int)
		deadline time.Duration
		calls    int32
		wantCode providers.Code
		check    func(t *testing.T, res *providers.VerifyResult, err *providers.Error)
	}{
		{
			name: "success",
			respond: func(w http.ResponseWriter, _ int) {
				w.Header().Set("X-Page-Next", "abc")
				fmt.Fprint(w, `{"returns":[{"id":"64e4d5e837572a4813b73e40","status":"open"}]}`)
			},
			calls: 1,
			check: func(t *testing.T, res *providers.VerifyResult, _ *providers.Error) {
				if res.Details["store_id"] != testStore || res.Details["returns_visible"] != true {
					t.Errorf("details = %v", res.Details)
				}
			},
		},
		{
			name:    "success with no returns",
			respond: func(w http.ResponseWriter, _ int) { fmt.Fprint(w, `{"returns":[]}`) },
			calls:   1,
			check: func(t *testing.T, res *providers.VerifyResult, _ *providers.Error) {
				if res.Details["returns_visible"] != false {
					t.Errorf("details = %v", res.Details)
				}
			},
		},
		{
			name: "401",
			respond: func(w http.ResponseWriter, _ int) {
				http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
			},
			calls: 1, wantCode: providers.CodeAuthFailed,
		},
		{
			name: "403",
			respond: func(w http.ResponseWriter, _ int) {
				http.Error(w, `{"message":"Forbidden"}`, http.StatusForbidden)
			},
			calls: 1, wantCode: providers.CodePermissionDenied,
		},
		{
			name: "404",
			respond: func(w http.ResponseWriter, _ int) {
				http.Error(w, `{"message":"Store not found"}`, http.StatusNotFound)
			},
			calls: 1, wantCode: providers.CodeNotFound,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, testStore) || !strings.Contains(err.Message, "Store not found") {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
		{
			name: "429 with a long Retry-After returns at once",
			respond: func(w http.ResponseWriter, _ int) {
				w.Header().Set("Retry-After", "30")
				http.Error(w, `{"message":"Too many requests"}`, http.StatusTooManyRequests)
			},
			deadline: time.Second, calls: 1, wantCode: providers.CodeRateLimited,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				providertest.WantRateLimited(t, err, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried",
			respond: func(w http.ResponseWriter, call int) {
				if call == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				fmt.Fprint(w, `{"returns":[]}`)
			},
			calls: 2,
		},
		{
			name: "secret echoed in the error body is redacted",
			respond: func(w http.ResponseWriter, _ int) {
				http.Error(w, `{"message":"invalid token `+testSecret+`"}`, http.StatusUnauthorized)
			},
			calls: 1, wantCode: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if strings.Contains(err.Error(), testSecret) || !strings.Contains(err.Error(), "invalid token "+providers.Redacted) {
					t.Errorf("message = %q", err.Error())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if why := checkRequest(r); why != "" {
					http.Error(w, "unexpected request: "+why, http.StatusBadRequest)
					return
				}
				tt.respond(w, int(n))
			}))
			defer srv.Close()
			c := providertest.Open(t, Driver{}, map[string]any{"store_id": testStore, "base_url": srv.URL},
				map[string]string{"api_secret": testSecret})
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
			var pe *providers.Error
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else {
				if !errors.As(err, &pe) || pe.Code != tt.wantCode {
					t.Fatalf("Verify error = %#v, want code %s", err, tt.wantCode)
				}
				if strings.Contains(pe.Message, testSecret) {
					t.Errorf("message leaks the secret: %q", pe.Message)
				}
			}
			if got := calls.Load(); got != tt.calls {
				t.Errorf("server saw %d calls, want %d", got, tt.calls)
			}
			if tt.check != nil {
				tt.check(t, res, pe)
			}
		})
	}
}

func TestVerifyUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := providertest.Open(t, Driver{}, map[string]any{"store_id": testStore, "base_url": srv.URL},
		map[string]string{"api_secret": testSecret})
	_, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != providers.CodeUnreachable {
		t.Fatalf("Verify error = %#v, want unreachable", err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
	}{
		{"store id with a slash", map[string]any{"store_id": "abc/../x"}},
		{"store id dot-dot", map[string]any{"store_id": ".."}},
		{"store id with a space", map[string]any{"store_id": "abc def"}},
		{"base url without scheme", map[string]any{"store_id": testStore, "base_url": "api.getredo.com"}},
		{"base url with a query", map[string]any{"store_id": testStore, "base_url": "https://api.getredo.com/?x=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := providertest.Config(t, Driver{}, tt.settings, map[string]string{"api_secret": testSecret})
			_, err := Driver{}.Open(context.Background(), cfg)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("Open error = %v, want invalid_config", err)
			}
		})
	}
}
