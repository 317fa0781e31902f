package postgres

// Values: rows come back in PostgreSQL's text format (the one format every
// type has, and the only one that keeps numeric digits, intervals, money and
// extension types exactly as the server spells them). Each column gets a
// decoder from its type OID, and each value becomes what
// providers.EncodeValue expects: bool, int64 (EncodeValue turns |n| > 2^53
// into a string), float64 (NaN and infinities become strings there),
// providers.Decimal for numeric, time.Time for timestamps, []byte for bytea
// (base64), providers.RawJSON for json and jsonb, []any for arrays, and
// providers.Text for everything else. The transaction sets DateStyle to ISO,
// bytea_output to hex and extra_float_digits to 3 (query.go), so the text
// forms parsed here do not depend on the server's or role's defaults.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/junctionhq/junction/providers"
)

type valueKind uint8

const (
	kindText valueKind = iota // providers.Text of the text form
	kindString
	kindBool
	kindInt
	kindFloat
	kindNumeric
	kindBytea
	kindTimestamp
	kindTimestamptz
	kindJSON
	kindArray
)

// decoder turns the text form of one type into a value for EncodeValue.
type decoder struct {
	kind  valueKind
	elem  *decoder // arrays
	delim byte     // arrays: the element type's typdelim
}

var (
	decText        = &decoder{kind: kindText}
	decString      = &decoder{kind: kindString}
	decBool        = &decoder{kind: kindBool}
	decInt         = &decoder{kind: kindInt}
	decFloat       = &decoder{kind: kindFloat}
	decNumeric     = &decoder{kind: kindNumeric}
	decBytea       = &decoder{kind: kindBytea}
	decTimestamp   = &decoder{kind: kindTimestamp}
	decTimestamptz = &decoder{kind: kindTimestamptz}
	decJSON        = &decoder{kind: kindJSON}
)

// builtinDecoders are the built-in types whose OIDs are fixed in every
// PostgreSQL. Types not listed (enums, domains' arrays, composites, ranges,
// extension types) are looked up in pg_type once per connection (typeCache).
var builtinDecoders = func() map[uint32]*decoder {
	m := map[uint32]*decoder{
		16: decBool, 20: decInt, 21: decInt, 23: decInt, 26: decInt,
		700: decFloat, 701: decFloat, 1700: decNumeric,
		25: decString, 1043: decString, 1042: decString, 19: decString, 18: decString, 705: decString, 142: decString,
		17: decBytea, 1114: decTimestamp, 1184: decTimestamptz, 114: decJSON, 3802: decJSON,
		// Text forms: date (ISO: YYYY-MM-DD), time, timetz, interval, uuid,
		// inet, cidr, macaddr, macaddr8, money, jsonpath, bit, varbit, xid, tid.
		1082: decText, 1083: decText, 1266: decText, 1186: decText, 2950: decText, 869: decText, 650: decText,
		829: decText, 774: decText, 790: decText, 4072: decText, 1560: decText, 1562: decText, 28: decText, 27: decText,
	}
	arrays := map[uint32]uint32{ // array OID -> element OID
		1000: 16, 1016: 20, 1005: 21, 1007: 23, 1028: 26, 1021: 700, 1022: 701, 1231: 1700,
		1009: 25, 1015: 1043, 1014: 1042, 1003: 19, 1002: 18, 143: 142, 1001: 17, 1115: 1114, 1185: 1184,
		199: 114, 3807: 3802, 1182: 1082, 1183: 1083, 1270: 1266, 1187: 1186, 2951: 2950, 1041: 869,
		651: 650, 1040: 829, 775: 774, 791: 790, 4073: 4072, 1561: 1560, 1563: 1562, 1011: 28, 1010: 27,
	}
	for a, e := range arrays {
		m[a] = &decoder{kind: kindArray, elem: m[e], delim: ','}
	}
	return m
}()

// typeCache holds the decoders of one database's non-built-in types, looked
// up once from pg_type (an OID names one type until it is dropped).
type typeCache struct {
	m sync.Map // uint32 -> *decoder
}

func (tc *typeCache) get(oid uint32) (*decoder, bool) {
	if d, ok := builtinDecoders[oid]; ok {
		return d, true
	}
	if d, ok := tc.m.Load(oid); ok {
		return d.(*decoder), true
	}
	return nil, false
}

