package resolvers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// Limits are the server settings that bound files, schema and query calls.
// A zero field takes its default (DefaultLimits).
type Limits struct {
	// FilesMaxItems, FilesMaxDepth and FilesTimeout bound a selection's
	// validation (JUNCTION_FILES_MAX_ITEMS, _MAX_DEPTH, _TIMEOUT).
	FilesMaxItems int
	FilesMaxDepth int
	FilesTimeout  time.Duration
	// RequestProviderCalls bounds the provider calls one request runs at
	// once (JUNCTION_REQUEST_PROVIDER_CONCURRENCY), so a GraphQL list asking
	// files of 50 connections lists 8 at a time.
	RequestProviderCalls int
	// MaxRequestProviderCalls bounds the provider operations (verify, test,
	// a files page, a validation, a catalog read, a sample, a query) one
	// GraphQL request makes in all (JUNCTION_REQUEST_PROVIDER_CALLS); past
	// it a field answers too_many_provider_calls.
	MaxRequestProviderCalls int
	// ProviderConcurrency and TenantProviderConcurrency bound the provider
	// operations running at once in the process and for one tenant
	// (JUNCTION_PROVIDER_CONCURRENCY, JUNCTION_TENANT_PROVIDER_CONCURRENCY);
	// a call waits for a slot until its deadline, then answers rate_limited.
	ProviderConcurrency       int
	TenantProviderConcurrency int
	// QueryTimeout, QueryMaxRows and QueryMaxBytes bound samples and
	// queries (JUNCTION_QUERY_TIMEOUT, _MAX_ROWS, _MAX_BYTES).
	QueryTimeout  time.Duration
	QueryMaxRows  int
	QueryMaxBytes int
	// SchemaCacheTTL is how long a connection's catalog answers are reused
	// (JUNCTION_SCHEMA_CACHE_TTL); an edit of the connection drops them.
	SchemaCacheTTL time.Duration
}

// DefaultLimits are the limits API.md decides.
var DefaultLimits = Limits{
	FilesMaxItems: 100_000, FilesMaxDepth: 32, FilesTimeout: 60 * time.Second,
	RequestProviderCalls:    8,
	MaxRequestProviderCalls: 20, ProviderConcurrency: 32, TenantProviderConcurrency: 8,
	QueryTimeout: 30 * time.Second, QueryMaxRows: 10_000, QueryMaxBytes: 10 << 20,
	SchemaCacheTTL: 30 * time.Second,
}

func (r *Resolver) limits() Limits {
	l, d := r.Limits, DefaultLimits
	if l.FilesMaxItems <= 0 {
		l.FilesMaxItems = d.FilesMaxItems
	}
	if l.FilesMaxDepth <= 0 {
		l.FilesMaxDepth = d.FilesMaxDepth
	}
	if l.FilesTimeout <= 0 {
		l.FilesTimeout = d.FilesTimeout
	}
	if l.RequestProviderCalls <= 0 {
		l.RequestProviderCalls = d.RequestProviderCalls
	}
	if l.MaxRequestProviderCalls <= 0 {
		l.MaxRequestProviderCalls = d.MaxRequestProviderCalls
	}
	if l.ProviderConcurrency <= 0 {
		l.ProviderConcurrency = d.ProviderConcurrency
	}
	if l.TenantProviderConcurrency <= 0 {
		l.TenantProviderConcurrency = d.TenantProviderConcurrency
	}
	if l.QueryTimeout <= 0 {
		l.QueryTimeout = d.QueryTimeout
	}
	if l.QueryMaxRows <= 0 {
		l.QueryMaxRows = d.QueryMaxRows
	}
	if l.QueryMaxBytes <= 0 {
		l.QueryMaxBytes = d.QueryMaxBytes
	}
	if l.SchemaCacheTTL <= 0 {
		l.SchemaCacheTTL = d.SchemaCacheTTL
	}
	return l
}

// lastUsedEvery is how often lastUsedAt is written per connection at most.
const lastUsedEvery = time.Minute

// usedConn is an open provider connection lent to one files, schema or
// query call; release returns it to the cache.
type usedConn struct {
	row     *store.Connection
	conn    providers.Conn
	secrets map[string]string
	release func()
}

// loadUsable loads a connection the caller can see, by id, for a files,
// schema or query call.
func (r *Resolver) loadUsable(ctx context.Context, id string) (*store.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return r.load(ctx, who, id)
}

