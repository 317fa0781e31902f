package amazonsp

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
	testClientID     = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef"
	testClientSecret = "amzn1.oa2-cs.v1.0123456789abcdef0123456789abcdef0123456789abcdef"
	testRefresh      = "Atzr|IwEBIA-refresh-token-0001"
	testAccess       = "Atza|IwEBIA-access-token-0001"
)

const participations = `{"payload":[
 {"marketplace":{"id":"ATVPDKIKX0DER","countryCode":"US","name":"Amazon.com","defaultCurrencyCode":"USD","defaultLanguageCode":"en_US","domainName":"www.amazon.com"},
  "participation":{"isParticipating":true,"hasSuspendedListings":false},"storeName":"Example Store"},
 {"marketplace":{"id":"A2EUQ1WTGCTBG2","countryCode":"CA","name":"Amazon.ca","defaultCurrencyCode":"CAD","defaultLanguageCode":"en_CA","domainName":"www.amazon.ca"},
  "participation":{"isParticipating":true,"hasSuspendedListings":true},"storeName":"Example Store"}]}`

// fake is Login with Amazon and the Sellers API, both checking the
// documented request.
type fake struct {
	srv        *httptest.Server
	wantRT     string // the refresh token the LWA call must carry
	sellers    func(w http.ResponseWriter, call int)
	token      func(w http.ResponseWriter)
	issue      []string // when set, the access tokens LWA hands out in turn (the last repeats) and expects back
	last       atomic.Value
	apiCalls   atomic.Int32
	tokenCalls atomic.Int32
}

func newFake(t *testing.T) *fake {
	f := &fake{wantRT: testRefresh,
		sellers: func(w http.ResponseWriter, _ int) { fmt.Fprint(w, participations) },
	}
	f.token = func(w http.ResponseWriter) {
		access := testAccess
		if f.issue != nil {
			access = f.issue[min(int(f.tokenCalls.Load()), len(f.issue))-1]
		}
		f.last.Store(access)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"token_type":"bearer","expires_in":3600}`, access, testRefresh)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/sellers/v1/marketplaceParticipations", func(w http.ResponseWriter, r *http.Request) {
		n := f.apiCalls.Add(1)
		want := testAccess
		if f.issue != nil {
			want, _ = f.last.Load().(string)
		}
		if r.Method != http.MethodGet || r.Header.Get("x-amz-access-token") != want || r.Header.Get("Authorization") != "" || r.URL.RawQuery != "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":[{"code":"InvalidInput","message":"unexpected request"}]}`)
			return
		}
		f.sellers(w, int(n))
	})
	mux.HandleFunc("/auth/o2/token", func(w http.ResponseWriter, r *http.Request) {
		f.tokenCalls.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "" || r.ParseForm() != nil ||
			r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != f.wantRT ||
			r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("client_secret") != testClientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request","error_description":"unexpected token request"}`)
			return
		}
		f.token(w)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) settings(extra map[string]any) map[string]any {
	s := map[string]any{"base_url": f.srv.URL, "token_url": f.srv.URL + "/auth/o2/token", "lwa_client_id": testClientID}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

var secrets = map[string]string{"lwa_client_secret": testClientSecret, "refresh_token": testRefresh}

func wantCode(t *testing.T, err error, code providers.Code) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("error = %#v, want code %s", err, code)
	}
	for _, s := range []string{testClientSecret, testRefresh, testAccess} {
		if strings.Contains(pe.Error(), s) {
			t.Errorf("message leaks a secret: %q", pe.Error())
		}
	}
	return pe
}

