package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
)

const connFields = `id name slug provider config hasCredentials status visibility isDefault isFromTemplate
	lastUsedAt lastVerifiedAt verificationError verificationErrorCode verificationDetails createdAt updatedAt
	createdBy updatedBy createdByUser { id name email } updatedByUser { id name email }
	editSettings { config secretFields { name configured } }`

type conn struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Slug           string         `json:"slug"`
	Provider       string         `json:"provider"`
	Config         map[string]any `json:"config"`
	HasCredentials bool           `json:"hasCredentials"`
	Status         string         `json:"status"`
	Visibility     string         `json:"visibility"`
	IsDefault      bool           `json:"isDefault"`
	CreatedBy      string         `json:"createdBy"`
	UpdatedBy      string         `json:"updatedBy"`
	CreatedByUser  *struct {
		Name string `json:"name"`
	} `json:"createdByUser"`
	EditSettings struct {
		Config       map[string]any `json:"config"`
		SecretFields []struct {
			Name       string `json:"name"`
			Configured bool   `json:"configured"`
		} `json:"secretFields"`
	} `json:"editSettings"`
}

func (c conn) configured() []string {
	var out []string
	for _, f := range c.EditSettings.SecretFields {
		if f.Configured {
			out = append(out, f.Name)
		}
	}
	return out
}

var (
	createQ = `mutation($in: CreateConnectionInput!) { createConnection(input: $in) { ` + connFields + ` } }`
	updateQ = `mutation($id: ID!, $in: UpdateConnectionInput!) { updateConnection(id: $id, input: $in) { ` + connFields + ` } }`
	getQ    = `query($id: ID!) { connection(id: $id) { ` + connFields + ` } }`
)

func pgInput(name string, extra map[string]any) map[string]any {
	in := map[string]any{"name": name, "provider": "postgres",
		"config":      map[string]any{"host": "db.internal", "database": "orders", "user": "app"},
		"credentials": map[string]any{"password": canary}}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func (e *env) create(token string, in map[string]any) conn {
	e.t.Helper()
	var c conn
	e.must(token, createQ, map[string]any{"in": in}, "createConnection", &c)
	return c
}

func TestLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.create(e.admin, pgInput("Orders DB", nil))
		if c.Slug != "orders-db" || c.Status != "needs_verification" || !c.HasCredentials || c.Visibility != "private" ||
			c.CreatedByUser == nil || c.CreatedByUser.Name != "alice" {
			t.Fatalf("created: %+v", c)
		}
		if c.Config["port"] != float64(5432) || c.Config["sslmode"] != "prefer" {
			t.Fatalf("defaults not applied: %v", c.Config)
		}
		if got := c.configured(); !slices.Equal(got, []string{"password"}) {
			t.Fatalf("configured secrets = %v", got)
		}
		second := e.create(e.admin, pgInput("Orders DB", nil))
		if second.Slug != "orders-db-2" {
			t.Fatalf("second slug = %q", second.Slug)
		}

		var bySlug conn
		e.must(e.admin, `query { connectionBySlug(slug: "orders-db-2") { id } }`, nil, "connectionBySlug", &bySlug)
		if bySlug.ID != second.ID {
			t.Fatalf("by slug: %+v", bySlug)
		}

		// Credentials per key: a string sets, null removes, an absent key keeps.
		e.st.DB().NewUpdate().Table("connections").Set("status = 'active'").Where("id = ?", c.ID).Exec(context.Background())
		var u conn
		e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"name": "Orders (primary)",
			"credentials": map[string]any{"password": nil}}}, "updateConnection", &u)
		if u.Name != "Orders (primary)" || u.HasCredentials || u.Status != "needs_verification" || u.Slug != "orders-db" {
			t.Fatalf("after removing password: %+v", u)
		}
		e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"credentials": map[string]any{"password": "again"}}}, "updateConnection", &u)
		if !u.HasCredentials {
			t.Fatal("password not set")
		}
		e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"config": map[string]any{"host": "db.internal", "database": "sales", "user": "app"},
			"credentials": map[string]any{}}}, "updateConnection", &u)
		if u.Config["database"] != "sales" || !u.HasCredentials {
			t.Fatalf("config replace kept secrets? %+v", u)
		}

		var d conn
		e.must(e.admin, `mutation($id: ID!) { disableConnection(id: $id) { status } }`, map[string]any{"id": c.ID}, "disableConnection", &d)
		if d.Status != "disabled" {
			t.Fatalf("disable: %+v", d)
		}
		e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"config": map[string]any{"host": "db.internal", "database": "x", "user": "app"}}}, "updateConnection", &u)
		if u.Status != "disabled" {
			t.Fatalf("an edit re-enabled a disabled connection: %s", u.Status)
		}
		e.must(e.admin, `mutation($id: ID!) { reactivateConnection(id: $id) { status } }`, map[string]any{"id": c.ID}, "reactivateConnection", &d)
		if d.Status != "needs_verification" {
			t.Fatalf("reactivate: %+v", d)
		}

		// Only a global connection can be the tenant's default.
		for _, id := range []string{c.ID, second.ID} {
			e.must(e.admin, updateQ, map[string]any{"id": id, "in": map[string]any{"visibility": "global"}}, "updateConnection", &u)
		}
		e.must(e.admin, `mutation($id: ID!) { setDefaultConnection(id: $id) { isDefault } }`, map[string]any{"id": c.ID}, "setDefaultConnection", &d)
		e.must(e.admin, `mutation($id: ID!) { setDefaultConnection(id: $id) { isDefault } }`, map[string]any{"id": second.ID}, "setDefaultConnection", &d)
		var first conn
		e.must(e.admin, getQ, map[string]any{"id": c.ID}, "connection", &first)
		if !d.IsDefault || first.IsDefault {
			t.Fatalf("default did not move: second %v first %v", d.IsDefault, first.IsDefault)
		}

		var ok bool
		e.must(e.admin, `mutation($id: ID!) { deleteConnection(id: $id) }`, map[string]any{"id": c.ID}, "deleteConnection", &ok)
		r := e.gql(e.admin, getQ, map[string]any{"id": c.ID})
		if !ok || string(r.Data["connection"]) != "null" {
			t.Fatalf("after delete: %s", r.Data["connection"])
		}
		if code, _ := e.errCode(e.admin, `mutation($id: ID!) { deleteConnection(id: $id) }`, map[string]any{"id": c.ID}); code != "not_found" {
			t.Fatalf("second delete: %s", code)
		}
	})
}

