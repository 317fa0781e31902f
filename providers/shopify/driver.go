// Package shopify is the shopify driver: the Shopify Admin GraphQL API.
package shopify

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the shopify provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "shopify".
func (Driver) Name() string { return "shopify" }

// Spec returns the shopify fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened shopify connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "shopify", Label: "Shopify", Category: "api",
	AuthKinds:    []string{"access_token", "client_credentials"},
	Capabilities: []string{"verify"},
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
