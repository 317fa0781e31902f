package providers_test

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"
	"testing"

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
