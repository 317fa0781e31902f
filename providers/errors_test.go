package providers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWithDetail(t *testing.T) {
	for _, tc := range []struct{ msg, detail, want string }{
		{"x: failed", "", "x: failed"},
		{"x: failed", " \n\t ", "x: failed"},
		{"x: failed", "  bad\n  token\t here ", "x: failed: bad token here"},
	} {
		if got := WithDetail(tc.msg, tc.detail); got != tc.want {
			t.Errorf("WithDetail(%q, %q) = %q, want %q", tc.msg, tc.detail, got, tc.want)
		}
	}
	long := strings.Repeat("é", 200) // 400 bytes; byte 300 starts a character
	got := WithDetail("x", "a"+long) // byte 300 is inside one: the cut moves back
	detail := strings.TrimPrefix(got, "x: ")
	if !strings.HasSuffix(detail, "…") || !utf8.ValidString(got) {
		t.Fatalf("WithDetail did not cut cleanly: %q", got)
	}
	if n := len(strings.TrimSuffix(detail, "…")); n != 299 {
		t.Errorf("cut detail is %d bytes, want 299", n)
	}
}

func TestCutDetail(t *testing.T) {
	if got := CutDetail("  short  "); got != "short" {
		t.Errorf("CutDetail trimmed to %q", got)
	}
	got := CutDetail("a" + strings.Repeat("é", 200))
	if !utf8.ValidString(got) || len(strings.TrimSuffix(got, "…")) != 299 {
		t.Errorf("CutDetail did not cut on a character: %q", got)
	}
}
