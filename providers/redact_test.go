package providers_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/junctionhq/junction/providers"
)

const R = providers.Redacted

func TestRedact(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tricky := `p@ss w/rd&"<x>`
	tests := []struct {
		name    string
		in      string
		secrets map[string]string
		want    string
	}{
		{"no secrets", "hello", nil, "hello"},
		{"empty", "", map[string]string{"password": "hunter2x"}, ""},
		{"plain", "bad password hunter2x for bob", map[string]string{"password": "hunter2x"}, "bad password " + R + " for bob"},
		{"every occurrence", "hunter2x/hunter2x", map[string]string{"password": "hunter2x"}, R + "/" + R},
		{"overlapping occurrences", "aaaaaa", map[string]string{"password": "aaaa"}, R},
		{"short secret untouched", "pin 123 here", map[string]string{"pin": "123"}, "pin 123 here"},
		{"query escaped", "GET /x?pw=" + url.QueryEscape(tricky) + "&a=1", map[string]string{"password": tricky}, "GET /x?pw=" + R + "&a=1"},
		{"query escaped lower hex", "pw=p%40ss+w%2frd%26%22%3cx%3e", map[string]string{"password": tricky}, "pw=" + R},
		{"path escaped", "/users/" + url.PathEscape(tricky) + "/x", map[string]string{"password": tricky}, "/users/" + R + "/x"},
		{"json escaped", `{"error":"bad p@ss w/rd\u0026\"\u003cx\u003e"}`, map[string]string{"password": tricky}, `{"error":"bad ` + R + `"}`},
		{"basic auth with empty user", "Basic " + b64([]byte(":k3y!")), map[string]string{"api_key": "k3y!"}, "Basic " + R},
		{"basic auth as user name", "Basic " + b64([]byte("k3y!:")), map[string]string{"api_key": "k3y!"}, "Basic " + R},
		{"json escaped without html", `{"error":"p@ss w/rd&\"<x>"}`, map[string]string{"password": tricky}, `{"error":"` + R + `"}`},
		{"base64", "token " + b64([]byte("hunter2x")), map[string]string{"password": "hunter2x"}, "token " + R},
		{"base64 url raw", "t=" + base64.RawURLEncoding.EncodeToString([]byte("\xfb\xff\xfe-key")), map[string]string{"api_key": "\xfb\xff\xfe-key"}, "t=" + R},
		{"basic auth with known user", "Authorization: Basic " + b64([]byte("bob:hunter2x")), map[string]string{"username": "bob", "password": "hunter2x"}, "Authorization: Basic " + R},
		{"overlapping secrets", "xabcdefx", map[string]string{"a": "abcd", "b": "cdef"}, "x" + R + "x"},
		{"secret inside another", "key=supersecret-long", map[string]string{"a": "secret", "b": "supersecret-long"}, "key=" + R},
		{"marker-like text kept", "[REDACTED] hunter2x", map[string]string{"password": "hunter2x"}, "[REDACTED] " + R},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := providers.Redact(tt.in, tt.secrets); got != tt.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRedactBasicAuthUnknownUser: the user name of a basic-auth header is
// often a setting, not a secret; the secret's part of the base64 is found at
// any alignment anyway.
func TestRedactBasicAuthUnknownUser(t *testing.T) {
	const secret = "api-key-0123456789"
	for _, user := range []string{"", "a", "ab", "abc", "bob@example.com", "someone.else@example.org"} {
		header := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))
		out := providers.Redact(header, map[string]string{"api_key": secret})
		if !strings.Contains(out, R) {
			t.Fatalf("user %q: %q not redacted", user, out)
		}
		// What is left of the base64 decodes to at most the user name and a
		// few bytes at the edges of the secret.
		left := strings.ReplaceAll(strings.TrimPrefix(out, "Basic "), R, "")
		if len(left) > base64.StdEncoding.EncodedLen(len(user)+1)+8 {
			t.Errorf("user %q: %d base64 characters left in %q", user, len(left), out)
		}
	}
}

func TestRedactValue(t *testing.T) {
	secrets := map[string]string{"token": "tok-12345"}
	in := map[string]any{
		"msg":        "bad tok-12345",
		"tok-12345":  "key is secret",
		"n":          3,
		"list":       []any{"tok-12345", 1.5, map[string]any{"deep": "x tok-12345"}},
		"strings":    []string{"a", "tok-12345"},
		"headers":    map[string]string{"Authorization": "Bearer tok-12345"},
		"rows":       []map[string]any{{"v": "tok-12345"}},
		"untouched":  true,
		"nil":        nil,
		"typed ints": []int{1, 2},
	}
	want := map[string]any{
		"msg":        "bad " + R,
		R:            "key is secret",
		"n":          3,
		"list":       []any{R, 1.5, map[string]any{"deep": "x " + R}},
		"strings":    []string{"a", R},
		"headers":    map[string]string{"Authorization": "Bearer " + R},
		"rows":       []map[string]any{{"v": R}},
		"untouched":  true,
		"nil":        nil,
		"typed ints": []int{1, 2},
	}
	got := providers.RedactValue(in, secrets)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	if in["msg"] != "bad tok-12345" || in["strings"].([]string)[1] != "tok-12345" {
		t.Fatal("the input was modified")
	}
}

