// Package sftp is the sftp driver: SFTP servers over SSH, with a pinned host key.
package sftp

import (
	"context"

	"github.com/junctionhq/junction/providers"
)

// Driver is the sftp provider. It is stateless.
type Driver struct{}

var _ providers.Driver = Driver{}

// Name returns "sftp".
func (Driver) Name() string { return "sftp" }

// Spec returns the sftp fields.
func (Driver) Spec() providers.Spec { return spec }

// Open returns a Conn for cfg. It does no network I/O.
func (Driver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &conn{cfg: cfg}, nil
}

// conn is one opened sftp connection.
type conn struct {
	cfg providers.Config
}

// Close releases nothing: the HTTP client is shared.
func (c *conn) Close() error { return nil }

var spec = providers.Spec{
	Name: "sftp", Label: "SFTP", Category: "files",
	AuthKinds:    []string{"password", "private_key"},
	Capabilities: []string{"verify", "files"},
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
