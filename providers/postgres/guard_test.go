package postgres

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

// Layer 1 alone: the statement guard, with no database anywhere.

func TestClassifyAccepts(t *testing.T) {
	type ref = providers.TableRef
	tr := func(schema, table string) ref { return ref{Schema: schema, Table: table} }
	tests := []struct {
		name, sql string
		text      string // "" means the sql itself
		tables    []ref
	}{
		{name: "plain select", sql: "SELECT id, name FROM orders WHERE id > 10", tables: []ref{tr("", "orders")}},
		{name: "values", sql: "VALUES (1, 'a'), (2, 'b')"},
		{name: "table shorthand", sql: "TABLE public.orders", tables: []ref{tr("public", "orders")}},
		{name: "semicolons around are dropped", sql: " ;; SELECT 1 ;; ", text: "SELECT 1"},
		{name: "trailing comment kept", sql: "SELECT 1 -- the answer", text: "SELECT 1 -- the answer"},
		{name: "nested comment hides the would-be second statement", sql: "SELECT 1 /* /* */ ; DELETE FROM t */",
			text: "SELECT 1 /* /* */ ; DELETE FROM t */"},
		{name: "dollar quote is a string", sql: "SELECT $x$; DELETE FROM t; $x$ AS s"},
		{name: "quoted names", sql: `SELECT * FROM "Sales"."Order Lines" l JOIN "Sales".customers c ON true`,
			tables: []ref{tr("Sales", "Order Lines"), tr("Sales", "customers")}},
		{name: "catalog-qualified", sql: "SELECT * FROM db.public.t", tables: []ref{tr("public", "t")}},
		{name: "union arms", sql: "SELECT a FROM x UNION ALL SELECT b FROM y", tables: []ref{tr("", "x"), tr("", "y")}},
		{name: "subqueries everywhere", sql: "SELECT (SELECT max(a) FROM s1), b FROM t WHERE c IN (SELECT c FROM s2) AND EXISTS (SELECT 1 FROM s3)",
			tables: []ref{tr("", "s1"), tr("", "t"), tr("", "s2"), tr("", "s3")}},
		{name: "lateral and joins", sql: "SELECT * FROM a JOIN b USING (id) LEFT JOIN LATERAL (SELECT * FROM c WHERE c.id = a.id) l ON true",
			tables: []ref{tr("", "a"), tr("", "b"), tr("", "c")}},
		{name: "CTE names are not tables", sql: "WITH o AS (SELECT * FROM orders) SELECT * FROM o JOIN customers ON true",
			tables: []ref{tr("", "orders"), tr("", "customers")}},
		{name: "qualified name is a table even when a CTE has its name", sql: "WITH orders AS (SELECT 1) SELECT * FROM orders, public.orders",
			tables: []ref{tr("public", "orders")}},
		{name: "CTE is not visible before it is defined", sql: "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b",
			tables: []ref{tr("", "b")}},
		{name: "recursive CTE sees itself and its siblings", sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r, s WHERE n < 3), s AS (SELECT 1) SELECT * FROM r",
			tables: nil},
		{name: "CTE scope ends with its statement", sql: "SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) q, x",
			tables: []ref{tr("", "x")}},
		{name: "inner CTE shadows outer one", sql: "WITH x AS (SELECT * FROM base) SELECT * FROM (WITH y AS (SELECT * FROM x) SELECT * FROM y) q",
			tables: []ref{tr("", "base")}},
		{name: "duplicates kept in text order (dedupe after resolution)", sql: "SELECT * FROM b, a, b", tables: []ref{tr("", "b"), tr("", "a"), tr("", "b")}},
		{name: "functions in FROM are not tables", sql: "SELECT * FROM generate_series(1, 3) g, unnest(ARRAY[1]) u"},
		{name: "pg_sleep is allowed", sql: "SELECT pg_sleep(1)"},
		{name: "a column merely named like a function", sql: "SELECT nextval FROM t", tables: []ref{tr("", "t")}},
		{name: "set_config as a string", sql: "SELECT 'set_config' AS f"},
		{name: "current_setting reads", sql: "SELECT current_setting('work_mem')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := classify(context.Background(), tt.sql)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			want := tt.text
			if want == "" {
				want = strings.TrimSpace(tt.sql)
			}
			if st.Text != want {
				t.Errorf("text = %q, want %q", st.Text, want)
			}
			if fmt.Sprint(st.Tables) != fmt.Sprint(tt.tables) {
				t.Errorf("tables = %v, want %v", st.Tables, tt.tables)
			}
		})
	}
}