func TestConfigRedact(t *testing.T) {
	c := providers.Config{Secrets: map[string]string{"password": "hunter2x"}}
	if got := c.Redact("x hunter2x"); got != "x "+R {
		t.Fatalf("got %q", got)
	}
}

// FuzzRedact: whatever the text and secret, no occurrence of the secret (4
// bytes or more) survives outside the markers, in plain, basic-auth or
// embedded-base64 form.
func FuzzRedact(f *testing.F) {
	f.Add("bad password hunter2x", "hunter2x", "bob")
	f.Add("aaaaaaa", "aaaa", "")
	f.Add("D]abab", "D]ab", "u")
	f.Add("[REDACTED]x", "ED]x", "")
	f.Add("%2F%2f", "/x/y", "me")
	f.Fuzz(func(t *testing.T, s, secret, user string) {
		secrets := map[string]string{"password": secret, "username": user}
		out := providers.Redact(s, secrets)
		if len(secret) < 4 {
			if len(user) < 4 && out != s {
				t.Fatalf("nothing to redact but %q became %q", s, out)
			}
			return
		}
		for _, seg := range strings.Split(out, R) {
			if strings.Contains(seg, secret) {
				t.Fatalf("secret %q survives in %q (from %q)", secret, out, s)
			}
		}
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))
		if got := providers.Redact(s+basic, secrets); strings.Contains(got, basic) {
			t.Fatalf("basic auth survives in %q", got)
		}
		if len(secret) >= 8 {
			embedded := base64.StdEncoding.EncodeToString([]byte(s + secret + s))
			if got := providers.Redact(embedded, map[string]string{"k": secret}); !strings.Contains(got, R) {
				t.Fatalf("base64 of the secret inside %q not redacted", embedded)
			}
		}
	})
}

func TestRedactWith(t *testing.T) {
	secrets := map[string]string{"api_key": "key-1234", "username": "bob"}
	tok := "sess-token-5678"
	in := "key key-1234 token " + tok + " escaped " + url.QueryEscape(tok+"/x") +
		" b64 " + base64.StdEncoding.EncodeToString([]byte(tok))
	got := providers.RedactWith(in, secrets, tok, "", "ab")
	for _, leak := range []string{"key-1234", "sess-token-5678", base64.StdEncoding.EncodeToString([]byte(tok))} {
		if strings.Contains(got, leak) {
			t.Errorf("RedactWith left %q in %q", leak, got)
		}
	}
	if len(secrets) != 2 {
		t.Errorf("RedactWith changed the secrets map: %v", secrets)
	}
	if got, want := providers.RedactWith("key-1234", secrets), R; got != want {
		t.Errorf("RedactWith without extras = %q, want %q", got, want)
	}
}

