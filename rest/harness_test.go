package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/go-chi/chi/v5"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph"
	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/builtin"
	"github.com/junctionhq/junction/providers/providertest"
	"github.com/junctionhq/junction/reqid"
	"github.com/junctionhq/junction/resolvers"
	"github.com/junctionhq/junction/rest"
	"github.com/junctionhq/junction/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (openapi.json is go generate's)")

// maxBody is the body limit of the test server (the real one is
// JUNCTION_MAX_BODY_BYTES, 1 MiB by default).
const maxBody = 4096

// env is one in-process Junction: a migrated store, the resolvers, and a
// router equivalent to server.go's (auth, loaders, /graphql, /api/v1).
type env struct {
	t       *testing.T
	st      *store.Store
	handler http.Handler
	logs    *syncBuffer
	// tokens by user: alice (admin, tenant acme), bob (member, acme),
	// olga (admin, tenant other).
	tokens map[string]string
	// names maps ids to the placeholders goldens show instead.
	names map[string]string
	// literals are replaced in goldens (e.g. the upstream server's URL).
	literals map[string]string
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, db testdb.DB) *env { return newEnvWith(t, db, resolvers.Limits{}) }

// newEnvWith is newEnv with the resolvers' limits (zero fields take the
// defaults).
func newEnvWith(t *testing.T, db testdb.DB, limits resolvers.Limits) *env {
	t.Helper()
	st := testdb.Open(t, db, testdb.NewKey(t))
	logs := &syncBuffer{}
	log := slog.New(reqid.Handler{Handler: slog.NewJSONHandler(logs, nil)})
	res := &resolvers.Resolver{
		Store: st, Providers: builtin.Registry(), Log: log,
		HTTPClient: providertest.HTTPClient(providers.HTTPOptions{BaseBackoff: 250 * time.Millisecond}), Dial: providertest.Guarded(providers.Config{}).Dial, OAuth: providers.NewOAuth(),
		ProviderTimeout: 5 * time.Second, Limits: limits,
	}
	e := &env{t: t, st: st, logs: logs, tokens: map[string]string{}, names: map[string]string{}, literals: map[string]string{}}
	for _, u := range []struct{ tenant, name, email, role string }{
		{"acme", "alice", "alice@example.com", "admin"},
		{"acme", "bob", "bob@example.com", "member"},
		{"other", "olga", "olga@example.org", "admin"},
	} {
		tok := auth.NewToken()
		user, err := st.EnsureUserToken(context.Background(), u.tenant, u.name, u.email, u.role, tok)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[u.name] = tok
		e.names[user.ID] = "<user:" + u.name + ">"
		e.names[user.TenantID] = "<tenant:" + u.tenant + ">"
	}
	e.handler = newHandler(st, res, log)
	return e
}

// newHandler mirrors server.go's newHandler for the parts under test.
func newHandler(st *store.Store, res *resolvers.Resolver, log *slog.Logger) http.Handler {
	lookup := func(ctx context.Context, token string) (auth.Identity, error) {
		p, err := st.Authenticate(ctx, token)
		if errors.Is(err, store.ErrNotFound) {
			return auth.Identity{}, auth.ErrUnknownToken
		}
		if err != nil {
			return auth.Identity{}, err
		}
		return auth.Identity{TenantID: p.Tenant.ID, TenantName: p.Tenant.Name, UserID: p.User.ID,
			UserName: p.User.Name, Email: p.User.Email, Role: p.User.Role}, nil
	}
	unauthenticated := func(w http.ResponseWriter, r *http.Request) {
		rest.WriteJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Not authenticated"})
	}
	failed := func(w http.ResponseWriter, r *http.Request, err error) {
		rest.WriteJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal server error", "code": "internal"})
	}
	gql := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res}))
	gql.AddTransport(transport.POST{})
	gql.SetErrorPresenter(resolvers.ErrorPresenter(log))

	r := chi.NewRouter()
	r.Use(reqid.Middleware, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			}
			next.ServeHTTP(w, r)
		})
	})
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware(lookup, unauthenticated, failed), res.LoadersMiddleware)
		r.Handle("/graphql", gql)
		r.Mount("/api/v1", rest.Router(res, log))
	})
	return r
}

