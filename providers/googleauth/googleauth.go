// Package googleauth authorises the Google API drivers (google_drive,
// gmail_inbox): an OAuth refresh token through the shared token machinery, or a
// service account key (JWT bearer grant, optionally impersonating a Workspace
// user through domain-wide delegation). It also maps googleapi errors to
// provider errors.
package googleauth

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/junctionhq/junction/providers"
)

// The auth_mode values.
const (
	ModeRefreshToken   = "oauth_refresh_token"
	ModeServiceAccount = "service_account"
)

// Auth obtains access tokens for one connection and sends them only to the
// configured API host.
type Auth struct {
	provider string
	cfg      providers.Config
	mode     string
	host     string
	flow     providers.OAuthFlow
	sa       *serviceAccount // set in the service_account mode

	mu   sync.Mutex
	sent []string // the last access tokens sent, redacted from API errors
}

// maxSent bounds how many recent access tokens are remembered for redaction.
const maxSent = 4

func (a *Auth) remember(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slices.Contains(a.sent, tok) {
		return
	}
	a.sent = append(a.sent, tok)
	if len(a.sent) > maxSent {
		a.sent = a.sent[1:]
	}
}

// Redact removes the connection's secrets and the access tokens this Auth
// sent (in every encoded form) from s.
func (a *Auth) Redact(s string) string {
	a.mu.Lock()
	sent := slices.Clone(a.sent)
	a.mu.Unlock()
	return providers.RedactWith(s, a.cfg.Secrets, sent...)
}

// APIError is the package's APIError with this Auth's redaction, so an
// access token echoed by the API never reaches a message.
func (a *Auth) APIError(err error) *providers.Error {
	return apiError(a.provider, a.Redact, err)
}

// serviceAccount is what the JWT bearer grant needs from a key file.
type serviceAccount struct {
	email, keyID, scope, subject string
	key                          *rsa.PrivateKey
}

// jwtBearer is the RFC 7523 grant type Google's token endpoint takes from
// service accounts.
const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// New reads auth_mode, client_id, token_url and the secrets client_secret,
// refresh_token and service_account_json from cfg. Tokens are sent only to
// requests for apiHost. scope is the one OAuth scope requested; subject, when
// set, is the user a service account impersonates. New does no network I/O;
// bad settings are returned as CodeInvalidConfig.
func New(provider string, cfg providers.Config, apiHost, scope, subject string) (*Auth, error) {
	tokenURL, err := providers.ParseURL(provider, "token_url", cfg.String("token_url"))
	if err != nil {
		return nil, err
	}
	a := &Auth{provider: provider, cfg: cfg, mode: cfg.String("auth_mode"), host: apiHost}
	switch a.mode {
	case ModeRefreshToken, "":
		a.mode = ModeRefreshToken
		a.flow = providers.OAuthFlow{
			TokenURL:     tokenURL.String(),
			ClientID:     cfg.String("client_id"),
			ClientSecret: cfg.Secret("client_secret"),
			RefreshToken: cfg.Secret("refresh_token"),
			Scopes:       []string{scope},
			AuthStyle:    oauth2.AuthStyleInParams,
		}
		if a.flow.ClientID == "" || a.flow.ClientSecret == "" || a.flow.RefreshToken == "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig,
				"%s: the oauth_refresh_token mode needs client_id, client_secret and refresh_token", provider)
		}
	case ModeServiceAccount:
		sa, err := parseServiceAccount(provider, cfg.Secret("service_account_json"))
		if err != nil {
			return nil, err
		}
		sa.scope, sa.subject = scope, subject
		a.sa = sa
		// The token endpoint comes from config (a Target field), never from
		// the key file's token_uri, so a stored key cannot be sent elsewhere.
		// The assertion is signed afresh for each token call; Identity keys
		// the shared cache by who is asking, not by the changing assertion.
		keyHash := sha256.Sum256(x509.MarshalPKCS1PrivateKey(sa.key))
		a.flow = providers.OAuthFlow{
			TokenURL:           tokenURL.String(),
			EndpointParams:     url.Values{"grant_type": {jwtBearer}},
			EndpointParamsFunc: a.assertion,
			Identity:           strings.Join([]string{sa.email, sa.subject, scope, hex.EncodeToString(keyHash[:])}, "\x00"),
			AuthStyle:          oauth2.AuthStyleInParams,
		}
	default:
		return nil, providers.Errorf(providers.CodeInvalidConfig, "%s: unknown auth_mode %q", provider, a.mode)
	}
	return a, nil
}

// Mode returns the auth mode in use.
func (a *Auth) Mode() string { return a.mode }

// ServiceAccountEmail returns the client_email of the service account key, or
// "" in the refresh-token mode.
func (a *Auth) ServiceAccountEmail() string {
	if a.sa == nil {
		return ""
	}
	return a.sa.email
}

