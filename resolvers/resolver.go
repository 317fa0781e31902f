// Package resolvers is the application: root resolvers are the use cases
// (create, update, verify, list); field resolvers load lazy fields. GraphQL and
// the REST shim both call these methods, so both surfaces always agree.
package resolvers

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/junctionhq/junction/metrics"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// Resolver is the root resolver. It holds long-lived dependencies only; per
// request state travels in the context.
type Resolver struct {
	Store     *store.Store
	Providers *providers.Registry
	Log       *slog.Logger
	// HTTPClient and Dial are the guarded network clients (netguard) that
	// every driver gets in its Config.
	HTTPClient *http.Client
	Dial       providers.DialFunc
	// OAuth is the process-wide token machinery.
	OAuth *providers.OAuth
	// ProviderTimeout bounds every provider call.
	ProviderTimeout time.Duration
	// Metrics records provider checks; nil records nothing.
	Metrics *metrics.Metrics
	// Limits bound files, schema and query calls; zero fields take
	// DefaultLimits.
	Limits Limits

	touchedMu sync.Mutex
	touched   map[string]time.Time // connection id -> last lastUsedAt write
	catalog   catalogCache

	connsOnce sync.Once
	conns     *connCache

	gate gates // provider-call slots of the process and of each tenant
}

func (r *Resolver) connCache() *connCache {
	r.connsOnce.Do(func() { r.conns = newConnCache() })
	return r.conns
}

// Close closes every cached provider connection. Call it at shutdown.
func (r *Resolver) Close() { r.connCache().closeAll() }
