package main

// Regression tests for the hardening issue (#9): browser sessions (7), CSRF
// and JSON bodies (6), panics (3), chunked GraphQL bodies over the cap (9),
// bounded metrics (11), database outages (23) and GraphQL over HTTP.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/uptrace/bun"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// login signs in with token and returns the session cookie.
func (e *env) login(token string, hdr ...string) *http.Cookie {
	e.t.Helper()
	w := e.do("POST", "/login", "", map[string]any{"token": token}, hdr...)
	cs := w.Result().Cookies()
	if w.Code != http.StatusOK || len(cs) != 1 {
		e.t.Fatalf("login: %d %s %+v", w.Code, w.Body, cs)
	}
	return cs[0]
}

func cookieHdr(c *http.Cookie) []string { return []string{"Cookie", c.Name + "=" + c.Value} }

// item 7: the cookie holds a random session id stored hashed with an expiry;
// logout ends it server-side; revoking the token ends it; an API token in
// the cookie does not authenticate.
func TestBrowserSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db, func(c *Config) { c.SessionTTL = 90 * time.Minute })
		ctx := context.Background()
		me := map[string]any{"query": "{ me { name } }"}

		// An API token in the cookie is not a session.
		if w := e.do("POST", "/graphql", "", me, "Cookie", "junction_session="+e.admin); w.Code != http.StatusUnauthorized {
			t.Fatalf("an API token in the cookie authenticated: %d %s", w.Code, w.Body)
		}
		if w := e.do("GET", "/api/v1/me", "", nil, "Cookie", "junction_session="+e.admin); w.Code != http.StatusUnauthorized {
			t.Fatalf("an API token in the cookie authenticated REST: %d %s", w.Code, w.Body)
		}

		before := time.Now()
		c := e.login(e.admin)
		if c.Value == e.admin || strings.Contains(c.Value, "jct_") || len(c.Value) != 43 {
			t.Fatalf("the cookie must hold a random 32-byte session id, not the token: %q", c.Value)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
			t.Fatalf("cookie attributes: %+v", c)
		}
		if c.MaxAge != 90*60 {
			t.Fatalf("cookie MaxAge %d, want the session TTL", c.MaxAge)
		}
		// Stored: the SHA-256 of the id, the user and an expiry; never the id.
		var rows []struct {
			IDSHA256  string    `bun:"id_sha256"`
			UserID    string    `bun:"user_id"`
			ExpiresAt time.Time `bun:"expires_at"`
		}
		if err := e.st.DB().NewRaw("SELECT id_sha256, user_id, expires_at FROM sessions").Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].IDSHA256 != store.HashToken(c.Value) {
			t.Fatalf("sessions table: %+v", rows)
		}
		if exp := rows[0].ExpiresAt; exp.Before(before.Add(89*time.Minute)) || exp.After(time.Now().Add(91*time.Minute)) {
			t.Fatalf("expires_at %v, want about now + 90m", exp)
		}

		// The session authenticates both surfaces, in one statement.
		var stmts atomic.Int64
		e.st.DB().AddQueryHook(countHook{func(q string) {
			if strings.Contains(q, "sessions") {
				stmts.Add(1)
			}
		}})
		w := e.do("POST", "/graphql", "", me, cookieHdr(c)...)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"alice"`) {
			t.Fatalf("session on GraphQL: %d %s", w.Code, w.Body)
		}
		if n := stmts.Load(); n != 1 {
			t.Fatalf("a session request ran %d statements on sessions, want 1", n)
		}
		if w := e.do("GET", "/api/v1/me", "", nil, cookieHdr(c)...); w.Code != http.StatusOK {
			t.Fatalf("session on REST: %d %s", w.Code, w.Body)
		}

		// Logout ends the session server-side: a kept copy of the cookie fails.
		w = e.do("POST", "/logout", "", nil, cookieHdr(c)...)
		if cs := w.Result().Cookies(); w.Code != http.StatusNoContent || len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Value != "" {
			t.Fatalf("logout: %d %+v", w.Code, cs)
		}
		if w := e.do("POST", "/graphql", "", me, cookieHdr(c)...); w.Code != http.StatusUnauthorized {
			t.Fatalf("the cookie still authenticates after logout: %d %s", w.Code, w.Body)
		}

		// Revoking the token that started a session ends the session.
		tok := e.token("acme", "bob", "member")
		c2 := e.login(tok)
		if w := e.do("GET", "/api/v1/me", "", nil, cookieHdr(c2)...); w.Code != http.StatusOK {
			t.Fatalf("second session: %d", w.Code)
		}
		if ok, err := e.st.RevokeToken(ctx, tok); err != nil || !ok {
			t.Fatalf("revoke: %v %v", ok, err)
		}
		if w := e.do("GET", "/api/v1/me", "", nil, cookieHdr(c2)...); w.Code != http.StatusUnauthorized {
			t.Fatalf("a session outlived its revoked token: %d", w.Code)
		}

		// An expired session does not authenticate.
		c3 := e.login(e.admin)
		if _, err := e.st.DB().NewRaw("UPDATE sessions SET expires_at = ? WHERE id_sha256 = ?",
			time.Now().Add(-time.Second).UTC(), store.HashToken(c3.Value)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if w := e.do("GET", "/api/v1/me", "", nil, cookieHdr(c3)...); w.Code != http.StatusUnauthorized {
			t.Fatalf("an expired session authenticated: %d", w.Code)
		}
		// A bad token starts nothing.
		if w := e.do("POST", "/login", "", map[string]any{"token": "jct_wrong"}); w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
			t.Fatalf("login with a bad token: %d %+v", w.Code, w.Result().Cookies())
		}
	})
}

// item 7: the cookie is Secure when configured, over TLS, or behind a
// trusted proxy that says https.
func TestSessionCookieSecure(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for _, tc := range []struct {
			name        string
			set, trust  bool
			tls         bool
			proto, want string
		}{
			{"plain", false, false, false, "", "insecure"},
			{"setting", true, false, false, "", "secure"},
			{"tls", false, false, true, "", "secure"},
			{"trusted proxy", false, true, false, "https", "secure"},
			{"untrusted proxy", false, false, false, "https", "insecure"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, db, func(c *Config) { c.CookieSecure, c.TrustProxy = tc.set, tc.trust })
				req := httptest.NewRequest("POST", "/login", strings.NewReader(`{"token":"`+e.admin+`"}`))
				req.Header.Set("Content-Type", "application/json")
				if tc.proto != "" {
					req.Header.Set("X-Forwarded-Proto", tc.proto)
				}
				if tc.tls {
					req.TLS = &tls.ConnectionState{}
				}
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, req)
				cs := w.Result().Cookies()
				if len(cs) != 1 || cs[0].Secure != (tc.want == "secure") {
					t.Fatalf("%d %+v, want %s", w.Code, cs, tc.want)
				}
			})
		}
	})
}

func TestSessionSettings(t *testing.T) {
	env := map[string]string{"JUNCTION_SESSION_TTL": "30m", "JUNCTION_TRUST_PROXY": "true", "JUNCTION_METRICS_TOKEN": "m"}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil || c.SessionTTL != 30*time.Minute || !c.TrustProxy || c.MetricsToken != "m" {
		t.Fatalf("%+v %v", c, err)
	}
	if c, _ := loadConfig(func(string) string { return "" }); c.SessionTTL != 12*time.Hour || c.TrustProxy {
		t.Fatalf("defaults: %v %v", c.SessionTTL, c.TrustProxy)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"JUNCTION_SESSION_TTL": "forever"}[k] }); err == nil {
		t.Fatal("a bad JUNCTION_SESSION_TTL was accepted")
	}
}

type countHook struct{ f func(query string) }

func (h countHook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context { return ctx }
func (h countHook) AfterQuery(ctx context.Context, e *bun.QueryEvent)                  { h.f(e.Query) }

// item 6: cookie-authenticated unsafe requests from another site are
// refused; every REST body must be JSON; bearer requests are unaffected.
func TestCSRF(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.login(e.admin)
		id := e.create(e.admin, pgInput("target", nil)).ID
		evil := []string{"Origin", "http://evil.example"}
		crossSite := []string{"Sec-Fetch-Site", "cross-site"}
		body := map[string]any{"name": "x", "provider": "http_api", "config": map[string]any{"base_url": "http://127.0.0.1:1"}}
		for _, tc := range []struct{ method, path string }{
			{"POST", "/api/v1/connections"},
			{"PATCH", "/api/v1/connections/" + id},
			{"POST", "/api/v1/connections/" + id + "/disable"},
			{"POST", "/api/v1/connections/" + id + "/reactivate"},
			{"DELETE", "/api/v1/connections/" + id},
			{"POST", "/graphql"},
			{"POST", "/logout"},
		} {
			for _, site := range [][]string{evil, crossSite, {"Origin", "null"}} {
				var b any
				if tc.method == "POST" || tc.method == "PATCH" {
					b = body
				}
				if tc.path == "/graphql" {
					b = map[string]any{"query": `mutation($id: ID!) { disableConnection(id: $id) { id } }`, "variables": map[string]any{"id": id}}
				}
				w := e.do(tc.method, tc.path, "", b, append(cookieHdr(c), site...)...)
				if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), `"code":"csrf"`) {
					t.Fatalf("%s %s with the cookie and %v: %d %s", tc.method, tc.path, site, w.Code, w.Body)
				}
			}
		}
		if got := e.get(e.admin, id); got.Status != "needs_verification" {
			t.Fatalf("a refused request changed the connection: %+v", got)
		}
		// The same requests from the server's own origin pass...
		own := []string{"Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"}
		if w := e.do("POST", "/api/v1/connections/"+id+"/disable", "", nil, append(cookieHdr(c), own...)...); w.Code != http.StatusOK {
			t.Fatalf("same-origin cookie request: %d %s", w.Code, w.Body)
		}
		// ...safe ones pass from anywhere, and bearer requests are not affected.
		if w := e.do("GET", "/api/v1/connections/"+id, "", nil, append(cookieHdr(c), evil...)...); w.Code != http.StatusOK {
			t.Fatalf("cross-site GET with the cookie: %d", w.Code)
		}
		if w := e.do("POST", "/api/v1/connections/"+id+"/reactivate", e.admin, nil, evil...); w.Code != http.StatusOK {
			t.Fatalf("bearer request with a foreign Origin: %d %s", w.Code, w.Body)
		}

		// Bodies must be JSON: text/plain, forms and multipart are 415, with
		// the cookie or a bearer token.
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			for _, auth := range [][]string{{"Authorization", "Bearer " + e.admin}, cookieHdr(c)} {
				for _, tc := range []struct{ method, path string }{
					{"POST", "/api/v1/connections"}, {"PATCH", "/api/v1/connections/" + id},
					{"POST", "/api/v1/connections/" + id + "/disable"},
				} {
					req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"name":"plain","provider":"http_api","config":{"base_url":"http://127.0.0.1:1"}}`))
					req.Header.Set("Content-Type", ct)
					req.Header.Set(auth[0], auth[1])
					w := httptest.NewRecorder()
					e.h.ServeHTTP(w, req)
					if w.Code != http.StatusUnsupportedMediaType || !strings.Contains(w.Body.String(), `"code":"unsupported_media_type"`) {
						t.Fatalf("%s %s as %s: %d %s", tc.method, tc.path, ct, w.Code, w.Body)
					}
				}
			}
		}
		// A bodiless POST without Content-Type (curl -X POST) still works.
		if w := e.do("POST", "/api/v1/connections/"+id+"/disable", e.admin, nil); w.Code != http.StatusOK {
			t.Fatalf("bodiless POST: %d %s", w.Code, w.Body)
		}

		// /login refuses a cross-site or non-JSON POST and sets no cookie.
		for _, tc := range []struct {
			ct   string
			hdr  []string
			want int
		}{
			{"text/plain", evil, http.StatusUnsupportedMediaType},
			{"text/plain", nil, http.StatusUnsupportedMediaType},
			{"application/x-www-form-urlencoded", nil, http.StatusUnsupportedMediaType},
			{"application/json", evil, http.StatusForbidden},
			{"application/json", crossSite, http.StatusForbidden},
		} {
			req := httptest.NewRequest("POST", "/login", strings.NewReader(`{"token":"`+e.admin+`"}`))
			req.Header.Set("Content-Type", tc.ct)
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, req)
			if w.Code != tc.want || len(w.Result().Cookies()) != 0 {
				t.Fatalf("login as %s %v: %d %s %+v", tc.ct, tc.hdr, w.Code, w.Body, w.Result().Cookies())
			}
		}
	})
}

