package postgres

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/providers"
)

// corpusFixture is what testdata/bypass.sql attacks: a table, a sequence, a
// materialized view, a function and a procedure that write, and a file path
// that must never appear.
type corpusFixture struct {
	admin *pgx.Conn
	vars  map[string]string
	file  string
	state string // the checksum before the corpus
}

func newCorpusFixture(t *testing.T) *corpusFixture {
	t.Helper()
	a := adminConn(t)
	var super bool
	if err := a.QueryRow(context.Background(), "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		t.Fatal(err)
	}
	if !super {
		t.Logf("note: the test role is not a superuser; the corpus is meant to run as one (as in CI), so that only Junction's guards stand in the way")
	}
	name := newSchema(t, a, "Corpus_")
	s := quoteIdent(name)
	exec(t, a,
		`CREATE TABLE `+s+`.victim (id int PRIMARY KEY, v text)`,
		`INSERT INTO `+s+`.victim SELECT g, 'row ' || g FROM generate_series(1, 5) g`,
		`CREATE SEQUENCE `+s+`.victim_seq`,
		`CREATE MATERIALIZED VIEW `+s+`.victim_mv AS SELECT * FROM `+s+`.victim`,
		`CREATE FUNCTION `+s+`.my_writer() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO `+s+`.victim VALUES (999, 'written') RETURNING 1 $$`,
		`CREATE PROCEDURE `+s+`.my_proc() LANGUAGE sql AS $$ DELETE FROM `+s+`.victim $$`,
	)
	file := "/tmp/" + randomName("junction-corpus-")
	t.Cleanup(func() { os.Remove(file); os.Remove(file + ".prog") })
	_, _, dsn := testDBTB(t)
	f := &corpusFixture{admin: a, file: file, vars: map[string]string{
		"S": s, "FILE": file, "PROG": "touch " + file + ".prog", "DSN": strings.ReplaceAll(dsn, "'", ""),
	}}
	// Notifications are delivered in commit order: a sentinel sent after
	// the corpus must be the first one this session receives.
	exec(t, a, "LISTEN junction_corpus")
	f.state = f.checksum(t)
	return f
}

// checksum covers everything the corpus could change: the rows, the
// sequence, the schema's relations and functions, large objects, the
// corpus' advisory lock, temporary table and replication slot.
func (f *corpusFixture) checksum(t *testing.T) string {
	t.Helper()
	s := f.vars["S"]
	var sum string
	err := f.admin.QueryRow(context.Background(), `SELECT concat_ws(' | ',
		(SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM `+s+`.victim),
		(SELECT last_value || ':' || is_called FROM `+s+`.victim_seq),
		(SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM `+s+`.victim_mv),
		(SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = $1::regnamespace),
		(SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = $1::regnamespace),
		(SELECT count(*) FROM pg_largeobject_metadata),
		(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42),
		(SELECT count(*) FROM pg_class WHERE relname = 'junction_corpus_tmp'),
		(SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'junction_corpus'))`, s).Scan(&sum)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// unchanged checks nothing the corpus aimed at changed.
func (f *corpusFixture) unchanged(t *testing.T) {
	t.Helper()
	if got := f.checksum(t); got != f.state {
		t.Errorf("the database changed:\nbefore %s\nafter  %s", f.state, got)
	}
	for _, p := range []string{f.file, f.file + ".prog"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was written (%v)", p, err)
		}
	}
	exec(t, f.admin, "NOTIFY junction_corpus, 'sentinel'")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := f.admin.WaitForNotification(ctx)
	if err != nil {
		t.Fatalf("waiting for the sentinel notification: %v", err)
	}
	if n.Payload != "sentinel" {
		t.Errorf("a notification from the corpus was delivered: %+v", n)
	}
}

// TestBypassCorpus runs every statement of testdata/bypass.sql through the
// driver on a superuser connection: each is refused, by the guard before it
// reaches the database (not one byte is sent) or, for what the guard lets
// through, by the read-only transaction; nothing changes, no file appears.
func TestBypassCorpus(t *testing.T) {
	var sent countingDialer
	c := openTest(t, sent.tweak(1))
	f := newCorpusFixture(t)
	mustQuery(t, c, "SELECT 1", 1) // connect and warm the parser
	for _, e := range loadCorpus(t) {
		t.Run(e.name, func(t *testing.T) {
			before := sent.bytes.Load()
			_, err := query(t, c, expand(e.sql, f.vars), 10)
			if err == nil {
				t.Fatalf("ran: %s", e.sql)
			}
			switch e.layer1 {
			case "refused":
				if !stoppedByParser(err) {
					t.Fatalf("code %s (%s), want refused", err.Code, err.Message)
				}
				if n := sent.bytes.Load() - before; n != 0 {
					t.Errorf("a refused statement sent %d bytes to the database", n)
				}
			case "allowed":
				if err.Code != providers.CodeQueryFailed || !strings.Contains(err.Message, "read-only transaction") || !strings.Contains(err.Message, "25006") {
					t.Fatalf("got %s (%s), want the database's read-only error", err.Code, err.Message)
				}
			}
			t.Logf("%s: %s", err.Code, err.Message)
		})
	}
	f.unchanged(t)
	mustQuery(t, c, "SELECT 1", 1)
}

