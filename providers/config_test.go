package providers

import (
	"context"
	"testing"
	"time"
)

func TestConfigWithTimeout(t *testing.T) {
	bg := context.Background()

	ctx, cancel := Config{Timeout: time.Hour}.WithTimeout(bg)
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > time.Hour {
		t.Errorf("no deadline within the timeout: %v, %v", dl, ok)
	}
	cancel()
	if ctx.Err() == nil {
		t.Error("cancel did not cancel the derived context")
	}

	ctx, cancel = Config{}.WithTimeout(bg)
	defer cancel()
	if ctx != bg {
		t.Error("Timeout 0: ctx was replaced")
	}

	parent, stop := context.WithTimeout(bg, time.Minute)
	defer stop()
	ctx, cancel = Config{Timeout: time.Hour}.WithTimeout(parent)
	cancel()
	if ctx != parent || parent.Err() != nil {
		t.Error("a ctx with a deadline was replaced or cancelled")
	}
}
