// Package redo is the redo driver: the Redo returns API.
package redo

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/junctionhq/junction/providers"
)

// Driver is the redo provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "redo".
func (Driver) Name() string { return "redo" }

// Spec returns the redo fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks base_url and store_id and returns a Conn for cfg. It does no
// network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	base, err := providers.ParseBaseURL("redo", "base_url", cfg.String("base_url"), "https://api.getredo.com")
	if err != nil {
		return nil, err
	}
	storeID := strings.TrimSpace(cfg.String("store_id"))
	if !storeIDPattern.MatchString(storeID) || storeID == "." || storeID == ".." {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"redo: store_id %q is not a Redo store ID: copy it from Settings > Developer in the Redo dashboard (letters, digits, '-' and '_' only)", storeID)
	}
	c := &conn{storeID: storeID, returnsPath: "/v2.2/stores/" + url.PathEscape(storeID) + "/returns"}
	c.api = providers.API{
		Provider: "redo", Config: cfg, BaseURL: strings.TrimRight(base.String(), "/"),
		// The published OpenAPI schema names the page size as a header; the
		// pagination guide as the page-size query parameter. Send both.
		Header: http.Header{"Accept": {"application/json"}, "X-Page-Size": {"1"}},
		Auth:   providers.HeaderAuth("Authorization", "Bearer "+cfg.Secret("api_secret")),
		Error:  c.statusError,
	}
	return c, nil
}

// storeIDPattern is deliberately loose (Redo shows 24 hex digits; its docs
// use "store_123"): it only keeps the ID one path segment.
var storeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

// conn is one opened redo connection.
type conn struct {
	api         providers.API
	storeID     string
	returnsPath string // the store's returns, below base_url
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "redo", Label: "Redo", Category: "api",
	AuthKinds:    []string{"api_key"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote:     "Rate limits and the error catalogue are not published. The page size is sent both as the page-size query parameter (pagination guide) and the X-Page-Size header (published OpenAPI schema).",
	Fields: []providers.Field{
		{Name: "store_id", Label: "Store ID", Type: providers.TypeString, Required: true},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Default: "https://api.getredo.com", Target: true},
		{Name: "api_secret", Label: "API secret", Secret: true, Required: true},
	},
}
