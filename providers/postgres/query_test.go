package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// rowsJSON renders rows as one JSON text per row, for comparisons.
func rowsJSON(rows []providers.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	return out
}

func colNames(cols []providers.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func query(t *testing.T, c *conn, sql string, maxRows int) (*providers.QueryResult, *providers.Error) {
	t.Helper()
	res, err := c.Query(context.Background(), providers.QueryRequest{SQL: sql, Limits: providers.RowLimits{MaxRows: maxRows, MaxBytes: 10 << 20}, Timeout: 10 * time.Second})
	return res, asError(t, err)
}

func mustQuery(t *testing.T, c *conn, sql string, maxRows int) *providers.QueryResult {
	t.Helper()
	res, err := query(t, c, sql, maxRows)
	if err != nil {
		t.Fatalf("%s: %s: %s", sql, err.Code, err.Message)
	}
	return res
}

func TestSample(t *testing.T) {
	c := openTest(t, nil)
	f := sharedCatalog(t)
	sample := func(schema, table string, maxRows int) (*providers.RowSet, *providers.Error) {
		res, err := c.Sample(context.Background(), providers.SampleRequest{Table: providers.TableRef{Schema: schema, Table: table},
			Limits: providers.RowLimits{MaxRows: maxRows, MaxBytes: 10 << 20}})
		return res, asError(t, err)
	}
	t.Run("quoted table, catalog columns, truncated", func(t *testing.T) {
		res, err := sample(f.sales, "Order Lines", 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []providers.Column{
			{Name: "id", DataType: "integer", PrimaryKey: true}, {Name: "line", DataType: "integer", PrimaryKey: true},
			{Name: "qty", DataType: "numeric(10,2)", Nullable: true}, {Name: "note", DataType: "character varying(255)", Nullable: true},
		}
		if fmt.Sprint(res.Columns) != fmt.Sprint(want) {
			t.Errorf("columns %v", res.Columns)
		}
		if got := rowsJSON(res.Rows); fmt.Sprint(got) != `[[1,1,"10.50","first"] [1,2,"200.00",null]]` || !res.Truncated {
			t.Errorf("rows %v truncated=%v", got, res.Truncated)
		}
	})
	t.Run("all rows fit", func(t *testing.T) {
		res, err := sample(f.sales, "Order Lines", 3)
		if err != nil || len(res.Rows) != 3 || res.Truncated {
			t.Fatalf("got %v %v", res, err)
		}
	})
	t.Run("view and materialized view and partitioned table", func(t *testing.T) {
		for _, tb := range []string{"Big Orders", "order_totals", "events"} {
			if _, err := sample(f.sales, tb, 10); err != nil {
				t.Errorf("%s: %v", tb, err)
			}
		}
	})
	t.Run("table without columns", func(t *testing.T) {
		res, err := sample(f.sales, "empty", 10)
		if err != nil || len(res.Columns) != 0 || fmt.Sprint(rowsJSON(res.Rows)) != "[[] []]" {
			t.Fatalf("got %+v %v", res, err)
		}
	})
	t.Run("a column named like a keyword", func(t *testing.T) {
		res, err := sample(f.sales, "select", 10)
		if err != nil || fmt.Sprint(colNames(res.Columns)) != "[a]" {
			t.Fatalf("got %+v %v", res, err)
		}
	})
	for _, tt := range []struct{ name, schema, table string }{
		{"unknown table", f.sales, "nope"},
		{"names are exact", f.sales, "order lines"},
		{"unknown schema", "nope", "customers"},
		{"a sequence is not a table", f.sales, "not_a_table"},
		{"an index is not a table", f.sales, "order_lines_qty"},
		{"injection in the name", f.sales, `Order Lines"; DROP TABLE "Order Lines`},
		{"injection in the schema", `x"."y`, "customers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sample(tt.schema, tt.table, 10)
			if err == nil || err.Code != providers.CodeNotFound {
				t.Fatalf("got %v, want not_found", err)
			}
		})
	}
	if res, err := sample(f.sales, "Order Lines", 10); err != nil || len(res.Rows) != 3 {
		t.Errorf("the table is gone or changed: %v %v", res, err)
	}
}

func TestQueryValues(t *testing.T) {
	c := openTest(t, nil)
	a := adminConn(t)
	s := newSchema(t, a, "junction_values_")
	exec(t, a,
		`CREATE TYPE `+s+`.mood AS ENUM ('sad', 'happy')`,
		`CREATE DOMAIN `+s+`.posint AS integer CHECK (VALUE > 0)`,
		`CREATE DOMAIN `+s+`.doc AS jsonb`,
	)
	tests := []struct{ name, expr, want string }{
		{"bool", "true", "true"},
		{"int2", "(-32768)::int2", "-32768"},
		{"int4", "2147483647", "2147483647"},
		{"int8 2^53 is a number", "9007199254740992::int8", "9007199254740992"},
		{"int8 past 2^53 is a string", "9007199254740993::int8", `"9007199254740993"`},
		{"int8 2^60", "(2::numeric ^ 60)::int8", `"1152921504606846976"`},
		{"int8 min", "(-9223372036854775808)::int8", `"-9223372036854775808"`},
		{"numeric with 40 digits", "1234567890123456789012345678901234567890.0123456789::numeric", `"1234567890123456789012345678901234567890.0123456789"`},
		{"numeric(10,2) keeps its scale", "1.5::numeric(10,2)", `"1.50"`},
		{"numeric NaN", "'NaN'::numeric", `"NaN"`},
		{"numeric infinity", "'-Infinity'::numeric", `"-Infinity"`},
		{"float8", "0.1::float8", "0.1"},
		{"float8 exact", "1.7976931348623157e308::float8", "1.7976931348623157e+308"},
		{"float4", "1.1::float4", "1.1"},
		{"float NaN", "'NaN'::float8", `"NaN"`},
		{"float infinity", "'Infinity'::float8", `"Infinity"`},
		{"float -infinity", "'-Infinity'::float4", `"-Infinity"`},
		{"text", `'héllo "q" <b>'::text`, `"héllo \"q\" <b>"`},
		{"varchar", "'v'::varchar(3)", `"v"`},
		{"char padded", "'ab'::char(4)", `"ab  "`},
		{"bytea", `'\x00ff10'::bytea`, `"AP8Q"`},
		{"empty bytea", `''::bytea`, `""`},
		{"timestamptz in UTC", "'2024-01-02 03:04:05.123456+05:30'::timestamptz", `"2024-01-01T21:34:05.123456Z"`},
		{"timestamptz whole second", "'2024-06-30 23:59:59Z'::timestamptz", `"2024-06-30T23:59:59Z"`},
		{"timestamptz infinity", "'infinity'::timestamptz", `"infinity"`},
		{"timestamp", "'2024-01-02 03:04:05.5'::timestamp", `"2024-01-02T03:04:05.5Z"`},
		{"timestamp BC stays text", "'0044-03-15 12:00:00 BC'::timestamp", `"0044-03-15 12:00:00 BC"`},
		{"date", "'2024-02-29'::date", `"2024-02-29"`},
		{"time", "'13:14:15.5'::time", `"13:14:15.5"`},
		{"timetz", "'13:14:15+02'::timetz", `"13:14:15+02"`},
		{"interval", "'1 year 2 mons 3 days 04:05:06'::interval", `"1 year 2 mons 3 days 04:05:06"`},
		{"uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"inet", "'192.168.0.1/24'::inet", `"192.168.0.1/24"`},
		{"cidr", "'10.0.0.0/8'::cidr", `"10.0.0.0/8"`},
		{"macaddr", "'08:00:2b:01:02:03'::macaddr", `"08:00:2b:01:02:03"`},
		{"json as is", `'{"b": 1, "a": [1, 2]}'::json`, `{"b":1,"a":[1,2]}`},
		{"jsonb", `'{"b": 1, "a": [1, 2.50]}'::jsonb`, `{"a":[1,2.50],"b":1}`},
		{"jsonb string", `'"x"'::jsonb`, `"x"`},
		{"int array", "'{1,NULL,3}'::int[]", "[1,null,3]"},
		{"2-D array", "'{{1,2},{3,4}}'::int8[]", "[[1,2],[3,4]]"},
		{"array with bounds", "'[0:1]={7,8}'::int[]", "[7,8]"},
		{"empty array", "'{}'::int[]", "[]"},
		{"text array", `ARRAY['a b', 'c"d', NULL, 'NULL', '', 'x,y', 'back\slash', '{}']`, `["a b","c\"d",null,"NULL","","x,y","back\\slash","{}"]`},
		{"numeric array", "ARRAY[1.50, 'NaN']::numeric[]", `["1.50","NaN"]`},
		{"jsonb array", `ARRAY['{"a": 1}', '[1]']::jsonb[]`, `[{"a":1},[1]]`},
		{"bytea array", `ARRAY['\x0102'::bytea]`, `["AQI="]`},
		{"timestamptz array", "ARRAY['2024-01-01 00:00:00+00'::timestamptz]", `["2024-01-01T00:00:00Z"]`},
		{"bool array", "'{t,f}'::bool[]", "[true,false]"},
		{"box array (semicolon delimiter)", "ARRAY[box '((0,0),(1,1))', box '((2,2),(3,3))']", `["(1,1),(0,0)","(3,3),(2,2)"]`},
		{"enum", "'happy'::" + s + ".mood", `"happy"`},
		{"enum array", "ARRAY['happy', 'sad']::" + s + ".mood[]", `["happy","sad"]`},
		{"domain over integer", "5::" + s + ".posint", "5"},
		{"domain array", "ARRAY[5::" + s + ".posint]", "[5]"},
		{"domain over jsonb", `'{"k": true}'::` + s + ".doc", `{"k":true}`},
		{"composite", "ROW(1, 'a b')", `"(1,\"a b\")"`},
		{"range", "int4range(1, 5)", `"[1,5)"`},
		{"money", "12.5::money", ""}, // a string in the server's locale
		{"oid", "'pg_class'::regclass::oid", "1259"},
		{"regclass", "'pg_class'::regclass", `"pg_class"`},
		{"null", "NULL", "null"},
		{"typed null", "NULL::int[]", "null"},
	}
	exprs := make([]string, len(tests))
	for i, tt := range tests {
		exprs[i] = fmt.Sprintf("%s AS c%d", tt.expr, i)
	}
	res := mustQuery(t, c, "SELECT "+strings.Join(exprs, ", "), 10)
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(tests) {
		t.Fatalf("rows %v", res.Rows)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(res.Rows[0][i])
			if tt.want == "" {
				if !strings.HasPrefix(got, `"`) {
					t.Errorf("%s = %s, want a string", tt.expr, got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("%s = %s, want %s", tt.expr, got, tt.want)
			}
		})
	}
	t.Run("duplicate column names survive in order", func(t *testing.T) {
		res := mustQuery(t, c, "SELECT 1 AS a, 2 AS a, 3 AS b, 4 AS a", 10)
		if fmt.Sprint(colNames(res.Columns)) != "[a a b a]" || fmt.Sprint(rowsJSON(res.Rows)) != "[[1,2,3,4]]" {
			t.Errorf("columns %v rows %v", colNames(res.Columns), rowsJSON(res.Rows))
		}
	})
	t.Run("types unknown to a fresh connection, over several fetches and under the byte cap", func(t *testing.T) {
		sql := "SELECT g AS n, (ARRAY['sad', 'happy']::" + s + ".mood[])[1 + g % 2] AS m, ARRAY[g::" + s + ".posint] AS d FROM generate_series(1, 3000) g"
		for _, tt := range []struct {
			maxRows, maxBytes, rows int
			truncated               bool
		}{{2500, 10 << 20, 2500, true}, {5000, 10 << 20, 3000, false}, {2500, 1000, -1, true}} {
			fresh := openTest(t, nil)
			res, err := fresh.Query(context.Background(), providers.QueryRequest{SQL: sql, Limits: providers.RowLimits{MaxRows: tt.maxRows, MaxBytes: tt.maxBytes}})
			if err != nil {
				t.Fatal(err)
			}
			rows := rowsJSON(res.Rows)
			if (tt.rows >= 0 && len(rows) != tt.rows) || (tt.rows < 0 && (len(rows) == 0 || len(rows) > 100)) || res.Truncated != tt.truncated {
				t.Errorf("maxRows %d maxBytes %d: %d rows, truncated=%v", tt.maxRows, tt.maxBytes, len(rows), res.Truncated)
			}
			if len(rows) < 2 || rows[0] != `[1,"happy",[1]]` || rows[1] != `[2,"sad",[2]]` {
				t.Errorf("rows %v", rows[:min(len(rows), 2)])
			}
		}
	})
	t.Run("no rows", func(t *testing.T) {
		res := mustQuery(t, c, "SELECT 1 AS x WHERE false", 10)
		if fmt.Sprint(colNames(res.Columns)) != "[x]" || len(res.Rows) != 0 || res.Truncated {
			t.Errorf("got %+v", res)
		}
	})
}

func TestQueryTableRefs(t *testing.T) {
	a := adminConn(t)
	s := newSchema(t, a, "Refs_")
	pub := randomName("junction_refs_")
	exec(t, a, `CREATE TABLE `+quoteIdent(s)+`."Order Lines" (id int)`, `CREATE TABLE `+quoteIdent(s)+`.items (id int)`,
		`CREATE TABLE public.`+pub+` (id int)`, `CREATE TABLE `+quoteIdent(s)+`.`+pub+` (id int)`)
	t.Cleanup(func() { a.Exec(context.Background(), "DROP TABLE IF EXISTS public."+pub) })
	// Connections whose search_path puts the fixture schema first.
	c := openTest(t, func(pc *pgxpool.Config) {
		pc.ConnConfig.RuntimeParams["search_path"] = quoteIdent(s) + ", public"
	})
	ref := func(schema, table string) string { return schema + "." + table }
	tests := []struct {
		name, sql string
		want      []string
	}{
		{"unqualified names resolve through the search_path", `SELECT * FROM "Order Lines", items`, []string{ref(s, "Order Lines"), ref(s, "items")}},
		{"first schema on the path wins", `SELECT * FROM ` + pub, []string{ref(s, pub)}},
		{"qualified names are kept", `SELECT * FROM public.` + pub, []string{ref("public", pub)}},
		{"pg_catalog is searched first", `SELECT * FROM pg_class LIMIT 1`, []string{ref("pg_catalog", "pg_class")}},
		{"CTE names are not tables", `WITH items AS (SELECT 1) SELECT * FROM items, "Order Lines"`, []string{ref(s, "Order Lines")}},
		{"deduplicated in first-seen order", `SELECT * FROM items, public.` + pub + `, ` + quoteIdent(s) + `.items i2, items i3, ` + pub,
			[]string{ref(s, "items"), ref("public", pub), ref(s, pub)}},
		{"subqueries and CTE bodies", `WITH x AS (SELECT * FROM items) SELECT (SELECT count(*) FROM pg_namespace), * FROM x`,
			[]string{ref(s, "items"), ref("pg_catalog", "pg_namespace")}},
		{"no tables", `SELECT 1`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustQuery(t, c, tt.sql, 1)
			var got []string
			for _, r := range res.TableRefs {
				got = append(got, ref(r.Schema, r.Table))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("refs %q, want %q", got, tt.want)
			}
			if res.TableRefs == nil {
				t.Errorf("TableRefs is nil, want an empty list")
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	settings, password, _ := testDBTB(t)
	c := openTest(t, nil)
	a := adminConn(t)
	// A role without privileges: the database says no, and Junction
	// passes its message on.
	role, rolePW := randomName("junction_nopriv_"), randomName("pw-")
	s := newSchema(t, a, "junction_priv_")
	exec(t, a, "CREATE ROLE "+role+" LOGIN PASSWORD '"+rolePW+"'", "CREATE TABLE "+s+".secret (a int)")
	t.Cleanup(func() {
		a.Exec(context.Background(), "DROP OWNED BY "+role)
		a.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	exec(t, a, "GRANT USAGE ON SCHEMA "+s+" TO "+role)
	nopriv := providertest.Open(t, Driver{}, with(settings, "user", role), map[string]string{"password": rolePW}).(*conn)

	tests := []struct {
		name     string
		c        *conn
		sql      string
		code     providers.Code
		contains []string
		absent   string
	}{
		{name: "unknown column", c: c, sql: "SELECT nope FROM pg_class", code: providers.CodeQueryFailed,
			contains: []string{`column "nope" does not exist`, "SQLSTATE 42703"}},
		{name: "unknown table", c: c, sql: "SELECT * FROM no_such_table_here", code: providers.CodeQueryFailed,
			contains: []string{`relation "no_such_table_here" does not exist`, "42P01"}},
		{name: "error while fetching", c: c, sql: "SELECT 1 / (3 - g) FROM generate_series(1, 5) g", code: providers.CodeQueryFailed,
			contains: []string{"division by zero", "22012"}},
		{name: "parameters are refused", c: c, sql: "SELECT $1", code: providers.CodeRefused, contains: []string{"parameter"}},
		{name: "permission denied", c: nopriv, sql: "SELECT * FROM " + s + ".secret", code: providers.CodeQueryFailed,
			contains: []string{"permission denied for table secret", "42501"}},
		{name: "refusals are not sent", c: c, sql: "DELETE FROM pg_class", code: providers.CodeRefused, contains: []string{"DELETE"}},
		{name: "the password echoed by the database is redacted", c: c, sql: "SELECT '" + password + "'::int", code: providers.CodeQueryFailed,
			contains: []string{"invalid input syntax for type integer"}, absent: password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := query(t, tt.c, tt.sql, 10)
			if err == nil || err.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Message, s) {
					t.Errorf("message %q does not contain %q", err.Message, s)
				}
			}
			if tt.absent != "" && strings.Contains(err.Message, tt.absent) {
				t.Errorf("message %q contains %q", err.Message, tt.absent)
			}
		})
	}
	t.Run("a role without superuser runs the transaction settings", func(t *testing.T) {
		if _, err := query(t, nopriv, "SELECT 1", 1); err != nil {
			t.Fatal(err)
		}
	})
}

// Resource abuse: each case ends in bounded time, and the connection that
// ran it is reused afterwards (the pool never had to open another one).
func TestQueryResources(t *testing.T) {
	c := openTest(t, func(pc *pgxpool.Config) { pc.MaxConns = 1 })
	mustQuery(t, c, "SELECT 1", 1) // warm the parser and the pool
	healthy := func(t *testing.T) {
		t.Helper()
		res := mustQuery(t, c, "SELECT 42 AS answer", 1)
		if fmt.Sprint(rowsJSON(res.Rows)) != "[[42]]" {
			t.Fatalf("following query: %v", rowsJSON(res.Rows))
		}
		if n := c.pool.Stat().NewConnsCount(); n != 1 {
			t.Errorf("the pool opened %d connections; the first one should still serve", n)
		}
	}
	run := func(sql string, maxRows, maxBytes int, timeout time.Duration) (*providers.QueryResult, *providers.Error, time.Duration) {
		start := time.Now()
		res, err := c.Query(context.Background(), providers.QueryRequest{SQL: sql, Timeout: timeout,
			Limits: providers.RowLimits{MaxRows: maxRows, MaxBytes: maxBytes}})
		return res, asError(t, err), time.Since(start)
	}

	t.Run("pg_sleep past the timeout", func(t *testing.T) {
		_, err, took := run("SELECT pg_sleep(10)", 10, 1<<20, time.Second)
		if err == nil || err.Code != providers.CodeTimeout {
			t.Fatalf("got %v, want timeout", err)
		}
		t.Logf("timed out after %s", took)
		if took > 2*time.Second {
			t.Errorf("took %s, want at most the timeout (1s) + 1s", took)
		}
		healthy(t)
	})
	for _, tt := range []struct{ name, sql string }{
		{"a billion rows from a set-returning function in the select list", "SELECT generate_series(1, 1000000000) AS n"},
		{"a billion rows from a join", "SELECT a.n, b.n FROM generate_series(1, 100000) a(n), generate_series(1, 10000) b(n)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res, err, took := run(tt.sql, 1000, 10<<20, 30*time.Second)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != 1000 || !res.Truncated {
				t.Errorf("%d rows, truncated=%v", len(res.Rows), res.Truncated)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d rows in %s, %d KiB allocated", len(res.Rows), took, alloc>>10)
			if took > 10*time.Second {
				t.Errorf("took %s: the result was read past maxRows", took)
			}
			if alloc > 64<<20 {
				t.Errorf("allocated %d MiB for 1,000 rows", alloc>>20)
			}
			healthy(t)
		})
	}
	t.Run("a function scan materializes its whole result: the timeout ends it", func(t *testing.T) {
		// PostgreSQL runs a set-returning function in FROM to completion
		// before the first row (even under LIMIT or a cursor), so this one
		// cannot be cut at maxRows; the statement timeout bounds it.
		_, err, took := run("SELECT * FROM generate_series(1, 1000000000)", 1000, 10<<20, time.Second)
		if err == nil || err.Code != providers.CodeTimeout {
			t.Fatalf("got %v, want timeout", err)
		}
		if took > 5*time.Second {
			t.Errorf("took %s", took)
		}
		healthy(t)
	})
	t.Run("byte cap", func(t *testing.T) {
		res, err, _ := run("SELECT repeat('x', 1000) AS pad FROM generate_series(1, 100000)", 100000, 50_000, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		size := 0
		for _, r := range res.Rows {
			for _, v := range r {
				size += len(v)
			}
		}
		if !res.Truncated || len(res.Rows) == 0 || size > 50_000 {
			t.Errorf("%d rows, %d bytes, truncated=%v", len(res.Rows), size, res.Truncated)
		}
		healthy(t)
	})
	t.Run("maxRows exactly", func(t *testing.T) {
		for _, tt := range []struct {
			max       int
			rows      int
			truncated bool
		}{{5, 5, false}, {4, 4, true}, {6, 5, false}, {1, 1, true}, {3000, 2500, false}, {2000, 2000, true}} {
			n := 5
			if tt.max > 100 {
				n = 2500
			}
			res, err, _ := run(fmt.Sprintf("SELECT generate_series(1, %d)", n), tt.max, 10<<20, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != tt.rows || res.Truncated != tt.truncated {
				t.Errorf("maxRows %d of %d: %d rows, truncated=%v", tt.max, n, len(res.Rows), res.Truncated)
			}
		}
	})
	t.Run("cancelling the context cancels the statement on the server", func(t *testing.T) {
		a := adminConn(t)
		pc, err := c.pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pid := pc.Conn().PgConn().PID() // the pool's one connection
		pc.Release()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan *providers.Error, 1)
		go func() {
			_, err := c.Query(ctx, providers.QueryRequest{SQL: "SELECT pg_sleep(60)", Timeout: time.Minute,
				Limits: providers.RowLimits{MaxRows: 1}})
			done <- asError(t, err)
		}()
		sleeping := func() bool {
			var n int
			a.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND wait_event = 'PgSleep'", pid).Scan(&n)
			return n == 1
		}
		waitFor(t, "the statement to start", sleeping)
		start := time.Now()
		cancel()
		if err := <-done; err == nil || err.Code != providers.CodeTimeout {
			t.Fatalf("got %v, want timeout", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("cancellation took %s", took)
		}
		waitFor(t, "the server to stop the statement", func() bool { return !sleeping() })
		healthy(t)
	})
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
