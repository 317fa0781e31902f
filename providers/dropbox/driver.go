// Package dropbox is the dropbox driver: Dropbox through the v2 HTTP API.
package dropbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

// Driver is the dropbox provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "dropbox".
func (Driver) Name() string { return "dropbox" }

// Spec returns the dropbox fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the URLs and the team namespace id and prepares the
// refresh-token flow. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	base, err := providers.ParseURL(name, "base_url", cfg.String("base_url"))
	if err != nil {
		return nil, err
	}
	tokenURL, err := providers.ParseURL(name, "token_url", cfg.String("token_url"))
	if err != nil {
		return nil, err
	}
	rootPath, err := providers.CleanPath(strings.TrimSpace(cfg.String("root_path")))
	if err != nil {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "dropbox: root_path must be a folder path such as /Reports")
	}
	c := &conn{cfg: cfg, root: strings.TrimSuffix(rootPath, "/")}
	c.api = providers.API{
		Provider: name,
		Config:   cfg,
		BaseURL:  strings.TrimRight(base.String(), "/"),
		Header:   http.Header{},
		Auth: providers.BearerAuth(cfg, name, providers.OAuthFlow{
			TokenURL:     tokenURL.String(),
			ClientID:     strings.TrimSpace(cfg.String("app_key")),
			ClientSecret: cfg.Secret("app_secret"),
			RefreshToken: cfg.Secret("refresh_token"),
			AuthStyle:    oauth2.AuthStyleInParams,
		}),
		Reauth: c.tokenRejected,
		Error:  c.classify,
	}
	if ns := strings.TrimSpace(cfg.String("path_root")); ns != "" {
		if strings.Trim(ns, "0123456789") != "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig,
				"dropbox: path_root must be a namespace id (digits only, the root_namespace_id of the team space)")
		}
		// Root mode: Dropbox answers 422 when this is not the user's root
		// namespace (https://www.dropbox.com/developers/reference/path-root-header-modes).
		b, _ := json.Marshal(map[string]string{".tag": "root", "root": ns})
		c.api.Header.Set("Dropbox-API-Path-Root", string(b))
	}
	return c, nil
}

// conn is one opened dropbox connection.
type conn struct {
	cfg  providers.Config
	api  providers.API
	root string // root_path as a clean path, "" for the account's root
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "dropbox", Label: "Dropbox", Category: "files",
	AuthKinds:    []string{"oauth2_refresh_token"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
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
