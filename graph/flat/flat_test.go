package flat

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/junctionhq/junction/graph/model"
)

func gqlgen(m graphql.Marshaler) []byte {
	var buf bytes.Buffer
	m.MarshalGQL(&buf)
	return buf.Bytes()
}

// The scalar writers are gqlgen's marshalers, byte for byte.
func TestScalarsAsGqlgen(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 4, 5, 123456000, time.UTC)
	zoned := time.Date(1999, 1, 2, 3, 4, 5, 7, time.FixedZone("x", -(3*3600+30*60)))
	for _, tc := range []struct {
		name      string
		got, want []byte
	}{
		{"time", appendTime(nil, at), gqlgen(graphql.MarshalTime(at))},
		{"zoned time", appendTime(nil, zoned), gqlgen(graphql.MarshalTime(zoned))},
		{"zero time", appendTime(nil, time.Time{}), gqlgen(graphql.MarshalTime(time.Time{}))},
		{"enum", appendEnum(nil, string(model.ProviderMsftSharepoint), model.ProviderMsftSharepoint), gqlgen(model.ProviderMsftSharepoint)},
		{"enum outside the schema", appendEnum(nil, "we\"ird\x01é", model.Provider("we\"ird\x01é")), gqlgen(model.Provider("we\"ird\x01é"))},
		{"map", appendMap(nil, map[string]any{"<a>": []any{1.0, "&", nil, map[string]any{}}, "b": 1e21, "c": "\u2028"}),
			gqlgen(graphql.MarshalMap(map[string]any{"<a>": []any{1.0, "&", nil, map[string]any{}}, "b": 1e21, "c": "\u2028"}))},
		{"empty map", appendMap(nil, map[string]any{}), gqlgen(graphql.MarshalMap(map[string]any{}))},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: %q, gqlgen %q", tc.name, tc.got, tc.want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a map encoding/json refuses did not panic as MarshalMap does")
			}
		}()
		appendMap(nil, map[string]any{"x": math.NaN()})
	}()
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"q\" \\ \t\r\n\x00\x1f\x7f", "bad \xff\xc3 utf8", "é 😀 \u2028", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendString([]byte("x"), s), append([]byte("x"), gqlgen(graphql.MarshalString(s))...); !bytes.Equal(got, want) {
			t.Fatalf("%q: %q, gqlgen %q", s, got, want)
		}
	})
}
