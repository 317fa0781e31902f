package sqlserver

import (
	"strings"
	"unicode/utf8"

	"github.com/DataDog/go-sqllexer"

	"github.com/junctionhq/junction/providers"
)

// The statement guard. SQL Server has no read-only transaction, so what runs
// is decided here, from tokens of a real T-SQL lexer (go-sqllexer in its SQL
// Server dialect), never from patterns over the text: exactly one statement,
// whose first keyword is SELECT or WITH (... ) SELECT, with no word anywhere
// outside string literals, quoted names and comments that could write,
// execute code, change the session or start another statement. What passes
// still runs inside BEGIN TRAN ... ROLLBACK with a lock timeout and the
// call's deadline (see query.go), with the login's own permissions.
//
// go-sqllexer is built to normalise SQL, not to validate it, and reads a few
// things differently from SQL Server; lex corrects or refuses each of those,
// so that every character the guard takes for a literal, a name or a comment
// is one for SQL Server too:
//   - an unquoted name runs on through '"', '/', '?' and '!' (a/b, x/*...*/,
//     a"b"): lex cuts the name there and lexes the rest again;
//   - SQL Server nests /* */ comments, the lexer does not: a comment holding
//     "/*" is refused;
//   - ]] inside [brackets] is an escaped ']': the lexer ends the name at the
//     first ']', so a bracketed name followed by ']' is refused;
//   - NUL ends the lexer's input early and is refused, as is text that is
//     not UTF-8, a -- comment with a line break other than \n (SQL Server
//     may end the comment there), PostgreSQL's $$ strings, ODBC {escapes}
//     and characters the lexer does not know.

// deniedWords may not appear as a bare word (or part of a dotted name)
// anywhere in a statement: statements that write, define, grant, run code,
// manage transactions or the session, and the keywords of T-SQL's
// separator-less second statements. A column with one of these names can
// still be read in [brackets].
var deniedWords = map[string]bool{
	// Data and schema changes.
	"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "INTO": true, "TRUNCATE": true,
	"CREATE": true, "ALTER": true, "DROP": true, "ADD": true, "TRIGGER": true,
	"WRITETEXT": true, "UPDATETEXT": true, "READTEXT": true, "BULK": true,
	// Security.
	"GRANT": true, "REVOKE": true, "DENY": true, "SETUSER": true, "REVERT": true,
	// Running code and reaching other servers.
	"EXEC": true, "EXECUTE": true, "OPENROWSET": true, "OPENQUERY": true, "OPENDATASOURCE": true,
	// Transactions, session and batch control.
	"BEGIN": true, "COMMIT": true, "ROLLBACK": true, "SAVE": true, "TRAN": true, "TRANSACTION": true,
	"USE": true, "SET": true, "DECLARE": true, "GO": true, "IF": true, "WHILE": true, "GOTO": true,
	"WAITFOR": true, "RECEIVE": true, "SEND": true, "CONVERSATION": true,
	// Server administration.
	"DBCC": true, "BACKUP": true, "RESTORE": true, "DUMP": true, "LOAD": true, "CHECKPOINT": true,
	"SHUTDOWN": true, "KILL": true, "RECONFIGURE": true,
}

// followers are the words after which a top-level SELECT continues the
// statement (a set operation) instead of starting another one.
var followers = map[string]bool{"UNION": true, "EXCEPT": true, "INTERSECT": true}

// guarded is a statement the guard let through.
type guarded struct {
	text string
	refs []providers.TableRef
}