func TestClassifyRefuses(t *testing.T) {
	tests := []struct{ name, sql, contains string }{
		{"empty", "", "empty"},
		{"only semicolons and comments", " ; -- nothing\n ; ", "empty"},
		{"two selects", "SELECT 1; SELECT 2", "only one statement is allowed, but this text has 2"},
		{"NUL byte", "SELECT 1\x00", "NUL"},
		{"too long", "SELECT '" + strings.Repeat("x", maxSQLBytes) + "'", "longer than"},
		{"insert", "INSERT INTO t VALUES (1)", "INSERT is not"},
		{"explain select", "EXPLAIN SELECT 1", "EXPLAIN is not"},
		{"show", "SHOW work_mem", "SHOW is not"},
		{"unnamed kind", "CLUSTER t", "a CLUSTER statement is not"},
		{"into", "SELECT 1 INTO t", "SELECT ... INTO"},
		{"for update", "SELECT * FROM t FOR UPDATE", "locking clause"},
		{"into in a union arm", "SELECT 1 UNION SELECT 2 INTO t", "INTO"},
		{"for share in a subquery", "SELECT * FROM (SELECT * FROM t FOR SHARE) s", "locking clause"},
		{"for update in a CTE", "WITH l AS (SELECT * FROM t FOR NO KEY UPDATE) SELECT * FROM l", "locking clause"},
		{"data-modifying CTE", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "a WITH query may only contain SELECT, but d is DELETE"},
		{"data-modifying CTE in a subquery", "SELECT * FROM (WITH d AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM d) s", "INSERT"},
		{"denied function", "SELECT pg_read_file('/etc/passwd')", "the function pg_read_file is not allowed: it reads or writes files"},
		{"denied function qualified", "SELECT pg_catalog.set_config('a', 'b', false)", "pg_catalog.set_config is not allowed"},
		{"denied function upper case", "SELECT PG_CATALOG.PG_ADVISORY_LOCK(1)", "pg_catalog.pg_advisory_lock is not allowed"},
		{"denied function quoted upper case", `SELECT "PG_SLEEP_NOT"(), "NEXTVAL"('s')`, "nextval is not allowed"},
		{"denied function in FROM", "SELECT * FROM pg_ls_dir('.')", "pg_ls_dir"},
		{"denied function in ORDER BY", "SELECT 1 ORDER BY txid_current()", "txid_current"},
		{"denied function in a default-argument position", "SELECT coalesce(NULL, nextval('s'))", "nextval"},
		{"denied function in a CTE", "WITH x AS (SELECT lo_import('/etc/hostname')) SELECT * FROM x", "lo_import"},
		{"denied function in a lateral join", "SELECT * FROM t, LATERAL (SELECT dblink_exec('x', 'y')) d", "dblink_exec"},
		{"denied function in a window", "SELECT row_number() OVER (ORDER BY pg_notify('a', 'b')) FROM t", "pg_notify"},
		{"denied function in a filter", "SELECT count(*) FILTER (WHERE pg_try_advisory_lock(1)) FROM t", "pg_try_advisory_lock"},
		{"denied function in CASE", "SELECT CASE WHEN true THEN query_to_xml('x', true, true, '') END", "query_to_xml"},
		{"denied function as a column default of VALUES", "VALUES (setval('s', 1))", "setval"},
		{"attribute notation", "SELECT t.nextval FROM t", "names the function nextval"},
		{"parameters", "SELECT * FROM t WHERE id = $1", "parameter ($1)"},
		{"unicode escape spelling", `SELECT U&"pg_read_\0066ile"('x')`, "pg_read_file"},
		{"denied function in a recursive CTE arm", "WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT pg_stat_reset()::int FROM r) SELECT * FROM r", "pg_stat_reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := classify(context.Background(), tt.sql)
			if err == nil {
				t.Fatalf("accepted: %+v", st)
			}
			pe := asError(t, err)
			if pe.Code != providers.CodeRefused {
				t.Fatalf("code = %s (%s), want refused", pe.Code, pe.Message)
			}
			if !strings.Contains(pe.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", pe.Message, tt.contains)
			}
		})
	}
}

// TestClassifySyntaxErrors: text PostgreSQL's parser rejects is the
// database's own error (query_failed, 400), with the parser's message.
func TestClassifySyntaxErrors(t *testing.T) {
	tests := []struct{ name, sql, contains string }{
		{"syntax error", "SELEC 1", `could not be parsed: syntax error at or near "SELEC"`},
		{"unterminated string", "SELECT 'abc", "could not be parsed: unterminated quoted string"},
		{"too deep", "SELECT " + strings.Repeat("(", 20000) + "1" + strings.Repeat(")", 20000), "could not be parsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := classify(context.Background(), tt.sql)
			if err == nil {
				t.Fatalf("accepted: %+v", st)
			}
			pe := asError(t, err)
			if pe.Code != providers.CodeQueryFailed || !strings.Contains(pe.Message, tt.contains) {
				t.Fatalf("got %s %q, want query_failed containing %q", pe.Code, pe.Message, tt.contains)
			}
		})
	}
}

