// Package klaviyo is the klaviyo driver: the Klaviyo API with a private key.
package klaviyo

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/junctionhq/junction/providers"
)

// Driver is the klaviyo provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "klaviyo".
func (Driver) Name() string { return "klaviyo" }

// Spec returns the klaviyo fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks base_url and revision and returns a Conn for cfg. It does no
// network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	u, err := providers.ParseBaseURL("klaviyo", "base_url", cfg.String("base_url"), "https://a.klaviyo.com")
	if err != nil {
		return nil, err
	}
	rev := strings.TrimSpace(cfg.String("revision"))
	if !revisionPattern.MatchString(rev) {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"klaviyo: revision %q is not a Klaviyo API revision; use a date such as 2026-10-15", rev)
	}
	c := &conn{revision: rev}
	c.api = providers.API{
		Provider: "klaviyo", Config: cfg, BaseURL: strings.TrimRight(u.String(), "/"),
		Header: http.Header{"Revision": {rev}, "Accept": {"application/vnd.api+json"}},
		Auth:   providers.HeaderAuth("Authorization", "Klaviyo-API-Key "+cfg.Secret("private_api_key")),
		Error:  c.statusError,
	}
	return c, nil
}

// revisionPattern matches Klaviyo revisions: a date, optionally with a
// suffix such as ".pre".
var revisionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$`)

// conn is one opened klaviyo connection.
type conn struct {
	api      providers.API
	revision string
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "klaviyo", Label: "Klaviyo", Category: "api",
	AuthKinds:    []string{"api_key"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Default: "https://a.klaviyo.com", Target: true},
		{Name: "revision", Label: "API revision", Type: providers.TypeString, Default: "2026-10-15"},
		{Name: "private_api_key", Label: "Private API key", Secret: true, Required: true},
	},
}
