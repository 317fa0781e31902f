package providers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"time"
)

// RowLimits cut a result: at most MaxRows rows and about MaxBytes bytes of
// encoded values. A driver fetches one row more than MaxRows (or asks the
// upstream for MaxRows+1) so it knows whether the result was cut.
type RowLimits struct {
	MaxRows  int
	MaxBytes int
}

// Row is one row: the JSON encoding of each value, in column order. Rows are
// ordered values, not maps, so duplicate and ordered column names survive.
type Row []json.RawMessage

// RowSet is a bounded result: the columns in order and the rows. Truncated is
// true when more rows existed than were returned (cut at MaxRows or at
// MaxBytes).
type RowSet struct {
	Columns   []Column
	Rows      []Row
	Truncated bool
}

// RowBuilder collects rows into a RowSet under RowLimits, encoding each value
// once (EncodeValue), as rows stream from the upstream. It is the one place a
// driver's values become the JSON of the API.
type RowBuilder struct {
	set    RowSet
	limits RowLimits
	bytes  int
}

// NewRowBuilder starts a RowSet of columns under limits (MaxRows <= 0 means 1).
func NewRowBuilder(columns []Column, limits RowLimits) *RowBuilder {
	if limits.MaxRows <= 0 {
		limits.MaxRows = 1
	}
	return &RowBuilder{set: RowSet{Columns: columns, Rows: make([]Row, 0, min(limits.MaxRows, 1024))}, limits: limits}
}

// Add encodes one row of values (one per column) and reports whether the
// caller should keep reading. It returns false, with Truncated set, when this
// row is past MaxRows or would take the result past MaxBytes: the row is then
// dropped and the caller stops fetching. A value EncodeValue cannot encode is
// an error.
func (b *RowBuilder) Add(values []any) (bool, error) {
	if len(b.set.Rows) >= b.limits.MaxRows {
		b.set.Truncated = true
		return false, nil
	}
	row := make(Row, len(values))
	size := 2
	for i, v := range values {
		enc, err := MarshalValue(v)
		if err != nil {
			name := ""
			if i < len(b.set.Columns) {
				name = b.set.Columns[i].Name
			}
			return false, fmt.Errorf("column %q: %w", name, err)
		}
		row[i] = enc
		size += len(enc) + 1
		if i < len(b.set.Columns) {
			size += len(b.set.Columns[i].Name) + 3
		}
	}
	if b.limits.MaxBytes > 0 && b.bytes+size > b.limits.MaxBytes {
		b.set.Truncated = true
		return false, nil
	}
	b.bytes += size
	b.set.Rows = append(b.set.Rows, row)
	return true, nil
}

// Full reports whether MaxRows rows are held: one more Add marks the set
// truncated.
func (b *RowBuilder) Full() bool { return len(b.set.Rows) >= b.limits.MaxRows }

// SetTruncated marks the set truncated (for upstreams that say "there is
// more" without sending the row, such as NetSuite's hasMore).
func (b *RowBuilder) SetTruncated() { b.set.Truncated = true }

// RowSet returns the collected rows.
func (b *RowBuilder) RowSet() *RowSet { return &b.set }

// maxSafeInt is the largest integer a JSON number carries exactly in every
// client (2^53).
const maxSafeInt = 1 << 53

// Decimal is a decimal value as text; it encodes as a JSON string so no digit
// is lost (numeric, money, decimal).
type Decimal string

// Text is a value encoded as its text (intervals, network addresses, enums,
// anything without a better JSON form).
type Text string

// RawJSON is a json/jsonb value, encoded as itself.
type RawJSON []byte

// EncodeValue returns v in the JSON encoding of the API: booleans, integers
// within ±2^53 as numbers and others as strings, decimals as strings, floats
// as numbers (NaN and infinities as strings), times in RFC 3339 (UTC where
// they carry a zone), bytes as base64, json as itself, arrays as arrays, and
// everything else as text. The result is ready for json.Marshal.
func EncodeValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case bool, string:
		return x
	case Decimal:
		return string(x)
	case Text:
		return string(x)
	case RawJSON:
		if len(x) == 0 || !json.Valid(x) {
			return string(x)
		}
		return json.RawMessage(x)
	case json.RawMessage:
		if !json.Valid(x) {
			return string(x)
		}
		return x
	case int:
		return intValue(int64(x))
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return intValue(x)
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case uint:
		return uintValue(uint64(x))
	case uint64:
		return uintValue(x)
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case *big.Int:
		if x == nil {
			return nil
		}
		if x.IsInt64() {
			return intValue(x.Int64())
		}
		return x.String()
	case *big.Float:
		if x == nil {
			return nil
		}
		return x.Text('f', -1)
	case *big.Rat:
		if x == nil {
			return nil
		}
		return x.FloatString(20)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case fmt.Stringer:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return EncodeValue(rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = EncodeValue(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = EncodeValue(it.Value().Interface())
		}
		return out
	}
	return fmt.Sprint(v)
}

// MarshalValue is the JSON text of EncodeValue(v).
func MarshalValue(v any) (json.RawMessage, error) {
	// The common scalars are written directly: a JSON encoder per value was
	// most of a 1,000-row query's CPU.
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case bool:
		return strconv.AppendBool(nil, x), nil
	case int64:
		if x <= maxSafeInt && x >= -maxSafeInt {
			return strconv.AppendInt(nil, x, 10), nil
		}
		return strconv.AppendQuote(nil, strconv.FormatInt(x, 10)), nil
	case int32:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case string:
		if plainJSONString(x) {
			b := make([]byte, 0, len(x)+2)
			b = append(b, '"')
			b = append(b, x...)
			return append(b, '"'), nil
		}
	case Decimal:
		if plainJSONString(string(x)) {
			return strconv.AppendQuote(nil, string(x)), nil
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(EncodeValue(v)); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// plainJSONString reports whether s can be written between quotes as it is:
// printable ASCII without '"' or '\\' (anything else goes through the
// encoder, which escapes it).
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func intValue(n int64) any {
	if n > maxSafeInt || n < -maxSafeInt {
		return strconv.FormatInt(n, 10)
	}
	return n
}

func uintValue(n uint64) any {
	if n > maxSafeInt {
		return strconv.FormatUint(n, 10)
	}
	return n
}

func floatValue(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}
