// Package mlflow is the mlflow driver: an MLflow tracking server.
package mlflow

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the mlflow provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "mlflow".
func (Driver) Name() string { return "mlflow" }

// Spec returns the mlflow fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened mlflow connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "mlflow", Label: "MLflow", Category: "api",
	AuthKinds:    []string{"none", "bearer", "basic"},
	Capabilities: []string{"verify"},
	Fields: []providers.Field{
		{Name: "tracking_uri", Label: "Tracking URI", Type: providers.TypeString, Required: true, Target: true},
		{Name: "auth_type", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"none", "bearer", "basic"}, Default: "none"},
		{Name: "username", Label: "Username", Type: providers.TypeString, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
		{Name: "token", Label: "Token", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"bearer"}}},
		{Name: "password", Label: "Password", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_type", Values: []string{"basic"}}},
	},
}
