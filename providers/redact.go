package providers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Redacted replaces a secret wherever it would have appeared.
const Redacted = "[REDACTED]"

// minSecretLen is the shortest secret that is redacted: shorter values (a
// one-character password) would shred ordinary text and reveal nothing useful.
const minSecretLen = 4

// minEmbeddedLen is the shortest run of secret bytes whose base64 is looked
// for inside a longer base64 text (such as a basic-auth header of a user
// name Redact does not know): 6 bytes make 8 characters.
const minEmbeddedLen = 6

// Redact replaces every secret value in s with Redacted, in every form an
// upstream may echo it back in:
//
//   - as is, in any letter case (the comparison folds case, Unicode
//     included);
//   - escaped, character by character or only in part: JSON string escapes
//     (\/, \", \\, \n and the like, \uXXXX of any character in either hex
//     case, surrogate pairs for characters outside the BMP), HTML character
//     references (&lt; &amp; &quot; &#39; &#x27; and every other named,
//     decimal or hexadecimal one), URL escaping (%XX of every byte, either
//     hex case, + for a space), and any two of these nested (a JSON string
//     quoted in another, a URL inside HTML, ...);
//   - base64 (standard and URL alphabets, padded or not), on its own or
//     inside a longer base64 text such as a basic-auth header, and the
//     basic-auth pairs of the secret with an empty or a known user name.
//
// Every occurrence of every form is covered, overlapping ones included, so no
// part of a secret is left beside a marker.
func Redact(s string, secrets map[string]string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	m := newMatcher(redactForms(secrets))
	if m == nil {
		return s
	}
	return m.redact(s)
}

// redact replaces every occurrence found in s with the marker; overlapping
// and adjacent ones become one.
func (m *matcher) redact(s string) string {
	spans := m.find(s)
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var out strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] <= end; i++ {
			end = max(end, spans[i][1])
		}
		out.WriteString(s[last:start])
		out.WriteString(Redacted)
		last = end
	}
	out.WriteString(s[last:])
	return out.String()
}

// RedactWith is Redact with extra values, such as a session token obtained
// at run time, treated as secrets too (every encoded form included).
func RedactWith(s string, secrets map[string]string, extra ...string) string {
	if len(extra) == 0 {
		return Redact(s, secrets)
	}
	all := make(map[string]string, len(secrets)+len(extra))
	for i, v := range extra {
		// A key no spec can declare, so an extra value never replaces a
		// secret nor is taken for a user name.
		all["\x00extra"+strconv.Itoa(i)] = v
	}
	maps.Copy(all, secrets)
	return Redact(s, all)
}

// redactForms returns every secret and the base64 forms worth looking for;
// escaped and case-changed forms are found by the matcher itself.
func redactForms(secrets map[string]string) []string {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if len(f) >= minSecretLen && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, v := range secrets {
		if len(v) < minSecretLen {
			continue
		}
		add(v)
		b := []byte(v)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString(b))
		}
		// Inside a longer base64 text the secret starts at one of three
		// alignments; the groups made of its bytes alone are the same
		// whatever precedes it.
		for skip := 0; skip < 3 && len(b)-skip >= minEmbeddedLen; skip++ {
			run := b[skip:]
			run = run[:len(run)/3*3]
			add(base64.RawStdEncoding.EncodeToString(run))
			add(base64.RawURLEncoding.EncodeToString(run))
		}
		// Basic auth: with a user name known as a secret, with an empty user
		// name, and as the user name with an empty password.
		add(base64.StdEncoding.EncodeToString([]byte(":" + v)))
		add(base64.StdEncoding.EncodeToString([]byte(v + ":")))
		for _, u := range []string{"username", "user", "email", "client_id", "api_username"} {
			if id := secrets[u]; id != "" {
				add(base64.StdEncoding.EncodeToString([]byte(id + ":" + v)))
			}
		}
	}
	return forms
}

