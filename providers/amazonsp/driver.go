// Package amazonsp is the amazon_sp driver: the Amazon Selling Partner API with Login with Amazon.
package amazonsp

import (
	"context"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

// Driver is the amazon_sp provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "amazon_sp".
func (Driver) Name() string { return "amazon_sp" }

// Spec returns the amazon_sp fields.
func (Driver) Spec() providers.Spec { return spec }

// Open picks the endpoint (base_url, else the region's production or sandbox
// host), checks the LWA token URL and returns a Conn for cfg. It does no
// network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	region := cfg.String("region")
	switch region {
	case "na", "eu", "fe":
	default:
		return nil, providers.Errorf(providers.CodeInvalidConfig, "amazon_sp: region %q is not na, eu or fe", region)
	}
	endpoint := strings.TrimSpace(cfg.String("base_url"))
	if endpoint == "" {
		endpoint = "https://sellingpartnerapi-" + region + ".amazon.com"
		if cfg.Bool("sandbox") {
			endpoint = "https://sandbox.sellingpartnerapi-" + region + ".amazon.com"
		}
	}
	base, err := providers.ParseBaseURL("amazon_sp", "base_url", endpoint, "https://sellingpartnerapi-na.amazon.com")
	if err != nil {
		return nil, err
	}
	tokenURL, err := providers.ParseBaseURL("amazon_sp", "token_url", cfg.String("token_url"), "https://api.amazon.com/auth/o2/token")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.String("lwa_client_id")) == "" || strings.TrimSpace(cfg.Secret("lwa_client_secret")) == "" ||
		strings.TrimSpace(cfg.Secret("refresh_token")) == "" {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "amazon_sp: lwa_client_id, lwa_client_secret and refresh_token are required")
	}
	var ids []string
	for _, id := range cfg.StringList("marketplace_ids") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	c := &conn{region: region, marketplaceIDs: ids,
		participationsURL: strings.TrimRight(base.String(), "/") + "/sellers/v1/marketplaceParticipations"}
	c.api = providers.API{
		Provider: "amazon_sp", Config: cfg, BaseURL: c.participationsURL,
		Header: http.Header{"Accept": {"application/json"}, "User-Agent": {"Junction/1.0 (Language=Go)"}},
		// An LWA access token, in the x-amz-access-token header.
		Auth: providers.TokenAuth(cfg, "amazon_sp", providers.OAuthFlow{
			TokenURL:     tokenURL.String(),
			ClientID:     strings.TrimSpace(cfg.String("lwa_client_id")),
			ClientSecret: cfg.Secret("lwa_client_secret"),
			RefreshToken: cfg.Secret("refresh_token"),
			AuthStyle:    oauth2.AuthStyleInParams, // LWA takes the client credentials in the form
		}, providers.TokenHeader("x-amz-access-token", "")),
		// A cached access token SP-API refuses is replaced once.
		Reauth: func(a providers.Answer) bool { return tokenRejected(a.StatusCode, parseErrors(a.Body)) },
		Error:  c.statusError,
	}
	return c, nil
}

// conn is one opened amazon_sp connection.
type conn struct {
	api               providers.API
	region            string
	marketplaceIDs    []string
	participationsURL string
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "amazon_sp", Label: "Amazon Selling Partner API", Category: "api",
	AuthKinds:    []string{"lwa_refresh_token"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "region", Label: "Region", Type: providers.TypeEnum, Enum: []string{"na", "eu", "fe"}, Default: "na"},
		{Name: "sandbox", Label: "Sandbox", Type: providers.TypeBool, Default: false},
		{Name: "marketplace_ids", Label: "Marketplace IDs", Type: providers.TypeStringList},
		{Name: "base_url", Label: "Endpoint", Type: providers.TypeString, Target: true, Help: "defaults to https://sellingpartnerapi-{region}.amazon.com, or https://sandbox.sellingpartnerapi-{region}.amazon.com with sandbox"},
		{Name: "token_url", Label: "LWA token URL", Type: providers.TypeString, Default: "https://api.amazon.com/auth/o2/token", Target: true},
		{Name: "lwa_client_id", Label: "LWA client ID", Type: providers.TypeString, Required: true},
		{Name: "lwa_client_secret", Label: "LWA client secret", Secret: true, Required: true},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, Required: true},
	},
}
