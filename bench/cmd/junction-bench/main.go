// Command junction-bench is the whole-server benchmark: it builds Junction and
// a raw baseline server (bench/raw) that serves the same rows with nothing but
// net/http, a database driver and encoding/json, seeds a database, drives both
// with wrk in alternating rounds and prints medians and ratios. The numbers
// that matter are the ratios: both servers run on the same machine, against
// the same database, in the same run.
//
//	go run ./bench/cmd/junction-bench -db sqlite -rounds 3
//	JUNCTION_DATABASE_URL=postgres://... go run ./bench/cmd/junction-bench -db postgres
//	bench/postgres.sh -rounds 3          # a throwaway PostgreSQL, then -db postgres
//
// See bench/README.md for the workloads, the goals and how to read profiles.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	DBs        []string // "sqlite", "postgres"
	Rounds     int
	Duration   time.Duration
	Warmup     time.Duration
	Threads    int
	Conns      int
	ProfileDir string
	PGURL      string
	Only       *regexp.Regexp
	Rows       int // connections in the main tenant (W1-W3, W7, W8)
	ScaleSmall int // the page-at-1,000 tenant
	ScaleBig   int // the page-at-100,000 tenant
	NoScale    bool
	Keep       bool
	Rev        string // build Junction from this git revision instead of the working tree
	// QuietCPUs and QuietWait: before each measured run, wait up to
	// QuietWait until fewer than QuietCPUs CPUs are busy (0 disables).
	QuietCPUs float64
	QuietWait time.Duration
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "junction-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "junction-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("junction-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "sqlite", "database: sqlite, postgres or both")
	fs.IntVar(&o.Rounds, "rounds", 3, "measured rounds per server and workload (the table shows medians)")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "length of one wrk run (whole seconds)")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "unmeasured wrk run per target before the first round (0 to skip)")
	fs.IntVar(&o.Threads, "threads", 2, "wrk -t")
	fs.IntVar(&o.Conns, "conns", 32, "wrk -c")
	fs.StringVar(&o.ProfileDir, "profile", "", "directory for CPU and allocation profiles of Junction under each workload (one extra, unmeasured run each)")
	def := getenv("JUNCTION_DATABASE_URL")
	if def == "" {
		def = getenv("JUNCTION_TEST_DATABASE_URL")
	}
	fs.StringVar(&o.PGURL, "pg-url", def, "PostgreSQL URL for -db postgres (default $JUNCTION_DATABASE_URL, else $JUNCTION_TEST_DATABASE_URL); the benchmark works in fresh schemas it drops afterwards")
	only := fs.String("only", "", "run only the workloads whose id or name matches this regular expression (e.g. 'W1|W3')")
	fs.IntVar(&o.Rows, "rows", 300, "connections in the main tenant")
	fs.IntVar(&o.ScaleSmall, "scale-small", 1000, "connections in the small tenant of the list-at-scale comparison")
	fs.IntVar(&o.ScaleBig, "scale-big", 100000, "connections in the big tenant of the list-at-scale comparison")
	fs.BoolVar(&o.NoScale, "no-scale", false, "skip the list-at-scale comparison (the slowest part)")
	fs.StringVar(&o.Rev, "rev", "", "build Junction from this git revision (git archive) instead of the working tree; the raw server always comes from the working tree")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory and PostgreSQL schemas (to look at them afterwards)")
	fs.Float64Var(&o.QuietCPUs, "quiet", 0.5, "before each measured run, wait until fewer than this many CPUs are busy (0: do not wait)")
	fs.DurationVar(&o.QuietWait, "quiet-wait", 3*time.Minute, "the longest wait for -quiet; a run that starts on a busy machine is flagged under the table")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch *db {
	case "sqlite", "postgres":
		o.DBs = []string{*db}
	case "both":
		o.DBs = []string{"postgres", "sqlite"}
	default:
		return o, fmt.Errorf("-db %q: want sqlite, postgres or both", *db)
	}
	if o.Rounds < 1 {
		return o, errors.New("-rounds: want at least 1")
	}
	if o.Duration < time.Second || o.Duration%time.Second != 0 {
		return o, errors.New("-duration: want whole seconds, at least 1s (wrk's resolution)")
	}
	if o.Warmup < 0 || o.Warmup%time.Second != 0 {
		return o, errors.New("-warmup: want whole seconds or 0")
	}
	if o.Threads < 1 || o.Conns < o.Threads {
		return o, errors.New("-threads and -conns: want threads >= 1 and conns >= threads")
	}
	if o.Rows < 100 || o.ScaleSmall < 100 || o.ScaleBig < o.ScaleSmall {
		return o, errors.New("-rows and -scale-small: want at least 100 (a page); -scale-big at least -scale-small")
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return o, fmt.Errorf("-only: %w", err)
		}
		o.Only = re
	}
	for _, d := range o.DBs {
		if d == "postgres" && o.PGURL == "" {
			return o, errors.New("-db postgres needs a server: set JUNCTION_DATABASE_URL or JUNCTION_TEST_DATABASE_URL (or -pg-url), or run bench/postgres.sh, which starts a throwaway one")
		}
	}
	return o, nil
}

