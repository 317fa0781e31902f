package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	clientID     = "client-123"
	clientSecret = "client-s3cr3t-value"
)

// tokenServer is a token endpoint that checks the documented request: POST,
// form-encoded, the grant, the client authentication and the refresh token.
// It answers 400 with an OAuth error code when anything differs.
type tokenServer struct {
	t      *testing.T
	srv    *httptest.Server
	hits   atomic.Int32
	style  oauth2.AuthStyle // how the client must authenticate
	rotate bool             // issue a new refresh token on every refresh
	// noRefresh: answer without a refresh_token.
	noRefresh bool
	expiresIn int // seconds; 0 leaves expires_in out
	// gate, when set by hold, is waited on before answering.
	gate    chan struct{}
	release func()
	// status, when set, is answered instead (with Retry-After retryAfter).
	status     int
	retryAfter string

	mu        sync.Mutex
	refreshes map[string]bool // valid refresh tokens
	issued    int
	seen      []url.Values
}

func newTokenServer(t *testing.T, refresh string) *tokenServer {
	ts := &tokenServer{t: t, style: oauth2.AuthStyleInHeader, expiresIn: 3600, refreshes: map[string]bool{refresh: true}}
	ts.srv = httptest.NewServer(ts)
	t.Cleanup(ts.srv.Close)
	return ts
}

// hold makes the endpoint wait for ts.release (called at cleanup at the
// latest, so a failing test does not hang on the server's Close).
func (ts *tokenServer) hold() {
	ts.gate = make(chan struct{})
	ts.release = sync.OnceFunc(func() { close(ts.gate) })
	ts.t.Cleanup(ts.release)
}

func (ts *tokenServer) url() string { return ts.srv.URL + "/oauth/token" }

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":"refused"}`, code)
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ts.hits.Add(1)
	if ts.gate != nil {
		<-ts.gate
	}
	if ts.status != 0 {
		if ts.retryAfter != "" {
			w.Header().Set("Retry-After", ts.retryAfter)
		}
		w.WriteHeader(ts.status)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/oauth/token" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, 400, "invalid_request")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request")
		return
	}
	f := r.PostForm
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.seen = append(ts.seen, f)
	user, pass, basic := r.BasicAuth()
	switch ts.style {
	case oauth2.AuthStyleInHeader:
		if !basic || user != clientID || pass != clientSecret || f.Has("client_secret") {
			oauthError(w, 401, "invalid_client")
			return
		}
	case oauth2.AuthStyleInParams:
		if basic || f.Get("client_id") != clientID || f.Get("client_secret") != clientSecret {
			oauthError(w, 401, "invalid_client")
			return
		}
	}
	resp := map[string]any{"token_type": "Bearer", "instance_url": "https://na1.example.com"}
	switch f.Get("grant_type") {
	case "refresh_token":
		rt := f.Get("refresh_token")
		if !ts.refreshes[rt] {
			oauthError(w, 400, "invalid_grant")
			return
		}
		if ts.rotate {
			delete(ts.refreshes, rt)
			rt = fmt.Sprintf("rt-%d", ts.issued+1)
			ts.refreshes[rt] = true
		}
		if !ts.noRefresh {
			resp["refresh_token"] = rt
		}
	case "client_credentials":
		if f.Get("scope") != "read write" {
			oauthError(w, 400, "invalid_scope")
			return
		}
	default:
		oauthError(w, 400, "unsupported_grant_type")
		return
	}
	ts.issued++
	resp["access_token"] = fmt.Sprintf("at-%d", ts.issued)
	if ts.expiresIn > 0 {
		resp["expires_in"] = ts.expiresIn
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (ts *tokenServer) lastForm() url.Values {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.seen[len(ts.seen)-1]
}

// clock is a settable time for the OAuth machinery.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newOAuth(c *clock) *providers.OAuth {
	o := providers.NewOAuth()
	providers.SetOAuthClock(o, c.Now)
	return o
}

func config(o *providers.OAuth, store providers.TokenStore) providers.Config {
	return providers.Config{
		HTTPClient: providertest.HTTPClient(providers.HTTPOptions{}),
		Tokens:     store,
		OAuth:      o,
		Timeout:    10 * time.Second,
	}
}

func refreshFlow(ts *tokenServer, rt string) providers.OAuthFlow {
	return providers.OAuthFlow{TokenURL: ts.url(), ClientID: clientID, ClientSecret: clientSecret, RefreshToken: rt, AuthStyle: ts.style}
}