// Runes the matcher uses beyond Unicode: a byte that is not valid UTF-8, and
// a + in URL-decoded text (a space in a query, itself in a path).
const (
	invalidByte rune = unicode.MaxRune + 1 // + the byte's value
	plusOrSpace rune = invalidByte + 256
)

// The encodings the matcher decodes.
const (
	encJSON = 1 << iota // JSON string escapes
	encHTML             // HTML character references
	encURL              // URL escapes
)

var encodings = [...]int{encJSON, encHTML, encURL}

// view is a text decoded one way or another: its characters, for each the
// offset in the original text where its encoding starts (a character's
// encoding ends where the next character with a greater offset starts), and
// whether the last decoding made it from an escape.
type view struct {
	r   []rune
	s   []int32
	dec []bool
}

func (v *view) reset() { v.r, v.s, v.dec = v.r[:0], v.s[:0], v.dec[:0] }

func (v *view) push(r rune, start int32, dec bool) {
	v.r = append(v.r, r)
	v.s = append(v.s, start)
	v.dec = append(v.dec, dec)
}

// matcher finds the forms, case folded, in the text as it is and decoded.
type matcher struct {
	forms [][]rune
	// ascii and first index the forms by their first (folded) character;
	// firstInvalid lists those that start with a byte that is not UTF-8.
	ascii        [utf8.RuneSelf][]int
	first        map[rune][]int
	firstInvalid []int
	// maxLen is the longest form in characters; reach bounds how far an
	// encoded form extends past where it starts, in bytes.
	maxLen, reach int
	// window is how much of a long text is decoded at once (redactWindow).
	window int
	// views are scratch space, reused for every window.
	views [3]view
}

func newMatcher(forms []string) *matcher {
	if len(forms) == 0 {
		return nil
	}
	m := &matcher{first: map[rune][]int{}, window: redactWindow}
	var v view
	for _, f := range forms {
		identity(&v, f)
		p := make([]rune, len(v.r))
		for i, r := range v.r {
			p[i] = fold(r)
		}
		switch {
		case p[0] < utf8.RuneSelf:
			m.ascii[p[0]] = append(m.ascii[p[0]], len(m.forms))
		case p[0] >= invalidByte && p[0] < invalidByte+256:
			m.firstInvalid = append(m.firstInvalid, len(m.forms))
		default:
			m.first[p[0]] = append(m.first[p[0]], len(m.forms))
		}
		m.forms = append(m.forms, p)
		m.maxLen = max(m.maxLen, len(p))
		// Two nested escapes make at most ~15 bytes of one; 40 leaves room
		// for zero-padded references.
		m.reach = max(m.reach, 40*len(f)+64)
	}
	return m
}

// redactWindow is how much of a long text is decoded at once; windows
// overlap by the reach of the longest form, so no occurrence is cut.
const redactWindow = 256 << 10

// windowLead is how far before its nominal start a window begins, so every
// decoder has found its footing (an escape cut by the window's start) by then.
const windowLead = 256

// find returns the spans (start, end offsets in s) of every occurrence.
func (m *matcher) find(s string) [][2]int {
	var spans [][2]int
	if len(s) <= m.window+m.reach {
		m.scanText(s, 0, &spans)
		return spans
	}
	for lo := 0; lo < len(s); lo += m.window {
		start := max(0, lo-windowLead)
		// Not after a backslash: which backslash escapes which would be
		// read differently from the middle of a run of them.
		for n := 0; start > 0 && n < windowLead && s[start-1] == '\\'; n++ {
			start--
		}
		for start > 0 && !utf8.RuneStart(s[start]) {
			start--
		}
		end := min(len(s), lo+m.window+m.reach)
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		m.scanText(s[start:end], start, &spans)
	}
	return spans
}

