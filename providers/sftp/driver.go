// Package sftp is the sftp driver: SFTP servers over SSH, with a pinned host key.
package sftp

import (
	"context"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/junctionhq/junction/providers"
)

// Driver is the sftp provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "sftp".
func (Driver) Name() string { return "sftp" }

// Spec returns the sftp fields.
func (Driver) Spec() providers.Spec { return spec }

// Open validates cfg, parses the private key and the host key pin. It does no
// network I/O. A connection without a pin opens, but Verify refuses to log in
// and names the key the server presents, so the user can pin it: trust is
// never implicit.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	addr, err := address(cfg)
	if err != nil {
		return nil, err
	}
	auth, err := authMethods(cfg)
	if err != nil {
		return nil, err
	}
	pins, err := parsePins(cfg.String("host_key_fingerprint"))
	if err != nil {
		return nil, err
	}
	return &conn{cfg: cfg, addr: addr, auth: auth, pins: pins, dialing: make(chan struct{}, 1)}, nil
}

// conn is one opened sftp connection. File calls share one SSH session,
// dialed on first use and again when it dies; Verify always logs in afresh.
type conn struct {
	cfg  providers.Config
	addr string
	auth []ssh.AuthMethod
	pins pins

	// dialing is held (one slot) by the caller dialing the shared session.
	dialing chan struct{}
	mu      sync.Mutex // guards sess and closed
	sess    *session
	closed  bool
}

// Close ends the shared session, if any. Later file calls fail; it is safe
// to call more than once.
func (c *conn) Close() error {
	c.mu.Lock()
	s := c.sess
	c.sess, c.closed = nil, true
	c.mu.Unlock()
	if s != nil {
		s.close()
	}
	return nil
}

var spec = providers.Spec{
	Name: "sftp", Label: "SFTP", Category: "files",
	AuthKinds:    []string{"password", "private_key"},
	Capabilities: providers.CapabilitiesOf((*conn)(nil)),
	Fields: []providers.Field{
		{Name: "host", Label: "Host", Type: providers.TypeString, Required: true, Target: true},
		{Name: "port", Label: "Port", Type: providers.TypeInt, Default: int64(22), Target: true},
		{Name: "username", Label: "Username", Type: providers.TypeString, Required: true},
		{Name: "auth_method", Label: "Authentication", Type: providers.TypeEnum, Enum: []string{"password", "private_key"}, Default: "password"},
		{Name: "host_key_fingerprint", Label: "Host key fingerprint", Type: providers.TypeString, Target: true, Help: "SHA256:… as printed by ssh-keygen -lf; or a known_hosts line"},
		{Name: "base_path", Label: "Base path", Type: providers.TypeString, Default: "/"},
		{Name: "password", Label: "Password", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_method", Values: []string{"password"}}},
		{Name: "private_key_pem", Label: "Private key (PEM)", Secret: true, RequiredWhen: &providers.Condition{Field: "auth_method", Values: []string{"private_key"}}},
		{Name: "passphrase", Label: "Key passphrase", Secret: true},
	},
}
