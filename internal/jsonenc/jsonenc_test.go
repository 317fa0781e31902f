package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
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