// TestCorpusLayer2Alone switches the guard off: the statements go straight
// to the read-only transaction, the extended protocol and the cursor. Every
// write fails there too; the entries marked unsafe (what acts outside a
// transaction: files, session locks, WAL, signals, other connections) are
// what only the guard stops, and are not run.
func TestCorpusLayer2Alone(t *testing.T) {
	c := openTest(t, func(pc *pgxpool.Config) { pc.MaxConns = 1 })
	c.hooks.skipGuard = true
	f := newCorpusFixture(t)
	setting := func() string {
		res := mustQuery(t, c, "SELECT current_setting('work_mem') || ' ' || current_setting('default_transaction_read_only')", 1)
		return rowsJSON(res.Rows)[0]
	}
	settingBefore := setting()
	var unsafe []string
	for _, e := range loadCorpus(t) {
		if e.layer2 == "unsafe" {
			unsafe = append(unsafe, e.name)
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			_, err := query(t, c, expand(e.sql, f.vars), 10)
			switch e.layer2 {
			case "fails":
				if err == nil {
					t.Fatalf("ran: %s", e.sql)
				}
				if err.Code != providers.CodeQueryFailed {
					t.Fatalf("code %s (%s), want query_failed", err.Code, err.Message)
				}
				t.Logf("%s", err.Message)
			case "runs":
				if err != nil {
					t.Fatalf("failed (%s); the corpus says it runs and is rolled back", err.Message)
				}
			}
		})
	}
	t.Logf("left to the guard alone (not run): %s", strings.Join(unsafe, "; "))
	f.unchanged(t)
	if got := setting(); got != settingBefore {
		t.Errorf("session settings changed: %s, was %s", got, settingBefore)
	}
}

// TestReadOnlyTransactionAlone takes away the cursor too: each write is sent
// as it is (extended protocol) inside the driver's read-only transaction,
// and PostgreSQL's READ ONLY refuses it (SQLSTATE 25006). What READ ONLY
// does not refuse (COPY TO a file or program, LOCK TABLE even in ACCESS
// EXCLUSIVE mode, LISTEN, PREPARE, pg_notify, advisory locks, file reads)
// is what the cursor and the guard are for.
func TestReadOnlyTransactionAlone(t *testing.T) {
	c := openTest(t, func(pc *pgxpool.Config) { pc.MaxConns = 1 })
	f := newCorpusFixture(t)
	s := f.vars["S"]
	for _, sql := range []string{
		"DELETE FROM " + s + ".victim",
		"UPDATE " + s + ".victim SET v = 'x'",
		"INSERT INTO " + s + ".victim VALUES (100, 'x')",
		"MERGE INTO " + s + ".victim t USING (SELECT 1 AS id) x ON t.id = x.id WHEN MATCHED THEN DELETE",
		"TRUNCATE " + s + ".victim",
		"DROP TABLE " + s + ".victim",
		"CREATE TABLE " + s + ".stolen AS SELECT * FROM " + s + ".victim",
		"SELECT * INTO " + s + ".stolen FROM " + s + ".victim",
		"CREATE TEMP TABLE junction_corpus_tmp (a int)",
		"WITH gone AS (DELETE FROM " + s + ".victim RETURNING *) SELECT * FROM gone",
		"SELECT nextval('" + s + ".victim_seq')",
		"SELECT setval('" + s + ".victim_seq', 1000)",
		"SELECT " + s + ".my_writer()",
		"CALL " + s + ".my_proc()",
		"SELECT * FROM " + s + ".victim FOR UPDATE",
		"REFRESH MATERIALIZED VIEW " + s + ".victim_mv",
		"GRANT ALL ON " + s + ".victim TO PUBLIC",
		"CREATE FUNCTION " + s + ".evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
		"ALTER TABLE " + s + ".victim ADD COLUMN x int",
	} {
		t.Run(sql, func(t *testing.T) {
			err := c.withConn(context.Background(), 5*time.Second, func(ctx context.Context, pgc *pgconn.PgConn, _ time.Duration) error {
				b := &pgconn.Batch{}
				b.ExecParams(beginSQL, nil, nil, nil, nil)
				b.ExecParams(sql, nil, nil, nil, nil)
				_, err := pgc.ExecBatch(ctx, b).ReadAll()
				return err
			})
			pe := asError(t, err)
			if pe == nil || pe.Code != providers.CodeQueryFailed || !strings.Contains(pe.Message, "25006") {
				t.Fatalf("got %v, want the read-only error (25006)", pe)
			}
		})
	}
	f.unchanged(t)
}
