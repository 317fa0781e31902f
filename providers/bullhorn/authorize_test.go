package bullhorn

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// TestAuthorizeRedirects covers the authorize step's redirects that carry no
// code, and checks that the page is asked for as a browser would (no JSON).
func TestAuthorizeRedirects(t *testing.T) {
	tests := []struct {
		name     string
		location string
		code     providers.Code
		msg      string
	}{
		{"refused", "/callback?" + url.Values{"error": {"access_denied"}, "error_description": {"user " + apiPassword + " denied"}}.Encode(),
			providers.CodeAuthFailed, "access_denied: user [REDACTED] denied"},
		{"no code", "/callback?state=x", providers.CodeProviderError, "without an authorization code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var accept atomic.Value
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if r.URL.Path != "/oauth/authorize" {
					w.WriteHeader(http.StatusTeapot)
					return
				}
				accept.Store(r.Header.Get("Accept"))
				w.Header().Set("Location", tc.location)
				w.WriteHeader(http.StatusFound)
			}))
			t.Cleanup(srv.Close)
			c := providertest.Open(t, Driver{}, map[string]any{"client_id": clientID, "api_username": apiUser,
				"oauth_url": srv.URL + "/oauth", "rest_url": srv.URL + "/rest-services"}, passwordSecrets())
			_, pe := providertest.Verify(t.Context(), c)
			if pe == nil || pe.Code != tc.code || !strings.Contains(pe.Message, tc.msg) {
				t.Fatalf("verify error = %+v, want %s containing %q", pe, tc.code, tc.msg)
			}
			noLeak(t, pe, apiPassword, clientSecret)
			if a := accept.Load(); a != "" {
				t.Errorf("authorize Accept = %q", a)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("server calls = %d, want only the authorize call", n)
			}
		})
	}
}
