package resolvers

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

type fakeConn struct {
	mu     sync.Mutex
	closed int
}

func (f *fakeConn) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func (f *fakeConn) closes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

func TestConnCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newConnCache()
	c.now = func() time.Time { return now }
	var opened []*fakeConn
	open := func(context.Context) (providers.Conn, error) {
		f := &fakeConn{}
		opened = append(opened, f)
		return f, nil
	}
	v1, v2 := now, now.Add(time.Second)

	a, relA, _ := c.get(ctx, "id", v1, open)
	b, relB, _ := c.get(ctx, "id", v1, open)
	if a != b || len(opened) != 1 {
		t.Fatalf("same settings opened %d conns", len(opened))
	}
	// An edit: a new Conn; the old one closes when its users are done.
	n, relN, _ := c.get(ctx, "id", v2, open)
	if n == a || len(opened) != 2 || opened[0].closes() != 0 {
		t.Fatal("old conn closed while in use, or not replaced")
	}
	relA()
	relA() // idempotent
	if opened[0].closes() != 0 {
		t.Fatal("closed with a user left")
	}
	relB()
	if opened[0].closes() != 1 {
		t.Fatal("retired conn not closed after its last release")
	}
	relN()
	// Idle past connIdle: closed on the next lookup of anything.
	now = now.Add(connIdle + time.Second)
	_, relO, _ := c.get(ctx, "other", v1, open)
	relO()
	if opened[1].closes() != 1 {
		t.Fatal("idle conn not closed")
	}
	_, rel, _ := c.get(ctx, "gone", v1, open)
	c.forget("gone")
	if opened[3].closes() != 0 {
		t.Fatal("forgotten conn closed while in use")
	}
	rel()
	if opened[3].closes() != 1 {
		t.Fatal("forgotten conn not closed")
	}
	c.closeAll()
	if opened[2].closes() != 1 {
		t.Fatal("closeAll left a conn open")
	}
}

// TestConnCacheOlderRequest: a request that read the row before an edit gets
// a Conn of its own, closed at release; the newer cached Conn stays.
func TestConnCacheOlderRequest(t *testing.T) {
	ctx := context.Background()
	c := newConnCache()
	var opened []*fakeConn
	open := func(context.Context) (providers.Conn, error) {
		f := &fakeConn{}
		opened = append(opened, f)
		return f, nil
	}
	v1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v2 := v1.Add(time.Second)
	newer, relNew, _ := c.get(ctx, "id", v2, open)
	older, relOld, _ := c.get(ctx, "id", v1, open)
	if older == newer || len(opened) != 2 {
		t.Fatalf("older request shared or replaced the newer conn (%d opened)", len(opened))
	}
	relOld()
	if opened[1].closes() != 1 || opened[0].closes() != 0 {
		t.Fatal("the older request's conn must close at release and the newer stay open")
	}
	again, relAgain, _ := c.get(ctx, "id", v2, open)
	if again != newer || len(opened) != 2 {
		t.Fatal("the newer conn was evicted by an older request")
	}
	relNew()
	relAgain()
}

// blockingConn blocks in Close until released.
type blockingConn struct {
	started chan struct{}
	unblock chan struct{}
}

func (b *blockingConn) Close() error {
	close(b.started)
	<-b.unblock
	return nil
}

// TestConnCacheCloseOutsideLock: a Conn whose Close blocks does not stall
// lookups of other connections.
func TestConnCacheCloseOutsideLock(t *testing.T) {
	ctx := context.Background()
	c := newConnCache()
	slow := &blockingConn{started: make(chan struct{}), unblock: make(chan struct{})}
	v1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, rel, _ := c.get(ctx, "slow", v1, func(context.Context) (providers.Conn, error) { return slow, nil })
	rel()
	go c.forget("slow")
	<-slow.started
	got := make(chan struct{})
	go func() {
		_, rel, _ := c.get(ctx, "other", v1, func(context.Context) (providers.Conn, error) { return &fakeConn{}, nil })
		rel()
		close(got)
	}()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("a lookup waited for another connection's Close")
	}
	close(slow.unblock)
}

// TestConnCacheConcurrent: many goroutines opening and releasing the same
// and different connections, with edits racing them: every Conn opened is
// closed exactly once after closeAll, and none while in use.
func TestConnCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	c := newConnCache()
	var mu sync.Mutex
	var all []*trackedConn
	open := func(context.Context) (providers.Conn, error) {
		tc := &trackedConn{}
		mu.Lock()
		all = append(all, tc)
		mu.Unlock()
		return tc, nil
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := []string{"a", "b", "c"}[(g+i)%3]
				stamp := base.Add(time.Duration(i/50) * time.Second) // edits every 50 rounds
				conn, rel, err := c.get(ctx, id, stamp, open)
				if err != nil {
					t.Error(err)
					return
				}
				tc := conn.(*trackedConn)
				tc.use(t)
				rel()
				if i%37 == 0 {
					c.forget(id)
				}
			}
		}()
	}
	wg.Wait()
	c.closeAll()
	for i, tc := range all {
		if n := tc.closes(); n != 1 {
			t.Errorf("conn %d closed %d times", i, n)
		}
	}
}

type trackedConn struct {
	mu     sync.Mutex
	closed int
}

func (tc *trackedConn) use(t *testing.T) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.closed > 0 {
		t.Error("a conn was used after it was closed")
	}
}

func (tc *trackedConn) Close() error {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.closed++
	return nil
}

func (tc *trackedConn) closes() int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.closed
}
