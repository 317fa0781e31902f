package providers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
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

// Redact replaces every secret value in s with Redacted, and its encoded
// forms: URL query and path escaping (either hex case), JSON string escaping,
// base64 (standard and URL alphabets, padded or not) on its own or inside a
// longer base64 text such as a basic-auth header. Every occurrence of every
// form is covered, overlapping ones included, so no part of a secret is left
// beside a marker.
func Redact(s string, secrets map[string]string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	var spans [][2]int
	for _, f := range redactForms(secrets) {
		for i := 0; i <= len(s)-len(f); {
			j := strings.Index(s[i:], f)
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(f)})
			i += j + 1
		}
	}
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

// redactForms returns every form of every secret worth looking for.
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
		for _, e := range []string{url.QueryEscape(v), url.PathEscape(v)} {
			add(e)
			add(lowerHexEscapes(e))
		}
		add(jsonEscape(v, true))
		add(jsonEscape(v, false))
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

// jsonEscape returns v as it appears inside a JSON string.
func jsonEscape(v string, escapeHTML bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return v
	}
	out := strings.TrimSuffix(buf.String(), "\n")
	return out[1 : len(out)-1]
}

// lowerHexEscapes rewrites %2F as %2f: some servers echo escapes lower-cased.
func lowerHexEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lowerHex(b[i+1])
			b[i+2] = lowerHex(b[i+2])
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
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