// run builds both servers once, then benchmarks each database in turn.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu; `brew install wrk` on macOS)")
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "junction-bench-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintln(stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	env := &environment{opts: o, wrk: wrk, root: root, tmp: tmp, log: stderr}
	defer func() {
		if env.pgAdmin != nil {
			env.pgAdmin.Close()
		}
	}()
	if err := env.build(ctx); err != nil {
		return err
	}
	if o.ProfileDir != "" {
		// The binary beside the profiles, for pprof's -list and -disasm.
		if err := copyFile(env.junction, filepath.Join(o.ProfileDir, "junction")); err != nil {
			return err
		}
	}
	if inherited := inheritedSettings(); len(inherited) > 0 {
		fmt.Fprintf(stderr, "note: Junction inherits these settings from the environment: %s\n", strings.Join(inherited, ", "))
	}
	var reports []*report
	for _, kind := range o.DBs {
		rep, err := env.benchmark(ctx, kind)
		if rep != nil {
			reports = append(reports, rep)
			rep.print(stdout)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	if len(reports) > 1 {
		fmt.Fprintln(stdout, "\n== all databases ==")
		for _, r := range reports {
			r.print(stdout)
		}
	}
	return nil
}

// environment is what every database's run shares: the binaries, wrk and the
// scratch directory.
type environment struct {
	opts     options
	wrk      string
	root     string
	tmp      string
	junction string  // binary
	raw      string  // binary
	version  string  // what Junction was built from
	pgAdmin  *sql.DB // for pg_stat_database (opened when first needed)
	log      io.Writer
}

func (e *environment) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// build compiles Junction (the repository root, or -rev's tree) and the raw
// baseline (always from the working tree).
func (e *environment) build(ctx context.Context) error {
	e.junction = filepath.Join(e.tmp, "junction")
	e.raw = filepath.Join(e.tmp, "raw")
	src := e.root
	e.version = describe(ctx, e.root, "HEAD")
	if e.version != "" {
		e.version = "working tree of " + e.version
		if out, _ := e.git(ctx, "status", "--porcelain", "--untracked-files=no"); len(strings.TrimSpace(out)) > 0 {
			e.version += " with uncommitted changes"
		}
	}
	if e.opts.Rev != "" {
		// The tree of a commit, so a before/after pair can be measured on
		// the same machine while the working tree moves on.
		src = filepath.Join(e.tmp, "src")
		if err := os.MkdirAll(src, 0o700); err != nil {
			return err
		}
		archive := exec.CommandContext(ctx, "git", "-C", e.root, "archive", "--format=tar", e.opts.Rev)
		untar := exec.CommandContext(ctx, "tar", "-x", "-C", src)
		pipe, err := archive.StdoutPipe()
		if err != nil {
			return err
		}
		untar.Stdin = pipe
		var aerr, uerr strings.Builder
		archive.Stderr, untar.Stderr = &aerr, &uerr
		if err := untar.Start(); err != nil {
			return err
		}
		if err := archive.Run(); err != nil {
			untar.Wait()
			return fmt.Errorf("git archive %s: %w\n%s", e.opts.Rev, err, aerr.String())
		}
		if err := untar.Wait(); err != nil {
			return fmt.Errorf("untar %s: %w\n%s", e.opts.Rev, err, uerr.String())
		}
		e.version = e.opts.Rev + " (" + describe(ctx, e.root, e.opts.Rev) + ")"
	}
	for _, b := range []struct{ out, dir, pkg string }{{e.junction, src, "."}, {e.raw, e.root, "./bench/raw"}} {
		e.logf("go build -o %s %s (in %s)", b.out, b.pkg, b.dir)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return nil
}

func (e *environment) git(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", e.root}, args...)...).Output()
	return string(out), err
}

// describe names a commit by its short hash and subject ("" outside git).
func describe(ctx context.Context, root, rev string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "log", "-1", "--format=%h %s", rev).Output()
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(out))
	if len(s) > 72 {
		s = s[:69] + "..."
	}
	return s
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root (run this inside the repository): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
