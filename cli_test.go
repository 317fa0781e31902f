package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
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