// parseServiceAccount reads a service account JSON key with
// google.JWTConfigFromJSON and parses its private key.
func parseServiceAccount(provider, raw string) (*serviceAccount, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "%s: the service_account mode needs service_account_json", provider)
	}
	jc, err := google.JWTConfigFromJSON([]byte(raw))
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, providers.Wrap(providers.CodeInvalidConfig, err, "%s: service_account_json is not valid JSON", provider)
		}
		return nil, providers.Wrap(providers.CodeInvalidConfig, err,
			"%s: service_account_json is not a service account key (expected \"type\": \"service_account\"; download a JSON key for the service account)", provider)
	}
	if jc.Email == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "%s: service_account_json has no client_email", provider)
	}
	key, err := parseKey(jc.PrivateKey)
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "%s: the private_key in service_account_json is not a PEM RSA private key", provider)
	}
	return &serviceAccount{email: jc.Email, keyID: jc.PrivateKeyID, key: key}, nil
}

// parseKey reads a PEM PKCS#8 (as Google issues) or PKCS#1 RSA private key.
func parseKey(pemKey []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		return rk, nil
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

// Token returns an access token through cfg.Token, which caches it until
// shortly before expiry and makes one token call for concurrent callers:
// the refresh-token grant, or for a service account the JWT bearer grant
// (RFC 7523) with a freshly signed assertion. rejected, when set, is an access
// token the API just refused, which is then not reused.
func (a *Auth) Token(ctx context.Context, rejected string) (*oauth2.Token, error) {
	flow := a.flow
	flow.Rejected = rejected
	tok, err := a.cfg.Token(ctx, a.provider, flow)
	if err != nil && a.sa != nil {
		return nil, a.serviceAccountError(err)
	}
	return tok, err
}

// assertion signs the JWT a service account presents to the token endpoint,
// as Google documents it (iss, scope, aud, iat, exp; sub for delegation).
func (a *Auth) assertion() (url.Values, error) {
	now := time.Now()
	claims := jwt.MapClaims{
		"iss":   a.sa.email,
		"scope": a.sa.scope,
		"aud":   a.flow.TokenURL,
		"iat":   now.Add(-10 * time.Second).Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}
	if a.sa.subject != "" {
		claims["sub"] = a.sa.subject
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if a.sa.keyID != "" {
		t.Header["kid"] = a.sa.keyID
	}
	signed, err := t.SignedString(a.sa.key)
	if err != nil {
		return nil, fmt.Errorf("sign the service account assertion: %w", err)
	}
	return url.Values{"assertion": {signed}}, nil
}

// serviceAccountError classifies a failed JWT bearer grant with messages about
// the service account rather than a user's authorisation.
func (a *Auth) serviceAccountError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode == "" {
		return err
	}
	desc := providers.CutDetail(a.cfg.Redact(re.ErrorDescription))
	if desc != "" {
		desc = ": " + desc
	}
	switch re.ErrorCode {
	case "invalid_grant":
		hint := "check that the key is still active"
		if a.sa.subject != "" {
			hint += fmt.Sprintf(" and that the impersonated user %q exists", a.sa.subject)
		}
		return providers.Wrap(providers.CodeAuthFailed, err,
			"%s: the service account %s was rejected by the token endpoint (invalid_grant%s); %s",
			a.provider, a.sa.email, desc, hint)
	case "unauthorized_client", "access_denied":
		return providers.Wrap(providers.CodePermissionDenied, err,
			"%s: the service account %s may not obtain tokens for scope %s (%s%s); a Workspace admin must grant it domain-wide delegation for that scope",
			a.provider, a.sa.email, a.sa.scope, re.ErrorCode, desc)
	case "invalid_client":
		return providers.Wrap(providers.CodeAuthFailed, err,
			"%s: the service account %s is unknown or disabled (invalid_client%s)", a.provider, a.sa.email, desc)
	case "invalid_scope":
		return providers.Wrap(providers.CodePermissionDenied, err,
			"%s: the scope %s was refused for the service account (invalid_scope%s)", a.provider, a.sa.scope, desc)
	}
	return err
}

// HTTPClient returns a client over cfg.Client() that adds the bearer token to
// every request for the API host, and to no other host (a redirect elsewhere
// never carries it).
func (a *Auth) HTTPClient() *http.Client {
	base := a.cfg.Client()
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	return &http.Client{
		Transport:     &bearerTransport{a: a, next: next},
		CheckRedirect: base.CheckRedirect,
		Jar:           base.Jar,
		Timeout:       base.Timeout,
	}
}

type bearerTransport struct {
	a    *Auth
	next http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.EqualFold(req.URL.Host, t.a.host) {
		return t.next.RoundTrip(req)
	}
	resp, tok, err := t.send(req, "")
	if err != nil || resp.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.GetBody == nil) {
		return resp, err
	}
	// The token may have been revoked before its expiry: get a new one once.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
	}
	resp, _, err = t.send(req, tok)
	return resp, err
}

// send sends req with a token that is not rejected.
func (t *bearerTransport) send(req *http.Request, rejected string) (*http.Response, string, error) {
	tok, err := t.a.Token(req.Context(), rejected)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, "", err
	}
	r := req.Clone(req.Context())
	t.a.remember(tok.AccessToken)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := t.next.RoundTrip(r)
	return resp, tok.AccessToken, err
}
