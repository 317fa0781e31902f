// Package httpapi is the http_api driver: any HTTP API, with a configurable verify request.
package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

// Driver is the http_api provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "http_api".
func (Driver) Name() string { return "http_api" }

// Spec returns the http_api fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks the URLs, the auth settings and extra_headers and builds the
// verify URL. It does no network I/O; every problem is CodeInvalidConfig.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	base, err := providers.ParseURL(name, "base_url", cfg.String("base_url"))
	if err != nil {
		return nil, err
	}
	base.Fragment, base.RawFragment = "", ""
	target, err := verifyURL(base, cfg.String("verify_path"))
	if err != nil {
		return nil, err
	}
	c := &conn{target: target, method: cfg.String("verify_method"), want: int(cfg.Int("expected_status"))}
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.want != 0 && (c.want < 100 || c.want > 599) {
		return nil, invalidAt([]string{"expected_status"}, "expected_status must be an HTTP status between 100 and 599")
	}
	auth := cfg.String("auth_type")
	if auth == "" {
		auth = "none"
	}
	keyName := strings.TrimSpace(cfg.String("api_key_name"))
	switch auth {
	case "api_key_header":
		if !validHeaderName(keyName) {
			return nil, invalidAt([]string{"api_key_name"}, "api_key_name must be a valid HTTP header name")
		}
	case "api_key_query":
		if keyName == "" {
			return nil, invalidAt([]string{"api_key_name"}, "api_key_name must name the query parameter that carries the key")
		}
	case "oauth2_client_credentials":
		if _, err := providers.ParseURL(name, "token_url", cfg.String("token_url")); err != nil {
			return nil, err
		}
	}
	headers, err := extraHeaders(cfg.Settings["extra_headers"], auth, keyName)
	if err != nil {
		return nil, err
	}
	c.api = providers.API{
		Provider: name, Config: cfg, BaseURL: target.String(), Header: headers,
		Auth: authFunc(cfg, auth, keyName),
		// With the client-credentials grant, an unexpected 401 gets one new
		// token and one retry: a cached token can be revoked before it
		// expires.
		Reauth:  providers.Unauthorized,
		Error:   c.statusError,
		MaxBody: 4 << 10, // only the start of the answer is quoted
	}
	return c, nil
}

// authFunc returns how the verify request authenticates for auth_type.
func authFunc(cfg providers.Config, auth, keyName string) providers.AuthFunc {
	switch auth {
	case "basic":
		pair := base64.StdEncoding.EncodeToString([]byte(cfg.Secret("username") + ":" + cfg.Secret("password")))
		return providers.HeaderAuth("Authorization", "Basic "+pair)
	case "bearer":
		return providers.HeaderAuth("Authorization", "Bearer "+cfg.Secret("token"))
	case "api_key_header":
		return providers.HeaderAuth(keyName, cfg.Secret("api_key"))
	case "api_key_query":
		return func(_ context.Context, r *http.Request, _ string) (string, error) {
			q := r.URL.Query()
			q.Set(keyName, cfg.Secret("api_key"))
			r.URL.RawQuery = q.Encode()
			return "", nil
		}
	case "oauth2_client_credentials":
		flow := providers.OAuthFlow{
			TokenURL:     cfg.String("token_url"),
			ClientID:     cfg.String("client_id"),
			ClientSecret: cfg.Secret("client_secret"),
			Scopes:       cfg.StringList("scopes"),
		}
		if aud := strings.TrimSpace(cfg.String("audience")); aud != "" {
			flow.EndpointParams = url.Values{"audience": {aud}}
		}
		// In the Authorization header as the token type says.
		return providers.TokenAuth(cfg, name, flow, func(r *http.Request, tok *oauth2.Token) { tok.SetAuthHeader(r) })
	}
	return nil
}

func invalid(format string, args ...any) *providers.Error {
	return providers.Errorf(providers.CodeInvalidConfig, "http_api: "+format, args...)
}

// invalidAt is invalid at a field (and a key inside it), so the API answers
// 422 there.
func invalidAt(loc []string, format string, args ...any) *providers.Error {
	e := invalid(format, args...)
	e.Field = loc
	return e
}

