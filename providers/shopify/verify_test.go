package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	testShop     = "example-shop.myshopify.com"
	testToken    = "shpat_0123456789abcdef0123456789abcdef"
	testClientID = "3f1c0e6f2c1b4d8a9e7f6a5b4c3d2e1f"
	testSecret   = "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"
	ccToken      = "shpat_cc00000000000000000000000000000001"
)

const shopAnswer = `{"data":{"shop":{"name":"Example Shop","myshopifyDomain":"example-shop.myshopify.com","plan":{"displayName":"Basic"}}},
"extensions":{"cost":{"requestedQueryCost":1,"actualQueryCost":1,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1999,"restoreRate":100.0}}}}`

// fake is a Shopify shop: the Admin GraphQL endpoint and the client
// credentials token endpoint, both checking the documented request.
type fake struct {
	srv        *httptest.Server
	wantToken  string
	graphql    func(w http.ResponseWriter, call int)
	token      func(w http.ResponseWriter)
	issue      []string // when set, the access tokens handed out in turn (the last repeats) and expected back
	last       atomic.Value
	gqlCalls   atomic.Int32
	tokenCalls atomic.Int32
}

func newFake(t *testing.T, wantToken string) *fake {
	f := &fake{wantToken: wantToken,
		graphql: func(w http.ResponseWriter, _ int) { fmt.Fprint(w, shopAnswer) },
		token: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"scope":"read_products,read_orders","expires_in":86399}`, ccToken)
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/api/2026-10/graphql.json", func(w http.ResponseWriter, r *http.Request) {
		n := f.gqlCalls.Add(1)
		if why := f.checkGraphQL(r); why != "" {
			http.Error(w, `{"errors":"unexpected request: `+why+`"}`, http.StatusBadRequest)
			return
		}
		f.graphql(w, int(n))
	})
	mux.HandleFunc("/admin/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		f.tokenCalls.Add(1)
		if why := checkTokenRequest(r); why != "" {
			http.Error(w, `{"error":"invalid_request","error_description":"unexpected request: `+why+`"}`, http.StatusBadRequest)
			return
		}
		f.token(w)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) checkGraphQL(r *http.Request) string {
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	want := f.wantToken
	if f.issue != nil {
		want, _ = f.last.Load().(string)
	}
	if r.Header.Get("X-Shopify-Access-Token") != want {
		return "access token header"
	}
	if r.Header.Get("Content-Type") != "application/json" {
		return "content type"
	}
	var body struct {
		Query string `json:"query"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Query != "{ shop { name myshopifyDomain plan { displayName } } }" {
		return "query"
	}
	return ""
}

func checkTokenRequest(r *http.Request) string {
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	if r.Header.Get("Authorization") != "" {
		return "client credentials must be in the form, not a header"
	}
	if err := r.ParseForm(); err != nil {
		return "form"
	}
	if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") != testClientID ||
		r.PostForm.Get("client_secret") != testSecret {
		return "grant_type, client_id or client_secret"
	}
	return ""
}

func (f *fake) tokenSettings() (map[string]any, map[string]string) {
	return map[string]any{"shop_domain": testShop, "base_url": f.srv.URL},
		map[string]string{"access_token": testToken}
}

func (f *fake) ccSettings() (map[string]any, map[string]string) {
	return map[string]any{"shop_domain": testShop, "base_url": f.srv.URL, "auth_mode": "client_credentials", "client_id": testClientID},
		map[string]string{"client_secret": testSecret}
}

func verify(t *testing.T, ctx context.Context, settings map[string]any, secrets map[string]string) (*providers.VerifyResult, error) {
	t.Helper()
	c := providertest.Open(t, Driver{}, settings, secrets)
	return c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
}

func wantCode(t *testing.T, err error, code providers.Code) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("error = %#v, want code %s", err, code)
	}
	for _, s := range []string{testToken, testSecret, ccToken} {
		if strings.Contains(pe.Error(), s) {
			t.Errorf("message leaks a secret: %q", pe.Error())
		}
	}
	return pe
}

