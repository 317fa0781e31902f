// Package mlflow is the mlflow driver: an MLflow tracking server.
package mlflow

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/junctionhq/junction/providers"
)

// Driver is the mlflow provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "mlflow".
func (Driver) Name() string { return "mlflow" }

// Spec returns the mlflow fields.
func (Driver) Spec() providers.Spec { return spec }

// Open checks tracking_uri and the auth settings. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	raw := strings.TrimSpace(cfg.String("tracking_uri"))
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		hint := ""
		if strings.HasPrefix(raw, "databricks") {
			hint = " (for Databricks use the workspace URL, https://<workspace>.cloud.databricks.com, with a bearer token)"
		}
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"mlflow: tracking_uri must be the http or https URL of the tracking server%s", hint)
	}
	if u.User != nil {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"mlflow: tracking_uri must not contain a user name or password; use auth_type basic")
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	c := &conn{api: providers.API{
		Provider: name, Config: cfg, BaseURL: strings.TrimRight(u.String(), "/"),
		Header:  http.Header{"Accept": {"application/json"}},
		Error:   apiError,
		MaxBody: 1 << 20,
	}}
	switch cfg.String("auth_type") {
	case "bearer":
		c.api.Auth = providers.HeaderAuth("Authorization", "Bearer "+cfg.Secret("token"))
	case "basic":
		pair := base64.StdEncoding.EncodeToString([]byte(cfg.String("username") + ":" + cfg.Secret("password")))
		c.api.Auth = providers.HeaderAuth("Authorization", "Basic "+pair)
	}
	return c, nil
}

// conn is one opened mlflow connection.
type conn struct {
	api providers.API // based at tracking_uri
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "mlflow", Label: "MLflow", Category: "api",
	AuthKinds:    []string{"none", "bearer", "basic"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "tracking_uri", Label: "Tracking URI", Type: providers.TypeString, Required: true, Target: true},
		{Name: "auth_type", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"none", "bearer", "basic"}, Default: "none"},
		{Name: "username", Label: "Username", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
		{Name: "token", Label: "Token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"bearer"}}},
		{Name: "password", Label: "Password", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
	},
}
