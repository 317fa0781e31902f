// Package bullhorn is the bullhorn driver: the Bullhorn staffing REST API.
package bullhorn

import (
	"context"
	"strings"

	"github.com/junctionhq/junction/providers"
)

// Driver is the bullhorn provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "bullhorn".
func (Driver) Name() string { return "bullhorn" }

// Spec returns the bullhorn fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the URLs and that a password or refresh token is set, and
// returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	if cfg.Secret("api_password") == "" && cfg.Secret("refresh_token") == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "bullhorn: set api_password (programmatic login) or refresh_token")
	}
	c := &conn{cfg: cfg}
	u, err := providers.ParseBaseURL(name, "login_info_url", cfg.String("login_info_url"), "")
	if err != nil {
		return nil, err
	}
	c.loginInfoURL = strings.TrimSuffix(u.String(), "/")
	// The OAuth and REST URLs may be pasted with the endpoint they end with.
	if v := cfg.String("oauth_url"); v != "" {
		if u, err = providers.ParseBaseURL(name, "oauth_url", v, ""); err != nil {
			return nil, err
		}
		c.oauthURL = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), "/authorize"), "/token")
	}
	if v := cfg.String("rest_url"); v != "" {
		if u, err = providers.ParseBaseURL(name, "rest_url", v, ""); err != nil {
			return nil, err
		}
		c.restURL = strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), "/login")
	}
	return c, nil
}

// conn is one opened bullhorn connection.
type conn struct {
	cfg          providers.Config
	loginInfoURL string
	oauthURL     string // configured, without trailing slash; "" to ask loginInfo
	restURL      string // configured REST login base, without trailing slash; "" to ask loginInfo
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "bullhorn", Label: "Bullhorn", Category: "api",
	AuthKinds:    []string{"oauth2_programmatic_login", "oauth2_refresh_token"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote:     "Bullhorn documents its token calls with parameters in the query string; the authorization-code exchange follows that, while the refresh-token grant goes through x/oauth2 and sends them as a form body (which Bullhorn's token endpoint also accepts, as other clients show). Whether one access token may open several REST sessions is not documented: a refused one is refreshed once. An authorize page answering 200 instead of a redirect is read as a refused login.",
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
