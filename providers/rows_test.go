package providers_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

// TestMarshalValue: the API's value encoding, and the fast path for common
// scalars gives exactly what the encoder gives.
func TestMarshalValue(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{nil, `null`}, {true, `true`}, {int64(42), `42`}, {int64(1 << 60), `"1152921504606846976"`},
		{int64(-(1 << 60)), `"-1152921504606846976"`}, {int32(-7), `-7`}, {"plain", `"plain"`},
		{"tab\there \"q\" <&> ü", `"tab\there \"q\" <&> ü"`}, {providers.Decimal("12345678901234567890.123456789"), `"12345678901234567890.123456789"`},
		{math.NaN(), `"NaN"`}, {math.Inf(-1), `"-Infinity"`}, {1.5, `1.5`}, {[]byte{0, 1, 2}, `"AAEC"`},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `"2026-01-02T03:04:05Z"`}, {providers.RawJSON(`{"a":[1]}`), `{"a":[1]}`},
		{[]any{int64(1), "x", nil}, `[1,"x",null]`}, {uint64(1 << 63), `"9223372036854775808"`},
	}
	for _, tc := range cases {
		got, err := providers.MarshalValue(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("MarshalValue(%#v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	// Random strings and integers: the fast path agrees with encoding/json.
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		s := string(b)
		got, _ := providers.MarshalValue(s)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if want := bytes.TrimRight(buf.Bytes(), "\n"); !bytes.Equal(got, want) {
			t.Fatalf("MarshalValue(%q) = %s, want %s", s, got, want)
		}
		n := r.Int64() >> r.IntN(64)
		got, _ = providers.MarshalValue(n)
		var back any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("MarshalValue(%d) = %s: %v", n, got, err)
		}
	}
}
