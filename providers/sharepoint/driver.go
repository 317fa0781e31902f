// Package sharepoint is the msft_sharepoint driver: SharePoint document libraries through Microsoft Graph.
package sharepoint

import (
	"context"
	"net/http"
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
	base, err := providers.ParseURL(name, "base_url", cfg.String("base_url"))
	if err != nil {
		return nil, err
	}
	authority, err := providers.ParseURL(name, "authority_url", cfg.String("authority_url"))
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
	rootPath, err := providers.CleanPath(strings.TrimSpace(cfg.String("root_path")))
	if err != nil {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "msft_sharepoint: root_path must be a folder path such as /Reports")
	}
	flow := providers.OAuthFlow{
		TokenURL:     strings.TrimRight(authority.String(), "/") + "/" + tenant + "/oauth2/v2.0/token",
		ClientID:     strings.TrimSpace(cfg.String("client_id")),
		ClientSecret: cfg.Secret("client_secret"),
		// The resource's ".default" scope grants the application permissions
		// the admin consented to; it follows base_url for national clouds.
		Scopes:    []string{base.Scheme + "://" + base.Host + "/.default"},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	bearer := providers.BearerAuth(cfg, name, flow)
	c := &conn{
		cfg:       cfg,
		site:      sitePath,
		host:      host,
		driveID:   strings.TrimSpace(cfg.String("drive_id")),
		rootPath:  strings.TrimSuffix(rootPath, "/"),
		driveLock: make(chan struct{}, 1),
		api: providers.API{
			Provider: name,
			Config:   cfg,
			BaseURL:  strings.TrimRight(base.String(), "/"),
			Header:   http.Header{"Accept": {"application/json"}},
			Auth: func(ctx context.Context, r *http.Request, rejected string) (string, error) {
				tok, err := bearer(ctx, r, rejected)
				if err != nil {
					return "", tokenError(err)
				}
				return tok, nil
			},
			// Graph refuses a revoked or expired token with 401: get a new
			// one once, since a cached token can be revoked before it expires.
			Reauth: providers.Unauthorized,
			Error:  classify,
		},
	}
	return c, nil
}

// conn is one opened msft_sharepoint connection.
type conn struct {
	cfg      providers.Config
	api      providers.API
	host     string // site_hostname
	site     string // site_path without leading or trailing slashes; "" for the root site
	driveID  string // drive_id, or "" for the site's default drive
	rootPath string // root_path as a clean path, "" for the drive's root

	// driveLock (a one-slot semaphore, so a waiter can give up with its
	// context) guards resolvedDrive, the site's default drive once found.
	driveLock     chan struct{}
	resolvedDrive string
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
