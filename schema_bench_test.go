package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// BenchmarkSchemaTreeServer measures issue 8's schema tree through the
// whole server (middleware, the GraphQL transport, graph/flat): 1,000
// tables of 10 columns each, catalog answers cached ("server"), against
// encoding/json of the same answer decoded into structs ("encoding_json").
// Goal: server at most 5x encoding_json. resolvers' BenchmarkSchemaTree
// measures the same tree through gqlgen's stock transport.
// Run: JUNCTION_TEST_DATABASE_URL=... go test -run - -bench SchemaTreeServer .
func BenchmarkSchemaTreeServer(b *testing.B) {
	raw := os.Getenv("JUNCTION_TEST_DATABASE_URL")
	if raw == "" {
		b.Skip("needs PostgreSQL: set JUNCTION_TEST_DATABASE_URL")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, raw)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	schema := fmt.Sprintf("srvtree_%d", time.Now().UnixNano())
	var ddl strings.Builder
	fmt.Fprintf(&ddl, "CREATE SCHEMA %s;", schema)
	for i := range 1000 {
		fmt.Fprintf(&ddl, "CREATE TABLE %s.t%04d (id bigint PRIMARY KEY, c1 text, c2 integer, c3 numeric(10,2), c4 timestamptz, c5 boolean, c6 jsonb, c7 bytea, c8 date, c9 text NOT NULL DEFAULT '');", schema, i)
		if i%200 == 199 {
			if _, err := admin.Exec(ctx, ddl.String()); err != nil {
				b.Fatal(err)
			}
			ddl.Reset()
		}
	}
	b.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), raw); err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})

	e := newEnv(b, testdb.DB{Name: "sqlite", DataDir: b.TempDir()})
	u, err := e.st.EnsureUserToken(ctx, "acme", "alice", "alice@example.com", "admin", "tok-tree-bench")
	if err != nil {
		b.Fatal(err)
	}
	pu, _ := url.Parse(raw)
	pass, _ := pu.User.Password()
	port, _ := strconv.Atoi(pu.Port())
	now := store.Now()
	c := &store.Connection{ID: store.NewID(), TenantID: u.TenantID, Name: "PG", Slug: "pg", Provider: "postgres", Status: "active",
		Visibility: "global", CreatedAt: now, UpdatedAt: now, CreatedBy: u.ID, UpdatedBy: u.ID, VerificationDetails: store.JSONMap{},
		Config: store.JSONMap{"host": pu.Hostname(), "port": int64(port), "database": strings.TrimPrefix(pu.Path, "/"),
			"user": pu.User.Username(), "sslmode": "disable"}}
	if err := e.st.InsertConnection(ctx, c, map[string]string{"password": pass}, false); err != nil {
		b.Fatal(err)
	}
	query := fmt.Sprintf(`{ connection(id: %q) { schemaTables(schema: %q) { schema table spec kind columns { name dataType nullable primaryKey } } } }`, c.ID, schema)
	tree := func() []byte {
		w := e.do("POST", "/graphql", e.admin, map[string]any{"query": query})
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"errors"`) {
			b.Fatalf("%d %.2000s", w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	type col struct {
		Name, DataType       string
		Nullable, PrimaryKey bool
	}
	type table struct {
		Schema, Table, Spec, Kind string
		Columns                   []col
	}
	var out struct {
		Data struct {
			Connection struct{ SchemaTables []table }
		}
	}
	if err := json.Unmarshal(tree(), &out); err != nil || len(out.Data.Connection.SchemaTables) != 1000 {
		b.Fatalf("%v: %d tables", err, len(out.Data.Connection.SchemaTables))
	}
	structs := out.Data.Connection.SchemaTables
	e.bodies = &lockedBuffer{} // the env keeps every body for leak checks; not here
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(structs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("server", func(b *testing.B) {
		for b.Loop() {
			tree()
			e.bodies = &lockedBuffer{}
		}
	})
}
