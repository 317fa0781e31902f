package postgres

// Benchmarks of the driver against the same work done with pgx directly,
// in the same run, on a schema of 10,000 tables and 100,000 columns built
// once per run (its own schema, dropped when the run ends). They skip
// without JUNCTION_TEST_DATABASE_URL. Compare the sub-benchmarks' ns/op:
//
//	go test -run '^$' -bench . -benchtime 3s ./providers/postgres/
//
// Goals: tables and columns at most 2x raw; a 1,000-row query at least half
// the raw throughput (raw ns/op / driver ns/op >= 0.5). Each sub-benchmark
// also reports the CPU time per op of this process and of the server
// session, which stay meaningful when the machine is busy.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/providers"
)

const (
	benchTables  = 10_000
	benchColumns = 10 // per table
)

var (
	benchOnce   sync.Once
	benchSchema string
	benchErr    error
)

// benchFixture builds the schema once per run: tables t00001..t10000 of 10
// columns, and "rows" with 1,000 rows of mixed types for the query benchmark.
func benchFixture(b *testing.B) string {
	b.Helper()
	_, _, dsn := testDBTB(b)
	benchOnce.Do(func() {
		ctx := context.Background()
		a, err := pgx.Connect(ctx, dsn)
		if err != nil {
			benchErr = err
			return
		}
		name := randomName("junction_bench_")
		atExit(func() {
			dropLargeSchema(ctx, a, name)
			a.Close(ctx)
		})
		stmts := []string{"CREATE SCHEMA " + name}
		// In batches: one transaction per 500 tables keeps the lock table small.
		for from := 1; from <= benchTables; from += 500 {
			stmts = append(stmts, fmt.Sprintf(`DO $$ BEGIN FOR i IN %d..%d LOOP
				EXECUTE format('CREATE TABLE %s.%%I (id integer PRIMARY KEY, n bigint, price numeric(10,2), name character varying(255),
					created timestamp with time zone, active boolean, day date, note text, ratio double precision, code smallint)',
					't' || lpad(i::text, 5, '0'));
			END LOOP; END $$`, from, from+499, name))
		}
		stmts = append(stmts,
			`CREATE TABLE `+name+`.rows AS SELECT g AS id, g::bigint * 1000003 AS n, (g * 1.25)::numeric(10,2) AS price,
				'name ' || g AS name, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' AS created,
				g % 2 = 0 AS active, NULL::text AS missing, g * 0.5::float8 AS ratio
			FROM generate_series(1, 1000) g`,
			"ANALYZE "+name+".rows")
		for _, q := range stmts {
			if _, err := a.Exec(ctx, q); err != nil {
				benchErr = fmt.Errorf("%.80s: %w", q, err)
				return
			}
		}
		var cols int
		if err := a.QueryRow(ctx, `SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND c.relname <> 'rows'`, name).Scan(&cols); err != nil || cols != benchTables*benchColumns {
			benchErr = fmt.Errorf("the fixture has %d columns (%v), want %d", cols, err, benchTables*benchColumns)
			return
		}
		benchSchema = name
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSchema
}

// dropLargeSchema drops a schema of thousands of tables 500 tables per
// transaction: one DROP SCHEMA ... CASCADE would need a lock per relation
// and run out of shared lock memory.
func dropLargeSchema(ctx context.Context, a *pgx.Conn, name string) {
	for {
		var drop *string
		err := a.QueryRow(ctx, `SELECT 'DROP TABLE ' || string_agg(format('%I.%I', $1::text, relname), ', ')
			FROM (SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r' LIMIT 500) x`, name).Scan(&drop)
		if err != nil || drop == nil {
			break
		}
		if _, err := a.Exec(ctx, *drop); err != nil {
			break
		}
	}
	a.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
}

// benchConn opens a conn with one pooled connection; the raw side uses the
// same pool, so both run on the same server session.
func benchConn(b *testing.B) (*conn, *pgxpool.Pool) {
	b.Helper()
	c := openTest(b, func(pc *pgxpool.Config) { pc.MaxConns = 1 })
	return c, c.pool
}

// measure runs the benchmark loop and reports, beside ns/op, the CPU time
// per op of this process and of the server session (when the server runs
// on this machine): on a busy machine wall time follows the load, CPU time
// follows the work.
func measure(b *testing.B, pool *pgxpool.Pool, op func()) {
	b.Helper()
	pid := uint32(0)
	if pc, err := pool.Acquire(context.Background()); err == nil {
		pid = pc.Conn().PgConn().PID()
		pc.Release()
	}
	var ops int
	client0, server0 := processCPU(0), processCPU(pid)
	for b.Loop() {
		op()
		ops++
	}
	client, server := processCPU(0)-client0, processCPU(pid)-server0
	b.ReportMetric(float64(client.Nanoseconds())/float64(ops), "client-cpu-ns/op")
	if server > 0 {
		b.ReportMetric(float64(server.Nanoseconds())/float64(ops), "server-cpu-ns/op")
	}
}

// processCPU is the user+system CPU time of this process (pid 0) or of
// another local process (from /proc; 0 when it cannot be read).
func processCPU(pid uint32) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may contain spaces): state is the
	// 3rd field, utime and stime the 14th and 15th, in clock ticks (100/s).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func BenchmarkTables(b *testing.B) {
	schema := benchFixture(b)
	c, pool := benchConn(b)
	ctx := context.Background()
	raw := func() {
		type row struct {
			schema, name string
			kind         byte
		}
		rows, err := pool.Query(ctx, tablesSQL, false, schema, "")
		if err != nil {
			b.Fatal(err)
		}
		var out []row
		var r row
		for rows.Next() {
			if err := rows.Scan(&r.schema, &r.name, &r.kind); err != nil {
				b.Fatal(err)
			}
			out = append(out, r)
		}
		if rows.Err() != nil || len(out) != benchTables+1 {
			b.Fatalf("%d rows, %v", len(out), rows.Err())
		}
	}
	driver := func() {
		res, err := c.ListTables(ctx, providers.ListTablesRequest{Schema: schema})
		if err != nil || len(res.Tables) != benchTables+1 {
			b.Fatalf("%v %v", res, err)
		}
	}
	b.Run("raw", func(b *testing.B) { measure(b, pool, raw) })
	b.Run("driver", func(b *testing.B) { measure(b, pool, driver) })
	b.Run("paired", func(b *testing.B) { paired(b, raw, driver) })
}

