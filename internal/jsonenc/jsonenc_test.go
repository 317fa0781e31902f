package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// reference is what encoding/json writes for v.
func reference(v any, escapeHTML bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), err
}

func check(t *testing.T, v any) {
	t.Helper()
	for _, html := range []bool{true, false} {
		want, wantErr := reference(v, html)
		got, err := AppendValue([]byte("prefix"), v, html)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%#v (escapeHTML %v): error %v, encoding/json's %v", v, html, err, wantErr)
		}
		if err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("%#v (escapeHTML %v):\n got %s\nwant prefix%s", v, html, got, want)
		}
	}
}

func TestAppendValueAsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"bools", []any{true, false}},
		{"floats", []any{0.0, math.Copysign(0, -1), 1.0, -1.5, 0.1, 1e20, 1e21, 123456789e13, 1e-6, 1e-7, 9.999e-7,
			5e-324, math.MaxFloat64, -math.MaxFloat64, 12345678901234567.0, 1.0 / 3}},
		{"ints", []any{0, -1, math.MaxInt64, int64(math.MinInt64)}},
		{"strings", []any{"", "plain", `"quoted" \ back`, "<b>&amp;</b>", "\x00\x01\b\f\n\r\t\x1f\x7f", "\u2028\u2029",
			"Ünïcode 😀", "bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate"}},
		{"maps", map[string]any{"z": 1.0, "a": map[string]any{"<k>": "v", "": nil, "é": []any{}},
			"m": []any{map[string]any{}, nil, "x"}, "nilmap": map[string]any(nil), "nilslice": []any(nil)}},
		{"other types", map[string]any{"n": json.Number("12.50"), "u": uint8(7), "s": []string{"a"}, "f32": float32(0.1)}},
		{"NaN", map[string]any{"x": math.NaN()}},
		{"infinity inside a list", []any{1.0, math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.v) })
	}
}

func FuzzAppendValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-0,1e21,1e-7],"b":"<x>&\u2028","c":{"d":null,"e":true}}`, `"\ud800"`, `[]`,
		`{"": {"": [{}]}}`, `123456789012345678901234567890`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) == nil {
			check(t, v)
		}
		check(t, string(data))
	})
}

// compactReference is encoding/json's compaction: json.Marshal of a
// RawMessage with HTML escaping, json.Compact without.
func compactReference(src []byte, escapeHTML bool) ([]byte, bool) {
	if escapeHTML {
		out, err := json.Marshal(json.RawMessage(src))
		return out, err == nil
	}
	var buf bytes.Buffer
	err := json.Compact(&buf, src)
	return buf.Bytes(), err == nil
}

func checkCompact(t *testing.T, src []byte) {
	t.Helper()
	for _, html := range []bool{true, false} {
		want, wantOK := compactReference(src, html)
		got, ok := AppendCompact([]byte("prefix"), src, html)
		if ok != wantOK {
			t.Fatalf("%q (escapeHTML %v): ok %v, encoding/json's %v", src, html, ok, wantOK)
		}
		if ok && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("%q (escapeHTML %v):\n got %s\nwant prefix%s", src, html, got, want)
		}
		if !ok && string(got) != "prefix" {
			t.Fatalf("%q: refused but appended %q", src, got)
		}
	}
}

func TestAppendCompactAsEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{"data":{"a":[1, 2.5e-3, -0, 0.0, 1E+9],"b" : "x <y> & z \u2028 ` + "\u2028\u2029" + `"}}` + "\n",
		` { } `, `[]`, `[ [ ] , { } ]`, `"\"\\\/\b\f\n\r\t\u00e9\uD834"`, "\"bad \xff utf8\"", `true`, `false`, `null`,
		`-`, `01`, `1.`, `1e`, `.5`, `+1`, `[1,]`, `{"a"}`, `{"a":1,}`, `{,}`, `"unterminated`, "\"ctl \x01\"", `"\x"`, `"\u12"`,
		`nul`, `truex`, `[1] [2]`, `{"a":1}}`, ``, ` `, `"\u00zz"`, "\"\xe2\x80\"", "\"\xe2\x80\xa8\"",
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		checkCompact(t, []byte(s))
	}
}

func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{`{"a" : [1, "<&>"], "b":{ "c" : null }}`, "\"\xe2\x80\xa9\"", `[1e5, -0.5E-2]`, `{"x":"\u2028"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) { checkCompact(t, src) })
}
