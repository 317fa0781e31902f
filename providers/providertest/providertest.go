// Package providertest builds driver Configs for tests: validated settings,
// a loopback-friendly HTTP client with millisecond backoff, and an in-memory
// token store that counts what is saved.
package providertest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/netguard"
)

// Config validates settings and secrets against d's spec (failing the test on
// any problem) and returns a Config ready for d.Open, with the guarded
// network clients (Guarded).
func Config(t testing.TB, d providers.Driver, settings map[string]any, secrets map[string]string) providers.Config {
	t.Helper()
	norm, errs := d.Spec().Validate(settings, secrets)
	if len(errs) > 0 {
		t.Fatalf("%s: invalid test config: %+v", d.Name(), errs)
	}
	return Guarded(providers.Config{
		Settings: norm,
		Secrets:  secrets,
		Tokens:   &MemTokenStore{},
		OAuth:    providers.NewOAuth(),
		Timeout:  10 * time.Second,
	})
}

// guard is the tests' netguard: the production policy with private
// networks allowed, since test servers listen on loopback.
var guard = netguard.New(netguard.Options{})

// Guarded returns cfg with netguard's HTTP client (millisecond backoff, so
// retries do not slow tests) and dialer where it has none: a Config has no
// unguarded fallback, so a test that builds one by hand takes these.
func Guarded(cfg providers.Config) providers.Config {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = HTTPClient(providers.HTTPOptions{})
	}
	if cfg.Dial == nil {
		cfg.Dial = guard.DialContext
	}
	return cfg
}

// HTTPClient is netguard's client with o (BaseBackoff defaults to a
// millisecond here).
func HTTPClient(o providers.HTTPOptions) *http.Client {
	if o.BaseBackoff == 0 {
		o.BaseBackoff = time.Millisecond
	}
	return guard.HTTPClient(o)
}

// Open is Config followed by d.Open, failing the test on error.
func Open(t testing.TB, d providers.Driver, settings map[string]any, secrets map[string]string) providers.Conn {
	t.Helper()
	c, err := d.Open(context.Background(), Config(t, d, settings, secrets))
	if err != nil {
		t.Fatalf("%s: open: %v", d.Name(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// MemTokenStore is an in-memory providers.TokenStore with compare-and-swap.
type MemTokenStore struct {
	mu    sync.Mutex
	tok   *oauth2.Token
	saves int
}

var _ providers.TokenStore = (*MemTokenStore)(nil)

// LoadToken returns the stored token.
func (s *MemTokenStore) LoadToken(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, nil
	}
	c := *s.tok
	return &c, nil
}

// SaveToken stores next when the stored token's access token is still prev's.
func (s *MemTokenStore) SaveToken(ctx context.Context, prev, next *oauth2.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if accessToken(s.tok) != accessToken(prev) {
		return providers.ErrTokenConflict
	}
	c := *next
	s.tok = &c
	s.saves++
	return nil
}

// Saves returns how many tokens were saved.
func (s *MemTokenStore) Saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

func accessToken(t *oauth2.Token) string {
	if t == nil {
		return ""
	}
	return t.AccessToken
}