// guard checks that s is one read-only SELECT and reads its table
// references. A refusal is a *providers.Error with CodeRefused whose
// message says why.
func guard(s string) (*guarded, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, refused("the statement is empty")
	}
	last := len(toks) - 1
	if toks[last].text == ";" {
		if last == 0 {
			return nil, refused("the statement is empty")
		}
		toks = toks[:last]
	}
	if first := toks[0]; !first.isWord("SELECT") && !first.isWord("WITH") {
		return nil, refused("only a SELECT (or WITH ... SELECT) can run; the statement starts with %q", providers.CutDetail(first.text))
	}
	depth, main := 0, false
	for i, t := range toks {
		switch {
		case t.text == ";" && t.typ == sqllexer.PUNCTUATION:
			return nil, refused("only one statement can run (a ';' may only end it)")
		case t.text == "{" || t.text == "}":
			return nil, refused("ODBC escape sequences ({...}) are not accepted")
		case t.text == "(" && t.typ == sqllexer.PUNCTUATION:
			depth++
		case t.text == ")" && t.typ == sqllexer.PUNCTUATION:
			if depth--; depth < 0 {
				return nil, refused("the parentheses do not match")
			}
		case t.typ == sqllexer.QUOTED_IDENT:
			for _, part := range nameParts(t) {
				if systemProc(part) {
					return nil, refused("system procedures (%s) cannot be called", providers.CutDetail(part))
				}
			}
		case t.word():
			for _, part := range nameParts(t) {
				up := strings.ToUpper(part)
				switch {
				case deniedWords[up]:
					return nil, refused("%s is not allowed: only a read-only SELECT can run", up)
				case systemProc(part):
					return nil, refused("system procedures (%s) cannot be called", providers.CutDetail(part))
				case up == "NEXT" && i+1 < len(toks) && toks[i+1].isWord("VALUE"):
					return nil, refused("NEXT VALUE FOR changes a sequence: only a read-only SELECT can run")
				}
			}
			if depth == 0 && t.isWord("SELECT") {
				if main && !continues(toks, i) {
					return nil, refused("only one statement can run (a second SELECT starts at %q)", providers.CutDetail(around(toks, i)))
				}
				main = true
			}
		}
	}
	if depth != 0 {
		return nil, refused("the parentheses do not match")
	}
	if !main {
		return nil, refused("a WITH clause must be followed by a SELECT")
	}
	return &guarded{text: s, refs: tableRefs(toks)}, nil
}

func refused(format string, args ...any) *providers.Error {
	return providers.Errorf(providers.CodeRefused, format, args...)
}

// continues reports whether the top-level SELECT at i follows a set
// operator (UNION [ALL], EXCEPT, INTERSECT).
func continues(toks []token, i int) bool {
	if i == 0 {
		return false
	}
	prev := strings.ToUpper(toks[i-1].text)
	if prev == "ALL" && i >= 2 {
		prev = strings.ToUpper(toks[i-2].text)
	}
	return toks[i-1].word() && followers[prev]
}

// around is a few tokens from i, for a message.
func around(toks []token, i int) string {
	var parts []string
	for j := i; j < len(toks) && j < i+4; j++ {
		parts = append(parts, toks[j].text)
	}
	return strings.Join(parts, " ")
}

// systemProc reports whether a name part is an extended or system stored
// procedure's (xp_..., sp_...).
func systemProc(part string) bool {
	up := strings.ToUpper(part)
	return strings.HasPrefix(up, "XP_") || strings.HasPrefix(up, "SP_")
}

// token is one significant lexer token (no white space or comment).
type token struct {
	typ  sqllexer.TokenType
	text string
	pos  int // byte offset in the statement
}

// word reports whether t is a bare word: a name, keyword or function name
// (dots of a multi-part name included).
func (t token) word() bool {
	switch t.typ {
	case sqllexer.IDENT, sqllexer.FUNCTION, sqllexer.KEYWORD, sqllexer.COMMAND, sqllexer.PROC_INDICATOR,
		sqllexer.CTE_INDICATOR, sqllexer.ALIAS_INDICATOR, sqllexer.BOOLEAN, sqllexer.NULL:
		return true
	}
	return false
}

func (t token) isWord(w string) bool { return t.word() && strings.EqualFold(t.text, w) }

