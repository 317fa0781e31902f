package main

import (
	"reflect"
	"testing"
)

// The one-Unmarshal path of decodePostParams accepts and refuses exactly
// what one json.Decoder over the body does, with the same parameters
// (numbers kept exact) and the same reason.
func TestDecodePostParamsAsDecoder(t *testing.T) {
	for _, body := range []string{
		`{"query":"{ __typename }"}`,
		`{"query":"query($n: Int) { x(n: $n) }","variables":{"n":12345678901234567890,"f":1.5,"o":{"a":[1,null]}},"operationName":"Q"}`,
		`{"query":"q","variables":null,"extensions":null}`,
		`{"QUERY":"case","Variables":{}}`,
		`{"query":"dup","query":"last"}`,
		`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
		`{"query":"q","headers":{"x":"y"},"other":1}`,
		`{"query":"q","variables":"not an object"}`,
		`{"query":"q","extensions":[1]}`,
		`{"query":5}`,
		`{"operationName":["x"],"query":"q"}`,
		`{"query":"q"} trailing`,
		`{"query":"q"}{"query":"r"}`,
		`[]`, `null`, ``, `   `, `{`, `{"query":"bad \xff utf8"}`, `{}`, `{"query":""}`,
	} {
		got, gotBad := decodePostParams([]byte(body))
		want, wantBad := decodePostParamsSlowly([]byte(body))
		if gotBad != wantBad || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v %q\nwant %+v %q", body, got, gotBad, want, wantBad)
		}
	}
}
