package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// verifySQL is the cheapest read-only statement that says who we are and where.
const verifySQL = `SELECT @@VERSION, DB_NAME(), SUSER_SNAME(), ` +
	`CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), CAST(SERVERPROPERTY('Edition') AS nvarchar(128))`

// Verify logs in on a fresh connection (never a pooled one, so the
// credentials are proved each time) and reads the server version, database
// and login name.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancelTimeout := c.cfg.WithTimeout(ctx)
	defer cancelTimeout()
	// Always cancelled on return: verifyDialer then closes the connection.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	connector := mssql.NewConnectorConfig(c.params)
	refused := &refusal{}
	connector.Dialer = verifyDialer{dial: c.cfg.Dialer(), ctx: ctx, refused: refused}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)

	var version, database, login, productVersion, edition sql.NullString
	err := db.QueryRowContext(ctx, verifySQL).Scan(&version, &database, &login, &productVersion, &edition)
	if err != nil {
		return nil, c.classifyDial(ctx, err, refused)
	}
	details := map[string]any{
		"version":        firstLine(version.String),
		"server_version": productVersion.String,
		"edition":        edition.String,
		"database":       database.String,
		"user":           login.String,
	}
	return &providers.VerifyResult{Details: details}, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// addr is the host (and port or instance) for messages.
func (c *conn) addr() string {
	if c.params.Instance != "" && c.params.Port == 0 {
		return c.params.Host + `\` + c.params.Instance
	}
	port := c.params.Port
	if port == 0 {
		port = 1433
	}
	return net.JoinHostPort(c.params.Host, strconv.FormatUint(port, 10))
}

// classify turns a go-mssqldb error into a *providers.Error with a sentence a
// person can act on. Server messages are redacted before use.
func (c *conn) classify(ctx context.Context, err error) *providers.Error {
	return c.classifyDial(ctx, err, c.refused)
}

// classifyDial is classify for a call whose dials noted their refusals in
// refused.
func (c *conn) classifyDial(ctx context.Context, err error, refused *refusal) *providers.Error {
	var se mssql.Error
	if errors.As(err, &se) {
		return c.serverError(se)
	}
	if errors.Is(err, providers.ErrBlockedAddress) {
		return providers.Classify("sqlserver", err)
	}
	if ctx.Err() != nil {
		return providers.Wrap(providers.CodeTimeout, err, "sqlserver: %s did not answer in time", c.addr())
	}
	text := err.Error()
	switch {
	case strings.Contains(text, "TLS Handshake failed"):
		_, reason, _ := strings.Cut(text, "TLS Handshake failed: ")
		return providers.Wrap(providers.CodeTLSError, err,
			"sqlserver: the TLS handshake with %s failed: %s; check encrypt, trust_server_certificate and host_name_in_certificate",
			c.addr(), providers.CutDetail(c.cfg.Redact(reason)))
	case strings.Contains(text, "server does not support encryption"):
		return providers.Wrap(providers.CodeTLSError, err,
			"sqlserver: %s does not support encryption but encrypt is %q; enable TLS on the server or set encrypt to false", c.addr(), c.cfg.String("encrypt"))
	case strings.Contains(text, "no instance matching"):
		if blocked := refused.last(); blocked != nil {
			return providers.Wrap(providers.CodeBlockedAddress, blocked,
				"sqlserver: asking the SQL Server Browser on %s (UDP 1434) for instance %q is refused by this server's network policy",
				c.params.Host, c.params.Instance)
		}
		return providers.Wrap(providers.CodeNotFound, err,
			"sqlserver: the SQL Server Browser on %s (UDP 1434) did not name instance %q; check the instance name, or set its port instead",
			c.params.Host, c.params.Instance)
	}
	e := *providers.Classify("sqlserver", err)
	switch e.Code {
	case providers.CodeProviderError:
		e.Message = providers.WithDetail("sqlserver: the connection failed", c.cfg.Redact(text))
	default:
		e.Message += fmt.Sprintf(" (%s)", c.addr())
	}
	return &e
}

// serverError maps a SQL Server error number to a code and sentence.
func (c *conn) serverError(se mssql.Error) *providers.Error {
	msg := providers.CutDetail(c.cfg.Redact(strings.TrimPrefix(se.Message, "login error: ")))
	mk := func(code providers.Code, retryable bool, format string, args ...any) *providers.Error {
		e := providers.Wrap(code, se, format, args...)
		e.Retryable = retryable
		return e
	}
	switch se.Number {
	case 18456: // login failed
		return mk(providers.CodeAuthFailed, false, "sqlserver: %s; check the user and password", msg)
	case 18452, 18470, 18486, 18487, 18488: // untrusted domain, disabled, locked out, password expired, must change
		return mk(providers.CodeAuthFailed, false, "sqlserver: the login was refused: %s", msg)
	case 4060, 911, 4064: // cannot open database, database does not exist, cannot open default database
		return mk(providers.CodeNotFound, false,
			"sqlserver: %s; check the database name and that the login has access to it", msg)
	case 229, 230, 262, 300, 916: // permission denied, VIEW SERVER STATE, principal cannot access the database
		return mk(providers.CodePermissionDenied, false, "sqlserver: permission denied: %s", msg)
	case 40501, 49918, 49919, 49920, 10928, 10929: // service busy, too many requests, resource limits
		return mk(providers.CodeRateLimited, true, "sqlserver: the server is throttling requests: %s", msg)
	case 40613, 40197, 40143, 18401: // database unavailable (Azure resuming), service error, server paused
		return mk(providers.CodeProviderError, true, "sqlserver: the database is temporarily unavailable: %s", msg)
	}
	return mk(providers.CodeProviderError, false, "sqlserver: the server answered error %d: %s", se.Number, msg)
}
