package resolvers

import (
	"context"
	"sync"
	"time"

	"github.com/junctionhq/junction/providers"
)

// connIdle is how long an unused open Conn is kept.
const connIdle = 5 * time.Minute

// connCache keeps drivers' open Conns (and their pools, SSH sessions, S3
// clients, OAuth tokens) per stored connection, keyed by the connection's
// id and the updatedAt of the settings they were opened with: an edit opens
// a new Conn and retires the old one, which is closed once its last user
// releases it. Idle Conns are closed lazily, on the next lookup. A dry run
// never goes through the cache.
//
// Closing a Conn may block (an SSH goodbye, a pool draining), so Conns are
// only ever closed after the cache's lock is released: one slow close never
// stalls every other connection's lookups.
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

// closeLater collects Conns to close once the lock is released.
type closeLater []providers.Conn

func (cl closeLater) close() {
	for _, c := range cl {
		c.Close()
	}
}

// get returns the Conn for (id, stamp), opening it with open when there is
// none, and a release func the caller must call when done with it. A request
// holding older settings than the cached Conn (it read the row before an
// edit) gets a Conn of its own, closed at release: it never evicts the newer
// one.
func (c *connCache) get(ctx context.Context, id string, stamp time.Time, open func(context.Context) (providers.Conn, error)) (providers.Conn, func(), error) {
	var done closeLater
	c.mu.Lock()
	done = c.sweepLocked(done)
	e := c.entries[id]
	stale := e != nil && e.stamp.After(stamp)
	if e != nil && e.stamp.Before(stamp) {
		// The settings changed: retire the old Conn; it closes when unused.
		delete(c.entries, id)
		done = c.retireLocked(e, done)
		e = nil
	}
	if e != nil && !stale {
		e.refs++
		e.lastUsed = c.now()
		c.mu.Unlock()
		done.close()
		return e.conn, c.releaser(e), nil
	}
	c.mu.Unlock()
	done.close()

	conn, err := open(ctx)
	if err != nil {
		return nil, nil, err
	}
	done = nil
	c.mu.Lock()
	cur := c.entries[id]
	switch {
	case stale || (cur != nil && cur.stamp.After(stamp)):
		// A newer Conn is cached: this one serves only this request.
		e = &cachedConn{stamp: stamp, conn: conn, refs: 1, retired: true, lastUsed: c.now()}
	case cur != nil && cur.stamp.Equal(stamp):
		// Another request opened it meanwhile: use theirs.
		cur.refs++
		cur.lastUsed = c.now()
		c.mu.Unlock()
		conn.Close()
		return cur.conn, c.releaser(cur), nil
	default:
		if cur != nil {
			delete(c.entries, id)
			done = c.retireLocked(cur, done)
		}
		e = &cachedConn{stamp: stamp, conn: conn, refs: 1, lastUsed: c.now()}
		c.entries[id] = e
	}
	c.mu.Unlock()
	done.close()
	return conn, c.releaser(e), nil
}

func (c *connCache) releaser(e *cachedConn) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			e.refs--
			e.lastUsed = c.now()
			closeNow := e.retired && e.refs == 0
			c.mu.Unlock()
			if closeNow {
				e.conn.Close()
			}
		})
	}
}

// retireLocked marks e retired and adds it to done when nobody uses it.
func (c *connCache) retireLocked(e *cachedConn, done closeLater) closeLater {
	e.retired = true
	if e.refs == 0 {
		done = append(done, e.conn)
	}
	return done
}

func (c *connCache) sweepLocked(done closeLater) closeLater {
	now := c.now()
	for id, e := range c.entries {
		if e.refs == 0 && now.Sub(e.lastUsed) > connIdle {
			delete(c.entries, id)
			e.retired = true
			done = append(done, e.conn)
		}
	}
	return done
}

// forget retires the Conn of a deleted or disabled connection.
func (c *connCache) forget(id string) {
	var done closeLater
	c.mu.Lock()
	if e := c.entries[id]; e != nil {
		delete(c.entries, id)
		done = c.retireLocked(e, done)
	}
	c.mu.Unlock()
	done.close()
}

// closeAll closes every cached Conn (at shutdown).
func (c *connCache) closeAll() {
	var done closeLater
	c.mu.Lock()
	for id, e := range c.entries {
		delete(c.entries, id)
		done = c.retireLocked(e, done)
	}
	c.mu.Unlock()
	done.close()
}
