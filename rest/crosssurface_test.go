package rest_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers/builtin"
)

const connectionFields = `id name slug provider config hasCredentials status visibility isDefault isFromTemplate
	lastUsedAt lastVerifiedAt verificationError verificationErrorCode verificationDetails
	createdAt updatedAt createdBy updatedBy`

const providerFields = `name label category authKinds capabilities docsNote
	fields { name label type secret required requiredWhen { field values } default enum target help }`

// roundTrip makes both surfaces' values comparable (numbers as float64).
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameValues(t *testing.T, what string, rest, gql any) {
	t.Helper()
	r, g := roundTrip(t, rest), roundTrip(t, gql)
	if !reflect.DeepEqual(r, g) {
		rb, _ := json.MarshalIndent(r, "", "  ")
		gb, _ := json.MarshalIndent(g, "", "  ")
		t.Errorf("%s: values differ:\n--- REST\n%s\n--- expected (GraphQL or registry)\n%s", what, rb, gb)
	}
}

// TestCrossSurface reads the same data over REST and GraphQL: every value
// must be the same, key for key.
func TestCrossSurface(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		up := upstreamAPI(t)
		pg := e.do("alice", "POST", "/connections", pgBody).json(t)["id"].(string)
		api := e.do("alice", "POST", "/connections", strings.ReplaceAll(apiBody, "{upstream}", up.URL)).json(t)["id"].(string)
		bob := e.do("bob", "POST", "/connections", bobBody).json(t)["id"].(string)
		for _, step := range []string{"/connections/" + api + "/verify", "/connections/" + pg + "/set-default", "/connections/" + bob + "/disable"} {
			user := "alice"
			if strings.Contains(step, bob) {
				user = "bob"
			}
			if r := e.do(user, "POST", step, ""); r.Status != 200 {
				t.Fatalf("POST %s: %d %s", step, r.Status, r.Body)
			}
		}

		for _, id := range []string{pg, api, bob} {
			rest := e.do("alice", "GET", "/connections/"+id, "").json(t)
			gql := e.graphql("alice", `query($id: ID!) { connection(id: $id) { `+connectionFields+` } }`, map[string]any{"id": id})
			if len(rest) != 19 {
				t.Errorf("REST connection has %d keys, want 19", len(rest))
			}
			sameValues(t, "connection "+id, rest, gql["connection"])

			es := e.do("alice", "GET", "/connections/"+id+"/edit-settings", "").json(t)
			gqlES := e.graphql("alice", `query($id: ID!) { connection(id: $id) { editSettings { config secretFields { name configured } } } }`,
				map[string]any{"id": id})["connection"].(map[string]any)["editSettings"].(map[string]any)
			secrets := map[string]any{}
			for _, f := range gqlES["secretFields"].([]any) {
				f := f.(map[string]any)
				secrets[f["name"].(string)] = map[string]any{"configured": f["configured"]}
			}
			sameValues(t, "edit settings "+id, es, map[string]any{"config": gqlES["config"], "secretFields": secrets})
		}

		for _, user := range []string{"alice", "bob"} {
			rest := e.do(user, "GET", "/connections?sort=provider&order=desc&limit=2", "").json(t)
			gql := e.graphql(user, `{ connections(sort: provider, order: desc, limit: 2) {
				connections { `+connectionFields+` } total hasNext limit offset nextCursor users { id name email } } }`, nil)["connections"].(map[string]any)
			users := map[string]any{}
			for _, u := range gql["users"].([]any) {
				users[u.(map[string]any)["id"].(string)] = u
			}
			gql["users"] = users
			sameValues(t, "list as "+user, rest, gql)

			sameValues(t, "me as "+user, e.do(user, "GET", "/me", "").json(t),
				e.graphql(user, `{ me { id name email role tenant { id name } } }`, nil)["me"])
		}

		var specs []any
		if err := json.Unmarshal(e.do("alice", "GET", "/providers", "").Body, &specs); err != nil {
			t.Fatal(err)
		}
		if len(specs) != 21 {
			t.Errorf("%d providers, want 21", len(specs))
		}
		sameValues(t, "providers", specs, e.graphql("alice", `{ providers { `+providerFields+` } }`, nil)["providers"])
	})
}

// TestProvidersBody checks GET /providers against the registry itself
// rather than a golden file, which would change with every spec edit.
func TestProvidersBody(t *testing.T) {
	e := newEnv(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()})
	r := e.do("bob", "GET", "/providers", "")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /providers: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var want []any
	for _, s := range builtin.Registry().Specs() {
		fields := []any{}
		for _, f := range s.Fields {
			typ := string(f.Type)
			if f.Secret || typ == "" {
				typ = "string"
			}
			var cond any
			if f.RequiredWhen != nil {
				cond = map[string]any{"field": f.RequiredWhen.Field, "values": f.RequiredWhen.Values}
			}
			var enum any
			if f.Enum != nil {
				enum = f.Enum
			}
			fields = append(fields, map[string]any{"name": f.Name, "label": f.Label, "type": typ, "secret": f.Secret,
				"required": f.Required, "requiredWhen": cond, "default": f.Default, "enum": enum, "target": f.Target, "help": orNull(f.Help)})
		}
		emptyIfNil := func(l []string) []string {
			if l == nil {
				return []string{}
			}
			return l
		}
		want = append(want, map[string]any{"name": s.Name, "label": s.Label, "category": s.Category,
			"authKinds": emptyIfNil(s.AuthKinds), "capabilities": emptyIfNil(s.Capabilities), "fields": fields, "docsNote": orNull(s.DocsNote)})
	}
	var got any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	sameValues(t, "GET /providers and the registry", got, want)
}
