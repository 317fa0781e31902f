// Package postgres is the postgres driver: PostgreSQL through pgx.
package postgres

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the postgres provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "postgres".
func (Driver) Name() string { return "postgres" }

// Spec returns the postgres fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened postgres connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "postgres", Label: "PostgreSQL", Category: "database",
	AuthKinds:    []string{"password"},
	Capabilities: []string{"verify", "schema", "query"},
	Fields: []providers.Field{
		{Name: "host", Label: "Host", Type: providers.TypeString, Required: true, Target: true},
		{Name: "port", Label: "Port", Type: providers.TypeInt, Default: int64(5432), Target: true},
		{Name: "database", Label: "Database", Type: providers.TypeString, Required: true},
		{Name: "user", Label: "User", Type: providers.TypeString, Required: true},
		{Name: "sslmode", Label: "SSL mode", Type: providers.TypeEnum, Enum: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}, Default: "prefer"},
		{Name: "sslrootcert", Label: "CA certificate (PEM)", Type: providers.TypeString},
		{Name: "schema", Label: "Default schema", Type: providers.TypeString},
		{Name: "application_name", Label: "Application name", Type: providers.TypeString, Default: "junction"},
		{Name: "password", Label: "Password", Secret: true},
	},
}
