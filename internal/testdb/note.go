package testdb

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// SkipNote is the line `go test ./...` prints when the PostgreSQL half of
// the tests was skipped.
const SkipNote = "junction tests: the PostgreSQL half was skipped (JUNCTION_TEST_DATABASE_URL is not set). " +
	"Run it with JUNCTION_TEST_DATABASE_URL='postgres://user:pass@127.0.0.1:5432/junction_test?sslmode=disable' go test ./... " +
	"(the role needs CREATE on that database; see the README's Tests section)."

var noteOnce sync.Once

// noteSkipped says SkipNote once per `go test` command, however many test
// packages skip.
//
// In package-list mode (go test ./...) the go command shows a passing
// package's output only with -v, so a line on the test's own stderr would
// never be seen: the line goes to the go command's stderr instead (Linux),
// and to the test's stderr elsewhere or when that cannot be had.
func noteSkipped() {
	noteOnce.Do(func() {
		if !firstInCommand() {
			return
		}
		w := io.Writer(os.Stderr)
		if f := goCommandStderr(); f != nil {
			defer f.Close()
			w = f
		}
		fmt.Fprintln(w, SkipNote)
	})
}

// firstInCommand reports whether no other test binary of the same go
// command said the note already: a marker file named after the parent
// process, created exclusively. Markers older than a day are removed.
func firstInCommand() bool {
	dir := os.TempDir()
	old, _ := filepath.Glob(filepath.Join(dir, "junction-test-pg-note-*"))
	for _, p := range old {
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			os.Remove(p)
		}
	}
	marker := filepath.Join(dir, "junction-test-pg-note-"+strconv.Itoa(os.Getppid())+"-"+parentStart())
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return os.IsNotExist(err) // no temp dir: say it
	}
	f.Close()
	return true
}