// rowOf returns the stored row behind a connection a resolver already
// loaded (and checked the caller may see), reading it again only when the
// model was built without one.
func (r *Resolver) rowOf(ctx context.Context, c *model.Connection) (*store.Connection, error) {
	if c.Stored != nil {
		return c.Stored, nil
	}
	return r.loadUsable(ctx, c.ID)
}

// use opens (or reuses, through the Conn cache) the provider connection of
// c for a files, schema or query call, and records the use. A disabled
// connection is connection_disabled; a provider whose Conn lacks what want
// needs is unsupported_operation.
func (r *Resolver) use(ctx context.Context, c *store.Connection, capability string) (*usedConn, error) {
	if c.Status == string(model.ConnectionStatusDisabled) {
		return nil, errorf(CodeDisabled, "The connection is disabled; reactivate it first")
	}
	drv, ok := r.Providers.Get(c.Provider)
	if !ok {
		return nil, fmt.Errorf("connection %s has unknown provider %q", c.ID, c.Provider)
	}
	if !hasCapability(drv.Spec(), capability) {
		return nil, errorf(CodeUnsupported, "%s connections do not support %s", c.Provider, capabilityName(capability))
	}
	secrets, err := r.Store.OpenSecrets(c)
	if err != nil {
		return nil, err
	}
	cfg := r.providerConfig(c.Config, secrets, &connTokens{store: r.Store, tenantID: c.TenantID, id: c.ID})
	conn, release, err := r.cached(c, drv, cfg)(ctx)
	if err != nil {
		return nil, redactErr(providers.Classify(drv.Name(), err), cfg.Secrets)
	}
	r.touch(ctx, c)
	return &usedConn{row: c, conn: conn, secrets: cfg.Secrets, release: release}, nil
}

// fail is the client-facing form of a provider call's error: a typed
// provider error redacted against the connection's secrets once more.
func (u *usedConn) fail(provider string, err error) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	return redactErr(providers.Classify(provider, err), u.secrets)
}

func hasCapability(spec providers.Spec, capability string) bool {
	for _, c := range spec.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

func capabilityName(capability string) string {
	switch capability {
	case providers.CapFiles:
		return "file browsing"
	case providers.CapSchema:
		return "schema browsing"
	case providers.CapQuery:
		return "queries"
	}
	return capability
}

// touch records lastUsedAt at most once a minute per connection: an
// in-process stamp skips the write for most calls, and the store's own
// condition skips it when another replica wrote it recently.
func (r *Resolver) touch(ctx context.Context, c *store.Connection) {
	now := store.Now()
	r.touchedMu.Lock()
	if r.touched == nil {
		r.touched = map[string]time.Time{}
	}
	last, seen := r.touched[c.ID]
	if seen && now.Sub(last) < lastUsedEvery {
		r.touchedMu.Unlock()
		return
	}
	r.touched[c.ID] = now
	r.touchedMu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.Store.TouchLastUsed(ctx, c.TenantID, c.ID, now, lastUsedEvery); err != nil {
		r.Log.WarnContext(ctx, "recording last use failed", "connection", c.ID, "err", err)
	}
}

// providerCall readies ctx for one provider call of a request in tenantID's
// name: the provider deadline, then admission against the request's budget
// and the tenant's and process's slots (admit), then one of the request's
// concurrent slots (providerSlot). done releases all of it, in reverse.
func (r *Resolver) providerCall(ctx context.Context, tenantID string) (_ context.Context, done func(), err error) {
	ctx, cancel := r.providerDeadline(ctx)
	admitted, err := r.admit(ctx, tenantID)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	release, err := r.providerSlot(ctx)
	if err != nil {
		admitted()
		cancel()
		return nil, nil, err
	}
	return ctx, func() { release(); admitted(); cancel() }, nil
}

// providerSlot waits for one of the request's provider-call slots
// (Limits.RequestProviderCalls) and returns its release. Outside a request
// (no loaders in ctx) there is no bound.
func (r *Resolver) providerSlot(ctx context.Context) (func(), error) {
	l, ok := ctx.Value(loadersKey{}).(*Loaders)
	if !ok {
		return func() {}, nil
	}
	l.slotsOnce.Do(func() { l.slots = make(chan struct{}, r.limits().RequestProviderCalls) })
	select {
	case l.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-l.slots }) }, nil
	case <-ctx.Done():
		return nil, providers.Wrap(providers.CodeTimeout, ctx.Err(), "the request ran out of time waiting for its other provider calls")
	}
}
