// Package amazonsp is the amazon_sp driver: the Amazon Selling Partner API with Login with Amazon.
package amazonsp

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the amazon_sp provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "amazon_sp".
func (Driver) Name() string { return "amazon_sp" }

// Spec returns the amazon_sp fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened amazon_sp connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "amazon_sp", Label: "Amazon Selling Partner API", Category: "api",
	AuthKinds:    []string{"lwa_refresh_token"},
	Capabilities: []string{"verify"},
	Fields: []providers.Field{
		{Name: "region", Label: "Region", Type: providers.TypeEnum, Enum: []string{"na", "eu", "fe"}, Default: "na"},
		{Name: "sandbox", Label: "Sandbox", Type: providers.TypeBool, Default: false},
		{Name: "marketplace_ids", Label: "Marketplace IDs", Type: providers.TypeStringList},
		{Name: "base_url", Label: "Endpoint", Type: providers.TypeString, Target: true, Help: "defaults to https://sellingpartnerapi-{region}.amazon.com"},
		{Name: "token_url", Label: "LWA token URL", Type: providers.TypeString, Default: "https://api.amazon.com/auth/o2/token", Target: true},
		{Name: "lwa_client_id", Label: "LWA client ID", Type: providers.TypeString, Required: true},
		{Name: "lwa_client_secret", Label: "LWA client secret", Secret: true, Required: true},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, Required: true},
	},
}
