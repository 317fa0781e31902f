package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// graph/flat writes the connections it answers byte for byte as gqlgen's
// executor does: the same operations sent to a server with it and to one
// without it get identical bodies, over rows whose strings and maps need
// escaping, users that exist, are missing or are not set, and selections
// with aliases, fragments, @skip/@include, __typename and duplicates; and
// flat answers exactly the fields it claims (so the comparison is not
// gqlgen against itself).
func TestFlatAnswersAsGqlgen(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		var mu sync.Mutex
		var answered []string
		e := newEnv(t, db, func(c *Config) {
			c.flatAnswered = func(f string) {
				mu.Lock()
				answered = append(answered, f)
				mu.Unlock()
			}
		})
		slowCfg := testConfig()
		slowCfg.flatOff = true
		slow, closeSlow := newHandler(slowCfg, e.st, newLogger(slowCfg, io.Discard))
		t.Cleanup(closeSlow)

		ctx := context.Background()
		bobTok := e.token("acme", "bob", "member")
		alice, err := e.st.EnsureUserToken(ctx, "acme", "alice", "alice@example.com", "admin", "tok-flat-alice")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := e.st.EnsureUserToken(ctx, "acme", "bob", "bob@example.com", "member", "tok-flat-bob")
		if err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		awkward := "Ünïcode \"quoted\" <b>&amp;</b> \u2028\u2029 tab\t nl\n \x01\x1f del\x7f 😀 \\ /"
		rows := []struct {
			name, createdBy, updatedBy, visibility string
			config                                 store.JSONMap
			verify                                 bool
			used                                   bool
		}{
			{"Plain", alice.ID, alice.ID, "private", store.JSONMap{"host": "db.internal", "port": 5432}, false, false},
			{awkward, alice.ID, bob.ID, "global", store.JSONMap{
				"html": "<script>&</script>", "uni": awkward, "n": 1e21, "f": 0.1, "big": 12345678901234567,
				"neg": -0.0, "nested": map[string]any{"z": []any{1, "two", nil, true, map[string]any{"k": "v"}}, "a": nil},
				"empty": map[string]any{}, "list": []any{}}, true, true},
			{"Ghost's", "01GHOST000000000000000000", "", "global", store.JSONMap{}, true, false},
			{"Bob's", bob.ID, bob.ID, "private", store.JSONMap{"x": "y"}, false, true},
		}
		var ids []string
		for i, r := range rows {
			c := &store.Connection{ID: store.NewID(), TenantID: alice.TenantID, Name: r.name, Slug: "flat-" + string(rune('a'+i)),
				Provider: "postgres", Config: r.config, Status: "needs_verification", Visibility: r.visibility,
				VerificationDetails: store.JSONMap{}, CreatedAt: now.Add(time.Duration(i) * time.Millisecond), UpdatedAt: now,
				CreatedBy: r.createdBy, UpdatedBy: r.updatedBy}
			if err := e.st.InsertConnection(ctx, c, map[string]string{"password": "pw"}, false); err != nil {
				t.Fatal(err)
			}
			if r.verify {
				msg, code := "dial tcp: "+awkward, "network_error"
				if err := e.st.RecordVerification(ctx, alice.TenantID, c.ID, store.Verification{At: now, Status: "error",
					Error: &msg, ErrorCode: &code, Details: store.JSONMap{"step": awkward, "attempts": 3, "ok": false}}); err != nil {
					t.Fatal(err)
				}
			}
			if r.used {
				if err := e.st.TouchLastUsed(ctx, alice.TenantID, c.ID, now.Add(-time.Hour), 0); err != nil {
					t.Fatal(err)
				}
			}
			ids = append(ids, c.ID)
		}

		const list = "ConnectionList.connections"
		const all = `id name slug provider config hasCredentials status visibility isDefault isFromTemplate lastUsedAt
			lastVerifiedAt verificationError verificationErrorCode verificationDetails createdAt updatedAt createdBy updatedBy`
		for _, tc := range []struct {
			name  string
			token string
			query string
			vars  map[string]any
			want  []string // the fields flat answers
		}{
			{"every plain field", "", `{ connections(sort: name) { total hasNext connections { ` + all + ` } } }`, nil, []string{list}},
			{"as a member", bobTok, `{ connections { connections { ` + all + ` } } }`, nil, []string{list}},
			{"users", "", `{ connections(sort: created_at) { users { id name email } connections { id createdByUser { id name email __typename } updatedByUser { n: name } } } }`, nil, []string{list}},
			{"aliases and duplicates", "", `{ connections { connections { a: id b: name id id name a: id when: createdAt t: __typename } } }`, nil, []string{list}},
			{"typename only", "", `{ connections { connections { __typename } } }`, nil, []string{list}},
			{"fragments", "", `query { connections { ...L } } fragment L on ConnectionList { connections { id ...C ... on Connection { slug name } ... { status } } }
				fragment C on Connection { name config createdByUser { ...U } } fragment U on User { email id }`, nil, []string{list}},
			{"skip and include", "", `query($y: Boolean!, $n: Boolean!) { connections { connections { id name @skip(if: $y) slug @include(if: $y)
				config @include(if: $n) ... @include(if: $y) { provider } ... @skip(if: $y) { status } createdByUser @include(if: $y) { name @skip(if: $n) id } } } }`,
				map[string]any{"y": true, "n": false}, []string{list}},
			{"two pages in one operation", "", `{ a: connections(limit: 2, sort: name) { nextCursor connections { id name } } b: connections(sort: updated_at, order: desc) { connections { updatedAt id verificationDetails } } }`, nil, []string{list, list}},
			{"no rows", "", `{ connections(search: "nothing matches this") { total connections { id name } } }`, nil, []string{list}},
			{"one by id", "", `query($id: ID!) { connection(id: $id) { ` + all + ` createdByUser { name } updatedByUser { name } } }`, map[string]any{"id": ids[1]}, []string{"Query.connection"}},
			{"one whose users are missing", "", `query($id: ID!) { connection(id: $id) { id createdByUser { name } updatedByUser { name } } }`, map[string]any{"id": ids[2]}, []string{"Query.connection"}},
			{"one by slug", "", `{ connectionBySlug(slug: "flat-b") { ...on Connection { id name config } } }`, nil, []string{"Query.connectionBySlug"}},
			{"one that is not there", "", `{ connection(id: "00000000-0000-0000-0000-000000000000") { id } }`, nil, nil},
			{"a field flat leaves to gqlgen", "", `{ connections { connections { id editSettings { config } } } }`, nil, nil},
			{"a lazy field", "", `query($id: ID!) { connection(id: $id) { id schemaColumns(schema: "s", table: "t") { schema } } }`, map[string]any{"id": ids[0]}, nil},
			{"a mutation's connection", "", `mutation($id: ID!) { setDefaultConnection(id: $id) { id name isDefault } }`, map[string]any{"id": ids[0]}, nil},
			{"next to an error", "", `{ ok: connections { connections { id name } } bad: connection(id: "nope") { id } }`, nil, []string{list}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok := tc.token
				if tok == "" {
					tok = e.admin
				}
				body, _ := json.Marshal(map[string]any{"query": tc.query, "variables": tc.vars})
				post := func(h http.Handler) []byte {
					req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+tok)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					return w.Body.Bytes()
				}
				mu.Lock()
				answered = nil
				mu.Unlock()
				fast := post(e.h)
				mu.Lock()
				got := slices.Clone(answered)
				mu.Unlock()
				gqlgen := post(slow)
				if !bytes.Equal(fast, gqlgen) {
					t.Fatalf("bodies differ\nflat:   %s\ngqlgen: %s", fast, gqlgen)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("flat answered %q, want %q (body %s)", got, tc.want, fast)
				}
				if tc.want != nil && !strings.Contains(string(fast), `"data":{`) {
					t.Errorf("no data: %s", fast)
				}
			})
		}
	})
}
