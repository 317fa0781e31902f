// Package rydership is the rydership driver: the RyderShip (Whiplash) V2 API.
package rydership

import (
	"context"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

// Driver is the rydership provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "rydership".
func (Driver) Name() string { return "rydership" }

// Spec returns the rydership fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the URLs and returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	env := cfg.String("environment")
	if env == "" {
		env = "www.getwhiplash.com"
	}
	c := &conn{baseURL: "https://" + env, tokenURL: "https://" + env + "/oauth/token"}
	if v := cfg.String("base_url"); v != "" {
		u, err := providers.ParseBaseURL(name, "base_url", v, "https://www.getwhiplash.com")
		if err != nil {
			return nil, err
		}
		c.baseURL = strings.TrimSuffix(u.String(), "/")
	}
	if v := cfg.String("token_url"); v != "" {
		u, err := providers.ParseBaseURL(name, "token_url", v, "https://www.getwhiplash.com/oauth/token")
		if err != nil {
			return nil, err
		}
		c.tokenURL = strings.TrimSuffix(u.String(), "/")
	}
	c.api = providers.API{
		Provider: name, Config: cfg, BaseURL: c.baseURL,
		Header: http.Header{"Accept": {"application/json"}},
		// An access token refreshed with the connection's refresh token, sent
		// as a bearer token.
		Auth: providers.BearerAuth(cfg, name, providers.OAuthFlow{
			TokenURL:     c.tokenURL,
			ClientID:     cfg.String("client_id"),
			ClientSecret: cfg.Secret("client_secret"),
			RefreshToken: cfg.Secret("refresh_token"),
			Scopes:       strings.Fields(cfg.String("scope")),
			AuthStyle:    oauth2.AuthStyleInParams,
		}),
		Reauth: providers.Unauthorized, // a cached token the API refuses is replaced once
		Error:  statusError,
	}
	return c, nil
}

// conn is one opened rydership connection.
type conn struct {
	api      providers.API
	baseURL  string // without trailing slash
	tokenURL string
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "rydership", Label: "RyderShip", Category: "api",
	AuthKinds:    []string{"oauth2_refresh_token"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote:     "The V2 API is invite-only; the verify call (GET /api/v2/items/count) follows the published items OpenAPI. Base and token URLs are configurable.",
	Fields: []providers.Field{
		{Name: "environment", Label: "Environment", Type: providers.TypeEnum, Enum: []string{"www.getwhiplash.com", "sandbox.whiplash.app"}, Default: "www.getwhiplash.com"},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Target: true, Help: "defaults to https://{environment}"},
		{Name: "token_url", Label: "Token URL", Type: providers.TypeString, Target: true, Help: "defaults to https://{environment}/oauth/token"},
		{Name: "client_id", Label: "Application ID", Type: providers.TypeString, Required: true},
		{Name: "scope", Label: "Scope", Type: providers.TypeString, Default: "user_read"},
		{Name: "client_secret", Label: "Client secret", Secret: true, Required: true},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, Required: true},
	},
}
