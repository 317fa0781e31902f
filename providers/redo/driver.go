// Package redo is the redo driver: the Redo returns API.
package redo

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the redo provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "redo".
func (Driver) Name() string { return "redo" }

// Spec returns the redo fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened redo connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "redo", Label: "Redo", Category: "api",
	AuthKinds:    []string{"api_key"},
	Capabilities: []string{"verify"},
	DocsNote:     "Rate limits and the error catalogue are not published.",
	Fields: []providers.Field{
		{Name: "store_id", Label: "Store ID", Type: providers.TypeString, Required: true},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Default: "https://api.getredo.com", Target: true},
		{Name: "api_secret", Label: "API secret", Secret: true, Required: true},
	},
}
