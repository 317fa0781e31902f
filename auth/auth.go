// Package auth answers who is asking: a bearer API token or a browser
// session (the junction_session cookie set by POST /login) becomes an
// Identity (tenant, user, role) carried in the context.
//
// A session cookie holds only a random session id; the server stores its
// SHA-256 with an expiry and forgets it at logout. Requests authenticated by
// the cookie are also checked against cross-site request forgery (see
// csrf.go); bearer requests are not, a browser never adds that header on
// its own.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CookieName is the session cookie set by POST /login.
const CookieName = "junction_session"

// TokenPrefix starts every API token, so leaked tokens are easy to scan for.
const TokenPrefix = "jct_"

// DefaultSessionTTL is how long a browser session lasts when not configured.
const DefaultSessionTTL = 12 * time.Hour

// Identity is the authenticated caller.
type Identity struct {
	TenantID   string
	TenantName string
	UserID     string
	UserName   string
	Email      string
	Role       string // "admin" or "member"
}

// Admin reports whether the caller administers its tenant.
func (i Identity) Admin() bool { return i.Role == "admin" }

// ErrUnknownToken is returned by a Lookup for a token or session it does
// not know (or that expired or was revoked).
var ErrUnknownToken = errors.New("unknown token")

// Lookup resolves a token (or a session id) to an identity, or returns
// ErrUnknownToken.
type Lookup func(ctx context.Context, token string) (Identity, error)

type ctxKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller, if authenticated.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// NewToken returns a new random API token.
func NewToken() string {
	return TokenPrefix + randomID()
}

// NewSessionID returns a new random session id: 32 bytes, base64url.
func NewSessionID() string { return randomID() }

func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// BearerToken returns the bearer token of r, or "".
func BearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