// cached returns a decoder for each OID, or nil when one of them is not
// known yet (decoders looks it up).
func (tc *typeCache) cached(oids []uint32) []*decoder {
	out := make([]*decoder, len(oids))
	for i, oid := range oids {
		d, ok := tc.get(oid)
		if !ok {
			return nil
		}
		out[i] = d
	}
	return out
}

// typeLookupSQL describes types by OID: domains resolve to their base type,
// arrays to their element type and its delimiter.
const typeLookupSQL = `SELECT t.oid, t.typtype, t.typbasetype, t.typelem, t.typcategory, coalesce(e.typdelim, ',')
FROM pg_catalog.pg_type t LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem
WHERE t.oid = ANY($1::pg_catalog.oid[])`

// decoders returns a decoder for each OID, describing unknown ones with
// pg_type over pgc (one query per level of nesting; usually none, at most
// one).
func (tc *typeCache) decoders(ctx context.Context, pgc *pgconn.PgConn, oids []uint32) ([]*decoder, error) {
	type info struct {
		typtype, category byte
		base, elem        uint32
		delim             byte
	}
	infos := map[uint32]info{}
	want := oids
	for round := 0; round < 8; round++ {
		var missing []string
		seen := map[uint32]bool{}
		for _, oid := range want {
			if _, ok := tc.get(oid); ok || seen[oid] {
				continue
			}
			if _, ok := infos[oid]; ok {
				continue
			}
			seen[oid] = true
			missing = append(missing, strconv.FormatUint(uint64(oid), 10))
		}
		if len(missing) == 0 {
			break
		}
		rr := pgc.ExecParams(ctx, typeLookupSQL, [][]byte{[]byte("{" + strings.Join(missing, ",") + "}")}, nil, nil, nil)
		for rr.NextRow() {
			v := rr.Values()
			oid, _ := strconv.ParseUint(string(v[0]), 10, 32)
			base, _ := strconv.ParseUint(string(v[2]), 10, 32)
			elem, _ := strconv.ParseUint(string(v[3]), 10, 32)
			in := info{typtype: firstByte(v[1]), base: uint32(base), elem: uint32(elem), category: firstByte(v[4]), delim: firstByte(v[5])}
			infos[uint32(oid)] = in
		}
		if _, err := rr.Close(); err != nil {
			return nil, err
		}
		want = want[:0:0]
		for _, s := range missing {
			oid, _ := strconv.ParseUint(s, 10, 32)
			in, ok := infos[uint32(oid)]
			if !ok {
				infos[uint32(oid)] = info{} // unknown to the catalog: text
				continue
			}
			switch {
			case in.typtype == 'd' && in.base != 0:
				want = append(want, in.base)
			case in.category == 'A' && in.elem != 0:
				want = append(want, in.elem)
			}
		}
	}
	var resolve func(oid uint32, depth int) *decoder
	resolve = func(oid uint32, depth int) *decoder {
		if d, ok := tc.get(oid); ok {
			return d
		}
		in, ok := infos[oid]
		d := decText
		switch {
		case !ok || depth > 16:
			return decText // not cached: a later call may learn more
		case in.typtype == 'd' && in.base != 0:
			d = resolve(in.base, depth+1)
		case in.category == 'A' && in.elem != 0:
			d = &decoder{kind: kindArray, elem: resolve(in.elem, depth+1), delim: in.delim}
			if d.delim == 0 {
				d.delim = ','
			}
		}
		tc.m.Store(oid, d)
		return d
	}
	out := make([]*decoder, len(oids))
	for i, oid := range oids {
		out[i] = resolve(oid, 0)
	}
	return out, nil
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// decode returns the value of one non-NULL text-format value.
func (d *decoder) decode(b []byte) (any, error) {
	switch d.kind {
	case kindBool:
		switch string(b) {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
	case kindInt:
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return n, nil
		}
	case kindFloat:
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return f, nil
		}
	case kindNumeric:
		return providers.Decimal(b), nil
	case kindString:
		return string(b), nil
	case kindBytea:
		if hx, ok := bytes.CutPrefix(b, []byte(`\x`)); ok {
			out := make([]byte, hex.DecodedLen(len(hx)))
			if _, err := hex.Decode(out, hx); err == nil {
				return out, nil
			}
		}
	case kindTimestamp, kindTimestamptz:
		if t, ok := parseTimestamp(string(b), d.kind == kindTimestamptz); ok {
			return t, nil
		}
	case kindJSON:
		return providers.RawJSON(bytes.Clone(b)), nil
	case kindArray:
		p := arrayParser{s: string(b), elem: d.elem, delim: d.delim}
		return p.parse()
	}
	return providers.Text(b), nil
}

