package providers_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/junctionhq/junction/providers"
)

// FuzzConfigValidators: the common checks of a configured setting
// (ParseBaseURL, ParseURL, Port) never panic; what they accept keeps their
// promises (an absolute http(s) URL with a host and no user info; for a
// base URL no query or fragment either; a port in 1-65535), and what they
// refuse is invalid_config at the field checked, so the API answers 422
// there (issue 9 item 2).
func FuzzConfigValidators(f *testing.F) {
	for _, s := range []string{"https://api.example.com", " http://127.0.0.1:9/api/ ", "https://u:p@h", "ht!tp://x",
		"https://h/?q=1#f", "HTTPS://H", "http://[::1", "//h/x", "https://h%00/", "http://h:99999"} {
		f.Add(s, int64(443), true)
	}
	f.Add("", int64(-1), false)
	f.Add("x", int64(0), true)
	f.Add("x", int64(99999), true)
	f.Add("x", int64(65535), true)
	f.Fuzz(func(t *testing.T, raw string, port int64, set bool) {
		invalidAt := func(what string, err error, field string) {
			t.Helper()
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig || !slices.Equal(pe.Field, []string{field}) || pe.Message == "" {
				t.Fatalf("%s: %#v is not invalid_config at %s", what, err, field)
			}
		}
		if u, err := providers.ParseBaseURL("p", "base_url", raw, ""); err != nil {
			invalidAt("ParseBaseURL", err, "base_url")
		} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("ParseBaseURL(%q) accepted %#v", raw, u)
		}
		if u, err := providers.ParseURL("p", "token_url", raw); err != nil {
			invalidAt("ParseURL", err, "token_url")
		} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			t.Fatalf("ParseURL(%q) accepted %#v", raw, u)
		}
		cfg := providers.Config{Settings: map[string]any{}}
		if set {
			cfg.Settings["port"] = port
		}
		got, err := providers.Port("p", "port", cfg, 5432)
		switch {
		case !set && (err != nil || got != 5432):
			t.Fatalf("unset port: %d, %v", got, err)
		case set && port >= 1 && port <= 65535 && (err != nil || got != port):
			t.Fatalf("port %d: %d, %v", port, got, err)
		case set && (port < 1 || port > 65535):
			invalidAt("Port", err, "port")
			if !strings.Contains(err.Error(), "1-65535") {
				t.Fatalf("port %d: %q does not say the range", port, err)
			}
		}
	})
}