// scanText looks for the forms in text as it is; decoded by each encoding
// it may hold and by every combination of them at once (an echo escaped
// partly one way, partly another); and decoded twice where the second
// decoding takes in what the first decoded (a nested encoding). base is
// text's offset in the whole.
func (m *matcher) scanText(text string, base int, spans *[][2]int) {
	kinds := 0
	if strings.IndexByte(text, '\\') >= 0 {
		kinds |= encJSON
	}
	if strings.IndexByte(text, '&') >= 0 {
		kinds |= encHTML
	}
	if strings.IndexByte(text, '%') >= 0 || strings.IndexByte(text, '+') >= 0 {
		kinds |= encURL
	}
	v0, v1, v2 := &m.views[0], &m.views[1], &m.views[2]
	identity(v0, text)
	m.scan(v0, text, base, false, spans)
	for k1 := 1; k1 <= encJSON|encHTML|encURL; k1++ {
		if k1&kinds != k1 {
			continue
		}
		if changed, _ := decode(v0, k1, v1); !changed {
			continue
		}
		m.scan(v1, text, base, true, spans)
		if bits.OnesCount(uint(k1)) > 1 {
			continue
		}
		for _, k2 := range encodings {
			if _, nested := decode(v1, k2, nil); nested {
				decode(v1, k2, v2)
				m.scan(v2, text, base, true, spans)
			}
		}
	}
}

// scan records every form found in v. With near set, only occurrences that
// take in a decoded character are looked for: the others are in the view v
// was decoded from.
func (m *matcher) scan(v *view, text string, base int, near bool, spans *[][2]int) {
	nextDec := -1
	for i := 0; i < len(v.r); i++ {
		if near {
			if nextDec < i {
				nextDec = i
				for nextDec < len(v.dec) && !v.dec[nextDec] {
					nextDec++
				}
				if nextDec == len(v.dec) {
					return
				}
			}
			if nextDec-i >= m.maxLen {
				i = nextDec - m.maxLen + 1
			}
		}
		r := fold(v.r[i])
		switch {
		case r < utf8.RuneSelf:
			m.try(v, i, m.ascii[r], text, base, spans)
		case r == plusOrSpace:
			m.try(v, i, m.ascii['+'], text, base, spans)
			m.try(v, i, m.ascii[' '], text, base, spans)
		case r == utf8.RuneError:
			m.try(v, i, m.first[r], text, base, spans)
			m.try(v, i, m.firstInvalid, text, base, spans)
		default:
			m.try(v, i, m.first[r], text, base, spans)
		}
	}
}

// try records each of the candidate forms that occurs at v.r[i:] (its first
// character already compared).
func (m *matcher) try(v *view, i int, candidates []int, text string, base int, spans *[][2]int) {
next:
	for _, c := range candidates {
		p := m.forms[c]
		if i+len(p) > len(v.r) {
			continue
		}
		for k := 1; k < len(p); k++ {
			if !sameRune(fold(v.r[i+k]), p[k]) {
				continue next
			}
		}
		last := i + len(p) - 1
		end := len(text)
		for j := last + 1; j < len(v.s); j++ {
			if v.s[j] > v.s[last] {
				end = int(v.s[j])
				break
			}
		}
		*spans = append(*spans, [2]int{base + int(v.s[i]), base + end})
	}
}

// sameRune compares a folded character of a text with one of a form: a + of
// a URL is a + or a space, and U+FFFD (what JSON encoders write for a byte
// that is not UTF-8) stands for any such byte.
func sameRune(t, p rune) bool {
	switch {
	case t == p:
		return true
	case t == plusOrSpace:
		return p == '+' || p == ' '
	case t == utf8.RuneError:
		return p >= invalidByte && p < invalidByte+256
	}
	return false
}

// fold maps every character to one representative of its case-folding
// orbit, so two characters fold alike exactly when strings.EqualFold holds
// (plus the Turkish dotted and dotless i, which upper- and lower-casing map
// to the ASCII i).
func fold(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	case r > unicode.MaxRune:
		return r
	case r == 0x130 || r == 0x131:
		return 'I'
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// identity makes v the characters of s; a byte that is not UTF-8 is a
// character of its own.
func identity(v *view, s string) {
	v.reset()
	v.grow(len(s))
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			v.push(rune(c), int32(i), false)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			r = invalidByte + rune(s[i])
		}
		v.push(r, int32(i), false)
		i += n
	}
}

