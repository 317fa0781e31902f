// Package googledrive is the google_drive driver: Google Drive through the Drive v3 API.
package googledrive

import (
	"context"
	"strings"

	"google.golang.org/api/drive/v3"
	"google.golang.org/api/option"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/googleauth"
)

// scope is the read-only Drive scope every token is requested for.
const scope = "https://www.googleapis.com/auth/drive.readonly"

// Driver is the google_drive provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "google_drive".
func (Driver) Name() string { return "google_drive" }

// Spec returns the google_drive fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the URLs and the credentials' shape and builds the Drive client.
// It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	base, err := providers.ParseURL("google_drive", "base_url", cfg.String("base_url"))
	if err != nil {
		return nil, err
	}
	auth, err := googleauth.New("google_drive", cfg, base.Host, scope, strings.TrimSpace(cfg.String("subject")))
	if err != nil {
		return nil, err
	}
	// The generated client resolves "about", "files", ... against its base
	// path, which for Drive is "<root>/drive/v3/".
	endpoint := strings.TrimRight(base.String(), "/") + "/drive/v3/"
	svc, err := drive.NewService(ctx, option.WithEndpoint(endpoint), option.WithHTTPClient(auth.HTTPClient()))
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "google_drive: could not build the Drive client")
	}
	return &conn{cfg: cfg, auth: auth, svc: svc}, nil
}

// conn is one opened google_drive connection.
type conn struct {
	cfg  providers.Config
	auth *googleauth.Auth
	svc  *drive.Service
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "google_drive", Label: "Google Drive", Category: "files",
	AuthKinds:    []string{"oauth2_refresh_token", "service_account"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
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