func TestValidationErrors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		type loc = string
		for _, tc := range []struct {
			name string
			in   map[string]any
			want []string // "loc.path:type"
		}{
			{"empty name and bad slug", map[string]any{"name": "", "provider": "postgres", "slug": "Bad Slug",
				"config": map[string]any{"host": "h", "database": "d", "user": "u"}},
				[]string{"name:string_too_short", "slug:string_pattern_mismatch"}},
			{"long name", map[string]any{"name": strings.Repeat("n", 256), "provider": "redo",
				"config": map[string]any{"store_id": "s"}, "credentials": map[string]any{"api_secret": "x"}},
				[]string{"name:string_too_long"}},
			{"spec problems all at once", map[string]any{"name": "x", "provider": "postgres",
				"config":      map[string]any{"host": 5, "port": "abc", "sslmode": "sometimes", "bogus": 1},
				"credentials": map[string]any{"password": 12, "token": "t"}},
				[]string{"credentials.password:string_type", "config.bogus:extra_forbidden", "config.host:string_type",
					"config.port:int_parsing", "config.sslmode:enum", "credentials.token:extra_forbidden",
					"config.database:missing", "config.user:missing"}},
			{"conditional requirement", map[string]any{"name": "x", "provider": "http_api",
				"config": map[string]any{"base_url": "https://api.example", "auth_type": "basic"}},
				[]string{"credentials.username:missing", "credentials.password:missing"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, fields := e.errCode(e.admin, createQ, map[string]any{"in": tc.in})
				if code != "validation_failed" {
					t.Fatalf("code = %s", code)
				}
				var got []string
				for _, f := range fields {
					m := f.(map[string]any)
					var parts []string
					for _, l := range m["loc"].([]any) {
						parts = append(parts, fmt.Sprint(l))
					}
					got = append(got, strings.Join(parts, ".")+":"+m["type"].(string))
					if m["msg"] == "" {
						t.Errorf("empty msg for %v", m)
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("fields:\n got %v\nwant %v", got, tc.want)
				}
			})
		}
		_, fields := e.errCode(e.admin, createQ, map[string]any{"in": map[string]any{"name": "x", "provider": "postgres",
			"config": map[string]any{"host": "h", "database": "d", "user": "u", "sslmode": "sometimes"}}})
		if msg := fields[0].(map[string]any)["msg"].(string); !strings.Contains(msg, "'verify-full'") {
			t.Fatalf("enum message does not list the allowed values: %q", msg)
		}
		var list struct{ Total int }
		e.must(e.admin, `{ connections { total } }`, nil, "connections", &list)
		if list.Total != 0 {
			t.Fatal("an invalid create stored something")
		}
		if code, fields := e.errCode(e.admin, `{ connections(limit: 0, offset: -1) { total } }`, nil); code != "validation_failed" || len(fields) != 2 {
			t.Fatalf("list bounds: %s %v", code, fields)
		}
		if code, _ := e.errCode(e.admin, `{ connections(cursor: "nope") { total } }`, nil); code != "validation_failed" {
			t.Fatalf("bad cursor: %s", code)
		}
		if code, _ := e.errCode(e.admin, `{ connection(id: "not-a-uuid") { id } }`, nil); code != "validation_failed" {
			t.Fatalf("bad id: %s", code)
		}
	})
}

