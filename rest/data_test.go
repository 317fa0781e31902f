package rest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/junctionhq/junction/internal/testdb"
)

// fakeS3 starts gofakes3 with bucket "reports" holding a small tree:
//
//	a.json (10 B), docs/ (marker), docs/readme.pdf (20 B), docs/index.html (21 B),
//	docs/2024/q1.csv (30 B), docs/2024/q2.csv (40 B), empty/ (marker), noext (5 B)
func fakeS3(t *testing.T) *httptest.Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("reports"); err != nil {
		t.Fatal(err)
	}
	modified := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	for _, o := range []struct {
		key  string
		size int
		mime string
	}{
		{"a.json", 10, "application/json"}, {"docs/", 0, ""}, {"docs/readme.pdf", 20, ""}, {"docs/index.html", 21, "text/html"},
		{"docs/2024/q1.csv", 30, "text/csv"}, {"docs/2024/q2.csv", 40, ""}, {"empty/", 0, ""}, {"noext", 5, ""},
	} {
		meta := map[string]string{"Last-Modified": modified}
		if o.mime != "" {
			meta["Content-Type"] = o.mime
		}
		body := bytes.Repeat([]byte("x"), o.size)
		if _, err := backend.PutObject("reports", o.key, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	s3 := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Listing the folder /throttled is throttled, as S3 does it.
		if strings.HasPrefix(r.URL.Query().Get("prefix"), "throttled/") {
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
				`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>`))
			return
		}
		s3.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// s3Body creates an s3 connection on the fake (any keys do).
func s3Body(name string) string {
	return `{"name": "` + name + `", "provider": "s3", "visibility": "global",
		"config": {"bucket": "reports", "endpoint": "{s3}", "use_path_style": true, "region": "us-east-1"},
		"credentials": {"access_key_id": "AKIDFAKE", "secret_access_key": "fake-secret-key"}}`
}

const (
	shopBody = `{"name": "Shop", "provider": "shopify", "config": {"shop_domain": "example.myshopify.com"}, "credentials": {"access_token": "shpat_fake"}}`
	// warehouseBody is a postgres connection nothing listens for: the calls
	// below on it are refused before the provider is used.
	warehouseBody = `{"name": "Warehouse", "provider": "postgres", "config": {"host": "db.invalid", "database": "warehouse", "user": "etl"}, "credentials": {"password": "pw"}}`
)

// tooManyItems is a selection one item over the limit (and under the test
// server's body limit).
var tooManyItems = `{"selectedItems": [` + strings.Repeat(`"a",`, 1000) + `"a"]}`