func TestVerifyAccessToken(t *testing.T) {
	status := func(code int, body string) func(w http.ResponseWriter, _ int) {
		return func(w http.ResponseWriter, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		}
	}
	tests := []struct {
		name     string
		graphql  func(w http.ResponseWriter, call int)
		deadline time.Duration
		calls    int32
		wantCode providers.Code
		check    func(t *testing.T, res *providers.VerifyResult, err *providers.Error)
	}{
		{
			name: "success", calls: 1,
			check: func(t *testing.T, res *providers.VerifyResult, _ *providers.Error) {
				want := map[string]any{"shop_name": "Example Shop", "myshopify_domain": testShop, "plan": "Basic",
					"api_version": "2026-10", "auth_mode": "access_token"}
				for k, v := range want {
					if res.Details[k] != v {
						t.Errorf("details[%s] = %v, want %v", k, res.Details[k], v)
					}
				}
				if _, ok := res.Details["scopes"]; ok {
					t.Errorf("scopes are unknown with an admin token: %v", res.Details)
				}
			},
		},
		{name: "401", graphql: status(401, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`), calls: 1, wantCode: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "Invalid API key or access token") {
					t.Errorf("message = %q", err.Message)
				}
			}},
		{name: "402 frozen shop", graphql: status(402, `{"errors":"Unavailable Shop"}`), calls: 1, wantCode: providers.CodePermissionDenied,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "frozen") {
					t.Errorf("message = %q", err.Message)
				}
			}},
		{name: "403", graphql: status(403, `{"errors":"[API] This action requires merchant approval for read_shop scope."}`), calls: 1, wantCode: providers.CodePermissionDenied},
		{name: "404 unknown API version", graphql: status(404, `{"errors":"Not Found"}`), calls: 1, wantCode: providers.CodeNotFound,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "2026-10") {
					t.Errorf("message = %q", err.Message)
				}
			}},
		{name: "423 locked shop", graphql: status(423, `{"errors":"This shop is unavailable"}`), calls: 1, wantCode: providers.CodePermissionDenied,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "locked") {
					t.Errorf("message = %q", err.Message)
				}
			}},
		{
			name: "429 with a long Retry-After returns at once",
			graphql: func(w http.ResponseWriter, _ int) {
				w.Header().Set("Retry-After", "30")
				http.Error(w, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`, http.StatusTooManyRequests)
			},
			deadline: time.Second, calls: 1, wantCode: providers.CodeRateLimited,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				providertest.WantRateLimited(t, err, 30*time.Second)
			},
		},
		{
			name: "429 then 200 is retried",
			graphql: func(w http.ResponseWriter, call int) {
				if call == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				fmt.Fprint(w, shopAnswer)
			},
			calls: 2,
		},
		{
			name: "GraphQL Throttled is rate_limited with the bucket's refill time",
			graphql: status(200, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],
"extensions":{"cost":{"requestedQueryCost":1,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":100.0,"currentlyAvailable":0,"restoreRate":50.0}}}}`),
			calls: 1, wantCode: providers.CodeRateLimited,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				providertest.WantRateLimited(t, err, time.Second)
			},
		},
		{
			name:    "GraphQL ACCESS_DENIED",
			graphql: status(200, `{"data":null,"errors":[{"message":"Access denied for shop field.","extensions":{"code":"ACCESS_DENIED"}}]}`),
			calls:   1, wantCode: providers.CodePermissionDenied,
		},
		{
			name:    "token echoed in the error body is redacted",
			graphql: status(401, `{"errors":"[API] Invalid access token `+testToken+`"}`),
			calls:   1, wantCode: providers.CodeAuthFailed,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "Invalid access token "+providers.Redacted) {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, testToken)
			if tt.graphql != nil {
				f.graphql = tt.graphql
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			settings, secrets := f.tokenSettings()
			res, err := verify(t, ctx, settings, secrets)
			var pe *providers.Error
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else {
				pe = wantCode(t, err, tt.wantCode)
			}
			if got := f.gqlCalls.Load(); got != tt.calls {
				t.Errorf("GraphQL calls = %d, want %d", got, tt.calls)
			}
			if f.tokenCalls.Load() != 0 {
				t.Errorf("an admin token needs no token call")
			}
			if tt.check != nil {
				tt.check(t, res, pe)
			}
		})
	}
}

