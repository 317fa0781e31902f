package resolvers

import (
	"strings"
	"testing"
)

func TestSlugify(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Orders DB", "orders-db"},
		{"  Orders -- DB!! ", "orders-db"},
		{"Café Ümlaut", "caf-mlaut"},
		{"ALL_CAPS_name", "all-caps-name"},
		{"!!!", "connection"},
		{"", "connection"},
		{strings.Repeat("a", 300), strings.Repeat("a", MaxSlugLen-4)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Slugify(tc.in); got != tc.want {
				t.Fatalf("Slugify(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzSlugify: every derived slug is valid, leaving room for a "-N" suffix.
func FuzzSlugify(f *testing.F) {
	for _, s := range []string{"Orders DB", "", "---", "a-b", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := Slugify(name)
		if !slugPattern.MatchString(s) || len(s) > MaxSlugLen-4 || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("Slugify(%q) = %q", name, s)
		}
	})
}
