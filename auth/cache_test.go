package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCreds is a credential table with a call counter.
type fakeCreds struct {
	mu    sync.Mutex
	known map[string]Identity
	fail  error
	calls atomic.Int64
	gate  chan struct{} // when set, lookups wait on it
}

func (f *fakeCreds) lookup(ctx context.Context, cred string) (Identity, error) {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return Identity{}, f.fail
	}
	id, ok := f.known[cred]
	if !ok {
		return Identity{}, ErrUnknownToken
	}
	return id, nil
}

func (f *fakeCreds) set(cred string, id *Identity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == nil {
		delete(f.known, cred)
	} else {
		f.known[cred] = *id
	}
}

// cachedAuth is an Authenticator with a one-second cache on a fake clock.
func cachedAuth(tokens, sessions *fakeCreds) (*Authenticator, *time.Time) {
	a := &Authenticator{Token: tokens.lookup, Session: sessions.lookup, CacheTTL: time.Second,
		EndSession:      func(ctx context.Context, sid string) error { sessions.set(sid, nil); return nil },
		Unauthenticated: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
		Failed:          func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusServiceUnavailable) },
	}
	now := time.Unix(1_700_000_000, 0)
	a.identityCache().now = func() time.Time { return now }
	return a, &now
}

func serve(a *Authenticator, bearer, cookie string) (int, Identity) {
	var got Identity
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = FromContext(r.Context())
	}))
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, got
}

func TestIdentityCache(t *testing.T) {
	alice := Identity{TenantID: "t1", UserID: "u1", UserName: "alice", Role: "admin"}
	tokens := &fakeCreds{known: map[string]Identity{"jct_a": alice}}
	sessions := &fakeCreds{known: map[string]Identity{"sid-a": alice}}
	a, now := cachedAuth(tokens, sessions)
	advance := func(d time.Duration) { *now = now.Add(d) }

	// One lookup serves the requests of the next second.
	for range 5 {
		if code, id := serve(a, "jct_a", ""); code != 200 || id != alice {
			t.Fatalf("cached token: %d %+v", code, id)
		}
	}
	if n := tokens.calls.Load(); n != 1 {
		t.Fatalf("5 requests in a second made %d lookups, want 1", n)
	}

	// A revocation is seen within a second: the entry lives one TTL from
	// its lookup's start, never longer.
	tokens.set("jct_a", nil)
	advance(999 * time.Millisecond)
	if code, _ := serve(a, "jct_a", ""); code != 200 {
		t.Fatalf("within the TTL: %d", code)
	}
	advance(time.Millisecond)
	if code, _ := serve(a, "jct_a", ""); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token was accepted a second after its lookup: %d", code)
	}

	// Unknown credentials and failures are not kept: a token created
	// meanwhile works at once, and an outage shows on every request.
	tokens.set("jct_new", &alice)
	if code, _ := serve(a, "jct_a", ""); code != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", code)
	}
	tokens.set("jct_a", &alice)
	if code, _ := serve(a, "jct_a", ""); code != 200 {
		t.Fatalf("a refusal was cached: %d", code)
	}
	advance(time.Second)
	tokens.mu.Lock()
	tokens.fail = errors.New("database down")
	tokens.mu.Unlock()
	before := tokens.calls.Load()
	for range 2 {
		if code, _ := serve(a, "jct_a", ""); code != http.StatusServiceUnavailable {
			t.Fatalf("outage: %d", code)
		}
	}
	if n := tokens.calls.Load() - before; n != 2 {
		t.Fatalf("a failure was cached: %d lookups for 2 requests", n)
	}
	tokens.mu.Lock()
	tokens.fail = nil
	tokens.mu.Unlock()

	// A token and a session id with the same text are different entries.
	if code, _ := serve(a, "sid-a", ""); code != http.StatusUnauthorized {
		t.Fatalf("a session id as a bearer token: %d", code)
	}

	// Logout ends the session in this process at once, cache or not.
	if code, _ := serve(a, "", "sid-a"); code != 200 {
		t.Fatalf("session: %d", code)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/logout", nil)
	r.Header.Set("Origin", "http://example.com")
	r.Host = "example.com"
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "sid-a"})
	a.Logout(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if code, _ := serve(a, "", "sid-a"); code != http.StatusUnauthorized {
		t.Fatalf("the session authenticated after logout: %d", code)
	}

	// A longer TTL is held to MaxCacheTTL.
	if c := newIdentityCache(time.Hour); c.ttl != MaxCacheTTL {
		t.Fatalf("ttl %v, want %v", c.ttl, MaxCacheTTL)
	}
}

// Concurrent requests with one credential share one lookup.
func TestIdentityCacheSharesLookups(t *testing.T) {
	alice := Identity{TenantID: "t1", UserID: "u1"}
	tokens := &fakeCreds{known: map[string]Identity{"jct_a": alice}, gate: make(chan struct{})}
	a, _ := cachedAuth(tokens, &fakeCreds{})
	var wg sync.WaitGroup
	codes := make(chan int, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := serve(a, "jct_a", "")
			codes <- code
		}()
	}
	for tokens.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the others join the lookup in flight
	close(tokens.gate)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if n := tokens.calls.Load(); n > 2 {
		t.Fatalf("32 concurrent requests made %d lookups", n)
	}
}

// Without CacheTTL every request looks its credential up.
func TestNoCacheByDefault(t *testing.T) {
	tokens := &fakeCreds{known: map[string]Identity{"jct_a": {UserID: "u1"}}}
	a := &Authenticator{Token: tokens.lookup,
		Unauthenticated: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
		Failed:          func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusInternalServerError) }}
	for range 3 {
		if code, _ := serve(a, "jct_a", ""); code != 200 {
			t.Fatal(code)
		}
	}
	if n := tokens.calls.Load(); n != 3 {
		t.Fatalf("%d lookups for 3 requests", n)
	}
}
