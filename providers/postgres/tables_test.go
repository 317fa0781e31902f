package postgres

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/providers"
)

// catalog is the fixture of the catalog tests: one schema with quoted
// names and every kind of relation, one with 1,000 tables, and a temporary
// table held by a session of its own.
type catalog struct {
	sales, many string // schema names
	admin       *pgx.Conn
}

var (
	catalogOnce sync.Once
	catalogFix  *catalog
	catalogErr  error
)

// sharedCatalog builds the catalog fixture once per test binary (1,000
// tables take seconds); TestMain drops it.
func sharedCatalog(t *testing.T) *catalog {
	t.Helper()
	_, _, dsn := testDBTB(t)
	catalogOnce.Do(func() { catalogFix, catalogErr = newCatalog(dsn) })
	if catalogErr != nil {
		t.Fatal(catalogErr)
	}
	return catalogFix
}

func newCatalog(dsn string) (*catalog, error) {
	ctx := context.Background()
	a, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	f := &catalog{admin: a, sales: randomName("Sales_"), many: randomName("many_")}
	s := quoteIdent(f.sales)
	fdw, srv := randomName("junction_fdw_"), randomName("junction_srv_")
	atExit(func() {
		a.Exec(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
		a.Exec(ctx, "DROP SCHEMA IF EXISTS "+quoteIdent(f.many)+" CASCADE")
		a.Exec(ctx, "DROP SERVER IF EXISTS "+srv+" CASCADE")
		a.Exec(ctx, "DROP FOREIGN DATA WRAPPER IF EXISTS "+fdw+" CASCADE")
		a.Close(ctx)
	})
	for _, q := range []string{
		`CREATE SCHEMA ` + s,
		`CREATE SCHEMA ` + quoteIdent(f.many),
		`CREATE TABLE ` + s + `."Order Lines" (id integer, line integer, qty numeric(10,2), note character varying(255), PRIMARY KEY (id, line))`,
		`CREATE TABLE ` + s + `.customers (id serial PRIMARY KEY, name text NOT NULL, "E-mail" text)`,
		`CREATE VIEW ` + s + `."Big Orders" AS SELECT id, qty FROM ` + s + `."Order Lines" WHERE qty > 100`,
		`CREATE MATERIALIZED VIEW ` + s + `.order_totals AS SELECT id, sum(qty) AS total FROM ` + s + `."Order Lines" GROUP BY id`,
		`CREATE TABLE ` + s + `.events (at date NOT NULL, what text) PARTITION BY RANGE (at)`,
		`CREATE TABLE ` + s + `.events_2024 PARTITION OF ` + s + `.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
		`CREATE TABLE ` + s + `.empty ()`,
		`CREATE TABLE ` + s + `.t_1 (a int)`,
		`CREATE TABLE ` + s + `.tx1 (a int)`,
		`CREATE TABLE ` + s + `."100% done" (a int)`,
		`CREATE TABLE ` + s + `."select" (a int)`,
		`CREATE SEQUENCE ` + s + `.not_a_table`,
		`CREATE INDEX order_lines_qty ON ` + s + `."Order Lines" (qty)`,
		`CREATE FOREIGN DATA WRAPPER ` + fdw,
		`CREATE SERVER ` + srv + ` FOREIGN DATA WRAPPER ` + fdw,
		`CREATE FOREIGN TABLE ` + s + `.remote (a int) SERVER ` + srv,
		`INSERT INTO ` + s + `."Order Lines" VALUES (1, 1, 10.50, 'first'), (1, 2, 200.00, NULL), (2, 1, 3.25, 'third')`,
		`INSERT INTO ` + s + `.empty SELECT FROM generate_series(1, 2)`,
		`DO $$ BEGIN FOR i IN 1..1000 LOOP
		   EXECUTE format('CREATE TABLE %I.%I (id integer PRIMARY KEY, a text, b numeric(10,2))', ` + quoteLiteral(f.many) + `, 't' || lpad(i::text, 4, '0'));
		 END LOOP; END $$`,
	} {
		if _, err := a.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	return f, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func names(tables []providers.Table) []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = t.Schema + "." + t.Table
	}
	return out
}

func TestListTables(t *testing.T) {
	c := openTest(t, nil)
	f := sharedCatalog(t)
	sq := quoteIdent(f.sales)
	// A temporary table lives in a pg_temp_N schema while its session does.
	tmp := adminConn(t)
	exec(t, tmp, "CREATE TEMP TABLE junction_tmp_listed (a int)")

	list := func(t *testing.T, req providers.ListTablesRequest) []providers.Table {
		t.Helper()
		res, err := c.ListTables(context.Background(), req)
		if err != nil {
			t.Fatalf("ListTables: %v", err)
		}
		return res.Tables
	}

	t.Run("every kind, quoted specs, ordered", func(t *testing.T) {
		got := list(t, providers.ListTablesRequest{Schema: f.sales})
		tbl := func(schema, table, spec, kind string) providers.Table {
			return providers.Table{Schema: schema, Table: table, Spec: spec, Kind: kind}
		}
		want := []providers.Table{
			tbl(f.sales, "100% done", sq+`."100% done"`, "table"),
			tbl(f.sales, "Big Orders", sq+`."Big Orders"`, "view"),
			tbl(f.sales, "Order Lines", sq+`."Order Lines"`, "table"),
			tbl(f.sales, "customers", sq+".customers", "table"),
			tbl(f.sales, "empty", sq+".empty", "table"),
			tbl(f.sales, "events", sq+".events", "table"),           // partitioned
			tbl(f.sales, "events_2024", sq+".events_2024", "table"), // a partition
			tbl(f.sales, "order_totals", sq+".order_totals", "materialized_view"),
			tbl(f.sales, "remote", sq+".remote", "foreign_table"),
			tbl(f.sales, "select", sq+`."select"`, "table"),
			tbl(f.sales, "t_1", sq+".t_1", "table"),
			tbl(f.sales, "tx1", sq+".tx1", "table"),
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got\n%v\nwant\n%v", got, want)
		}
		if !strings.HasPrefix(sq, `"Sales_`) {
			t.Errorf("schema spec %s is not quoted", sq)
		}
	})
	t.Run("system schemas hidden by default", func(t *testing.T) {
		got := list(t, providers.ListTablesRequest{})
		for _, tb := range got {
			if tb.Schema == "pg_catalog" || tb.Schema == "information_schema" || strings.HasPrefix(tb.Schema, "pg_toast") || strings.HasPrefix(tb.Schema, "pg_temp") {
				t.Fatalf("system table listed: %+v", tb)
			}
		}
		if !slices.Contains(names(got), f.sales+".Order Lines") || !slices.Contains(names(got), f.many+".t0500") {
			t.Errorf("fixture tables missing from %d tables", len(got))
		}
		if !slices.IsSortedFunc(got, func(a, b providers.Table) int {
			return strings.Compare(a.Schema+"\x00"+a.Table, b.Schema+"\x00"+b.Table)
		}) {
			t.Errorf("not ordered by schema, name")
		}
	})
	t.Run("system schemas shown on request", func(t *testing.T) {
		got := names(list(t, providers.ListTablesRequest{IncludeSystem: true}))
		for _, want := range []string{"pg_catalog.pg_class", "information_schema.tables", f.sales + ".Order Lines"} {
			if !slices.Contains(got, want) {
				t.Errorf("%s missing", want)
			}
		}
		if !slices.ContainsFunc(got, func(n string) bool {
			return strings.HasPrefix(n, "pg_temp_") && strings.HasSuffix(n, ".junction_tmp_listed")
		}) {
			t.Errorf("the temporary table is not listed with includeSystem")
		}
		var kinds []string
		for _, tb := range list(t, providers.ListTablesRequest{IncludeSystem: true, Schema: "information_schema", Search: "tables"}) {
			kinds = append(kinds, tb.Table+":"+tb.Kind)
		}
		if !slices.Contains(kinds, "tables:view") {
			t.Errorf("information_schema.tables: %v", kinds)
		}
	})
	t.Run("search", func(t *testing.T) {
		tests := []struct {
			name, search string
			want         []string
		}{
			{"substring of a table, any case", "ORDER LIN", []string{"Order Lines"}},
			{"underscore is literal", "t_1", []string{"t_1"}},
			{"percent is literal", "100%", []string{"100% done"}},
			{"backslash is literal", `\`, nil},
			{"no match", "zzz-nothing", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				for _, tb := range list(t, providers.ListTablesRequest{Schema: f.sales, Search: tt.search}) {
					got = append(got, tb.Table)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("search %q: %v, want %v", tt.search, got, tt.want)
				}
			})
		}
		t.Run("matches the schema name", func(t *testing.T) {
			got := list(t, providers.ListTablesRequest{Search: strings.ToUpper(f.many)})
			if len(got) != 1000 {
				t.Errorf("searching the schema name found %d tables, want 1000", len(got))
			}
		})
	})
	t.Run("schema filter is exact", func(t *testing.T) {
		if got := list(t, providers.ListTablesRequest{Schema: strings.ToLower(f.sales)}); len(got) != 0 {
			t.Errorf("lower-cased schema matched %d tables", len(got))
		}
		got := list(t, providers.ListTablesRequest{Schema: f.many})
		if len(got) != 1000 || got[0].Table != "t0001" || got[999].Table != "t1000" || got[0].Spec != f.many+".t0001" {
			t.Errorf("1,000-table schema: %d tables, first %+v", len(got), got[0])
		}
	})
}

// countingDialer counts the writes (one per round trip: pgx flushes each
// request in one write) and bytes sent on every connection it dials.
type countingDialer struct {
	writes, bytes atomic.Int64
}

func (d *countingDialer) tweak(maxConns int32) func(*pgxpool.Config) {
	return func(pc *pgxpool.Config) {
		pc.MaxConns = maxConns
		dial := pc.ConnConfig.DialFunc
		pc.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: nc, d: d}, nil
		}
	}
}

type countingConn struct {
	net.Conn
	d *countingDialer
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.d.writes.Add(1)
	c.d.bytes.Add(int64(len(b)))
	return c.Conn.Write(b)
}

// queryCounter is a pgx tracer counting the queries a pool runs.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func TestListColumns(t *testing.T) {
	var dialer countingDialer
	var queries queryCounter
	c := openTest(t, func(pc *pgxpool.Config) {
		dialer.tweak(1)(pc)
		pc.ConnConfig.Tracer = &queries
	})
	f := sharedCatalog(t)
	ref := func(schema, table string) providers.TableRef { return providers.TableRef{Schema: schema, Table: table} }
	req := []providers.TableRef{
		ref(f.sales, "Order Lines"), ref(f.sales, "customers"), ref(f.sales, "Big Orders"), ref(f.sales, "order_totals"),
		ref(f.sales, "events"), ref(f.sales, "events_2024"), ref(f.sales, "remote"), ref(f.sales, "empty"),
		ref(f.sales, "no such table"), ref(f.sales, "order lines"), ref(f.sales, "not_a_table"), ref(f.sales, "order_lines_qty"),
		ref("no such schema", "customers"), ref(f.sales, "Order Lines"), ref(f.sales, "x\x00y"),
	}
	for i := 1; i <= 1000; i++ {
		req = append(req, ref(f.many, fmt.Sprintf("t%04d", i)))
	}
	call := func(t *testing.T) map[providers.TableRef][]providers.Column {
		t.Helper()
		res, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: req})
		if err != nil {
			t.Fatalf("ListColumns: %v", err)
		}
		return res.Tables
	}
	call(t) // the pooled connection prepares the statement once
	queries.n.Store(0)
	w0 := dialer.writes.Load()
	sets := call(t)
	if n := queries.n.Load(); n != 1 {
		t.Errorf("%d tables took %d queries, want 1", len(req), n)
	}
	if n := dialer.writes.Load() - w0; n != 1 {
		t.Errorf("%d tables took %d round trips, want 1", len(req), n)
	}

	col := func(name, typ string, nullable, pk bool) providers.Column {
		return providers.Column{Name: name, DataType: typ, Nullable: nullable, PrimaryKey: pk}
	}
	tests := []struct {
		table string
		want  []providers.Column
	}{
		{"Order Lines", []providers.Column{col("id", "integer", false, true), col("line", "integer", false, true),
			col("qty", "numeric(10,2)", true, false), col("note", "character varying(255)", true, false)}},
		{"customers", []providers.Column{col("id", "integer", false, true), col("name", "text", false, false), col("E-mail", "text", true, false)}},
		{"Big Orders", []providers.Column{col("id", "integer", true, false), col("qty", "numeric(10,2)", true, false)}},
		{"order_totals", []providers.Column{col("id", "integer", true, false), col("total", "numeric", true, false)}},
		{"events", []providers.Column{col("at", "date", false, false), col("what", "text", true, false)}},
		{"events_2024", []providers.Column{col("at", "date", false, false), col("what", "text", true, false)}},
		{"remote", []providers.Column{col("a", "integer", true, false)}},
		{"empty", []providers.Column{}},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			got, ok := sets[ref(f.sales, tt.table)]
			if !ok {
				t.Fatalf("missing")
			}
			if got == nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("absent tables", func(t *testing.T) {
		for _, r := range []providers.TableRef{ref(f.sales, "no such table"), ref(f.sales, "order lines"), ref(f.sales, "not_a_table"),
			ref(f.sales, "order_lines_qty"), ref("no such schema", "customers"), ref(f.sales, "x\x00y")} {
			if cols, ok := sets[r]; ok {
				t.Errorf("%v is present: %v", r, cols)
			}
		}
	})
	t.Run("1,000 tables in the same call", func(t *testing.T) {
		n := 0
		for r, cols := range sets {
			if r.Schema == f.many {
				n++
				if fmt.Sprint(cols) != fmt.Sprint([]providers.Column{col("id", "integer", false, true), col("a", "text", true, false), col("b", "numeric(10,2)", true, false)}) {
					t.Fatalf("%v: %v", r, cols)
				}
			}
		}
		if n != 1000 {
			t.Errorf("%d of 1000 tables described", n)
		}
	})
	t.Run("dropped columns are skipped and order is attnum", func(t *testing.T) {
		a := adminConn(t)
		own := newSchema(t, a, "junction_alter_")
		exec(t, a, `CREATE TABLE `+own+`.customers (id int, name text, "E-mail" text)`,
			`ALTER TABLE `+own+`.customers DROP COLUMN name, ADD COLUMN zeta int, ADD COLUMN alpha int`)
		res, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{Tables: []providers.TableRef{ref(own, "customers")}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range res.Tables[ref(own, "customers")] {
			got = append(got, c.Name)
		}
		if fmt.Sprint(got) != "[id E-mail zeta alpha]" {
			t.Errorf("columns %v", got)
		}
	})
	t.Run("no tables asked, no query", func(t *testing.T) {
		queries.n.Store(0)
		res, err := c.ListColumns(context.Background(), providers.ListColumnsRequest{})
		if err != nil || len(res.Tables) != 0 || queries.n.Load() != 0 {
			t.Errorf("got %v %v after %d queries", res, err, queries.n.Load())
		}
	})
}