// dataScenario covers the files and schema endpoints: files against the
// fake S3, and every refusal that needs no database to query (422, 404,
// 409 disabled, 400 unsupported). The successful schema calls are in
// schemaScenario.
var dataScenario = []call{
	{user: "alice", method: "POST", path: "/connections", body: s3Body("Reports"), status: 201, save: "s3"},
	// ({s3} is this scenario's connection id from here on, not the fake's URL.)
	{user: "alice", method: "POST", path: "/connections", body: strings.Replace(s3Body("Archive"), "{s3}", "http://127.0.0.1:1", 1), status: 201, save: "s3_off"},
	{user: "alice", method: "POST", path: "/connections/{s3_off}/disable", status: 200},
	{user: "alice", method: "POST", path: "/connections", body: strings.Replace(s3Body("Nowhere"), "{s3}", "http://127.0.0.1:1", 1), status: 201, save: "s3_dead"},
	{user: "alice", method: "POST", path: "/connections", body: shopBody, status: 201, save: "shop"},
	{user: "alice", method: "POST", path: "/connections", body: warehouseBody, status: 201, save: "wh"},
	{user: "alice", method: "POST", path: "/connections", body: strings.Replace(warehouseBody, "Warehouse", "Old warehouse", 1), status: 201, save: "wh_off"},
	{user: "alice", method: "POST", path: "/connections/{wh_off}/disable", status: 200},

	// GET .../files
	{golden: "files_root", user: "alice", method: "GET", path: "/connections/{s3}/files", status: 200},
	// Pages of a folder holding files only: gofakes3 counts the objects
	// rolled into a common prefix against MaxKeys and resumes inside it, so
	// paging a folder with sub-folders repeats them (real S3 does not). It
	// also marks a full last page truncated, hence the empty third page.
	{golden: "files_page_1", user: "bob", method: "GET", path: "/connections/{s3}/files?path=/docs/2024&pageSize=1", status: 200, token: "page2"},
	{golden: "files_page_2", user: "bob", method: "GET", path: "/connections/{s3}/files?pageToken={page2}&path=docs/2024/&pageSize=1.0", status: 200, token: "page3"},
	{golden: "files_page_3", user: "bob", method: "GET", path: "/connections/{s3}/files?path=/docs/2024&pageSize=1&pageToken={page3}", status: 200},
	{golden: "files_folder", user: "alice", method: "GET", path: "/connections/{s3}/files?path=/docs", status: 200},
	{golden: "files_token_other_path", user: "alice", method: "GET", path: "/connections/{s3}/files?path=/docs&pageToken={page2}", status: 422},
	{golden: "files_bad_token", user: "alice", method: "GET", path: "/connections/{s3}/files?pageToken=nope", status: 422},
	{golden: "files_invalid", user: "alice", method: "GET", path: "/connections/not-a-uuid/files?pageSize=abc", status: 422},
	{golden: "files_page_size_too_large", user: "alice", method: "GET", path: "/connections/{s3}/files?pageSize=1001&pageToken=nope", status: 422},
	{golden: "files_page_size_zero", user: "alice", method: "GET", path: "/connections/{s3}/files?pageSize=0", status: 422},
	{golden: "files_unknown_path", user: "alice", method: "GET", path: "/connections/{s3}/files?path=/nothing/here", status: 404},
	{golden: "files_rate_limited", user: "alice", method: "GET", path: "/connections/{s3}/files?path=/throttled", status: 429},
	{golden: "files_unreachable", user: "alice", method: "GET", path: "/connections/{s3_dead}/files", status: 502},
	{golden: "files_not_found", user: "alice", method: "GET", path: "/connections/" + missingUUID + "/files", status: 404},
	{golden: "files_other_tenant", user: "olga", method: "GET", path: "/connections/{s3}/files", status: 404},
	{golden: "files_disabled", user: "alice", method: "GET", path: "/connections/{s3_off}/files", status: 409},
	{golden: "files_unsupported", user: "alice", method: "GET", path: "/connections/{shop}/files", status: 400},

	// POST .../files/validate
	{golden: "validate_ok", user: "alice", method: "POST", path: "/connections/{s3}/files/validate", body: `{"selectedItems": ["/docs", "a.json"]}`, status: 200},
	{golden: "validate_violations", user: "alice", method: "POST", path: "/connections/{s3}/files/validate", status: 200,
		body: `{"selectedItems": ["/nothing", "../../etc/passwd", "/docs/2024", "empty"]}`},
	{golden: "validate_missing", user: "alice", method: "POST", path: "/connections/{s3}/files/validate", body: `{}`, status: 422},
	{golden: "validate_wrong_types", user: "alice", method: "POST", path: "/connections/nope/files/validate", status: 422,
		body: `{"dryRun": true, "selectedItems": [1, "a.json", null]}`},
	{golden: "validate_not_list", user: "alice", method: "POST", path: "/connections/{s3}/files/validate", body: `{"selectedItems": "a.json"}`, status: 422},
	{golden: "validate_empty", user: "alice", method: "POST", path: "/connections/{s3}/files/validate", body: `{"selectedItems": []}`, status: 422},
	{golden: "validate_too_many", user: "alice", method: "POST", path: "/connections/{s3}/files/validate", body: tooManyItems, status: 422},
	{golden: "validate_no_body", user: "alice", method: "POST", path: "/connections/{s3}/files/validate", status: 422},
	{golden: "validate_not_found", user: "alice", method: "POST", path: "/connections/" + missingUUID + "/files/validate", body: `{"selectedItems": ["a"]}`, status: 404},
	{golden: "validate_disabled", user: "alice", method: "POST", path: "/connections/{s3_off}/files/validate", body: `{"selectedItems": ["a"]}`, status: 409},
	{golden: "validate_unsupported", user: "alice", method: "POST", path: "/connections/{shop}/files/validate", body: `{"selectedItems": ["a"]}`, status: 400},

	// GET .../schema/tables and .../schema/columns
	{golden: "tables_bad_bool", user: "alice", method: "GET", path: "/connections/{wh}/schema/tables?include_system=maybe", status: 422},
	{golden: "tables_invalid", user: "alice", method: "GET", path: "/connections/nope/schema/tables?includeSystem=2&include_system=true", status: 422},
	{golden: "tables_not_found", user: "alice", method: "GET", path: "/connections/" + missingUUID + "/schema/tables", status: 404},
	{golden: "tables_disabled", user: "alice", method: "GET", path: "/connections/{wh_off}/schema/tables?includeSystem=true", status: 409},
	{golden: "tables_unsupported", user: "alice", method: "GET", path: "/connections/{s3}/schema/tables", status: 400},
	{golden: "columns_missing_params", user: "alice", method: "GET", path: "/connections/nope/schema/columns", status: 422},
	{golden: "columns_missing_table", user: "alice", method: "GET", path: "/connections/{wh}/schema/columns?schema=public", status: 422},
	{golden: "columns_not_found", user: "olga", method: "GET", path: "/connections/{wh}/schema/columns?schema=public&table=orders", status: 404},
	{golden: "columns_disabled", user: "alice", method: "GET", path: "/connections/{wh_off}/schema/columns?schema=public&table=orders", status: 409},
	{golden: "columns_unsupported", user: "alice", method: "GET", path: "/connections/{shop}/schema/columns?schema=public&table=orders", status: 400},

	// POST .../schema/sample
	{golden: "sample_invalid", user: "alice", method: "POST", path: "/connections/{wh}/schema/sample", body: `{"limit": 5, "maxRows": 0, "schema": 1}`, status: 422},
	{golden: "sample_max_rows_float", user: "alice", method: "POST", path: "/connections/{wh}/schema/sample", body: `{"schema": "public", "table": "orders", "maxRows": 1.5}`, status: 422},
	{golden: "sample_no_body", user: "alice", method: "POST", path: "/connections/nope/schema/sample", status: 422},
	{golden: "sample_not_found", user: "alice", method: "POST", path: "/connections/" + missingUUID + "/schema/sample", body: `{"schema": "public", "table": "orders"}`, status: 404},
	{golden: "sample_disabled", user: "alice", method: "POST", path: "/connections/{wh_off}/schema/sample", body: `{"schema": "public", "table": "orders", "maxRows": "5"}`, status: 409},
	{golden: "sample_unsupported", user: "alice", method: "POST", path: "/connections/{s3}/schema/sample", body: `{"schema": "public", "table": "orders"}`, status: 400},

	// POST .../schema/query
	{golden: "query_invalid", user: "alice", method: "POST", path: "/connections/{wh}/schema/query", body: `{"params": [], "maxRows": "ten"}`, status: 422},
	{golden: "query_empty_sql", user: "alice", method: "POST", path: "/connections/{wh}/schema/query", body: `{"sql": "", "maxRows": -1}`, status: 422},
	{golden: "query_sql_not_string", user: "alice", method: "POST", path: "/connections/nope/schema/query", body: `{"sql": ["SELECT 1"], "maxRows": [5]}`, status: 422},
	{golden: "query_json_invalid", user: "alice", method: "POST", path: "/connections/{wh}/schema/query", body: `{"sql": "SELECT 1",}`, status: 422},
	{golden: "query_not_found", user: "alice", method: "POST", path: "/connections/" + missingUUID + "/schema/query", body: `{"sql": "SELECT 1"}`, status: 404},
	{golden: "query_disabled", user: "alice", method: "POST", path: "/connections/{wh_off}/schema/query", body: `{"sql": "SELECT 1"}`, status: 409},
	{golden: "query_unsupported", user: "alice", method: "POST", path: "/connections/{s3}/schema/query", body: `{"sql": "SELECT 1", "maxRows": true}`, status: 400},
}

