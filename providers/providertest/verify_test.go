package providertest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

// fakeConn fails every other Verify, with a plain error on the first call.
type fakeConn struct{ calls atomic.Int32 }

func (c *fakeConn) Close() error { return nil }

func (c *fakeConn) Verify(context.Context, providers.VerifyRequest) (*providers.VerifyResult, error) {
	switch n := c.calls.Add(1); {
	case n == 1:
		return nil, errors.New("plain")
	case n%2 == 0:
		return nil, providers.Errorf(providers.CodeAuthFailed, "no")
	}
	return &providers.VerifyResult{}, nil
}

// recorder counts Errorf calls instead of failing the test.
type recorder struct {
	testing.TB
	errorfs int
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errorfs++ }

func TestVerifyConcurrently(t *testing.T) {
	c := &fakeConn{}
	r := &recorder{TB: t}
	errs := VerifyConcurrently(r, c, 10)
	if c.calls.Load() != 10 || len(errs) != 6 || r.errorfs != 6 {
		t.Fatalf("calls %d, errors %d, Errorf %d; want 10, 6, 6", c.calls.Load(), len(errs), r.errorfs)
	}
}

func TestVerify(t *testing.T) {
	c := &fakeConn{}
	if _, pe := Verify(context.Background(), c); pe == nil || pe.Code != "not a *providers.Error" || pe.Message != "plain" {
		t.Fatalf("plain error = %+v", pe)
	}
	if _, pe := Verify(context.Background(), c); pe == nil || pe.Code != providers.CodeAuthFailed {
		t.Fatalf("*providers.Error = %+v", pe)
	}
	if res, pe := Verify(context.Background(), c); pe != nil || res == nil {
		t.Fatalf("success = %+v, %+v", res, pe)
	}
}

func TestWantRateLimited(t *testing.T) {
	for _, tc := range []struct {
		err     *providers.Error
		errorfs int
	}{
		{&providers.Error{Code: providers.CodeRateLimited, Retryable: true, RetryAfter: 30 * time.Second}, 0},
		{&providers.Error{Code: providers.CodeRateLimited, Retryable: true, RetryAfter: time.Second}, 1},
		{&providers.Error{Code: providers.CodeRateLimited, RetryAfter: 30 * time.Second}, 1},
	} {
		r := &recorder{TB: t}
		if pe := WantRateLimited(r, tc.err, 30*time.Second); pe != tc.err || r.errorfs != tc.errorfs {
			t.Errorf("%+v: returned %p, Errorf %d; want %p, %d", tc.err, pe, r.errorfs, tc.err, tc.errorfs)
		}
	}
}
