package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/store"
)

// The command line: `junction [COMMAND] [flags]`. Every command is one entry
// of commands, which the dispatch, the help and the usage errors all read,
// so none can be left out of one of them.

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "junction:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a command line that does not parse: main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// version is the release, when the build sets it
// (go build -ldflags "-X main.version=v1.2.3"); else the module version from
// the build info ("(devel)" for a build in a checkout).
var version = ""

//go:embed README.md
var readme string

// cliEnv is what a command runs with.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	cfg            Config
	log            *slog.Logger
}

// command is one subcommand.
type command struct {
	name    string // "token create"
	args    string // what follows the flags in the synopsis
	summary string // one line, for the command list
	detail  string // paragraphs for `junction help COMMAND`
	// config: the command reads the JUNCTION_* settings (loaded after its
	// flags parse, so --help works whatever they say).
	config bool
	// setup declares the command's flags and returns what runs once they
	// parsed; positional arguments are refused unless args says some.
	setup func(fs *flag.FlagSet, e *cliEnv) func(ctx context.Context) error
}

var commands []*command

func init() {
	commands = []*command{
		{
			name: "serve", summary: "serve GraphiQL, GraphQL, the REST shim and health checks (the default command)",
			detail: "Opens the database (SQLite in JUNCTION_DATA_DIR unless JUNCTION_DATABASE_URL is set), runs\n" +
				"migrations, checks the encryption key against the stored data and serves HTTP on JUNCTION_ADDR\n" +
				"(default :8080) until SIGINT or SIGTERM, then drains requests for JUNCTION_SHUTDOWN_TIMEOUT.\n" +
				"On an empty database it creates the tenant \"default\" with an admin user and prints its token once.\n" +
				"`junction -addr :9090` is `junction serve -addr :9090`.",
			config: true,
			setup: func(fs *flag.FlagSet, e *cliEnv) func(context.Context) error {
				addr := fs.String("addr", "", "listen address, e.g. :8080 or 127.0.0.1:8080 (default $JUNCTION_ADDR, else :8080)")
				return func(ctx context.Context) error {
					if *addr != "" {
						e.cfg.Addr = *addr
					}
					ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
					defer stop()
					logs := newLogBuffer(e.stderr, logFlushInterval)
					defer logs.Close()
					return serve(ctx, e.cfg, newLogger(e.cfg, logs), e.stdout)
				}
			},
		},
		{
			name: "migrate", summary: "apply database migrations and exit (serving applies them too)",
			detail: "Applies every migration the database has not had yet and prints their names.",
			config: true,
			setup: func(fs *flag.FlagSet, e *cliEnv) func(context.Context) error {
				return func(ctx context.Context) error {
					st, err := openStore(ctx, e.cfg, e.log)
					if err != nil {
						return err
					}
					defer st.Close()
					applied, err := st.Migrate(ctx)
					if err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "applied %d migration(s): %s\n", len(applied), strings.Join(applied, ", "))
					return nil
				}
			},
		},
		{
			name: "token create", summary: "create a tenant and user when missing and print a new API token",
			detail: "Prints only the token on standard output, so a script can capture it:\n\n" +
				"    export TOKEN=$(junction token create --tenant acme --user ci-bot --email ci@acme.example --role member)\n\n" +
				"The token is shown this once; only its SHA-256 is stored. Its id, expiry and last use are in\n" +
				"`junction token list`. With --expires-in it stops authenticating (and its browser sessions end)\n" +
				"after that long.",
			config: true,
			setup: func(fs *flag.FlagSet, e *cliEnv) func(context.Context) error {
				tenant := fs.String("tenant", "default", "tenant name (created when missing)")
				user := fs.String("user", "", "user name (created when missing; required)")
				email := fs.String("email", "", "user email (required)")
				role := fs.String("role", "member", "admin or member")
				expires := fs.String("expires-in", "", "lifetime, e.g. 720h, 90m or 30d (default: does not expire)")
				return func(ctx context.Context) error {
					if *user == "" || *email == "" {
						return usageError{"token create: --user and --email are required\n" + synopsis(find("token create"))}
					}
					if *role != "admin" && *role != "member" {
						return usageError{fmt.Sprintf("token create: --role %q: want admin or member", *role)}
					}
					var until time.Time
					if *expires != "" {
						d, err := parseLifetime(*expires)
						if err != nil {
							return usageError{"token create: --expires-in: " + err.Error()}
						}
						until = time.Now().Add(d)
					}
					return tokenCreate(ctx, e, *tenant, *user, *email, *role, until)
				}
			},
		},
		{
			name: "token list", summary: "list API tokens: id, tenant, user, created, last used, expiry (never the token)",
			detail: "Last use is recorded to the minute. An expired token is listed as such until it is revoked.",
			config: true,
			setup: func(fs *flag.FlagSet, e *cliEnv) func(context.Context) error {
				tenant := fs.String("tenant", "", "only this tenant's tokens")
				asJSON := fs.Bool("json", false, "print JSON instead of a table")
				return func(ctx context.Context) error { return tokenList(ctx, e, *tenant, *asJSON) }
			},
		},
		{
			name: "token revoke", args: "< token-file", summary: "revoke a token read from standard input (or --id ID from token list)",
			detail: "The token is read from standard input, never from the command line, where it would land in\n" +
				"shell history and the process list:\n\n" +
				"    echo \"$OLD_TOKEN\" | junction token revoke\n\n" +
				"or by the id `junction token list` shows: junction token revoke --id ID.\n" +
				"Requests and browser sessions using it are refused from then on.",
			config: true,
			setup: func(fs *flag.FlagSet, e *cliEnv) func(context.Context) error {
				id := fs.String("id", "", "revoke the token with this id (from token list) instead of reading one")
				return func(ctx context.Context) error { return tokenRevoke(ctx, e, *id) }
			},
		},
		{
			name: "rotate-keys", summary: "reseal every stored credential under the first encryption key",
			detail: "With JUNCTION_ENCRYPTION_KEYS=NEW,OLD (labels optional: k2026:NEW,k2025:OLD) every credential\n" +
				"sealed with another key is resealed with NEW; afterwards NEW alone starts the server, however it is\n" +
				"configured (JUNCTION_ENCRYPTION_KEY=NEW too: a key is known by its SHA-256, not its label).\n\n" +
				"On the embedded default (the key in JUNCTION_DATA_DIR/encryption.key), --new-key generates the new\n" +
				"key itself: it writes the file with the new key first and the old one after it, reseals, then\n" +
				"leaves the new key alone in the file and the old one in encryption.key.<id>.old (for restoring\n" +
				"older backups; delete it when none needs it). An interrupted run leaves both keys in the file:\n" +
				"the server starts with them, and running rotate-keys again finishes. When the ring comes from\n" +
				"the environment and the key file holds one of its older keys, the file is updated the same way.",
			config: true,
			setup: func(fs *flag.FlagSet, e *cliEnv) func(context.Context) error {
				newKey := fs.Bool("new-key", false, "embedded default only: generate a new key, reseal under it and write it to the key file")
				return func(ctx context.Context) error { return rotateKeys(ctx, e, *newKey) }
			},
		},
		{
			name: "version", summary: "print the version and build information",
			setup: func(fs *flag.FlagSet, e *cliEnv) func(context.Context) error {
				return func(context.Context) error { printVersion(e.stdout); return nil }
			},
		},
		{
			name: "help", args: "[COMMAND | settings]", summary: "print this help, a command's, or the JUNCTION_* settings",
		},
	}
}

