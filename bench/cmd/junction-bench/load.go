package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// target is one kind of request to one server. A target with several paths
// or bodies sends them in turn (each wrk connection walks the list).
type target struct {
	label   string
	server  *proc
	method  string
	paths   []string
	bodies  []string
	headers map[string]string
	// check validates a response body during the probe before any load.
	check func(body []byte) error
	// sequential drives the target with one connection (wrk -t1 -c1), so
	// req/s is one over the time of a request: for the slow pages, whose
	// latency at -c32 would outlast a run.
	sequential bool
}

// workload compares two targets: Junction, and its baseline (the raw server,
// or Junction itself doing the reference thing).
type workload struct {
	id, name  string
	main      target
	base      target
	baseLabel string // "raw", "full query text", "page at 1,000"
	goal      float64
}

// result is one workload's measurements.
type result struct {
	w                workload
	mainRPS, baseRPS []float64
	mainCPU, baseCPU []float64 // CPU seconds per request of the server
	problems         []string
	// On PostgreSQL: the sessions the database saw start during the
	// measured runs of the main side, and those runs' requests.
	sessions, requests int64
}

func (r *result) ratio() float64 {
	b := median(r.baseRPS)
	if b == 0 {
		return 0
	}
	return median(r.mainRPS) / b
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// wrkResult is what one wrk run reports.
type wrkResult struct {
	rps      float64
	requests int64
	non2xx   int64
	sockErrs int64
	// cpuPerReq is the server process's CPU seconds per request during
	// the run (its own CPU only: not the database's, not wrk's).
	cpuPerReq float64
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in `)
	reNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+([0-9]+)`)
	reSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// parseWrk reads wrk's summary.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.sockErrs += n
		}
	}
	return r, nil
}

// luaString quotes s as a Lua long string.
func luaString(s string) string {
	eq := "="
	for strings.Contains(s, "]"+eq+"]") {
		eq += "="
	}
	return "[" + eq + "[" + s + "]" + eq + "]"
}

// script writes the wrk Lua script of t: its method, headers (the
// Authorization header among them) and body; several paths or bodies become
// a request function that walks them.
func (e *environment) script(t target) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "-- junction-bench: %s\n", t.label)
	fmt.Fprintf(&b, "wrk.method = %s\n", luaString(t.method))
	keys := make([]string, 0, len(t.headers))
	for k := range t.headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "wrk.headers[ %s ] = %s\n", luaString(k), luaString(t.headers[k]))
	}
	if len(t.paths) <= 1 && len(t.bodies) <= 1 {
		if len(t.paths) == 1 {
			fmt.Fprintf(&b, "wrk.path = %s\n", luaString(t.paths[0]))
		}
		if len(t.bodies) == 1 {
			fmt.Fprintf(&b, "wrk.body = %s\n", luaString(t.bodies[0]))
		}
	} else {
		list := func(name string, xs []string) {
			fmt.Fprintf(&b, "local %s = {\n", name)
			for _, x := range xs {
				fmt.Fprintf(&b, "  %s,\n", luaString(x))
			}
			b.WriteString("}\n")
		}
		list("paths", t.paths)
		list("bodies", t.bodies)
		b.WriteString(`local reqs, n, i = {}, 0, 0
function init(args)
  n = math.max(#paths, #bodies)
  for k = 1, n do
    local body = nil
    if #bodies > 0 then body = bodies[(k - 1) % #bodies + 1] end
    reqs[k] = wrk.format(nil, paths[(k - 1) % #paths + 1], nil, body)
  end
end
function request()
  i = i % n + 1
  return reqs[i]
end
`)
	}
	dir := filepath.Join(e.tmp, "lua")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "*.lua")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(b.String())
	return f.Name(), err
}