func TestTargetFieldNeedsSecrets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.create(e.admin, pgInput("Orders", nil))
		moved := map[string]any{"host": "attacker.example", "database": "orders", "user": "app"}
		code, fields := e.errCode(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"config": moved}})
		if code != "validation_failed" || len(fields) != 1 || fmt.Sprint(fields[0].(map[string]any)["loc"]) != "[credentials password]" {
			t.Fatalf("moving host without secrets: %s %v", code, fields)
		}
		var u conn
		e.must(e.admin, getQ, map[string]any{"id": c.ID}, "connection", &u)
		if u.Config["host"] != "db.internal" {
			t.Fatal("refused update changed the stored host")
		}
		e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"config": moved, "credentials": map[string]any{"password": "new"}}}, "updateConnection", &u)
		if u.Config["host"] != "attacker.example" {
			t.Fatal("update with secrets refused")
		}
		// Non-target fields move freely.
		e.must(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"config": map[string]any{"host": "attacker.example", "database": "other", "user": "app"}}}, "updateConnection", &u)
	})
}

func TestTenancyAndVisibility(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		priv := e.create(e.admin, pgInput("Private", nil))
		glob := e.create(e.admin, pgInput("Global", map[string]any{"visibility": "global"}))
		member := e.token("acme", "mo", "member")
		outsider := e.token("globex", "oscar", "admin")

		t.Run("another tenant sees nothing", func(t *testing.T) {
			for _, id := range []string{priv.ID, glob.ID} {
				if r := e.gql(outsider, getQ, map[string]any{"id": id}); string(r.Data["connection"]) != "null" || len(r.Errors) > 0 {
					t.Fatalf("outsider read %s: %s %v", id, r.Data["connection"], r.Errors)
				}
				for _, op := range []string{`mutation($id: ID!) { deleteConnection(id: $id) }`, `mutation($id: ID!) { disableConnection(id: $id) { id } }`,
					`mutation($id: ID!) { setDefaultConnection(id: $id) { id } }`} {
					if code, _ := e.errCode(outsider, op, map[string]any{"id": id}); code != "not_found" {
						t.Fatalf("outsider %s: %s", op, code)
					}
				}
			}
			var list struct{ Total int }
			e.must(outsider, `{ connections { total } }`, nil, "connections", &list)
			if list.Total != 0 {
				t.Fatalf("outsider lists %d", list.Total)
			}
			if r := e.gql(outsider, `{ connectionBySlug(slug: "global") { id } }`, nil); string(r.Data["connectionBySlug"]) != "null" {
				t.Fatal("outsider found a slug")
			}
		})
		t.Run("member sees global, not others' private", func(t *testing.T) {
			if r := e.gql(member, getQ, map[string]any{"id": priv.ID}); string(r.Data["connection"]) != "null" {
				t.Fatal("member read a private connection")
			}
			var g conn
			e.must(member, getQ, map[string]any{"id": glob.ID}, "connection", &g)
			if g.ID != glob.ID {
				t.Fatal("member cannot read a global connection")
			}
			if code, _ := e.errCode(member, updateQ, map[string]any{"id": glob.ID, "in": map[string]any{"name": "mine"}}); code != "forbidden" {
				t.Fatalf("member edited another's connection: %s", code)
			}
			if code, _ := e.errCode(member, updateQ, map[string]any{"id": priv.ID, "in": map[string]any{"name": "mine"}}); code != "not_found" {
				t.Fatalf("member edit of invisible: %s", code)
			}
			own := e.create(member, pgInput("Mine", nil))
			var u conn
			e.must(member, updateQ, map[string]any{"id": own.ID, "in": map[string]any{"name": "Mine 2"}}, "updateConnection", &u)
			e.must(e.admin, getQ, map[string]any{"id": own.ID}, "connection", &u)
			if u.Name != "Mine 2" {
				t.Fatal("admin cannot see a member's private connection")
			}
			var list struct{ Total int }
			e.must(member, `{ connections { total } }`, nil, "connections", &list)
			if list.Total != 2 {
				t.Fatalf("member lists %d, want 2 (global + own)", list.Total)
			}
		})
	})
}

