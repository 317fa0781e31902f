package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
)

// With the default settings a server reuses a resolved identity for at most
// a second: a burst of requests with one token costs one lookup, and a
// token revoked in the database (by another replica, or `junction token
// revoke`) is refused, with the sessions it started, within a second.
func TestAuthCacheDefault(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		def, err := loadConfig(func(string) string { return "" })
		if err != nil || def.AuthCacheTTL != time.Second {
			t.Fatalf("default AuthCacheTTL = %v, %v; want 1s", def.AuthCacheTTL, err)
		}
		e := newEnv(t, db, func(c *Config) { c.AuthCacheTTL = def.AuthCacheTTL })
		ctx := context.Background()
		tok := e.token("acme", "bob", "member")
		c := e.login(tok)

		var lookups atomic.Int64
		e.st.DB().AddQueryHook(countHook{func(q string) {
			if strings.Contains(q, "api_tokens") {
				lookups.Add(1)
			}
		}})
		start := time.Now()
		for range 10 {
			if w := e.do("GET", "/api/v1/me", tok, nil); w.Code != http.StatusOK {
				t.Fatalf("token: %d %s", w.Code, w.Body)
			}
		}
		if n := lookups.Load(); n > 1 && time.Since(start) < time.Second {
			t.Fatalf("10 requests within a second made %d token lookups, want 1", n)
		}
		if w := e.do("GET", "/api/v1/me", "", nil, cookieHdr(c)...); w.Code != http.StatusOK {
			t.Fatalf("session: %d", w.Code)
		}

		if ok, err := e.st.RevokeToken(ctx, tok); err != nil || !ok {
			t.Fatalf("revoke: %v %v", ok, err)
		}
		revoked := time.Now()
		for _, hdr := range [][]string{nil, cookieHdr(c)} {
			bearer := tok
			if hdr != nil {
				bearer = ""
			}
			for {
				w := e.do("GET", "/api/v1/me", bearer, nil, hdr...)
				if w.Code == http.StatusUnauthorized {
					break
				}
				if w.Code != http.StatusOK || time.Since(revoked) > time.Second+200*time.Millisecond {
					t.Fatalf("a revoked token still answered %d %v after the revocation (cookie=%v)", w.Code, time.Since(revoked), hdr != nil)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}

		// Logout ends the session on this server at once.
		c2 := e.login(e.admin)
		if w := e.do("GET", "/api/v1/me", "", nil, cookieHdr(c2)...); w.Code != http.StatusOK {
			t.Fatalf("second session: %d", w.Code)
		}
		if w := e.do("POST", "/logout", "", nil, cookieHdr(c2)...); w.Code != http.StatusNoContent {
			t.Fatalf("logout: %d", w.Code)
		}
		if w := e.do("GET", "/api/v1/me", "", nil, cookieHdr(c2)...); w.Code != http.StatusUnauthorized {
			t.Fatalf("the session answered %d right after logout", w.Code)
		}

		for _, bad := range []string{"2s", "-1s", "soon"} {
			if _, err := loadConfig(func(k string) string {
				if k == "JUNCTION_AUTH_CACHE_TTL" {
					return bad
				}
				return ""
			}); err == nil {
				t.Fatalf("JUNCTION_AUTH_CACHE_TTL=%s accepted", bad)
			}
		}
	})
}