func mustToken(t *testing.T, c providers.Config, flow providers.OAuthFlow) *oauth2.Token {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := c.Token(ctx, "acme", flow)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

func TestOAuthRefresh(t *testing.T) {
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		t.Run(fmt.Sprint(style), func(t *testing.T) {
			ts := newTokenServer(t, "rt-0")
			ts.style = style
			store := &providertest.MemTokenStore{}
			c := config(newOAuth(newClock()), store)
			tok := mustToken(t, c, refreshFlow(ts, "rt-0"))
			if tok.AccessToken != "at-1" || tok.RefreshToken != "rt-0" || tok.Expiry.IsZero() {
				t.Fatalf("token %+v", tok)
			}
			if f := ts.lastForm(); f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "rt-0" {
				t.Errorf("form %v", f)
			}
			if got := tok.Extra("instance_url"); got != "https://na1.example.com" {
				t.Errorf("instance_url extra %v", got)
			}
			saved, _ := store.LoadToken(context.Background())
			if saved == nil || saved.AccessToken != "at-1" || saved.RefreshToken != "rt-0" || store.Saves() != 1 {
				t.Fatalf("saved %+v after %d saves", saved, store.Saves())
			}
		})
	}
}

func TestOAuthRotation(t *testing.T) {
	for _, persist := range []bool{true, false} {
		t.Run(fmt.Sprintf("store=%v", persist), func(t *testing.T) {
			ts := newTokenServer(t, "rt-0")
			ts.rotate = true
			clk := newClock()
			var store *providertest.MemTokenStore
			c := config(newOAuth(clk), nil)
			if persist {
				store = &providertest.MemTokenStore{}
				c.Tokens = store
			}
			flow := refreshFlow(ts, "rt-0") // what the connection's secrets hold
			tok := mustToken(t, c, flow)
			if tok.RefreshToken != "rt-1" {
				t.Fatalf("rotated refresh token %q, want rt-1", tok.RefreshToken)
			}
			if persist {
				if saved, _ := store.LoadToken(context.Background()); saved.RefreshToken != "rt-1" {
					t.Fatalf("saved refresh token %q, want rt-1", saved.RefreshToken)
				}
			}
			clk.Advance(2 * time.Hour)
			// rt-0 is now refused by the server: the rotated one must be used.
			tok = mustToken(t, c, flow)
			if f := ts.lastForm(); f.Get("refresh_token") != "rt-1" {
				t.Fatalf("second refresh sent %q, want rt-1", f.Get("refresh_token"))
			}
			if tok.AccessToken != "at-2" || tok.RefreshToken != "rt-2" || ts.hits.Load() != 2 {
				t.Fatalf("token %+v after %d hits", tok, ts.hits.Load())
			}
		})
	}
}

func TestOAuthNoNewRefreshTokenKeepsOld(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.noRefresh = true
	clk := newClock()
	store := &providertest.MemTokenStore{}
	c := config(newOAuth(clk), store)
	tok := mustToken(t, c, refreshFlow(ts, "rt-0"))
	if tok.RefreshToken != "rt-0" {
		t.Fatalf("refresh token %q, want the old rt-0", tok.RefreshToken)
	}
	if saved, _ := store.LoadToken(context.Background()); saved.RefreshToken != "rt-0" {
		t.Fatalf("saved refresh token %q, want rt-0", saved.RefreshToken)
	}
	clk.Advance(2 * time.Hour)
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	if f := ts.lastForm(); f.Get("refresh_token") != "rt-0" || ts.hits.Load() != 2 {
		t.Fatalf("second refresh sent %q after %d hits", f.Get("refresh_token"), ts.hits.Load())
	}
}

func TestOAuthErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(ts *tokenServer)
		flow    func(ts *tokenServer) providers.OAuthFlow
		code    providers.Code
		message string
	}{
		{"invalid_grant", nil, func(ts *tokenServer) providers.OAuthFlow { return refreshFlow(ts, "rt-revoked") },
			providers.CodeAuthFailed, "must be re-authorised"},
		{"invalid_client", nil, func(ts *tokenServer) providers.OAuthFlow {
			f := refreshFlow(ts, "rt-0")
			f.ClientSecret = "wrong-s3cr3t"
			return f
		}, providers.CodeAuthFailed, "client id or secret was rejected"},
		{"invalid_scope", nil, func(ts *tokenServer) providers.OAuthFlow {
			return providers.OAuthFlow{TokenURL: ts.url(), ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"admin"}, AuthStyle: ts.style}
		}, providers.CodePermissionDenied, "scopes were refused"},
		{"429", func(ts *tokenServer) { ts.status, ts.retryAfter = 429, "30" },
			func(ts *tokenServer) providers.OAuthFlow { return refreshFlow(ts, "rt-0") }, providers.CodeRateLimited, "rate limiting"},
		{"500", func(ts *tokenServer) { ts.status = 500 },
			func(ts *tokenServer) providers.OAuthFlow { return refreshFlow(ts, "rt-0") }, providers.CodeProviderError, "token endpoint"},
		{"no token URL", nil, func(ts *tokenServer) providers.OAuthFlow { return providers.OAuthFlow{RefreshToken: "rt-0"} },
			providers.CodeInvalidConfig, "no OAuth token URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTokenServer(t, "rt-0")
			if tt.setup != nil {
				tt.setup(ts)
			}
			store := &providertest.MemTokenStore{}
			c := config(newOAuth(newClock()), store)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := c.Token(ctx, "acme", tt.flow(ts))
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %v is not a *providers.Error", err)
			}
			if pe.Code != tt.code || !strings.Contains(pe.Message, tt.message) || !strings.HasPrefix(pe.Message, "acme") {
				t.Fatalf("got %s %q, want %s containing %q", pe.Code, pe.Message, tt.code, tt.message)
			}
			if strings.Contains(pe.Message, "s3cr3t") || strings.Contains(pe.Message, "rt-") {
				t.Errorf("message %q leaks a secret", pe.Message)
			}
			if store.Saves() != 0 {
				t.Errorf("a failed call saved a token")
			}
		})
	}
}

// TestOAuthConcurrentCallersOneCall: 50 callers of one connection, one token
// call; they all get its token.
func TestOAuthConcurrentCallersOneCall(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	store := &providertest.MemTokenStore{}
	c := config(newOAuth(newClock()), store)
	var wg sync.WaitGroup
	tokens := make([]string, 50)
	for i := range tokens {
		wg.Go(func() { tokens[i] = mustToken(t, c, refreshFlow(ts, "rt-0")).AccessToken })
	}
	wg.Wait()
	if ts.hits.Load() != 1 || store.Saves() != 1 {
		t.Fatalf("%d token calls, %d saves; want 1 and 1", ts.hits.Load(), store.Saves())
	}
	for _, tok := range tokens {
		if tok != "at-1" {
			t.Fatalf("a caller got %q", tok)
		}
	}
}

// TestOAuthSingleFlight holds the token endpoint until all 50 callers wait on
// the one call in flight; tokens that are never cacheable (30 s lifetime,
// under the 60 s refresh-ahead) show the de-duplication, not the cache.
func TestOAuthSingleFlight(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.expiresIn = 30
	ts.hold()
	o := newOAuth(newClock())
	c := config(o, &providertest.MemTokenStore{})
	var wg sync.WaitGroup
	var got atomic.Int32
	for range 50 {
		wg.Go(func() {
			if mustToken(t, c, refreshFlow(ts, "rt-0")).AccessToken == "at-1" {
				got.Add(1)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for providers.OAuthWaiters(o) < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d callers joined the flight", providers.OAuthWaiters(o))
		}
		time.Sleep(time.Millisecond)
	}
	ts.release()
	wg.Wait()
	if ts.hits.Load() != 1 || got.Load() != 50 {
		t.Fatalf("%d token calls, %d callers got at-1", ts.hits.Load(), got.Load())
	}
	// Not cacheable: the next call makes a new one.
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	if ts.hits.Load() != 2 {
		t.Fatalf("%d token calls, want 2", ts.hits.Load())
	}
}

// TestOAuthCallerGivesUp: the first caller's cancellation does not fail the
// others waiting on the same call.
func TestOAuthCallerGivesUp(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.hold()
	o := newOAuth(newClock())
	c := config(o, &providertest.MemTokenStore{})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.Token(ctx, "acme", refreshFlow(ts, "rt-0"))
		first <- err
	}()
	second := make(chan *oauth2.Token, 1)
	go func() { second <- mustToken(t, c, refreshFlow(ts, "rt-0")) }()
	deadline := time.Now().Add(10 * time.Second)
	for providers.OAuthWaiters(o) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the callers did not join one flight")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-first; providers.Classify("acme", err).Code != providers.CodeTimeout {
		t.Fatalf("first caller: %v", err)
	}
	ts.release()
	if tok := <-second; tok.AccessToken != "at-1" || ts.hits.Load() != 1 {
		t.Fatalf("second caller got %+v after %d calls", tok, ts.hits.Load())
	}
}

