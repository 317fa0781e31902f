package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server the benchmark started: Junction or the raw baseline.
type proc struct {
	name  string
	base  string // http://127.0.0.1:PORT
	pprof string // http://127.0.0.1:PORT of JUNCTION_PPROF_ADDR, when profiling
	cmd   *exec.Cmd
	out   *tail
	done  chan struct{}
	err   error
}

// settings the benchmark sets for each Junction process itself; the rest
// of the environment is passed through.
var ownSettings = []string{"JUNCTION_ADDR", "JUNCTION_DATA_DIR", "JUNCTION_DATABASE_URL",
	"JUNCTION_ENCRYPTION_KEY", "JUNCTION_ENCRYPTION_KEYS", "JUNCTION_PPROF_ADDR"}

// inheritedSettings lists the JUNCTION_* variables a Junction process
// inherits, and the Go runtime's (GOGC, GOMEMLIMIT, GOMAXPROCS, GODEBUG:
// they reach both servers, and a GOGC or GOMEMLIMIT replaces Junction's
// own collector setting): they change what is measured, so the run says so.
func inheritedSettings() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG":
			out = append(out, name)
			continue
		}
		if strings.HasPrefix(name, "JUNCTION_") && !strings.HasPrefix(name, "JUNCTION_TEST_") && !isOwn(name) {
			out = append(out, name)
		}
	}
	return out
}

func isOwn(name string) bool {
	for _, s := range ownSettings {
		if s == name {
			return true
		}
	}
	return false
}

// junctionEnv is the environment of a Junction process on db.
func junctionEnv(db *database, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !isOwn(name) {
			env = append(env, kv)
		}
	}
	env = append(env, "JUNCTION_DATA_DIR="+db.dataDir, "JUNCTION_ENCRYPTION_KEY="+db.key)
	if db.url != "" {
		env = append(env, "JUNCTION_DATABASE_URL="+db.url)
	}
	return append(env, extra...)
}

// startJunction starts a Junction server on db on a free loopback port and
// waits until /healthz answers.
func (e *environment) startJunction(ctx context.Context, name string, db *database) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	extra := []string{"JUNCTION_ADDR=127.0.0.1:" + strconv.Itoa(port)}
	p := &proc{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if e.opts.ProfileDir != "" {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		extra = append(extra, "JUNCTION_PPROF_ADDR=127.0.0.1:"+strconv.Itoa(pp))
		p.pprof = fmt.Sprintf("http://127.0.0.1:%d", pp)
	}
	p.cmd = exec.Command(e.junction)
	p.cmd.Env = junctionEnv(db, extra...)
	return p, e.start(ctx, p, "/healthz")
}

// startRaw starts the raw baseline on db's rows of tenant.
func (e *environment) startRaw(ctx context.Context, db *database, tenant string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	target := db.url
	if target == "" {
		target = db.sqlitePath
	}
	p := &proc{name: "raw-" + db.name, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.cmd = exec.Command(e.raw, "-addr", "127.0.0.1:"+strconv.Itoa(port), "-db", target, "-tenant", tenant)
	return p, e.start(ctx, p, "/hello")
}

func (e *environment) start(ctx context.Context, p *proc, ready string) error {
	// The server's output (Junction logs a line per request) is read and
	// dropped, keeping the end for diagnostics, as a log collector would.
	p.out = newTail(64 << 10)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.done = make(chan struct{})
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(p.base + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				e.logf("%s up at %s (pid %d)", p.name, p.base, p.cmd.Process.Pid)
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v):\n%s", p.name, p.err, p.out.String())
		case <-ctx.Done():
			p.stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return fmt.Errorf("%s not ready after 60s:\n%s", p.name, p.out.String())
		}
	}
}

// stop ends the process with SIGTERM (Junction drains and closes its pool),
// then SIGKILL after 10s.
func (p *proc) stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// alive reports an error when the process has exited.
func (p *proc) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, p.out.String())
	default:
		return nil
	}
}

// rss returns the resident size and its peak (VmRSS, VmHWM) in KiB.
func (p *proc) rss() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last n bytes written to it.
type tail struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 2*t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.n {
		b = b[len(b)-t.n:]
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}