func TestVerifyClientCredentials(t *testing.T) {
	t.Run("token call then GraphQL with the new token", func(t *testing.T) {
		f := newFake(t, ccToken)
		settings, secrets := f.ccSettings()
		res, err := verify(t, context.Background(), settings, secrets)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if f.tokenCalls.Load() != 1 || f.gqlCalls.Load() != 1 {
			t.Errorf("token calls = %d, GraphQL calls = %d", f.tokenCalls.Load(), f.gqlCalls.Load())
		}
		if !slices.Equal(res.Details["scopes"].([]string), []string{"read_products", "read_orders"}) || res.Details["auth_mode"] != "client_credentials" {
			t.Errorf("details = %v", res.Details)
		}
	})
	t.Run("401 on a stale token mints a new one once", func(t *testing.T) {
		f := newFake(t, "")
		f.issue = []string{"shpat_stale000000000000000000000000001", "shpat_fresh000000000000000000000000002"}
		f.token = func(w http.ResponseWriter) {
			tok := f.issue[min(int(f.tokenCalls.Load()), len(f.issue))-1]
			f.last.Store(tok)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"scope":"read_products","expires_in":86399}`, tok)
		}
		f.graphql = func(w http.ResponseWriter, call int) {
			if call == 1 {
				http.Error(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`, http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, shopAnswer)
		}
		settings, secrets := f.ccSettings()
		if _, err := verify(t, context.Background(), settings, secrets); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if f.tokenCalls.Load() != 2 || f.gqlCalls.Load() != 2 {
			t.Errorf("token calls = %d, GraphQL calls = %d, want 2 and 2", f.tokenCalls.Load(), f.gqlCalls.Load())
		}
	})
	t.Run("401 with a fresh token is auth_failed", func(t *testing.T) {
		f := newFake(t, ccToken)
		f.graphql = func(w http.ResponseWriter, _ int) {
			http.Error(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`, http.StatusUnauthorized)
		}
		settings, secrets := f.ccSettings()
		_, err := verify(t, context.Background(), settings, secrets)
		wantCode(t, err, providers.CodeAuthFailed)
		if f.tokenCalls.Load() != 2 || f.gqlCalls.Load() != 2 {
			t.Errorf("token calls = %d, GraphQL calls = %d, want 2 and 2", f.tokenCalls.Load(), f.gqlCalls.Load())
		}
	})
	t.Run("invalid client is auth_failed", func(t *testing.T) {
		f := newFake(t, ccToken)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"Client authentication failed for %s"}`, testSecret)
		}
		settings, secrets := f.ccSettings()
		_, err := verify(t, context.Background(), settings, secrets)
		wantCode(t, err, providers.CodeAuthFailed)
		if f.gqlCalls.Load() != 0 {
			t.Errorf("GraphQL called without a token")
		}
	})
	t.Run("token endpoint 429 is rate_limited", func(t *testing.T) {
		f := newFake(t, ccToken)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		settings, secrets := f.ccSettings()
		_, err := verify(t, ctx, settings, secrets)
		wantCode(t, err, providers.CodeRateLimited)
	})
}

func TestVerifyConcurrentOneTokenCall(t *testing.T) {
	f := newFake(t, ccToken)
	settings, secrets := f.ccSettings()
	c := providertest.Open(t, Driver{}, settings, secrets)
	providertest.VerifyConcurrently(t, c, 50)
	if n := f.tokenCalls.Load(); n != 1 {
		t.Errorf("token calls = %d, want 1", n)
	}
}

func TestOpen(t *testing.T) {
	secrets := map[string]string{"access_token": testToken}
	for _, bad := range []string{"https://example.myshopify.com", "example.myshopify.com/admin", "example.myshopify.com:443", "exa mple", "-x.myshopify.com"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, map[string]any{"shop_domain": bad}, secrets))
			wantCode(t, err, providers.CodeInvalidConfig)
		})
	}
	t.Run("refuses a bad api_version", func(t *testing.T) {
		_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, map[string]any{"shop_domain": testShop, "api_version": "2026-10/../x"}, secrets))
		wantCode(t, err, providers.CodeInvalidConfig)
	})
	t.Run("a bare shop name becomes its myshopify domain", func(t *testing.T) {
		c := providertest.Open(t, Driver{}, map[string]any{"shop_domain": " Example-Shop "}, secrets).(*conn)
		if c.graphqlURL != "https://example-shop.myshopify.com/admin/api/2026-10/graphql.json" ||
			c.tokenURL != "https://example-shop.myshopify.com/admin/oauth/access_token" {
			t.Errorf("urls = %s, %s", c.graphqlURL, c.tokenURL)
		}
	})
}
