// Package salesforce is the salesforce driver: the Salesforce REST API.
package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/junctionhq/junction/providers"
)

// Driver is the salesforce provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "salesforce".
func (Driver) Name() string { return "salesforce" }

// Spec returns the salesforce fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the URLs, the API version and (for JWT bearer) the private key,
// and returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	c := &conn{cfg: cfg, mode: cfg.String("auth_mode")}
	if c.mode == "" {
		c.mode = "refresh_token"
	}
	u, err := providers.ParseBaseURL(name, "login_url", cfg.String("login_url"), "https://login.salesforce.com")
	if err != nil {
		return nil, err
	}
	c.loginURL = strings.TrimSuffix(u.String(), "/")
	if v := cfg.String("instance_url"); v != "" {
		if u, err = providers.ParseBaseURL(name, "instance_url", v, "https://example.my.salesforce.com"); err != nil {
			return nil, err
		}
		c.instanceURL = strings.TrimSuffix(u.String(), "/")
	}
	c.apiVersion = strings.TrimSpace(cfg.String("api_version"))
	if c.apiVersion == "" {
		c.apiVersion = "v62.0"
	}
	if !strings.HasPrefix(c.apiVersion, "v") {
		c.apiVersion = "v" + c.apiVersion
	}
	if !apiVersionRE.MatchString(c.apiVersion) {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "salesforce: api_version %q is not a version like v62.0", cfg.String("api_version"))
	}
	switch c.mode {
	case "refresh_token", "client_credentials":
	case "jwt_bearer":
		if cfg.String("username") == "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig, "salesforce: jwt_bearer needs the username the token is issued for")
		}
		if c.key, err = jwt.ParseRSAPrivateKeyFromPEM([]byte(cfg.Secret("private_key_pem"))); err != nil {
			return nil, providers.Errorf(providers.CodeInvalidConfig, "salesforce: private_key_pem is not a PEM-encoded RSA private key (PKCS#1 or PKCS#8)")
		}
		sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(&c.key.PublicKey))
		c.identity = cfg.String("client_id") + "\n" + cfg.String("username") + "\n" + hex.EncodeToString(sum[:])
	default:
		return nil, providers.Errorf(providers.CodeInvalidConfig, "salesforce: unknown auth_mode %q", c.mode)
	}
	c.api = providers.API{
		Provider: name,
		Config:   cfg,
		// Empty when the instance comes from the token response: auth then
		// sends each request to that instance.
		BaseURL: c.instanceURL,
		Header:  http.Header{"Accept": {"application/json"}},
		Auth:    c.auth,
		Reauth:  providers.Unauthorized,
		Error:   c.apiError,
		// The guarded client's own cap (ErrBodyTooLarge) applies first.
		MaxBody: 64 << 20,
	}
	return c, nil
}

var apiVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// conn is one opened salesforce connection.
type conn struct {
	cfg         providers.Config
	mode        string // refresh_token, client_credentials or jwt_bearer
	loginURL    string // without trailing slash
	instanceURL string // configured instance, or "" to use the token's
	apiVersion  string // "v62.0"
	key         *rsa.PrivateKey
	identity    string // client, user and public-key hash: the JWT grant's cache identity
	api         providers.API
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "salesforce", Label: "Salesforce", Category: "api",
	AuthKinds:    []string{"oauth2_refresh_token", "oauth2_client_credentials", "jwt_bearer"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote: "The JWT bearer assertion uses login_url as its audience (https://login.salesforce.com or https://test.salesforce.com). The instance comes from instance_url, else the token response, else a My Domain login_url. " +
		"Schema: the queryable sObjects, all in one schema named \"sobjects\" (kind object); dataType is the describe field type, with the length of text types (string(255)) and the precision and scale of numbers (currency(18,2)). " +
		"Query accepts one SOQL SELECT (GET /query, following nextRecordsUrl).",
	Fields: []providers.Field{
		{Name: "auth_mode", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"refresh_token", "client_credentials", "jwt_bearer"}, Default: "refresh_token"},
		{Name: "login_url", Label: "Login URL", Type: providers.TypeString, Default: "https://login.salesforce.com", Target: true},
		{Name: "instance_url", Label: "Instance URL", Type: providers.TypeString, Target: true, Help: "learned from the token response when unset"},
		{Name: "api_version", Label: "API version", Type: providers.TypeString, Default: "v62.0"},
		{Name: "client_id", Label: "Consumer key", Type: providers.TypeString, Required: true},
		{Name: "username", Label: "Username (JWT bearer)", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"jwt_bearer"}}},
		{Name: "client_secret", Label: "Consumer secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"refresh_token", "client_credentials"}}},
		{Name: "refresh_token", Label: "Refresh token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"refresh_token"}}},
		{Name: "private_key_pem", Label: "Private key (PEM)", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_mode", Values: []string{"jwt_bearer"}}},
	},
}