func find(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// commandNames is the list of commands errors name.
func commandNames() string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// run is the whole program: args are the command line after the program
// name. Help and usage go to stdout; settings are read only by a command
// that runs.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	e := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		return runCommand(ctx, find("serve"), nil, e)
	}
	switch first := args[0]; {
	case isHelp(first) || first == "help":
		return help(stdout, args[1:])
	case first == "-version" || first == "--version":
		return runCommand(ctx, find("version"), args[1:], e)
	case strings.HasPrefix(first, "-"):
		// Flags without a command are serve's: junction -addr :9090.
		return runCommand(ctx, find("serve"), args, e)
	}
	if len(args) > 1 {
		if c := find(args[0] + " " + args[1]); c != nil {
			return runCommand(ctx, c, args[2:], e)
		}
	}
	if c := find(args[0]); c != nil && c.setup != nil {
		return runCommand(ctx, c, args[1:], e)
	}
	if group := subcommands(args[0]); len(group) > 0 {
		if len(args) > 1 && isHelp(args[1]) {
			return help(stdout, args[:1])
		}
		what := "a subcommand"
		if len(args) > 1 {
			what = fmt.Sprintf("a subcommand, not %q", args[1])
		}
		return usageError{fmt.Sprintf("%s needs %s: %s (junction help %s)", args[0], what, strings.Join(group, ", "), args[0])}
	}
	return usageError{fmt.Sprintf("unknown command %q (commands: %s; junction --help explains them)", args[0], commandNames())}
}

