package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestCommands(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		env := map[string]string{"JUNCTION_DATA_DIR": db.DataDir, "JUNCTION_DATABASE_URL": db.URL}
		if db.URL != "" {
			env["JUNCTION_ENCRYPTION_KEY"] = testdb.NewKey(t)
		}
		var out, errs bytes.Buffer
		if err := run(ctx, []string{"migrate"}, nil, &out, &errs, envFunc(env)); err != nil || !strings.Contains(out.String(), "0001_init, 0002_token_lease") {
			t.Fatalf("migrate: %v %q", err, out.String())
		}
		if db.URL == "" {
			fi, err := os.Stat(filepath.Join(db.DataDir, "encryption.key"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("generated key file: %v %v", fi, err)
			}
		}
		out.Reset()
		if err := run(ctx, []string{"token", "create", "--tenant", "t2", "--user", "bob", "--email", "bob@example.com", "--role", "member"}, nil, &out, &errs, envFunc(env)); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^jct_[A-Za-z0-9_-]{43}\n$`).MatchString(out.String()) {
			t.Fatalf("token create must print only the token, got %q", out.String())
		}
		tok := strings.TrimSpace(out.String())
		for _, tc := range []struct {
			in, want string
		}{{tok, "revoked"}, {tok, "no such token"}, {"", "no token"}} {
			out.Reset()
			err := run(ctx, []string{"token", "revoke"}, strings.NewReader(tc.in+"\n"), &out, &errs, envFunc(env))
			if got := fmt.Sprint(out.String(), err); !strings.Contains(got, tc.want) {
				t.Fatalf("token revoke %q: %q, want %q", tc.in, got, tc.want)
			}
		}
		if err := run(ctx, []string{"token", "revoke", tok}, nil, &out, &errs, envFunc(env)); err == nil {
			t.Fatal("a token on the command line was accepted")
		}
		out.Reset()
		if err := run(ctx, []string{"token", "create", "--user", "bob"}, nil, &out, &errs, envFunc(env)); err == nil {
			t.Fatal("token create without email and role accepted")
		}

		// The first start on a database with tenants prints no admin token.
		st, err := prepare(ctx, mustConfig(t, env), newLogger(testConfig(), io.Discard), &out)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		if out.Len() != 0 {
			t.Fatalf("bootstrap on a non-empty database printed %q", out.String())
		}

		out.Reset()
		if err := run(ctx, []string{"rotate-keys"}, nil, &out, &errs, envFunc(env)); err != nil || !strings.Contains(out.String(), "resealed 0") {
			t.Fatalf("rotate-keys: %v %q", err, out.String())
		}
		if err := run(ctx, []string{"frobnicate"}, nil, &out, &errs, envFunc(env)); err == nil {
			t.Fatal("unknown command accepted")
		}
	})
}

func mustConfig(t *testing.T, env map[string]string) Config {
	t.Helper()
	c, err := loadConfig(envFunc(env))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFirstStartAndWrongKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		key := testdb.NewKey(t)
		env := map[string]string{"JUNCTION_DATA_DIR": db.DataDir, "JUNCTION_DATABASE_URL": db.URL, "JUNCTION_ENCRYPTION_KEY": key}
		var out bytes.Buffer
		log := newLogger(testConfig(), io.Discard)
		st, err := prepare(ctx, mustConfig(t, env), log, &out)
		if err != nil {
			t.Fatal(err)
		}
		tok := regexp.MustCompile(`jct_[A-Za-z0-9_-]{43}`).FindString(out.String())
		if tok == "" || !strings.Contains(out.String(), "Authorization: Bearer "+tok) {
			t.Fatalf("first start output: %q", out.String())
		}
		h, closeConns := newHandler(mustConfig(t, env), st, log)
		defer closeConns()
		// Store one sealed secret so a wrong key has something to fail on.
		body := `{"query":"mutation { createConnection(input: {name: \"x\", provider: redo, config: {store_id: \"s\"}, credentials: {api_secret: \"shh-secret\"}}) { id } }"}`
		req, _ := http.NewRequest("POST", "/graphql", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		if !strings.Contains(rec.body.String(), `"id"`) {
			t.Fatalf("create: %s", rec.body.String())
		}
		st.Close()

		env["JUNCTION_ENCRYPTION_KEY"] = testdb.NewKey(t)
		_, err = prepare(ctx, mustConfig(t, env), log, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), "JUNCTION_ENCRYPTION_KEY") {
			t.Fatalf("wrong key: %v", err)
		}
		if strings.Contains(err.Error(), key) {
			t.Fatal("the error message contains the key")
		}
	})
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func TestConfigErrors(t *testing.T) {
	_, err := loadConfig(envFunc(map[string]string{"JUNCTION_PROVIDER_TIMEOUT": "soon", "JUNCTION_LOG_FORMAT": "xml", "JUNCTION_BLOCK_PRIVATE_NETWORKS": "perhaps"}))
	for _, want := range []string{"JUNCTION_PROVIDER_TIMEOUT", "JUNCTION_LOG_FORMAT", "JUNCTION_BLOCK_PRIVATE_NETWORKS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("config error does not name %s: %v", want, err)
		}
	}
	if _, err := loadConfig(envFunc(map[string]string{"JUNCTION_DATABASE_URL": "postgres://x"})); err != nil {
		t.Fatal(err)
	}
	if _, err := openKeys(mustConfig(t, map[string]string{"JUNCTION_DATABASE_URL": "postgres://x"}), newLogger(testConfig(), io.Discard)); err == nil {
		t.Fatal("PostgreSQL without an encryption key accepted")
	}
}

// TestGracefulShutdown cancels the server's context while a request is in
// flight: the request completes, then run returns.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	env := map[string]string{"JUNCTION_DATA_DIR": dir, "JUNCTION_ADDR": addr}

	// An upstream that holds the verify request until released.
	release := make(chan struct{})
	arrived := make(chan struct{})
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.WriteHeader(200)
	})}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go up.Serve(upLn)
	defer up.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, nil, out, io.Discard, envFunc(env)) }()

	base := "http://" + addr
	var tok string
	deadline := time.Now().Add(20 * time.Second)
	for tok == "" && time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			tok = regexp.MustCompile(`jct_[A-Za-z0-9_-]{43}`).FindString(out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if tok == "" {
		t.Fatalf("server did not come up: %q", out.String())
	}
	gql := func(q string) (string, error) {
		req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(fmt.Sprintf(`{"query": %q}`, q)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	created, err := gql(`mutation { createConnection(input: {name: "slow", provider: http_api, config: {base_url: "http://` + upLn.Addr().String() + `"}}) { id } }`)
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(created)
	if id == nil {
		t.Fatalf("create: %s", created)
	}
	inflight := make(chan string, 1)
	go func() {
		body, err := gql(`mutation { verifyConnection(id: "` + id[1] + `") { status } }`)
		if err != nil {
			body = "error: " + err.Error()
		}
		inflight <- body
	}()
	<-arrived
	cancel() // SIGTERM
	select {
	case err := <-done:
		t.Fatalf("server stopped with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if body := <-inflight; !strings.Contains(body, `"status"`) {
		t.Fatalf("in-flight request was not drained: %s", body)
	}
	if err := <-done; err != nil {
		t.Fatalf("run after shutdown: %v", err)
	}
}

// TestHelp: --help, -h, help and help COMMAND print usage and succeed; every
// command's --help prints its flags and does nothing else (no data
// directory, no database, whatever the settings say); the command lists in
// help and in errors are complete.
func TestHelp(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	// Settings that would fail to load, or start something: help must not read them.
	env := envFunc(map[string]string{"JUNCTION_DATA_DIR": dir, "JUNCTION_LOG_FORMAT": "xml"})
	runOut := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(ctx, args, strings.NewReader(""), &out, &errs, env)
		if errs.Len() > 0 {
			t.Errorf("junction %q wrote to stderr: %q", args, errs.String())
		}
		return out.String(), err
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}} {
		out, err := runOut(args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Fatalf("junction %q: %v\n%s", args, err, out)
		}
		for _, c := range commands {
			if !strings.Contains(out, "  "+c.name+" ") {
				t.Errorf("junction %q does not list %q", args, c.name)
			}
		}
	}
	for _, c := range commands {
		if c.setup == nil {
			continue
		}
		args := append(strings.Fields(c.name), "--help")
		for _, a := range [][]string{args, append([]string{"help"}, strings.Fields(c.name)...), append(strings.Fields(c.name), "-h")} {
			out, err := runOut(a...)
			if err != nil || !strings.HasPrefix(out, "usage: junction "+c.name) {
				t.Errorf("junction %q: %v\n%s", a, err, out)
			}
		}
	}
	out, _ := runOut("token", "create", "--help")
	for _, f := range []string{"-tenant", "-user", "-email", "-role", "-expires-in"} {
		if !strings.Contains(out, f) {
			t.Errorf("token create --help does not show %s:\n%s", f, out)
		}
	}
	if out, err := runOut("rotate-keys", "--help"); err != nil || !strings.Contains(out, "-new-key") {
		t.Errorf("rotate-keys --help: %v\n%s", err, out)
	}
	if out, err := runOut("help", "token"); err != nil || !strings.Contains(out, "token revoke") || !strings.Contains(out, "token list") {
		t.Errorf("help token: %v\n%s", err, out)
	}
	if out, err := runOut("token", "--help"); err != nil || !strings.Contains(out, "token create") {
		t.Errorf("token --help: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a --help created the data directory (it ran the command): %v", err)
	}

	// Errors name every command.
	var u usageError
	for _, args := range [][]string{{"frobnicate"}, {"help", "frobnicate"}} {
		_, err := runOut(args...)
		if !errors.As(err, &u) {
			t.Fatalf("junction %q: %v, want a usage error", args, err)
		}
		for _, c := range commands {
			if !strings.Contains(err.Error(), c.name) {
				t.Errorf("junction %q: the error does not name %q: %v", args, c.name, err)
			}
		}
	}
	for _, args := range [][]string{{"token"}, {"token", "frob"}, {"migrate", "extra"}, {"token", "create", "--bogus"}} {
		if _, err := runOut(args...); !errors.As(err, &u) {
			t.Errorf("junction %q: %v, want a usage error", args, err)
		}
	}
	if _, err := runOut("token"); err == nil || !strings.Contains(err.Error(), "token revoke") || !strings.Contains(err.Error(), "token list") {
		t.Errorf("junction token: %v", err)
	}

	// version: the build info.
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := runOut(args...)
		if err != nil || !strings.HasPrefix(out, "junction ") || !strings.Contains(out, "go         go1.") || !strings.Contains(out, "module     github.com/junctionhq/junction") {
			t.Errorf("junction %q: %v\n%s", args, err, out)
		}
	}
}

// TestHelpSettingsListsEverySetting: `junction help settings` prints the
// README's settings table, and every variable the server reads is in it.
func TestHelpSettingsListsEverySetting(t *testing.T) {
	read := map[string]bool{}
	loadConfig(func(k string) string { read[k] = true; return "" })
	read[pprofAddrEnv] = true
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help", "settings"}, nil, &out, io.Discard, envFunc(nil)); err != nil {
		t.Fatal(err)
	}
	for k := range read {
		if !strings.Contains(out.String(), k+" (default: ") {
			t.Errorf("%s is read but not in the README's settings table (junction help settings)", k)
		}
	}
}

// TestAddrFlag: -addr works before or after serve, as the README says.
func TestAddrFlag(t *testing.T) {
	for _, args := range [][]string{{"-addr", ""}, {"serve", "-addr", ""}, {"--addr", ""}} {
		addr := freeAddr(t)
		args[len(args)-1] = addr
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		env := envFunc(map[string]string{"JUNCTION_DATA_DIR": t.TempDir(), "JUNCTION_ADDR": "127.0.0.1:1"})
		go func() { done <- run(ctx, args, nil, io.Discard, io.Discard, env) }()
		up := false
		for deadline := time.Now().Add(20 * time.Second); !up && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				up = resp.StatusCode == 200
			}
		}
		cancel()
		if err := <-done; err != nil || !up {
			t.Fatalf("junction %q: up=%v, %v", args, up, err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestTokenListAndExpiry: token list shows id, user, created, last used and
// expiry, never a token; --expires-in sets an expiry after which the token
// does not authenticate; revoke --id revokes what list shows.
func TestTokenListAndExpiry(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		env := map[string]string{"JUNCTION_DATA_DIR": db.DataDir, "JUNCTION_DATABASE_URL": db.URL}
		if db.URL != "" {
			env["JUNCTION_ENCRYPTION_KEY"] = testdb.NewKey(t)
		}
		cmd := func(stdin string, args ...string) (string, string, error) {
			var out, errs bytes.Buffer
			err := run(ctx, args, strings.NewReader(stdin), &out, &errs, envFunc(env))
			return out.String(), errs.String(), err
		}
		forever, _, err := cmd("", "token", "create", "--tenant", "acme", "--user", "alice", "--email", "a@example.com", "--role", "admin")
		if err != nil {
			t.Fatal(err)
		}
		brief, note, err := cmd("", "token", "create", "--tenant", "acme", "--user", "bob", "--email", "b@example.com", "--expires-in", "2h")
		if err != nil || !strings.Contains(note, "expires ") {
			t.Fatalf("create with --expires-in: %v %q", err, note)
		}
		forever, brief = strings.TrimSpace(forever), strings.TrimSpace(brief)
		for _, bad := range []string{"soon", "-1h", "0d"} {
			if _, _, err := cmd("", "token", "create", "--user", "c", "--email", "c@x", "--expires-in", bad); err == nil {
				t.Errorf("--expires-in %s accepted", bad)
			}
		}

		st, err := prepare(ctx, mustConfig(t, env), newLogger(testConfig(), io.Discard), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Authenticate(ctx, brief); err != nil {
			t.Fatalf("a token before its expiry: %v", err)
		}

		list, _, err := cmd("", "token", "list")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(list), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "LAST USED") || !strings.Contains(lines[0], "EXPIRES") {
			t.Fatalf("token list:\n%s", list)
		}
		if !strings.Contains(lines[1], "alice") || !strings.Contains(lines[1], "never") || !strings.Contains(lines[2], "bob") || strings.Contains(lines[2], "never  never") {
			t.Fatalf("token list rows:\n%s", list)
		}
		if strings.Contains(list, forever) || strings.Contains(list, brief) || strings.Contains(list, store.HashToken(brief)) {
			t.Fatalf("token list shows a token or its hash:\n%s", list)
		}
		if j, _, err := cmd("", "token", "list", "--json", "--tenant", "acme"); err != nil || !strings.Contains(j, `"lastUsedAt"`) || !strings.Contains(j, `"expiresAt"`) {
			t.Fatalf("token list --json: %v\n%s", err, j)
		}

		// Past its expiry the token is refused.
		if _, err := st.DB().NewRaw("UPDATE api_tokens SET expires_at = ? WHERE token_sha256 = ?", store.Now().Add(-time.Minute), store.HashToken(brief)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, brief); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired token authenticated: %v", err)
		}
		if list, _, _ = cmd("", "token", "list"); !strings.Contains(list, "(expired)") {
			t.Fatalf("an expired token is not listed as such:\n%s", list)
		}

		// revoke --id takes the id token list shows.
		bobID := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[2])[0]
		if out, _, err := cmd("", "token", "revoke", "--id", bobID); err != nil || out != "revoked\n" {
			t.Fatalf("revoke --id: %v %q", err, out)
		}
		if _, _, err := cmd("", "token", "revoke", "--id", bobID); err == nil {
			t.Fatal("revoked twice")
		}
		if _, _, err := cmd("", "token", "revoke", forever); err == nil || !strings.Contains(err.Error(), "standard input") {
			t.Fatalf("a token on the command line: %v", err)
		}
	})
}

// rotationFixture is a database with one connection holding a secret.
type rotationFixture struct {
	env        map[string]string
	tenant, id string
}

const rotationSecret = "rotation-canary-secret"

func newRotationFixture(t *testing.T, env map[string]string) *rotationFixture {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--user", "rot", "--email", "rot@example.com", "--role", "admin"}, nil, &out, io.Discard, envFunc(env)); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	log := newLogger(testConfig(), io.Discard)
	st, err := prepare(ctx, mustConfig(t, env), log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, closeConns := newHandler(mustConfig(t, env), st, log)
	defer closeConns()
	body := `{"query":"mutation { createConnection(input: {name: \"r\", provider: redo, config: {store_id: \"s\"}, credentials: {api_secret: \"` + rotationSecret + `\"}}) { id } }"}`
	req, _ := http.NewRequest("POST", "/graphql", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	m := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(rec.body.String())
	if m == nil {
		t.Fatalf("create: %s", rec.body.String())
	}
	f := &rotationFixture{env: env, id: m[1]}
	if err := st.DB().NewRaw("SELECT tenant_id FROM connections WHERE id = ?", f.id).Scan(ctx, &f.tenant); err != nil {
		t.Fatal(err)
	}
	return f
}

// starts reports whether the server starts with env (plus extra settings)
// and then opens the connection's secret.
func (f *rotationFixture) starts(t *testing.T, extra map[string]string) error {
	t.Helper()
	env := maps.Clone(f.env)
	maps.Copy(env, extra)
	for k, v := range env {
		if v == "" {
			delete(env, k)
		}
	}
	ctx := context.Background()
	st, err := prepare(ctx, mustConfig(t, env), newLogger(testConfig(), io.Discard), io.Discard)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.GetConnection(ctx, f.tenant, f.id)
	if err != nil {
		return err
	}
	s, err := st.OpenSecrets(c)
	if err != nil {
		return err
	}
	if s["api_secret"] != rotationSecret {
		return fmt.Errorf("secret after rotation: %q", s["api_secret"])
	}
	return nil
}

func (f *rotationFixture) rotate(t *testing.T, extra map[string]string, args ...string) string {
	t.Helper()
	env := maps.Clone(f.env)
	maps.Copy(env, extra)
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"rotate-keys"}, args...), nil, &out, io.Discard, envFunc(env)); err != nil {
		t.Fatalf("rotate-keys %q: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// TestKeyRotationEndToEnd walks the README's rotations: from a key in the
// environment to a labelled ring, after which the new key alone starts
// (however it is configured) and the old one alone does not; and on the
// embedded default with rotate-keys --new-key, after which the key file
// holds the new key alone and the old one is kept beside it.
func TestKeyRotationEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		oldKey, newKey := testdb.NewKey(t), testdb.NewKey(t)
		f := newRotationFixture(t, map[string]string{"JUNCTION_DATA_DIR": db.DataDir, "JUNCTION_DATABASE_URL": db.URL, "JUNCTION_ENCRYPTION_KEY": oldKey})
		if out := f.rotate(t, map[string]string{"JUNCTION_ENCRYPTION_KEY": "", "JUNCTION_ENCRYPTION_KEYS": "k2026:" + newKey + "," + oldKey}); !strings.Contains(out, "resealed 1 connection") {
			t.Fatalf("rotate-keys: %q", out)
		}
		for name, env := range map[string]map[string]string{
			"the new key alone":           {"JUNCTION_ENCRYPTION_KEY": newKey},
			"the new key under its label": {"JUNCTION_ENCRYPTION_KEY": "", "JUNCTION_ENCRYPTION_KEYS": "k2026:" + newKey},
			"the new key, another label":  {"JUNCTION_ENCRYPTION_KEY": "", "JUNCTION_ENCRYPTION_KEYS": "prod:" + newKey},
			"the ring as rotated":         {"JUNCTION_ENCRYPTION_KEY": "", "JUNCTION_ENCRYPTION_KEYS": "k2026:" + newKey + "," + oldKey},
		} {
			if err := f.starts(t, env); err != nil {
				t.Errorf("after rotation, start with %s: %v", name, err)
			}
		}
		if err := f.starts(t, map[string]string{"JUNCTION_ENCRYPTION_KEY": oldKey}); err == nil || !strings.Contains(err.Error(), "refusing to start") {
			t.Errorf("after rotation the old key alone started: %v", err)
		}
		if out := f.rotate(t, map[string]string{"JUNCTION_ENCRYPTION_KEY": newKey}); !strings.Contains(out, "resealed 0") {
			t.Errorf("a second rotation: %q", out)
		}
	})

	t.Run("embedded default", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "encryption.key")
		f := newRotationFixture(t, map[string]string{"JUNCTION_DATA_DIR": dir})
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out := f.rotate(t, nil, "--new-key")
		if !strings.Contains(out, "resealed 1 connection") || !strings.Contains(out, "now holds the new key") {
			t.Fatalf("rotate-keys --new-key: %q", out)
		}
		after, _ := os.ReadFile(path)
		if lines := strings.Fields(string(after)); len(lines) != 1 || lines[0] == strings.TrimSpace(string(before)) {
			t.Fatalf("key file after rotation: %q (before %q)", after, before)
		}
		olds, _ := filepath.Glob(path + ".key-*.old")
		if len(olds) != 1 {
			t.Fatalf("old key files: %v", olds)
		}
		if kept, _ := os.ReadFile(olds[0]); strings.TrimSpace(string(kept)) != strings.TrimSpace(string(before)) {
			t.Fatalf("the old key was not kept: %q", kept)
		}
		if err := f.starts(t, nil); err != nil {
			t.Fatalf("start after rotate-keys --new-key: %v", err)
		}
		if err := f.starts(t, map[string]string{"JUNCTION_ENCRYPTION_KEY": strings.TrimSpace(string(after))}); err != nil {
			t.Fatalf("start with the file's new key in the environment: %v", err)
		}

		// An interrupted --new-key leaves NEW,OLD in the file: the server
		// starts with it, and rotate-keys finishes.
		newer, _ := store.GenerateKey()
		if err := store.WriteKeyFile(path, newer, strings.TrimSpace(string(after))); err != nil {
			t.Fatal(err)
		}
		if err := f.starts(t, nil); err != nil {
			t.Fatalf("start mid-rotation: %v", err)
		}
		if out := f.rotate(t, nil); !strings.Contains(out, "resealed 1") || !strings.Contains(out, "now holds the new key") {
			t.Fatalf("finishing an interrupted rotation: %q", out)
		}
		if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != newer {
			t.Fatalf("key file after finishing: %q", b)
		}
		if err := f.starts(t, nil); err != nil {
			t.Fatal(err)
		}
		var u usageError
		if _, err := runErr(t, []string{"rotate-keys", "--new-key"}, map[string]string{"JUNCTION_DATA_DIR": dir, "JUNCTION_ENCRYPTION_KEY": newer}); !errors.As(err, &u) {
			t.Fatalf("--new-key with a key in the environment: %v", err)
		}
	})
}

func runErr(t *testing.T, args []string, env map[string]string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, nil, &out, io.Discard, envFunc(env))
	return out.String(), err
}

// The server sets its own collector target only when the operator set
// neither of Go's: a GOGC or GOMEMLIMIT in the environment is Go's to apply.
func TestDefaultGCOnlyWithoutGoSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"GOGC": "100"}, false},
		{map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, false},
		{map[string]string{"GOMEMLIMIT": "512MiB"}, false},
	} {
		c, err := loadConfig(func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.defaultGC != tc.want {
			t.Errorf("%v: defaultGC %v, want %v", tc.env, c.defaultGC, tc.want)
		}
	}
}
