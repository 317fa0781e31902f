// Package bullhorn is the bullhorn driver: the Bullhorn staffing REST API.
package bullhorn

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the bullhorn provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "bullhorn".
func (Driver) Name() string { return "bullhorn" }

// Spec returns the bullhorn fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened bullhorn connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "bullhorn", Label: "Bullhorn", Category: "api",
	AuthKinds:    []string{"oauth2_programmatic_login", "oauth2_refresh_token"},
	Capabilities: []string{"verify", "schema", "query"},
	Fields: []providers.Field{
		{Name: "client_id", Label: "Client ID", Type: providers.TypeString, Required: true},
		{Name: "api_username", Label: "API username", Type: providers.TypeString, Required: true},
		{Name: "login_info_url", Label: "loginInfo URL", Type: providers.TypeString, Default: "https://rest.bullhornstaffing.com/rest-services/loginInfo", Target: true},
		{Name: "oauth_url", Label: "OAuth URL", Type: providers.TypeString, Target: true, Help: "learned from loginInfo when unset"},
		{Name: "rest_url", Label: "REST login URL", Type: providers.TypeString, Target: true, Help: "learned from loginInfo when unset"},
		{Name: "redirect_uri", Label: "Redirect URI", Type: providers.TypeString},
		{Name: "client_secret", Label: "Client secret", Secret: true, Required: true},
		{Name: "api_password", Label: "API password", Secret: true},
		{Name: "refresh_token", Label: "Refresh token", Secret: true},
	},
}
