// Package shopify is the shopify driver: the Shopify Admin GraphQL API.
package shopify

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

// Driver is the shopify provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "shopify".
func (Driver) Name() string { return "shopify" }

// Spec returns the shopify fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the shop domain, API version and base URL and returns a Conn
// for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	shop, err := shopDomain(cfg.String("shop_domain"))
	if err != nil {
		return nil, err
	}
	version := strings.TrimSpace(cfg.String("api_version"))
	if !versionPattern.MatchString(version) {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"shopify: api_version %q is not a Shopify API version; use YYYY-MM such as 2026-10", version)
	}
	base := "https://" + shop
	if raw := strings.TrimSpace(cfg.String("base_url")); raw != "" {
		u, err := providers.ParseBaseURL("shopify", "base_url", raw, "https://example.myshopify.com")
		if err != nil {
			return nil, err
		}
		base = strings.TrimRight(u.String(), "/")
	}
	c := &conn{shop: shop, version: version, mode: cfg.String("auth_mode"),
		graphqlURL: base + "/admin/api/" + version + "/graphql.json",
		tokenURL:   base + "/admin/oauth/access_token"}
	switch c.mode {
	case "access_token":
		if strings.TrimSpace(cfg.Secret("access_token")) == "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig, "shopify: access_token is required with auth_mode access_token")
		}
	case "client_credentials":
		if strings.TrimSpace(cfg.String("client_id")) == "" || strings.TrimSpace(cfg.Secret("client_secret")) == "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig, "shopify: client_id and client_secret are required with auth_mode client_credentials")
		}
	default:
		return nil, providers.Errorf(providers.CodeInvalidConfig, "shopify: auth_mode %q is not access_token or client_credentials", c.mode)
	}
	c.api = providers.API{
		Provider: "shopify", Config: cfg, BaseURL: c.graphqlURL,
		Header: http.Header{"Accept": {"application/json"}},
		Auth:   providers.HeaderAuth("X-Shopify-Access-Token", cfg.Secret("access_token")),
		// A cached client-credentials token the shop refuses (the app was
		// reinstalled, or the token was revoked) is replaced once.
		Reauth: providers.Unauthorized,
		Error:  c.statusError,
	}
	if c.mode == "client_credentials" {
		// A token of the client-credentials grant, in the same header.
		c.api.Auth = providers.TokenAuth(cfg, "shopify", providers.OAuthFlow{
			TokenURL:     c.tokenURL,
			ClientID:     strings.TrimSpace(cfg.String("client_id")),
			ClientSecret: cfg.Secret("client_secret"),
			AuthStyle:    oauth2.AuthStyleInParams,
		}, providers.TokenHeader("X-Shopify-Access-Token", ""))
	}
	return c, nil
}

var (
	versionPattern = regexp.MustCompile(`^(\d{4}-\d{2}|unstable)$`)
	labelPattern   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// shopDomain normalises a shop domain: lower case, and a bare shop name
// becomes {name}.myshopify.com. A URL, a path or a port is refused.
func shopDomain(raw string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
	bad := func() (string, error) {
		return "", providers.Errorf(providers.CodeInvalidConfig,
			"shopify: shop_domain %q is not a shop domain; give the domain only, such as example.myshopify.com (no https://, path or port)", raw)
	}
	if d == "" || len(d) > 253 {
		return bad()
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if !labelPattern.MatchString(l) {
			return bad()
		}
	}
	if len(labels) == 1 {
		d += ".myshopify.com"
	}
	return d, nil
}

// conn is one opened shopify connection.
type conn struct {
	api        providers.API
	shop       string
	version    string
	mode       string // "access_token" or "client_credentials"
	graphqlURL string
	tokenURL   string
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "shopify", Label: "Shopify", Category: "api",
	AuthKinds:    []string{"access_token", "client_credentials"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "shop_domain", Label: "Shop domain", Type: providers.TypeString, Required: true, Target: true, Help: "{shop}.myshopify.com"},
		{Name: "api_version", Label: "API version", Type: providers.TypeString, Default: "2026-10", Help: "YYYY-MM"},
		{Name: "auth_mode", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"access_token", "client_credentials"}, Default: "access_token"},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Target: true, Help: "defaults to https://{shop_domain}"},
		{Name: "client_id", Label: "Client ID", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"client_credentials"}}},
		{Name: "access_token", Label: "Admin API access token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"access_token"}}},
		{Name: "client_secret", Label: "Client secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"client_credentials"}}},
	},
}
