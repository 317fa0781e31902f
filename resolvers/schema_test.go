package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jackc/pgx/v5"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph"
	"github.com/junctionhq/junction/graph/flat"
	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/postgres"
	"github.com/junctionhq/junction/store"
)

func TestNormalizedNameAndQueryHash(t *testing.T) {
	for in, want := range map[string]string{"Order Lines": "order_lines", "orders": "orders", "order_id": "order_id", "c9": "c9", "a__b": "a_b", "_a": "a", "a_": "a", "  Ünïcode--Name  ": "n_code_name",
		"__x__": "x", "%%%": "_", "CamelCase2": "camelcase2"} {
		if got := NormalizedName(in); got != want {
			t.Errorf("NormalizedName(%q) = %q, want %q", in, got, want)
		}
	}
	if QueryHash("select a,\n b from t") != QueryHash("  select a,  b   from t ") {
		t.Error("white space outside literals changed the hash")
	}
	if QueryHash("select 'a  b'") == QueryHash("select 'a b'") {
		t.Error("white space inside a literal must change the hash")
	}
	if QueryHash(`select "a  b"`) == QueryHash(`select "a b"`) || QueryHash("select $q$a  b$q$") == QueryHash("select $q$a b$q$") {
		t.Error("white space inside quoted identifiers and dollar quotes must change the hash")
	}
	if QueryHash("select 'it''s  x'") == QueryHash("select 'it''s x'") {
		t.Error("a doubled quote ended the literal early")
	}
}

// countingPG wraps the postgres driver and counts catalog calls.
type countingPG struct {
	postgres.Driver
	tables, columns *atomic.Int32
}

type countingConn struct {
	providers.Conn
	d countingPG
}

func (d countingPG) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	c, err := d.Driver.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, d: d}, nil
}

func (c *countingConn) ListTables(ctx context.Context, req providers.ListTablesRequest) (*providers.TableList, error) {
	c.d.tables.Add(1)
	return c.Conn.(providers.TableLister).ListTables(ctx, req)
}

func (c *countingConn) ListColumns(ctx context.Context, req providers.ListColumnsRequest) (*providers.ColumnSets, error) {
	c.d.columns.Add(1)
	return c.Conn.(providers.ColumnLister).ListColumns(ctx, req)
}

func (c *countingConn) Sample(ctx context.Context, req providers.SampleRequest) (*providers.RowSet, error) {
	return c.Conn.(providers.Sampler).Sample(ctx, req)
}

func (c *countingConn) Query(ctx context.Context, req providers.QueryRequest) (*providers.QueryResult, error) {
	return c.Conn.(providers.Querier).Query(ctx, req)
}

// schemaEnv is Junction's resolvers over a real PostgreSQL whose schema
// holds n tables of 10 columns each, and a postgres connection to it.
type schemaEnv struct {
	r   *Resolver
	srv *handler.Server
	// flatSrv is srv with graph/flat installed, as the server runs it;
	// flatAnswered counts the fields flat answered.
	flatSrv         *handler.Server
	flatAnswered    atomic.Int32
	ctx             context.Context
	id, schema      string
	pgURL           string
	tables, columns atomic.Int32
}