// TestDataContract runs dataScenario on every database against the fake S3.
func TestDataContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		s3 := fakeS3(t)
		e.literals[s3.URL] = "<s3>"
		e.run(dataScenario, map[string]string{"s3": s3.URL})
	})
}

// TestSQLTooLong: sql over 10,000 characters is 422 string_too_long (the
// contract server's body limit is too small to send it).
func TestSQLTooLong(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/connections/"+missingUUID+"/schema/query",
		strings.NewReader(`{"sql": "SELECT `+strings.Repeat("é", 10000)+`"}`))
	rec := httptest.NewRecorder()
	testRouter().ServeHTTP(rec, req)
	want := `{"detail":[{"loc":["body","sql"],"msg":"String should have at most 10000 characters","type":"string_too_long"}]}` + "\n"
	if rec.Code != 422 || rec.Body.String() != want {
		t.Errorf("%d %s\nwant 422 %s", rec.Code, rec.Body, want)
	}
	// Exactly 10,000 characters (of more bytes) passes the parser and
	// reaches the resolver, which finds no caller.
	req = httptest.NewRequest(http.MethodPost, "/connections/"+missingUUID+"/schema/query",
		strings.NewReader(`{"sql": "`+strings.Repeat("é", 10000)+`"}`))
	rec = httptest.NewRecorder()
	testRouter().ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("10,000 characters: %d %s, want 401 (past the parser)", rec.Code, rec.Body)
	}
}
