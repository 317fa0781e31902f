// Package gorgias is the gorgias driver: the Gorgias helpdesk REST API.
package gorgias

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/junctionhq/junction/providers"
)

// Driver is the gorgias provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "gorgias".
func (Driver) Name() string { return "gorgias" }

// Spec returns the gorgias fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the subdomain and base URL and returns a Conn for cfg. It does
// no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	sub := strings.ToLower(strings.TrimSpace(cfg.String("subdomain")))
	if !subdomainRE.MatchString(sub) {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"gorgias: subdomain %q is not a Gorgias subdomain: give only the first label, e.g. acme for acme.gorgias.com", cfg.String("subdomain"))
	}
	c := &conn{baseURL: "https://" + sub + ".gorgias.com"}
	if v := cfg.String("base_url"); v != "" {
		u, err := providers.ParseBaseURL(name, "base_url", v, "https://acme.gorgias.com")
		if err != nil {
			return nil, err
		}
		c.baseURL = strings.TrimSuffix(u.String(), "/")
	}
	c.api = providers.API{
		Provider: name, Config: cfg, BaseURL: c.baseURL,
		Header: http.Header{"Accept": {"application/json"}},
		Auth:   basicAuth(cfg.String("username"), cfg.Secret("api_key")),
		Error:  statusError,
	}
	return c, nil
}

// basicAuth sends the user's email and API key as HTTP Basic credentials.
// The encoded pair is returned as the token, so it is redacted whole (the
// email is no secret, so the key alone would leave part of the pair).
func basicAuth(email, key string) providers.AuthFunc {
	return func(_ context.Context, r *http.Request, _ string) (string, error) {
		r.SetBasicAuth(email, key)
		return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic "), nil
	}
}

var subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// conn is one opened gorgias connection.
type conn struct {
	api     providers.API
	baseURL string // without trailing slash
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "gorgias", Label: "Gorgias", Category: "api",
	AuthKinds:    []string{"basic"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "subdomain", Label: "Subdomain", Type: providers.TypeString, Required: true, Target: true, Help: "{subdomain}.gorgias.com"},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Target: true, Help: "defaults to https://{subdomain}.gorgias.com"},
		{Name: "username", Label: "Email", Type: providers.TypeString, Required: true},
		{Name: "api_key", Label: "API key", Secret: true, Required: true},
	},
}
