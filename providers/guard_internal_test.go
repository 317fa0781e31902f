package providers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// testClient is NewHTTPClient with a plain dialer when o has none: these
// tests exercise the client itself against loopback servers, and this
// package cannot import netguard (it imports this one). Drivers' tests use
// providertest, which gives them netguard's.
func testClient(o HTTPOptions) *http.Client {
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	return NewHTTPClient(o)
}

// TestNoUnguardedFallback: a Config without its guarded client or dialer,
// and a client made without a dialer, fail every request and dial with
// ErrNoGuardedClient, and nothing reaches the server (they used to fall
// back to a plain net.Dialer, around netguard).
func TestNoUnguardedFallback(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()

	resp, err := Config{}.Client().Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrNoGuardedClient) {
		t.Errorf("Config{}.Client(): %v, want ErrNoGuardedClient", err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	if _, _, err := (Config{}).Do(req, "p"); !errors.Is(err, ErrNoGuardedClient) {
		t.Errorf("Config{}.Do: %v, want ErrNoGuardedClient", err)
	}
	resp, err = NewHTTPClient(HTTPOptions{}).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrNoGuardedClient) {
		t.Errorf("NewHTTPClient without Dial: %v, want ErrNoGuardedClient", err)
	}
	conn, err := Config{}.Dialer()(context.Background(), "tcp", srv.Listener.Addr().String())
	if err == nil {
		conn.Close()
	}
	if !errors.Is(err, ErrNoGuardedClient) {
		t.Errorf("Config{}.Dialer(): %v, want ErrNoGuardedClient", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server saw %d requests, want 0", n)
	}
	// With a client and dialer set, they are what is used.
	dialed := false
	cfg := Config{HTTPClient: testClient(HTTPOptions{}), Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = true
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	if resp, err := cfg.Client().Get(srv.URL); err != nil {
		t.Errorf("with a client: %v", err)
	} else {
		resp.Body.Close()
	}
	if conn, err := cfg.Dialer()(context.Background(), "tcp", srv.Listener.Addr().String()); err != nil || !dialed {
		t.Errorf("with a dialer: %v, dialed %v", err, dialed)
	} else {
		conn.Close()
	}
}

// TestWithMaxBody: the derived client caps bodies at the lower limit and
// leaves the original alone.
func TestWithMaxBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 100))
	}))
	defer srv.Close()
	base := testClient(HTTPOptions{MaxBodyBytes: 1000})
	small := WithMaxBody(base, 50)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	if _, _, err := (Config{HTTPClient: small}).Do(req, "p"); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("capped at 50: %v, want ErrBodyTooLarge", err)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	if _, body, err := (Config{HTTPClient: base}).Do(req, "p"); err != nil || len(body) != 100 {
		t.Errorf("original: %d bytes, %v", len(body), err)
	}
	if WithMaxBody(base, 5000) != base || WithMaxBody(http.DefaultClient, 10) != http.DefaultClient {
		t.Error("a higher cap or a foreign client should be returned as is")
	}
}
