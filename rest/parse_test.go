package rest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/resolvers"
)

// TestParseUUID: the accepted forms and, for the rest, the Rust uuid
// crate's messages that pydantic v2 shows (cases from the crate's tests and
// from FastAPI answers seen in the wild).
func TestParseUUID(t *testing.T) {
	const canon = "67e55044-10b1-426f-9247-bb680e5fe0c8"
	for _, ok := range []string{canon, "67e5504410b1426f9247bb680e5fe0c8", "urn:uuid:" + canon, "{" + canon + "}", "67E55044-10B1-426F-9247-BB680E5FE0C8"} {
		if got, why := parseUUID(ok); got != canon || why != "" {
			t.Errorf("parseUUID(%q) = %q, %q", ok, got, why)
		}
	}
	tests := []struct{ in, why string }{
		{"", "invalid length: expected length 32 for simple format, found 0"},
		{"incorrect-file-id", "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `i` at 1"},
		{"F9168C5E-CEB2-4faa-BGBF-329BF39FA1E4", "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `G` at 21"},
		{"67e5504410b1426%9247bb680e5fe0c8", "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `%` at 16"},
		{"67e5504410b1426f9247bb680e5fe0c", "invalid length: expected length 32 for simple format, found 31"},
		{"231231212212423424324323477343246663", "invalid length: expected length 32 for simple format, found 36"},
		{"F9168C5E-CEB2F4faaFB6BFF329BF39FA1E4", "invalid group count: expected 5, found 2"},
		{"F9168C5E-CEB2-4faa-B6BFF329BF39FA1E4", "invalid group count: expected 5, found 4"},
		{"F9168C5E-CEB-24fa-eB6BFF32-BF39FA1E4", "invalid group length in group 1: expected 4, found 3"},
		{"01020304-1112-2122-3132-41424344", "invalid group length in group 4: expected 12, found 8"},
		{"67e550-4105b1426f9247bb680e5fe0c", "invalid group count: expected 5, found 2"},
		{"-1", "invalid group count: expected 5, found 2"},
		{"702d2c4f-d2ac-", "invalid group count: expected 5, found 3"},
		{"67e5504-10b1-426f-9247-bb680e5fe0c8", "invalid group length in group 0: expected 8, found 7"},
		{"{00000000000000000000000000000000}", "invalid group count: expected 5, found 1"},
		{"urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0cz", "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `z` at 45"},
		{"67e55044-10b1-426f-9247-bb680e5fe0cé", "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `é` at 36"},
	}
	for _, tt := range tests {
		if got, why := parseUUID(tt.in); got != "" || why != tt.why {
			t.Errorf("parseUUID(%q) = %q, %q\nwant why %q", tt.in, got, why, tt.why)
		}
	}
}

func FuzzParseUUID(f *testing.F) {
	for _, s := range []string{"67e55044-10b1-426f-9247-bb680e5fe0c8", "{67e55044-10b1-426f-9247-bb680e5fe0c8}", "x", "", "urn:uuid:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, why := parseUUID(s)
		if (got == "") == (why == "") {
			t.Fatalf("parseUUID(%q) = %q, %q: want exactly one", s, got, why)
		}
		if got != "" {
			if u, err := uuid.Parse(got); err != nil || u.String() != got {
				t.Fatalf("parseUUID(%q) = %q is not canonical", s, got)
			}
		}
	})
}

func body(s string) *problems {
	var p problems
	r := httptest.NewRequest("POST", "/", strings.NewReader(s))
	readBody(r, &p)
	return &p
}

