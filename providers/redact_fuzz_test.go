package providers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/junctionhq/junction/providers"
)

// encoder is one way an upstream may echo a text back.
type encoder struct {
	name string
	enc  func(string) string
	// text is false for encodings the redactor does not look through (it
	// looks for the base64 of the secret itself): such an encoder is only
	// applied to the secret, never to another encoding.
	text bool
}

func jsonMarshal(escapeHTML bool) func(string) string {
	return func(s string) string {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(escapeHTML)
		if err := e.Encode(s); err != nil {
			panic(err)
		}
		out := strings.TrimSuffix(buf.String(), "\n")
		return out[1 : len(out)-1]
	}
}

// escapeEvery writes every character with format (of its code point, or of
// each UTF-16 half for \u escapes outside the BMP).
func escapeEvery(format string, utf16Halves bool) func(string) string {
	return func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if utf16Halves && r > 0xFFFF {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, format+format, hi, lo)
				continue
			}
			fmt.Fprintf(&b, format, r)
		}
		return b.String()
	}
}

// phpJSON is PHP's json_encode: / as \/ and every non-ASCII character \u-escaped.
func phpJSON(s string) string {
	var b strings.Builder
	for _, r := range jsonMarshal(false)(s) {
		switch {
		case r == '/':
			b.WriteString(`\/`)
		case r >= utf8.RuneSelf:
			b.WriteString(escapeEvery(`\u%04x`, true)(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var encoders = []encoder{
	{"plain", func(s string) string { return s }, true},
	{"json", jsonMarshal(true), true},
	{"json without html escape", jsonMarshal(false), true},
	{"php json", phpJSON, true},
	{"\\u every rune", escapeEvery(`\u%04x`, true), true},
	{"\\u every rune upper hex", escapeEvery(`\u%04X`, true), true},
	{"html", html.EscapeString, true},
	{"html decimal every rune", escapeEvery(`&#%d;`, false), true},
	{"html hex every rune", escapeEvery(`&#x%x;`, false), true},
	{"query escape", url.QueryEscape, true},
	{"path escape", url.PathEscape, true},
	{"upper", strings.ToUpper, true},
	{"lower", strings.ToLower, true},
	{"base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }, false},
	{"base64 url", func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }, false},
	{"base64 raw", func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }, false},
	{"base64 raw url", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }, false},
	{"basic auth", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(":" + s)) }, false},
}

// safeText drops the characters that would join an escape with the echo
// beside it (a backslash before \u00fc escapes the backslash instead).
func safeText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\\' || r == '%' || r == '&' || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
}

// checkEchoes redacts every encoding of secret (and every encoding of one
// of those) inside pre ... post and fails when one survives.
func checkEchoes(t *testing.T, secret, pre, post string) {
	t.Helper()
	pre, post = safeText(pre), safeText(post)
	secrets := map[string]string{"api_key": secret}
	for _, inner := range encoders {
		for _, outer := range append([]encoder{encoders[0]}, encoders...) {
			if !outer.text && outer.name != "plain" {
				continue
			}
			enc := outer.enc(inner.enc(secret))
			if !inner.text && outer.name != "plain" && (outer.name == "upper" || outer.name == "lower") {
				continue // a case-changed base64 text is not the secret's
			}
			out := providers.Redact(pre+enc+post, secrets)
			if strings.Contains(out, enc) {
				t.Fatalf("secret %q as %s of %s (%q) survives in %q", secret, outer.name, inner.name, enc, out)
			}
		}
	}
}

// FuzzRedactEncoders: whatever the secret and the text around it, none of
// its encodings, nor an encoding of an encoding, survives redaction.
func FuzzRedactEncoders(f *testing.F) {
	f.Add("CANARY/SLSH/5678", "error: ", " is invalid")
	f.Add("pässwörd-ü1", `{"e":"`, `"}`)
	f.Add(`<&"'>x1`, "<p>", "</p>")
	f.Add("key-😀-long", "", "")
	f.Add("a+b c/d?e=f", "next=", "&x=1")
	f.Add("İstanbul-ıi", "", "")
	f.Add("-----BEGIN KEY-----\nMIIB\n", "x", "y")
	f.Fuzz(func(t *testing.T, secret, pre, post string) {
		if len(secret) < 4 || !utf8.ValidString(secret) {
			return
		}
		checkEchoes(t, secret, pre, post)
	})
}
