package providertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

// Verify calls c's Verify with an empty request. A failure that is not a
// *providers.Error comes back as one whose Code is "not a *providers.Error"
// and whose Message is the error's text, so a test comparing codes fails.
func Verify(ctx context.Context, c providers.Conn) (*providers.VerifyResult, *providers.Error) {
	res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
	if err == nil {
		return res, nil
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return nil, &providers.Error{Code: "not a *providers.Error", Message: err.Error()}
	}
	return nil, pe
}

// VerifyConcurrently starts n Verify calls on c at once (each with
// context.Background()), waits for them all, fails the test with
// "verify: <error>" for every call that failed and returns those errors.
func VerifyConcurrently(t testing.TB, c providers.Conn, n int) []error {
	t.Helper()
	v := c.(providers.Verifier)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range n {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("verify: %v", err)
	}
	return errs
}

// WantCode fails the test unless err is a *providers.Error with code, and
// returns it.
func WantCode(t testing.TB, err error, code providers.Code) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) || pe == nil {
		t.Fatalf("error = %v, want a *providers.Error with code %s", err, code)
	}
	if pe.Code != code {
		t.Fatalf("code = %s (%s), want %s", pe.Code, pe.Message, code)
	}
	return pe
}

// WantRateLimited fails the test unless err is a *providers.Error with
// CodeRateLimited, marked retryable, whose RetryAfter is wantRetryAfter (the
// Retry-After the fake sent, passed on rather than waited out), and returns it.
func WantRateLimited(t testing.TB, err error, wantRetryAfter time.Duration) *providers.Error {
	t.Helper()
	pe := WantCode(t, err, providers.CodeRateLimited)
	if !pe.Retryable || pe.RetryAfter != wantRetryAfter {
		t.Errorf("retryable = %v, RetryAfter = %v; want retryable with RetryAfter %v (%s)", pe.Retryable, pe.RetryAfter, wantRetryAfter, pe.Message)
	}
	return pe
}