// verifyURL appends path (which may carry a query) to base's path, keeping
// base's host: "https://h/api" + "/status?x=1" is "https://h/api/status?x=1".
func verifyURL(base *url.URL, path string) (*url.URL, error) {
	path = strings.TrimSpace(path)
	p, q, _ := strings.Cut(path, "?")
	root := *base
	root.RawQuery = ""
	u, err := url.Parse(strings.TrimRight(root.String(), "/") + "/" + strings.TrimLeft(p, "/"))
	if err != nil || u.Host != base.Host || strings.Contains(p, "#") {
		return nil, invalidAt([]string{"verify_path"}, "verify_path %q is not a valid path", path)
	}
	u.RawQuery = strings.Trim(base.RawQuery+"&"+q, "&")
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return nil, invalidAt([]string{"verify_path"}, "verify_path %q has a malformed query", path)
	}
	return u, nil
}

// reservedHeaders may not be set through extra_headers: credentials belong in
// the sealed secret fields, and framing headers belong to the HTTP client.
var reservedHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Host",
	"Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer"}

// extraHeaders validates the extra_headers object: string values, valid
// names and values, and nothing that would replace or carry a credential.
func extraHeaders(v any, auth, keyName string) (http.Header, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalidAt([]string{"extra_headers"}, "extra_headers must be an object of header names to string values")
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	h := http.Header{}
	for _, k := range names {
		s, ok := m[k].(string)
		if !ok {
			return nil, invalidAt([]string{"extra_headers", k}, "extra_headers[%q] must be a string, not %s", k, jsonType(m[k]))
		}
		if !validHeaderName(k) {
			return nil, invalidAt([]string{"extra_headers", k}, "extra_headers: %q is not a valid header name", k)
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			return nil, invalidAt([]string{"extra_headers", k}, "extra_headers[%q] contains a line break or NUL", k)
		}
		ck := http.CanonicalHeaderKey(k)
		for _, r := range reservedHeaders {
			if ck == r {
				return nil, invalidAt([]string{"extra_headers", k}, "extra_headers may not set %s: put credentials in the auth_type fields, which are stored sealed", ck)
			}
		}
		if auth == "api_key_header" && ck == http.CanonicalHeaderKey(keyName) {
			return nil, invalidAt([]string{"extra_headers", k}, "extra_headers may not set %s: it carries the API key", ck)
		}
		h.Set(ck, s)
	}
	return h, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// conn is one opened http_api connection.
type conn struct {
	api    providers.API // based at target, with the auth and extra headers
	target *url.URL      // base_url + verify_path
	method string        // GET or HEAD
	want   int           // expected_status; 0 for any 2xx
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "http_api", Label: "HTTP API", Category: "api",
	AuthKinds:    []string{"none", "basic", "bearer", "api_key_header", "api_key_query", "oauth2_client_credentials"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "base_url", Label: "Base URL", Type: providers.TypeString, Required: true, Target: true},
		{Name: "auth_type", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"none", "basic", "bearer", "api_key_header", "api_key_query", "oauth2_client_credentials"}, Default: "none"},
		{Name: "verify_method", Label: "Verify method", Type: providers.TypeEnum, Enum: []string{"GET", "HEAD"}, Default: "GET"},
		{Name: "verify_path", Label: "Verify path", Type: providers.TypeString, Default: "/"},
		{Name: "expected_status", Label: "Expected status", Type: providers.TypeInt, Help: "any 2xx when unset"},
		{Name: "api_key_name", Label: "API key header or query name", Type: providers.TypeString, Default: "X-API-Key"},
		{Name: "token_url", Label: "OAuth token URL", Type: providers.TypeString, Target: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"oauth2_client_credentials"}}},
		{Name: "client_id", Label: "OAuth client ID", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"oauth2_client_credentials"}}},
		{Name: "scopes", Label: "OAuth scopes", Type: providers.TypeStringList},
		{Name: "audience", Label: "OAuth audience", Type: providers.TypeString},
		{Name: "extra_headers", Label: "Extra headers", Type: providers.TypeObject},
		{Name: "token", Label: "Bearer token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"bearer"}}},
		{Name: "username", Label: "Username", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
		{Name: "password", Label: "Password", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
		{Name: "api_key", Label: "API key", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"api_key_header", "api_key_query"}}},
		{Name: "client_secret", Label: "OAuth client secret", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"oauth2_client_credentials"}}},
	},
}