// TestRedactEchoes: the forms an upstream echoed a secret back in that the
// outside probe found unredacted, and their relatives.
func TestRedactEchoes(t *testing.T) {
	tests := []struct {
		name, in, secret, want string
	}{
		{"json escaped solidus", `{"error":"invalid key CANARY\/SLSH\/5678"}`, "CANARY/SLSH/5678", `{"error":"invalid key ` + R + `"}`},
		{"json \\u escape", `{"e":"bad p\u00e4ssw\u00f6rd-\u00fc1"}`, "pässwörd-ü1", `{"e":"bad ` + R + `"}`},
		{"json \\u escape upper hex", `{"e":"bad p\u00E4ssw\u00F6rd-\u00FC1"}`, "pässwörd-ü1", `{"e":"bad ` + R + `"}`},
		{"json \\u escape of every character", `key=\u0068\u0075\u006e\u0074\u0065\u0072\u0032\u0078.`, "hunter2x", "key=" + R + "."},
		{"json surrogate pair", `"key-\ud83d\ude00-long"`, "key-😀-long", `"` + R + `"`},
		{"json short escapes", `"-----BEGIN KEY-----\nMIIBOgIBAAJ\tBAKj\r\n-----END KEY-----"`, "-----BEGIN KEY-----\nMIIBOgIBAAJ\tBAKj\r\n-----END KEY-----", `"` + R + `"`},
		{"json inside json", `{"body":"{\"key\":\"CANARY\\\/SLSH\\u00fc\"}"}`, "CANARY/SLSHü", `{"body":"{\"key\":\"` + R + `\"}"}`},
		{"html escaped", `<p>bad &lt;&amp;&quot;&#x27;&gt;x1</p>`, `<&"'>x1`, "<p>bad " + R + "</p>"},
		{"html decimal and named", `&#60;&#38;&#34;&#39;&apos;&#062;x1`, `<&"''>x1`, R},
		{"html hex upper", `&#X3C;&#X26;s3cr3t`, "<&s3cr3t", R},
		{"html references of every character", `&#104;&#x75;&#X6E;&#116;&#x65;&#114;&#50;&#120;`, "hunter2x", R},
		{"upper-cased", "token HUNTER2X-SECRET refused", "hunter2x-secret", "token " + R + " refused"},
		{"lower-cased", "token hunter2x-secret refused", "Hunter2X-Secret", "token " + R + " refused"},
		{"case-changed non-ASCII", "KEY PÄSSWÖRD-Ü1 BAD", "pässwörd-ü1", "KEY " + R + " BAD"},
		{"case-changed and escaped", `"P\u00C4SSW\u00D6RD-\u00DC1"`, "pässwörd-ü1", `"` + R + `"`},
		{"url escaped inside html", `<a href="/x?k=p%40ss&amp;w0rd&amp;y=1">`, "p@ss&w0rd", `<a href="/x?k=` + R + `&amp;y=1">`},
		{"url escaped upper-cased", "PW=P%40SS%2FW0RD", "p@ss/w0rd", "PW=" + R},
		{"query plus for space", "pw=pass+word+1", "pass word 1", "pw=" + R},
		{"path keeps plus", "/k/a+b%2Fc-1/x", "a+b/c-1", "/k/" + R + "/x"},
		{"url escape of every byte", "k=%C3%BC%62%65%72%2D%6B%65%79", "über-key", "k=" + R},
		{"double url escaped", "next=%252Fsecret%252Fpath", "/secret/path", "next=" + R},
		{"json escaped base64", `"Basic OnAxc3MtdzByZC1sb25nLXNlY3JldA=="`, "p1ss-w0rd-long-secret", `"Basic ` + R + `"`},
		{"base64 url escaped", "auth=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("k+y/?>~~~"))), "k+y/?>~~~", "auth=" + R},
		{"unrelated escapes kept", `a\u00fcb &amp; c%2F \n`, "hunter2x", `a\u00fcb &amp; c%2F \n`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := providers.Redact(tt.in, map[string]string{"api_key": tt.secret}); got != tt.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRedactEncodersProperty: random secrets (printable ASCII, some
// non-ASCII and a few control characters) echoed through every encoder and
// every pair of them are redacted.
func TestRedactEncodersProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 18))
	alphabet := []rune(` !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_` + "`abcdefghijklmnopqrstuvwxyz{|}~")
	extra := []rune("äöüÄÖÜßéñçøåæ日本語中文😀🔑€£ΣσςİıſK\u2028\n\t")
	text := func(n int) string {
		var b strings.Builder
		for range n {
			if rng.IntN(5) == 0 {
				b.WriteRune(extra[rng.IntN(len(extra))])
			} else {
				b.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
		}
		return b.String()
	}
	n := 50
	if testing.Short() {
		n = 10
	}
	for range n {
		secret := text(4 + rng.IntN(24))
		if len(secret) < 4 {
			continue
		}
		checkEchoes(t, secret, "upstream said: "+text(rng.IntN(20)), text(rng.IntN(20))+" (end)")
	}
}

// TestRedactLongText: a text longer than one decoding window keeps every
// echo found, wherever the windows fall.
func TestRedactLongText(t *testing.T) {
	const secret = "CANARY/SLSH/ü5678"
	forms := []string{secret, `CANARY\/SLSH\/\u00fc5678`, url.QueryEscape(secret), "canary/slsh/Ü5678", `CANARY&#x2F;SLSH/&uuml;5678`}
	filler := strings.Repeat(`abc \\ "x" &amp; %20 `, 1<<14/20)
	var b strings.Builder
	for b.Len() < 600<<10 {
		b.WriteString(filler[:len(filler)-b.Len()%97])
		b.WriteString(strings.Repeat(`\`, b.Len()%5))
		b.WriteString(" " + forms[b.Len()%len(forms)] + " ")
	}
	out := providers.Redact(b.String(), map[string]string{"api_key": secret})
	for _, f := range forms {
		if strings.Contains(out, f) {
			t.Fatalf("%q survives in a long text", f)
		}
	}
	if got, want := strings.Count(out, R), strings.Count(b.String(), " CANARY")+strings.Count(b.String(), " canary"); got != want {
		t.Fatalf("%d markers, want %d", got, want)
	}
}

// BenchmarkRedact redacts a 1 MiB upstream error body (JSON with escapes,
// entities and URL escapes, the secret echoed a few times) against a
// baseline that only looks for the secret as is.
func BenchmarkRedact(b *testing.B) {
	const secret = "CANARY/SLSH/ü5678"
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString(`{"id":12345,"name":"row \"quoted\" \u00e9t\u00e9","url":"https://x.example/a%20b?c=d&amp;e=f","note":"nothing to see here, just text"},`)
		if sb.Len()%7 == 0 {
			sb.WriteString(`{"echo":"CANARY\/SLSH\/\u00fc5678"},`)
		}
	}
	body := sb.String()
	secrets := map[string]string{"api_key": secret}
	b.Run("baseline strings.Index", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			_ = strings.Index(body, secret)
		}
	})
	b.Run("Redact", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			providers.Redact(body, secrets)
		}
	})
	short := `{"error":"invalid api key CANARY\/SLSH\/\u00fc5678 for account 42"}`
	b.Run("Redact short message", func(b *testing.B) {
		for b.Loop() {
			providers.Redact(short, secrets)
		}
	})
}

func TestRedactMessage(t *testing.T) {
	secrets := map[string]string{"api_key": "CANARY/SLSH/5678"}
	long := strings.Repeat("ü", 2000) + `CANARY\/SLSH\/5678`
	got := providers.RedactMessage(`bad key CANARY\/SLSH\/5678: `+long, secrets)
	if len(got) > providers.MaxMessageBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Fatalf("not cut to %d bytes of whole characters: %d bytes, %q...", providers.MaxMessageBytes, len(got), got[len(got)-10:])
	}
	if !strings.HasPrefix(got, "bad key "+R+": ") || strings.Contains(got, "CANARY") {
		t.Fatalf("not redacted: %q", got[:40])
	}
	// A secret cut in two by the cut is redacted first.
	edge := strings.Repeat("x", providers.MaxMessageBytes-10) + "CANARY/SLSH/5678"
	if got := providers.RedactMessage(edge, secrets); strings.Contains(got, "CANARY") {
		t.Fatalf("part of the secret left at the cut: %q", got[len(got)-30:])
	}
}

// TestRedactDetails: every string of the details, however deep and of
// whatever type, is redacted, and the details are bounded.
func TestRedactDetails(t *testing.T) {
	const secret = "CANARY/SLSH/5678"
	secrets := map[string]string{"api_key": secret, "pin": "98765432"}
	type echo struct {
		Header string   `json:"header"`
		Values []string `json:"values"`
	}
	deep := any("CANARY/slsh/5678")
	for range 20 {
		deep = []any{deep}
	}
	in := map[string]any{
		"message":         `invalid key CANARY\/SLSH\/5678`,
		"struct":          echo{Header: "Bearer canary/slsh/5678", Values: []string{"&lt;CANARY/SLSH/5678"}},
		"typed map":       map[string]int{"CANARY/SLSH/5678": 1},
		"pin as a number": 98765432,
		"count":           3,
		"big":             uint64(1 << 62),
		"deep":            deep,
		"long list":       make([]int, 5000),
		"long string":     strings.Repeat("a", 5000),
		"unencodable":     make(chan int),
	}
	out := providers.RedactDetails(in, secrets)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	if strings.Contains(strings.ToUpper(js), "CANARY") || strings.Contains(js, "98765432") {
		t.Fatalf("a secret survives in %s", js)
	}
	if len(js) > providers.MaxDetailsBytes {
		t.Fatalf("details are %d bytes, over %d", len(js), providers.MaxDetailsBytes)
	}
	if out[providers.DetailsTruncated] != true {
		t.Fatalf("truncation not marked: %s", js)
	}
	if got := out["count"]; fmt.Sprint(got) != "3" {
		t.Fatalf("count = %v", got)
	}
	if got := out["big"]; fmt.Sprint(got) != "4611686018427387904" {
		t.Fatalf("big = %v: digits lost", got)
	}
	if n := len(out["long list"].([]any)); n > 100 {
		t.Fatalf("long list kept %d items", n)
	}
	if _, ok := out["unencodable"]; ok {
		t.Fatal("a value JSON cannot carry was kept")
	}
	huge := map[string]any{}
	for i := range 100 {
		huge[fmt.Sprintf("k%03d", i)] = strings.Repeat("b", 900)
	}
	if b, _ := json.Marshal(providers.RedactDetails(huge, secrets)); len(b) > providers.MaxDetailsBytes {
		t.Fatalf("details are %d bytes, over %d", len(b), providers.MaxDetailsBytes)
	}
}
