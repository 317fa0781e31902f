package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// TestExpectedNon2xxStatus: an expected_status outside 2xx is a pass, with
// the answer's details, and a 401 that is expected gets no second token.
func TestExpectedNon2xxStatus(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusTeapot} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFake(t)
			f.answer = func(w http.ResponseWriter, r *http.Request, _ int) bool {
				w.Header().Set("Server", "fake/2.0")
				w.WriteHeader(status)
				return true
			}
			settings := oauthSettings(f)
			settings["expected_status"] = status
			c := providertest.Open(t, Driver{}, settings, map[string]string{"client_secret": clientSecret})
			res, pe := providertest.Verify(context.Background(), c)
			if pe != nil {
				t.Fatalf("verify: %s: %s", pe.Code, pe.Message)
			}
			if res.Details["status"] != status || res.Details["final_path"] != "/v1/health" || res.Details["server"] != "fake/2.0" {
				t.Errorf("details = %v", res.Details)
			}
			if f.calls.Load() != 1 || f.tokenCalls.Load() != 1 {
				t.Errorf("API calls = %d, token calls = %d, want 1 and 1", f.calls.Load(), f.tokenCalls.Load())
			}
		})
	}
}

// TestUnexpected2xxRedactsTheAccessToken: a 2xx other than expected_status
// quotes the body with the access token sent redacted.
func TestUnexpected2xxRedactsTheAccessToken(t *testing.T) {
	f := newFake(t)
	f.answer = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello "+accessToken)
		return true
	}
	settings := oauthSettings(f)
	settings["expected_status"] = 204
	c := providertest.Open(t, Driver{}, settings, map[string]string{"client_secret": clientSecret})
	_, pe := providertest.Verify(context.Background(), c)
	if pe == nil || pe.Code != providers.CodeProviderError || pe.Message != "http_api: the server answered HTTP 200, expected 204: hello "+providers.Redacted {
		t.Fatalf("verify error = %+v", pe)
	}
}
