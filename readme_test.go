package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/auth"
)

// cliEnvVar makes this test binary act as the junction command (TestMain),
// so the README's `go run . ...` runs this build without building another.
const cliEnvVar = "JUNCTION_TEST_ACT_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnvVar) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// readmeBlock is one fenced ```sh block of the README.
type readmeBlock struct {
	line int    // of the opening fence
	code string // the block's text
	skip string // the reason given by a <!-- readme-test: skip: REASON --> marker, or ""
}

var skipMarker = regexp.MustCompile(`^<!-- readme-test: skip: (.+?) -->$`)

// readmeBlocks returns the README's shell blocks. A block is skipped only
// when the line before its fence is a marker comment that says why.
func readmeBlocks(t *testing.T, text string) []readmeBlock {
	t.Helper()
	var out []readmeBlock
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") {
			continue
		}
		lang := strings.TrimPrefix(fence, "```")
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if lang != "sh" && lang != "bash" && lang != "shell" {
			continue
		}
		b := readmeBlock{line: start + 1, code: strings.Join(body, "\n")}
		if start > 0 {
			prev := strings.TrimSpace(lines[start-1])
			if m := skipMarker.FindStringSubmatch(prev); m != nil {
				b.skip = m[1]
			} else if strings.Contains(prev, "readme-test") {
				t.Errorf("README.md:%d: malformed marker %q (want <!-- readme-test: skip: REASON -->)", start, prev)
			}
		}
		out = append(out, b)
	}
	return out
}

// statusLog records what the server answered, for the checks after the
// README's commands ran.
type statusLog struct {
	mu    sync.Mutex
	lines []string
	bad   []string
	// showsValidation: the blocks (by line) that show a 422 answer.
	showsValidation map[string]bool
}

