package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// MaxCacheTTL is the longest an identity resolved from a token or session is
// reused: a revocation, an expiry, a logout on another replica or a changed
// role takes effect on every replica sharing the database within it.
const MaxCacheTTL = time.Second

// maxCacheEntries bounds the cache. Only credentials that resolved are
// stored, so unknown tokens cannot fill it; past the bound, expired entries
// are dropped and, if it is still full, the new one is not stored.
const maxCacheEntries = 10000

// credKind keeps a token and a session id with the same text apart.
type credKind byte

const (
	kindToken   credKind = 't'
	kindSession credKind = 's'
)

// cacheKey is the SHA-256 of the credential (with its kind): the cache
// never holds a token or session id itself.
type cacheKey [sha256.Size]byte

func keyOf(kind credKind, cred string) cacheKey {
	h := sha256.New()
	h.Write([]byte{byte(kind)})
	h.Write([]byte(cred))
	var k cacheKey
	h.Sum(k[:0])
	return k
}

type cacheEntry struct {
	id    Identity
	until time.Time // the lookup's start plus the TTL
}

// identityCache remembers what lookups answered for a short time, so that
// a burst of requests with one credential costs one database lookup a TTL
// instead of one each. Concurrent misses for one credential share a lookup.
// Failures and unknown credentials are never stored.
type identityCache struct {
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	m     map[cacheKey]cacheEntry
	gen   uint64 // counts forgets: a lookup that overlapped one stores nothing
	group singleflight.Group
}

func newIdentityCache(ttl time.Duration) *identityCache {
	return &identityCache{ttl: min(ttl, MaxCacheTTL), now: time.Now, m: make(map[cacheKey]cacheEntry)}
}

// lookup answers from the cache when an entry is fresh, else runs lookup
// (once for all concurrent callers with the same credential) and stores a
// success. The entry's age counts from when its lookup started, so it never
// reflects the database as of more than ttl ago.
func (c *identityCache) lookup(ctx context.Context, kind credKind, cred string, lookup Lookup) (Identity, error) {
	k := keyOf(kind, cred)
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.id, nil
	}
	v, err, shared := c.group.Do(string(k[:]), func() (any, error) {
		c.mu.Lock()
		gen := c.gen
		c.mu.Unlock()
		start := c.now()
		id, err := lookup(ctx, cred)
		if err == nil {
			c.store(k, gen, cacheEntry{id: id, until: start.Add(c.ttl)})
		}
		return id, err
	})
	if err != nil && shared && !errors.Is(err, ErrUnknownToken) {
		// The shared lookup ran under another request's context, which
		// may have ended; this request's own answer is what counts.
		return lookup(ctx, cred)
	}
	if err != nil {
		return Identity{}, err
	}
	return v.(Identity), nil
}

func (c *identityCache) store(k cacheKey, gen uint64, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCacheEntries {
		now := c.now()
		for k, old := range c.m {
			if !now.Before(old.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCacheEntries {
			return
		}
	}
	c.m[k] = e
}

// forget drops a credential, so that this process stops accepting it at
// once (logout).
func (c *identityCache) forget(kind credKind, cred string) {
	k := keyOf(kind, cred)
	c.mu.Lock()
	delete(c.m, k)
	c.gen++
	c.mu.Unlock()
}
