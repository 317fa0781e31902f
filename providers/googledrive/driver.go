// Package googledrive is the google_drive driver: Google Drive through the Drive v3 API.
package googledrive

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the google_drive provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "google_drive".
func (Driver) Name() string { return "google_drive" }

// Spec returns the google_drive fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened google_drive connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "google_drive", Label: "Google Drive", Category: "files",
	AuthKinds:    []string{"oauth2_refresh_token", "service_account"},
	Capabilities: []string{"verify", "files"},
	Fields: []providers.Field{
		{Name: "auth_mode", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"oauth_refresh_token", "service_account"}, Default: "oauth_refresh_token"},
		{Name: "client_id", Label: "OAuth client ID", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth_refresh_token"}}},
		{Name: "subject", Label: "Impersonated user (domain-wide delegation)", Type: providers.TypeString},
		{Name: "root_folder_id", Label: "Root folder ID", Type: providers.TypeString},
		{Name: "shared_drive_id", Label: "Shared drive ID", Type: providers.TypeString},
		{Name: "base_url", Label: "API base URL", Type: providers.TypeString, Default: "https://www.googleapis.com/", Target: true},
		{Name: "token_url", Label: "Token URL", Type: providers.TypeString, Default: "https://oauth2.googleapis.com/token", Target: true},
		{Name: "client_secret", Label: "OAuth client secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth_refresh_token"}}},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth_refresh_token"}}},
		{Name: "service_account_json", Label: "Service account JSON key", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"service_account"}}},
	},
}
