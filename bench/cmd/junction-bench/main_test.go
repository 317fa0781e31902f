package main

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

const wrkOutput = `Running 5s test @ http://127.0.0.1:41234
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  20.00ms   80.00%
    Req/Sec     5.20k   300.00     6.00k    70.00%
  51234 requests in 5.00s, 10.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  10246.80
Transfer/sec:      2.00MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 10246.80 || r.requests != 51234 || r.non2xx != 7 || r.sockErrs != 3 {
		t.Fatalf("parsed %+v", r)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("no Requests/sec should be an error")
	}
}

func TestMedianAndRatio(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	r := &result{mainRPS: []float64{1, 2, 9}, baseRPS: []float64{4, 4, 40}}
	if got := r.ratio(); got != 0.5 {
		t.Errorf("ratio = %v, want median/median = 0.5", got)
	}
	if got := (&result{mainRPS: []float64{1}}).ratio(); got != 0 {
		t.Errorf("ratio without a baseline = %v, want 0", got)
	}
}

func TestLuaString(t *testing.T) {
	for in, want := range map[string]string{
		`{"query":"{ a }"}`: `[=[{"query":"{ a }"}]=]`,
		`x]=]y`:             `[==[x]=]y]==]`,
	} {
		if got := luaString(in); got != want {
			t.Errorf("luaString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestScriptHeadersAreNotLongStrings(t *testing.T) {
	// wrk.headers[[=[...]=]] would open a Lua long string; wrk then
	// reports the error and silently sends GET / instead.
	e := &environment{tmp: t.TempDir()}
	path, err := e.script(target{label: "x", method: "POST", paths: []string{"/graphql"}, bodies: []string{"{}"},
		headers: map[string]string{"Authorization": "Bearer t"}})
	if err != nil {
		t.Fatal(err)
	}
	b := readFile(t, path)
	if !strings.Contains(b, `wrk.headers[ [=[Authorization]=] ] = [=[Bearer t]=]`) || !strings.Contains(b, `wrk.path = [=[/graphql]=]`) {
		t.Fatalf("script:\n%s", b)
	}
	path, err = e.script(target{label: "y", method: "GET", paths: []string{"/a", "/b"}})
	if err != nil {
		t.Fatal(err)
	}
	if b := readFile(t, path); !strings.Contains(b, "function request()") || !strings.Contains(b, "[=[/b]=]") {
		t.Fatalf("a list of paths wants a request function:\n%s", b)
	}
}

func TestCompare(t *testing.T) {
	j := map[string]any{"connections": []any{map[string]any{"id": "a", "name": "x"}, map[string]any{"id": "b"}}, "total": 2.0}
	raw := map[string]any{"connections": []any{map[string]any{"id": "a", "name": "x"}, map[string]any{"id": "b"}}, "total": 2.0}
	if d := compare(j, raw); d != "" {
		t.Fatalf("same pages differ: %s", d)
	}
	raw["connections"] = []any{map[string]any{"id": "b"}, map[string]any{"id": "a"}}
	if d := compare(j, raw); d == "" {
		t.Fatal("another order should differ")
	}
	if d := compare(map[string]any{"id": "a", "name": "x"}, map[string]any{"id": "a", "name": "y"}); !strings.Contains(d, "name") {
		t.Fatalf("diff = %q", d)
	}
}

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	o, err := parseFlags(nil, env(nil), io.Discard)
	if err != nil || len(o.DBs) != 1 || o.DBs[0] != "sqlite" || o.Rounds != 3 || o.Threads != 2 || o.Conns != 32 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	if _, err := parseFlags([]string{"-db", "postgres"}, env(nil), io.Discard); err == nil {
		t.Fatal("postgres without a URL should be refused")
	}
	o, err = parseFlags([]string{"-db", "both"}, env(map[string]string{"JUNCTION_TEST_DATABASE_URL": "postgres://x"}), io.Discard)
	if err != nil || o.PGURL != "postgres://x" || len(o.DBs) != 2 {
		t.Fatalf("both: %+v %v", o, err)
	}
	for _, args := range [][]string{{"-duration", "1500ms"}, {"-rounds", "0"}, {"-db", "mysql"}, {"-only", "("}} {
		if _, err := parseFlags(args, env(nil), io.Discard); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}

func TestThousandsAndSlug(t *testing.T) {
	if got := thousands(100000); got != "100,000" {
		t.Error(got)
	}
	if got := thousands(300); got != "300" {
		t.Error(got)
	}
	if got := slug("W1 GraphQL {__typename} with a token"); got != "w1-graphql-typename-with-a-token" {
		t.Error(got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCPUBusy(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc/stat")
	}
	busy, err := cpuBusy(t.Context(), 100*time.Millisecond)
	if err != nil || busy < 0 || busy > float64(runtime.NumCPU())+0.01 {
		t.Fatalf("cpuBusy = %v, %v", busy, err)
	}
}

func TestCPUTicksOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	self, _ := os.FindProcess(os.Getpid())
	p := &proc{cmd: &exec.Cmd{Process: self}}
	if n := p.cpuTicks(); n < 0 {
		t.Fatalf("cpuTicks = %d", n)
	}
	if n := (*proc)(nil).cpuTicks(); n != -1 {
		t.Fatalf("nil proc: %d", n)
	}
}