func (e *env) get(token, id string) conn {
	e.t.Helper()
	var c conn
	e.must(token, getQ, map[string]any{"id": id}, "connection", &c)
	return c
}

// panicHook panics inside a store call (so inside the REST handler or the
// GraphQL resolver that made it) while armed.
type panicHook struct{ armed *atomic.Bool }

func (h panicHook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if h.armed.Load() && strings.Contains(e.Query, `"connections"`) {
		panic("boom: password=" + canary)
	}
	return ctx
}
func (h panicHook) AfterQuery(ctx context.Context, e *bun.QueryEvent) {}

// item 3: a panic anywhere answers 500 {"detail", "code": "internal",
// "requestId"} and is logged through slog with the request id and a stack,
// never with the panic value.
func TestPanicsAnsweredAndLogged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db, func(c *Config) { c.LogLevel = -8 })
		armed := &atomic.Bool{}
		e.st.DB().AddQueryHook(panicHook{armed})
		e.st.ObserveReads(func(query string, _ []any) {
			if armed.Load() && strings.Contains(query, "connections") {
				panic("boom: password=" + canary)
			}
		})
		e.h.(*chi.Mux).Get("/test-panic", func(w http.ResponseWriter, r *http.Request) {
			panic(errors.New("token " + canary))
		})
		armed.Store(true)
		for path, rid := range map[string]string{"/api/v1/connections": "req-rest", "/test-panic": "req-other"} {
			w := e.do("GET", path, e.admin, nil, "X-Request-Id", rid)
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 500 {
				t.Fatalf("%s: %d %q", path, w.Code, w.Body)
			}
			want := map[string]string{"detail": "Internal server error", "code": "internal", "requestId": rid}
			if fmt.Sprint(body) != fmt.Sprint(want) {
				t.Fatalf("%s: body %v, want %v", path, body, want)
			}
		}
		w := e.do("POST", "/graphql", e.admin, map[string]any{"query": "{ connections { total } }"})
		var r gqlResp
		json.Unmarshal(w.Body.Bytes(), &r)
		if w.Code != 200 || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "internal" {
			t.Fatalf("graphql panic: %d %s", w.Code, w.Body)
		}
		armed.Store(false)

		logs := e.log.String()
		if strings.Contains(logs, canary) || strings.Contains(w.Body.String(), canary) || strings.Contains(e.bodies.String(), canary) {
			t.Fatal("the panic value (a secret) reached a log line or a response")
		}
		var handlerPanics, resolverPanics int
		for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil {
				t.Fatalf("a log line outside slog: %q", line)
			}
			switch rec["msg"] {
			case "panic in handler":
				handlerPanics++
				if rid, _ := rec["request_id"].(string); !strings.HasPrefix(rid, "req-") || rec["level"] != "ERROR" ||
					!strings.Contains(fmt.Sprint(rec["stack"]), "goroutine") || !strings.Contains(fmt.Sprint(rec["panic"]), "withheld") {
					t.Fatalf("panic log line: %v", rec)
				}
			case "panic in resolver":
				resolverPanics++
				if rec["request_id"] == nil || !strings.Contains(fmt.Sprint(rec["stack"]), "goroutine") {
					t.Fatalf("resolver panic log line: %v", rec)
				}
			}
		}
		if handlerPanics != 2 || resolverPanics != 1 {
			t.Fatalf("logged %d handler and %d resolver panics, want 2 and 1:\n%s", handlerPanics, resolverPanics, logs)
		}
		// The server keeps serving.
		if w := e.do("GET", "/api/v1/connections", e.admin, nil); w.Code != 200 {
			t.Fatalf("after the panics: %d", w.Code)
		}
	})
}

