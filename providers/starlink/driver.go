// Package starlink is the starlink driver: the Starlink enterprise API (v2 service accounts).
package starlink

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the starlink provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "starlink".
func (Driver) Name() string { return "starlink" }

// Spec returns the starlink fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened starlink connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "starlink", Label: "Starlink", Category: "api",
	AuthKinds:    []string{"oauth2_client_credentials"},
	Capabilities: []string{"verify"},
	DocsNote:     "Base and token URLs differ between Starlink's docs and integrations; both are configurable.",
	Fields: []providers.Field{
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Default: "https://starlink.com/api", Target: true},
		{Name: "token_url", Label: "Token URL", Type: providers.TypeString, Default: "https://starlink.com/api/auth/connect/token", Target: true},
		{Name: "client_id", Label: "Client ID", Type: providers.TypeString, Required: true},
		{Name: "account_number", Label: "Account number", Type: providers.TypeString},
		{Name: "client_secret", Label: "Client secret", Secret: true, Required: true},
	},
}