func TestDeniedFunctionFamilies(t *testing.T) {
	denied := []string{"pg_read_file", "PG_READ_BINARY_FILE", "pg_ls_dir", "pg_ls_waldir", "pg_stat_file", "pg_file_write",
		"lo_import", "lo_export", "lo_get", "loread", "dblink", "dblink_exec", "query_to_xml", "query_to_xml_and_xmlschema",
		"cursor_to_xml", "table_to_xmlschema", "schema_to_xml", "database_to_xml", "ts_stat", "set_config",
		"pg_cancel_backend", "pg_terminate_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_advisory_lock",
		"pg_advisory_xact_lock_shared", "pg_try_advisory_lock", "pg_advisory_unlock_all", "pg_notify", "txid_current",
		"pg_current_xact_id", "nextval", "setval", "currval", "lastval", "pg_switch_wal", "pg_create_physical_replication_slot",
		"pg_create_logical_replication_slot", "pg_create_restore_point", "pg_logical_emit_message", "pg_stat_reset_shared",
		"gin_clean_pending_list", "pg_promote"}
	allowed := []string{"pg_sleep", "now", "current_setting", "count", "pg_backend_pid", "txid_current_if_assigned",
		"pg_current_xact_id_if_assigned", "lower", "pg_size_pretty", "format", "to_regclass", "pg_get_viewdef", "loop"}
	for _, n := range denied {
		if why, ok := deniedFunction(n); !ok || why == "" {
			t.Errorf("%s is not denied", n)
		}
	}
	for _, n := range allowed {
		if _, ok := deniedFunction(n); ok {
			t.Errorf("%s is denied", n)
		}
	}
}

// corpusEntry is one statement of testdata/bypass.sql.
type corpusEntry struct {
	name, layer1, layer2, sql string
}

func loadCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/bypass.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	var cur *corpusEntry
	var body []string
	flush := func() {
		if cur != nil {
			cur.sql = strings.TrimSpace(strings.Join(body, "\n"))
			out = append(out, *cur)
		}
		body = nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if head, ok := strings.CutPrefix(line, "#### "); ok {
			flush()
			name, attrs, _ := strings.Cut(head, " | ")
			cur = &corpusEntry{name: strings.TrimSpace(name)}
			for _, kv := range strings.Fields(attrs) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "layer1":
					cur.layer1 = v
				case "layer2":
					cur.layer2 = v
				}
			}
			if (cur.layer1 != "refused" && cur.layer1 != "allowed") || (cur.layer2 != "fails" && cur.layer2 != "runs" && cur.layer2 != "unsafe") {
				t.Fatalf("corpus entry %q: bad attributes %q", cur.name, attrs)
			}
			continue
		}
		if cur != nil {
			body = append(body, line)
		}
	}
	flush()
	if len(out) < 40 {
		t.Fatalf("the corpus has %d statements, want at least 40", len(out))
	}
	return out
}

// expand fills the corpus placeholders.
func expand(sql string, vars map[string]string) string {
	for k, v := range vars {
		sql = strings.ReplaceAll(sql, "{{"+k+"}}", v)
	}
	return sql
}

func TestCorpusLayer1Alone(t *testing.T) {
	vars := map[string]string{"S": "junction_corpus", "FILE": "/tmp/junction-corpus", "PROG": "touch /tmp/junction-corpus.prog",
		"DSN": "dbname=x"}
	for _, e := range loadCorpus(t) {
		t.Run(e.name, func(t *testing.T) {
			st, err := classify(context.Background(), expand(e.sql, vars))
			switch e.layer1 {
			case "refused":
				if err == nil {
					t.Fatalf("accepted: %q", st.Text)
				}
				if pe := asError(t, err); !stoppedByParser(pe) {
					t.Fatalf("code = %s (%s)", pe.Code, pe.Message)
				}
			case "allowed":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			}
		})
	}
}

func TestWarmParserReturnsAtOnce(t *testing.T) {
	start := time.Now()
	WarmParser()
	WarmParser()
	if d := time.Since(start); d > time.Second {
		t.Errorf("WarmParser took %s; it must only start the compilation", d)
	}
	// A caller whose context ends while the parser is still compiling
	// gets a timeout, not a hang (when it is already compiled, the parse
	// simply succeeds).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := parse(ctx, "SELECT 1"); err != nil {
		if pe := asError(t, err); pe.Code != providers.CodeTimeout {
			t.Errorf("code = %s (%s), want timeout", pe.Code, pe.Message)
		}
	}
}

// stoppedByParser reports whether layer 1 stopped a statement before the
// database: a refusal, or a syntax error from PostgreSQL's own parser
// (reported as query_failed, but nothing was sent).
func stoppedByParser(pe *providers.Error) bool {
	return pe.Code == providers.CodeRefused ||
		pe.Code == providers.CodeQueryFailed && strings.Contains(pe.Message, "could not be parsed")
}