func BenchmarkColumns(b *testing.B) {
	schema := benchFixture(b)
	c, pool := benchConn(b)
	ctx := context.Background()
	for _, n := range []int{1, 1000} {
		tables := make([]providers.TableRef, n)
		schemas, names := make([]string, n), make([]string, n)
		for i := range tables {
			tables[i] = providers.TableRef{Schema: schema, Table: fmt.Sprintf("t%05d", i*7+1)}
			schemas[i], names[i] = tables[i].Schema, tables[i].Table
		}
		raw := func() {
			type col struct {
				i                   int64
				schema, table, name string
				has                 bool
				typ                 string
				nullable, pk        bool
			}
			rows, err := pool.Query(ctx, columnsSQL, schemas, names)
			if err != nil {
				b.Fatal(err)
			}
			var out []col
			var c col
			for rows.Next() {
				if err := rows.Scan(&c.i, &c.schema, &c.table, &c.has, &c.name, &c.typ, &c.nullable, &c.pk); err != nil {
					b.Fatal(err)
				}
				out = append(out, c)
			}
			if rows.Err() != nil || len(out) != n*benchColumns {
				b.Fatalf("%d rows, %v", len(out), rows.Err())
			}
		}
		driver := func() {
			res, err := c.ListColumns(ctx, providers.ListColumnsRequest{Tables: tables})
			if err != nil || len(res.Tables) != n {
				b.Fatalf("%v %v", res, err)
			}
		}
		b.Run(fmt.Sprintf("tables=%d/raw", n), func(b *testing.B) { measure(b, pool, raw) })
		b.Run(fmt.Sprintf("tables=%d/driver", n), func(b *testing.B) { measure(b, pool, driver) })
		b.Run(fmt.Sprintf("tables=%d/paired", n), func(b *testing.B) { paired(b, raw, driver) })
	}
}

func BenchmarkQuery1000(b *testing.B) {
	schema := benchFixture(b)
	c, pool := benchConn(b)
	ctx := context.Background()
	sql := "SELECT * FROM " + schema + ".rows ORDER BY id"
	if _, err := classify(ctx, sql); err != nil { // compile the parser outside the timings
		b.Fatal(err)
	}
	raw := func() {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			b.Fatal(err)
		}
		var out [][]any
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, v)
		}
		if rows.Err() != nil || len(out) != 1000 {
			b.Fatalf("%d rows, %v", len(out), rows.Err())
		}
		if _, err := json.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
	// The driver's rows are JSON already (each value encoded once, by
	// providers.RowBuilder): "driver" is the same work as "raw".
	// "driver+marshal" adds the response's own json.Marshal of those rows.
	query := func(marshal bool) func() {
		return func() {
			res, err := c.Query(ctx, providers.QueryRequest{SQL: sql, Limits: providers.RowLimits{MaxRows: 1000, MaxBytes: 10 << 20}})
			if err != nil || len(res.Rows) != 1000 || res.Truncated {
				b.Fatalf("%v %v", res, err)
			}
			if marshal {
				if _, err := json.Marshal(res.Rows); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("raw", func(b *testing.B) { measure(b, pool, raw) })
	b.Run("driver", func(b *testing.B) { measure(b, pool, query(false)) })
	b.Run("driver+marshal", func(b *testing.B) { measure(b, pool, query(true)) })
	b.Run("paired", func(b *testing.B) { paired(b, raw, query(false)) })
}

// paired alternates raw and driver in one loop, so a change of load on a
// busy machine hits both alike, and reports each one's time per op and
// driver/raw (the throughput ratio is its inverse).
func paired(b *testing.B, raw, driver func()) {
	var tr, td time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		raw()
		t1 := time.Now()
		driver()
		td += time.Since(t1)
		tr += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(tr.Nanoseconds())/float64(n), "raw-ns/op")
	b.ReportMetric(float64(td.Nanoseconds())/float64(n), "driver-ns/op")
	b.ReportMetric(float64(td)/float64(tr), "driver/raw")
}
