package rest_test

import (
	"encoding/json"
	"net/url"
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

const (
	fileFields   = `items { id kind mimeType modifiedAt name path size } nextPageToken path`
	columnFields = `name normalizedName dataType nullable primaryKey`
)

// TestCrossSurfaceFiles lists and validates files of an s3 connection (on
// the fake S3) over both surfaces.
func TestCrossSurfaceFiles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		s3 := fakeS3(t)
		id := e.do("alice", "POST", "/connections", strings.ReplaceAll(s3Body("Reports"), "{s3}", s3.URL)).json(t)["id"].(string)
		files := `query($id: ID!, $path: String!, $size: Int!, $token: String) { connection(id: $id) {
			files(path: $path, pageSize: $size, pageToken: $token) { ` + fileFields + ` } } }`
		for _, tc := range []struct {
			query string
			vars  map[string]any
		}{
			{"", map[string]any{"path": "/", "size": 100}},
			{"?path=/docs", map[string]any{"path": "/docs", "size": 100}},
			{"?path=/docs/2024&pageSize=1", map[string]any{"path": "/docs/2024", "size": 1}},
		} {
			rest := e.do("bob", "GET", "/connections/"+id+"/files"+tc.query, "").json(t)
			tc.vars["id"] = id
			gql := e.graphql("bob", files, tc.vars)["connection"].(map[string]any)["files"].(map[string]any)
			sameValues(t, "files"+tc.query, rest, gql)
			if tok, _ := rest["nextPageToken"].(string); tok != "" {
				// The token one surface gave opens the next page on the other.
				next := e.do("bob", "GET", "/connections/"+id+"/files"+tc.query+"&pageToken="+url.QueryEscape(tok), "").json(t)
				tc.vars["token"] = tok
				sameValues(t, "next page of files"+tc.query, next, e.graphql("bob", files, tc.vars)["connection"].(map[string]any)["files"])
			}
		}

		selection := []any{"/docs", "a.json", "/nothing"}
		body, _ := json.Marshal(map[string]any{"selectedItems": selection})
		rest := e.do("alice", "POST", "/connections/"+id+"/files/validate", string(body)).json(t)
		gql := e.graphql("alice", `query($id: ID!, $items: [String!]!) { connection(id: $id) {
			validateFileSelection(selectedItems: $items) { valid violations { item code message } totalItems totalBytes maxDepth } } }`,
			map[string]any{"id": id, "items": selection})["connection"].(map[string]any)["validateFileSelection"]
		sameValues(t, "validate file selection", rest, gql)
		if rest["totalItems"] != float64(5) || rest["valid"] != false {
			t.Errorf("validation %v: want 5 files and one violation", rest)
		}
	})
}

// TestCrossSurfaceSchema reads tables, columns, a sample and a query of the
// test PostgreSQL over both surfaces.
func TestCrossSurfaceSchema(t *testing.T) {
	conn, schema := pgTarget(t)
	e := newEnvWith(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()}, parserLimits)
	id := e.do("alice", "POST", "/connections", `{"name": "Test DB", "provider": "postgres", `+conn+`}`).json(t)["id"].(string)

	rest := e.do("alice", "GET", "/connections/"+id+"/schema/tables?schema="+url.QueryEscape(schema), "").json(t)
	gql := e.graphql("alice", `query($id: ID!, $schema: String) { connection(id: $id) {
		schemaTables(schema: $schema) { schema table normalizedName spec kind columns { `+columnFields+` } } } }`,
		map[string]any{"id": id, "schema": schema})["connection"].(map[string]any)["schemaTables"].([]any)
	if tables := rest["tables"].([]any); len(tables) != 3 || len(gql) != 3 {
		t.Fatalf("tables: REST %d, GraphQL %d, want 3", len(tables), len(gql))
	}
	var bare []any
	for _, tb := range gql {
		tb := tb.(map[string]any)
		// Every table's columns (batched on GraphQL) equal REST's columns call.
		cols := e.do("alice", "GET", "/connections/"+id+"/schema/columns?schema="+url.QueryEscape(schema)+"&table="+url.QueryEscape(tb["table"].(string)), "").json(t)
		sameValues(t, "columns of "+tb["table"].(string), cols, map[string]any{"schema": tb["schema"], "table": tb["table"], "columns": tb["columns"]})
		delete(tb, "columns")
		bare = append(bare, tb)
	}
	sameValues(t, "tables", rest, map[string]any{"tables": bare})

	cols := e.do("alice", "GET", "/connections/"+id+"/schema/columns?schema="+url.QueryEscape(schema)+"&table=orders", "").json(t)
	sameValues(t, "schemaColumns", cols, e.graphql("alice", `query($id: ID!, $schema: String!) { connection(id: $id) {
		schemaColumns(schema: $schema, table: "orders") { schema table columns { `+columnFields+` } } } }`,
		map[string]any{"id": id, "schema": schema})["connection"].(map[string]any)["schemaColumns"])

	body, _ := json.Marshal(map[string]any{"schema": schema, "table": "orders", "maxRows": 2})
	sameValues(t, "sample", e.do("alice", "POST", "/connections/"+id+"/schema/sample", string(body)).json(t),
		e.graphql("alice", `mutation($id: ID!, $schema: String!) { sampleTable(id: $id, schema: $schema, table: "orders", maxRows: 2) {
			schema table columns { `+columnFields+` } rows rowCount maxRows truncated } }`, map[string]any{"id": id, "schema": schema})["sampleTable"])

	sql := "SELECT id, total, placed_at, tags, meta, big FROM " + schema + ".orders ORDER BY id"
	body, _ = json.Marshal(map[string]any{"sql": sql})
	sameValues(t, "query", e.do("alice", "POST", "/connections/"+id+"/schema/query", string(body)).json(t),
		e.graphql("alice", `mutation($id: ID!, $sql: String!) { runQuery(id: $id, sql: $sql) {
			columns rows rowCount maxRows truncated queryHash tableRefs { schema table } } }`, map[string]any{"id": id, "sql": sql})["runQuery"])
}