// load runs wrk against t for d.
func (e *environment) load(ctx context.Context, t target, d time.Duration) (wrkResult, error) {
	if err := t.server.alive(); err != nil {
		return wrkResult{}, err
	}
	script, err := e.script(t)
	if err != nil {
		return wrkResult{}, err
	}
	defer os.Remove(script)
	threads, conns := e.opts.Threads, e.opts.Conns
	if t.sequential {
		threads, conns = 1, 1
	}
	cmd := exec.CommandContext(ctx, e.wrk, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(int(d/time.Second))+"s", "--timeout", "30s", "-s", script, t.server.base)
	cpu0 := t.server.cpuTicks()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	cpu1 := t.server.cpuTicks()
	// wrk reports an error in the script and carries on with a plain GET /.
	if strings.Contains(string(out), script+":") {
		return wrkResult{}, fmt.Errorf("wrk could not run the script of %s:\n%s", t.label, out)
	}
	r, err := parseWrk(string(out))
	if err == nil && cpu0 >= 0 && cpu1 >= cpu0 && r.requests > 0 {
		r.cpuPerReq = float64(cpu1-cpu0) / clockTicks / float64(r.requests)
	}
	return r, err
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// cpuTicks is the user and system CPU time the server has used so far, in
// clock ticks, or -1 when it cannot be read.
func (p *proc) cpuTicks() int64 {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	// The command name may hold spaces; fields count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return utime + stime
}

// probe sends each of t's requests once (up to 3 of a list) and checks the
// answers, so the load measures what it claims to.
func probe(ctx context.Context, t target) ([]byte, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	n := max(len(t.paths), len(t.bodies), 1)
	var first []byte
	for k := 0; k < n && k < 3; k++ {
		path := t.paths[k%len(t.paths)]
		var body io.Reader
		if len(t.bodies) > 0 {
			body = strings.NewReader(t.bodies[k%len(t.bodies)])
		}
		req, err := http.NewRequestWithContext(ctx, t.method, t.server.base+path, body)
		if err != nil {
			return nil, err
		}
		for h, v := range t.headers {
			req.Header.Set(h, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.label, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s %s answered %d: %.500s", t.label, t.method, path, resp.StatusCode, b)
		}
		if t.check != nil {
			if err := t.check(b); err != nil {
				return nil, fmt.Errorf("%s: %w: %.500s", t.label, err, b)
			}
		}
		if k == 0 {
			first = b
		}
	}
	return first, nil
}

// measure runs w: a warm-up of each side, then rounds alternating which
// side goes first (main, base; base, main; ...), then, when profiling, one
// more unmeasured run of the main side with profiles taken.
func (e *environment) measure(ctx context.Context, w workload, dbKind string) (*result, error) {
	res := &result{w: w}
	if e.opts.Warmup > 0 {
		for _, t := range []target{w.main, w.base} {
			if _, err := e.load(ctx, t, e.opts.Warmup); err != nil {
				return res, err
			}
		}
	}
	coarse, fewest := map[string]int{}, map[string]int64{}
	defer func() {
		for _, t := range []target{w.main, w.base} {
			if n := coarse[t.label]; n > 0 {
				res.problems = append(res.problems, fmt.Sprintf("%s: under 10 requests completed in %d of %d runs (fewest %d), so its rate is coarse; a longer -duration sharpens it",
					t.label, n, e.opts.Rounds, fewest[t.label]))
			}
		}
	}()
	for round := range e.opts.Rounds {
		order := []bool{true, false}
		if round%2 == 1 {
			order = []bool{false, true}
		}
		for _, isMain := range order {
			t := w.base
			if isMain {
				t = w.main
			}
			if busy, ok := e.waitQuiet(ctx); !ok {
				res.problems = append(res.problems, fmt.Sprintf("%s round %d started while %.1f CPUs were busy with other work",
					t.label, round+1, busy))
			}
			before := e.pgSessions(ctx, dbKind)
			r, err := e.load(ctx, t, e.opts.Duration)
			if err != nil {
				return res, err
			}
			if isMain && before >= 0 {
				// Backends report their counters within a second.
				time.Sleep(1200 * time.Millisecond)
				if after := e.pgSessions(ctx, dbKind); after >= before {
					res.sessions += after - before
					res.requests += r.requests
				}
			}
			if r.requests < 10 {
				if coarse[t.label] == 0 || r.requests < fewest[t.label] {
					fewest[t.label] = r.requests
				}
				coarse[t.label]++
			}
			if r.non2xx > 0 || r.sockErrs > 0 {
				res.problems = append(res.problems, fmt.Sprintf("%s round %d: %d non-2xx responses, %d socket errors of %d requests",
					t.label, round+1, r.non2xx, r.sockErrs, r.requests))
			}
			if isMain {
				res.mainRPS = append(res.mainRPS, r.rps)
				res.mainCPU = append(res.mainCPU, r.cpuPerReq)
			} else {
				res.baseRPS = append(res.baseRPS, r.rps)
				res.baseCPU = append(res.baseCPU, r.cpuPerReq)
			}
			e.logf("  %-4s %s round %d/%d  %-22s %9s req/s", w.id, dbKind, round+1, e.opts.Rounds, t.server.name, rate(r.rps))
		}
	}
	if e.opts.ProfileDir != "" && w.main.server.pprof != "" {
		if err := e.profile(ctx, w, dbKind); err != nil {
			res.problems = append(res.problems, "profile: "+err.Error())
		}
	}
	return res, nil
}

// profile takes a CPU profile and an allocation profile (the allocations
// made during the window, ?seconds=) of Junction while wrk loads w's main
// side, and writes them with a `go tool pprof -top` summary of each.
func (e *environment) profile(ctx context.Context, w workload, dbKind string) error {
	dir := filepath.Join(e.opts.ProfileDir, dbKind)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	secs := max(1, int(e.opts.Duration/time.Second)-1)
	base := filepath.Join(dir, slug(w.id+" "+w.name))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, kind := range []string{"profile", "allocs"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(500 * time.Millisecond): // let the load start
			case <-ctx.Done():
				return
			}
			file := base + ".cpu.pb.gz"
			if kind == "allocs" {
				file = base + ".allocs.pb.gz"
			}
			errs[i] = fetch(ctx, fmt.Sprintf("%s/debug/pprof/%s?seconds=%d", w.main.server.pprof, kind, secs), file)
			if errs[i] == nil {
				errs[i] = e.top(ctx, file)
			}
		}()
	}
	_, lerr := e.load(ctx, w.main, e.opts.Duration)
	wg.Wait()
	for _, err := range append(errs, lerr) {
		if err != nil {
			return err
		}
	}
	e.logf("  %-4s profiles: %s.{cpu,allocs}.pb.gz", w.id, base)
	return nil
}

