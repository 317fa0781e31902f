// Package sqlserver is the sqlserver driver: Microsoft SQL Server and Azure SQL.
package sqlserver

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the sqlserver provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "sqlserver".
func (Driver) Name() string { return "sqlserver" }

// Spec returns the sqlserver fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened sqlserver connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "sqlserver", Label: "SQL Server", Category: "database",
	AuthKinds:    []string{"password"},
	Capabilities: []string{"verify", "schema", "query"},
	DocsNote:     "No SQL Server runs on the test machine: DSN building and error classification are unit-tested; the live test runs only when JUNCTION_TEST_SQLSERVER_URL is set.",
	Fields: []providers.Field{
		{Name: "host", Label: "Host", Type: providers.TypeString, Required: true, Target: true},
		{Name: "port", Label: "Port", Type: providers.TypeInt, Default: int64(1433), Target: true},
		{Name: "instance", Label: "Instance name", Type: providers.TypeString},
		{Name: "database", Label: "Database", Type: providers.TypeString, Required: true},
		{Name: "user", Label: "User", Type: providers.TypeString, Required: true},
		{Name: "encrypt", Label: "Encrypt", Type: providers.TypeEnum, Enum: []string{"disable", "false", "true", "strict"}, Default: "true"},
		{Name: "trust_server_certificate", Label: "Trust server certificate", Type: providers.TypeBool, Default: false},
		{Name: "app_name", Label: "Application name", Type: providers.TypeString, Default: "junction"},
		{Name: "password", Label: "Password", Secret: true, Required: true},
	},
}
