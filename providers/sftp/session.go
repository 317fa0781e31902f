package sftp

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/junctionhq/junction/providers"
)

// session is one logged-in SSH connection and its SFTP client, shared by
// every file call of a conn (pkg/sftp multiplexes concurrent requests on one
// channel). It is replaced when it dies.
type session struct {
	ssh  *ssh.Client
	sftp *sftp.Client
	// done is closed once the SSH connection has ended.
	done      chan struct{}
	closed    atomic.Bool // set by close, before the connection has ended
	closeOnce sync.Once

	rootMu sync.Mutex
	root   string // base_path's real path; "" until resolved
}

// clientConfig is the SSH login of this connection. The host key callback
// checks the pin before any credential is sent; presented, when not nil,
// records the key the server showed.
func (c *conn) clientConfig(presented *atomic.Value) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User: c.cfg.String("username"),
		Auth: c.auth,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if presented != nil {
				presented.Store(key)
			}
			return c.pins.check(key)
		},
		HostKeyAlgorithms: c.pins.algorithms,
		ClientVersion:     "SSH-2.0-Junction",
	}
}

// errConnClosed is returned by calls made after Close.
var errConnClosed = providers.Errorf(providers.CodeProviderError, "sftp: the connection is closed")

// session returns the live shared session, dialing one when there is none or
// the last one died. Only one dial runs at a time; callers waiting for it
// give up when their ctx ends.
func (c *conn) session(ctx context.Context) (*session, error) {
	if s, err := c.current(); s != nil || err != nil {
		return s, err
	}
	select {
	case c.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, c.classify(ctx, ctx.Err())
	}
	defer func() { <-c.dialing }()
	// Another caller may have dialed while this one waited.
	if s, err := c.current(); s != nil || err != nil {
		return s, err
	}
	s, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.close()
		return nil, errConnClosed
	}
	c.sess = s
	c.mu.Unlock()
	return s, nil
}

// current returns the shared session when it is alive, errConnClosed after
// Close, and neither when a dial is needed.
func (c *conn) current() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errConnClosed
	}
	if c.sess != nil && c.sess.alive() {
		return c.sess, nil
	}
	if c.sess != nil {
		c.sess.close()
		c.sess = nil
	}
	return nil, nil
}

// dial connects through the guarded dialer, checks the host key against the
// pin, logs in and starts the SFTP subsystem. ctx bounds the handshake only:
// once it is done the connection has no deadline and outlives ctx.
func (c *conn) dial(ctx context.Context) (*session, error) {
	nc, err := c.cfg.Dialer()(ctx, "tcp", c.addr)
	if err != nil {
		return nil, c.classify(ctx, err)
	}
	// x/crypto/ssh and pkg/sftp take no context: the deadline and a close on
	// cancellation bound the handshake instead.
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, c.addr, c.clientConfig(nil))
	if err != nil {
		stop()
		nc.Close()
		return nil, c.classify(ctx, err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	sf, err := sftp.NewClient(client)
	if err != nil {
		stop()
		client.Close()
		if ctx.Err() == nil && strings.Contains(err.Error(), "subsystem request failed") {
			return nil, providers.Wrap(providers.CodeProviderError, err, "sftp: %s accepted the login but does not offer the SFTP subsystem", c.addr)
		}
		return nil, c.classify(ctx, err)
	}
	if !stop() {
		// ctx ended during the handshake and the connection is already closed.
		sf.Close()
		client.Close()
		return nil, c.classify(ctx, ctx.Err())
	}
	nc.SetDeadline(time.Time{})
	s := &session{ssh: client, sftp: sf, done: make(chan struct{})}
	go func() {
		sf.Wait() // the SFTP channel closed: the session is of no more use
		s.close()
	}()
	go func() {
		client.Wait()
		s.close()
		close(s.done)
	}()
	return s, nil
}

// alive reports whether the session is still up and not being closed.
func (s *session) alive() bool {
	if s.closed.Load() {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// close ends the session; in-flight requests fail with a lost connection.
func (s *session) close() {
	s.closed.Store(true)
	s.closeOnce.Do(func() {
		// The SSH connection first: closing the SFTP client waits for the
		// server to close its side, which a stuck server never does.
		s.ssh.Close()
		s.sftp.Close()
	})
}

// broken reports whether err means the session is dead (rather than one
// request failing), so the call may be retried on a new one.
func (s *session) broken(err error) bool {
	return !s.alive() ||
		errors.Is(err, sftp.ErrSSHFxConnectionLost) ||
		errors.Is(err, sftp.ErrSSHFxNoConnection) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, net.ErrClosed)
}

// do runs op on the shared session. When the session turns out to be dead
// (the server closed it, the network dropped it), op runs once more on a
// freshly dialed one. Errors that are not already a *providers.Error are
// classified.
func (c *conn) do(ctx context.Context, op func(s *session) error) error {
	for attempt := 0; ; attempt++ {
		s, err := c.session(ctx)
		if err != nil {
			return err
		}
		err = op(s)
		if err == nil {
			return nil
		}
		var pe *providers.Error
		if attempt == 0 && ctx.Err() == nil && !errors.As(err, &pe) && s.broken(err) {
			s.close()
			continue
		}
		return c.fail(ctx, s, err)
	}
}

// fail classifies an error of a request made on an established session.
func (c *conn) fail(ctx context.Context, s *session, err error) error {
	var pe *providers.Error
	switch {
	case errors.As(err, &pe):
		return pe
	case ctx.Err() != nil:
		return providers.Wrap(providers.CodeTimeout, err, "sftp: %s did not answer in time", c.addr)
	case s.broken(err):
		e := providers.Wrap(providers.CodeUnreachable, err, "sftp: the connection to %s was lost", c.addr)
		e.Retryable = true
		return e
	case errors.Is(err, sftp.ErrSSHFxOpUnsupported):
		return providers.Wrap(providers.CodeProviderError, err, "sftp: %s does not support a request needed to list files", c.addr)
	}
	return providers.Wrap(providers.CodeProviderError, err, "%s", providers.WithDetail("sftp: the request failed", c.cfg.Redact(err.Error())))
}

// call runs f, one blocking SFTP request (pkg/sftp takes no context for
// most), and returns its result, or ctx's error as soon as ctx ends. A
// server that has not answered by a deadline is presumed stuck: the session
// is closed, which ends f too, and the next call dials afresh.
func call[T any](ctx context.Context, s *session, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			s.close()
		}
		return zero, ctx.Err()
	}
}

// lstat describes p without following a final symlink.
func (s *session) lstat(ctx context.Context, p string) (os.FileInfo, error) {
	return call(ctx, s, func() (os.FileInfo, error) { return s.sftp.Lstat(p) })
}

// stat describes p, following symlinks.
func (s *session) stat(ctx context.Context, p string) (os.FileInfo, error) {
	return call(ctx, s, func() (os.FileInfo, error) { return s.sftp.Stat(p) })
}

// readlink returns a symlink's target as stored.
func (s *session) readlink(ctx context.Context, p string) (string, error) {
	return call(ctx, s, func() (string, error) { return s.sftp.ReadLink(p) })
}

// realpath asks the server to make p absolute.
func (s *session) realpath(ctx context.Context, p string) (string, error) {
	return call(ctx, s, func() (string, error) { return s.sftp.RealPath(p) })
}

// readDir lists a folder's entries (unsorted, without "." and "..").
func (s *session) readDir(ctx context.Context, p string) ([]os.FileInfo, error) {
	return call(ctx, s, func() ([]os.FileInfo, error) { return s.sftp.ReadDirContext(ctx, p) })
}