// SessionID returns the session id in r's cookie, or "". It is used only
// when r carries no Authorization header.
func SessionID(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		return ""
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

// Middleware authenticates every request it wraps by its bearer token only.
// A request without a known token gets unauthenticated(w, r); the lookup's
// other errors get failed(w, r, err). Servers that also accept browser
// sessions use Authenticator.Middleware.
func Middleware(lookup Lookup, unauthenticated func(http.ResponseWriter, *http.Request), failed func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	a := &Authenticator{Token: lookup, Unauthenticated: unauthenticated, Failed: failed}
	return a.Middleware
}

// Authenticator accepts bearer API tokens and browser sessions, and serves
// POST /login and POST /logout.
type Authenticator struct {
	// Token resolves a bearer API token.
	Token Lookup
	// Session resolves a session id; nil accepts no cookie.
	Session Lookup
	// StartSession stores a new session for the holder of token, or
	// returns ErrUnknownToken.
	StartSession func(ctx context.Context, token, sessionID string, expires time.Time) error
	// EndSession forgets a session (unknown ids are not an error).
	EndSession func(ctx context.Context, sessionID string) error
	// TTL is how long a session lasts (DefaultSessionTTL when 0).
	TTL time.Duration
	// CookieSecure always marks the cookie Secure; without it the cookie is
	// Secure when the request came over TLS (see Origin.TLS).
	CookieSecure bool
	// TrustProxy believes X-Forwarded-Proto and X-Forwarded-Host.
	TrustProxy bool
	// Unauthenticated answers a request without known credentials (401).
	Unauthenticated func(http.ResponseWriter, *http.Request)
	// Failed answers a request whose lookup failed for another reason.
	Failed func(http.ResponseWriter, *http.Request, error)
	// CacheTTL, when positive, lets requests reuse an identity that Token
	// or Session resolved for the same credential at most this long ago
	// (never more than MaxCacheTTL, one second), instead of a lookup each:
	// a revoked or expired token, or a session ended on another replica,
	// is refused by every replica within it. Logout here ends the session
	// here at once. Only successful lookups are kept, by the credential's
	// SHA-256.
	CacheTTL time.Duration

	cacheOnce sync.Once
	cache     *identityCache
}

// lookup resolves cred with the lookup for its kind, through the cache
// when there is one.
func (a *Authenticator) lookup(ctx context.Context, kind credKind, cred string) (Identity, error) {
	lookup := a.Token
	if kind == kindSession {
		lookup = a.Session
	}
	if c := a.identityCache(); c != nil {
		return c.lookup(ctx, kind, cred, lookup)
	}
	return lookup(ctx, cred)
}

func (a *Authenticator) identityCache() *identityCache {
	a.cacheOnce.Do(func() {
		if a.CacheTTL > 0 {
			a.cache = newIdentityCache(a.CacheTTL)
		}
	})
	return a.cache
}

// forgetSession drops a session this process ended from the cache.
func (a *Authenticator) forgetSession(sid string) {
	if c := a.identityCache(); c != nil {
		c.forget(kindSession, sid)
	}
}

func (a *Authenticator) ttl() time.Duration {
	if a.TTL > 0 {
		return a.TTL
	}
	return DefaultSessionTTL
}

// Middleware authenticates every request it wraps: the bearer token when
// there is an Authorization header, else the session cookie. A
// cookie-authenticated unsafe request from another site is refused with 403
// before any lookup.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, cred := kindToken, BearerToken(r)
		if r.Header.Get("Authorization") == "" && a.Session != nil {
			kind, cred = kindSession, SessionID(r)
			if cred != "" && Unsafe(r.Method) {
				if reason := CrossSite(r, a.TrustProxy); reason != "" {
					refuseCSRF(w, reason)
					return
				}
			}
		}
		if cred == "" {
			a.Unauthenticated(w, r)
			return
		}
		id, err := a.lookup(r.Context(), kind, cred)
		if errors.Is(err, ErrUnknownToken) {
			a.Unauthenticated(w, r)
			return
		}
		if err != nil {
			a.Failed(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}

// Login serves POST /login {"token": "..."}: a known API token starts a
// session, whose id (never the token) is set as the HttpOnly, SameSite=Lax
// cookie. A cross-site request is refused like any cookie request: a page
// on another site must not be able to sign a browser in (login CSRF).
func (a *Authenticator) Login(w http.ResponseWriter, r *http.Request) {
	if reason := CrossSite(r, a.TrustProxy); reason != "" {
		refuseCSRF(w, reason)
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Token == "" {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"detail": "Request body too large", "code": "request_too_large"})
			return
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{{
			"loc": []string{"body", "token"}, "msg": "Field required", "type": "missing"}}})
		return
	}
	id, err := a.Token(r.Context(), body.Token)
	if errors.Is(err, ErrUnknownToken) {
		a.Unauthenticated(w, r)
		return
	}
	if err != nil {
		a.Failed(w, r, err)
		return
	}
	if old := SessionID(r); old != "" && a.EndSession != nil {
		// A new sign-in replaces the browser's previous session.
		if err := a.EndSession(r.Context(), old); err != nil {
			a.Failed(w, r, err)
			return
		}
		a.forgetSession(old)
	}
	sid := NewSessionID()
	expires := time.Now().Add(a.ttl())
	err = a.StartSession(r.Context(), body.Token, sid, expires)
	if errors.Is(err, ErrUnknownToken) { // revoked in between
		a.Unauthenticated(w, r)
		return
	}
	if err != nil {
		a.Failed(w, r, err)
		return
	}
	http.SetCookie(w, a.cookie(r, sid, int(a.ttl().Seconds()), expires))
	writeJSON(w, http.StatusOK, map[string]any{"tenant": id.TenantName, "user": id.UserName, "role": id.Role,
		"expiresAt": expires.UTC().Truncate(time.Second).Format(time.RFC3339)})
}

// Logout serves POST /logout: the session is deleted server-side (its
// cookie no longer authenticates, even if a copy was kept) and the cookie
// is cleared.
func (a *Authenticator) Logout(w http.ResponseWriter, r *http.Request) {
	if sid := SessionID(r); sid != "" {
		if reason := CrossSite(r, a.TrustProxy); reason != "" {
			refuseCSRF(w, reason)
			return
		}
		if a.EndSession != nil {
			if err := a.EndSession(r.Context(), sid); err != nil {
				a.Failed(w, r, err)
				return
			}
			a.forgetSession(sid)
		}
	}
	http.SetCookie(w, a.cookie(r, "", -1, time.Unix(0, 0)))
	w.WriteHeader(http.StatusNoContent)
}

func (a *Authenticator) cookie(r *http.Request, value string, maxAge int, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: a.CookieSecure || TLS(r, a.TrustProxy), MaxAge: maxAge, Expires: expires}
}

func refuseCSRF(w http.ResponseWriter, reason string) {
	writeJSON(w, http.StatusForbidden, map[string]any{
		"detail": "Cross-site request refused: " + reason + ". Send the request from this server's own pages, or use a bearer token.",
		"code":   "csrf"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