func TestOAuthDeadline(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.hold()
	c := config(newOAuth(newClock()), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Token(ctx, "acme", refreshFlow(ts, "rt-0"))
	if pe := providers.Classify("acme", err); pe.Code != providers.CodeTimeout {
		t.Fatalf("got %v, want a timeout", err)
	}
}

func TestOAuthCacheUntilNearExpiry(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	clk := newClock()
	c := config(newOAuth(clk), nil)
	flow := refreshFlow(ts, "rt-0")
	steps := []struct {
		advance  time.Duration
		wantHits int32
		wantTok  string
	}{
		{0, 1, "at-1"},
		{0, 1, "at-1"},
		{time.Hour - 61*time.Second, 1, "at-1"}, // 61 s left: still reused
		{2 * time.Second, 2, "at-2"},            // 59 s left: refreshed ahead
		{time.Minute, 2, "at-2"},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		tok := mustToken(t, c, flow)
		if tok.AccessToken != s.wantTok || ts.hits.Load() != s.wantHits {
			t.Fatalf("step %d: %s after %d calls, want %s after %d", i, tok.AccessToken, ts.hits.Load(), s.wantTok, s.wantHits)
		}
	}
}

func TestOAuthNoExpiryAssumesLifetime(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.expiresIn = 0
	clk := newClock()
	c := config(newOAuth(clk), nil)
	tok := mustToken(t, c, refreshFlow(ts, "rt-0"))
	if tok.Expiry.IsZero() {
		t.Fatal("a token without expires_in was given no expiry")
	}
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	clk.Advance(time.Hour)
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	if ts.hits.Load() != 2 {
		t.Fatalf("%d token calls, want 2", ts.hits.Load())
	}
}

// TestOAuthTwoProcesses: two OAuth machineries (two processes) share one
// store; the second uses the token the first stored, and refreshes with the
// refresh token the first rotated.
func TestOAuthTwoProcesses(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.rotate = true
	clk := newClock()
	store := &providertest.MemTokenStore{}
	a, b := config(newOAuth(clk), store), config(newOAuth(clk), store)
	flow := refreshFlow(ts, "rt-0")
	if tok := mustToken(t, a, flow); tok.AccessToken != "at-1" {
		t.Fatalf("a got %s", tok.AccessToken)
	}
	if tok := mustToken(t, b, flow); tok.AccessToken != "at-1" || ts.hits.Load() != 1 {
		t.Fatalf("b got %s after %d calls; want the stored at-1 without a call", tok.AccessToken, ts.hits.Load())
	}
	clk.Advance(2 * time.Hour)
	if tok := mustToken(t, b, flow); tok.AccessToken != "at-2" || ts.lastForm().Get("refresh_token") != "rt-1" {
		t.Fatalf("b got %s refreshing with %q", tok.AccessToken, ts.lastForm().Get("refresh_token"))
	}
	// a's cached at-1 has expired: it finds b's at-2 in the store.
	if tok := mustToken(t, a, flow); tok.AccessToken != "at-2" || ts.hits.Load() != 2 {
		t.Fatalf("a got %s after %d calls", tok.AccessToken, ts.hits.Load())
	}
}

// racingStore simulates another process saving its own token just before
// this one's first save.
type racingStore struct {
	*providertest.MemTokenStore
	other *oauth2.Token
	once  sync.Once
}

func (s *racingStore) SaveToken(ctx context.Context, prev, next *oauth2.Token) error {
	s.once.Do(func() {
		if err := s.MemTokenStore.SaveToken(ctx, prev, s.other); err != nil {
			panic(err)
		}
	})
	return s.MemTokenStore.SaveToken(ctx, prev, next)
}

func TestOAuthSaveConflictUsesStored(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	clk := newClock()
	other := &oauth2.Token{AccessToken: "at-other", RefreshToken: "rt-other", Expiry: clk.Now().Add(time.Hour)}
	store := &racingStore{MemTokenStore: &providertest.MemTokenStore{}, other: other}
	c := config(newOAuth(clk), store)
	tok := mustToken(t, c, refreshFlow(ts, "rt-0"))
	if tok.AccessToken != "at-other" {
		t.Fatalf("got %s, want the token the other process stored", tok.AccessToken)
	}
	if saved, _ := store.LoadToken(context.Background()); saved.AccessToken != "at-other" || saved.RefreshToken != "rt-other" {
		t.Fatalf("stored %+v: the other process's token was overwritten", saved)
	}
	// The stored token is cached from now on.
	if tok := mustToken(t, c, refreshFlow(ts, "rt-0")); tok.AccessToken != "at-other" || ts.hits.Load() != 1 {
		t.Fatalf("got %s after %d calls", tok.AccessToken, ts.hits.Load())
	}
}

// failingStore fails its first save(s) with a database error.
type failingStore struct {
	*providertest.MemTokenStore
	fail atomic.Int32
}

func (s *failingStore) SaveToken(ctx context.Context, prev, next *oauth2.Token) error {
	if s.fail.Add(-1) >= 0 {
		return errors.New("database is locked")
	}
	return s.MemTokenStore.SaveToken(ctx, prev, next)
}

// TestOAuthSaveFailureKeepsRotatedToken: a rotated refresh token that could
// not be saved is not lost: the next call saves it without a token call.
func TestOAuthSaveFailureKeepsRotatedToken(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.rotate = true
	store := &failingStore{MemTokenStore: &providertest.MemTokenStore{}}
	store.fail.Store(1)
	c := config(newOAuth(newClock()), store)
	_, err := c.Token(context.Background(), "acme", refreshFlow(ts, "rt-0"))
	if pe := providers.Classify("acme", err); pe.Code != providers.CodeProviderError || !strings.Contains(pe.Message, "could not be saved") {
		t.Fatalf("got %v", err)
	}
	tok := mustToken(t, c, refreshFlow(ts, "rt-0"))
	if tok.AccessToken != "at-1" || tok.RefreshToken != "rt-1" || ts.hits.Load() != 1 {
		t.Fatalf("got %+v after %d calls", tok, ts.hits.Load())
	}
	if saved, _ := store.LoadToken(context.Background()); saved == nil || saved.RefreshToken != "rt-1" {
		t.Fatalf("stored %+v, want the rotated rt-1", saved)
	}
}

func TestOAuthWithoutMachineryOrStore(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	store := &providertest.MemTokenStore{}
	// No OAuth: nothing cached in memory, but the store is used.
	c := config(nil, store)
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	if tok := mustToken(t, c, refreshFlow(ts, "rt-0")); tok.AccessToken != "at-1" || ts.hits.Load() != 1 {
		t.Fatalf("got %s after %d calls, want the stored at-1", tok.AccessToken, ts.hits.Load())
	}
	// Neither: every call fetches.
	c = config(nil, nil)
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	if ts.hits.Load() != 3 {
		t.Fatalf("%d calls, want 3", ts.hits.Load())
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	ts := newTokenServer(t, "")
	ts.style = oauth2.AuthStyleInParams
	c := config(newOAuth(newClock()), &providertest.MemTokenStore{})
	flow := providers.OAuthFlow{TokenURL: ts.url(), ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"read", "write"}, EndpointParams: url.Values{"audience": {"api"}}, AuthStyle: ts.style}
	tok := mustToken(t, c, flow)
	f := ts.lastForm()
	if f.Get("grant_type") != "client_credentials" || f.Get("audience") != "api" || tok.AccessToken != "at-1" || tok.RefreshToken != "" {
		t.Fatalf("form %v, token %+v", f, tok)
	}
	mustToken(t, c, flow)
	if ts.hits.Load() != 1 {
		t.Fatalf("%d calls, want 1 (cached)", ts.hits.Load())
	}
	// A freshly signed assertion on every call: Identity keeps the cache.
	var signed atomic.Int32
	jwtFlow := flow
	jwtFlow.EndpointParams = nil
	jwtFlow.Identity = "issuer|subject|key-sha256"
	jwtFlow.EndpointParamsFunc = func() (url.Values, error) {
		n := signed.Add(1)
		return url.Values{"client_assertion": {fmt.Sprintf("jwt-%d", n)}}, nil
	}
	c = config(c.OAuth, &providertest.MemTokenStore{}) // another connection
	mustToken(t, c, jwtFlow)
	mustToken(t, c, jwtFlow)
	if ts.hits.Load() != 2 || signed.Load() != 1 || ts.lastForm().Get("client_assertion") != "jwt-1" {
		t.Fatalf("%d calls, %d assertions signed", ts.hits.Load(), signed.Load())
	}
}

// TestOAuthKeySeparatesCredentials: connections that differ in any secret do
// not share a token, even in one process with no store.
func TestOAuthKeySeparatesCredentials(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.refreshes["rt-other"] = true
	o := newOAuth(newClock())
	c := config(o, nil)
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	mustToken(t, c, refreshFlow(ts, "rt-other"))
	wrong := refreshFlow(ts, "rt-0")
	wrong.ClientSecret = "guessed"
	if _, err := c.Token(context.Background(), "acme", wrong); err == nil {
		t.Fatal("a wrong client secret was served the cached token")
	}
	if ts.hits.Load() != 3 {
		t.Fatalf("%d calls, want 3", ts.hits.Load())
	}
	// Two stores (two connections) with one grant do not share either...
	mustToken(t, config(o, &providertest.MemTokenStore{}), refreshFlow(ts, "rt-0"))
	mustToken(t, config(o, &providertest.MemTokenStore{}), refreshFlow(ts, "rt-0"))
	if ts.hits.Load() != 5 {
		t.Fatalf("%d calls, want 5", ts.hits.Load())
	}
	// ...unless they name the same connection.
	s1 := &keyedStore{MemTokenStore: &providertest.MemTokenStore{}, key: "tenant-1/conn-1"}
	s2 := &keyedStore{MemTokenStore: &providertest.MemTokenStore{}, key: "tenant-1/conn-1"}
	mustToken(t, config(o, s1), refreshFlow(ts, "rt-0"))
	mustToken(t, config(o, s2), refreshFlow(ts, "rt-0"))
	if ts.hits.Load() != 6 {
		t.Fatalf("%d calls, want 6", ts.hits.Load())
	}
}

type keyedStore struct {
	*providertest.MemTokenStore
	key string
}

func (s *keyedStore) TokenKey() string { return s.key }

// TestOAuthRejected: a token the provider refused is replaced once, however
// many callers saw the refusal.
func TestOAuthRejected(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	c := config(newOAuth(newClock()), &providertest.MemTokenStore{})
	flow := refreshFlow(ts, "rt-0")
	first := mustToken(t, c, flow)
	flow.Rejected = first.AccessToken
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if tok := mustToken(t, c, flow); tok.AccessToken == first.AccessToken {
				t.Error("the rejected token was served again")
			}
		})
	}
	wg.Wait()
	if ts.hits.Load() != 2 {
		t.Fatalf("%d calls, want 2", ts.hits.Load())
	}
}

