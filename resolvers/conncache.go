package resolvers

import (
	"context"
	"sync"
	"time"

	"github.com/junctionhq/junction/providers"
)

// connIdle is how long an unused open Conn is kept.
const connIdle = 5 * time.Minute

// connCache keeps drivers' open Conns (and their pools) per stored connection,
// keyed by the connection's id and the updatedAt of the settings they were
// opened with: an edit opens a new Conn and retires the old one, which is
// closed once its last user releases it. Idle Conns are closed lazily, on the
// next lookup. A dry run never goes through the cache.
type connCache struct {
	mu      sync.Mutex
	entries map[string]*cachedConn
	now     func() time.Time
}

type cachedConn struct {
	stamp    time.Time
	conn     providers.Conn
	refs     int
	retired  bool
	lastUsed time.Time
}

func newConnCache() *connCache {
	return &connCache{entries: map[string]*cachedConn{}, now: time.Now}
}

// get returns the Conn for (id, stamp), opening it with open when there is
// none, and a release func the caller must call when done with it.
func (c *connCache) get(ctx context.Context, id string, stamp time.Time, open func(context.Context) (providers.Conn, error)) (providers.Conn, func(), error) {
	c.mu.Lock()
	c.sweepLocked()
	e := c.entries[id]
	if e != nil && !e.stamp.Equal(stamp) {
		// The settings changed: retire the old Conn; it closes when unused.
		delete(c.entries, id)
		c.retireLocked(e)
		e = nil
	}
	if e != nil {
		e.refs++
		e.lastUsed = c.now()
		c.mu.Unlock()
		return e.conn, c.releaser(e), nil
	}
	c.mu.Unlock()

	conn, err := open(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.entries[id]; cur != nil && cur.stamp.Equal(stamp) {
		// Another request opened it meanwhile: use theirs.
		conn.Close()
		cur.refs++
		cur.lastUsed = c.now()
		return cur.conn, c.releaser(cur), nil
	} else if cur != nil && cur.stamp.Before(stamp) {
		delete(c.entries, id)
		c.retireLocked(cur)
	}
	e = &cachedConn{stamp: stamp, conn: conn, refs: 1, lastUsed: c.now()}
	if cur := c.entries[id]; cur == nil {
		c.entries[id] = e
	} else {
		e.retired = true // a newer Conn is cached; this one is single-use
	}
	return conn, c.releaser(e), nil
}

func (c *connCache) releaser(e *cachedConn) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			e.refs--
			e.lastUsed = c.now()
			if e.retired && e.refs == 0 {
				e.conn.Close()
			}
		})
	}
}

func (c *connCache) retireLocked(e *cachedConn) {
	e.retired = true
	if e.refs == 0 {
		e.conn.Close()
	}
}

func (c *connCache) sweepLocked() {
	now := c.now()
	for id, e := range c.entries {
		if e.refs == 0 && now.Sub(e.lastUsed) > connIdle {
			delete(c.entries, id)
			e.conn.Close()
		}
	}
}

// forget retires the Conn of a deleted or disabled connection.
func (c *connCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil {
		delete(c.entries, id)
		c.retireLocked(e)
	}
}

// closeAll closes every cached Conn (at shutdown).
func (c *connCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.entries {
		delete(c.entries, id)
		c.retireLocked(e)
	}
}
