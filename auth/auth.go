// Package auth answers who is asking: a bearer token or the junction_session
// cookie becomes an Identity (tenant, user, role) carried in the context.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// CookieName is the session cookie set by POST /login.
const CookieName = "junction_session"

// TokenPrefix starts every API token, so leaked tokens are easy to scan for.
const TokenPrefix = "jct_"

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

// ErrUnknownToken is returned by a Lookup for a token it does not know.
var ErrUnknownToken = errors.New("unknown token")

// Lookup resolves a token to an identity, or returns ErrUnknownToken.
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
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// TokenFrom returns the token of r: the bearer token, else the session cookie.
func TokenFrom(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

// Middleware authenticates every request it wraps. A request without a
// known token gets unauthenticated(w, r); the lookup's other errors get
// failed(w, r, err).
func Middleware(lookup Lookup, unauthenticated func(http.ResponseWriter, *http.Request), failed func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok := TokenFrom(r)
			if tok == "" {
				unauthenticated(w, r)
				return
			}
			id, err := lookup(r.Context(), tok)
			if errors.Is(err, ErrUnknownToken) {
				unauthenticated(w, r)
				return
			}
			if err != nil {
				failed(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		})
	}
}

// LoginHandler serves POST /login {"token": "..."}: a known token is set as
// the HttpOnly, SameSite=Lax session cookie.
func LoginHandler(lookup Lookup, secure bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Token == "" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{{
				"loc": []string{"body", "token"}, "msg": "Field required", "type": "missing"}}})
			return
		}
		id, err := lookup(r.Context(), body.Token)
		if errors.Is(err, ErrUnknownToken) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Not authenticated"})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"detail": "Internal server error", "code": "internal"})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: body.Token, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: secure, MaxAge: int((30 * 24 * time.Hour).Seconds())})
		writeJSON(w, http.StatusOK, map[string]any{"tenant": id.TenantName, "user": id.UserName, "role": id.Role})
	}
}

// LogoutHandler serves POST /logout: the session cookie is cleared.
func LogoutHandler(secure bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: secure, MaxAge: -1})
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
