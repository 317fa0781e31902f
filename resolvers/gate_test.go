package resolvers

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

// TestAdmit (items 8, 22): a tenant gets at most TenantProviderConcurrency
// slots and the process ProviderConcurrency; a call waits for one until its
// deadline, then answers rate_limited with a Retry-After, while another
// tenant's call proceeds; a request spends at most MaxRequestProviderCalls.
func TestAdmit(t *testing.T) {
	r := &Resolver{Limits: Limits{TenantProviderConcurrency: 2, ProviderConcurrency: 3, MaxRequestProviderCalls: 2}}
	bg := context.Background()
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(bg, 100*time.Millisecond) }

	a1, err := r.admit(bg, "a")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := r.admit(bg, "a")
	if err != nil {
		t.Fatal(err)
	}
	// The tenant's third waits, and gives up at its deadline.
	ctx, cancel := short()
	start := time.Now()
	_, err = r.admit(ctx, "a")
	cancel()
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != providers.CodeRateLimited || pe.RetryAfter <= 0 || time.Since(start) < 90*time.Millisecond {
		t.Fatalf("third call of a tenant bound to 2: %v after %s", err, time.Since(start))
	}
	if e, _ := AsError(err); e.Code != CodeRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("as the API answers it: %+v", e)
	}
	// Another tenant proceeds at once.
	ctx, cancel = short()
	b1, err := r.admit(ctx, "b")
	cancel()
	if err != nil {
		t.Fatalf("another tenant's call: %v", err)
	}
	// The process bound (3) is reached: a third tenant waits and gives up.
	ctx, cancel = short()
	_, err = r.admit(ctx, "c")
	cancel()
	if !errors.As(err, &pe) || pe.Code != providers.CodeRateLimited {
		t.Fatalf("past the process bound: %v", err)
	}
	// A waiting call runs once a slot frees.
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		rel, err := r.admit(ctx, "a")
		if err == nil {
			rel()
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	a1()
	a1() // a second release is a no-op
	if err := <-got; err != nil {
		t.Fatalf("after a release: %v", err)
	}
	a2()
	b1()
	g := r.gates()
	if len(g.process) != 0 || len(g.tenants) != 0 {
		t.Errorf("slots left taken: process %d, tenants %d", len(g.process), len(g.tenants))
	}
	// A cancelled request is not rate limited.
	ctx, cancel = context.WithCancel(bg)
	cancel()
	fill := []func(){}
	for range 2 {
		rel, _ := r.admit(bg, "a")
		fill = append(fill, rel)
	}
	if _, err := r.admit(ctx, "a"); !errors.As(err, &pe) || pe.Code != providers.CodeTimeout {
		t.Errorf("cancelled: %v", err)
	}
	for _, rel := range fill {
		rel()
	}

	// The budget: two calls per request, then too_many_provider_calls.
	ctx = r.WithProviderBudget(bg)
	for i := range 3 {
		rel, err := r.admit(ctx, "a")
		if i < 2 {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			rel()
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeTooManyProviderCalls {
			t.Fatalf("third call of a request with a budget of 2: %v", err)
		}
	}
}
