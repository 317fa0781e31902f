// Package sharepoint is the msft_sharepoint driver: SharePoint document libraries through Microsoft Graph.
package sharepoint

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

// Driver is the msft_sharepoint provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "msft_sharepoint".
func (Driver) Name() string { return "msft_sharepoint" }

// Spec returns the msft_sharepoint fields.
func (Driver) Spec() providers.Spec { return spec }

var (
	tenantRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

// Open checks the tenant, site and URLs and prepares the client-credentials
// flow. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	base, err := parseURL("base_url", cfg.String("base_url"))
	if err != nil {
		return nil, err
	}
	authority, err := parseURL("authority_url", cfg.String("authority_url"))
	if err != nil {
		return nil, err
	}
	tenant := strings.TrimSpace(cfg.String("tenant_id"))
	if !tenantRE.MatchString(tenant) {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"msft_sharepoint: tenant_id must be the directory (tenant) ID or a domain such as contoso.onmicrosoft.com")
	}
	host := strings.TrimSpace(cfg.String("site_hostname"))
	if !hostnameRE.MatchString(host) {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"msft_sharepoint: site_hostname must be a bare host name such as contoso.sharepoint.com (no https:// and no path)")
	}
	sitePath := strings.Trim(strings.TrimSpace(cfg.String("site_path")), "/")
	if strings.Contains(sitePath, "://") || strings.ContainsAny(sitePath, "?#") {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"msft_sharepoint: site_path must be the server-relative path of the site, such as /sites/Finance")
	}
	root := strings.TrimRight(base.String(), "/")
	c := &conn{
		cfg:     cfg,
		apiRoot: root,
		site:    sitePath,
		host:    host,
		flow: providers.OAuthFlow{
			TokenURL:     strings.TrimRight(authority.String(), "/") + "/" + tenant + "/oauth2/v2.0/token",
			ClientID:     strings.TrimSpace(cfg.String("client_id")),
			ClientSecret: cfg.Secret("client_secret"),
			// The resource's ".default" scope grants the application permissions
			// the admin consented to; it follows base_url for national clouds.
			Scopes:    []string{base.Scheme + "://" + base.Host + "/.default"},
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	return c, nil
}

func parseURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"msft_sharepoint: %s must be an absolute http or https URL without user info", field)
	}
	return u, nil
}

// conn is one opened msft_sharepoint connection.
type conn struct {
	cfg     providers.Config
	apiRoot string // base_url without a trailing slash
	host    string // site_hostname
	site    string // site_path without leading or trailing slashes; "" for the root site
	flow    providers.OAuthFlow
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "msft_sharepoint", Label: "Microsoft SharePoint", Category: "files",
	AuthKinds:    []string{"oauth2_client_credentials"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
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
