package providers_test

import (
	"strings"
	"testing"

	"github.com/junctionhq/junction/providers"
)

func TestParseBaseURL(t *testing.T) {
	for raw, want := range map[string]string{
		" https://api.example.com ":   "https://api.example.com",
		"http://127.0.0.1:9/api/":     "http://127.0.0.1:9/api/",
		"https://h/a%2Fb":             "https://h/a%2Fb",
		"HTTPS://API.example.com/v1/": "https://API.example.com/v1/",
	} {
		u, err := providers.ParseBaseURL("fake", "base_url", raw, "")
		if err != nil || u.String() != want {
			t.Errorf("ParseBaseURL(%q) = %v, %v; want %s", raw, u, err, want)
		}
	}
	for _, raw := range []string{"", "api.example.com", "/api", "ftp://h", "https://", "https:///x",
		"https://u:p@h", "https://u@h", "https://h/?x=1", "https://h/#f", "http://[::1"} {
		_, err := providers.ParseBaseURL("fake", "base_url", raw, "https://api.example.com")
		if !providers.IsCode(err, providers.CodeInvalidConfig) ||
			err.Error() != "fake: base_url must be an absolute http(s) URL without credentials, query or fragment, such as https://api.example.com" {
			t.Errorf("ParseBaseURL(%q): %v", raw, err)
		}
	}
	if _, err := providers.ParseBaseURL("fake", "token_url", "x", ""); err == nil || strings.Contains(err.Error(), "such as") {
		t.Errorf("no example: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, raw := range []string{"https://h/token?tenant=a", "http://127.0.0.1:9/", " https://h#f "} {
		if _, err := providers.ParseURL("fake", "token_url", raw); err != nil {
			t.Errorf("ParseURL(%q): %v", raw, err)
		}
	}
	for raw, msg := range map[string]string{
		"h/token":           "fake: token_url must be an absolute http or https URL",
		"file:///etc/x":     "fake: token_url must be an absolute http or https URL",
		"https://u:p@h/tok": "fake: token_url must not contain a user name or password; credentials belong in the secret fields",
	} {
		_, err := providers.ParseURL("fake", "token_url", raw)
		if !providers.IsCode(err, providers.CodeInvalidConfig) || err.Error() != msg {
			t.Errorf("ParseURL(%q): %v", raw, err)
		}
	}
}
