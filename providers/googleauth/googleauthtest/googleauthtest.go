// Package googleauthtest fakes Google's OAuth token endpoint for driver tests:
// the refresh-token grant and the service-account JWT bearer grant, each
// checked the way Google checks them.
package googleauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Test credentials the fake accepts.
const (
	ClientID     = "client-123.apps.googleusercontent.com"
	ClientSecret = "GOCSPX-client-secret-value"
	RefreshToken = "1//refresh-token-value"
	SAEmail      = "junction@project.iam.gserviceaccount.com"
	SAKeyID      = "key-id-1"
)

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

func testKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return key
}

// ServiceAccountJSON returns a service account key file as Google issues it.
// Its token_uri points elsewhere on purpose: the driver must use token_url.
func ServiceAccountJSON(t testing.TB) string {
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "project",
		"private_key_id": SAKeyID,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   SAEmail,
		"client_id":      "1234567890",
		"token_uri":      "https://token.invalid/token",
	})
	return string(b)
}

// TokenServer is a fake Google token endpoint. Set the fields before use.
type TokenServer struct {
	// Scope is the scope a JWT assertion must ask for.
	Scope string
	// Subject is the sub a JWT assertion must carry ("" for none).
	Subject string
	// Audience is the aud a JWT assertion must carry (the token URL).
	Audience string
	// AccessToken is issued on success.
	AccessToken string
	// AccessTokenFor, when set, picks the access token for the n-th token
	// call (from 1) instead.
	AccessTokenFor func(n int) string
	// NewRefreshToken, when set, is returned by the refresh grant (rotation).
	NewRefreshToken string
	// Fail, when set, answers every token request with this status and body.
	FailStatus int
	FailBody   string

	calls atomic.Int64
}

// Calls returns how many token requests were made.
func (s *TokenServer) Calls() int { return int(s.calls.Load()) }

// ServeHTTP answers POST form requests for the refresh-token and JWT bearer
// grants; anything malformed gets the 400 a real endpoint would give.
func (s *TokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1))
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		oauthError(w, 400, "invalid_request", "expected a form POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "bad form")
		return
	}
	if s.FailStatus != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.FailStatus)
		fmt.Fprint(w, s.FailBody)
		return
	}
	access := s.AccessToken
	if s.AccessTokenFor != nil {
		access = s.AccessTokenFor(n)
	}
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3599}
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		if r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("client_secret") != ClientSecret {
			oauthError(w, 401, "invalid_client", "The OAuth client was not found.")
			return
		}
		if r.PostForm.Get("refresh_token") != RefreshToken {
			oauthError(w, 400, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		if s.NewRefreshToken != "" {
			resp["refresh_token"] = s.NewRefreshToken
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if msg := s.checkAssertion(r.PostForm.Get("assertion")); msg != "" {
			oauthError(w, 400, "invalid_grant", msg)
			return
		}
	default:
		oauthError(w, 400, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (s *TokenServer) checkAssertion(assertion string) string {
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(assertion, claims, func(t *jwt.Token) (any, error) {
		if key == nil || t.Header["kid"] != SAKeyID {
			return nil, fmt.Errorf("unknown kid %v", t.Header["kid"])
		}
		return &key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil || !tok.Valid {
		return "Invalid JWT Signature."
	}
	if claims["iss"] != SAEmail {
		return "Invalid issuer"
	}
	if claims["aud"] != s.Audience {
		return fmt.Sprintf("Invalid JWT: aud %v", claims["aud"])
	}
	if claims["scope"] != s.Scope {
		return fmt.Sprintf("Invalid scope %v", claims["scope"])
	}
	if sub, _ := claims["sub"].(string); sub != s.Subject {
		return "Invalid email or User ID"
	}
	return ""
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// APIError writes a Google API error in the v1 JSON format.
func APIError(w http.ResponseWriter, status int, reason, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": message,
		"errors": []map[string]string{{"domain": "global", "reason": reason, "message": message}},
	}})
}
