package testdb

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestPostgreSQLHalfNote says, in go test's normal output, that the
// PostgreSQL half is skipped whenever JUNCTION_TEST_DATABASE_URL is unset,
// even when every other package's result comes from the test cache: this
// package's result is not cached then, because it reads a file it has just
// written (the go command does not cache a result that depends on a file
// modified within the last seconds).
func TestPostgreSQLHalfNote(t *testing.T) {
	if os.Getenv("JUNCTION_TEST_DATABASE_URL") != "" {
		return
	}
	noteSkipped()
	const stamp = ".pg-note-stamp" // in .gitignore
	if err := os.WriteFile(stamp, []byte(time.Now().Format(time.RFC3339Nano)), 0o600); err != nil {
		t.Logf("stamp: %v", err)
		return
	}
	if f, err := os.Open(stamp); err == nil {
		f.Close()
	}
}

func TestSkipNoteSaysHow(t *testing.T) {
	for _, want := range []string{"JUNCTION_TEST_DATABASE_URL=", "go test ./...", "skipped"} {
		if !strings.Contains(SkipNote, want) {
			t.Errorf("SkipNote lacks %q", want)
		}
	}
	if s := parentStart(); s == "" {
		t.Error("parentStart is empty")
	}
}
