package salesforce

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/junctionhq/junction/providers"
)

// statement is a SOQL SELECT as Query runs it.
type statement struct {
	text    string
	refs    []providers.TableRef
	columns []providers.Column // named from the SELECT list, for a result without records
}

// parseSOQL refuses anything that is not a SOQL SELECT (CodeRefused) and
// reads what the statement touches. SOQL has no multi-statement form and
// /query runs nothing else, so the first keyword is the whole check; the
// tokenizer only has to keep string literals (with their backslash escapes)
// from being read as keywords.
func parseSOQL(s string) (*statement, error) {
	toks, err := soqlTokens(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, providers.Errorf(providers.CodeRefused, "the query is empty")
	}
	if !toks[0].is("SELECT") {
		return nil, providers.Errorf(providers.CodeRefused, "only a SOQL SELECT statement can run (the query starts with %q)", providers.CutDetail(toks[0].text))
	}
	st := &statement{text: strings.TrimSpace(s)}
	st.refs, st.columns = readStatement(toks)
	return st, nil
}

// token is one SOQL token: a word (a name, keyword or number, dots
// included), a string literal, or one other character.
type token struct {
	text string
	word bool
}

func (t token) is(keyword string) bool { return t.word && strings.EqualFold(t.text, keyword) }

func soqlTokens(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			j := i + 1
			for ; j < len(s) && s[j] != '\''; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, providers.Errorf(providers.CodeRefused, "a string literal is not closed")
			}
			toks = append(toks, token{text: s[i : j+1]})
			i = j + 1
		case wordByte(c):
			j := i
			for j < len(s) && (wordByte(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{text: s[i:j], word: true})
			i = j
		default:
			_, n := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, token{text: s[i : i+n]})
			i += n
		}
	}
	return toks, nil
}

func wordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// readStatement returns the objects the statement reads, the FROM object and
// those of semi-join subqueries after it (the subqueries of the SELECT list
// name child relationships, not objects), and the columns its SELECT list
// names.
func readStatement(toks []token) ([]providers.TableRef, []providers.Column) {
	var (
		refs    []providers.TableRef
		seen    = map[string]bool{}
		depth   int
		topFrom = -1
	)
	for i, t := range toks {
		switch {
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
		case t.is("FROM") && i+1 < len(toks) && toks[i+1].word:
			if depth == 0 && topFrom < 0 {
				topFrom = i
			} else if topFrom < 0 {
				continue // a child relationship subquery in the SELECT list
			}
			if obj := toks[i+1].text; !seen[strings.ToLower(obj)] {
				seen[strings.ToLower(obj)] = true
				refs = append(refs, providers.TableRef{Schema: schema, Table: obj})
			}
		}
	}
	if topFrom < 0 {
		return refs, nil
	}
	return refs, selectColumns(toks[1:topFrom])
}

// selectColumns names the record keys a SELECT list produces: a field's
// first path segment (Account.Name is the Account object), an alias, a
// subquery's relationship, and exprN for unaliased aggregates.
func selectColumns(list []token) []providers.Column {
	var (
		cols  []providers.Column
		seen  = map[string]bool{}
		exprs int
	)
	add := func(n string) {
		if n != "" && !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			cols = append(cols, providers.Column{Name: n, Nullable: true})
		}
	}
	for _, item := range splitTop(list) {
		first, last := item[0], item[len(item)-1]
		switch {
		case first.text == "(":
			for j := 0; j+1 < len(item); j++ {
				if item[j].is("FROM") && item[j+1].word {
					add(item[j+1].text)
					break
				}
			}
		case first.is("TYPEOF") && len(item) > 1:
			add(item[1].text)
		case len(item) == 1 && first.word:
			if first.is("FIELDS") {
				continue
			}
			add(strings.SplitN(first.text, ".", 2)[0])
		case last.word && len(item) > 1 && item[len(item)-2].text == ")":
			add(last.text) // an alias
		case first.word && len(item) > 2 && item[1].text == "(":
			if first.is("COUNT") && item[2].text == ")" {
				continue // COUNT() answers totalSize, not a record
			}
			switch strings.ToLower(first.text) {
			case "tolabel", "convertcurrency", "format":
				add(strings.SplitN(item[2].text, ".", 2)[0])
			case "fields":
			default:
				add(fmt.Sprintf("expr%d", exprs))
				exprs++
			}
		}
	}
	return cols
}

// splitTop splits a SELECT list at its top-level commas.
func splitTop(list []token) [][]token {
	var (
		out   [][]token
		depth int
		start int
	)
	for i, t := range list {
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		case ",":
			if depth == 0 {
				if i > start {
					out = append(out, list[start:i])
				}
				start = i + 1
			}
		}
	}
	if start < len(list) {
		out = append(out, list[start:])
	}
	return out
}
