package sqlserver

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/junctionhq/junction/providers"
)

// guardCase is one statement of testdata/guard.txt.
type guardCase struct {
	line    int
	sql     string
	ok      bool
	refs    string // "schema.table, ..." or "-"; "" when not checked
	message string // what a refusal's message contains
}

func readCorpus(t testing.TB) []guardCase {
	t.Helper()
	f, err := os.Open("testdata/guard.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		cases []guardCase
		cur   *guardCase
		lines []string
	)
	flush := func() {
		if cur != nil {
			cur.sql = strings.Join(lines, "\n")
			cases = append(cases, *cur)
		}
		lines = nil
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "##"):
		case strings.HasPrefix(line, "=== ok"):
			flush()
			cur = &guardCase{line: n, ok: true}
			if _, refs, found := strings.Cut(line, "refs: "); found {
				cur.refs = refs
			}
		case strings.HasPrefix(line, "=== refused "):
			flush()
			cur = &guardCase{line: n, message: strings.TrimPrefix(line, "=== refused ")}
		case cur != nil:
			lines = append(lines, line)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func refsString(refs []providers.TableRef) string {
	if len(refs) == 0 {
		return "-"
	}
	var parts []string
	for _, r := range refs {
		parts = append(parts, r.Schema+"."+r.Table)
	}
	return strings.Join(parts, ", ")
}

func TestGuardCorpus(t *testing.T) {
	cases := readCorpus(t)
	var ok, refused int
	for _, tc := range cases {
		g, err := guard(tc.sql)
		switch {
		case tc.ok && err != nil:
			t.Errorf("line %d: %q refused: %v", tc.line, tc.sql, err)
		case tc.ok:
			ok++
			if got := refsString(g.refs); tc.refs != "" && got != tc.refs {
				t.Errorf("line %d: %q refs = %s, want %s", tc.line, tc.sql, got, tc.refs)
			}
		case err == nil:
			t.Errorf("line %d: %q accepted, want refused (%s)", tc.line, tc.sql, tc.message)
		default:
			refused++
			pe, isPE := err.(*providers.Error)
			if !isPE || pe.Code != providers.CodeRefused || !strings.Contains(pe.Message, tc.message) {
				t.Errorf("line %d: %q: %v, want refused mentioning %q", tc.line, tc.sql, err, tc.message)
			}
		}
	}
	if ok < 20 || refused < 20 {
		t.Errorf("corpus has %d accepted and %d refused statements, want at least 20 of each", ok, refused)
	}
}

// TestGuardText covers what a text corpus cannot hold.
func TestGuardText(t *testing.T) {
	for _, tc := range []struct {
		sql     string
		message string // "" means accepted
	}{
		{"SELECT 1\x00; DROP TABLE t", "NUL"},
		{"SELECT '\xff'", "UTF-8"},
		{"SELECT 1 -- comment\rDROP TABLE t", "line feed"},
		{"SELECT 1 -- comment\u2028DROP TABLE t", "line feed"},
		{"SELECT 1 -- comment\r\nFROM t", ""},
		{"SELECT 1\r\nFROM t\r\n", ""},
		{"SELECT\t1\n", ""},
		{"SELECT 1\v", "unexpected character"},
	} {
		_, err := guard(tc.sql)
		switch {
		case tc.message == "" && err != nil:
			t.Errorf("%q refused: %v", tc.sql, err)
		case tc.message != "" && (err == nil || !strings.Contains(err.Error(), tc.message)):
			t.Errorf("%q: %v, want refused mentioning %q", tc.sql, err, tc.message)
		}
	}
}

// FuzzGuard: the guard never panics, and what it accepts is, read by a
// separate T-SQL scanner written the way SQL Server reads a batch (nested
// comments, ]] and "" escapes), one statement starting with SELECT or WITH,
// with no ';' but a last one and no denied word outside literals, quoted
// names and comments.
func FuzzGuard(f *testing.F) {
	for _, tc := range readCorpus(f) {
		f.Add(tc.sql)
	}
	f.Add("SELECT 1 -- x\rDROP")
	f.Add("SELECT a/**/b")
	f.Fuzz(func(t *testing.T, sql string) {
		g, err := guard(sql)
		if err != nil {
			if pe, ok := err.(*providers.Error); !ok || pe.Code != providers.CodeRefused {
				t.Fatalf("%q: error %v is not a refusal", sql, err)
			}
			return
		}
		words, semis, ok := tsqlWords(g.text)
		if !ok {
			t.Fatalf("%q accepted but SQL Server would not read it to the end", sql)
		}
		if len(words) == 0 || (words[0].text != "SELECT" && words[0].text != "WITH") || words[0].pos != firstToken(g.text) {
			t.Fatalf("%q accepted but does not start with SELECT or WITH", sql)
		}
		for _, w := range words {
			if deniedWords[w.text] || strings.HasPrefix(w.text, "XP_") || strings.HasPrefix(w.text, "SP_") {
				t.Fatalf("%q accepted with %s in it", sql, w.text)
			}
		}
		if semis > 1 || (semis == 1 && !strings.HasSuffix(strings.TrimRightFunc(stripComments(g.text), unicode.IsSpace), ";")) {
			t.Fatalf("%q accepted with a ';' before its end", sql)
		}
	})
}

type tsqlWord struct {
	text string
	pos  int
}

// tsqlWords scans s as SQL Server reads a batch: it returns the bare words
// (upper-cased, split at dots) and the number of ';' outside literals,
// quoted names and comments; ok is false for an unclosed one.
func tsqlWords(s string) (words []tsqlWord, semis int, ok bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexAny(s[i:], "\r\n")
			if end < 0 {
				return words, semis, true
			}
			i += end
		case strings.HasPrefix(s[i:], "/*"):
			depth, j := 1, i+2
			for depth > 0 {
				if j >= len(s) {
					return nil, 0, false
				}
				switch {
				case strings.HasPrefix(s[j:], "/*"):
					depth, j = depth+1, j+2
				case strings.HasPrefix(s[j:], "*/"):
					depth, j = depth-1, j+2
				default:
					j++
				}
			}
			i = j
		case r == '\'' || r == '"' || r == '[':
			closing := byte(r)
			if r == '[' {
				closing = ']'
			}
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], closing)
				if k < 0 {
					return nil, 0, false
				}
				j += k + 1
				if j < len(s) && s[j] == closing {
					j++
					continue
				}
				break
			}
			i = j
		case r == ';':
			semis++
			i++
		case unicode.IsLetter(r) || r == '_' || r == '@' || r == '#' || r == '$' || unicode.IsDigit(r):
			j := i
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if !(unicode.IsLetter(r2) || unicode.IsDigit(r2) || r2 == '_' || r2 == '@' || r2 == '#' || r2 == '$') {
					break
				}
				j += n2
			}
			words = append(words, tsqlWord{strings.ToUpper(s[i:j]), i})
			i = j
		default:
			i += n
		}
	}
	return words, semis, true
}

// firstToken is the offset of the first character outside white space and
// comments.
func firstToken(s string) int {
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexAny(s[i:], "\r\n")
			if end < 0 {
				return len(s)
			}
			i += end
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return len(s)
			}
			i += end + 4
		case unicode.IsSpace(rune(s[i])):
			i++
		default:
			return i
		}
	}
	return len(s)
}

// stripComments removes -- comments at the end of s, so a trailing ';'
// followed by a comment still counts as the last character.
func stripComments(s string) string {
	for {
		t := strings.TrimRightFunc(s, unicode.IsSpace)
		if i := strings.LastIndex(t, "--"); i >= 0 && !strings.ContainsAny(t[i:], "\n") {
			s = t[:i]
			continue
		}
		if strings.HasSuffix(t, "*/") {
			if i := strings.LastIndex(t, "/*"); i >= 0 {
				s = t[:i]
				continue
			}
		}
		return t
	}
}
