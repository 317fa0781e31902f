package providers_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/junctionhq/junction/providers"
)

// TestJSONValue: each JSON value comes out in the API's value encoding.
func TestJSONValue(t *testing.T) {
	for raw, want := range map[string]string{
		``:                       `null`,
		`null`:                   `null`,
		` true `:                 `true`,
		`false`:                  `false`,
		`"a\u00e9\"b"`:           `"aé\"b"`,
		`42`:                     `42`,
		`-9007199254740992`:      `-9007199254740992`,
		`9007199254740993`:       `"9007199254740993"`,
		`123456789012345678901`:  `"123456789012345678901"`,
		`-123456789012345678901`: `"-123456789012345678901"`,
		`1.50`:                   `1.50`,
		`1e400`:                  `1e400`,
		`{"b":1,"a":[2]}`:        `{"b":1,"a":[2]}`,
		`[1,"x",null]`:           `[1,"x",null]`,
	} {
		got, err := providers.MarshalValue(providers.JSONValue(json.RawMessage(raw)))
		if err != nil || string(got) != want {
			t.Errorf("JSONValue(%s) encodes as %s, %v; want %s", raw, got, err, want)
		}
	}
}

func TestJSONType(t *testing.T) {
	for raw, want := range map[string]string{
		``: "", `null`: "", `true`: "boolean", ` false`: "boolean", `"x"`: "string",
		`-1.5`: "number", `7`: "number", `{}`: "object", `[]`: "array",
	} {
		if got := providers.JSONType(json.RawMessage(raw)); got != want {
			t.Errorf("JSONType(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestDecodeOrderedObject(t *testing.T) {
	keys, vals, err := providers.DecodeOrderedObject([]byte(` {"z": 1, "a": {"n": [1]}, "z": null, "m": "s"} `))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys, []string{"z", "a", "z", "m"}) {
		t.Errorf("keys = %q", keys)
	}
	var got []string
	for _, v := range vals {
		got = append(got, string(v))
	}
	if !reflect.DeepEqual(got, []string{`1`, `{"n": [1]}`, `null`, `"s"`}) {
		t.Errorf("values = %q", got)
	}
	if keys, _, err := providers.DecodeOrderedObject([]byte(`{}`)); err != nil || len(keys) != 0 {
		t.Errorf("empty object: %q, %v", keys, err)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":1`, `{"a":1} {}`, `{"a":1}x`, `{"a" 1}`} {
		if _, _, err := providers.DecodeOrderedObject([]byte(bad)); err == nil {
			t.Errorf("DecodeOrderedObject(%q) = nil error", bad)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"Account", "My_Object__c", "ns__Thing__kav", "customrecord_x1", "_", strings.Repeat("a", 255)} {
		if !providers.ValidName(ok) {
			t.Errorf("ValidName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", "a.b", "a-b", "Accoünt", "a\x00", "../x", strings.Repeat("a", 256)} {
		if providers.ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

// FuzzDecodeOrderedObject: whatever an upstream sends, the decoder returns
// one value per key, and for an object the standard decoder accepts it
// agrees with it on the keys and values (the last of a repeated key).
func FuzzDecodeOrderedObject(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null]}`, `{}`, `{"a":{"b":"c"},"a":2}`, `[1]`, `{"a":`, `{"\u00e9":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		keys, vals, err := providers.DecodeOrderedObject(raw)
		if err != nil {
			return
		}
		if len(keys) != len(vals) {
			t.Fatalf("%d keys, %d values", len(keys), len(vals))
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("decoded %q, which encoding/json refuses: %v", raw, err)
		}
		got := map[string]json.RawMessage{}
		for i, k := range keys {
			got[k] = vals[i]
		}
		if len(got) != len(want) {
			t.Fatalf("keys %q, want those of %v", keys, want)
		}
		for k, v := range want {
			if string(got[k]) != string(v) {
				t.Fatalf("key %q: %s, want %s", k, got[k], v)
			}
		}
	})
}
