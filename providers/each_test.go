package providers_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/junctionhq/junction/providers"
)

func TestForEach(t *testing.T) {
	var inFlight, peak, calls atomic.Int32
	err := providers.ForEach(context.Background(), 50, 4, func(ctx context.Context, i int) error {
		calls.Add(1)
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		return nil
	})
	if err != nil || calls.Load() != 50 || peak.Load() > 4 {
		t.Fatalf("err %v, %d calls, peak %d", err, calls.Load(), peak.Load())
	}
	boom := errors.New("boom")
	calls.Store(0)
	err = providers.ForEach(context.Background(), 1000, 1, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 4 {
		t.Fatalf("err %v after %d calls, want boom after 4", err, calls.Load())
	}
}

func TestStatEach(t *testing.T) {
	items := []providers.FileRef{{Path: "/a"}, {Path: "/missing"}, {Path: "/secret"}}
	res, err := providers.StatEach(context.Background(), "fake", items, 2, func(ctx context.Context, ref providers.FileRef) (providers.FileItem, error) {
		switch ref.Path {
		case "/missing":
			return providers.FileItem{}, providers.Errorf(providers.CodeNotFound, "fake: %s not found", ref.Path)
		case "/secret":
			return providers.FileItem{}, providers.Errorf(providers.CodePermissionDenied, "fake: denied")
		}
		return providers.FileItem{ID: ref.Path, Kind: providers.FileKindFile, Path: ref.Path}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Items[0].Err != nil || res.Items[0].Item.Path != "/a" || res.Items[1].Err.Code != providers.CodeNotFound || res.Items[2].Err.Code != providers.CodePermissionDenied {
		t.Fatalf("%+v", res.Items)
	}
	_, err = providers.StatEach(context.Background(), "fake", items, 2, func(ctx context.Context, ref providers.FileRef) (providers.FileItem, error) {
		return providers.FileItem{}, providers.Errorf(providers.CodeAuthFailed, "fake: bad key")
	})
	if !providers.IsCode(err, providers.CodeAuthFailed) {
		t.Fatalf("whole-call failure: got %v", err)
	}
}

// TestForEachCallerCancel: when the caller's context ends, no new call starts
// and a started call's own error is returned rather than the bare cause.
func TestForEachCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	boom := errors.New("boom")
	var calls atomic.Int32
	err := providers.ForEach(ctx, 10, 1, func(ctx context.Context, i int) error {
		calls.Add(1)
		cancel()
		return boom
	})
	if !errors.Is(err, boom) || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls, want boom after 1", err, calls.Load())
	}
	err = providers.ForEach(ctx, 10, 1, func(ctx context.Context, i int) error {
		t.Error("a call started on an ended context")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