// reply is one HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends method path (under /api/v1) with body as user ("" for none).
func (e *env) do(user, method, path, body string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "/api/v1"+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return reply{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// json decodes a reply body.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// graphql runs a GraphQL query as user and returns data.
func (e *env) graphql(user, query string, vars map[string]any) map[string]any {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	var out struct {
		Data   map[string]any   `json:"data"`
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Errors) > 0 {
		e.t.Fatalf("graphql: %v %v\n%s", err, out.Errors, rec.Body.String())
	}
	return out.Data
}

var (
	uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
)

// normalise replaces what differs between runs: known ids by their names,
// other UUIDs by <uuid>, timestamps by <time>, cursors by <cursor>, and the
// registered literals.
func (e *env) normalise(s string) string {
	for _, k := range sortedByLength(e.literals) {
		s = strings.ReplaceAll(s, k, e.literals[k])
	}
	return uuidRe.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := e.names[id]; ok {
			return n
		}
		return "<uuid>"
	})
}

func sortedByLength(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	return keys
}

func (e *env) normaliseJSON(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[e.normalise(k)] = e.normaliseJSON(val, k)
		}
		return out
	case members:
		out := make(members, len(x))
		for i, m := range x {
			out[i] = member{e.normalise(m.key), e.normaliseJSON(m.value, m.key)}
		}
		if key != "rows" {
			slices.SortStableFunc(out, func(a, b member) int { return strings.Compare(a.key, b.key) })
		}
		return out
	case []any:
		for i := range x {
			x[i] = e.normaliseJSON(x[i], key)
		}
		return x
	case string:
		if key == "nextCursor" {
			return "<cursor>"
		}
		if key == "nextPageToken" {
			if n := e.normalise(x); n != x {
				return n // a token a later call uses, by its name
			}
			return "<token>"
		}
		if timeRe.MatchString(x) {
			return "<time>"
		}
		return e.normalise(x)
	}
	return v
}

// golden renders a request and its reply the way testdata/ keeps them.
func (e *env) golden(method, path, body string, r reply) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s /api/v1%s\n", method, e.normalise(path))
	if body != "" {
		if len(body) > 300 {
			body = body[:300] + fmt.Sprintf("... (%d bytes)", len(body))
		}
		b.WriteString(e.normalise(body) + "\n")
	}
	fmt.Fprintf(&b, "\nHTTP %d\n", r.Status)
	for _, h := range []string{"Content-Type", "Location", "Allow", "Retry-After"} {
		if v := r.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", h, e.normalise(v))
		}
	}
	if len(r.Body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		v, err := decodeOrdered(dec)
		if err != nil {
			e.t.Fatalf("reply is not JSON: %v\n%s", err, r.Body)
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(e.normaliseJSON(v, "")); err != nil {
			e.t.Fatal(err)
		}
		b.WriteString("\n" + out.String())
	}
	return b.String()
}

// members is a JSON object as sent: its keys in order, duplicates kept.
// Goldens show objects with sorted keys, except result rows, whose order
// (and duplicate column names) is part of the contract.
type members []member

type member struct {
	key   string
	value any
}

// MarshalJSON writes the members in order, without HTML escaping.
func (m members) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, kv := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(kv.key); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := enc.Encode(kv.value); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// decodeOrdered reads one JSON value, objects as members.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		out := members{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			out = append(out, member{k.(string), v})
		}
		_, err := dec.Token()
		return out, err
	case json.Delim('['):
		out := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		_, err := dec.Token()
		return out, err
	}
	return tok, nil
}

// checkGolden compares got with testdata/name.golden (or writes it with -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./rest -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./rest -update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
