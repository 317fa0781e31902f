package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DialFunc dials a network address. The one in Config goes through netguard.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Config is what a driver gets to open one connection.
type Config struct {
	// Settings are the validated non-secret settings with defaults applied.
	// Integers are int64, booleans bool, lists []string.
	Settings map[string]any
	// Secrets are the decrypted secret fields that are set.
	Secrets map[string]string
	// HTTPClient is the guarded client every HTTP call must use: it dials through
	// netguard, caps response bodies, never carries credentials across hosts on
	// redirect, and retries 429 and 5xx with backoff honouring Retry-After
	// within the context's deadline.
	HTTPClient *http.Client
	// Dial is the guarded dialer every non-HTTP connection must use (pgx,
	// go-mssqldb, SSH).
	Dial DialFunc
	// Tokens persists OAuth tokens for this connection; nil in dry runs where
	// nothing may be saved (tokens are then only cached in memory for the call).
	Tokens TokenStore
	// OAuth is the process-wide token machinery (in-process de-duplication and
	// caching). Nil means a fresh token is fetched on every call.
	OAuth *OAuth
	// Timeout is the deadline for one provider call (JUNCTION_PROVIDER_TIMEOUT).
	Timeout time.Duration
}

// String returns a string setting, or "" when unset.
func (c Config) String(name string) string {
	s, _ := c.Settings[name].(string)
	return s
}

// Int returns an integer setting, or 0 when unset.
func (c Config) Int(name string) int64 {
	switch n := c.Settings[name].(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// Bool returns a boolean setting, or false when unset.
func (c Config) Bool(name string) bool {
	b, _ := c.Settings[name].(bool)
	return b
}

// StringList returns a list setting, or nil when unset.
func (c Config) StringList(name string) []string {
	switch l := c.Settings[name].(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, v := range l {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	return nil
}

// Object returns an object setting, or nil when unset.
func (c Config) Object(name string) map[string]any {
	m, _ := c.Settings[name].(map[string]any)
	return m
}

// Secret returns a secret, or "" when unset.
func (c Config) Secret(name string) string { return c.Secrets[name] }

// Redact removes every secret of this connection from s.
func (c Config) Redact(s string) string { return Redact(s, c.Secrets) }

// ErrNoGuardedClient is what every request and dial of a Config without its
// guarded HTTPClient or Dial fails with: a programming error that fails
// closed, never a connection made around netguard.
var ErrNoGuardedClient = errors.New("providers: the Config has no guarded network client; nothing was sent")

// Client returns HTTPClient. Without one it returns a client whose every
// request fails with ErrNoGuardedClient: there is no unguarded fallback.
func (c Config) Client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return refusingClient
}

// refusingClient sends nothing.
var refusingClient = &http.Client{Transport: refusingTransport{}}

type refusingTransport struct{}

func (refusingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, ErrNoGuardedClient
}

// WithTimeout applies Timeout as ctx's deadline when ctx has none. It returns
// ctx unchanged, with a cancel that does nothing, when ctx already has a
// deadline or Timeout is 0; either way the caller defers cancel.
func (c Config) WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.Timeout)
}

// Dialer returns Dial. Without one it returns a dialer that fails with
// ErrNoGuardedClient: there is no unguarded fallback.
func (c Config) Dialer() DialFunc {
	if c.Dial != nil {
		return c.Dial
	}
	return refuseDial
}

func refuseDial(context.Context, string, string) (net.Conn, error) { return nil, ErrNoGuardedClient }
