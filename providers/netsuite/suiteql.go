package netsuite

import (
	"strings"
	"unicode/utf8"

	"github.com/junctionhq/junction/providers"
)

// statement is a SuiteQL statement as Query sends it.
type statement struct {
	text string // without a trailing ';'
	refs []providers.TableRef
}

// parseSuiteQL refuses (CodeRefused) anything but one SuiteQL SELECT, or
// WITH ... SELECT: the first keyword must be SELECT or WITH (and a WITH
// must lead to a top-level SELECT), and a ';' may only end the statement.
// The tokenizer knows SuiteQL's (Oracle's) string literals with ” escapes,
// "quoted" identifiers and -- and /* */ comments, so none of these is read as
// a keyword or a separator. SuiteQL itself runs nothing but queries; this is
// to answer a clear 422 before a round trip, not the only line of defence.
//
// TableRefs are best effort: the name after each FROM and JOIN, and after
// the commas of a FROM list (SuiteQL's Oracle-style joins), skipping
// subqueries and the names of WITH queries; lowercased, as SuiteQL's names
// are case-insensitive and the catalog spells them in lower case, in schema
// "records".
func parseSuiteQL(s string) (*statement, error) {
	toks, err := suiteqlTokens(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, providers.Errorf(providers.CodeRefused, "the query is empty")
	}
	last := len(toks) - 1
	for i, t := range toks {
		if t.text == ";" && t.kind == punct && i != last {
			return nil, providers.Errorf(providers.CodeRefused, "only one statement can run (a ';' may only end it)")
		}
	}
	if toks[last].text == ";" && toks[last].kind == punct {
		if last == 0 {
			return nil, providers.Errorf(providers.CodeRefused, "the query is empty")
		}
		s = s[:toks[last].pos]
		toks = toks[:last]
	}
	first := toks[0]
	if !first.is("SELECT") && !first.is("WITH") {
		return nil, providers.Errorf(providers.CodeRefused, "only a SuiteQL SELECT can run (the statement starts with %q)", providers.CutDetail(first.text))
	}
	refs, ok := readRefs(toks)
	if !ok {
		return nil, providers.Errorf(providers.CodeRefused, "a WITH clause must be followed by a SELECT")
	}
	return &statement{text: strings.TrimSpace(s), refs: refs}, nil
}

// The kinds of a token.
const (
	word   = iota // a name, keyword or number (dots included)
	quoted        // a "quoted" identifier
	str           // a string literal
	punct         // any other character
)

type token struct {
	text string
	kind int
	pos  int // byte offset in the statement
}

func (t token) is(keyword string) bool { return t.kind == word && strings.EqualFold(t.text, keyword) }

// name is the identifier a word or quoted token spells.
func (t token) name() string {
	if t.kind == quoted {
		return strings.ReplaceAll(t.text[1:len(t.text)-1], `""`, `"`)
	}
	return t.text
}

// suiteqlTokens splits s into tokens, dropping white space and comments.
func suiteqlTokens(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			i += j
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return nil, providers.Errorf(providers.CodeRefused, "a /* comment is not closed")
			}
			i += j + 4
		case c == '\'' || c == '"':
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], c)
				if k < 0 {
					return nil, providers.Errorf(providers.CodeRefused, "a %c-quoted literal or name is not closed", c)
				}
				j += k + 1
				if j < len(s) && s[j] == c { // a doubled quote stands for one
					j++
					continue
				}
				break
			}
			kind := str
			if c == '"' {
				kind = quoted
			}
			toks = append(toks, token{text: s[i:j], kind: kind, pos: i})
			i = j
		case wordByte(c):
			j := i
			for j < len(s) && (wordByte(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{text: s[i:j], kind: word, pos: i})
			i = j
		default:
			_, n := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, token{text: s[i : i+n], kind: punct, pos: i})
			i += n
		}
	}
	return toks, nil
}

func wordByte(c byte) bool {
	return c == '_' || c == '$' || c == '#' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// clauseEnd are the keywords that end a FROM list.
var clauseEnd = map[string]bool{
	"WHERE": true, "GROUP": true, "ORDER": true, "HAVING": true, "UNION": true, "MINUS": true,
	"INTERSECT": true, "EXCEPT": true, "CONNECT": true, "START": true, "FETCH": true, "OFFSET": true,
	"SELECT": true,
}

// readRefs reads the tables a statement reads (see parseSuiteQL). It
// reports false for a WITH without a top-level SELECT after its queries.
func readRefs(toks []token) ([]providers.TableRef, bool) {
	var (
		refs   []providers.TableRef
		seen   = map[string]bool{}
		ctes   = map[string]bool{}
		depth  int
		from   = map[int]bool{} // depths in a FROM list
		body   = !toks[0].is("WITH")
		expect = !body // a WITH query's name comes next
	)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.text == "(" && t.kind == punct:
			depth++
		case t.text == ")" && t.kind == punct:
			delete(from, depth)
			depth--
		case !body && depth == 0 && expect && (t.kind == word || t.kind == quoted) && !t.is("WITH"):
			ctes[strings.ToLower(t.name())] = true
			expect = false
		case !body && depth == 0 && t.text == ",":
			expect = true
		case !body && depth == 0 && t.is("SELECT"):
			body = true
		case t.is("FROM") || t.is("JOIN") || (t.text == "," && t.kind == punct && from[depth]):
			from[depth] = true
			if i+1 >= len(toks) || (toks[i+1].kind != word && toks[i+1].kind != quoted) || clauseEnd[strings.ToUpper(toks[i+1].text)] {
				continue
			}
			n := strings.ToLower(toks[i+1].name())
			if toks[i+1].kind == word {
				n = n[strings.LastIndexByte(n, '.')+1:]
			}
			if n != "" && !ctes[n] && !seen[n] && !(i+2 < len(toks) && toks[i+2].text == "(") {
				seen[n] = true
				refs = append(refs, providers.TableRef{Schema: schema, Table: n})
			}
		case t.kind == word && clauseEnd[strings.ToUpper(t.text)]:
			from[depth] = false
		}
	}
	return refs, body
}
