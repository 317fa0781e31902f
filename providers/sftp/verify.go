package sftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify dials through the guarded dialer, checks the host key against the
// pin before any credential is sent, logs in, starts the SFTP subsystem and
// stats base_path. It never uses the shared session of the file calls: a
// check proves the credentials with a handshake of its own.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancelTimeout := c.cfg.WithTimeout(ctx)
	defer cancelTimeout()
	// Always cancelled on return: that closes the connection (see AfterFunc).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	nc, err := c.cfg.Dialer()(ctx, "tcp", c.addr)
	if err != nil {
		return nil, c.classify(ctx, err)
	}
	defer nc.Close()
	// x/crypto/ssh and pkg/sftp take no context: the deadline and a close on
	// cancellation bound every read and write instead.
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	var presented atomic.Value // ssh.PublicKey; a later key exchange may set it again
	conf := c.clientConfig(&presented)
	sc, chans, reqs, err := ssh.NewClientConn(nc, c.addr, conf)
	if err != nil {
		return nil, c.classify(ctx, err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()

	sf, err := sftp.NewClient(client)
	if err != nil {
		if ctx.Err() == nil && strings.Contains(err.Error(), "subsystem request failed") {
			return nil, providers.Wrap(providers.CodeProviderError, err, "sftp: %s accepted the login but does not offer the SFTP subsystem", c.addr)
		}
		return nil, c.classify(ctx, err)
	}
	defer sf.Close()

	base := c.cfg.String("base_path")
	if base == "" {
		base = "/"
	}
	fi, err := sf.Stat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, providers.Wrap(providers.CodeNotFound, err, "sftp: base_path %q does not exist on %s", base, c.addr)
	case errors.Is(err, fs.ErrPermission):
		return nil, providers.Wrap(providers.CodePermissionDenied, err, "sftp: user %q may not read base_path %q", conf.User, base)
	case err != nil:
		return nil, c.classify(ctx, err)
	}
	key := presented.Load().(ssh.PublicKey)
	return &providers.VerifyResult{Details: map[string]any{
		"server_version":       string(client.ServerVersion()),
		"host_key_fingerprint": ssh.FingerprintSHA256(key),
		"host_key_type":        key.Type(),
		"base_path":            base,
		"is_dir":               fi.IsDir(),
	}}, nil
}

// classify turns a dial, handshake or SFTP error into a *providers.Error.
func (c *conn) classify(ctx context.Context, err error) *providers.Error {
	var hk *hostKeyError
	if errors.As(err, &hk) {
		return providers.Wrap(providers.CodeInvalidConfig, err, "%s", hk.Error())
	}
	if errors.Is(err, providers.ErrBlockedAddress) {
		return providers.Classify("sftp", err)
	}
	if ctx.Err() != nil {
		return providers.Wrap(providers.CodeTimeout, err, "sftp: %s did not answer in time", c.addr)
	}
	text := err.Error()
	switch {
	case strings.Contains(text, "unable to authenticate"):
		what := "password"
		if c.cfg.String("auth_method") == "private_key" {
			what = "private key"
		}
		return providers.Wrap(providers.CodeAuthFailed, err, "sftp: %s rejected the %s for user %q; check the username and %s", c.addr, what, c.cfg.String("username"), what)
	case strings.Contains(text, "no common algorithm for host key") && c.pins.algorithms != nil:
		return providers.Wrap(providers.CodeInvalidConfig, err,
			"sftp: %s has no host key of the pinned type (%s); pin the key it presents", c.addr, strings.Join(c.pins.algorithms, ", "))
	case errors.Is(err, io.EOF) || strings.Contains(text, "handshake failed: EOF"):
		return providers.Wrap(providers.CodeProviderError, err, "sftp: %s closed the connection during the SSH handshake; check that it is an SSH server", c.addr)
	}
	e := *providers.Classify("sftp", err)
	if e.Code == providers.CodeProviderError {
		e.Message = providers.WithDetail("sftp: the connection failed", c.cfg.Redact(text))
	} else {
		e.Message += " (" + c.addr + ")"
	}
	return &e
}
