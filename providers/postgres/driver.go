// Package postgres is the postgres driver: PostgreSQL through pgx.
package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/providers"
)

// Driver is the postgres provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "postgres".
func (Driver) Name() string { return "postgres" }

// Spec returns the postgres fields.
func (Driver) Spec() providers.Spec { return spec }

// Open validates cfg and builds the pgx configuration and a small pool for it.
// It does no network I/O: the pool connects on first use.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	c, err := open(ctx, cfg, nil)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return c, nil
}

// open is Open; tweak, when set, adjusts the pool configuration (tests add
// a query tracer).
func open(ctx context.Context, cfg providers.Config, tweak func(*pgxpool.Config)) (*conn, error) {
	cc, err := connConfig(cfg)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "postgres: could not build the pool configuration")
	}
	pc.ConnConfig = cc.Copy()
	pc.MaxConns = maxPoolConns
	// A cancelled context cancels the statement on the server (a cancel
	// request), not only the wait for it, and the connection stays usable;
	// the deadline is the fallback for a server that does not answer.
	pc.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
	}
	if tweak != nil {
		tweak(pc)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "postgres: could not build the pool")
	}
	return &conn{cfg: cfg, connCfg: cc, pool: pool}, nil
}

// maxPoolConns bounds the connections one stored connection may hold open.
const maxPoolConns = 4

// cancelGrace is how long a statement whose context ended may take to
// answer the cancel request before its connection is closed instead.
const cancelGrace = 3 * time.Second

// conn is one opened postgres connection.
type conn struct {
	cfg providers.Config
	// connCfg is the template for fresh connections (Verify dials a new one
	// so a check always proves the credentials, never an idle pooled session).
	connCfg *pgx.ConnConfig
	// pool serves the schema and query capabilities.
	pool *pgxpool.Pool
	// types caches the value decoders of this database's own types.
	types typeCache
	// hooks switch guard layers off in tests, to show each holds alone.
	hooks testHooks
}

// testHooks are set only by tests.
type testHooks struct {
	// skipGuard sends the statement to layer 2 without layer 1 (the parser).
	skipGuard bool
}

// Close closes the pool. It is safe to call more than once.
func (c *conn) Close() error {
	c.pool.Close()
	return nil
}

var spec = providers.Spec{
	Name: "postgres", Label: "PostgreSQL", Category: "database",
	AuthKinds:    []string{"password"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
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
