package providers_test

import (
	"context"
	"errors"
	"strings"
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

// TestOAuthLeaseHeldByCrashedProcess: a process died holding the refresh
// lease. A caller waiting for it gives up before its own deadline with a
// sentence saying why (rate_limited, with a Retry-After), not a timeout, and
// without a token call.
func TestOAuthLeaseHeldByCrashedProcess(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	store := &lockingStore{MemTokenStore: &providertest.MemTokenStore{}, sem: make(chan struct{}, 1)}
	store.sem <- struct{}{} // held, and never given up
	c := config(newOAuth(newClock()), store)
	// 5 s leaves the waiter a 500 ms margin before its deadline, enough for a
	// loaded machine to wake it (50 ms of a 500 ms deadline was not).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Token(ctx, "acme", refreshFlow(ts, "rt-0"))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != providers.CodeRateLimited || !pe.Retryable || pe.RetryAfter <= 0 ||
		!strings.Contains(pe.Message, "another process is refreshing") {
		t.Fatalf("got %v, want rate_limited saying another process is refreshing, with a Retry-After", err)
	}
	if ctx.Err() != nil {
		t.Error("the caller's deadline passed before it was answered")
	}
	if ts.hits.Load() != 0 {
		t.Errorf("%d token calls", ts.hits.Load())
	}
}

// deadlineLocker records the deadline of the context LockToken gets, from
// which a store derives its lease's lifetime.
type deadlineLocker struct {
	*providertest.MemTokenStore
	deadline chan time.Time
}

func (s *deadlineLocker) LockToken(ctx context.Context) (func(), error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	s.deadline <- dl
	return func() {}, nil
}

// TestOAuthLeaseEndsBeforeDeadline: the lease is asked for until a little
// before the call's deadline (or Config.Timeout's), never longer: a process
// that dies holding it blocks the others for less than one provider call.
func TestOAuthLeaseEndsBeforeDeadline(t *testing.T) {
	ts := newTokenServer(t, "rt-0")
	for _, withDeadline := range []bool{true, false} {
		store := &deadlineLocker{MemTokenStore: &providertest.MemTokenStore{}, deadline: make(chan time.Time, 1)}
		c := config(newOAuth(newClock()), store)
		c.Timeout = 3 * time.Second
		ctx := context.Background()
		start := time.Now()
		want := start.Add(c.Timeout)
		if withDeadline {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			want, _ = ctx.Deadline()
		}
		if _, err := c.Token(ctx, "acme", refreshFlow(ts, "rt-0")); err != nil {
			t.Fatal(err)
		}
		dl := <-store.deadline
		if dl.IsZero() || !dl.Before(want) || dl.Before(start) {
			t.Fatalf("deadline=%v: the lease was asked for until %v; want before the call's deadline %v", withDeadline, dl, want)
		}
	}
}
