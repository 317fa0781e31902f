// Package gorgias is the gorgias driver: the Gorgias helpdesk REST API.
package gorgias

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the gorgias provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "gorgias".
func (Driver) Name() string { return "gorgias" }

// Spec returns the gorgias fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened gorgias connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "gorgias", Label: "Gorgias", Category: "api",
	AuthKinds:    []string{"basic"},
	Capabilities: []string{"verify"},
	Fields: []providers.Field{
		{Name: "subdomain", Label: "Subdomain", Type: providers.TypeString, Required: true, Target: true, Help: "{subdomain}.gorgias.com"},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Target: true, Help: "defaults to https://{subdomain}.gorgias.com"},
		{Name: "username", Label: "Email", Type: providers.TypeString, Required: true},
		{Name: "api_key", Label: "API key", Secret: true, Required: true},
	},
}
