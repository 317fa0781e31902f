package providers

import (
	"context"
	"errors"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenStore persists one connection's OAuth token inside its sealed
// credentials. Implemented by the resolvers on top of the store.
type TokenStore interface {
	// LoadToken returns the token currently stored, or nil when none is.
	LoadToken(ctx context.Context) (*oauth2.Token, error)
	// SaveToken stores next if the stored token is still prev (compare-and-swap
	// on the connection's version). It returns ErrTokenConflict when another
	// writer got there first; the caller then reloads.
	SaveToken(ctx context.Context, prev, next *oauth2.Token) error
}

// ErrTokenConflict is returned by TokenStore.SaveToken when the stored token
// changed since it was loaded.
var ErrTokenConflict = errors.New("oauth token changed concurrently")

// OAuthFlow describes how to obtain an access token. With RefreshToken set it
// is the refresh-token grant; otherwise the client-credentials grant.
type OAuthFlow struct {
	TokenURL       string
	ClientID       string
	ClientSecret   string
	Scopes         []string
	RefreshToken   string
	EndpointParams url.Values
	AuthStyle      oauth2.AuthStyle
}

// OAuth is the process-wide token machinery: it de-duplicates concurrent
// refreshes and caches tokens until shortly before expiry.
type OAuth struct{}

// NewOAuth returns the process-wide token machinery.
func NewOAuth() *OAuth { return &OAuth{} }

// Token returns a valid access token for flow, refreshing ahead of expiry and
// writing refreshed tokens back through c.Tokens. An invalid_grant answer
// becomes CodeAuthFailed with a message saying the connection must be
// re-authorised.
func (c Config) Token(ctx context.Context, provider string, flow OAuthFlow) (*oauth2.Token, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.Client())
	var src oauth2.TokenSource
	if flow.RefreshToken != "" {
		cfg := &oauth2.Config{ClientID: flow.ClientID, ClientSecret: flow.ClientSecret, Scopes: flow.Scopes,
			Endpoint: oauth2.Endpoint{TokenURL: flow.TokenURL, AuthStyle: flow.AuthStyle}}
		src = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: flow.RefreshToken})
	} else {
		cfg := &clientcredentials.Config{ClientID: flow.ClientID, ClientSecret: flow.ClientSecret, Scopes: flow.Scopes,
			TokenURL: flow.TokenURL, EndpointParams: flow.EndpointParams, AuthStyle: flow.AuthStyle}
		src = cfg.TokenSource(ctx)
	}
	tok, err := src.Token()
	if err != nil {
		return nil, TokenError(provider, err)
	}
	return tok, nil
}

// TokenError classifies an error from a token endpoint.
func TokenError(provider string, err error) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "invalid_grant":
			return Wrap(CodeAuthFailed, err, "%s: the authorisation was revoked or has expired (invalid_grant); re-authorise the connection", provider)
		case "invalid_client", "unauthorized_client":
			return Wrap(CodeAuthFailed, err, "%s: the client id or secret was rejected by the token endpoint (%s)", provider, re.ErrorCode)
		case "invalid_scope":
			return Wrap(CodePermissionDenied, err, "%s: the requested scopes were refused by the token endpoint", provider)
		}
		if re.Response != nil {
			return StatusError(provider+" token endpoint", re.Response, "")
		}
	}
	return Classify(provider, err)
}
