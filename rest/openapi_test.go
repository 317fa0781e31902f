package rest_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/resolvers"
	"github.com/junctionhq/junction/rest"
	"github.com/junctionhq/junction/rest/internal/openapidoc"
)

// TestOpenAPIDocument: rest/openapi.json is the generated document (go
// generate ./rest rewrites it) and the one embedded.
func TestOpenAPIDocument(t *testing.T) {
	want, err := openapidoc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Error("rest/openapi.json is stale: run go generate ./rest")
	}
	if !bytes.Equal(rest.OpenAPI(), have) {
		t.Error("the embedded document differs from rest/openapi.json")
	}
}

type document struct {
	Paths map[string]map[string]struct {
		Responses map[string]any `json:"responses"`
	} `json:"paths"`
}

func loadDocument(t *testing.T) document {
	t.Helper()
	var d document
	if err := json.Unmarshal(rest.OpenAPI(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func testRouter() chi.Router {
	return rest.Router(&resolvers.Resolver{}, slog.New(slog.DiscardHandler))
}

// TestOpenAPIMatchesRouter: every route is documented and every documented
// operation is routed.
func TestOpenAPIMatchesRouter(t *testing.T) {
	routed := map[string]bool{}
	err := chi.Walk(testRouter(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range loadDocument(t).Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, k := range sortedKeys(routed) {
		if !documented[k] {
			t.Errorf("%s is routed but not in openapi.json", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		if !routed[k] {
			t.Errorf("%s is in openapi.json but not routed", k)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIListsEveryStatus: each status the contract scenario saw is
// documented for its operation.
func TestOpenAPIListsEveryStatus(t *testing.T) {
	d := loadDocument(t)
	router := testRouter()
	placeholder := regexp.MustCompile(`\{[a-z0-9_]+\}`)
	for _, c := range slices.Concat(scenarios()...) {
		path, _, _ := strings.Cut(c.path, "?")
		path = placeholder.ReplaceAllString(path, missingUUID)
		rctx := chi.NewRouteContext()
		if !router.Match(rctx, c.method, path) {
			continue // 404 and 405 for unrouted requests
		}
		pattern := rctx.RoutePattern()
		op, found := d.Paths[pattern][strings.ToLower(c.method)]
		if !found {
			t.Errorf("%s %s: no operation documented", c.method, pattern)
			continue
		}
		if _, ok := op.Responses[strconv.Itoa(c.status)]; !ok && c.user != "" {
			t.Errorf("%s %s answers %d (%s), not documented", c.method, pattern, c.status, c.golden)
		}
		if c.user == "" && !slices.Contains(mapKeys(op.Responses), "401") {
			t.Errorf("%s %s: 401 not documented", c.method, pattern)
		}
	}
}

func mapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestOpenAPIServed: GET /api/v1/openapi.json serves the document.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()})
	r := e.do("alice", "GET", "/openapi.json", "")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || !bytes.Equal(r.Body, rest.OpenAPI()) {
		t.Errorf("GET /openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
}
