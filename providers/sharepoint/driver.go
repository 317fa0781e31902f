// Package sharepoint is the msft_sharepoint driver: SharePoint document libraries through Microsoft Graph.
package sharepoint

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the msft_sharepoint provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "msft_sharepoint".
func (Driver) Name() string { return "msft_sharepoint" }

// Spec returns the msft_sharepoint fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened msft_sharepoint connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "msft_sharepoint", Label: "Microsoft SharePoint", Category: "files",
	AuthKinds:    []string{"oauth2_client_credentials"},
	Capabilities: []string{"verify", "files"},
	Fields: []providers.Field{
		{Name: "tenant_id", Label: "Entra tenant ID", Type: providers.TypeString, Required: true},
		{Name: "client_id", Label: "Client ID", Type: providers.TypeString, Required: true},
		{Name: "site_hostname", Label: "Site host name", Type: providers.TypeString, Required: true, Help: "contoso.sharepoint.com"},
		{Name: "site_path", Label: "Site path", Type: providers.TypeString, Help: "/sites/Finance; empty for the root site"},
		{Name: "drive_id", Label: "Drive ID", Type: providers.TypeString},
		{Name: "root_path", Label: "Root path", Type: providers.TypeString},
		{Name: "base_url", Label: "Graph base URL", Type: providers.TypeString, Default: "https://graph.microsoft.com", Target: true},
		{Name: "authority_url", Label: "Authority URL", Type: providers.TypeString, Default: "https://login.microsoftonline.com", Target: true},
		{Name: "client_secret", Label: "Client secret", Secret: true, Required: true},
	},
}
