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
