package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

const canary = "canary-5ec7e7-do-not-leak"

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// queryCounter counts SQL statements that read the users table.
type queryCounter struct{ users atomic.Int64 }

func (q *queryCounter) see(query string, _ []any) {
	if strings.Contains(query, "FROM users") {
		q.users.Add(1)
	}
}

func (q *queryCounter) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	return ctx
}
func (q *queryCounter) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if strings.Contains(e.Query, `FROM "users"`) {
		q.users.Add(1)
	}
}

type env struct {
	t       testing.TB
	db      testdb.DB
	st      *store.Store
	h       http.Handler
	log     *lockedBuffer
	queries *queryCounter
	admin   string // token of tenant acme's admin
	// bodies collects every response body, for leak checks.
	bodies *lockedBuffer
}

func testConfig() Config {
	c, err := loadConfig(func(string) string { return "" })
	if err != nil {
		panic(err)
	}
	c.LogFormat = "json"
	// Every request looks its credentials up, as the tests of revocation
	// and outages expect at once; auth_cache_test.go covers the cache.
	c.AuthCacheTTL = 0
	return c
}

func newEnv(t testing.TB, db testdb.DB, mod ...func(*Config)) *env {
	t.Helper()
	cfg := testConfig()
	for _, m := range mod {
		m(&cfg)
	}
	e := &env{t: t, db: db, st: testdb.Open(t, db, testdb.NewKey(t)), log: &lockedBuffer{}, queries: &queryCounter{}, bodies: &lockedBuffer{}}
	e.st.DB().AddQueryHook(e.queries)
	// The hot reads bypass Bun's hooks on PostgreSQL; they are seen here.
	e.st.ObserveReads(e.queries.see)
	var closeConns func()
	e.h, closeConns = newHandler(cfg, e.st, newLogger(cfg, e.log))
	t.Cleanup(closeConns)
	e.admin = e.token("acme", "alice", "admin")
	return e
}

// token creates (or reuses) a user in tenant and returns a new token.
func (e *env) token(tenant, user, role string) string {
	tok := "jct_test_" + tenant + "_" + user + "_" + store.NewID()
	if _, err := e.st.EnsureUserToken(context.Background(), tenant, user, user+"@example.com", role, tok); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) do(method, path, token string, body any, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	e.bodies.Write(w.Body.Bytes())
	return w
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResp struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []gqlError                 `json:"errors"`
}

func (e *env) gql(token, query string, vars map[string]any) gqlResp {
	e.t.Helper()
	w := e.do("POST", "/graphql", token, map[string]any{"query": query, "variables": vars})
	if w.Code != http.StatusOK && w.Code != http.StatusUnprocessableEntity {
		e.t.Fatalf("graphql status %d: %s", w.Code, w.Body)
	}
	var out gqlResp
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		e.t.Fatalf("graphql body: %v: %s", err, w.Body)
	}
	return out
}

// must runs a GraphQL operation that must succeed and decodes field into v.
func (e *env) must(token, query string, vars map[string]any, field string, v any) {
	e.t.Helper()
	r := e.gql(token, query, vars)
	if len(r.Errors) > 0 {
		e.t.Fatalf("graphql errors: %+v", r.Errors)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data[field], v); err != nil {
			e.t.Fatalf("decode %s: %v (%s)", field, err, r.Data[field])
		}
	}
}

// errCode runs an operation that must fail and returns extensions.code and fields.
func (e *env) errCode(token, query string, vars map[string]any) (string, []any) {
	e.t.Helper()
	r := e.gql(token, query, vars)
	if len(r.Errors) == 0 {
		e.t.Fatalf("expected an error, got data %s", r.Data)
	}
	fields, _ := r.Errors[0].Extensions["fields"].([]any)
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code, fields
}

func urlEscape(s string) string { return url.QueryEscape(s) }