// grow makes room for n more characters.
func (v *view) grow(n int) {
	v.r = slices.Grow(v.r, n)
	v.s = slices.Grow(v.s, n)
	v.dec = slices.Grow(v.dec, n)
}

// copyPlain appends the characters in[i:j], none of them decoded.
func (v *view) copyPlain(in *view, i, j int) {
	v.r = append(v.r, in.r[i:j]...)
	v.s = append(v.s, in.s[i:j]...)
	n := len(v.dec)
	v.dec = slices.Grow(v.dec, j-i)[:n+j-i]
	clear(v.dec[n:])
}

// escapeStart reports whether r may start an escape of kinds.
func escapeStart(kinds int, r rune) bool {
	switch r {
	case '\\':
		return kinds&encJSON != 0
	case '&':
		return kinds&encHTML != 0
	case '%', '+':
		return kinds&encURL != 0
	}
	return false
}

// decode undoes the escapes of kinds found in `in`, writing the result to
// out (nil for a dry run). It reports whether anything was decoded and
// whether an escape took in a character that `in` itself had decoded (so
// the two decodings are nested). URL-escaped bytes are reassembled into
// characters.
func decode(in *view, kinds int, out *view) (changed, nested bool) {
	if out != nil {
		out.reset()
		out.grow(len(in.r))
	}
	// A run of %XX bytes waiting to be read as characters.
	var run []byte
	var runStart []int32
	flush := func() {
		for len(run) > 0 {
			r, n := utf8.DecodeRune(run)
			if r == utf8.RuneError && n == 1 {
				r = invalidByte + rune(run[0])
			}
			out.push(r, runStart[0], true)
			run, runStart = run[n:], runStart[n:]
		}
		run, runStart = run[:0], runStart[:0]
	}
	took := func(i, n int) bool { return slices.Contains(in.dec[i:i+n], true) }
	for i := 0; i < len(in.r); {
		// Copy what cannot start an escape in one go.
		j := i
		for j < len(in.r) && !escapeStart(kinds, in.r[j]) {
			j++
		}
		if j > i {
			if out != nil {
				if len(run) > 0 {
					flush()
				}
				out.copyPlain(in, i, j)
			}
			if i = j; i == len(in.r) {
				break
			}
		}
		r := in.r[i]
		if r == '%' {
			if c, ok := hexRunes(in.r[i+1:], 2); ok {
				changed, nested = true, nested || took(i, 3)
				if out != nil {
					run, runStart = append(run, byte(c)), append(runStart, in.s[i])
				} else if nested {
					return
				}
				i += 3
				continue
			}
		}
		if out != nil && len(run) > 0 {
			flush()
		}
		var dec string
		var one rune
		n := 0
		switch r {
		case '\\':
			one, n = jsonEscape(in.r[i:])
		case '&':
			dec, one, n = htmlEntity(in.r[i:])
		case '+':
			one, n = plusOrSpace, 1
		}
		if n == 0 {
			if out != nil {
				out.push(r, in.s[i], false)
			}
			i++
			continue
		}
		changed, nested = true, nested || took(i, n)
		if out == nil {
			if nested {
				return
			}
		} else if dec != "" {
			for _, d := range dec {
				out.push(d, in.s[i], true)
			}
		} else {
			out.push(one, in.s[i], true)
		}
		i += n
	}
	if out != nil {
		flush()
	}
	return
}