func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// top writes `go tool pprof -top` of a profile next to it (.top.txt), by
// flat then by cumulative cost; for allocations, by bytes allocated.
func (e *environment) top(ctx context.Context, file string) error {
	var out bytes.Buffer
	for _, order := range []string{"-flat", "-cum"} {
		args := []string{"tool", "pprof", "-top", order, "-nodecount=40"}
		if strings.HasSuffix(file, ".allocs.pb.gz") {
			args = append(args, "-sample_index=alloc_space")
		}
		fmt.Fprintf(&out, "== go %s %s\n", strings.Join(args, " "), filepath.Base(file))
		cmd := exec.CommandContext(ctx, "go", append(args, e.junction, file)...)
		cmd.Dir = e.root
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go tool pprof: %w\n%s", err, out.String())
		}
		out.WriteString("\n")
	}
	return os.WriteFile(strings.TrimSuffix(file, ".pb.gz")+".top.txt", out.Bytes(), 0o644)
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// report is one database's table.
type report struct {
	kind    string
	version string
	results []*result
	notes   []string
}

func (r *report) print(w io.Writer) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "\n## %s (median of rounds; ratio = Junction / baseline)\n\n", r.kind)
	if r.version != "" {
		fmt.Fprintf(bw, "Junction: %s\n\n", r.version)
	}
	var mainRows, otherRows []*result
	for _, res := range r.results {
		if res.w.baseLabel == "raw" {
			mainRows = append(mainRows, res)
		} else {
			otherRows = append(otherRows, res)
		}
	}
	table := func(rows []*result, baseHeader string) {
		if len(rows) == 0 {
			return
		}
		width := len("workload")
		for _, res := range rows {
			width = max(width, len(res.w.id+" "+res.w.name))
		}
		fmt.Fprintf(bw, "| %-*s | %14s | %14s | %6s | %6s | %4s |\n", width, "workload", "Junction req/s", baseHeader, "ratio", "goal", "met")
		fmt.Fprintf(bw, "|%s|%s:|%s:|%s:|%s:|%s|\n", strings.Repeat("-", width+2), strings.Repeat("-", 15), strings.Repeat("-", 15),
			strings.Repeat("-", 7), strings.Repeat("-", 7), strings.Repeat("-", 6))
		for _, res := range rows {
			goal, met := "-", "-"
			if res.w.goal > 0 {
				goal = fmt.Sprintf("%.2f", res.w.goal)
				met = "no"
				if res.ratio() >= res.w.goal {
					met = "yes"
				}
			}
			fmt.Fprintf(bw, "| %-*s | %14s | %14s | %6.2f | %6s | %4s |\n", width, res.w.id+" "+res.w.name,
				rate(median(res.mainRPS)), rate(median(res.baseRPS)), res.ratio(), goal, met)
		}
		fmt.Fprintln(bw)
	}
	table(mainRows, "raw req/s")
	table(otherRows, "baseline req/s")
	cpuTable(bw, r.results)
	for _, n := range r.notes {
		fmt.Fprintln(bw, n)
	}
	header := false
	for _, res := range r.results {
		if res.requests == 0 {
			continue
		}
		if !header {
			fmt.Fprintln(bw, "PostgreSQL sessions started while Junction's side was measured (pool churn; pg_stat_database.sessions):")
			header = true
		}
		fmt.Fprintf(bw, "  %s %s: %d sessions for %d requests (%.3f per request)\n", res.w.id, res.w.name,
			res.sessions, res.requests, float64(res.sessions)/float64(res.requests))
	}
	for _, res := range r.results {
		for _, p := range res.problems {
			fmt.Fprintf(bw, "WARNING %s %s: %s\n", res.w.id, res.w.name, p)
		}
	}
}