// subcommands returns the commands of a group ("token": "token create", ...).
func subcommands(group string) []string {
	var out []string
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			out = append(out, c.name)
		}
	}
	return out
}

// runCommand parses c's flags (--help prints them and does nothing else),
// loads the settings when c reads them, and runs it.
func runCommand(ctx context.Context, c *command, args []string, e *cliEnv) error {
	fs := flag.NewFlagSet("junction "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fn := c.setup(fs, e)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandHelp(e.stdout, c)
			return nil
		}
		return usageError{fmt.Sprintf("%s: %v\n%s", c.name, err, synopsis(c))}
	}
	if fs.NArg() > 0 {
		if c.name == "token revoke" && strings.HasPrefix(fs.Arg(0), auth.TokenPrefix) {
			return usageError{"token revoke: the token is read from standard input, not the command line (where it would land in shell history): echo \"$TOKEN\" | junction token revoke"}
		}
		return usageError{fmt.Sprintf("%s: unexpected argument %q\n%s", c.name, fs.Arg(0), synopsis(c))}
	}
	if c.config {
		cfg, err := loadConfig(e.getenv)
		if err != nil {
			return err
		}
		e.cfg, e.log = cfg, newLogger(cfg, e.stderr)
	}
	return fn(ctx)
}

func synopsis(c *command) string {
	s := "usage: junction " + c.name
	if hasFlags(c) {
		s += " [flags]"
	}
	if c.args != "" {
		s += " " + c.args
	}
	return s
}

