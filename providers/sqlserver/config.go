package sqlserver

import (
	"context"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/junctionhq/junction/providers"
)

// instanceName is what SQL Server accepts as an instance name (at most 16
// characters; letters, digits and a few symbols).
var instanceName = regexp.MustCompile(`^[A-Za-z0-9_$#&-]{1,16}$`)

// dsn builds the sqlserver:// URL from the settings with net/url, so every
// value is escaped and none can add a parameter (a password containing
// "&encrypt=disable" stays a password).
func dsn(cfg providers.Config) (string, error) {
	host := strings.TrimSpace(cfg.String("host"))
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if host == "" || strings.ContainsAny(host, `/\,;@?#= `+"\t\r\n") {
		return "", providers.InvalidField("host", "sqlserver: host %q is not a host name or IP address", host)
	}
	port, err := providers.Port("sqlserver", "port", cfg, 1433)
	if err != nil {
		return "", err
	}
	instance := strings.TrimSpace(cfg.String("instance"))
	if instance != "" && !instanceName.MatchString(instance) {
		return "", providers.InvalidField("instance", "sqlserver: instance %q is not a valid instance name", instance)
	}
	u := url.URL{
		Scheme: "sqlserver",
		User:   url.UserPassword(cfg.String("user"), cfg.Secret("password")),
		Host:   net.JoinHostPort(host, strconv.FormatInt(port, 10)),
	}
	if instance != "" {
		u.Path = "/" + instance
		if port == 1433 {
			// The default port with a named instance: let the SQL Server
			// Browser say which port the instance listens on.
			u.Host = host
			if strings.Contains(host, ":") {
				u.Host = "[" + host + "]"
			}
		}
	}
	q := url.Values{}
	q.Set("database", cfg.String("database"))
	encrypt := cfg.String("encrypt")
	if encrypt == "" {
		encrypt = "true"
	}
	q.Set("encrypt", encrypt)
	q.Set("TrustServerCertificate", strconv.FormatBool(cfg.Bool("trust_server_certificate")))
	if h := strings.TrimSpace(cfg.String("host_name_in_certificate")); h != "" {
		q.Set("hostNameInCertificate", h)
	}
	if app := cfg.String("app_name"); app != "" {
		q.Set("app name", app)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// connParams parses the built URL into the driver's configuration.
func connParams(cfg providers.Config) (msdsn.Config, error) {
	s, err := dsn(cfg)
	if err != nil {
		return msdsn.Config{}, err
	}
	p, err := msdsn.Parse(s)
	if err != nil {
		return msdsn.Config{}, providers.Wrap(providers.CodeInvalidConfig, err, "sqlserver: invalid settings: %s", cfg.Redact(err.Error()))
	}
	// Bound the dial by the provider timeout; the context bounds the rest.
	p.DialTimeout = cfg.Timeout
	if p.DialTimeout <= 0 {
		p.DialTimeout = 15 * time.Second
	}
	return p, nil
}

// refusal remembers the last dial that netguard refused. go-mssqldb drops the
// error of its SQL Server Browser query (UDP 1434) and reports only that no
// instance matched, which would turn a blocked host into not_found.
type refusal struct {
	mu  sync.Mutex
	err error
}

// note records err if it is a refusal by the network policy.
func (r *refusal) note(err error) {
	if r == nil || !errors.Is(err, providers.ErrBlockedAddress) {
		return
	}
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// last is the last refused dial, or nil.
func (r *refusal) last() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// dialer adapts the guarded DialFunc to go-mssqldb's Dialer. It is used for
// the TCP connection and for the SQL Server Browser's UDP query.
type dialer struct {
	dial    providers.DialFunc
	refused *refusal
}

// DialContext dials through the guarded dialer.
func (d dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	d.refused.note(err)
	return c, err
}

// verifyDialer is dialer for one Verify call: go-mssqldb does not watch the
// context during login, so the connection gets the call's deadline and is
// closed when the call's context ends.
type verifyDialer struct {
	dial    providers.DialFunc
	ctx     context.Context
	refused *refusal
}

// DialContext dials through the guarded dialer and ties the connection to the
// Verify call's context.
func (d verifyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	if err != nil {
		d.refused.note(err)
		return nil, err
	}
	if dl, ok := d.ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	context.AfterFunc(d.ctx, func() { c.Close() })
	return c, nil
}
