package providers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// lockingStore is a MemTokenStore shared by "processes" with the refresh
// lock a database gives them.
type lockingStore struct {
	*providertest.MemTokenStore
	sem      chan struct{}
	attempts atomic.Int32
}

var _ providers.TokenLocker = (*lockingStore)(nil)

func (s *lockingStore) LockToken(ctx context.Context) (func(), error) {
	s.attempts.Add(1)
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOAuthTwoProcessesAtOnce: two processes needing a refresh at the same
// moment make one token call when the store offers the refresh lock; the
// second finds the first's token in the store.
func TestOAuthTwoProcessesAtOnce(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	ts.rotate = true // a second refresh with rt-0 would be refused
	ts.hold()
	clk := newClock()
	store := &lockingStore{MemTokenStore: &providertest.MemTokenStore{}, sem: make(chan struct{}, 1)}
	a, b := config(newOAuth(clk), store), config(newOAuth(clk), store)
	flow := refreshFlow(ts, "rt-0")
	type result struct {
		tok string
		err error
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	go func() {
		tok, err := a.Token(context.Background(), "test", flow)
		ra <- result{tokenOf(tok), err}
	}()
	waitFor(t, "a's token call", func() bool { return ts.hits.Load() == 1 })
	go func() {
		tok, err := b.Token(context.Background(), "test", flow)
		rb <- result{tokenOf(tok), err}
	}()
	waitFor(t, "b to wait for the lock", func() bool { return store.attempts.Load() == 2 })
	ts.release()
	for name, ch := range map[string]chan result{"a": ra, "b": rb} {
		if r := <-ch; r.err != nil || r.tok != "at-1" {
			t.Fatalf("%s: %q %v", name, r.tok, r.err)
		}
	}
	if n := ts.hits.Load(); n != 1 {
		t.Fatalf("%d token calls for two processes refreshing at once, want 1", n)
	}
}

func tokenOf(tok *oauth2.Token) string {
	if tok == nil {
		return ""
	}
	return tok.AccessToken
}
