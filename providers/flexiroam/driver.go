// Package flexiroam is the flexiroam driver: the Flexiroam reseller API (v1).
package flexiroam

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the flexiroam provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "flexiroam".
func (Driver) Name() string { return "flexiroam" }

// Spec returns the flexiroam fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened flexiroam connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "flexiroam", Label: "Flexiroam", Category: "api",
	AuthKinds:    []string{"password_login"},
	Capabilities: []string{"verify"},
	DocsNote:     "Public docs are partial: the reseller v1 login (POST /user/login/v1, token header) and profile call (POST /user/view/v1) follow third-party client code; the V3 auth scheme is unpublished. Every URL is configurable.",
	Fields: []providers.Field{
		{Name: "environment", Label: "Environment", Type: providers.TypeEnum, Enum: []string{"prod", "dev"}, Default: "prod"},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Target: true, Help: "defaults to https://api.flexiroam.com (prod) or https://devapi.flexiroam.com (dev)"},
		{Name: "email", Label: "Email", Type: providers.TypeString, Required: true},
		{Name: "password", Label: "Password", Secret: true, Required: true},
	},
}
