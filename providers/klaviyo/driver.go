// Package klaviyo is the klaviyo driver: the Klaviyo API with a private key.
package klaviyo

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the klaviyo provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "klaviyo".
func (Driver) Name() string { return "klaviyo" }

// Spec returns the klaviyo fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened klaviyo connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "klaviyo", Label: "Klaviyo", Category: "api",
	AuthKinds:    []string{"api_key"},
	Capabilities: []string{"verify"},
	Fields: []providers.Field{
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Default: "https://a.klaviyo.com", Target: true},
		{Name: "revision", Label: "API revision", Type: providers.TypeString, Default: "2026-10-15"},
		{Name: "private_api_key", Label: "Private API key", Secret: true, Required: true},
	},
}
