package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/junctionhq/junction/providers"
)

// FuzzClassify: the statement guard never panics, refuses with CodeRefused,
// and whatever it accepts is exactly one SELECT, both as the cut-out text and
// as the DECLARE ... CURSOR FOR statement the driver sends.
func FuzzClassify(f *testing.F) {
	vars := map[string]string{"S": `"Corpus_x"`, "FILE": "/tmp/f", "PROG": "touch /tmp/f", "DSN": "dbname=x"}
	for _, e := range loadCorpus(f) {
		f.Add(expand(e.sql, vars))
	}
	for _, s := range []string{
		"SELECT 1", "VALUES (1)", "TABLE t", "WITH x AS (SELECT 1) SELECT * FROM x", "SELECT 1 -- c", "SELECT 1 /* /* */ */",
		"SELECT $$;$$", "SELECT ';'", `SELECT ";" FROM ";"`, "SELECT E'\\';'", "select 1;;", ";", "", "SELECT (SELECT 1 FROM t FOR UPDATE)",
		"SELECT * FROM a.b.c", "SELECT f(x) FILTER (WHERE true) OVER w FROM t WINDOW w AS ()", "SELECT t.set_config FROM t",
	} {
		f.Add(s)
	}
	// Compile the parser before fuzzing: a fuzz worker allows one input
	// 10 seconds, less than the first parse can take.
	if _, err := parse(context.Background(), "SELECT 1"); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := classify(ctx, sql)
		if err != nil {
			pe, ok := err.(*providers.Error)
			if !ok || !stoppedByParser(pe) {
				t.Fatalf("classify(%q) = %T %v, want a refusal", sql, err, err)
			}
			if strings.Contains(pe.Message, "could not be analysed") {
				t.Fatalf("the parser panicked on %q: %s", sql, pe.Message)
			}
			return
		}
		tree, err := parse(ctx, st.Text)
		if err != nil || len(tree.GetStmts()) != 1 || tree.GetStmts()[0].GetStmt().GetSelectStmt() == nil {
			t.Fatalf("accepted %q, but its text %q is not one SELECT: %v %v", sql, st.Text, tree, err)
		}
		sent := "DECLARE " + cursorName + " NO SCROLL CURSOR FOR " + st.Text
		tree, err = parse(ctx, sent)
		if err != nil || len(tree.GetStmts()) != 1 {
			t.Fatalf("accepted %q, but %q is not one statement: %v %v", sql, sent, tree, err)
		}
		if q := tree.GetStmts()[0].GetStmt().GetDeclareCursorStmt().GetQuery(); q.GetSelectStmt() == nil {
			t.Fatalf("accepted %q, but %q is not a cursor over a SELECT", sql, sent)
		}
		again, err := classify(ctx, st.Text)
		if err != nil || fmt.Sprint(again.Tables) != fmt.Sprint(st.Tables) {
			t.Fatalf("accepted %q (tables %v), but its text %q classifies as %v %v", sql, st.Tables, st.Text, again, err)
		}
	})
}
