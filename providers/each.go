package providers

import (
	"context"
	"sync"
)

// ForEach calls fn(ctx, i) for i in [0, n) with at most workers calls at
// once (workers < 1 means 1). The first error cancels the context the other
// calls see, no new call starts after it, and ForEach returns it once every
// started call has returned. When ctx ends first, no new call starts and
// ForEach returns the first error a started call returned, else ctx's cause.
func ForEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	if workers < 1 {
		workers = 1
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	sem := make(chan struct{}, workers)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err })
				stop(err)
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

// StatEach builds a StatFilesResult by calling stat for each item with at
// most workers calls at once. An error classified (Classify) as not found or
// permission denied becomes that item's FileStat.Err; any other error fails
// the whole call, as FileStater requires.
func StatEach(ctx context.Context, provider string, items []FileRef, workers int, stat func(ctx context.Context, ref FileRef) (FileItem, error)) (*StatFilesResult, error) {
	out := &StatFilesResult{Items: make([]FileStat, len(items))}
	err := ForEach(ctx, len(items), workers, func(ctx context.Context, i int) error {
		it, err := stat(ctx, items[i])
		if err == nil {
			out.Items[i] = FileStat{Item: it}
			return nil
		}
		pe := Classify(provider, err)
		if pe.Code == CodeNotFound || pe.Code == CodePermissionDenied {
			out.Items[i] = FileStat{Err: pe}
			return nil
		}
		return pe
	})
	if err != nil {
		return nil, Classify(provider, err)
	}
	return out, nil
}
