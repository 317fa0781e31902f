// Package starlink is the starlink driver: the Starlink enterprise API (v2 service accounts).
package starlink

import (
	"context"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

// Driver is the starlink provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "starlink".
func (Driver) Name() string { return "starlink" }

// Spec returns the starlink fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the base and token URLs and returns a Conn for cfg. It does no
// network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	base, err := providers.ParseBaseURL("starlink", "base_url", cfg.String("base_url"), "https://starlink.com/api")
	if err != nil {
		return nil, err
	}
	tokenURL, err := providers.ParseBaseURL("starlink", "token_url", cfg.String("token_url"), "https://starlink.com/api/auth/connect/token")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.String("client_id")) == "" || strings.TrimSpace(cfg.Secret("client_secret")) == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "starlink: client_id and client_secret of a V2 service account are required")
	}
	c := &conn{}
	c.api = providers.API{
		Provider: "starlink", Config: cfg, BaseURL: strings.TrimRight(base.String(), "/"),
		Header: http.Header{"Accept": {"application/json"}},
		// A token of the V2 service account (the client-credentials grant,
		// client_secret_basic) as a bearer token.
		Auth: providers.BearerAuth(cfg, "starlink", providers.OAuthFlow{
			TokenURL:     tokenURL.String(),
			ClientID:     strings.TrimSpace(cfg.String("client_id")),
			ClientSecret: cfg.Secret("client_secret"),
			AuthStyle:    oauth2.AuthStyleInHeader,
		}),
		// A cached token the API refuses (revoked, or expired early) is
		// replaced once by a freshly minted one, as Starlink's docs advise.
		Reauth: providers.Unauthorized,
		Error:  statusError,
	}
	return c, nil
}

// conn is one opened starlink connection.
type conn struct {
	api providers.API
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "starlink", Label: "Starlink", Category: "api",
	AuthKinds:    []string{"oauth2_client_credentials"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote:     "Base and token URLs differ between Starlink's docs and integrations; both are configurable.",
	Fields: []providers.Field{
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Default: "https://starlink.com/api", Target: true},
		{Name: "token_url", Label: "Token URL", Type: providers.TypeString, Default: "https://starlink.com/api/auth/connect/token", Target: true},
		{Name: "client_id", Label: "Client ID", Type: providers.TypeString, Required: true},
		{Name: "account_number", Label: "Account number", Type: providers.TypeString},
		{Name: "client_secret", Label: "Client secret", Secret: true, Required: true},
	},
}