func (l *statusLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, code: 200}
		next.ServeHTTP(rec, r)
		block := r.Header.Get("X-Readme-Block")
		line := fmt.Sprintf("%d %s %s (README.md:%s)", rec.code, r.Method, r.URL.Path, block)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, line)
		// The README's examples succeed, or answer 422 in a block that
		// shows the validation answer; anything else means the README and
		// the server disagree (a wrong token, path, body or media type).
		if rec.code >= 400 && !(rec.code == http.StatusUnprocessableEntity && l.showsValidation[block]) {
			l.bad = append(l.bad, line)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestREADMEShellExamples runs every ```sh block of the README, in order,
// in one bash, against a server started here as `go run .` would (a fresh
// SQLite data directory, the admin token it prints in $TOKEN), with
// http://localhost:8080 pointed at it and `go run .` running this build.
// A block is left out only by a marker comment in the README that says why
// (<!-- readme-test: skip: REASON -->): those that run the test suite, stop
// the server, or need a service from outside (a database or file store to
// browse). Every command must succeed, and the server must answer every
// request with success, or 422 where the README shows validation.
func TestREADMEShellExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's examples against a server; not with -short")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("the README's examples need %s (apt-get install -y %s)", tool, tool)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, string(readme))
	if len(blocks) < 8 {
		t.Fatalf("only %d shell blocks found in the README", len(blocks))
	}

	// The server, as `go run .` starts it on an empty data directory.
	ctx := context.Background()
	data := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{"JUNCTION_DATA_DIR": data, "JUNCTION_ADDR": ln.Addr().String(), "JUNCTION_LOG_FORMAT": "json"}
	cfg := mustConfig(t, env)
	var serverLog lockedBuffer
	log := newLogger(cfg, &serverLog)
	var first bytes.Buffer
	st, err := prepare(ctx, cfg, log, &first)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	token := regexp.MustCompile(`jct_[A-Za-z0-9_-]{43}`).FindString(first.String())
	if token == "" || !strings.Contains(first.String(), "/login") {
		t.Fatalf("the first start printed %q", first.String())
	}
	h, closeConns := newHandler(cfg, st, log)
	defer closeConns()
	statuses := statusLog{showsValidation: map[string]bool{}}
	srv := &http.Server{Handler: statuses.wrap(h), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	// A token for the revocation example.
	old := auth.NewToken()
	if _, err := st.EnsureUserToken(ctx, "default", "leaver", "leaver@example.com", "member", old); err != nil {
		t.Fatal(err)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString(`set -eo pipefail
# Every request names its block, for the server's status log.
curl() { command curl -H "X-Readme-Block: $README_BLOCK" "$@"; }
# go run . is this build of junction; nothing else of go is used here.
go() {
  if [ "$1" = run ] && [ "$2" = . ]; then shift 2; ` + cliEnvVar + `=1 "$JUNCTION_SELF" "$@"
  else echo "README test: only 'go run .' can run here, not: go $*" >&2; return 1; fi
}
`)
	var ran, skipped []string
	for _, b := range blocks {
		where := fmt.Sprintf("README.md:%d", b.line)
		if b.skip != "" {
			skipped = append(skipped, where+" ("+b.skip+")")
			continue
		}
		ran = append(ran, where)
		code := strings.ReplaceAll(b.code, "http://localhost:8080", base)
		fmt.Fprintf(&script, "README_BLOCK=%d\necho '>>> %s' >&2\n%s\n", b.line, where, code)
		if strings.Contains(b.code, `{"detail":[`) {
			statuses.mu.Lock()
			statuses.showsValidation[fmt.Sprint(b.line)] = true
			statuses.mu.Unlock()
		}
	}
	script.WriteString("echo '>>> done' >&2\n")

	work := t.TempDir()
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = work
	cmd.Env = append(serverEnv(),
		"JUNCTION_SELF="+self, "JUNCTION_DATA_DIR="+data, "TOKEN="+token, "OLD_TOKEN="+old)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		err = fmt.Errorf("timed out: %v", <-done)
	}
	if dir := os.Getenv("JUNCTION_TEST_ARTIFACTS"); dir != "" {
		// The whole output, for reading after CI.
		if err := os.MkdirAll(dir, 0o755); err == nil {
			os.WriteFile(filepath.Join(dir, "readme-examples.txt"), out.Bytes(), 0o644)
		}
	}
	t.Logf("ran %d shell blocks: %s", len(ran), strings.Join(ran, ", "))
	t.Logf("skipped by their README markers: %s", strings.Join(skipped, "; "))
	if err != nil || !strings.Contains(out.String(), ">>> done") {
		t.Fatalf("the README's commands failed (%v); the last >>> line names the block:\n%s", err, tail(out.String(), 4000))
	}
	statuses.mu.Lock()
	defer statuses.mu.Unlock()
	if len(statuses.lines) < 20 {
		t.Errorf("only %d requests reached the server:\n%s", len(statuses.lines), strings.Join(statuses.lines, "\n"))
	}
	if len(statuses.bad) > 0 {
		t.Errorf("the README's examples got error answers:\n%s\n\noutput:\n%s", strings.Join(statuses.bad, "\n"), tail(out.String(), 4000))
	}
	if !strings.Contains(out.String(), `"ok":true`) {
		t.Errorf("the dry run against /healthz did not pass:\n%s", tail(out.String(), 4000))
	}
	if !strings.Contains(out.String(), "revoked") {
		t.Errorf("the revocation example did not revoke:\n%s", tail(out.String(), 4000))
	}
}

// serverEnv is this process's environment without JUNCTION_* settings.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JUNCTION_") && !strings.HasPrefix(kv, cliEnvVar+"=") {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// TestREADMEBlocksParse: the extraction finds blocks and markers as meant.
func TestREADMEBlocksParse(t *testing.T) {
	text := "x\n```sh\necho a\n```\n<!-- readme-test: skip: needs S3 -->\n```sh\necho b\n```\n```graphql\n{ me }\n```\n"
	got := readmeBlocks(t, text)
	if len(got) != 2 || got[0].code != "echo a" || got[0].skip != "" || got[1].skip != "needs S3" || got[1].line != 6 {
		t.Fatalf("%+v", got)
	}
}