// TestReadBody: positions are Python's character indexes.
func TestReadBody(t *testing.T) {
	tests := []struct {
		in   string
		want []resolvers.FieldError
	}{
		{``, []resolvers.FieldError{{Loc: []any{"body"}, Msg: msgMissing, Type: "missing"}}},
		{`  `, []resolvers.FieldError{{Loc: []any{"body", 2}, Msg: msgJSONInvalid, Type: "json_invalid"}}},
		{`{"a":}`, []resolvers.FieldError{{Loc: []any{"body", 5}, Msg: msgJSONInvalid, Type: "json_invalid"}}},
		{`{"é":}`, []resolvers.FieldError{{Loc: []any{"body", 5}, Msg: msgJSONInvalid, Type: "json_invalid"}}},
		{`{'a':1}`, []resolvers.FieldError{{Loc: []any{"body", 1}, Msg: msgJSONInvalid, Type: "json_invalid"}}},
		{`{"a":1`, []resolvers.FieldError{{Loc: []any{"body", 6}, Msg: msgJSONInvalid, Type: "json_invalid"}}},
		{`{"a":1} x`, []resolvers.FieldError{{Loc: []any{"body", 8}, Msg: msgJSONInvalid, Type: "json_invalid"}}},
		{`"a"`, []resolvers.FieldError{{Loc: []any{"body"}, Msg: msgDictType, Type: "dict_type"}}},
		{`null`, []resolvers.FieldError{{Loc: []any{"body"}, Msg: msgDictType, Type: "dict_type"}}},
		{"\ufeff{}", nil},
		{`{"a": 1} `, nil},
	}
	for _, tt := range tests {
		if got := body(tt.in).list; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("readBody(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestObjectKeysKeepOrder(t *testing.T) {
	got := objectKeys([]byte(`{"z": {"a": 1}, "b": [1, {"c": 2}], "z": 3, "a": null}`))
	if want := []string{"z", "b", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
}

func FuzzReadBody(f *testing.F) {
	for _, s := range []string{`{}`, `{"name": "x", "provider": "postgres", "config": {"port": 5432}}`, `[`, `{"a":`, "\xff",
		`{"selectedItems": ["a", 1]}`, `{"schema": "s", "table": "t", "maxRows": 1e3}`, `{"sql": "SELECT 1", "maxRows": "2"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p problems
		o, err := readBody(httptest.NewRequest("POST", "/", strings.NewReader(s)), &p)
		if err != nil {
			t.Fatal(err)
		}
		if (o == nil) == (len(p.list) == 0) {
			t.Fatalf("readBody(%q): object %v with problems %v", s, o, p.list)
		}
		for _, e := range p.list {
			if pos, ok := e.Loc[len(e.Loc)-1].(int); ok && (pos < 0 || pos > utf8.RuneCountInString(s)) {
				t.Fatalf("readBody(%q): position %d out of range", s, pos)
			}
		}
		if o != nil {
			in := parseCreate(o, &p)
			_ = in
			parseUpdate(o, &p)
			parseTest(o, &p)
			parseSelection(o, &p)
			parseSample(o, &p)
			parseQuery(o, &p)
		}
	})
}

func TestLaxBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "YES": true, "on": true, "1": true, "f": false, "No": false, "0": false} {
		if got, typ := laxBool(in); got != want || typ != "" {
			t.Errorf("laxBool(%q) = %v %q", in, got, typ)
		}
	}
	for _, in := range []any{"maybe", "2"} {
		if _, typ := laxBool(in); typ != "bool_parsing" {
			t.Errorf("laxBool(%v) type %q", in, typ)
		}
	}
	if _, typ := laxBool([]any{}); typ != "bool_type" {
		t.Errorf("laxBool([]) type %q", typ)
	}
}

func TestQueryInt(t *testing.T) {
	q := query{values: map[string][]string{"a": {"7"}, "b": {" 8 "}, "c": {"9.0"}, "d": {"1.5"}, "e": {""}, "f": {"x", "10"}, "g": {"+3"}, "h": {"99999999999999999999999"}}}
	want := map[string]any{"a": 7, "b": 8, "c": 9, "d": nil, "e": nil, "f": 10, "g": 3}
	var p problems
	for name, w := range want {
		got := q.int(name, &p)
		if w == nil && got != nil || w != nil && (got == nil || *got != w.(int)) {
			t.Errorf("int(%s) = %v, want %v", name, got, w)
		}
	}
	if len(p.list) != 2 || p.list[0].Type != "int_parsing" || p.list[0].Msg != msgIntParsing {
		t.Errorf("problems %v", p.list)
	}
	if got := q.int("h", &p); got == nil || *got < 1000 {
		t.Errorf("a huge integer is not a parsing error but out of every range: %v", got)
	}
}

func TestLaxInt(t *testing.T) {
	for in, want := range map[string]int{`5`: 5, `5.0`: 5, `1e3`: 1000, `"7"`: 7, `" 8 "`: 8, `"9.0"`: 9, `true`: 1, `false`: 0, `-2`: -2,
		`99999999999999999999`: math.MaxInt, `-1e300`: math.MinInt} {
		if got, typ := laxInt(decode(t, in)); got != want || typ != "" {
			t.Errorf("laxInt(%s) = %d %q, want %d", in, got, typ, want)
		}
	}
	for in, want := range map[string]string{`1.5`: "int_from_float", `"1.5"`: "int_parsing", `"ten"`: "int_parsing", `""`: "int_parsing",
		`[1]`: "int_type", `{}`: "int_type"} {
		if _, typ := laxInt(decode(t, in)); typ != want {
			t.Errorf("laxInt(%s) type %q, want %q", in, typ, want)
		}
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStringList: pydantic reports a list that is too long alone, bad items
// each at their index, and a list that is too short only when its items are
// valid.
func TestStringList(t *testing.T) {
	tests := []struct {
		in   string
		want []string // "type@loc"
	}{
		{`{"l": ["a", "b"]}`, nil},
		{`{}`, []string{"missing@[body l]"}},
		{`{"l": null}`, []string{"list_type@[body l]"}},
		{`{"l": "a"}`, []string{"list_type@[body l]"}},
		{`{"l": []}`, []string{"too_short@[body l]"}},
		{`{"l": [1, "a", null]}`, []string{"string_type@[body l 0]", "string_type@[body l 2]"}},
		{`{"l": ["a", "b", 3, 4]}`, []string{"too_long@[body l]"}},
	}
	for _, tt := range tests {
		var p problems
		o, _ := readBody(httptest.NewRequest("POST", "/", strings.NewReader(tt.in)), &p)
		o.stringList("l", 1, 3, &p)
		var got []string
		for _, e := range p.list {
			got = append(got, fmt.Sprintf("%s@%v", e.Type, e.Loc))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.in, got, tt.want)
		}
	}
	var p problems
	o, _ := readBody(httptest.NewRequest("POST", "/", strings.NewReader(`{"l": ["a", "b", 3, 4]}`)), &p)
	o.stringList("l", 1, 3, &p)
	if p.list[0].Msg != "List should have at most 3 items after validation, not 4" {
		t.Errorf("too_long message %q", p.list[0].Msg)
	}
}

func TestQueryBool(t *testing.T) {
	q := query{values: map[string][]string{"include_system": {"maybe"}, "b": {"On"}}}
	var p problems
	if got := q.bool(&p, "includeSystem", "include_system"); got != nil {
		t.Errorf("bool = %v, want nil", *got)
	}
	if len(p.list) != 1 || !reflect.DeepEqual(p.list[0].Loc, []any{"query", "include_system"}) || p.list[0].Msg != msgBoolParsing {
		t.Errorf("problems %v: the problem belongs to the name the value came by", p.list)
	}
	if got := q.bool(&p, "b"); got == nil || !*got {
		t.Errorf("bool(On) = %v", got)
	}
	if got := q.bool(&p, "absent"); got != nil {
		t.Errorf("absent = %v", *got)
	}
}

// TestWriteJSONRows: rows keep their column order and duplicate names, and
// nothing is HTML-escaped in values.
func TestWriteJSONRows(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, 200, &model.QueryResult{Columns: []string{"z", "a", "a"}, Rows: []*model.Row{
		{Columns: []string{"z", "a", "a"}, Values: []json.RawMessage{json.RawMessage(`"<b>&"`), json.RawMessage(`1`), nil}},
	}, TableRefs: []*model.TableRef{}})
	want := `{"columns":["z","a","a"],"rows":[{"z":"<b>&","a":1,"a":null}],"rowCount":0,"maxRows":0,"truncated":false,"queryHash":"","tableRefs":[]}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("got  %s\nwant %s", rec.Body, want)
	}
}