// waitQuiet waits until fewer than -quiet CPUs are busy over a second (the
// servers are idle between runs, so that is other work), for at most
// -quiet-wait. It reports the last sample and whether the machine was quiet.
func (e *environment) waitQuiet(ctx context.Context) (float64, bool) {
	if e.opts.QuietCPUs <= 0 {
		return 0, true
	}
	deadline := time.Now().Add(e.opts.QuietWait)
	waited := false
	for {
		busy, err := cpuBusy(ctx, time.Second)
		if err != nil {
			return 0, true // no /proc/stat: cannot tell
		}
		if busy < e.opts.QuietCPUs {
			if waited {
				e.logf("  machine quiet again (%.2f CPUs busy)", busy)
			}
			return busy, true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			e.logf("  still %.2f CPUs busy after waiting %s: running anyway (flagged)", busy, e.opts.QuietWait)
			return busy, false
		}
		if !waited {
			e.logf("  %.2f CPUs busy with other work: waiting up to %s for quiet", busy, e.opts.QuietWait)
			waited = true
		}
	}
}

// cpuBusy samples /proc/stat over d and returns how many CPUs' worth of
// time was spent busy (not idle, not waiting for I/O).
func cpuBusy(ctx context.Context, d time.Duration) (float64, error) {
	sample := func() (busy, total float64, err error) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != "cpu" {
			return 0, 0, fmt.Errorf("/proc/stat: unexpected %q", line)
		}
		for i, s := range f[1:] {
			v, _ := strconv.ParseFloat(s, 64)
			if i >= 8 { // guest time is already counted in user
				break
			}
			total += v
			if i != 3 && i != 4 { // idle, iowait
				busy += v
			}
		}
		return busy, total, nil
	}
	b0, t0, err := sample()
	if err != nil {
		return 0, err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	b1, t1, err := sample()
	if err != nil || t1 <= t0 {
		return 0, err
	}
	return (b1 - b0) / (t1 - t0) * float64(runtime.NumCPU()), nil
}

// rate formats req/s: whole numbers, with decimals below 100.
func rate(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// pgSessions is pg_stat_database.sessions of the benchmark's database on
// PostgreSQL (14 and later), or -1.
func (e *environment) pgSessions(ctx context.Context, dbKind string) int64 {
	if dbKind != "postgres" {
		return -1
	}
	if e.pgAdmin == nil {
		db, err := sql.Open("pgx", e.opts.PGURL)
		if err != nil {
			return -1
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxIdleTime(0)
		e.pgAdmin = db
	}
	var n int64
	if err := e.pgAdmin.QueryRowContext(ctx, `SELECT sessions FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// cpuTable shows each server's own CPU time per request (medians of the
// rounds), which a busy machine disturbs less than req/s; the database's
// CPU is in neither column.
func cpuTable(w io.Writer, results []*result) {
	width := len("workload")
	have := false
	for _, res := range results {
		width = max(width, len(res.w.id+" "+res.w.name))
		have = have || median(res.mainCPU) > 0
	}
	if !have {
		return
	}
	fmt.Fprintln(w, "Server CPU per request (the process's own user+system time; the database's is not counted):")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| %-*s | %11s | %11s | %17s |\n", width, "workload", "Junction ms", "baseline ms", "baseline/Junction")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|\n", strings.Repeat("-", width+2), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 18))
	for _, res := range results {
		m, b := median(res.mainCPU)*1000, median(res.baseCPU)*1000
		ratio := "-"
		if m > 0 && b > 0 {
			ratio = fmt.Sprintf("%.2f", b/m)
		}
		fmt.Fprintf(w, "| %-*s | %11.3f | %11.3f | %17s |\n", width, res.w.id+" "+res.w.name, m, b, ratio)
	}
	fmt.Fprintln(w)
}