// TestOAuthEndpointDownKeepsValidToken: inside the refresh-ahead window a
// failing token endpoint does not fail the call while the token still works.
func TestOAuthEndpointDownKeepsValidToken(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	clk := newClock()
	c := config(newOAuth(clk), &providertest.MemTokenStore{})
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	clk.Advance(time.Hour - 30*time.Second)
	ts.status = 503
	if tok := mustToken(t, c, refreshFlow(ts, "rt-0")); tok.AccessToken != "at-1" {
		t.Fatalf("got %s", tok.AccessToken)
	}
	clk.Advance(time.Minute) // now expired: the failure surfaces
	if _, err := c.Token(context.Background(), "acme", refreshFlow(ts, "rt-0")); err == nil {
		t.Fatal("an expired token was served while the endpoint is down")
	}
}

// TestOAuthUsesGuardedClient: the token call goes through Config.HTTPClient.
func TestOAuthUsesGuardedClient(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	var dials atomic.Int32
	c := config(newOAuth(newClock()), nil)
	base := http.DefaultTransport.(*http.Transport).Clone()
	c.HTTPClient = providers.NewHTTPClient(providers.HTTPOptions{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return base.DialContext(ctx, network, addr)
	}})
	mustToken(t, c, refreshFlow(ts, "rt-0"))
	if dials.Load() == 0 {
		t.Fatal("the token call did not use the configured client")
	}
}

