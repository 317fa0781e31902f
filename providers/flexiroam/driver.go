// Package flexiroam is the flexiroam driver: the Flexiroam reseller API (v1).
package flexiroam

import (
	"context"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/providers"
)

// Driver is the flexiroam provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "flexiroam".
func (Driver) Name() string { return "flexiroam" }

// Spec returns the flexiroam fields.
func (Driver) Spec() providers.Spec { return spec }

// baseURLs are the documented API hosts by environment.
var baseURLs = map[string]string{
	"prod": "https://api.flexiroam.com",
	"dev":  "https://devapi.flexiroam.com",
}

// Open picks the base URL (base_url, else the environment's host) and returns
// a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	raw := strings.TrimSpace(cfg.String("base_url"))
	if raw == "" {
		env := cfg.String("environment")
		if raw = baseURLs[env]; raw == "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig, "flexiroam: environment %q is not prod or dev", env)
		}
	}
	u, err := providers.ParseBaseURL("flexiroam", "base_url", raw, "https://api.flexiroam.com")
	if err != nil {
		return nil, err
	}
	email := strings.TrimSpace(cfg.String("email"))
	if email == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "flexiroam: email is required")
	}
	c := &conn{base: strings.TrimRight(u.String(), "/"), email: email}
	c.login = providers.API{
		Provider: "flexiroam", Config: cfg, BaseURL: c.base,
		Header:  http.Header{"Accept": {"application/json"}},
		Error:   loginError,
		MaxBody: 1 << 20,
	}
	c.profile = c.login
	c.profile.Auth, c.profile.Error = c.session, profileError
	return c, nil
}

// conn is one opened flexiroam connection.
type conn struct {
	base    string        // without a trailing slash
	email   string        // the login's user
	login   providers.API // its calls carry the email and password
	profile providers.API // sends the session token of a login
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "flexiroam", Label: "Flexiroam", Category: "api",
	AuthKinds:    []string{"password_login"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote:     "Public docs are partial: the reseller v1 login (POST /user/login/v1, token header) and profile call (POST /user/view/v1) follow third-party client code; the V3 auth scheme is unpublished. Failure shapes are assumed: HTTP 401/403, or a 200 whose success/status flag is false, fails the login as auth_failed with the (redacted) msg. Every URL is configurable.",
	Fields: []providers.Field{
		{Name: "environment", Label: "Environment", Type: providers.TypeEnum, Enum: []string{"prod", "dev"}, Default: "prod"},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Target: true, Help: "defaults to https://api.flexiroam.com (prod) or https://devapi.flexiroam.com (dev)"},
		{Name: "email", Label: "Email", Type: providers.TypeString, Required: true},
		{Name: "password", Label: "Password", Secret: true, Required: true},
	},
}
