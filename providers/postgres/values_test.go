package postgres

import (
	"fmt"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in    string
		zoned bool
		want  string // "" means not parsed (stays text)
	}{
		{"2024-01-02 03:04:05", false, "2024-01-02T03:04:05Z"},
		{"2024-01-02 03:04:05.5", false, "2024-01-02T03:04:05.5Z"},
		{"2024-01-02 03:04:05.123456789", false, "2024-01-02T03:04:05.123456789Z"},
		{"2024-01-02 03:04:05+00", true, "2024-01-02T03:04:05Z"},
		{"2024-01-02 03:04:05.25+05:30", true, "2024-01-01T21:34:05.25Z"},
		{"1883-11-18 12:00:00-04:56:02", true, "1883-11-18T16:56:02Z"},
		{"2024-12-31 23:30:00-01", true, "2025-01-01T00:30:00Z"},
		{"0001-01-01 00:30:00+01", true, ""}, // before year 1 in UTC
		{"9999-12-31 23:59:59-01", true, ""}, // past 9999 in UTC
		{"0044-03-15 12:00:00 BC", false, ""},
		{"10000-01-01 00:00:00", false, ""},
		{"infinity", true, ""},
		{"-infinity", false, ""},
		{"2024-01-02 03:04:05", true, ""},       // zone missing
		{"2024-01-02 03:04:05+0", true, ""},     // short zone
		{"2024-01-02 03:04:05+05-30", true, ""}, // bad separator
		{"2024-01-02 03:04:05.", false, ""},     // empty fraction
		{"2024-01-02T03:04:05", false, ""},      // not ISO output
		{"2024-01-02 03:04:05+00", false, ""},   // zone on a timestamp
		{"2024-01-02 03:04:05.1234567890", false, ""},
	}
	for _, tt := range tests {
		got, ok := parseTimestamp(tt.in, tt.zoned)
		s := ""
		if ok {
			s = got.Format(time.RFC3339Nano)
		}
		if s != tt.want {
			t.Errorf("parseTimestamp(%q, %v) = %q, want %q", tt.in, tt.zoned, s, tt.want)
		}
	}
}

func TestArrayParser(t *testing.T) {
	tests := []struct {
		in    string
		delim byte
		want  string
	}{
		{"{}", ',', "[]"},
		{"{1,2,3}", ',', "[1 2 3]"},
		{"{{1,2},{3,4}}", ',', "[[1 2] [3 4]]"},
		{"[0:1]={7,8}", ',', "[7 8]"},
		{`{"a b","c\"d",NULL,"NULL",null,""}`, ',', `[a b c"d <nil> NULL <nil> ]`},
		{`{ a , b }`, ',', "[a b]"},
		{`{(1,1),(0,0);(3,3),(2,2)}`, ';', "[(1,1),(0,0) (3,3),(2,2)]"},
		{`{"back\\slash"}`, ',', `[back\slash]`},
	}
	for _, tt := range tests {
		p := arrayParser{s: tt.in, delim: tt.delim}
		got, err := p.parse()
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("parse(%q) = %v %v, want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "{", "{1,2", `{"a}`, "[1:2]", "{1}x", "1,2", "{{1}"} {
		p := arrayParser{s: bad, delim: ','}
		if got, err := p.parse(); err == nil {
			t.Errorf("parse(%q) = %v, want an error", bad, got)
		}
	}
}
