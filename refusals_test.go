package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
)

// This file holds the API-level regression tests of issue 9's items 2, 8,
// 10, 13, 14, 15 and 22: what is refused, and when.

// restLocs returns the locations of a REST 422's problems.
func restLocs(t *testing.T, w *httptest.ResponseRecorder) [][]any {
	t.Helper()
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", w.Code, w.Body)
	}
	var body struct {
		Detail []struct {
			Loc []any `json:"loc"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("422 body: %v: %s", err, w.Body)
	}
	var out [][]any
	for _, d := range body.Detail {
		out = append(out, d.Loc)
	}
	return out
}

// gqlLocs returns the locations of a GraphQL validation_failed error.
func (e *env) gqlLocs(token, query string, vars map[string]any) [][]any {
	e.t.Helper()
	code, fields := e.errCode(token, query, vars)
	if code != "validation_failed" {
		e.t.Fatalf("code %q, want validation_failed", code)
	}
	var out [][]any
	for _, f := range fields {
		out = append(out, f.(map[string]any)["loc"].([]any))
	}
	return out
}

func hasLoc(locs [][]any, want ...any) bool {
	for _, l := range locs {
		if reflect.DeepEqual(l, want) {
			return true
		}
	}
	return false
}

// TestOpenRefusalsAre422 (item 2): a config the driver's Open refuses is
// a 422 at its field on create, update and test, on both surfaces, not an
// invalid_config at the first verify; http_api headers that would carry a
// credential first of all.
func TestOpenRefusalsAre422(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		httpAPI := func(cfg map[string]any) map[string]any {
			c := map[string]any{"base_url": "https://api.example.com"}
			for k, v := range cfg {
				c[k] = v
			}
			return map[string]any{"name": "API", "provider": "http_api", "config": c}
		}
		pg := func(port any) map[string]any {
			return map[string]any{"name": "PG", "provider": "postgres",
				"config":      map[string]any{"host": "db.example.com", "database": "d", "user": "u", "port": port},
				"credentials": map[string]any{"password": "pw"}}
		}
		type refusal struct {
			name string
			in   map[string]any
			loc  []any // below "config"
		}
		var cases []refusal
		for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization", "authorization", "Host"} {
			cases = append(cases, refusal{"extra header " + h,
				httpAPI(map[string]any{"extra_headers": map[string]any{h: "Bearer s3cret", "X-Fine": "ok"}}), []any{"config", "extra_headers", h}})
		}
		keyed := httpAPI(map[string]any{"auth_type": "api_key_header", "api_key_name": "X-Key", "extra_headers": map[string]any{"x-key": "v"}})
		keyed["credentials"] = map[string]any{"api_key": "k"}
		cases = append(cases,
			refusal{"api key header as extra header", keyed, []any{"config", "extra_headers", "x-key"}},
			refusal{"malformed base_url", httpAPI(map[string]any{"base_url": "ht!tp://nowhere"}), []any{"config", "base_url"}},
			refusal{"base_url with a password", httpAPI(map[string]any{"base_url": "https://u:p@api.example.com"}), []any{"config", "base_url"}},
			refusal{"port -1", pg(-1), []any{"config", "port"}},
			refusal{"port 0", pg(0), []any{"config", "port"}},
			refusal{"port 99999", pg(99999), []any{"config", "port"}},
		)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// create, both surfaces
				if locs := restLocs(t, e.do("POST", "/api/v1/connections", e.admin, tc.in)); !hasLoc(locs, append([]any{"body"}, tc.loc...)...) {
					t.Errorf("REST create: locations %v, want [body %v]", locs, tc.loc)
				}
				if locs := e.gqlLocs(e.admin, createQ, map[string]any{"in": tc.in}); !hasLoc(locs, tc.loc...) {
					t.Errorf("GraphQL create: locations %v, want %v", locs, tc.loc)
				}
				// test (dry run), both surfaces
				test := map[string]any{"provider": tc.in["provider"], "config": tc.in["config"], "credentials": tc.in["credentials"]}
				if tc.in["credentials"] == nil {
					delete(test, "credentials")
				}
				if locs := restLocs(t, e.do("POST", "/api/v1/connections/test", e.admin, test)); !hasLoc(locs, append([]any{"body"}, tc.loc...)...) {
					t.Errorf("REST test: locations %v, want [body %v]", locs, tc.loc)
				}
				if locs := e.gqlLocs(e.admin, testQ, map[string]any{"in": test}); !hasLoc(locs, tc.loc...) {
					t.Errorf("GraphQL test: locations %v, want %v", locs, tc.loc)
				}
			})
		}

		// update: a valid connection, then each refused config sent to it.
		api := e.create(e.admin, httpAPI(nil))
		pgConn := e.create(e.admin, pg(5432))
		for _, tc := range cases {
			id := api.ID
			if tc.in["provider"] == "postgres" {
				id = pgConn.ID
			}
			patch := map[string]any{"config": tc.in["config"]}
			if creds := tc.in["credentials"]; creds != nil {
				patch["credentials"] = creds // a moved target needs its secrets
			}
			if locs := restLocs(t, e.do("PATCH", "/api/v1/connections/"+id, e.admin, patch)); !hasLoc(locs, append([]any{"body"}, tc.loc...)...) {
				t.Errorf("%s: REST update: locations %v, want [body %v]", tc.name, locs, tc.loc)
			}
			if locs := e.gqlLocs(e.admin, updateQ, map[string]any{"id": id, "in": patch}); !hasLoc(locs, tc.loc...) {
				t.Errorf("%s: GraphQL update: locations %v, want %v", tc.name, locs, tc.loc)
			}
			// a dry run of the stored connection with the refused config
			test := map[string]any{"connectionId": id, "config": tc.in["config"]}
			if creds := tc.in["credentials"]; creds != nil {
				test["credentials"] = creds
			}
			if locs := restLocs(t, e.do("POST", "/api/v1/connections/test", e.admin, test)); !hasLoc(locs, append([]any{"body"}, tc.loc...)...) {
				t.Errorf("%s: REST test of a stored connection: locations %v, want [body %v]", tc.name, locs, tc.loc)
			}
		}
		// Nothing refused was stored: the stored configs are the valid ones.
		var got conn
		e.must(e.admin, getQ, map[string]any{"id": api.ID}, "connection", &got)
		if _, ok := got.Config["extra_headers"]; ok {
			t.Errorf("a refused extra_headers was stored: %v", got.Config)
		}
		// A secret field Open refuses is reported under credentials.
		in := map[string]any{"name": "SFTP", "provider": "sftp", "config": map[string]any{"host": "sftp.example.com",
			"username": "u", "auth_method": "private_key", "host_key_fingerprint": "SHA256:" + strings.Repeat("A", 43)},
			"credentials": map[string]any{"private_key_pem": "not a key"}}
		if locs := restLocs(t, e.do("POST", "/api/v1/connections", e.admin, in)); !hasLoc(locs, "body", "credentials", "private_key_pem") {
			t.Errorf("sftp private key: locations %v, want [body credentials private_key_pem]", locs)
		}
		// A name-only edit of a stored connection Open would now refuse is
		// not blocked by the check (only what a request sends is checked).
		if _, err := e.st.DB().NewUpdate().Table("connections").Set("config = ?", `{"base_url":"https://api.example.com","extra_headers":{"Cookie":"x"}}`).
			Where("id = ?", api.ID).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		if w := e.do("PATCH", "/api/v1/connections/"+api.ID, e.admin, map[string]any{"name": "Renamed"}); w.Code != http.StatusOK {
			t.Errorf("rename of a legacy connection: %d %s", w.Code, w.Body)
		}
	})
}

// TestNULIs422 (item 10): NUL bytes (and invalid UTF-8 from a path or
// query string) in names, slugs, searches and cursors are a 422 at the
// field on both surfaces and both databases, not a 500.
func TestNULIs422(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.create(e.admin, pgInput("Orders", nil))

		in := pgInput("a\x00b", nil)
		if locs := restLocs(t, e.do("POST", "/api/v1/connections", e.admin, in)); !hasLoc(locs, "body", "name") {
			t.Errorf("REST create: %v", locs)
		}
		if locs := e.gqlLocs(e.admin, createQ, map[string]any{"in": in}); !hasLoc(locs, "name") {
			t.Errorf("GraphQL create: %v", locs)
		}
		if locs := restLocs(t, e.do("PATCH", "/api/v1/connections/"+c.ID, e.admin, map[string]any{"name": "x\x00"})); !hasLoc(locs, "body", "name") {
			t.Errorf("REST update: %v", locs)
		}
		if locs := e.gqlLocs(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"name": "x\x00"}}); !hasLoc(locs, "name") {
			t.Errorf("GraphQL update: %v", locs)
		}
		if locs := e.gqlLocs(e.admin, createQ, map[string]any{"in": pgInput("ok", map[string]any{"slug": "a\x00"})}); !hasLoc(locs, "slug") {
			t.Errorf("GraphQL create slug: %v", locs)
		}
		for _, s := range []string{"%00", "a%00b", "%FF"} {
			if locs := restLocs(t, e.do("GET", "/api/v1/connections/slug/"+s, e.admin, nil)); !hasLoc(locs, "path", "slug") {
				t.Errorf("REST slug %s: %v", s, locs)
			}
			if locs := restLocs(t, e.do("GET", "/api/v1/connections?search="+s, e.admin, nil)); !hasLoc(locs, "query", "search") {
				t.Errorf("REST search %s: %v", s, locs)
			}
		}
		if locs := e.gqlLocs(e.admin, `query($s: String!) { connectionBySlug(slug: $s) { id } }`, map[string]any{"s": "a\x00"}); !hasLoc(locs, "slug") {
			t.Errorf("GraphQL slug: %v", locs)
		}
		if locs := e.gqlLocs(e.admin, `query($s: String) { connections(search: $s) { total } }`, map[string]any{"s": "\x00"}); !hasLoc(locs, "search") {
			t.Errorf("GraphQL search: %v", locs)
		}
		// A forged cursor carrying a NUL.
		for _, raw := range []string{`{"s":"name","d":false,"v":"a\u0000","i":"x"}`, "{\"s\":\"name\",\"d\":false,\"v\":\"a\x00\",\"i\":\"x\"}"} {
			cur := base64URL(raw)
			if locs := restLocs(t, e.do("GET", "/api/v1/connections?cursor="+cur, e.admin, nil)); !hasLoc(locs, "query", "cursor") {
				t.Errorf("REST cursor %q: %v", raw, locs)
			}
		}
		// And nothing of it was an internal error.
		if strings.Contains(e.log.String(), `"internal error"`) {
			t.Errorf("internal errors logged:\n%s", e.log)
		}
	})
}

// TestDefaultConnectionRules (item 14): the tenant's default is chosen by
// an admin, and only among global connections (409 saying why otherwise),
// on set-default over both surfaces and on create with isDefault; a
// default connection stays global.
func TestDefaultConnectionRules(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		member := e.token("acme", "bob", "member")
		setDefQ := `mutation($id: ID!) { setDefaultConnection(id: $id) { isDefault } }`

		global := e.create(e.admin, pgInput("Shared", map[string]any{"visibility": "global"}))
		private := e.create(e.admin, pgInput("Admin private", nil))
		mine := e.create(member, pgInput("Bob's", nil))
		bobGlobal := e.create(member, pgInput("Bob's global", map[string]any{"visibility": "global"}))

		// A member may not, not even for their own connection.
		for _, id := range []string{mine.ID, bobGlobal.ID} {
			if w := e.do("POST", "/api/v1/connections/"+id+"/set-default", member, nil); w.Code != http.StatusForbidden {
				t.Errorf("member REST set-default: %d %s", w.Code, w.Body)
			}
			if code, _ := e.errCode(member, setDefQ, map[string]any{"id": id}); code != "forbidden" {
				t.Errorf("member GraphQL set-default: %s", code)
			}
		}
		// An admin may not make a private connection the default.
		w := e.do("POST", "/api/v1/connections/"+private.ID+"/set-default", e.admin, nil)
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "global") {
			t.Errorf("private REST set-default: %d %s", w.Code, w.Body)
		}
		if code, _ := e.errCode(e.admin, setDefQ, map[string]any{"id": mine.ID}); code != "conflict" {
			t.Errorf("private GraphQL set-default: %s", code)
		}
		// Create with isDefault: admin and global only.
		if w := e.do("POST", "/api/v1/connections", e.admin, pgInput("P", map[string]any{"isDefault": true})); w.Code != http.StatusConflict {
			t.Errorf("create private default: %d %s", w.Code, w.Body)
		}
		if code, _ := e.errCode(member, createQ, map[string]any{"in": pgInput("G", map[string]any{"isDefault": true, "visibility": "global"})}); code != "forbidden" {
			t.Errorf("member create default: %s", code)
		}
		// What is allowed works.
		var d conn
		e.must(e.admin, setDefQ, map[string]any{"id": bobGlobal.ID}, "setDefaultConnection", &d)
		if !d.IsDefault {
			t.Fatal("admin could not make a global connection the default")
		}
		if w := e.do("POST", "/api/v1/connections/"+global.ID+"/set-default", e.admin, nil); w.Code != http.StatusOK {
			t.Errorf("admin REST set-default of a global connection: %d %s", w.Code, w.Body)
		}
		created := e.create(e.admin, pgInput("New default", map[string]any{"isDefault": true, "visibility": "global"}))
		if !created.IsDefault {
			t.Error("create with isDefault by an admin, global: not the default")
		}
		// The default cannot be made private under the members using it.
		if w := e.do("PATCH", "/api/v1/connections/"+created.ID, e.admin, map[string]any{"visibility": "private"}); w.Code != http.StatusConflict {
			t.Errorf("default made private: %d %s", w.Code, w.Body)
		}
		// The private connections never became the default.
		for _, id := range []string{private.ID, mine.ID} {
			var c conn
			e.must(e.admin, getQ, map[string]any{"id": id}, "connection", &c)
			if c.IsDefault {
				t.Errorf("%s became the default", c.Name)
			}
		}
	})
}

// TestReactivateClearsVerification (item 15): reactivating answers
// needs_verification without the error of a check made before the
// connection was disabled, on both surfaces; an edit of config or
// credentials likewise; a name-only edit keeps the status and its outcome.
func TestReactivateClearsVerification(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
		defer up.Close()
		in := map[string]any{"name": "API", "provider": "http_api", "config": map[string]any{"base_url": up.URL}}
		for _, surface := range []string{"rest", "graphql"} {
			c := e.create(e.admin, in)
			var v verified
			e.must(e.admin, verifyQ, map[string]any{"id": c.ID}, "verifyConnection", &v)
			if v.Status != "error" || v.VerificationError == nil {
				t.Fatalf("verify: %+v", v)
			}
			// A name-only edit keeps the status and the error.
			e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"name": "API " + surface}}, "updateConnection", nil)
			e.must(e.admin, getVerifiedQ, map[string]any{"id": c.ID}, "connection", &v)
			if v.Status != "error" || v.VerificationError == nil {
				t.Fatalf("after a rename: %+v", v)
			}
			e.must(e.admin, `mutation($id: ID!) { disableConnection(id: $id) { id } }`, map[string]any{"id": c.ID}, "disableConnection", nil)
			switch surface {
			case "rest":
				w := e.do("POST", "/api/v1/connections/"+c.ID+"/reactivate", e.admin, nil)
				if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusOK {
					t.Fatalf("REST reactivate: %d %s", w.Code, w.Body)
				}
			default:
				e.must(e.admin, `mutation($id: ID!) { reactivateConnection(id: $id) { id status lastVerifiedAt verificationError verificationErrorCode verificationDetails config } }`,
					map[string]any{"id": c.ID}, "reactivateConnection", &v)
			}
			if v.Status != "needs_verification" || v.VerificationError != nil || v.VerificationErrorCode != nil || len(v.VerificationDetails) != 0 {
				t.Errorf("%s reactivate: %+v", surface, v)
			}
			if v.LastVerifiedAt == nil {
				t.Errorf("%s reactivate dropped lastVerifiedAt", surface)
			}
			// A config edit also clears the outcome of the check.
			e.must(e.admin, verifyQ, map[string]any{"id": c.ID}, "verifyConnection", &v)
			e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"config": map[string]any{"base_url": up.URL, "verify_path": "/x"}}}, "updateConnection", nil)
			e.must(e.admin, getVerifiedQ, map[string]any{"id": c.ID}, "connection", &v)
			if v.Status != "needs_verification" || v.VerificationError != nil {
				t.Errorf("%s after a config edit: %+v", surface, v)
			}
		}
	})
}

const getVerifiedQ = `query($id: ID!) { connection(id: $id) { id status lastVerifiedAt verificationError verificationErrorCode verificationDetails config } }`

// blockingUpstream is an HTTP upstream whose answers wait until release is
// closed; arrived counts the requests that reached it.
type blockingUpstream struct {
	*httptest.Server
	arrived atomic.Int64
	release chan struct{}
	once    sync.Once
}

func newBlockingUpstream(t *testing.T, status int) *blockingUpstream {
	u := &blockingUpstream{release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.arrived.Add(1)
		select {
		case <-u.release:
		case <-r.Context().Done():
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(func() { u.Release(); u.Close() })
	return u
}

func (u *blockingUpstream) Release() { u.once.Do(func() { close(u.release) }) }

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestVerifyRaceWithEdit (item 13): a verify in flight while the
// credentials (or the settings) change does not record its outcome for the
// new ones: the status stays needs_verification. A rename during the check,
// which changes nothing checked, lets it be recorded.
func TestVerifyRaceWithEdit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		for _, tc := range []struct {
			name   string
			edit   map[string]any
			status string
		}{
			{"credentials changed", map[string]any{"credentials": map[string]any{"token": "the-new-wrong-token"}}, "needs_verification"},
			{"config changed", map[string]any{"config": map[string]any{"auth_type": "bearer", "verify_path": "/other"}}, "needs_verification"},
			{"renamed", map[string]any{"name": "Renamed while checked"}, "active"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				up := newBlockingUpstream(t, http.StatusOK)
				c := e.create(e.admin, map[string]any{"name": "API", "provider": "http_api",
					"config":      map[string]any{"base_url": up.URL, "auth_type": "bearer"},
					"credentials": map[string]any{"token": "the-old-good-token"}})
				done := make(chan gqlResp, 1)
				go func() { done <- e.gql(e.admin, verifyQ, map[string]any{"id": c.ID}) }()
				waitFor(t, "the check to reach the upstream", func() bool { return up.arrived.Load() == 1 })
				edit := tc.edit
				if cfg, ok := edit["config"].(map[string]any); ok {
					cfg["base_url"] = up.URL
				}
				if w := e.do("PATCH", "/api/v1/connections/"+c.ID, e.admin, edit); w.Code != http.StatusOK {
					t.Fatalf("edit during the check: %d %s", w.Code, w.Body)
				}
				up.Release()
				r := <-done
				if len(r.Errors) > 0 {
					t.Fatalf("verify: %+v", r.Errors)
				}
				var v verified
				e.must(e.admin, getVerifiedQ, map[string]any{"id": c.ID}, "connection", &v)
				if v.Status != tc.status {
					t.Errorf("stored status %q, want %q", v.Status, tc.status)
				}
				var answered verified
				json.Unmarshal(r.Data["verifyConnection"], &answered)
				if answered.Status != tc.status {
					t.Errorf("answered status %q, want %q (the connection as stored)", answered.Status, tc.status)
				}
			})
		}
	})
}

// TestProviderCallBudget (item 8): 500 aliased testConnection are refused
// by the complexity limit before any outbound call; 30 that the limit lets
// through make at most JUNCTION_REQUEST_PROVIDER_CALLS (20) calls, the rest
// failing with too_many_provider_calls; 2,000 aliases of providers are
// refused quickly; a response over the size cap is an error, not a cut
// document.
func TestProviderCallBudget(t *testing.T) {
	e := newEnv(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()})
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer up.Close()

	aliased := func(n int) string {
		var b strings.Builder
		b.WriteString(`mutation($in: TestConnectionInput!) {`)
		for i := range n {
			fmt.Fprintf(&b, " t%d: testConnection(input: $in) { ok errorCode }", i)
		}
		b.WriteString(" }")
		return b.String()
	}
	in := map[string]any{"provider": "http_api", "config": map[string]any{"base_url": up.URL}}
	start := time.Now()
	w := e.do("POST", "/graphql", e.admin, map[string]any{"query": aliased(500), "variables": map[string]any{"in": in}})
	took := time.Since(start)
	if calls.Load() != 0 || !strings.Contains(w.Body.String(), "complexity") {
		t.Errorf("500 aliased testConnection: %d outbound calls, %d %.300s", calls.Load(), w.Code, w.Body)
	}
	t.Logf("500 aliased testConnection: %d outbound calls, %d bytes in %s", calls.Load(), w.Body.Len(), took)

	r := e.gql(e.admin, aliased(30), map[string]any{"in": in})
	if n := calls.Load(); n != 20 {
		t.Errorf("30 aliased testConnection made %d outbound calls, want 20", n)
	}
	refused := 0
	for _, er := range r.Errors {
		if er.Extensions["code"] == "too_many_provider_calls" {
			refused++
		}
	}
	if refused != 10 {
		t.Errorf("%d fields refused with too_many_provider_calls, want 10: %+v", refused, r.Errors)
	}
	// Each request has its own budget.
	e.must(e.admin, aliased(1), map[string]any{"in": in}, "t0", nil)
	if n := calls.Load(); n != 21 {
		t.Errorf("the next request made %d calls in all, want 21", n)
	}

	// 2,000 aliases of providers, as the probe sent them (43 KB with a
	// fragment): refused by complexity, quickly and small.
	var q strings.Builder
	q.WriteString("query {")
	for i := range 2000 {
		fmt.Fprintf(&q, " p%d: providers { ...P }", i)
	}
	q.WriteString(" } fragment P on ProviderSpec { name label category authKinds capabilities docsNote fields { name label type secret required default enum target help requiredWhen { field values } } }")
	start = time.Now()
	w = e.do("POST", "/graphql", e.admin, map[string]any{"query": q.String()})
	took = time.Since(start)
	t.Logf("2,000 aliased providers (%d KB query): %d bytes in %s", q.Len()>>10, w.Body.Len(), took)
	if w.Body.Len() > 4096 || took > 5*time.Second || !strings.Contains(w.Body.String(), "complexity") {
		t.Errorf("2,000 aliased providers: %d bytes in %s: %.300s", w.Body.Len(), took, w.Body)
	}
	// One full providers query is still well within the limit.
	var specs []map[string]any
	e.must(e.admin, `query { providers { ...P } } fragment P on ProviderSpec { name label category authKinds capabilities docsNote fields { name label type secret required default enum target help requiredWhen { field values } } }`,
		nil, "providers", &specs)
	if len(specs) < 20 {
		t.Errorf("providers: %d specs", len(specs))
	}

	// The response cap.
	small := newEnv(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()}, func(c *Config) { c.GraphQLMaxResponseBytes = 2000 })
	w = small.do("POST", "/graphql", small.admin, map[string]any{"query": `{ providers { name label fields { name } } }`})
	var capped gqlResp
	if err := json.Unmarshal(w.Body.Bytes(), &capped); err != nil {
		t.Fatalf("capped response is not JSON: %v: %.200s", err, w.Body)
	}
	if len(capped.Errors) != 1 || capped.Errors[0].Extensions["code"] != "response_too_large" || w.Body.Len() > 1000 {
		t.Errorf("response over the cap: %d %.300s", w.Code, w.Body)
	}
	small.must(small.admin, `{ me { id } }`, nil, "me", nil)
}

// TestProviderConcurrencyPerTenant (item 22): with a tenant bound of 2,
// a tenant's third concurrent call waits while another tenant's call
// proceeds, and runs once a slot frees.
func TestProviderConcurrencyPerTenant(t *testing.T) {
	e := newEnv(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()}, func(c *Config) {
		c.Limits.TenantProviderConcurrency = 2
		c.ProviderTimeout = 10 * time.Second
	})
	other := e.token("other", "olga", "admin")
	up := newBlockingUpstream(t, http.StatusOK)
	test := func(token string) <-chan *httptest.ResponseRecorder {
		out := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			out <- e.do("POST", "/api/v1/connections/test", token, map[string]any{"provider": "http_api", "config": map[string]any{"base_url": up.URL}})
		}()
		return out
	}
	a1, a2 := test(e.admin), test(e.admin)
	waitFor(t, "acme's two calls to reach the upstream", func() bool { return up.arrived.Load() == 2 })
	a3 := test(e.admin)
	time.Sleep(200 * time.Millisecond)
	if n := up.arrived.Load(); n != 2 {
		t.Fatalf("acme's third call reached the upstream (%d calls) past the tenant bound of 2", n)
	}
	b1 := test(other)
	waitFor(t, "the other tenant's call to proceed", func() bool { return up.arrived.Load() == 3 })
	up.Release()
	for i, ch := range []<-chan *httptest.ResponseRecorder{a1, a2, a3, b1} {
		if w := <-ch; w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ok":true`) {
			t.Errorf("call %d: %d %s", i, w.Code, w.Body)
		}
	}
	if n := up.arrived.Load(); n != 4 {
		t.Errorf("%d calls reached the upstream, want 4", n)
	}

	// Waiting out the deadline (rate_limited) is TestAdmit's, in resolvers.
}

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