func hasFlags(c *command) bool {
	if c.setup == nil {
		return false
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs, &cliEnv{})
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// help prints the overview, or one command's help (junction help token
// create), or the settings (junction help settings).
func help(w io.Writer, args []string) error {
	if len(args) == 0 {
		usage(w)
		return nil
	}
	name := strings.Join(args, " ")
	if name == "settings" {
		return printSettings(w)
	}
	if c := find(name); c != nil {
		commandHelp(w, c)
		return nil
	}
	if group := subcommands(name); len(group) > 0 {
		fmt.Fprintf(w, "junction %s: one of\n\n", name)
		for _, n := range group {
			c := find(n)
			fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\nRun 'junction help %s SUBCOMMAND' for its flags.\n", name)
		return nil
	}
	return usageError{fmt.Sprintf("help: no command %q (commands: %s, or settings)", name, commandNames())}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Junction keeps an organisation's connections to external systems in one place: credentials
sealed at rest, live verification, GraphQL with GraphiQL at / and a REST shim at /api/v1.

Usage:
  junction [serve] [-addr ADDR]   serve (the default command)
  junction COMMAND [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Settings are JUNCTION_* environment variables (and Go's GOGC, GOMEMLIMIT); every one has a default ('junction help settings'
lists them). The ones that choose where data lives:
  JUNCTION_DATA_DIR          SQLite database and generated key file (default ./data)
  JUNCTION_DATABASE_URL      postgres://... selects PostgreSQL instead of SQLite
  JUNCTION_ENCRYPTION_KEY    base64 of 32 bytes (openssl rand -base64 32); with SQLite a key file
                             is generated when unset; JUNCTION_ENCRYPTION_KEYS=NEW,OLD rotates

First use: 'junction' prints an admin token on an empty database; open http://localhost:8080/ and
sign in with it. 'junction help COMMAND' or 'junction COMMAND --help' shows a command's flags.
`)
}

func commandHelp(w io.Writer, c *command) {
	if c.setup == nil { // help itself
		fmt.Fprintf(w, "usage: junction help %s\n\n%s.\n", c.args, capitalise(c.summary))
		return
	}
	fmt.Fprintf(w, "%s\n\n%s.\n", synopsis(c), capitalise(c.summary))
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", c.detail)
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs, &cliEnv{})
	if hasFlags(c) {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if c.config {
		fmt.Fprint(w, "\nSettings come from JUNCTION_* environment variables: junction help settings.\n")
	}
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// settingRow is a row of the README's settings table: | `NAME` | default | meaning |.
var settingRow = regexp.MustCompile("^\\| `(JUNCTION_[A-Z0-9_]+|GOGC|GOMEMLIMIT)` \\|\\s*(.*?)\\s*\\|\\s*(.*?)\\s*\\|$")

// settings returns the README's settings table: name, default, meaning.
func settings() [][3]string {
	_, section, _ := strings.Cut(readme, "\n## Settings\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var out [][3]string
	for _, line := range strings.Split(section, "\n") {
		if m := settingRow.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			out = append(out, [3]string{m[1], plain(m[2]), plain(m[3])})
		}
	}
	return out
}

func plain(md string) string {
	return strings.NewReplacer("`", "", "**", "", `\|`, "|").Replace(md)
}

func printSettings(w io.Writer) error {
	rows := settings()
	if len(rows) == 0 {
		return errors.New("help settings: the README built into this binary has no settings table")
	}
	fmt.Fprint(w, "Settings (environment variables; from the README's Settings table):\n\n")
	for _, r := range rows {
		def := r[1]
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(w, "%s (default: %s)\n    %s\n", r[0], def, r[2])
	}
	return nil
}

// printVersion prints the version and what the Go toolchain recorded about
// the build: module version, VCS revision, time and whether the tree was
// modified, Go version and platform.
func printVersion(w io.Writer) {
	info, ok := debug.ReadBuildInfo()
	v := version
	if v == "" && ok {
		v = info.Main.Version
	}
	if v == "" {
		v = "(unknown)"
	}
	fmt.Fprintf(w, "junction %s\n", v)
	if !ok {
		fmt.Fprintf(w, "go         %s\nplatform   %s/%s\n(no build information in this binary)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return
	}
	fmt.Fprintf(w, "module     %s %s\n", info.Main.Path, info.Main.Version)
	s := map[string]string{}
	for _, kv := range info.Settings {
		s[kv.Key] = kv.Value
	}
	if rev := s["vcs.revision"]; rev != "" {
		fmt.Fprintf(w, "revision   %s\n", rev)
		fmt.Fprintf(w, "time       %s\n", s["vcs.time"])
		fmt.Fprintf(w, "modified   %s\n", s["vcs.modified"])
	} else {
		fmt.Fprint(w, "revision   (not recorded: built outside a git checkout, or with -buildvcs=false)\n")
	}
	fmt.Fprintf(w, "go         %s\n", info.GoVersion)
	fmt.Fprintf(w, "platform   %s/%s\n", runtime.GOOS, runtime.GOARCH)
}

// parseLifetime is time.ParseDuration plus a days suffix ("30d").
func parseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration like 720h, 90m or 30d", s)
	}
	return d, nil
}

// openMigrated opens the store and applies migrations.
func openMigrated(ctx context.Context, e *cliEnv) (*store.Store, error) {
	st, err := openStore(ctx, e.cfg, e.log)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func tokenCreate(ctx context.Context, e *cliEnv, tenant, user, email, role string, expires time.Time) error {
	st, err := openMigrated(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	tok := auth.NewToken()
	_, k, err := st.CreateToken(ctx, tenant, user, email, role, tok, expires)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	until := "does not expire"
	if k.ExpiresAt != nil {
		until = "expires " + k.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(e.stderr, "created token %s for %s in tenant %s (%s); it is shown only this once\n", k.ID, user, tenant, until)
	return nil
}

func tokenList(ctx context.Context, e *cliEnv, tenant string, asJSON bool) error {
	st, err := openMigrated(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	tokens, err := st.ListTokens(ctx, tenant)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(tokens)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTENANT\tUSER\tROLE\tCREATED (UTC)\tLAST USED\tEXPIRES")
	for _, k := range tokens {
		expires := "never"
		if k.ExpiresAt != nil {
			expires = k.ExpiresAt.Format("2006-01-02 15:04")
			if k.Expired(now) {
				expires += " (expired)"
			}
		}
		last := "never"
		if k.LastUsedAt != nil {
			last = k.LastUsedAt.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Tenant, k.User, k.Role, k.CreatedAt.Format("2006-01-02 15:04"), last, expires)
	}
	return tw.Flush()
}

// tokenRevoke revokes the token with id, or the token read from stdin
// (never from the command line, where it would land in shell history and
// the process list).
func tokenRevoke(ctx context.Context, e *cliEnv, id string) error {
	var tok string
	if id == "" {
		var b []byte
		var err error
		if e.stdin != nil {
			b, err = io.ReadAll(io.LimitReader(e.stdin, 4096))
		}
		if err != nil {
			return err
		}
		if tok = strings.TrimSpace(string(b)); tok == "" {
			return usageError{"token revoke: no token on standard input (echo \"$TOKEN\" | junction token revoke, or --id ID)"}
		}
	}
	st, err := openMigrated(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	var ok bool
	if id != "" {
		ok, err = st.RevokeTokenID(ctx, id)
	} else {
		ok, err = st.RevokeToken(ctx, tok)
	}
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("token revoke: no such token")
	}
	fmt.Fprintln(e.stdout, "revoked")
	return nil
}

// keyFile is the embedded default's key file.
func keyFile(cfg Config) string { return filepath.Join(cfg.DataDir, "encryption.key") }

// rotateKeys reseals every credential under the ring's first key and keeps
// the embedded default's key file in step (see the command's detail).
func rotateKeys(ctx context.Context, e *cliEnv, newKey bool) error {
	fromEnv := e.cfg.EncryptionKeys != "" || e.cfg.EncryptionKey != ""
	path := keyFile(e.cfg)
	var ring *store.KeyRing
	switch {
	case newKey && (fromEnv || e.cfg.DatabaseURL != ""):
		return usageError{"rotate-keys --new-key is for the embedded default (the key file in JUNCTION_DATA_DIR): with keys in the environment, put the new key first, e.g. JUNCTION_ENCRYPTION_KEYS=$(openssl rand -base64 32),$JUNCTION_ENCRYPTION_KEY, and run rotate-keys"}
	case newKey:
		old, _, err := store.LoadOrCreateKeyFile(path)
		if err != nil {
			return fmt.Errorf("encryption key file: %w", err)
		}
		fresh, err := store.GenerateKey()
		if err != nil {
			return err
		}
		// The new key goes into the file before anything is sealed with
		// it, the old ones stay after it until every row is resealed.
		keys := append([]string{fresh}, old.Export()...)
		if err := store.WriteKeyFile(path, keys...); err != nil {
			return err
		}
		if ring, err = store.ParseKeyRing(strings.Join(keys, ","), ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote the new key %s to %s, before the old one(s), for the rotation\n", ring.Primary(), path)
	default:
		var err error
		if ring, err = openKeys(e.cfg, e.log); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, store.Options{DatabaseURL: e.cfg.DatabaseURL, DataDir: e.cfg.DataDir, Keys: ring, Log: e.log})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	n, err := st.RotateKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "resealed %d connection(s) under key %s\n", n, ring.Primary())
	needed, err := st.RetiredKeysInUse(ctx)
	if err != nil {
		return err
	}
	if len(needed) > 0 {
		fmt.Fprintf(e.stdout, "some credentials still need the old key(s) %s (changed while resealing): run rotate-keys again before removing them\n", strings.Join(needed, ", "))
		return nil
	}
	if e.cfg.DatabaseURL != "" {
		return nil
	}
	return settleKeyFile(e, path, ring, fromEnv)
}

// settleKeyFile leaves the key file holding the ring's first key alone once
// nothing needs the others, keeping the old keys in encryption.key.<id>.old.
// A file holding a key the ring does not know is left as it is (the
// environment decides which keys serve).
func settleKeyFile(e *cliEnv, path string, ring *store.KeyRing, fromEnv bool) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	file, _, err := store.LoadOrCreateKeyFile(path)
	if err != nil {
		return fmt.Errorf("encryption key file: %w", err)
	}
	var oldIDs, oldKeys []string
	for i, id := range file.IDs() {
		switch {
		case id == ring.Primary():
		case !ring.Has(id):
			fmt.Fprintf(e.stdout, "%s holds key %s, which is not in the ring that was rotated: left as it is\n", path, id)
			return nil
		default:
			oldIDs, oldKeys = append(oldIDs, id), append(oldKeys, file.Export()[i])
		}
	}
	if len(oldKeys) == 0 && file.Primary() == ring.Primary() {
		return nil // the new key alone already
	}
	if len(oldKeys) > 0 {
		oldPath := path + "." + oldIDs[0] + ".old"
		if err := store.WriteKeyFile(oldPath, oldKeys...); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "kept the old key(s) %s in %s: delete it once no backup from before this rotation needs restoring\n", strings.Join(oldIDs, ", "), oldPath)
	}
	if err := store.WriteKeyFile(path, ring.Export()[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s now holds the new key %s alone\n", path, ring.Primary())
	return nil
}
