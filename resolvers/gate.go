package resolvers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionhq/junction/providers"
)

// CodeTooManyProviderCalls: the GraphQL operation already made as many
// provider calls as one request may (Limits.MaxRequestProviderCalls); the
// field was not run.
const CodeTooManyProviderCalls Code = "too_many_provider_calls"

// gateRetryAfter is the Retry-After of a call that waited its whole deadline
// for a free provider-call slot.
const gateRetryAfter = 2 * time.Second

// Every provider operation (a verify, a dry run, a files page, a selection's
// validation, a catalog read, a sample, a query) is admitted by admit
// before it runs: it counts against the request's budget, then takes a slot
// of its tenant and one of the process. These bound the work one request can
// fan out to (500 aliased testConnection used to make 500 outbound calls)
// and the memory concurrent calls hold (each may read a capped body), and
// keep one tenant from taking every slot of the process.

// budgetKey carries a request's *budget in its context.
type budgetKey struct{}

// budget counts the provider operations of one request.
type budget struct {
	max  int64
	used atomic.Int64
}

// WithProviderBudget returns ctx whose provider operations are bounded to
// Limits.MaxRequestProviderCalls, whatever budget its request has.
// LoadersMiddleware gives every request (a GraphQL operation, a REST call)
// its budget already: a field that would call a provider past it fails
// with too_many_provider_calls and calls nothing.
func (r *Resolver) WithProviderBudget(ctx context.Context) context.Context {
	return context.WithValue(ctx, budgetKey{}, &budget{max: int64(r.limits().MaxRequestProviderCalls)})
}

// spend takes one provider operation from the request's budget.
func (r *Resolver) spend(ctx context.Context) error {
	b, ok := ctx.Value(budgetKey{}).(*budget)
	if !ok {
		l, ok := ctx.Value(loadersKey{}).(*Loaders)
		if !ok || l.budget.max == 0 {
			return nil
		}
		b = &l.budget
	}
	if b.used.Add(1) > b.max {
		return errorf(CodeTooManyProviderCalls,
			"This request already made %d provider calls, the most one request may make (JUNCTION_REQUEST_PROVIDER_CALLS); send the rest in another request", b.max)
	}
	return nil
}

// gates are the process's and each tenant's provider-call slots.
type gates struct {
	once    sync.Once
	process chan struct{}
	perCap  int
	mu      sync.Mutex
	tenants map[string]*tenantGate
}

// tenantGate is one tenant's slots; users counts the calls holding or
// waiting for one, so an idle tenant's gate is dropped.
type tenantGate struct {
	slots chan struct{}
	users int
}

func (r *Resolver) gates() *gates {
	g := &r.gate
	g.once.Do(func() {
		l := r.limits()
		g.process = make(chan struct{}, l.ProviderConcurrency)
		g.perCap = l.TenantProviderConcurrency
		g.tenants = map[string]*tenantGate{}
	})
	return g
}

// admit admits one provider operation of tenantID: it spends one of the
// request's budget, then waits for a slot of the tenant and then one of the
// process, until ctx's deadline (the call's own). A call that could not
// get both in time answers rate_limited with Retry-After; one whose
// request was cancelled, that error. release frees the slots.
func (r *Resolver) admit(ctx context.Context, tenantID string) (release func(), err error) {
	if err := r.spend(ctx); err != nil {
		return nil, err
	}
	g := r.gates()
	g.mu.Lock()
	tg := g.tenants[tenantID]
	if tg == nil {
		tg = &tenantGate{slots: make(chan struct{}, g.perCap)}
		g.tenants[tenantID] = tg
	}
	tg.users++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		if tg.users--; tg.users == 0 {
			delete(g.tenants, tenantID)
		}
		g.mu.Unlock()
	}
	select {
	case tg.slots <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, gateErr(ctx, "this tenant")
	}
	select {
	case g.process <- struct{}{}:
	case <-ctx.Done():
		<-tg.slots
		leave()
		return nil, gateErr(ctx, "this server")
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-g.process
			<-tg.slots
			leave()
		})
	}, nil
}

// gateErr is why a call did not get a slot: its deadline passed while
// whose calls were all running (rate_limited, retry shortly), or its request
// was cancelled.
func gateErr(ctx context.Context, whose string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &providers.Error{Code: providers.CodeRateLimited, Retryable: true, RetryAfter: gateRetryAfter,
			Message: fmt.Sprintf("Too many provider calls are running for %s; none finished before this call's deadline: retry shortly", whose)}
	}
	return providers.Wrap(providers.CodeTimeout, ctx.Err(), "the request was cancelled while waiting for a provider-call slot")
}