// item 9: a chunked (undeclared length) GraphQL body over the cap is 413
// request_too_large, like REST, not 200 "could not read request body".
func TestGraphQLChunkedBodyOverCap(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db, func(c *Config) { c.MaxBodyBytes = 64 << 10 })
		srv := httptest.NewServer(e.h)
		defer srv.Close()
		for _, path := range []string{"/graphql", "/api/v1/connections"} {
			pr, pw := io.Pipe()
			go func() {
				pw.Write([]byte(`{"query": "{ me { id } }", "name": "`))
				chunk := []byte(strings.Repeat("x", 8<<10))
				for i := 0; i < 16; i++ { // 128 KiB, twice the cap
					if _, err := pw.Write(chunk); err != nil {
						return
					}
				}
				pw.Write([]byte(`"}`))
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", srv.URL+path, pr)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.admin)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			pr.CloseWithError(errors.New("done"))
			var body map[string]any
			json.Unmarshal(b, &body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || body["code"] != "request_too_large" || body["detail"] == nil {
				t.Fatalf("%s: chunked body over the cap: %d %s", path, resp.StatusCode, b)
			}
		}
	})
}

// item 11: metric labels are bounded: 1,000 requests with random methods
// and paths add no series; /metrics can require a token.
func TestMetricsBounded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		rng := rand.New(rand.NewPCG(1, 2))
		word := func(alphabet string, n int) string {
			b := make([]byte, 1+rng.IntN(n))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			return string(b)
		}
		known := []string{"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"}
		prefixes := []string{"/", "/api/v1/", "/api/v1/connections/", "/graphql/", "/metrics/", "/login/"}
		send := func(n int) {
			for range n {
				method := known[rng.IntN(len(known))]
				if rng.IntN(2) == 0 {
					method = word("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 12)
				}
				path := prefixes[rng.IntN(len(prefixes))] + word("abcdefghijklmnopqrstuvwxyz0123456789-", 20)
				tok := ""
				if rng.IntN(2) == 0 {
					tok = e.admin
				}
				req := httptest.NewRequest("GET", path, nil)
				req.Method = method
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				e.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		}
		series := func() (int, int) {
			w := e.do("GET", "/metrics", "", nil)
			if w.Code != 200 {
				t.Fatalf("metrics: %d", w.Code)
			}
			n := 0
			for _, line := range strings.Split(w.Body.String(), "\n") {
				if strings.HasPrefix(line, "junction_http_") {
					n++
				}
			}
			return n, w.Body.Len()
		}
		// Every (route, method, status) a random request can reach.
		for _, prefix := range prefixes {
			for _, m := range append(known, "BREW") {
				for _, tok := range []string{"", e.admin} {
					req := httptest.NewRequest(m, prefix+"x-warm-up", nil)
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					e.h.ServeHTTP(httptest.NewRecorder(), req)
				}
			}
		}
		series() // so the scrape's own series exist
		n1, size1 := series()
		before := e.do("GET", "/metrics", "", nil).Body.String()
		send(1000)
		n2, size2 := series()
		if n2 != n1 || size2 > size1+size1/20 {
			after, shown := e.do("GET", "/metrics", "", nil).Body.String(), 0
			for _, line := range strings.Split(after, "\n") {
				name, _, _ := strings.Cut(line, " ")
				if strings.HasPrefix(line, "junction_http_requests_total") && !strings.Contains(before, name+" ") && shown < 5 {
					t.Log("new series:", name)
					shown++
				}
			}
			t.Fatalf("1,000 random requests grew /metrics from %d series (%d bytes) to %d (%d bytes)", n1, size1, n2, size2)
		}
		if body := e.do("GET", "/metrics", "", nil).Body.String(); !strings.Contains(body, `method="other"`) || !strings.Contains(body, `route="unmatched"`) {
			t.Fatalf("unknown methods and unmatched routes are not labelled other and unmatched")
		}
		t.Logf("/metrics after 1,000 random requests: %d junction_http series, %d bytes", n2, size2)

		// A token protects /metrics when set.
		p := newEnv(t, db, func(c *Config) { c.MetricsToken = "metrics-secret" })
		for _, tc := range []struct {
			auth string
			want int
		}{{"", 401}, {"Bearer wrong", 401}, {"Bearer " + p.admin, 401}, {"Bearer metrics-secret", 200}} {
			req := httptest.NewRequest("GET", "/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			p.h.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("/metrics with %q: %d, want %d", tc.auth, w.Code, tc.want)
			}
		}
		off := newEnv(t, db, func(c *Config) { c.Metrics = false })
		if w := off.do("GET", "/metrics", "", nil); w.Code != http.StatusNotFound {
			t.Fatalf("JUNCTION_METRICS=false still serves /metrics: %d", w.Code)
		}
	})
}