func newSchemaEnv(tb testing.TB, n int) *schemaEnv {
	tb.Helper()
	raw := os.Getenv("JUNCTION_TEST_DATABASE_URL")
	if raw == "" {
		if os.Getenv("JUNCTION_TEST_REQUIRE_POSTGRES") == "1" {
			tb.Fatal("JUNCTION_TEST_REQUIRE_POSTGRES=1 but JUNCTION_TEST_DATABASE_URL is not set")
		}
		tb.Skip("needs PostgreSQL: set JUNCTION_TEST_DATABASE_URL")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, raw)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close(ctx)
	schema := fmt.Sprintf("tree_%d_%d", n, time.Now().UnixNano())
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE SCHEMA %s;", schema)
	for i := range n {
		fmt.Fprintf(&b, "CREATE TABLE %s.t%04d (id bigint PRIMARY KEY, c1 text, c2 integer, c3 numeric(10,2), c4 timestamptz, c5 boolean, c6 jsonb, c7 bytea, c8 date, c9 text NOT NULL DEFAULT '');", schema, i)
		if i%200 == 199 {
			if _, err := admin.Exec(ctx, b.String()); err != nil {
				tb.Fatal(err)
			}
			b.Reset()
		}
	}
	fmt.Fprintf(&b, "CREATE TABLE %s.rows AS SELECT g AS id, 'name '||g AS name, g*1.5 AS amount, now() AS at FROM generate_series(1, 5000) g;", schema)
	if _, err := admin.Exec(ctx, b.String()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), raw)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})

	e := &schemaEnv{schema: schema, pgURL: raw}
	st := testdb.Open(tb, testdb.DB{Name: "sqlite", DataDir: tb.TempDir()}, testdb.NewKey(tb))
	u, err := st.EnsureUserToken(ctx, "acme", "ann", "ann@example.com", "admin", "tok-ann")
	if err != nil {
		tb.Fatal(err)
	}
	e.r = &Resolver{Store: st, Providers: providers.NewRegistry(countingPG{tables: &e.tables, columns: &e.columns}),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), ProviderTimeout: time.Minute,
		HTTPClient: guarded.HTTPClient, Dial: guarded.Dial}
	e.ctx = auth.WithIdentity(ctx, auth.Identity{TenantID: u.TenantID, UserID: u.ID, Role: "admin"})
	pu, _ := url.Parse(raw)
	pass, _ := pu.User.Password()
	port, _ := strconv.Atoi(pu.Port())
	now := store.Now()
	c := &store.Connection{ID: store.NewID(), TenantID: u.TenantID, Name: "PG", Slug: "pg", Provider: "postgres", Status: "active",
		Visibility: "global", CreatedAt: now, UpdatedAt: now, CreatedBy: u.ID, UpdatedBy: u.ID,
		Config: store.JSONMap{"host": pu.Hostname(), "port": int64(port), "database": strings.TrimPrefix(pu.Path, "/"),
			"user": pu.User.Username(), "sslmode": "disable"}}
	if err := st.InsertConnection(ctx, c, map[string]string{"password": pass}, false); err != nil {
		tb.Fatal(err)
	}
	e.id = c.ID
	e.srv = handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: e.r}))
	e.srv.AddTransport(transport.POST{})
	e.srv.SetErrorPresenter(ErrorPresenter(e.r.Log))
	e.flatSrv = handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: e.r}))
	e.flatSrv.AddTransport(transport.POST{})
	e.flatSrv.SetErrorPresenter(ErrorPresenter(e.r.Log))
	e.flatSrv.Use(flat.Encoder{Users: e.r, Answered: func(string) { e.flatAnswered.Add(1) }})
	return e
}

func (e *schemaEnv) graphql(tb testing.TB, query string) []byte {
	return e.graphqlOn(tb, e.srv, query)
}

func (e *schemaEnv) graphqlOn(tb testing.TB, srv *handler.Server, query string) []byte {
	body, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(WithLoaders(e.ctx, NewLoaders(e.r.Store)))
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != 200 || strings.Contains(w.Body.String(), `"errors"`) {
		tb.Fatalf("%d %s", w.Code, w.Body.String()[:min(w.Body.Len(), 2000)])
	}
	return w.Body.Bytes()
}

func (e *schemaEnv) treeQuery() string {
	return fmt.Sprintf(`{ connection(id: %q) { schemaTables(schema: %q) { schema table spec kind columns { name dataType nullable primaryKey } } } }`, e.id, e.schema)
}

