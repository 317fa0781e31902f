package rest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
)

// call is one request of the contract scenario. Calls run in order against
// one server; {name} in path and body is the id saved under name, and
// {upstream} the URL of the fake HTTP API.
type call struct {
	golden string // testdata/<golden>.golden; empty: status checked only
	user   string // alice, bob, olga or "" (no token)
	method string
	path   string
	body   string
	status int
	save   string // remember the reply's "id" under this name
	token  string // remember the reply's "nextPageToken" under this name
}

// upstreamAPI is the system the http_api connections point at: GET /health
// with "Authorization: Bearer good-token" answers 200, anything else 401 or 404.
func upstreamAPI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method != http.MethodGet || r.URL.Path != "/health":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"not found"}`))
		case r.Header.Get("Authorization") != "Bearer good-token":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid token"}`))
		default:
			w.Write([]byte(`{"ok":true}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const (
	pgBody      = `{"name": "Warehouse DB", "provider": "postgres", "config": {"host": "db.internal", "database": "warehouse", "user": "etl"}, "credentials": {"password": "s3cret-pw"}, "visibility": "global"}`
	apiBody     = `{"name": "Status API", "provider": "http_api", "config": {"base_url": "{upstream}", "auth_type": "bearer", "verify_path": "/health"}, "credentials": {"token": "good-token"}, "visibility": "global", "slug": "status"}`
	bobBody     = `{"name": "Bob's sandbox", "provider": "postgres", "config": {"host": "localhost", "database": "sandbox", "user": "bob", "port": 5433}}`
	missingUUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
)

var scenario = []call{
	{golden: "auth_missing_token", method: "GET", path: "/connections", status: 401},
	{golden: "list_empty", user: "alice", method: "GET", path: "/connections", status: 200},

	{golden: "create_ok", user: "alice", method: "POST", path: "/connections", body: pgBody, status: 201, save: "pg"},
	{golden: "create_http_api", user: "alice", method: "POST", path: "/connections", body: apiBody, status: 201, save: "api"},
	{golden: "create_by_member", user: "bob", method: "POST", path: "/connections", body: bobBody, status: 201, save: "bob_pg"},
	{golden: "create_missing_fields", user: "alice", method: "POST", path: "/connections", body: `{}`, status: 422},
	{golden: "create_wrong_types", user: "alice", method: "POST", path: "/connections", status: 422,
		body: `{"owner": "me", "name": 5, "provider": "mysql", "credentials": {"password": 5}, "config": "host=db", "visibility": "public", "slug": 7, "isDefault": "maybe"}`},
	{golden: "create_provider_not_string", user: "alice", method: "POST", path: "/connections", status: 422,
		body: `{"name": "x", "provider": 12, "isDefault": [true]}`},
	{golden: "create_spec_errors", user: "alice", method: "POST", path: "/connections", status: 422,
		body: `{"name": "", "provider": "postgres", "config": {"host": "db", "port": "five", "sslmode": "sometimes", "colour": "red"}, "credentials": {"token": "x"}, "slug": "Not A Slug"}`},
	{golden: "create_name_too_long", user: "alice", method: "POST", path: "/connections", status: 422,
		body: `{"name": "` + strings.Repeat("n", 256) + `", "provider": "postgres", "config": {"host": "h", "database": "d", "user": "u"}}`},
	{golden: "create_json_invalid", user: "alice", method: "POST", path: "/connections", body: `{"name": "x", "provider": }`, status: 422},
	{golden: "create_json_trailing_data", user: "alice", method: "POST", path: "/connections", body: `{"name": "x"} {}`, status: 422},
	{golden: "create_body_not_object", user: "alice", method: "POST", path: "/connections", body: `["postgres"]`, status: 422},
	{golden: "create_empty_body", user: "alice", method: "POST", path: "/connections", status: 422},
	{golden: "create_slug_conflict", user: "alice", method: "POST", path: "/connections", status: 409,
		body: `{"name": "Other", "provider": "postgres", "slug": "warehouse-db", "config": {"host": "h", "database": "d", "user": "u"}}`},
	{golden: "create_too_large", user: "alice", method: "POST", path: "/connections", status: 413,
		body: `{"name": "` + strings.Repeat("x", maxBody) + `", "provider": "postgres"}`},

	{golden: "get_ok", user: "alice", method: "GET", path: "/connections/{pg}", status: 200},
	{golden: "get_bad_uuid", user: "alice", method: "GET", path: "/connections/not-a-uuid", status: 422},
	{golden: "get_bad_uuid_group", user: "alice", method: "GET", path: "/connections/0f8fad5b-d9cb-469f-a165-70867728950", status: 422},
	{golden: "get_not_found", user: "alice", method: "GET", path: "/connections/" + missingUUID, status: 404},
	{golden: "get_other_tenant", user: "olga", method: "GET", path: "/connections/{pg}", status: 404},
	{golden: "get_by_slug_ok", user: "alice", method: "GET", path: "/connections/slug/warehouse-db", status: 200},
	{golden: "get_by_slug_not_found", user: "alice", method: "GET", path: "/connections/slug/nothing-here", status: 404},

	{golden: "list_ok", user: "alice", method: "GET", path: "/connections", status: 200},
	{golden: "list_member", user: "bob", method: "GET", path: "/connections?sort=provider&order=desc", status: 200},
	{golden: "list_aliases", user: "alice", method: "GET", path: "/connections?sort_by=created_at&direction=desc&limit=1", status: 200},
	{golden: "list_search", user: "alice", method: "GET", path: "/connections?search=WARE&sortOrder=asc&sortBy=name", status: 200},
	{golden: "list_invalid", user: "alice", method: "GET", path: "/connections?limit=abc&offset=-1&sortBy=colour&order=up", status: 422},
	{golden: "list_limit_too_large", user: "alice", method: "GET", path: "/connections?limit=1001", status: 422},
	{golden: "list_bad_cursor", user: "alice", method: "GET", path: "/connections?cursor=nope", status: 422},

	{golden: "edit_settings_ok", user: "alice", method: "GET", path: "/connections/{pg}/edit-settings", status: 200},
	{golden: "edit_settings_bad_uuid", user: "alice", method: "GET", path: "/connections/123/edit-settings", status: 422},

	{golden: "update_ok", user: "alice", method: "PATCH", path: "/connections/{pg}", status: 200,
		body: `{"name": "Warehouse", "credentials": {"password": "n3w-pw"}}`},
	{golden: "update_remove_secret", user: "alice", method: "PATCH", path: "/connections/{pg}", status: 200,
		body: `{"credentials": {"password": null}}`},
	{golden: "update_move_without_secrets", user: "alice", method: "PATCH", path: "/connections/{api}", status: 422,
		body: `{"config": {"base_url": "https://elsewhere.example.com", "auth_type": "bearer", "verify_path": "/health"}}`},
	{golden: "update_invalid", user: "alice", method: "PATCH", path: "/connections/nope", status: 422,
		body: `{"name": 1, "owner": "x"}`},
	{golden: "update_wrong_types", user: "alice", method: "PATCH", path: "/connections/{pg}", status: 422,
		body: `{"name": "", "config": [1], "visibility": null}`},
	{golden: "update_empty_body", user: "alice", method: "PATCH", path: "/connections/{pg}", status: 422},
	{golden: "update_forbidden", user: "bob", method: "PATCH", path: "/connections/{pg}", body: `{"name": "mine"}`, status: 403},
	{golden: "update_not_found", user: "alice", method: "PATCH", path: "/connections/" + missingUUID, body: `{"name": "x"}`, status: 404},

	{golden: "verify_ok", user: "alice", method: "POST", path: "/connections/{api}/verify", status: 200},
	{golden: "test_ok", user: "alice", method: "POST", path: "/connections/test", status: 200,
		body: `{"provider": "http_api", "config": {"base_url": "{upstream}", "auth_type": "bearer", "verify_path": "/health"}, "credentials": {"token": "good-token"}}`},
	{golden: "test_failed", user: "alice", method: "POST", path: "/connections/test", status: 200,
		body: `{"provider": "http_api", "config": {"base_url": "{upstream}", "auth_type": "bearer", "verify_path": "/health"}, "credentials": {"token": "wrong-token"}}`},
	{golden: "test_stored_connection", user: "alice", method: "POST", path: "/connections/test", body: `{"connectionId": "{api}"}`, status: 200},
	{golden: "test_invalid", user: "alice", method: "POST", path: "/connections/test", status: 422,
		body: `{"provider": 5, "config": [], "connectionId": "nope", "dryRun": true}`},
	{golden: "test_missing_provider", user: "alice", method: "POST", path: "/connections/test", body: `{}`, status: 422},
	{user: "alice", method: "PATCH", path: "/connections/{api}", body: `{"credentials": {"token": "wrong-token"}}`, status: 200},
	{golden: "verify_failed", user: "alice", method: "POST", path: "/connections/{api}/verify", status: 200},

	{golden: "set_default_ok", user: "alice", method: "POST", path: "/connections/{pg}/set-default", status: 200},
	{golden: "disable_ok", user: "alice", method: "POST", path: "/connections/{pg}/disable", status: 200},
	{golden: "verify_disabled", user: "alice", method: "POST", path: "/connections/{pg}/verify", status: 409},
	{golden: "reactivate_ok", user: "alice", method: "POST", path: "/connections/{pg}/reactivate", status: 200},
	{golden: "disable_bad_uuid", user: "alice", method: "POST", path: "/connections/{pg}x/disable", status: 422},
	{golden: "delete_forbidden", user: "bob", method: "DELETE", path: "/connections/{pg}", status: 403},
	{golden: "delete_ok", user: "bob", method: "DELETE", path: "/connections/{bob_pg}", status: 204},
	{golden: "delete_not_found", user: "bob", method: "DELETE", path: "/connections/{bob_pg}", status: 404},

	{user: "bob", method: "GET", path: "/providers", status: 200}, // body: TestProvidersBody
	{golden: "me_ok", user: "bob", method: "GET", path: "/me", status: 200},
	{golden: "route_not_found", user: "alice", method: "GET", path: "/connectors", status: 404},
	{golden: "method_not_allowed", user: "alice", method: "PUT", path: "/connections", status: 405},
}

// TestContract runs the scenario on every database and compares each reply
// (status, headers, whole body) with its golden file.
func TestContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		up := upstreamAPI(t)
		e.literals[up.URL] = "<upstream>"
		e.run(scenario, map[string]string{"upstream": up.URL})
	})
}

// run sends calls in order; {name} in a path or body is replaced by ids[name]
// (the ids saved by earlier calls included).
func (e *env) run(calls []call, ids map[string]string) {
	t := e.t
	t.Helper()
	expand := func(s string) string {
		for k, v := range ids {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	for _, c := range calls {
		path, body := expand(c.path), expand(c.body)
		r := e.do(c.user, c.method, path, body)
		if r.Status != c.status {
			t.Fatalf("%s %s %s: status %d, want %d\n%s", c.golden, c.method, path, r.Status, c.status, r.Body)
		}
		if c.save != "" {
			id, _ := r.json(t)["id"].(string)
			ids[c.save] = id
			e.names[id] = "<conn:" + c.save + ">"
		}
		if c.token != "" {
			tok, _ := r.json(t)["nextPageToken"].(string)
			if tok == "" {
				t.Fatalf("%s: no nextPageToken to save", c.golden)
			}
			ids[c.token] = tok
			e.literals[tok] = "<token:" + c.token + ">"
		}
		if c.golden != "" {
			checkGolden(t, c.golden, e.golden(c.method, path, body, r))
		}
	}
}

// scenarios are every contract scenario, for the checks over all of them.
func scenarios() [][]call { return [][]call{scenario, dataScenario, schemaScenario} }

// TestGoldenFilesUsed fails on golden files no test writes any more.
func TestGoldenFilesUsed(t *testing.T) {
	used := map[string]bool{}
	for _, calls := range scenarios() {
		for _, c := range calls {
			if c.golden != "" && used[c.golden+".golden"] {
				t.Errorf("two calls write testdata/%s.golden", c.golden)
			}
			used[c.golden+".golden"] = true
		}
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !used[e.Name()] && strings.HasSuffix(e.Name(), ".golden") {
			t.Errorf("testdata/%s is not used by any test; delete it", e.Name())
		}
	}
}