// tcpProxy forwards loopback connections to a database: a database outage
// as the server sees it. Cut breaks every open connection and drops new
// ones until Restore (a server restarting); Close stops listening, so
// connects are refused (a server that is down).
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	t.Cleanup(p.Close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			cut := p.cut
			p.mu.Unlock()
			if cut {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

func (p *tcpProxy) Close() {
	p.Cut()
	p.ln.Close()
}

// item 23: during a database outage requests answer 503 unavailable with
// Retry-After on both surfaces, from the auth lookup and from a resolver.
func TestDatabaseOutageIs503(t *testing.T) {
	restUnavailable := func(t *testing.T, e *env, when string) {
		t.Helper()
		w := e.do("GET", "/api/v1/connections", e.admin, nil)
		var rest map[string]string
		json.Unmarshal(w.Body.Bytes(), &rest)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" || rest["code"] != "unavailable" ||
			!strings.Contains(strings.ToLower(rest["detail"]), "database unavailable") {
			t.Fatalf("%s: REST: %d %v %s", when, w.Code, w.Header(), w.Body)
		}
	}
	// status is 503 when the auth lookup failed (nothing ran), 200 when a
	// resolver did (the error is on its field, as GraphQL over HTTP wants).
	graphqlUnavailable := func(t *testing.T, e *env, when string, status int) {
		t.Helper()
		w := e.do("POST", "/graphql", e.admin, map[string]any{"query": "{ connections { total } }"})
		var r gqlResp
		json.Unmarshal(w.Body.Bytes(), &r)
		if w.Code != status || w.Header().Get("Retry-After") != "5" || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "unavailable" ||
			!strings.Contains(strings.ToLower(r.Errors[0].Message), "database unavailable") {
			t.Fatalf("%s: GraphQL: %d %v %s", when, w.Code, w.Header(), w.Body)
		}
	}
	loginUnavailable := func(t *testing.T, e *env) {
		t.Helper()
		if w := e.do("POST", "/login", "", map[string]any{"token": e.admin}); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" {
			t.Fatalf("login during the outage: %d %s", w.Code, w.Body)
		}
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		if db.Name == "sqlite" {
			// SQLite has no server to lose; a closed pool is the nearest.
			e := newEnv(t, db)
			e.st.Close()
			restUnavailable(t, e, "closed pool")
			graphqlUnavailable(t, e, "closed pool", http.StatusServiceUnavailable)
			loginUnavailable(t, e)
			return
		}
		u, err := url.Parse(db.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := newTCPProxy(t, u.Host)
		u.Host = proxy.ln.Addr().String()
		proxied := db
		proxied.URL = u.String()
		e := newEnv(t, proxied)
		// The lookup succeeds, then the database goes away before the
		// resolver's query.
		var cutNext atomic.Bool
		e.st.DB().AddQueryHook(countHook{func(q string) {
			if strings.Contains(q, "api_tokens") && cutNext.CompareAndSwap(true, false) {
				proxy.Cut()
			}
		}})
		cutNext.Store(true)
		restUnavailable(t, e, "outage during a REST request")
		proxy.Restore()
		cutNext.Store(true)
		graphqlUnavailable(t, e, "outage during a GraphQL request", http.StatusOK)
		proxy.Restore()
		if w := e.do("GET", "/api/v1/connections", e.admin, nil); w.Code != http.StatusOK {
			t.Fatalf("after the database came back: %d %s", w.Code, w.Body)
		}
		// Down: the auth lookup itself fails (connection refused).
		proxy.Close()
		restUnavailable(t, e, "database down")
		graphqlUnavailable(t, e, "database down", http.StatusServiceUnavailable)
		loginUnavailable(t, e)
		if strings.Contains(e.log.String(), `"msg":"internal error"`) {
			t.Fatalf("an outage was logged as an internal error:\n%s", e.log)
		}
	})
}

// Standards: GraphQL over HTTP status codes and media types (graphql-http's
// audit checks the same in CI against a started server).
func TestGraphQLOverHTTP(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		post := func(accept, ct, body string) (*httptest.ResponseRecorder, map[string]json.RawMessage) {
			req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.admin)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, req)
			var out map[string]json.RawMessage
			json.Unmarshal(w.Body.Bytes(), &out)
			return w, out
		}
		const gqlResp, jsonResp = "application/graphql-response+json", "application/json"
		for _, tc := range []struct {
			name, accept, body string
			status             int
			media              string
			data               bool
		}{
			{"ok, json", jsonResp, `{"query":"{ __typename }"}`, 200, jsonResp, true},
			{"ok, no accept", "", `{"query":"{ __typename }"}`, 200, jsonResp, true},
			{"ok, any", "*/*", `{"query":"{ __typename }"}`, 200, jsonResp, true},
			{"ok, graphql-response", gqlResp, `{"query":"{ __typename }"}`, 200, gqlResp, true},
			{"preference by q", "application/json;q=0.5, " + gqlResp, `{"query":"{ __typename }"}`, 200, gqlResp, true},
			{"parse failure, json", jsonResp, `{"query":"{"}`, 200, jsonResp, false},
			{"parse failure, graphql-response", gqlResp, `{"query":"{"}`, 400, gqlResp, false},
			{"validation failure, json", jsonResp, `{"query":"{ nope }"}`, 200, jsonResp, false},
			{"validation failure, graphql-response", gqlResp, `{"query":"{ nope }"}`, 400, gqlResp, false},
			{"coercion failure, json", jsonResp, `{"query":"query($id: ID!) { connection(id: $id) { id } }","variables":{"id":{"a":1}}}`, 200, jsonResp, false},
			{"coercion failure, graphql-response", gqlResp, `{"query":"query($id: ID!) { connection(id: $id) { id } }","variables":{"id":{"a":1}}}`, 400, gqlResp, false},
			{"not JSON", jsonResp, `{"query": "{ __typename }`, 400, jsonResp, false},
			{"empty body", gqlResp, ``, 400, gqlResp, false},
			{"no query", jsonResp, `{"qeury":"{ __typename }"}`, 400, jsonResp, false},
			{"query not a string", jsonResp, `{"query":1}`, 400, jsonResp, false},
			{"variables not a map", jsonResp, `{"query":"{ __typename }","variables":"x"}`, 400, jsonResp, false},
		} {
			w, out := post(tc.accept, "application/json", tc.body)
			if w.Code != tc.status || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.media) {
				t.Fatalf("%s: %d %s %s, want %d %s", tc.name, w.Code, w.Header().Get("Content-Type"), w.Body, tc.status, tc.media)
			}
			if _, has := out["data"]; has != tc.data {
				t.Fatalf("%s: data entry present=%v, want %v: %s", tc.name, has, tc.data, w.Body)
			}
		}
		if w, _ := post("", "text/plain", `{"query":"{ __typename }"}`); w.Code != http.StatusUnsupportedMediaType {
			t.Fatalf("text/plain POST: %d %s", w.Code, w.Body)
		}
		if w, _ := post("", "", `{"query":"{ __typename }"}`); w.Code != http.StatusUnsupportedMediaType {
			t.Fatalf("POST without a content type: %d %s", w.Code, w.Body)
		}
		if w := e.do("GET", "/graphql?query="+urlEscape("mutation { deleteConnection(id: \"x\") }"), e.admin, nil); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
			t.Fatalf("GET mutation: %d %s", w.Code, w.Body)
		}
		if w := e.do("GET", "/graphql?query="+urlEscape("{ me { name } }")+"&variables="+urlEscape(`{}`), e.admin, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "alice") {
			t.Fatalf("GET query: %d %s", w.Code, w.Body)
		}
		// A JSON error never echoes the body (it may carry credentials).
		w, _ := post(jsonResp, "application/json", `{"query":"mutation { x }", "variables": {"password": "`+canary+`"`)
		if w.Code != 400 || strings.Contains(w.Body.String(), canary) {
			t.Fatalf("malformed body echoed: %d %s", w.Code, w.Body)
		}
	})
}
