package main

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogBuffer(t *testing.T) {
	t.Run("close writes what is buffered", func(t *testing.T) {
		var out lockedBuffer
		b := newLogBuffer(&out, time.Hour)
		b.Write([]byte("one\n"))
		b.Write([]byte("two\n"))
		if got := out.String(); got != "" {
			t.Fatalf("written before a flush: %q", got)
		}
		b.Close()
		if got := out.String(); got != "one\ntwo\n" {
			t.Fatalf("after Close: %q", got)
		}
	})
	t.Run("a full buffer is written without waiting", func(t *testing.T) {
		var out lockedBuffer
		b := newLogBuffer(&out, time.Hour)
		defer b.Close()
		line := strings.Repeat("x", 1023) + "\n"
		for range 65 {
			b.Write([]byte(line))
		}
		if got := len(out.String()); got < 64<<10 {
			t.Fatalf("%d bytes written after 65 KiB of lines, want the first 64 KiB", got)
		}
	})
	t.Run("the flusher writes lines without a Close", func(t *testing.T) {
		var out lockedBuffer
		b := newLogBuffer(&out, time.Millisecond)
		defer b.Close()
		b.Write([]byte("line\n"))
		deadline := time.Now().Add(10 * time.Second)
		for out.String() != "line\n" {
			if time.Now().After(deadline) {
				t.Fatalf("the line was not written by the flusher: %q", out.String())
			}
			time.Sleep(time.Millisecond)
		}
	})
	t.Run("concurrent lines stay whole", func(t *testing.T) {
		var out lockedBuffer
		b := newLogBuffer(&out, time.Millisecond)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 500 {
					b.Write([]byte(strings.Repeat(string(rune('a'+g)), 40) + "\n"))
				}
			}()
		}
		wg.Wait()
		b.Close()
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 4000 {
			t.Fatalf("%d lines, want 4000", len(lines))
		}
		for _, l := range lines {
			if len(l) != 40 || strings.Count(l, l[:1]) != 40 {
				t.Fatalf("a torn line: %q", l)
			}
		}
	})
}
