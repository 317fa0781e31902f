package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logFlushInterval is how long a served request's log line may wait.
const logFlushInterval = 100 * time.Millisecond

// logBuffer is the server's log output. Lines gather in a 64 KiB buffer that
// is written when it fills and at least every interval, so a busy server
// makes one write(2) per batch of access-log lines instead of one per request
// (a write per line was a tenth of the CPU of a health check under load). A
// line waits at most interval; Close writes what is left. A crash that
// kills the process loses at most that interval of lines.
type logBuffer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// newLogBuffer starts the flusher of a logBuffer writing to w.
func newLogBuffer(w io.Writer, interval time.Duration) *logBuffer {
	b := &logBuffer{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				b.Flush()
				return
			}
		}
	}()
	return b
}

// Write buffers p; each call is one whole log line from slog.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes what is buffered.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the flusher and writes what is left. Writes after Close still
// work but wait for the buffer to fill.
func (b *logBuffer) Close() error {
	close(b.stop)
	<-b.done
	return nil
}