// TestSchemaTreeTwoCatalogCalls: the GraphQL tree of 1,000 tables with their
// columns costs one tables call and one columns call, and a second
// expansion within the cache TTL costs none.
func TestSchemaTreeTwoCatalogCalls(t *testing.T) {
	e := newSchemaEnv(t, 1000)
	body := e.graphql(t, e.treeQuery())
	var out struct {
		Data struct {
			Connection struct {
				SchemaTables []struct {
					Table   string
					Columns []struct {
						Name       string
						PrimaryKey bool
					}
				}
			}
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	tables := out.Data.Connection.SchemaTables
	if len(tables) != 1001 || tables[0].Table != "rows" || len(tables[1].Columns) != 10 || !tables[1].Columns[0].PrimaryKey {
		t.Fatalf("%d tables, first two %+v", len(tables), tables[:2])
	}
	if n, m := e.tables.Load(), e.columns.Load(); n != 1 || m != 1 {
		t.Fatalf("%d tables calls and %d columns calls, want 1 and 1", n, m)
	}
	e.graphql(t, e.treeQuery())
	if n, m := e.tables.Load(), e.columns.Load(); n != 1 || m != 1 {
		t.Fatalf("the catalog cache was not used: %d tables calls, %d columns calls", n, m)
	}
}

// graph/flat writes a schema tree byte for byte as gqlgen does, whatever
// the selection (aliases, fragments, __typename, some fields or all), and
// answers it itself.
func TestSchemaTreeFlatAsGqlgen(t *testing.T) {
	e := newSchemaEnv(t, 30)
	for _, tc := range []struct{ sel, fragments string }{
		{`schema table normalizedName spec kind columns { name normalizedName dataType nullable primaryKey }`, ""},
		{`__typename t: table k: kind table cols: columns { __typename n: name pk: primaryKey name } columns { dataType }`, ""},
		{`...T ... on SchemaTable { spec }`, `fragment T on SchemaTable { table columns { ...C } } fragment C on SchemaColumn { name nullable }`},
		{`table`, ""},
		{`columns { name }`, ""},
	} {
		q := fmt.Sprintf(`{ connection(id: %q) { id schemaTables(schema: %q) { %s } } } %s`, e.id, e.schema, tc.sel, tc.fragments)
		before := e.flatAnswered.Load()
		fast, slow := e.graphqlOn(t, e.flatSrv, q), e.graphqlOn(t, e.srv, q)
		if string(fast) != string(slow) {
			t.Fatalf("%s:\nflat:   %.3000s\ngqlgen: %.3000s", tc.sel, fast, slow)
		}
		want := "t0029"
		if !strings.Contains(tc.sel+tc.fragments, "table") {
			want = "c9"
		}
		if !strings.Contains(string(fast), want) {
			t.Fatalf("%s: the tree is not in the answer: %.500s", tc.sel, fast)
		}
		// connection selects a field with arguments, so gqlgen answers it;
		// flat answers its schemaTables.
		if n := e.flatAnswered.Load() - before; n != 1 {
			t.Errorf("%s: flat answered %d fields, want 1 (schemaTables)", tc.sel, n)
		}
	}
}

// BenchmarkSchemaTree measures the GraphQL tree of 1,000 tables with their
// columns ("graphql_cached": catalog answers from the cache, so this is
// Junction's own cost, with graph/flat as the server runs it;
// "graphql_cached_gqlgen": the same through gqlgen's executor alone;
// "graphql_cold": the two catalog queries included) against encoding the
// same structs with encoding/json ("encoding_json").
// Goal: graphql_cached at most 5x encoding_json.
// Run: go test -run - -bench SchemaTree ./resolvers
func BenchmarkSchemaTree(b *testing.B) {
	e := newSchemaEnv(b, 1000)
	type col struct {
		Name, DataType       string
		Nullable, PrimaryKey bool
	}
	type table struct {
		Schema, Table, Spec, Kind string
		Columns                   []col
	}
	var structs []table
	{
		var out struct {
			Data struct {
				Connection struct{ SchemaTables []table }
			}
		}
		json.Unmarshal(e.graphql(b, e.treeQuery()), &out)
		structs = out.Data.Connection.SchemaTables
	}
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(structs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("graphql_cached", func(b *testing.B) {
		for b.Loop() {
			e.graphqlOn(b, e.flatSrv, e.treeQuery())
		}
	})
	b.Run("graphql_cached_gqlgen", func(b *testing.B) {
		for b.Loop() {
			e.graphql(b, e.treeQuery())
		}
	})
	b.Run("graphql_cold", func(b *testing.B) {
		e.r.Limits.SchemaCacheTTL = time.Nanosecond
		defer func() { e.r.Limits.SchemaCacheTTL = 0 }()
		for b.Loop() {
			e.graphqlOn(b, e.flatSrv, e.treeQuery())
		}
	})
}

// BenchmarkRunQuery1000 runs a 1,000-row query through runQuery ("junction",
// parse guard, read-only transaction, value encoding, the JSON response)
// against a raw pgx query of the same rows plus encoding/json of them
// ("raw_pgx_json"). Goal: junction at least 0.5x raw (at most 2x the time).
// Run: go test -run - -bench RunQuery1000 ./resolvers
func BenchmarkRunQuery1000(b *testing.B) {
	e := newSchemaEnv(b, 1)
	sql := fmt.Sprintf("select id, name, amount, at from %s.rows order by id limit 1000", e.schema)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pgURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	b.Run("raw_pgx_json", func(b *testing.B) {
		for b.Loop() {
			rows, err := conn.Query(ctx, sql)
			if err != nil {
				b.Fatal(err)
			}
			var out []map[string]any
			for rows.Next() {
				v, err := rows.Values()
				if err != nil {
					b.Fatal(err)
				}
				out = append(out, map[string]any{"id": v[0], "name": v[1], "amount": v[2], "at": v[3]})
			}
			if rows.Err() != nil || len(out) != 1000 {
				b.Fatal(rows.Err())
			}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
	q := fmt.Sprintf(`mutation { runQuery(id: %q, sql: %q) { columns rows rowCount truncated queryHash } }`, e.id, sql)
	// The parser's one-off start-up (compiling it, seconds) is not per query.
	e.graphql(b, q)
	b.Run("junction", func(b *testing.B) {
		for b.Loop() {
			if body := e.graphql(b, q); !strings.Contains(string(body), `"rowCount":1000`) {
				b.Fatal(string(body[:200]))
			}
		}
	})
}
