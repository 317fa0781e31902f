package postgres

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/junctionhq/junction/providers"
)

// connConfig builds the pgx configuration from the validated settings. It
// never parses a connection string made from user input: it parses an empty
// one (for pgx's defaults) and sets every field that matters, so a value such
// as `db sslmode=disable` stays a database name. Everything the process
// environment (PGHOST, PGSSLMODE, PGOPTIONS, PGTARGETSESSIONATTRS, ...) could
// have set on that object is overwritten or cleared.
func connConfig(cfg providers.Config) (*pgx.ConnConfig, error) {
	host, err := hostSetting(cfg.String("host"))
	if err != nil {
		return nil, err
	}
	port, err := providers.Port("postgres", "port", cfg, 5432)
	if err != nil {
		return nil, err
	}
	attempts, err := tlsConfigs(cfg.String("sslmode"), cfg.String("sslrootcert"), host)
	if err != nil {
		return nil, err
	}

	cc, err := pgx.ParseConfig("")
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "postgres: could not build the connection configuration")
	}
	c := &cc.Config
	c.Host = host
	c.Port = uint16(port)
	c.Database = cfg.String("database")
	c.User = cfg.String("user")
	c.Password = cfg.Secret("password")
	c.TLSConfig = attempts[0]
	c.Fallbacks = nil
	for _, t := range attempts[1:] {
		c.Fallbacks = append(c.Fallbacks, &pgconn.FallbackConfig{Host: host, Port: uint16(port), TLSConfig: t})
	}
	c.DialFunc = pgconn.DialFunc(cfg.Dialer())
	c.ConnectTimeout = cfg.Timeout
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 15 * time.Second
	}
	c.RuntimeParams = map[string]string{}
	if app := cfg.String("application_name"); app != "" {
		c.RuntimeParams["application_name"] = app
	}
	c.KerberosSrvName, c.KerberosSpn = "", ""
	c.SSLNegotiation, c.SSLCertMode = "", ""
	c.ChannelBinding = "prefer"
	c.MinProtocolVersion, c.MaxProtocolVersion = "", ""
	c.OAuthTokenProvider = nil
	c.ValidateConnect, c.AfterConnect, c.AfterNetConnect = nil, nil, nil
	return cc, nil
}

// hostSetting checks the host is a host name or IP address. A path would make
// pgx dial a Unix socket on this machine, so it is refused.
func hostSetting(h string) (string, error) {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	switch {
	case h == "":
		return "", providers.InvalidField("host", "postgres: host is empty")
	case strings.ContainsAny(h, "/\\,@ \t\r\n"):
		return "", providers.InvalidField("host", "postgres: host %q is not a host name or IP address", h)
	}
	return h, nil
}

// tlsConfigs returns the TLS configurations to try in order: one, or two for
// the modes that fall back (allow, prefer). A nil *tls.Config means plain text. The semantics are libpq's:
//
//   - disable: plain text only.
//   - allow: plain text, then TLS without verification.
//   - prefer: TLS without verification, then plain text.
//   - require: TLS without verification; with sslrootcert it acts as verify-ca.
//   - verify-ca: TLS, the chain is verified against sslrootcert (or the
//     system roots), the host name is not.
//   - verify-full: TLS, chain and host name verified.
//
// sslrootcert is PEM text (not a file path, unlike libpq).
func tlsConfigs(mode, rootPEM, host string) ([]*tls.Config, error) {
	var roots *x509.CertPool
	if strings.TrimSpace(rootPEM) != "" {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(rootPEM)) {
			return nil, providers.InvalidField("sslrootcert", "postgres: sslrootcert is not a PEM certificate")
		}
	}
	insecure := func() *tls.Config {
		return &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	switch mode {
	case "disable":
		return []*tls.Config{nil}, nil
	case "allow":
		return []*tls.Config{nil, insecure()}, nil
	case "", "prefer":
		return []*tls.Config{insecure(), nil}, nil
	case "require":
		if roots == nil {
			return []*tls.Config{insecure()}, nil
		}
		return []*tls.Config{verifyCA(host, roots)}, nil
	case "verify-ca":
		return []*tls.Config{verifyCA(host, roots)}, nil
	case "verify-full":
		return []*tls.Config{{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}}, nil
	}
	return nil, providers.InvalidField("sslmode", "postgres: sslmode %q is not one of disable, allow, prefer, require, verify-ca, verify-full", mode)
}

// verifyCA verifies the server's chain against roots (nil: the system roots)
// without checking the host name, as libpq's verify-ca does.
func verifyCA(host string, roots *x509.CertPool) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true, // the chain is verified below, the host name deliberately not
		MinVersion:         tls.VersionTLS12,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the server sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, der := range raw {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range certs[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := certs[0].Verify(opts)
			return err
		},
	}
}
