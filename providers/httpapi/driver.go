// Package httpapi is the http_api driver: any HTTP API, with a configurable verify request.
package httpapi

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the http_api provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "http_api".
func (Driver) Name() string { return "http_api" }

// Spec returns the http_api fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened http_api connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "http_api", Label: "HTTP API", Category: "api",
	AuthKinds:    []string{"none", "basic", "bearer", "api_key_header", "api_key_query", "oauth2_client_credentials"},
	Capabilities: []string{"verify"},
	Fields: []providers.Field{
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Required: true, Target: true},
		{Name: "auth_type", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"none", "basic", "bearer", "api_key_header", "api_key_query", "oauth2_client_credentials"}, Default: "none"},
		{Name: "verify_method", Label: "Verify method", Type: providers.TypeEnum, Enum: []string{"GET", "HEAD"}, Default: "GET"},
		{Name: "verify_path", Label: "Verify path", Type: providers.TypeString, Default: "/"},
		{Name: "expected_status", Label: "Expected status", Type: providers.TypeInt, Help: "any 2xx when unset"},
		{Name: "api_key_name", Label: "API key header or query name", Type: providers.TypeString, Default: "X-API-Key"},
		{Name: "token_url", Label: "OAuth token URL", Type: providers.TypeString, Target: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"oauth2_client_credentials"}}},
		{Name: "client_id", Label: "OAuth client ID", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"oauth2_client_credentials"}}},
		{Name: "scopes", Label: "OAuth scopes", Type: providers.TypeStringList},
		{Name: "audience", Label: "OAuth audience", Type: providers.TypeString},
		{Name: "extra_headers", Label: "Extra headers", Type: providers.TypeObject},
		{Name: "token", Label: "Bearer token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"bearer"}}},
		{Name: "username", Label: "Username", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
		{Name: "password", Label: "Password", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
		{Name: "api_key", Label: "API key", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"api_key_header", "api_key_query"}}},
		{Name: "client_secret", Label: "OAuth client secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"oauth2_client_credentials"}}},
	},
}
