// Package netsuite is the netsuite driver: NetSuite SuiteTalk REST with token-based auth or OAuth 2.0 M2M.
package netsuite

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the netsuite provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "netsuite".
func (Driver) Name() string { return "netsuite" }

// Spec returns the netsuite fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened netsuite connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "netsuite", Label: "NetSuite", Category: "api",
	AuthKinds:    []string{"oauth1_tba", "oauth2_m2m"},
	Capabilities: []string{"verify", "schema", "query"},
	Fields: []providers.Field{
		{Name: "account_id", Label: "Account ID", Type: providers.TypeString, Required: true, Target: true, Help: "1234567 or 1234567_SB1"},
		{Name: "auth_mode", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"tba", "oauth2_m2m"}, Default: "tba"},
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Target: true, Help: "defaults to https://{account}.suitetalk.api.netsuite.com"},
		{Name: "token_url", Label: "Token URL (M2M)", Type: providers.TypeString, Target: true},
		{Name: "client_id", Label: "Client ID (M2M)", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth2_m2m"}}},
		{Name: "certificate_id", Label: "Certificate ID (M2M)", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth2_m2m"}}},
		{Name: "consumer_key", Label: "Consumer key", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"tba"}}},
		{Name: "consumer_secret", Label: "Consumer secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"tba"}}},
		{Name: "token_id", Label: "Token ID", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"tba"}}},
		{Name: "token_secret", Label: "Token secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"tba"}}},
		{Name: "private_key_pem", Label: "Private key (PEM, M2M)", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"oauth2_m2m"}}},
	},
}