// jsonEscape decodes the escape at the start of r (which starts with a
// backslash), returning the character and how many runes it took (0: none).
// Escape letters are read in either case: an echo may be upper-cased after
// it was escaped.
func jsonEscape(r []rune) (rune, int) {
	if len(r) < 2 {
		return 0, 0
	}
	switch r[1] {
	case '"', '\\', '/':
		return r[1], 2
	case 'b', 'B':
		return '\b', 2
	case 'f', 'F':
		return '\f', 2
	case 'n', 'N':
		return '\n', 2
	case 'r', 'R':
		return '\r', 2
	case 't', 'T':
		return '\t', 2
	case 'u', 'U':
		c, ok := hexRunes(r[2:], 4)
		if !ok {
			return 0, 0
		}
		if !utf16.IsSurrogate(c) {
			return c, 6
		}
		if len(r) >= 12 && r[6] == '\\' && (r[7] == 'u' || r[7] == 'U') {
			if lo, ok := hexRunes(r[8:], 4); ok {
				if d := utf16.DecodeRune(c, lo); d != utf8.RuneError {
					return d, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return 0, 0
}

// hexRunes reads n hex digits (either case) from r.
func hexRunes(r []rune, n int) (rune, bool) {
	if len(r) < n {
		return 0, false
	}
	var v rune
	for _, c := range r[:n] {
		d, ok := hexDigit(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | d
	}
	return v, true
}

func hexDigit(c rune) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// maxEntity bounds the length of a character reference looked at.
const maxEntity = 40

// htmlEntity decodes the character reference at the start of r (which
// starts with &): a named one (every HTML5 name, upper-cased ones too), a
// decimal &#NN; or a hexadecimal &#xNN; (the ; optional, as browsers read
// them). It returns the characters (one, or several in dec) and how many
// runes the reference took (0: none).
func htmlEntity(r []rune) (dec string, one rune, n int) {
	if len(r) > 1 && r[1] == '#' {
		n = 2
		base := rune(10)
		if len(r) > 2 && (r[2] == 'x' || r[2] == 'X') {
			n, base = 3, 16
		}
		digits := n
		var v rune
		for ; n < len(r) && n < maxEntity; n++ {
			d, ok := hexDigit(r[n])
			if !ok || d >= base {
				break
			}
			if v <= unicode.MaxRune {
				v = v*base + d
			}
		}
		if n == digits {
			return "", 0, 0
		}
		ref := string(r[:n])
		if n < len(r) && r[n] == ';' {
			n++
		}
		// The code point itself, NUL and the C1 controls included: an echo
		// that escapes every character writes the secret's own code points
		// (browsers read &#128; as windows-1252's euro sign; a secret's
		// U+0080 escaped is still U+0080).
		if v >= 0 && v <= unicode.MaxRune && !utf16.IsSurrogate(v) {
			return "", v, n
		}
		// Surrogates and what is out of range: as html reads them.
		dec = html.UnescapeString(ref + ";")
		if utf8.RuneCountInString(dec) == 1 {
			one, _ = utf8.DecodeRuneInString(dec)
			return "", one, n
		}
		return dec, 0, n
	}
	n = 1
	for n < len(r) && n < maxEntity && r[n] < utf8.RuneSelf && (unicode.IsLetter(r[n]) || unicode.IsDigit(r[n])) {
		n++
	}
	if n == 1 || n >= len(r) || r[n] != ';' {
		return "", 0, 0
	}
	n++
	switch name := strings.ToLower(string(r[1 : n-1])); name {
	case "lt":
		return "", '<', n
	case "gt":
		return "", '>', n
	case "amp":
		return "", '&', n
	case "quot":
		return "", '"', n
	case "apos":
		return "", '\'', n
	default:
		ref := string(r[:n])
		for _, ref := range []string{ref, "&" + name + ";"} {
			if d := html.UnescapeString(ref); d != ref {
				if utf8.RuneCountInString(d) == 1 {
					one, _ = utf8.DecodeRuneInString(d)
					return "", one, n
				}
				return d, 0, n
			}
		}
	}
	return "", 0, 0
}

// RedactValue redacts every string inside v (maps, slices, strings), returning
// a new value; v is not modified.
func RedactValue(v any, secrets map[string]string) any {
	switch t := v.(type) {
	case string:
		return Redact(t, secrets)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[Redact(k, secrets)] = RedactValue(e, secrets)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, e := range t {
			out[Redact(k, secrets)] = Redact(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = RedactValue(e, secrets)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = Redact(e, secrets)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(t))
		for i, e := range t {
			out[i] = RedactValue(e, secrets).(map[string]any)
		}
		return out
	}
	return v
}

// Bounds of what is kept of an upstream's answer after a check: a message
// (and each string of the details) is cut to MaxMessageBytes, the details to
// maxDetailItems entries per object or array, maxDetailDepth levels and
// MaxDetailsBytes of JSON in all.
const (
	MaxMessageBytes = 1000
	MaxDetailsBytes = 16 << 10
	maxDetailItems  = 100
	maxDetailDepth  = 8
)

// DetailsTruncated is the key RedactDetails sets when it left something out.
const DetailsTruncated = "_truncated"

// RedactMessage is Redact, then a cut to at most MaxMessageBytes (without
// splitting a character, "…" marking the cut): what a stored or returned
// failure message may hold of an upstream's text. Redacting first means no
// part of a secret is left at the cut.
func RedactMessage(s string, secrets map[string]string) string {
	s = Redact(s, secrets)
	if len(s) > MaxMessageBytes {
		s = truncateUTF8(s, MaxMessageBytes-len("…")) + "…"
	}
	return s
}

// RedactDetails returns details as their JSON carries them (structs, typed
// slices and maps become objects and arrays) with every string, keys
// included, passed through RedactMessage, a number whose digits hold a
// secret replaced by Redacted, and the whole bounded: at most
// maxDetailItems entries per object (the first by key) or array, nesting
// below maxDetailDepth replaced by "…", and top-level entries dropped (last
// by key first) until the JSON fits in MaxDetailsBytes. When anything was
// left out, DetailsTruncated is true. A value JSON cannot carry is dropped.
func RedactDetails(details map[string]any, secrets map[string]string) map[string]any {
	out := map[string]any{}
	truncated := false
	keys := slices.Sorted(maps.Keys(details))
	if len(keys) > maxDetailItems {
		keys, truncated = keys[:maxDetailItems], true
	}
	size := 2
	for _, k := range keys {
		v, ok := jsonValue(details[k])
		if !ok {
			truncated = true
			continue
		}
		rk := RedactMessage(k, secrets)
		rv := redactDetail(v, secrets, 1, &truncated)
		b, err := json.Marshal(map[string]any{rk: rv})
		if err != nil {
			truncated = true
			continue
		}
		if size+len(b) > MaxDetailsBytes-len(`,"`+DetailsTruncated+`":true`) {
			truncated = true
			continue
		}
		size += len(b) - 1
		out[rk] = rv
	}
	if truncated {
		out[DetailsTruncated] = true
	}
	return out
}

// jsonValue returns v as encoding/json would decode its JSON (numbers as
// json.Number, so none loses digits).
func jsonValue(v any) (any, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

func redactDetail(v any, secrets map[string]string, depth int, truncated *bool) any {
	switch t := v.(type) {
	case map[string]any:
		if depth > maxDetailDepth {
			*truncated = true
			return "…"
		}
		keys := slices.Sorted(maps.Keys(t))
		if len(keys) > maxDetailItems {
			keys, *truncated = keys[:maxDetailItems], true
		}
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			out[RedactMessage(k, secrets)] = redactDetail(t[k], secrets, depth+1, truncated)
		}
		return out
	case []any:
		if depth > maxDetailDepth {
			*truncated = true
			return "…"
		}
		if len(t) > maxDetailItems {
			t, *truncated = t[:maxDetailItems], true
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = redactDetail(e, secrets, depth+1, truncated)
		}
		return out
	}
	return redactScalar(v, secrets)
}

func redactScalar(v any, secrets map[string]string) any {
	switch t := v.(type) {
	case string:
		return RedactMessage(t, secrets)
	case json.Number:
		if Redact(string(t), secrets) != string(t) {
			return Redacted
		}
	}
	return v
}
