package auth

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCredentialsFrom(t *testing.T) {
	for _, tc := range []struct {
		name, header, cookie, bearer, session string
	}{
		{"bearer", "Bearer jct_abc", "", "jct_abc", ""},
		{"bearer any case", "bearer  jct_abc ", "", "jct_abc", ""},
		{"cookie", "", "sid", "", "sid"},
		{"header wins over cookie", "Bearer jct_h", "sid", "jct_h", ""},
		{"basic is not a token, and hides the cookie", "Basic dXNlcjpwYXNz", "sid", "", ""},
		{"nothing", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.cookie != "" {
				r.Header.Set("Cookie", CookieName+"="+tc.cookie)
			}
			if got := BearerToken(r); got != tc.bearer {
				t.Fatalf("BearerToken = %q, want %q", got, tc.bearer)
			}
			if got := SessionID(r); got != tc.session {
				t.Fatalf("SessionID = %q, want %q", got, tc.session)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || !strings.HasPrefix(a, TokenPrefix) || len(a) != len(TokenPrefix)+43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if s := NewSessionID(); len(s) != 43 || strings.HasPrefix(s, TokenPrefix) || strings.ContainsAny(s, "+/=") {
		t.Fatalf("session id %q: want 32 bytes base64url", s)
	}
}

// TestBearerMiddlewareIgnoresCookie: the bearer-only Middleware (kept for
// callers that accept no browser sessions) never reads the cookie: an API
// token there used to authenticate.
func TestBearerMiddlewareIgnoresCookie(t *testing.T) {
	lookup := func(ctx context.Context, tok string) (Identity, error) {
		if tok == "jct_good" {
			return Identity{UserID: "u"}, nil
		}
		return Identity{}, ErrUnknownToken
	}
	h := Middleware(lookup, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, nil)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	for _, tc := range []struct {
		hdr, val string
		want     int
	}{{"Authorization", "Bearer jct_good", 200}, {"Cookie", CookieName + "=jct_good", 401}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(tc.hdr, tc.val)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Fatalf("%s: %d, want %d", tc.val, w.Code, tc.want)
		}
	}
}

func TestCrossSite(t *testing.T) {
	for _, tc := range []struct {
		name       string
		host       string
		hdr        []string
		tls, trust bool
		refused    bool
	}{
		{"no browser headers (curl)", "junction.example", nil, false, false, false},
		{"same origin", "junction.example", []string{"Origin", "http://junction.example"}, false, false, false},
		{"same origin with port", "localhost:8080", []string{"Origin", "http://localhost:8080"}, false, false, false},
		{"same origin, default port spelled", "junction.example:80", []string{"Origin", "http://junction.example"}, false, false, false},
		{"same origin, case", "Junction.Example", []string{"Origin", "http://junction.example"}, false, false, false},
		{"https origin behind an untrusted TLS proxy", "junction.example", []string{"Origin", "https://junction.example"}, false, false, false},
		{"fetch metadata same-origin", "junction.example", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://junction.example"}, false, false, false},
		{"typed in", "junction.example", []string{"Sec-Fetch-Site", "none"}, false, false, false},
		{"evil origin", "junction.example", []string{"Origin", "http://evil.example"}, false, false, true},
		{"sibling host", "junction.example", []string{"Origin", "http://evil.junction.example"}, false, false, true},
		{"other port", "localhost:8080", []string{"Origin", "http://localhost:8081"}, false, false, true},
		{"suffix trick", "junction.example", []string{"Origin", "http://junction.example.evil.example"}, false, false, true},
		{"null origin", "junction.example", []string{"Origin", "null"}, false, false, true},
		{"not http", "junction.example", []string{"Origin", "ftp://junction.example"}, false, false, true},
		{"malformed", "junction.example", []string{"Origin", "http://junction.example/path?x"}, false, false, true},
		{"userinfo", "junction.example", []string{"Origin", "http://evil@junction.example"}, false, false, true},
		{"cross-site fetch metadata alone", "junction.example", []string{"Sec-Fetch-Site", "cross-site"}, false, false, true},
		{"cross-site fetch metadata wins over a forged-looking Origin", "junction.example", []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://junction.example"}, false, false, true},
		{"same-site", "junction.example", []string{"Sec-Fetch-Site", "same-site"}, false, false, true},
		{"unknown fetch metadata", "junction.example", []string{"Sec-Fetch-Site", "whatever"}, false, false, true},
		{"http origin on a TLS server", "junction.example", []string{"Origin", "http://junction.example"}, true, false, true},
		{"https origin on a TLS server", "junction.example", []string{"Origin", "https://junction.example"}, true, false, false},
		{"trusted proxy says https, http origin", "junction.example", []string{"X-Forwarded-Proto", "https", "Origin", "http://junction.example"}, false, true, true},
		{"trusted proxy host", "10.0.0.5:8080", []string{"X-Forwarded-Host", "junction.example", "Origin", "https://junction.example"}, false, true, false},
		{"untrusted proxy host is ignored", "10.0.0.5:8080", []string{"X-Forwarded-Host", "junction.example", "Origin", "https://junction.example"}, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.Host = tc.host
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				r.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			reason := CrossSite(r, tc.trust)
			if (reason != "") != tc.refused {
				t.Fatalf("CrossSite = %q, want refused=%v", reason, tc.refused)
			}
		})
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Add("Origin", "http://example.com")
	r.Header.Add("Origin", "http://evil.example")
	if CrossSite(r, false) == "" {
		t.Fatal("two Origin headers must be refused")
	}
}

// FuzzCrossSite: whatever the headers, the check never panics, refuses every
// cross-site or same-site Sec-Fetch-Site, and passes an Origin only when its
// host is the request's host; the server's own origin always passes.
func FuzzCrossSite(f *testing.F) {
	for _, s := range [][3]string{
		{"junction.example", "http://junction.example", ""},
		{"localhost:8080", "http://localhost:8080", "same-origin"},
		{"junction.example", "http://evil.example", ""},
		{"junction.example", "null", "cross-site"},
		{"[::1]:8080", "http://[::1]:8080", "none"},
		{"junction.example", "http://junction.example:80", ""},
		{"Junction.example", "HTTPS://JUNCTION.EXAMPLE:443", ""},
		{"junction.example", "http://junction.example@evil.example", ""},
		{"junction.example", "http://junction.example%2f.evil.example", ""},
	} {
		f.Add(s[0], s[1], s[2], false)
	}
	f.Fuzz(func(t *testing.T, host, origin, site string, trust bool) {
		r := httptest.NewRequest("POST", "/", nil)
		r.Host = host
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		reason := CrossSite(r, trust)
		if (site == "cross-site" || site == "same-site") && reason == "" {
			t.Fatalf("Sec-Fetch-Site %q passed", site)
		}
		if reason == "" && origin != "" {
			if host == "" {
				t.Fatalf("Origin %q passed a request without a Host", origin)
			}
			scheme, authority, ok := strings.Cut(origin, "://")
			scheme = strings.ToLower(scheme)
			if !ok || scheme != "http" && scheme != "https" {
				t.Fatalf("Origin %q passed without an http(s) scheme", origin)
			}
			if canonicalHost(scheme, strings.TrimSuffix(authority, "/")) != canonicalHost(scheme, host) {
				t.Fatalf("Origin %q passed for Host %q", origin, host)
			}
		}
		if site == "" || site == "same-origin" || site == "none" {
			own := httptest.NewRequest("POST", "/", nil)
			own.Host = "junction.example:8080"
			own.Header.Set("Origin", "http://junction.example:8080")
			if site != "" {
				own.Header.Set("Sec-Fetch-Site", site)
			}
			if reason := CrossSite(own, trust); reason != "" {
				t.Fatalf("the server's own origin was refused: %s", reason)
			}
		}
	})
}

func TestRequireJSON(t *testing.T) {
	h := RequireJSON(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	for _, tc := range []struct {
		method, ct, body string
		want             int
	}{
		{"POST", "application/json", `{}`, 200},
		{"POST", "application/json; charset=utf-8", `{}`, 200},
		{"PATCH", "Application/JSON", `{}`, 200},
		{"POST", "", "", 200}, // curl -X POST .../disable
		{"GET", "text/plain", "", 200},
		{"DELETE", "", "", 200},
		{"POST", "text/plain", `{"name":"x"}`, 415},
		{"POST", "application/x-www-form-urlencoded", `name=x`, 415},
		{"POST", "multipart/form-data; boundary=x", "--x--", 415},
		{"PUT", "text/plain", "", 415},
		{"PATCH", "", `{"name":"x"}`, 415},
		{"POST", "application/json-seq", `{}`, 415},
		{"POST", "not a media type", `{}`, 415},
	} {
		var body *strings.Reader
		r := httptest.NewRequest(tc.method, "/", nil)
		if tc.body != "" {
			body = strings.NewReader(tc.body)
			r = httptest.NewRequest(tc.method, "/", body)
		}
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Fatalf("%s %q %q: %d, want %d", tc.method, tc.ct, tc.body, w.Code, tc.want)
		}
		if w.Code == 415 && !strings.Contains(w.Body.String(), `"code":"unsupported_media_type"`) {
			t.Fatalf("415 body: %s", w.Body)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	a := &Authenticator{TTL: time.Hour}
	for _, tc := range []struct {
		name          string
		secureSetting bool
		tls           bool
		trust         bool
		proto         string
		want          bool
	}{
		{"plain http", false, false, false, "", false},
		{"setting", true, false, false, "", true},
		{"served over TLS", false, true, false, "", true},
		{"trusted proxy says https", false, false, true, "https", true},
		{"trusted proxy says http", false, false, true, "http", false},
		{"untrusted proxy header", false, false, false, "https", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.CookieSecure, a.TrustProxy = tc.secureSetting, tc.trust
			r := httptest.NewRequest("POST", "/login", nil)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			c := a.cookie(r, "sid", 3600, time.Now().Add(time.Hour))
			if c.Secure != tc.want || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Name != CookieName {
				t.Fatalf("cookie %+v, want Secure=%v", c, tc.want)
			}
		})
	}
}
