package postgres

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
)

func TestQuoteIdent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"public", "public"},
		{"orders", "orders"},
		{"_x1", "_x1"},
		{"order_lines2", "order_lines2"},
		{"Sales", `"Sales"`},
		{"Order Lines", `"Order Lines"`},
		{"1abc", `"1abc"`},
		{"abc$", `"abc$"`},
		{"a-b", `"a-b"`},
		{`a"b`, `"a""b"`},
		{`"`, `""""`},
		{"ünïcode", `"ünïcode"`},
		{"select", `"select"`}, // reserved
		{"user", `"user"`},     // reserved
		{"left", `"left"`},     // type_func_name
		{"int", `"int"`},       // col_name
		{"json_table", `"json_table"`},
		{"name", "name"}, // unreserved
		{"data", "data"}, // unreserved
		{"", `""`},
	}
	for _, tt := range tests {
		if got := quoteIdent(tt.in); got != tt.want {
			t.Errorf("quoteIdent(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := qualifiedName("Sales", "Order Lines"); got != `"Sales"."Order Lines"` {
		t.Errorf("qualifiedName = %s", got)
	}
	if got := qualifiedName("public", "orders"); got != "public.orders" {
		t.Errorf("qualifiedName = %s", got)
	}
}

// scanKind returns the keyword kind the embedded parser's scanner gives word.
func scanKind(t testing.TB, word string) pg.KeywordKind {
	t.Helper()
	res, err := scanSQL(word)
	if err != nil || len(res.GetTokens()) != 1 {
		t.Fatalf("scan %q: %v %v", word, res, err)
	}
	return res.GetTokens()[0].GetKeywordKind()
}

// TestQuotedKeywords checks the static keyword list against the embedded
// parser's scanner and, when a database is at hand, against the server's
// pg_get_keywords() and quote_ident().
func TestQuotedKeywords(t *testing.T) {
	for w := range quotedKeywords {
		if k := scanKind(t, w); k == pg.KeywordKind_NO_KEYWORD || k == pg.KeywordKind_UNRESERVED_KEYWORD {
			t.Errorf("%s is listed but the parser says %s", w, k)
		}
	}
	for _, w := range []string{"abort", "data", "name", "value", "public"} {
		if quotedKeywords[w] {
			t.Errorf("%s is listed but is not reserved", w)
		}
	}
	t.Run("server", func(t *testing.T) {
		a := adminConn(t)
		rows, err := a.Query(context.Background(), "SELECT word, catcode, quote_ident(word) FROM pg_get_keywords()")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var word, code, quoted string
			if err := rows.Scan(&word, &code, &quoted); err != nil {
				t.Fatal(err)
			}
			n++
			if code != "U" && !quotedKeywords[word] {
				t.Errorf("the server reserves %s (%s) but the list does not", word, code)
			}
			if code != "U" && quoteIdent(word) != quoted {
				t.Errorf("quoteIdent(%s) = %s, server quote_ident = %s", word, quoteIdent(word), quoted)
			}
			// A word the server does not reserve may still be reserved by
			// the newer grammar of the embedded parser; only the reverse
			// would be wrong.
		}
		if n < 400 {
			t.Errorf("pg_get_keywords returned %d words", n)
		}
	})
}

// FuzzQuoteIdent: a name quoted by quoteIdent, parsed back by PostgreSQL's
// parser in "SELECT * FROM <schema>.<table>", is the same name.
func FuzzQuoteIdent(f *testing.F) {
	for _, s := range []string{"public", "Sales", "Order Lines", `a"b`, "select", "1a", "ünï", "a$", " ", "user", "_", "x.y", `"`, "U&\"x\""} {
		f.Add(s, s)
	}
	// Compile the parser before fuzzing: a fuzz worker allows one input
	// 10 seconds, less than the first parse can take.
	if _, err := parse(context.Background(), "SELECT 1"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, schema, table string) {
		for _, s := range []string{schema, table} {
			// PostgreSQL names are non-empty UTF-8 without NUL, at most
			// 63 bytes (longer ones are truncated by the parser).
			if s == "" || len(s) > 63 || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Skip()
			}
		}
		sql := "SELECT * FROM " + qualifiedName(schema, table)
		tree, err := parse(context.Background(), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		stmts := tree.GetStmts()
		if len(stmts) != 1 {
			t.Fatalf("%s: %d statements", sql, len(stmts))
		}
		from := stmts[0].GetStmt().GetSelectStmt().GetFromClause()
		if len(from) != 1 || from[0].GetRangeVar() == nil {
			t.Fatalf("%s: FROM is %v", sql, from)
		}
		rv := from[0].GetRangeVar()
		if rv.GetSchemaname() != schema || rv.GetRelname() != table {
			t.Fatalf("%s: parsed back as schema %q table %q, want %q %q", sql, rv.GetSchemaname(), rv.GetRelname(), schema, table)
		}
	})
}