func TestUsersLoadedOncePerRequest(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		var toks []string
		for i := range 5 {
			toks = append(toks, e.token("acme", fmt.Sprintf("user%d", i), "admin"))
		}
		for i := range 30 {
			c := e.create(toks[i%5], pgInput(fmt.Sprintf("c%02d", i), map[string]any{"visibility": "global"}))
			e.must(toks[(i+1)%5], updateQ, map[string]any{"id": c.ID, "in": map[string]any{"name": fmt.Sprintf("c%02d!", i)}}, "updateConnection", nil)
		}
		before := e.queries.users.Load()
		var list struct {
			Users       []struct{ Name string }
			Connections []conn
		}
		e.must(e.admin, `{ connections(limit: 100) { users { id name } connections { createdByUser { name } updatedByUser { name } } } }`, nil, "connections", &list)
		if n := e.queries.users.Load() - before; n != 1 {
			t.Fatalf("%d users queries for one request, want 1", n)
		}
		if len(list.Users) != 5 || len(list.Connections) != 30 || list.Connections[0].CreatedByUser == nil {
			t.Fatalf("users %d connections %d", len(list.Users), len(list.Connections))
		}
		before = e.queries.users.Load()
		e.must(e.admin, `{ connections(limit: 100) { connections { id name } } }`, nil, "connections", nil)
		if n := e.queries.users.Load() - before; n != 0 {
			t.Fatalf("%d users queries for a page that asks for no user, want 0", n)
		}
		before = e.queries.users.Load()
		if w := e.do("GET", "/api/v1/connections?limit=100", e.admin, nil); w.Code != 200 || e.queries.users.Load()-before != 1 {
			t.Fatalf("REST list: %d, %d users queries, want 1", w.Code, e.queries.users.Load()-before)
		}
	})
}

func TestSecretsNeverLeave(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.create(e.admin, pgInput("Leak check", nil))
		e.gql(e.admin, getQ, map[string]any{"id": c.ID})
		e.gql(e.admin, `{ connections { connections { config editSettings { config secretFields { name configured } } } } }`, nil)
		e.gql(e.admin, updateQ, map[string]any{"id": c.ID, "in": map[string]any{"credentials": map[string]any{"password": canary + "-2"}}})
		// A validation error must not echo the submitted secret either.
		e.gql(e.admin, createQ, map[string]any{"in": map[string]any{"name": "", "provider": "postgres", "credentials": map[string]any{"password": canary}}})
		e.do("GET", "/api/v1/connections/"+c.ID, e.admin, nil)
		if strings.Contains(e.bodies.String(), canary) {
			t.Fatal("a response contains the secret")
		}
		if strings.Contains(e.log.String(), canary) {
			t.Fatal("the log contains the secret")
		}
		if !strings.Contains(e.log.String(), `"request_id"`) {
			t.Fatal("log lines carry no request id")
		}
	})
}

