// Package googleauth authorises the Google API drivers (google_drive,
// gmail_inbox): an OAuth refresh token through the shared token machinery, or a
// service account key (JWT bearer grant, optionally impersonating a Workspace
// user through domain-wide delegation). It also maps googleapi errors to
// provider errors.
package googleauth

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"

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
	jwt      *jwt.Config
}

// New reads auth_mode, client_id, token_url and the secrets client_secret,
// refresh_token and service_account_json from cfg. Tokens are sent only to
// requests for apiHost. scope is the one OAuth scope requested; subject, when
// set, is the user a service account impersonates. New does no network I/O;
// bad settings are returned as CodeInvalidConfig.
func New(provider string, cfg providers.Config, apiHost, scope, subject string) (*Auth, error) {
	tokenURL, err := ParseBaseURL(provider, "token_url", cfg.String("token_url"))
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
		jc, err := serviceAccount(provider, cfg, scope)
		if err != nil {
			return nil, err
		}
		// The token endpoint comes from config (a Target field), never from the
		// key file, so a stored key cannot be sent to another server.
		jc.TokenURL = tokenURL.String()
		jc.Audience = ""
		jc.Subject = subject
		a.jwt = jc
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
	if a.jwt == nil {
		return ""
	}
	return a.jwt.Email
}

func serviceAccount(provider string, cfg providers.Config, scope string) (*jwt.Config, error) {
	raw := strings.TrimSpace(cfg.Secret("service_account_json"))
	if raw == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "%s: the service_account mode needs service_account_json", provider)
	}
	jc, err := google.JWTConfigFromJSON([]byte(raw), scope)
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
	if err := checkKey(jc.PrivateKey); err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "%s: the private_key in service_account_json is not a PEM RSA private key", provider)
	}
	return jc, nil
}

// checkKey fails early, in Open, on the key forms x/oauth2 cannot sign with.
func checkKey(key []byte) error {
	block, _ := pem.Decode(key)
	if block == nil {
		return errors.New("no PEM block")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	_, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	return err
}

// ParseBaseURL checks that raw is an absolute http(s) URL without user info and
// returns it parsed. field names the setting in the error message.
func ParseBaseURL(provider, field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "%s: %s must be an absolute http or https URL", provider, field)
	}
	if u.User != nil {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "%s: %s must not contain a user name or password", provider, field)
	}
	return u, nil
}

// Token returns an access token: through cfg.Token (cached and written back by
// the shared machinery) for a refresh token, or a fresh JWT bearer grant for a
// service account.
func (a *Auth) Token(ctx context.Context) (*oauth2.Token, error) {
	if a.jwt == nil {
		return a.cfg.Token(ctx, a.provider, a.flow)
	}
	return a.serviceAccountToken(ctx)
}

// serviceAccountToken runs the JWT bearer grant. x/oauth2/jwt posts without a
// context and formats transport errors with %v, so the request is bound to ctx
// here and the transport error is kept for classification.
//
// The token is not cached: cfg.Token serves only the refresh-token and
// client-credentials grants, so every call makes one token request.
func (a *Auth) serviceAccountToken(ctx context.Context) (*oauth2.Token, error) {
	base := a.cfg.Client()
	ct := &ctxTransport{ctx: ctx, next: base.Transport}
	hc := &http.Client{Transport: ct, CheckRedirect: base.CheckRedirect}
	tok, err := a.jwt.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc)).Token()
	if err == nil {
		return tok, nil
	}
	if ct.err != nil {
		return nil, providers.Classify(a.provider+" token endpoint", ct.err)
	}
	return nil, a.serviceAccountError(err)
}

type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
	err  error
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		t.err = err
	}
	return resp, err
}

// serviceAccountError classifies a failed JWT bearer grant. x/oauth2/jwt does
// not parse the RFC 6749 error body, so it is parsed here.
func (a *Auth) serviceAccountError(err error) *providers.Error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return providers.Classify(a.provider, err)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(re.Body, &body)
	desc := a.cfg.Redact(strings.TrimSpace(body.Description))
	if len(desc) > 200 {
		desc = desc[:200] + "…"
	}
	if desc != "" {
		desc = ": " + desc
	}
	switch body.Error {
	case "invalid_grant":
		hint := "check that the key is still active"
		if a.jwt.Subject != "" {
			hint += fmt.Sprintf(" and that the impersonated user %q exists", a.jwt.Subject)
		}
		return providers.Wrap(providers.CodeAuthFailed, err,
			"%s: the service account %s was rejected by the token endpoint (invalid_grant%s); %s",
			a.provider, a.jwt.Email, desc, hint)
	case "unauthorized_client", "access_denied":
		return providers.Wrap(providers.CodePermissionDenied, err,
			"%s: the service account %s may not obtain tokens for scope %s (%s%s); a Workspace admin must grant it domain-wide delegation for that scope",
			a.provider, a.jwt.Email, strings.Join(a.jwt.Scopes, " "), body.Error, desc)
	case "invalid_client":
		return providers.Wrap(providers.CodeAuthFailed, err,
			"%s: the service account %s is unknown or disabled (invalid_client%s)", a.provider, a.jwt.Email, desc)
	case "invalid_scope":
		return providers.Wrap(providers.CodePermissionDenied, err,
			"%s: the scope %s was refused for the service account (invalid_scope%s)", a.provider, strings.Join(a.jwt.Scopes, " "), desc)
	}
	if re.Response != nil {
		return providers.StatusError(a.provider+" token endpoint", re.Response, "")
	}
	return providers.Classify(a.provider, err)
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
	tok, err := t.a.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.next.RoundTrip(r)
}
