package providers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// apiConfig is a Config for API tests: the shared client with millisecond
// backoff, the OAuth machinery and one secret.
func apiConfig() providers.Config {
	return providers.Config{
		Secrets:    map[string]string{"api_key": "stored-secret-1234"},
		HTTPClient: providertest.HTTPClient(providers.HTTPOptions{}),
		OAuth:      providers.NewOAuth(),
		Timeout:    10 * time.Second,
	}
}

// apiTokenServer issues access-1, access-2, ... with scope "read write".
func apiTokenServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"access-%d","token_type":"Bearer","expires_in":3600,"scope":"read write"}`, n.Add(1))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestTokenAuth: TokenAuth places the token where the driver says, a refused
// one is replaced once, and the Response carries the token sent (with its
// extras) and redacts it.
func TestTokenAuth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		place func(*http.Request, *oauth2.Token)
		sent  func(r *http.Request) string
	}{
		{"header", providers.TokenHeader("X-Access-Token", ""), func(r *http.Request) string { return r.Header.Get("X-Access-Token") }},
		{"bearer", providers.TokenHeader("Authorization", "Bearer "), func(r *http.Request) string {
			s, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			return s
		}},
		{"query", providers.TokenQuery("access_token"), func(r *http.Request) string {
			if r.URL.Query().Get("v") != "*" {
				return "query lost: " + r.URL.RawQuery
			}
			return r.URL.Query().Get("access_token")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens, minted := apiTokenServer(t)
			flow := providers.OAuthFlow{TokenURL: tokens.URL, ClientID: "client", ClientSecret: "client-secret"}
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok := tc.sent(r)
				if calls.Add(1) == 1 {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				fmt.Fprintf(w, `{"echo":%q}`, tok)
			}))
			defer srv.Close()
			api := providers.API{Provider: "fake", Config: apiConfig(), BaseURL: srv.URL,
				Auth: providers.TokenAuth(apiConfig(), "fake", flow, tc.place), Reauth: providers.Unauthorized}
			resp, err := api.Do(context.Background(), providers.Call{Path: "/x?v=*"})
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ Echo string }
			if err := resp.Decode(&out); err != nil {
				t.Fatal(err)
			}
			if calls.Load() != 2 || minted.Load() != 2 || resp.Token != "access-2" || out.Echo != "access-2" {
				t.Fatalf("calls %d, tokens %d, token %q, server saw %q; want 2 calls, 2 tokens and access-2", calls.Load(), minted.Load(), resp.Token, out.Echo)
			}
			if resp.OAuthToken == nil || resp.OAuthToken.AccessToken != "access-2" || resp.OAuthToken.Extra("scope") != "read write" {
				t.Errorf("OAuthToken = %+v", resp.OAuthToken)
			}
			if got := resp.Redact("a access-2 b stored-secret-1234"); strings.Contains(got, "access-2") || strings.Contains(got, "stored-secret-1234") {
				t.Errorf("Redact left a secret: %q", got)
			}
		})
	}
}

// TestResponseWithoutOAuth: with a stored secret, the Response has no
// run-time token, and Redact still removes the stored secrets.
func TestResponseWithoutOAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	api := providers.API{Provider: "fake", Config: apiConfig(), BaseURL: srv.URL, Auth: providers.HeaderAuth("X-Key", "stored-secret-1234")}
	resp, err := api.Do(context.Background(), providers.Call{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Token != "" || resp.OAuthToken != nil || strings.Contains(resp.Redact("stored-secret-1234"), "stored-secret-1234") {
		t.Fatalf("token %q, oauth %v", resp.Token, resp.OAuthToken)
	}
}

// TestCallBody: a raw body goes out as it is, with its content type, and is
// sent again whole when the client retries a 503.
func TestCallBody(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != "--b\r\nraw\r\n--b--" || r.Header.Get("Content-Type") != "multipart/form-data; boundary=b" {
			t.Errorf("body %q, content type %q", b, r.Header.Get("Content-Type"))
		}
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	api := providers.API{Provider: "fake", Config: apiConfig(), BaseURL: srv.URL}
	_, err := api.Do(context.Background(), providers.Call{Method: http.MethodPost, Body: []byte("--b\r\nraw\r\n--b--"), ContentType: "multipart/form-data; boundary=b"})
	if err != nil || calls.Load() != 2 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

// TestCallSuccessAndRedirect: Success decides what Do returns, and a redirect
// the call does not follow is an answer with its Location.
func TestCallSuccessAndRedirect(t *testing.T) {
	var followed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/ok":
			fmt.Fprint(w, "fine")
		case "/moved":
			http.Redirect(w, r, "/target?code=abc", http.StatusFound)
		case "/target":
			followed.Add(1)
		}
	}))
	defer srv.Close()
	api := providers.API{Provider: "fake", Config: apiConfig(), BaseURL: srv.URL}
	ctx := context.Background()
	teapot := func(s int) bool { return s == http.StatusTeapot }
	if resp, err := api.Do(ctx, providers.Call{Path: "/teapot", Success: teapot}); err != nil || resp.StatusCode != http.StatusTeapot {
		t.Errorf("expected 418: %v", err)
	}
	if _, err := api.Do(ctx, providers.Call{Path: "/ok", Success: teapot}); !providers.IsCode(err, providers.CodeProviderError) || !strings.Contains(err.Error(), "HTTP 200") {
		t.Errorf("unexpected 200: %v", err)
	}
	redirects := func(s int) bool { return s/100 == 3 }
	resp, err := api.Do(ctx, providers.Call{Path: "/moved", NoRedirect: true, Success: redirects})
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/target?code=abc" || followed.Load() != 0 {
		t.Fatalf("not followed: %v, %d follows", err, followed.Load())
	}
	if _, err := api.Do(ctx, providers.Call{Path: "/moved"}); err != nil || followed.Load() != 1 {
		t.Fatalf("followed: %v, %d follows", err, followed.Load())
	}
}

// TestErrorGetsWhat: the Error classifier is told what the call was about.
func TestErrorGetsWhat(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, "gone: stored-secret-1234")
	}))
	defer srv.Close()
	api := providers.API{Provider: "fake", Config: apiConfig(), BaseURL: srv.URL,
		Error: func(a providers.Answer) *providers.Error {
			return providers.Errorf(providers.CodeNotFound, "fake: %s: %s (HTTP %d)", a.What, a.Redact(string(a.Body)), a.StatusCode)
		}}
	_, err := api.Do(context.Background(), providers.Call{What: "the folder /a"})
	if !providers.IsCode(err, providers.CodeNotFound) || err.Error() != "fake: the folder /a: gone: "+providers.Redacted+" (HTTP 409)" {
		t.Fatalf("err = %v", err)
	}
}

// TestSignEachAttempt: every attempt, retries included, is signed afresh; the
// client does not resend a signed request itself; a wait longer than the
// deadline allows comes back at once; an answer Error marks Retryable is
// retried too.
func TestSignEachAttempt(t *testing.T) {
	var (
		mu         sync.Mutex
		seen       = map[string]bool{}
		n          atomic.Int32
		plan       []int
		retryAfter string
	)
	answer := func(statuses []int, after string) {
		mu.Lock()
		defer mu.Unlock()
		clear(seen)
		n.Store(0)
		plan, retryAfter = statuses, after
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.Header.Get("Signature")
		mu.Lock()
		defer mu.Unlock()
		if seen[sig] {
			t.Errorf("signature %s sent twice", sig)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		seen[sig] = true
		if i := int(n.Add(1)) - 1; i < len(plan) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(plan[i])
		}
	}))
	defer srv.Close()
	var signed atomic.Int32
	api := providers.API{Provider: "fake", Config: apiConfig(), BaseURL: srv.URL, SignEachAttempt: true,
		Auth: func(ctx context.Context, r *http.Request, _ string) (string, error) {
			r.Header.Set("Signature", fmt.Sprint("nonce-", signed.Add(1)))
			return "", nil
		},
		Error: func(a providers.Answer) *providers.Error {
			e := providers.StatusError("fake", a.Response, "")
			if a.StatusCode == http.StatusBadRequest {
				e.Code, e.Retryable = providers.CodeRateLimited, true // a concurrency refusal
			}
			return e
		}}
	ctx := context.Background()

	answer([]int{503, 429, 400}, "")
	if _, err := api.Do(ctx, providers.Call{Method: http.MethodPost, JSON: map[string]int{"a": 1}}); err != nil || n.Load() != 4 {
		t.Fatalf("retried: %v after %d sends", err, n.Load())
	}

	answer([]int{503, 503, 503, 503, 503}, "0")
	_, err := api.Do(ctx, providers.Call{})
	if !providers.IsCode(err, providers.CodeProviderError) || n.Load() != 4 {
		t.Fatalf("retries are capped at 3: %v after %d sends", err, n.Load())
	}

	answer([]int{429, 429}, "30")
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	_, err = api.Do(short, providers.Call{})
	if !providers.IsCode(err, providers.CodeRateLimited) || n.Load() != 1 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("a long Retry-After comes back at once: %v after %d sends", err, n.Load())
	}

	answer([]int{501}, "")
	if _, err := api.Do(ctx, providers.Call{}); err == nil || n.Load() != 1 {
		t.Fatalf("501 is not retried: %v after %d sends", err, n.Load())
	}
}
