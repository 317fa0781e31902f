package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// A GraphQL response is written as json.Marshal writes it: data
// compacted and HTML-escaped, errors and extensions as encoding/json
// writes them, and whatever appendResponse leaves to encoding/json
// (incremental delivery, data that is not JSON) through json.Marshal.
func TestAppendResponseAsJSONMarshal(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		resp graphql.Response
		fast bool
	}{
		{"data", graphql.Response{Data: json.RawMessage(`{"a":{"config":{"h":"<x>&\u2028"}` + "\n" + `,"n":[1,2.5e-3]}}`)}, true},
		{"null data", graphql.Response{}, true},
		{"errors and data", graphql.Response{Data: json.RawMessage(`{"a":null}`), Errors: gqlerror.List{
			{Message: "no <such> thing", Path: ast.Path{ast.PathName("a"), ast.PathIndex(3)}, Extensions: map[string]any{"code": "not_found"}}}}, true},
		{"extensions", graphql.Response{Data: json.RawMessage(`{}`), Extensions: map[string]any{"b": 1, "a": "<"}}, true},
		{"incremental", graphql.Response{Data: json.RawMessage(`{}`), HasNext: &yes, Label: "l"}, false},
		{"not JSON", graphql.Response{Data: json.RawMessage(`{"a":}`)}, false},
		{"empty data", graphql.Response{Data: json.RawMessage{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := json.Marshal(&tc.resp)
			got, ok := appendResponse(nil, &tc.resp)
			if ok != tc.fast {
				t.Fatalf("written without encoding/json: %v, want %v", ok, tc.fast)
			}
			if ok && (wantErr != nil || !bytes.Equal(got, want)) {
				t.Fatalf("got  %s\nwant %s (%v)", got, want, wantErr)
			}
		})
	}
}