func spErrorAnswer(status int, code, msg string) func(w http.ResponseWriter, _ int) {
	return func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-RequestId", "6e0b1f3e-0000-4000-8000-000000000000")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q,"details":""}]}`, code, msg)
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name       string
		sellers    func(w http.ResponseWriter, call int)
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
				ms := res.Details["marketplaces"].([]map[string]any)
				if res.Details["region"] != "na" || len(ms) != 2 || ms[0]["id"] != "ATVPDKIKX0DER" || ms[0]["country_code"] != "US" ||
					ms[0]["name"] != "Amazon.com" || ms[1]["has_suspended_listings"] != true {
					t.Errorf("details = %v", res.Details)
				}
			},
		},
		{
			name: "filtered by marketplace_ids", settings: map[string]any{"marketplace_ids": []any{"A2EUQ1WTGCTBG2"}}, calls: 1,
			check: func(t *testing.T, res *providers.VerifyResult, _ *providers.Error) {
				ms := res.Details["marketplaces"].([]map[string]any)
				if len(ms) != 1 || ms[0]["id"] != "A2EUQ1WTGCTBG2" {
					t.Errorf("marketplaces = %v", ms)
				}
			},
		},
		{
			name: "a configured marketplace the seller is not in", settings: map[string]any{"marketplace_ids": []any{"ATVPDKIKX0DER", "A1F83G8C2ARO7P"}},
			calls: 1, wantCode: providers.CodeNotFound,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "A1F83G8C2ARO7P") || strings.Contains(err.Message, "ATVPDKIKX0DER") {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
		{name: "401 even with a fresh token", sellers: spErrorAnswer(401, "Unauthorized", "Access to requested resource is denied."),
			calls: 2, tokenCalls: 2, wantCode: providers.CodeAuthFailed},
		{name: "403 without the role", sellers: spErrorAnswer(403, "Unauthorized", "Access to requested resource is denied."), calls: 1, wantCode: providers.CodePermissionDenied,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				if !strings.Contains(err.Message, "Unauthorized: Access to requested resource is denied.") {
					t.Errorf("message = %q", err.Message)
				}
			}},
		{name: "403 bad access token even when fresh", sellers: spErrorAnswer(403, "Unauthorized", "The access token you provided is revoked, malformed or invalid."),
			calls: 2, tokenCalls: 2, wantCode: providers.CodeAuthFailed},
		{
			name:  "403 on a stale access token refreshes once",
			issue: []string{"Atza|stale-0001", "Atza|fresh-0002"},
			sellers: func(w http.ResponseWriter, call int) {
				if call == 1 {
					spErrorAnswer(403, "Unauthorized", "The access token you provided is revoked, malformed or invalid.")(w, call)
					return
				}
				fmt.Fprint(w, participations)
			},
			calls: 2, tokenCalls: 2,
		},
		{
			name: "429 QuotaExceeded with a long Retry-After returns at once",
			sellers: func(w http.ResponseWriter, call int) {
				w.Header().Set("Retry-After", "30")
				spErrorAnswer(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")(w, call)
			},
			deadline: time.Second, calls: 1, wantCode: providers.CodeRateLimited,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				providertest.WantRateLimited(t, err, 30*time.Second)
				if !strings.Contains(err.Message, "QuotaExceeded") {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
		{
			name: "429 then 200 is retried",
			sellers: func(w http.ResponseWriter, call int) {
				if call == 1 {
					w.Header().Set("Retry-After", "0")
					spErrorAnswer(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")(w, call)
					return
				}
				fmt.Fprint(w, participations)
			},
			calls: 2,
		},
		{
			name:    "secrets echoed in the error body are redacted",
			sellers: spErrorAnswer(400, "InvalidInput", "bad token "+testAccess+" from "+testRefresh+" and "+testClientSecret),
			calls:   1, wantCode: providers.CodeProviderError,
			check: func(t *testing.T, _ *providers.VerifyResult, err *providers.Error) {
				r := providers.Redacted
				if !strings.Contains(err.Message, "bad token "+r+" from "+r+" and "+r) {
					t.Errorf("message = %q", err.Message)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.sellers != nil {
				f.sellers = tt.sellers
			}
			f.issue = tt.issue
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

func TestVerifyRefresh(t *testing.T) {
	t.Run("invalid_grant asks to re-authorise", func(t *testing.T) {
		f := newFake(t)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error_description":"The request has an invalid grant parameter : refresh_token","error":"invalid_grant"}`)
		}
		c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
		_, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{})
		pe := wantCode(t, err, providers.CodeAuthFailed)
		if !strings.Contains(pe.Message, "re-authorise") {
			t.Errorf("message = %q", pe.Message)
		}
		if f.apiCalls.Load() != 0 {
			t.Errorf("API called without a token")
		}
	})
	t.Run("invalid_client", func(t *testing.T) {
		f := newFake(t)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error_description":"Client authentication failed","error":"invalid_client"}`)
		}
		c := providertest.Open(t, Driver{}, f.settings(nil), secrets)
		_, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{})
		wantCode(t, err, providers.CodeAuthFailed)
	})
	t.Run("a rotated refresh token is saved", func(t *testing.T) {
		f := newFake(t)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"refresh_token":"Atzr|IwEBIA-refresh-token-0002","token_type":"bearer","expires_in":3600}`, testAccess)
		}
		cfg := providertest.Config(t, Driver{}, f.settings(nil), secrets)
		c, err := Driver{}.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{}); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		tok, err := cfg.Tokens.LoadToken(context.Background())
		if err != nil || tok == nil || tok.RefreshToken != "Atzr|IwEBIA-refresh-token-0002" || tok.AccessToken != testAccess {
			t.Fatalf("stored token = %+v, %v; want the rotated refresh token saved", tok, err)
		}
	})
	t.Run("the old refresh token is kept when none is returned", func(t *testing.T) {
		f := newFake(t)
		f.token = func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600}`, testAccess)
		}
		cfg := providertest.Config(t, Driver{}, f.settings(nil), secrets)
		c, err := Driver{}.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{}); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		tok, err := cfg.Tokens.LoadToken(context.Background())
		if err != nil || tok == nil || tok.RefreshToken != testRefresh {
			t.Fatalf("stored token = %+v, %v; want the old refresh token kept", tok, err)
		}
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

func TestOpenEndpoint(t *testing.T) {
	tests := []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{}, "https://sellingpartnerapi-na.amazon.com/sellers/v1/marketplaceParticipations"},
		{map[string]any{"region": "eu"}, "https://sellingpartnerapi-eu.amazon.com/sellers/v1/marketplaceParticipations"},
		{map[string]any{"region": "fe", "sandbox": true}, "https://sandbox.sellingpartnerapi-fe.amazon.com/sellers/v1/marketplaceParticipations"},
		{map[string]any{"region": "eu", "sandbox": true, "base_url": "http://127.0.0.1:9/sp/"}, "http://127.0.0.1:9/sp/sellers/v1/marketplaceParticipations"},
	}
	for _, tt := range tests {
		tt.settings["lwa_client_id"] = testClientID
		c := providertest.Open(t, Driver{}, tt.settings, secrets).(*conn)
		if c.participationsURL != tt.want {
			t.Errorf("%v: url = %s, want %s", tt.settings, c.participationsURL, tt.want)
		}
	}
	_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{},
		map[string]any{"lwa_client_id": testClientID, "token_url": "api.amazon.com/auth/o2/token"}, secrets))
	wantCode(t, err, providers.CodeInvalidConfig)
}
