package store_test

import (
	"reflect"
	"testing"

	"github.com/junctionhq/junction/store"
)

// A JSON object read again is decoded from memory, and each read gets a
// map of its own: changing one (deep inside too) changes no other read.
func TestJSONMapScanGivesOwnMaps(t *testing.T) {
	text := `{"a":1,"nested":{"list":[1,{"k":"v"}],"s":"x"},"z":null}`
	want := map[string]any{"a": 1.0, "nested": map[string]any{"list": []any{1.0, map[string]any{"k": "v"}}, "s": "x"}, "z": nil}
	for _, src := range []any{text, []byte(text)} {
		var first, second store.JSONMap
		if err := first.Scan(src); err != nil {
			t.Fatal(err)
		}
		if err := second.Scan(src); err != nil {
			t.Fatal(err)
		}
		first["a"] = "changed"
		first["nested"].(map[string]any)["s"] = "changed"
		first["nested"].(map[string]any)["list"].([]any)[1].(map[string]any)["k"] = "changed"
		var third store.JSONMap
		if err := third.Scan(src); err != nil {
			t.Fatal(err)
		}
		for name, m := range map[string]store.JSONMap{"second": second, "third": third} {
			if !reflect.DeepEqual(map[string]any(m), want) {
				t.Errorf("%s read after changing the first: %v, want %v", name, m, want)
			}
		}
	}
	var bad store.JSONMap
	if err := bad.Scan(`{"a":`); err == nil {
		t.Error("a broken object decoded without an error")
	}
	if err := bad.Scan(`{"a":`); err == nil {
		t.Error("a broken object decoded without an error the second time")
	}
}

// A JSON list read again is decoded from memory too, into a list of its own.
func TestJSONListScanGivesOwnLists(t *testing.T) {
	for _, src := range []any{`["password","token"]`, []byte(`["password","token"]`)} {
		var first, second store.JSONList
		if err := first.Scan(src); err != nil {
			t.Fatal(err)
		}
		first[0] = "changed"
		if err := second.Scan(src); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual([]string(second), []string{"password", "token"}) {
			t.Errorf("read after changing the first: %q", second)
		}
	}
	for text, want := range map[string][]string{`[]`: {}, `null`: nil} {
		for range 2 {
			var l store.JSONList
			if err := l.Scan(text); err != nil {
				t.Fatal(err)
			}
			if (l == nil) != (want == nil) || len(l) != 0 {
				t.Errorf("%s read as %#v, want %#v", text, l, want)
			}
		}
	}
}
