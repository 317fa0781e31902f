package klaviyo

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

const testKey = "pk_0123456789abcdef0123456789abcdef01"

// checkRequest returns why r is not the documented Get Accounts request, or "".
func checkRequest(r *http.Request) string {
	switch {
	case r.Method != http.MethodGet:
		return "method " + r.Method
	case r.URL.Path != "/api/accounts":
		return "path " + r.URL.Path
	case r.URL.RawQuery != "":
		return "query " + r.URL.RawQuery
	case r.Header.Get("Authorization") != "Klaviyo-API-Key "+testKey:
		return "authorization header"
	case r.Header.Get("revision") != "2026-10-15":
		return "revision " + r.Header.Get("revision")
	case r.Header.Get("Accept") != "application/vnd.api+json":
		return "accept " + r.Header.Get("Accept")
	}
	return ""
}

func jsonAPIError(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"id":"e1","status":%d,"code":%q,"title":"Error","detail":%q,"source":{"pointer":"/data/"}}]}`, status, code, detail)
}

const accountDoc = `{"data":[{"type":"account","id":"AbC123","attributes":{
  "test_account":false,
  "contact_information":{"default_sender_name":"Shop","default_sender_email":"shop@example.com","website_url":"https://shop.example.com","organization_name":"Example Shop","street_address":{"address1":"1 Main St","city":"Boston","region":"MA","country":"US","zip":"02110"}},
  "industry":"Retail","timezone":"America/New_York","preferred_currency":"USD","public_api_key":"AbC123","locale":"en-US"},
  "links":{"self":"https://a.klaviyo.com/api/accounts/AbC123/"}}],"links":{"self":"https://a.klaviyo.com/api/accounts/"}}`

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
				w.Header().Set("Content-Type", "application/vnd.api+json")
				fmt.Fprint(w, accountDoc)
			},
			calls: 1,
			check: func(t *testing.T, res *providers.VerifyResult, _ *providers.Error) {
				want := map[string]any{"account_id": "AbC123", "organization_name": "Example Shop",
					"timezone": "America/New_York", "preferred_currency": "USD", "test_account": false}
				for k, v := range want {
					if res.Details[k] != v {
						t.Errorf("details[%s] = %v, want %v (all: %v)", k, res.Details[k], v, res.Details)
					}
				}
			},
		},
		{
			name: "401 not_authenticated",
			respond: func(w http.ResponseWriter, _ int) {
				jsonAPIError(w, 401, "not_authenticated", "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.")
			},
			calls: 1, wantCode: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "Please use Klaviyo-API-Key") {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
		{
			name: "400 with an authentication error code",
			respond: func(w http.ResponseWriter, _ int) {
				jsonAPIError(w, 400, "authentication_failed", "Incorrect authentication credentials.")
			},
			calls: 1, wantCode: providers.CodeAuthFailed,
		},
		{
			name: "403 missing scope",
			respond: func(w http.ResponseWriter, _ int) {
				jsonAPIError(w, 403, "permission_denied", "You do not have permission to perform this action.")
			},
			calls: 1, wantCode: providers.CodePermissionDenied,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "accounts:read") {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
		{
			name: "410 retired revision",
			respond: func(w http.ResponseWriter, _ int) {
				jsonAPIError(w, 410, "gone", "This revision is no longer supported.")
			},
			calls: 1, wantCode: providers.CodeInvalidConfig,
		},
		{
			name: "429 with a long Retry-After returns at once",
			respond: func(w http.ResponseWriter, _ int) {
				w.Header().Set("Retry-After", "30")
				jsonAPIError(w, 429, "throttled", "Request was throttled. Expected available in 30 seconds.")
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
					jsonAPIError(w, 429, "throttled", "Request was throttled.")
					return
				}
				fmt.Fprint(w, accountDoc)
			},
			calls: 2,
		},
		{
			name:    "key echoed in the error body is redacted",
			respond: func(w http.ResponseWriter, _ int) { jsonAPIError(w, 401, "not_authenticated", "Invalid key "+testKey) },
			calls:   1, wantCode: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "Invalid key "+providers.Redacted) {
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
			c := providertest.Open(t, Driver{}, map[string]any{"base_url": srv.URL + "/"},
				map[string]string{"private_api_key": testKey})
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
				if strings.Contains(pe.Message, testKey) {
					t.Errorf("message leaks the key: %q", pe.Message)
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

func TestOpenRejectsBadConfig(t *testing.T) {
	for name, settings := range map[string]map[string]any{
		"revision not a date": {"revision": "latest"},
		"base url relative":   {"base_url": "/api"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := providertest.Config(t, Driver{}, settings, map[string]string{"private_api_key": testKey})
			_, err := Driver{}.Open(context.Background(), cfg)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("Open error = %v, want invalid_config", err)
			}
		})
	}
}