func TestEncodeToken(t *testing.T) {
	in := (&oauth2.Token{AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt", Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}).
		WithExtra(map[string]any{"instance_url": "https://na1.example.com", "unlisted": "x"})
	b, err := providers.EncodeToken(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := providers.DecodeToken(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.AccessToken != "at" || out.TokenType != "Bearer" || out.RefreshToken != "rt" || !out.Expiry.Equal(in.Expiry) ||
		out.Extra("instance_url") != "https://na1.example.com" || out.Extra("unlisted") != nil {
		t.Fatalf("round trip: %+v (instance_url %v)", out, out.Extra("instance_url"))
	}
	if _, err := providers.DecodeToken([]byte("{")); err == nil {
		t.Fatal("bad JSON decoded")
	}
	// A stamp keeps the extras drivers read and is never encoded.
	stamped := providers.StampToken(out, "v1")
	if providers.TokenStamp(stamped) != "v1" || stamped.Extra("instance_url") != "https://na1.example.com" ||
		providers.TokenStamp(out) != "" || providers.TokenStamp(nil) != "" {
		t.Fatalf("stamp %q, instance_url %v", providers.TokenStamp(stamped), stamped.Extra("instance_url"))
	}
	if b, _ := providers.EncodeToken(stamped); strings.Contains(string(b), "v1") {
		t.Fatalf("the stamp was encoded: %s", b)
	}
}

// staleStore answers its first load with an old token, as a load that
// happened just before another process refreshed would.
type staleStore struct {
	*providertest.MemTokenStore
	stale *oauth2.Token
	once  sync.Once
}

func (s *staleStore) LoadToken(ctx context.Context) (*oauth2.Token, error) {
	var tok *oauth2.Token
	s.once.Do(func() { tok = s.stale })
	if tok != nil {
		return tok, nil
	}
	return s.MemTokenStore.LoadToken(ctx)
}

// TestOAuthLostRotationRace: this process refreshes with a refresh token
// another process has just rotated away; the provider answers invalid_grant,
// and the token the other process stored is used instead of failing.
func TestOAuthLostRotationRace(t *testing.T) {
	ts := newTokenServer(t, "rt-2") // rt-1 was rotated to rt-2 by the other process
	clk := newClock()
	inner := &providertest.MemTokenStore{}
	winner := &oauth2.Token{AccessToken: "at-winner", RefreshToken: "rt-2", Expiry: clk.Now().Add(time.Hour)}
	if err := inner.SaveToken(context.Background(), nil, winner); err != nil {
		t.Fatal(err)
	}
	stale := &oauth2.Token{AccessToken: "at-old", RefreshToken: "rt-1", Expiry: clk.Now().Add(-time.Minute)}
	c := config(newOAuth(clk), &staleStore{MemTokenStore: inner, stale: stale})
	tok := mustToken(t, c, refreshFlow(ts, "rt-0"))
	if tok.AccessToken != "at-winner" || ts.hits.Load() != 1 || ts.lastForm().Get("refresh_token") != "rt-1" {
		t.Fatalf("got %s after %d calls", tok.AccessToken, ts.hits.Load())
	}
}

// TestOAuthReauthorised: a re-authorisation replaces the connection's refresh
// token and drops the stored token; the next refresh uses the new one.
func TestOAuthReauthorised(t *testing.T) {
	ts := newTokenServer(t, "rt-new")
	clk := newClock()
	store := newConnStore("rt-old")
	store.put(&oauth2.Token{AccessToken: "at-old", RefreshToken: "rt-old", Expiry: clk.Now().Add(-time.Minute)})
	store.edit("rt-new")
	c := config(newOAuth(clk), store)
	tok := mustToken(t, c, refreshFlow(ts, "rt-new"))
	if tok.AccessToken != "at-1" || tok.RefreshToken != "rt-new" || ts.hits.Load() != 1 {
		t.Fatalf("got %+v after %d calls", tok, ts.hits.Load())
	}
	if saved, own := store.state(); saved.RefreshToken != "rt-new" || own != "rt-new" {
		t.Fatalf("saved %+v, own refresh token %q", saved, own)
	}
}

// TestOAuthRefreshesOnlyWithStoredToken: once the stored refresh token is
// refused (invalid_grant), the driver's copy of the connection's refresh
// token, retired five rotations ago, is never sent: a provider that detects
// the reuse of a retired token revokes the whole grant.
func TestOAuthRefreshesOnlyWithStoredToken(t *testing.T) {
	ts := newTokenServer(t, "rt-0") // rt-0 still works here, to show it is not tried
	clk := newClock()
	store := newConnStore("rt-5")
	store.put(&oauth2.Token{AccessToken: "at-5", RefreshToken: "rt-5", Expiry: clk.Now().Add(-time.Minute)})
	c := config(newOAuth(clk), store)
	_, err := c.Token(context.Background(), "acme", refreshFlow(ts, "rt-0"))
	if pe := (*providers.Error)(nil); !errors.As(err, &pe) || pe.Code != providers.CodeAuthFailed {
		t.Errorf("got %v, want auth_failed", err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, f := range ts.seen {
		if rt := f.Get("refresh_token"); rt != "rt-5" {
			t.Errorf("a token call sent %q; only the stored rt-5 may be sent", rt)
		}
	}
	if len(ts.seen) != 1 {
		t.Errorf("%d token calls, want 1", len(ts.seen))
	}
}

// TestOAuthUnstoredCopyNotUsed: a refresh token this process cached is not
// used once the store holds another (here the connection's own, set by an
// edit that dropped the stored token), even by a caller whose flow still
// carries the old one (a Conn opened before the edit).
func TestOAuthUnstoredCopyNotUsed(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.rotate = true
	clk := newClock()
	store := newConnStore("rt-0")
	c := config(newOAuth(clk), store)
	flow := refreshFlow(ts, "rt-0")
	mustToken(t, c, flow) // at-1, rt-1 stored and cached
	ts.mu.Lock()
	ts.refreshes["rt-user"] = true
	ts.mu.Unlock()
	store.edit("rt-user")
	clk.Advance(2 * time.Hour)
	tok := mustToken(t, c, flow) // a Conn opened before the edit
	if got := ts.lastForm().Get("refresh_token"); got != "rt-user" || tok.AccessToken != "at-2" {
		t.Fatalf("refreshed with %q (got %s), want the stored rt-user", got, tok.AccessToken)
	}
}

// TestOAuthEditWinsOverRefreshInFlight: the user saves a new refresh token
// while a refresh with the old one is in flight. The refresh's result is
// discarded (the call fails, retryable, saying why), the edit stays, and
// the next call refreshes with the user's token. With nothing stored when
// the refresh started, too.
func TestOAuthEditWinsOverRefreshInFlight(t *testing.T) {
	for _, hadToken := range []bool{true, false} {
		t.Run(fmt.Sprintf("stored=%v", hadToken), func(t *testing.T) {
			ts := newTokenServer(t, "rt-0")
			ts.rotate = true
			ts.refreshes["rt-user"] = true
			ts.hold()
			clk := newClock()
			store := newConnStore("rt-0")
			if hadToken {
				store.put(&oauth2.Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: clk.Now().Add(-time.Minute)})
			}
			c := config(newOAuth(clk), store)
			done := make(chan error, 1)
			go func() {
				_, err := c.Token(context.Background(), "acme", refreshFlow(ts, "rt-0"))
				done <- err
			}()
			waitFor(t, "the token call", func() bool { return ts.hits.Load() == 1 })
			store.edit("rt-user") // PATCH 200 while the call is in flight
			ts.release()
			err := <-done
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeProviderError || !pe.Retryable || !strings.Contains(pe.Message, "credentials changed") {
				t.Fatalf("the refresh that lost the race returned %v", err)
			}
			if tok, own := store.state(); tok != nil || own != "rt-user" {
				t.Fatalf("after the race the store holds %+v and refresh token %q; the edit must win", tok, own)
			}
			tok := mustToken(t, c, refreshFlow(ts, "rt-user"))
			if got := ts.lastForm().Get("refresh_token"); got != "rt-user" || tok.AccessToken != "at-2" {
				t.Fatalf("next call refreshed with %q and got %s", got, tok.AccessToken)
			}
			if saved, own := store.state(); saved == nil || saved.AccessToken != "at-2" || own != saved.RefreshToken {
				t.Fatalf("stored %+v, own %q", saved, own)
			}
		})
	}
}

// TestOAuthTokenCallNotRetried: the token call is made once whatever the
// answer: a provider that rotates refresh tokens may have consumed the one
// sent before failing, and re-sending it could revoke the grant.
func TestOAuthTokenCallNotRetried(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504, 429} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ts := newTokenServer(t, "rt-0")
			ts.status = status
			if status == 429 {
				ts.retryAfter = "0"
			}
			c := config(newOAuth(newClock()), &providertest.MemTokenStore{})
			_, err := c.Token(context.Background(), "acme", refreshFlow(ts, "rt-0"))
			if err == nil {
				t.Fatal("no error")
			}
			if n := ts.hits.Load(); n != 1 {
				t.Fatalf("%d token calls for one HTTP %d, want 1", n, status)
			}
		})
	}
}

// connStore is a TokenStore shaped like the resolvers' one over a
// connection's sealed credentials: the connection's own refresh token beside
// the stored token, a version bumped by every write, an edit that replaces
// the refresh token and drops the stored token, and a compare-and-swap on
// the version the token was loaded at (carried in it by StampToken).
type connStore struct {
	mu      sync.Mutex
	version int
	tok     *oauth2.Token
	own     string
}

func newConnStore(refresh string) *connStore { return &connStore{own: refresh} }

func (s *connStore) LoadToken(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &oauth2.Token{RefreshToken: s.own}
	if s.tok != nil {
		c := *s.tok
		t = &c
	}
	return providers.StampToken(t, fmt.Sprint(s.version)), nil
}

func (s *connStore) SaveToken(ctx context.Context, prev, next *oauth2.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if providers.TokenStamp(prev) != fmt.Sprint(s.version) {
		return providers.ErrTokenConflict
	}
	c := *next
	s.tok, s.own = &c, next.RefreshToken
	s.version++
	return nil
}

func (s *connStore) put(t *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok, s.own = t, t.RefreshToken
	s.version++
}

func (s *connStore) edit(refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok, s.own = nil, refresh
	s.version++
}

func (s *connStore) state() (*oauth2.Token, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok, s.own
}

func TestOAuthPanicFailsTheCall(t *testing.T) {
	ts := newTokenServer(t, "")
	c := config(newOAuth(newClock()), nil)
	flow := providers.OAuthFlow{TokenURL: ts.url(), ClientID: clientID, ClientSecret: clientSecret, Identity: "x",
		EndpointParamsFunc: func() (url.Values, error) { panic("boom") }}
	_, err := c.Token(context.Background(), "acme", flow)
	if pe := providers.Classify("acme", err); pe.Code != providers.CodeProviderError || !strings.Contains(pe.Message, "unexpectedly") {
		t.Fatalf("got %v", err)
	}
}