// parseTimestamp parses PostgreSQL's ISO output (DateStyle ISO):
// "2024-01-02 03:04:05.123456" and, with zone, "+05:30" or "-04:56:02" after
// it. Values RFC 3339 cannot carry (infinity, BC, years past 9999) are not
// parsed and stay text.
func parseTimestamp(s string, zoned bool) (time.Time, bool) {
	// YYYY-MM-DD HH:MM:SS
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if strings.HasPrefix(rest, ".") {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac := rest[1:j]
		if len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, false
		}
		n, _ := digits(frac)
		for k := len(frac); k < 9; k++ {
			n *= 10
		}
		nsec = n
		rest = rest[j:]
	}
	off := 0 // seconds east of UTC
	if zoned {
		// +HH, +HH:MM or +HH:MM:SS
		if len(rest) != 3 && len(rest) != 6 && len(rest) != 9 || (rest[0] != '+' && rest[0] != '-') {
			return time.Time{}, false
		}
		for k, mul := 1, 3600; k < len(rest); k, mul = k+3, mul/60 {
			if k > 1 && rest[k-1] != ':' {
				return time.Time{}, false
			}
			n, ok := digits(rest[k : k+2])
			if !ok {
				return time.Time{}, false
			}
			off += n * mul
		}
		if rest[0] == '-' {
			off = -off
		}
		rest = ""
	}
	if rest != "" {
		return time.Time{}, false // " BC" and anything unexpected
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Add(-time.Duration(off) * time.Second)
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// arrayParser reads PostgreSQL's array text form: {a,b,NULL,"c d"}, nested
// braces for more dimensions, an optional [lo:hi]= prefix for non-default
// bounds (dropped), and backslash escapes inside quotes.
type arrayParser struct {
	s     string
	i     int
	elem  *decoder
	delim byte
}

var errArraySyntax = errors.New("malformed array text")

func (p *arrayParser) parse() (any, error) {
	if strings.HasPrefix(p.s, "[") {
		eq := strings.IndexByte(p.s, '=')
		if eq < 0 {
			return nil, errArraySyntax
		}
		p.i = eq + 1
	}
	v, err := p.array(0)
	if p.space(); err == nil && p.i != len(p.s) {
		err = errArraySyntax
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, p.s)
	}
	return v, nil
}

func (p *arrayParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *arrayParser) array(depth int) ([]any, error) {
	if depth > 64 || p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, errArraySyntax
	}
	p.i++
	out := []any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return out, nil
	}
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, errArraySyntax
		}
		switch p.s[p.i] {
		case '{':
			sub, err := p.array(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub)
		case '"':
			s, err := p.quoted()
			if err != nil {
				return nil, err
			}
			v, err := p.element(s)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			s := p.unquoted()
			if strings.EqualFold(s, "NULL") {
				out = append(out, nil)
				break
			}
			v, err := p.element(s)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		p.space()
		if p.i >= len(p.s) {
			return nil, errArraySyntax
		}
		switch p.s[p.i] {
		case p.delim:
			p.i++
		case '}':
			p.i++
			return out, nil
		default:
			return nil, errArraySyntax
		}
	}
}

func (p *arrayParser) element(s string) (any, error) {
	if p.elem == nil {
		return providers.Text(s), nil
	}
	return p.elem.decode([]byte(s))
}

func (p *arrayParser) quoted() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		ch := p.s[p.i]
		switch ch {
		case '\\':
			if p.i+1 >= len(p.s) {
				return "", errArraySyntax
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case '"':
			p.i++
			return b.String(), nil
		default:
			b.WriteByte(ch)
			p.i++
		}
	}
	return "", errArraySyntax
}

func (p *arrayParser) unquoted() string {
	var b strings.Builder
	for p.i < len(p.s) {
		ch := p.s[p.i]
		if ch == p.delim || ch == '}' {
			break
		}
		if ch == '\\' && p.i+1 < len(p.s) {
			b.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		}
		b.WriteByte(ch)
		p.i++
	}
	return strings.TrimRight(b.String(), " \t\n\r")
}