// nameParts splits a word or quoted name into the parts of a multi-part
// name, unquoted ([a].[b] and a.b are a and b; db..t is db, "" and t).
func nameParts(t token) []string {
	if t.typ != sqllexer.QUOTED_IDENT {
		return strings.Split(t.text, ".")
	}
	open := t.text[0]
	sep, esc := `"."`, `""`
	if open == '[' {
		sep, esc = "].[", "]]"
	}
	parts := strings.Split(t.text[1:len(t.text)-1], sep)
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, esc, esc[:1])
	}
	return parts
}

// lex returns the significant tokens of s (see the notes at the top).
func lex(s string) ([]token, error) {
	if !utf8.ValidString(s) {
		return nil, refused("the statement is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, refused("the statement contains a NUL character")
	}
	var out []token
	for pos := 0; pos < len(s); {
		lx := sqllexer.New(s[pos:], sqllexer.WithDBMS(sqllexer.DBMSSQLServer))
		for restart := false; !restart && pos < len(s); {
			t := lx.Scan()
			text, start := t.Value, pos
			if t.Type == sqllexer.EOF || text == "" {
				return nil, refused("the statement could not be read past %q", providers.CutDetail(s[pos:]))
			}
			pos += len(text)
			switch t.Type {
			case sqllexer.SPACE:
				continue
			case sqllexer.COMMENT:
				if i := strings.IndexAny(text, "\r\v\f\u0085\u2028\u2029"); i >= 0 && i != len(text)-1 {
					return nil, refused("a -- comment may only end with a line feed")
				}
				continue
			case sqllexer.MULTILINE_COMMENT:
				if strings.Contains(text[2:], "/*") {
					return nil, refused("nested /* comments */ are not accepted")
				}
				continue
			case sqllexer.ERROR, sqllexer.INCOMPLETE_STRING:
				return nil, refused("a string, quoted name or comment is not closed")
			case sqllexer.DOLLAR_QUOTED_STRING, sqllexer.DOLLAR_QUOTED_FUNCTION:
				return nil, refused("$-quoted strings are not T-SQL")
			case sqllexer.UNKNOWN:
				return nil, refused("unexpected character %q", text)
			case sqllexer.QUOTED_IDENT:
				if text[0] == '[' && pos < len(s) && s[pos] == ']' {
					return nil, refused("names containing ']' are not accepted")
				}
			}
			tok := token{typ: t.Type, text: text, pos: start}
			if tok.word() {
				// The lexer runs a name on through characters T-SQL ends it
				// at: keep the name and lex the rest again.
				if i := strings.IndexAny(text, "\"/?!"); i > 0 {
					tok.text, tok.typ, pos, restart = text[:i], sqllexer.IDENT, start+i, true
				}
			}
			out = append(out, tok)
		}
	}
	return out, nil
}

// tableRefs reads the tables a statement reads, best effort: the name after
// each FROM, JOIN and APPLY, and after the commas of a FROM list, skipping
// derived tables, table-valued functions, variables, temporary tables and
// the names of WITH queries. An unqualified name is in dbo (the schema most
// logins resolve it to); a three- or four-part name keeps its database (and
// server) in Schema ("sales.dbo").
func tableRefs(toks []token) []providers.TableRef {
	var (
		refs  []providers.TableRef
		seen  = map[providers.TableRef]bool{}
		ctes  = cteNames(toks)
		depth int
		from  = map[int]bool{} // depths in a FROM list
		trim  = map[int]bool{} // depths inside TRIM( ... FROM ... )
	)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.text == "(" && t.typ == sqllexer.PUNCTUATION:
			depth++
			trim[depth] = i > 0 && toks[i-1].isWord("TRIM")
		case t.text == ")" && t.typ == sqllexer.PUNCTUATION:
			delete(from, depth)
			delete(trim, depth)
			depth--
		case (t.isWord("FROM") && !trim[depth]) || t.isWord("JOIN") || t.isWord("APPLY") ||
			(t.text == "," && t.typ == sqllexer.PUNCTUATION && from[depth]):
			from[depth] = true
			ref, ok := tableName(toks, i+1)
			if !ok {
				continue
			}
			if ref.Schema == "" {
				if ctes[strings.ToLower(ref.Table)] {
					continue
				}
				ref.Schema = "dbo"
			}
			if !seen[ref] {
				seen[ref] = true
				refs = append(refs, ref)
			}
		case t.word() && clauseEnd[strings.ToUpper(t.text)]:
			from[depth] = false
		}
	}
	return refs
}

