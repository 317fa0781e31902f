// Package sqlserver is the sqlserver driver: Microsoft SQL Server and Azure SQL.
package sqlserver

import (
	"context"
	"database/sql"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/junctionhq/junction/providers"
)

// Driver is the sqlserver provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "sqlserver".
func (Driver) Name() string { return "sqlserver" }

// Spec returns the sqlserver fields.
func (Driver) Spec() providers.Spec { return spec }

// Open validates cfg and builds the go-mssqldb connector and a small pool for
// it. It does no network I/O: the pool connects on first use.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	params, err := connParams(cfg)
	if err != nil {
		return nil, err
	}
	connector := mssql.NewConnectorConfig(params)
	refused := &refusal{}
	connector.Dialer = dialer{dial: cfg.Dialer(), refused: refused}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(maxPoolConns)
	return &conn{cfg: cfg, params: params, db: db, refused: refused}, nil
}

// maxPoolConns bounds the connections one stored connection may hold open.
const maxPoolConns = 4

// conn is one opened sqlserver connection.
type conn struct {
	cfg providers.Config
	// params is the parsed driver configuration; Verify builds a fresh
	// connector from it so each check proves the credentials.
	params msdsn.Config
	// db is the pool the schema and query capabilities use.
	db *sql.DB
	// refused is the pool dialer's last dial the network policy refused.
	refused *refusal
}

// Close closes the pool. It is safe to call more than once.
func (c *conn) Close() error { return c.db.Close() }

var spec = providers.Spec{
	Name: "sqlserver", Label: "SQL Server", Category: "database",
	AuthKinds:    []string{"password"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	DocsNote: "No SQL Server runs on the test machine: DSN building, error classification, the catalog and query flow (against a TDS fake) and the statement guard are unit-tested; the live tests run only when JUNCTION_TEST_SQLSERVER_URL is set. " +
		"Queries: one SELECT (or WITH ... SELECT), checked with a T-SQL lexer, run inside BEGIN TRAN ... ROLLBACK with SET LOCK_TIMEOUT and the call's deadline; SQL Server has no read-only transaction, so use a login that can only read (db_datareader). " +
		"Table references are best effort; an unqualified name is reported in dbo.",
	Fields: []providers.Field{
		{Name: "host", Label: "Host", Type: providers.TypeString, Required: true, Target: true},
		{Name: "port", Label: "Port", Type: providers.TypeInt, Default: int64(1433), Target: true},
		{Name: "instance", Label: "Instance name", Type: providers.TypeString, Target: true, Help: "named instance; its port is asked of the SQL Server Browser (UDP 1434) unless a port other than 1433 is set"},
		{Name: "database", Label: "Database", Type: providers.TypeString, Required: true},
		{Name: "user", Label: "User", Type: providers.TypeString, Required: true},
		{Name: "encrypt", Label: "Encrypt", Type: providers.TypeEnum, Enum: []string{"disable", "false", "true", "strict"}, Default: "true"},
		{Name: "trust_server_certificate", Label: "Trust server certificate", Type: providers.TypeBool, Default: false},
		{Name: "host_name_in_certificate", Label: "Host name in certificate", Type: providers.TypeString, Help: "when the certificate names another host than the one dialled (e.g. a private endpoint)"},
		{Name: "app_name", Label: "Application name", Type: providers.TypeString, Default: "junction"},
		{Name: "password", Label: "Password", Secret: true, Required: true},
	},
}
