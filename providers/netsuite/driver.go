// Package netsuite is the netsuite driver: NetSuite SuiteTalk REST with token-based auth or OAuth 2.0 M2M.
package netsuite

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/junctionhq/junction/providers"
)

// Driver is the netsuite provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "netsuite".
func (Driver) Name() string { return "netsuite" }

// Spec returns the netsuite fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the account id, the URLs and (for M2M) the private key, and
// returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	c := &conn{cfg: cfg, mode: cfg.String("auth_mode"), now: time.Now, nonce: rand.Text}
	if c.mode == "" {
		c.mode = "tba"
	}
	c.account = strings.TrimSpace(cfg.String("account_id"))
	if !accountRE.MatchString(c.account) {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "netsuite: account_id %q is not an account id like 1234567 or 1234567_SB1", c.account)
	}
	// The realm is the account id as NetSuite shows it (1234567_SB1); host
	// names use it lowercased with '-' (1234567-sb1).
	c.realm = strings.ToUpper(strings.ReplaceAll(c.account, "-", "_"))
	c.baseURL = "https://" + strings.ToLower(strings.ReplaceAll(c.account, "_", "-")) + ".suitetalk.api.netsuite.com"
	if v := cfg.String("base_url"); v != "" {
		u, err := providers.ParseBaseURL(name, "base_url", v, "https://1234567.suitetalk.api.netsuite.com")
		if err != nil {
			return nil, err
		}
		c.baseURL = strings.TrimSuffix(u.String(), "/")
	}
	c.tokenURL = c.baseURL + "/services/rest/auth/oauth2/v1/token"
	if v := cfg.String("token_url"); v != "" {
		u, err := providers.ParseBaseURL(name, "token_url", v, "")
		if err != nil {
			return nil, err
		}
		c.tokenURL = strings.TrimSuffix(u.String(), "/")
	}
	switch c.mode {
	case "tba":
		for _, f := range []string{"consumer_key", "consumer_secret", "token_id", "token_secret"} {
			if cfg.Secret(f) == "" {
				return nil, providers.Errorf(providers.CodeInvalidConfig, "netsuite: token-based auth needs %s", f)
			}
		}
	case "oauth2_m2m":
		if cfg.String("client_id") == "" || cfg.String("certificate_id") == "" {
			return nil, providers.Errorf(providers.CodeInvalidConfig, "netsuite: OAuth 2.0 M2M needs client_id and certificate_id")
		}
		pemKey := []byte(cfg.Secret("private_key_pem"))
		if k, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey); err == nil {
			c.key, c.alg = k, jwt.SigningMethodPS256
		} else if k, err := jwt.ParseECPrivateKeyFromPEM(pemKey); err == nil {
			c.key = k
			switch k.Curve.Params().BitSize {
			case 256:
				c.alg = jwt.SigningMethodES256
			case 384:
				c.alg = jwt.SigningMethodES384
			case 521:
				c.alg = jwt.SigningMethodES512
			default:
				return nil, providers.Errorf(providers.CodeInvalidConfig, "netsuite: private_key_pem uses an elliptic curve NetSuite does not accept (use P-256, P-384 or P-521, or RSA)")
			}
		} else {
			return nil, providers.Errorf(providers.CodeInvalidConfig, "netsuite: private_key_pem is not a PEM-encoded RSA or EC private key")
		}
		pub, err := x509.MarshalPKIXPublicKey(c.key.(crypto.Signer).Public())
		if err != nil {
			return nil, providers.Wrap(providers.CodeInvalidConfig, err, "netsuite: private_key_pem holds an unusable key")
		}
		sum := sha256.Sum256(pub)
		c.identity = cfg.String("client_id") + "\n" + cfg.String("certificate_id") + "\n" + hex.EncodeToString(sum[:])
	default:
		return nil, providers.Errorf(providers.CodeInvalidConfig, "netsuite: unknown auth_mode %q", c.mode)
	}
	c.api = providers.API{
		Provider: name,
		Config:   cfg,
		BaseURL:  c.baseURL,
		Header:   http.Header{"Accept": {"application/json"}},
		Auth:     c.auth,
		Reauth:   providers.Unauthorized, // M2M only: TBA sends no run-time token
		Error:    c.apiError,
		// The guarded client's own cap (ErrBodyTooLarge) applies first.
		MaxBody: 64 << 20,
		// A TBA signature holds a nonce NetSuite accepts once: a retry of a
		// 429 or 5xx (or of a concurrency refusal) is signed afresh.
		SignEachAttempt: c.mode == "tba",
	}
	return c, nil
}

var accountRE = regexp.MustCompile(`^[A-Za-z0-9]+([_-][A-Za-z0-9]+)*$`)

// conn is one opened netsuite connection.
type conn struct {
	cfg      providers.Config
	mode     string // "tba" or "oauth2_m2m"
	account  string
	realm    string // 1234567_SB1
	baseURL  string // without trailing slash
	tokenURL string
	key      any // *rsa.PrivateKey or *ecdsa.PrivateKey (M2M)
	alg      jwt.SigningMethod
	identity string // client, certificate and public-key hash: the M2M grant's cache identity
	api      providers.API

	// now and nonce are fields so tests can fix the signature.
	now   func() time.Time
	nonce func() string
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "netsuite", Label: "NetSuite", Category: "api",
	AuthKinds:    []string{"oauth1_tba", "oauth2_m2m"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote: "The verify query (SELECT id FROM currency) is a choice: any record the role can read would do. The host form (account id lowercased, _ to -) is inferred from Oracle URL patterns; base_url and token_url are configurable. Oracle does not publish error bodies for every case: 401 is reported as bad tokens, realm or clock, 403 as a role without REST Web Services. " +
		"Schema: the record types of the REST metadata catalog, all in one schema named \"records\" (kind object); columns from each record's JSON Schema, dataType its type with the format after a slash (string/date-time). SuiteQL table names mostly, not always, match record type names. " +
		"Query and sample run SuiteQL (SELECT, or WITH ... SELECT), paged by limit and offset up to maxRows+1; SuiteQL leaves null values out of its items, so a column seen only in later rows is null in earlier ones.",
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
