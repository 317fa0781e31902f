package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTokenFrom(t *testing.T) {
	for _, tc := range []struct {
		name, header, cookie, want string
	}{
		{"bearer", "Bearer jct_abc", "", "jct_abc"},
		{"bearer any case", "bearer  jct_abc ", "", "jct_abc"},
		{"cookie", "", "jct_cookie", "jct_cookie"},
		{"header wins over cookie", "Bearer jct_h", "jct_c", "jct_h"},
		{"basic is not a token", "Basic dXNlcjpwYXNz", "jct_c", ""},
		{"nothing", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.cookie != "" {
				r.Header.Set("Cookie", CookieName+"="+tc.cookie)
			}
			if got := TokenFrom(r); got != tc.want {
				t.Fatalf("TokenFrom = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || !strings.HasPrefix(a, TokenPrefix) || len(a) != len(TokenPrefix)+43 {
		t.Fatalf("tokens %q %q", a, b)
	}
}
