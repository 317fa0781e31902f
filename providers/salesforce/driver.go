// Package salesforce is the salesforce driver: the Salesforce REST API.
package salesforce

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the salesforce provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "salesforce".
func (Driver) Name() string { return "salesforce" }

// Spec returns the salesforce fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened salesforce connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "salesforce", Label: "Salesforce", Category: "api",
	AuthKinds:    []string{"oauth2_refresh_token", "oauth2_client_credentials", "jwt_bearer"},
	Capabilities: []string{"verify", "schema", "query"},
	Fields: []providers.Field{
		{Name: "auth_mode", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"refresh_token", "client_credentials", "jwt_bearer"}, Default: "refresh_token"},
		{Name: "login_url", Label: "Login URL", Type: providers.TypeString, Default: "https://login.salesforce.com", Target: true},
		{Name: "instance_url", Label: "Instance URL", Type: providers.TypeString, Target: true, Help: "learned from the token response when unset"},
		{Name: "api_version", Label: "API version", Type: providers.TypeString, Default: "v62.0"},
		{Name: "client_id", Label: "Consumer key", Type: providers.TypeString, Required: true},
		{Name: "username", Label: "Username (JWT bearer)", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"jwt_bearer"}}},
		{Name: "client_secret", Label: "Consumer secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"refresh_token", "client_credentials"}}},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"refresh_token"}}},
		{Name: "private_key_pem", Label: "Private key (PEM)", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"jwt_bearer"}}},
	},
}