// clauseEnd are the words that end a FROM list.
var clauseEnd = map[string]bool{
	"WHERE": true, "GROUP": true, "ORDER": true, "HAVING": true, "UNION": true, "EXCEPT": true,
	"INTERSECT": true, "OPTION": true, "FOR": true, "WINDOW": true, "SELECT": true,
}

// tableHints are the words of an old-style table hint, FROM t (NOLOCK), which
// is not a function call.
var tableHints = map[string]bool{
	"NOLOCK": true, "READUNCOMMITTED": true, "READCOMMITTED": true, "READCOMMITTEDLOCK": true, "REPEATABLEREAD": true,
	"SERIALIZABLE": true, "HOLDLOCK": true, "UPDLOCK": true, "XLOCK": true, "ROWLOCK": true, "PAGLOCK": true, "TABLOCK": true,
	"TABLOCKX": true, "NOWAIT": true, "READPAST": true, "INDEX": true, "FORCESEEK": true, "FORCESCAN": true, "SNAPSHOT": true,
	"NOEXPAND": true,
}

// tableName reads the multi-part name at toks[i], if it names a table.
func tableName(toks []token, i int) (providers.TableRef, bool) {
	var parts []string
	for joined := false; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.typ == sqllexer.FUNCTION:
			return providers.TableRef{}, false // a table-valued function
		case t.typ == sqllexer.QUOTED_IDENT || t.typ == sqllexer.IDENT || (joined && t.word()):
		default:
			return providers.TableRef{}, false // (subquery), @variable, a keyword
		}
		p := nameParts(t)
		if joined {
			parts[len(parts)-1] += p[0] // fill the part after the dot
			p = p[1:]
		}
		parts = append(parts, p...)
		switch {
		case t.typ != sqllexer.QUOTED_IDENT && strings.HasSuffix(t.text, "."):
			joined = true // dbo.[orders]: the word ends with its dot
			continue
		case i+1 < len(toks) && toks[i+1].text == "." && toks[i+1].typ == sqllexer.PUNCTUATION:
			parts = append(parts, "")
			joined = true
			i++
			continue
		case i+2 < len(toks) && toks[i+1].text == "(" && !tableHints[strings.ToUpper(toks[i+2].text)]:
			return providers.TableRef{}, false // dbo.fn (1): a function
		}
		break
	}
	n := len(parts)
	if n == 0 || n > 4 || parts[n-1] == "" || strings.HasPrefix(parts[0], "#") {
		return providers.TableRef{}, false
	}
	ref := providers.TableRef{Table: parts[n-1]}
	if n > 1 {
		if ref.Schema = parts[n-2]; ref.Schema == "" {
			ref.Schema = "dbo" // db..t
		}
		if n > 2 {
			ref.Schema = strings.Join(parts[:n-2], ".") + "." + ref.Schema
		}
	}
	return ref, true
}

// cteNames are the names a leading WITH defines (lowercased): the word after
// WITH and after each top-level comma, up to the top-level SELECT.
func cteNames(toks []token) map[string]bool {
	names := map[string]bool{}
	if len(toks) == 0 || !toks[0].isWord("WITH") {
		return names
	}
	depth, expect := 0, true
	for _, t := range toks[1:] {
		switch {
		case t.text == "(" && t.typ == sqllexer.PUNCTUATION:
			depth++
		case t.text == ")" && t.typ == sqllexer.PUNCTUATION:
			depth--
		case depth > 0:
		case t.isWord("SELECT"):
			return names
		case t.text == ",":
			expect = true
		case expect && (t.word() || t.typ == sqllexer.QUOTED_IDENT):
			if p := nameParts(t); len(p) == 1 {
				names[strings.ToLower(p[0])] = true
			}
			expect = false
		}
	}
	return names
}
