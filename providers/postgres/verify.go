package postgres

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// verifySQL is the cheapest read-only statement that says who we are and where.
const verifySQL = `SELECT current_database(), current_user, version(), current_setting('server_version')`

// Verify opens a fresh connection (never a pooled one, so the credentials are
// proved each time) and reads the database, user and server version.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	pc, err := pgx.ConnectConfig(ctx, c.connCfg.Copy())
	if err != nil {
		return nil, c.classify(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pc.Close(cctx)
	}()
	var database, user, version, serverVersion string
	if err := pc.QueryRow(ctx, verifySQL).Scan(&database, &user, &version, &serverVersion); err != nil {
		return nil, c.classify(err)
	}
	details := map[string]any{
		"server_version": serverVersion,
		"version":        version,
		"database":       database,
		"user":           user,
		"ssl":            false,
	}
	if tc, ok := pc.PgConn().Conn().(*tls.Conn); ok {
		details["ssl"] = true
		details["tls_version"] = tls.VersionName(tc.ConnectionState().Version)
	}
	return &providers.VerifyResult{Details: details}, nil
}

// classify turns a pgx error into a *providers.Error with a sentence a person
// can act on. Server messages are redacted before use.
func (c *conn) classify(err error) *providers.Error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return c.serverError(pe, err)
	}
	addr := net.JoinHostPort(c.connCfg.Host, strconv.Itoa(int(c.connCfg.Port)))
	if !errors.Is(err, providers.ErrBlockedAddress) && strings.Contains(err.Error(), "server refused TLS connection") {
		return providers.Wrap(providers.CodeTLSError, err,
			"postgres: %s does not accept TLS connections but sslmode requires TLS; enable SSL on the server or choose another sslmode", addr)
	}
	if pgconn.Timeout(err) && !errors.Is(err, providers.ErrBlockedAddress) {
		return providers.Wrap(providers.CodeTimeout, err, "postgres: %s did not answer in time", addr)
	}
	e := *providers.Classify("postgres", err)
	switch e.Code {
	case providers.CodeProviderError:
		e.Message = providers.WithDetail("postgres: the connection failed", c.cfg.Redact(err.Error()))
	default:
		e.Message += fmt.Sprintf(" (%s)", addr)
	}
	return &e
}

// serverError maps a PostgreSQL error (SQLSTATE) to a code and sentence.
func (c *conn) serverError(pe *pgconn.PgError, err error) *providers.Error {
	msg := providers.CutDetail(c.cfg.Redact(pe.Message))
	switch pe.Code {
	case "28P01": // invalid_password
		return providers.Wrap(providers.CodeAuthFailed, err, "postgres: %s; check the user and password", msg)
	case "28000": // invalid_authorization_specification: pg_hba.conf, NOLOGIN
		return providers.Wrap(providers.CodePermissionDenied, err,
			"postgres: the server refused the login: %s; check that the role may log in and that pg_hba.conf allows this user, database and address", msg)
	case "3D000": // invalid_catalog_name
		return providers.Wrap(providers.CodeNotFound, err, "postgres: %s; check the database name", msg)
	case "42501": // insufficient_privilege
		return providers.Wrap(providers.CodePermissionDenied, err, "postgres: permission denied: %s", msg)
	case "53300": // too_many_connections
		e := providers.Wrap(providers.CodeRateLimited, err, "postgres: the server has no free connection slots: %s", msg)
		e.Retryable = true
		return e
	case "57P03": // cannot_connect_now
		e := providers.Wrap(providers.CodeProviderError, err, "postgres: the server is not accepting connections yet: %s", msg)
		e.Retryable = true
		return e
	}
	return providers.Wrap(providers.CodeProviderError, err, "postgres: the server answered with an error (SQLSTATE %s): %s", pe.Code, msg)
}
