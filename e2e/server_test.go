package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is a junction process started for a test.
type server struct {
	URL   string // http://127.0.0.1:PORT
	Token string // an admin API token
	User  string // the token's user name
	Log   *bytes.Buffer
}

var (
	buildOnce sync.Once
	buildDir  string
	binary    string
	buildErr  error
)

// junctionBinary builds the server once per test binary (with -race when the
// tests run with it, so the build cache of `go test -race` is reused).
func junctionBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "junction-e2e-bin-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "junction")
		args := []string{"build", "-o", binary}
		if raceBuild {
			args = append(args, "-race")
		}
		args = append(args, "github.com/junctionhq/junction")
		cmd := exec.Command(goTool(), args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// serverEnv is the environment of the server: this process's, without any
// JUNCTION_* setting (a developer's database URL or key must not leak in),
// plus the given settings.
func serverEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JUNCTION_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startServer runs `junction token create` and then `junction` (serve) on a
// free loopback port, with SQLite in a fresh data directory; the server is
// stopped when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := junctionBinary(t)
	data := t.TempDir()
	addr := freeLoopbackAddr(t)
	env := serverEnv("JUNCTION_DATA_DIR="+data, "JUNCTION_ADDR="+addr, "JUNCTION_LOG_FORMAT=json", "JUNCTION_SHUTDOWN_TIMEOUT=5s")

	s := &server{URL: "http://" + addr, User: "e2e-browser", Log: &bytes.Buffer{}}
	create := exec.Command(bin, "token", "create", "--tenant", "e2e", "--user", s.User, "--email", "e2e@example.com", "--role", "admin")
	create.Env = env
	var stderr bytes.Buffer
	create.Stderr = &stderr
	out, err := create.Output()
	if err != nil {
		t.Fatalf("junction token create: %v\n%s", err, stderr.String())
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		t.Fatalf("junction token create printed no token:\n%s", stderr.String())
	}
	s.Token = lines[len(lines)-1]

	cmd := exec.Command(bin)
	cmd.Env = env
	var mu sync.Mutex
	cmd.Stdout = lockedWriter{&mu, s.Log}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("server output:\n%s", s.Log.String())
			mu.Unlock()
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-done:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("the server exited before it was ready: %v\n%s", err, s.Log.String())
		case <-ctx.Done():
			t.Fatalf("the server did not answer /healthz within a minute")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
