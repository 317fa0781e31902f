// Package dropbox is the dropbox driver: Dropbox through the v2 HTTP API.
package dropbox

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the dropbox provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "dropbox".
func (Driver) Name() string { return "dropbox" }

// Spec returns the dropbox fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened dropbox connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "dropbox", Label: "Dropbox", Category: "files",
	AuthKinds:    []string{"oauth2_refresh_token"},
	Capabilities: []string{"verify", "files"},
	Fields: []providers.Field{
		{Name: "app_key", Label: "App key", Type: providers.TypeString, Required: true},
		{Name: "root_path", Label: "Root path", Type: providers.TypeString},
		{Name: "path_root", Label: "Team namespace ID", Type: providers.TypeString},
		{Name: "base_url", Label: "API base URL", Type: providers.TypeString, Default: "https://api.dropboxapi.com", Target: true},
		{Name: "token_url", Label: "Token URL", Type: providers.TypeString, Default: "https://api.dropboxapi.com/oauth2/token", Target: true},
		{Name: "app_secret", Label: "App secret", Secret: true, Required: true},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, Required: true},
	},
}