func TestAuthAndSession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		for _, tok := range []string{"", "jct_wrong"} {
			w := e.do("POST", "/graphql", tok, map[string]any{"query": "{ me { id } }"})
			if w.Code != http.StatusUnauthorized || strings.TrimSpace(w.Body.String()) != `{"detail":"Not authenticated"}` {
				t.Fatalf("token %q: %d %s", tok, w.Code, w.Body)
			}
		}
		w := e.do("POST", "/login", "", map[string]any{"token": "jct_wrong"})
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("login with a bad token: %d", w.Code)
		}
		w = e.do("POST", "/login", "", map[string]any{"token": e.admin})
		cookie := w.Result().Cookies()
		if w.Code != http.StatusOK || len(cookie) != 1 || !cookie[0].HttpOnly || cookie[0].SameSite != http.SameSiteLaxMode || cookie[0].Name != "junction_session" {
			t.Fatalf("login: %d %+v", w.Code, cookie)
		}
		w = e.do("POST", "/graphql", "", map[string]any{"query": "{ me { name role tenant { name } } }"}, "Cookie", cookie[0].Name+"="+cookie[0].Value)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"name":"alice","role":"admin","tenant":{"name":"acme"}`) {
			t.Fatalf("cookie session: %d %s", w.Code, w.Body)
		}
		w = e.do("POST", "/logout", "", nil)
		if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
			t.Fatalf("logout did not clear the cookie: %+v", c)
		}
		var count int
		if err := e.st.DB().NewRaw("SELECT count(*) FROM api_tokens WHERE token_sha256 = ?", e.admin).Scan(context.Background(), &count); err != nil || count != 0 {
			t.Fatalf("a raw token is stored: %d %v", count, err)
		}
	})
}

func TestGraphQLTransport(t *testing.T) {
	testdb.Each(t, testGraphQLTransport)
}

func testGraphQLTransport(t *testing.T, db testdb.DB) {
	e := newEnv(t, db, func(c *Config) { c.ComplexityLimit = 50; c.ParserTokenLimit = 200 })
	w := e.do("GET", "/graphql?query="+urlEscape("{ me { name } }"), e.admin, nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"alice"`) {
		t.Fatalf("GET query: %d %s", w.Code, w.Body)
	}
	w = e.do("GET", "/graphql?query="+urlEscape(`mutation { deleteConnection(id: "x") }`), e.admin, nil)
	if w.Code == 200 && !strings.Contains(w.Body.String(), "GET requests only allow query operations") {
		t.Fatalf("GET mutation: %d %s", w.Code, w.Body)
	}
	// Automatic persisted queries: hash first, then hash + query, then hash alone.
	hash := "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38" // sha256("{__typename}")
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
	w = e.do("POST", "/graphql", e.admin, map[string]any{"extensions": ext})
	if !strings.Contains(w.Body.String(), "PersistedQueryNotFound") {
		t.Fatalf("APQ miss: %s", w.Body)
	}
	e.do("POST", "/graphql", e.admin, map[string]any{"query": "{__typename}", "extensions": ext})
	w = e.do("POST", "/graphql", e.admin, map[string]any{"extensions": ext})
	if !strings.Contains(w.Body.String(), `"__typename":"Query"`) {
		t.Fatalf("APQ hit: %s", w.Body)
	}
	w = e.do("POST", "/graphql", e.admin, map[string]any{"query": "{ connections(limit: 1000) { connections { " + connFields + " } users { id } } }"})
	if !strings.Contains(w.Body.String(), "complexity") {
		t.Fatalf("complexity limit not applied: %s", w.Body)
	}
	w = e.do("POST", "/graphql", e.admin, map[string]any{"query": "{ " + strings.Repeat("me { id } ", 100) + "}"})
	if !strings.Contains(strings.ToLower(w.Body.String()), "token limit") {
		t.Fatalf("token limit not applied: %s", w.Body)
	}
	w = e.do("POST", "/graphql", e.admin, `{"query": "{ me { id } }", "pad": "`+strings.Repeat("x", 2<<20)+`"}`)
	if w.Code < 400 {
		t.Fatalf("a 2 MiB body was accepted: %d", w.Code)
	}
}

func TestHealthAndInternalErrorsMasked(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		if w := e.do("GET", "/healthz", "", nil); w.Code != 200 {
			t.Fatalf("healthz %d", w.Code)
		}
		if w := e.do("GET", "/readyz", "", nil); w.Code != 200 {
			t.Fatalf("readyz %d", w.Code)
		}
		if w := e.do("GET", "/api/v1/openapi.json", "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"openapi": "3.1`) {
			t.Fatalf("public OpenAPI document: %d %.100s", w.Code, w.Body)
		}
		if w := e.do("GET", "/api/v1/connections", "", nil); w.Code != http.StatusUnauthorized {
			t.Fatalf("the rest of /api/v1 must need a token: %d", w.Code)
		}
		if w := e.do("GET", "/", "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "graphql") {
			t.Fatalf("GraphiQL page: %d", w.Code)
		}
		// Break the database underneath: lookups fail, the client sees no internals.
		tok := e.admin
		e.st.DB().ExecContext(context.Background(), "DROP TABLE connections")
		w := e.do("POST", "/graphql", tok, map[string]any{"query": "{ connections { total } }"})
		var r gqlResp
		json.Unmarshal(w.Body.Bytes(), &r)
		if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "internal" || r.Errors[0].Message != "Internal server error" {
			t.Fatalf("internal error not masked: %s", w.Body)
		}
		if !strings.Contains(e.log.String(), `"msg":"internal error"`) {
			t.Fatal("internal error not logged")
		}
		e.st.Close()
		if w := e.do("GET", "/readyz", "", nil); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("readyz with the database closed: %d", w.Code)
		}
	})
}
