package providers

import (
	"net/url"
	"strings"
)

// ParseBaseURL checks a setting that names where a driver sends requests
// (base_url, token_url, login_url): raw, spaces trimmed, must be an absolute
// http or https URL with a host and without user info, query or fragment.
// It returns the URL as parsed; a driver that appends paths trims its
// trailing slash. The error, CodeInvalidConfig at field (InvalidField), names provider and field,
// and quotes example when it is not "" ("such as https://api.example.com").
func ParseBaseURL(provider, field, raw, example string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		e := InvalidField(field, "%s: %s must be an absolute http(s) URL without credentials, query or fragment", provider, field)
		if example != "" {
			e.Message += ", such as " + example
		}
		return nil, e
	}
	return u, nil
}

// ParseURL is the lighter check of a URL setting: absolute http or https
// with a host and without user info. A query or fragment is the caller's
// business (an OAuth token endpoint may carry a query; http_api keeps
// base_url's).
func ParseURL(provider, field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, InvalidField(field, "%s: %s must be an absolute http or https URL", provider, field)
	}
	if u.User != nil {
		return nil, InvalidField(field, "%s: %s must not contain a user name or password; credentials belong in the secret fields", provider, field)
	}
	return u, nil
}

// Port returns the integer setting field (a TCP port): def when it is not
// set, else the value, which must be 1-65535. The error is CodeInvalidConfig
// at field (InvalidField), naming provider.
func Port(provider, field string, cfg Config, def int64) (int64, error) {
	if _, set := cfg.Settings[field]; !set {
		return def, nil
	}
	p := cfg.Int(field)
	if p < 1 || p > 65535 {
		return 0, InvalidField(field, "%s: %s %d is out of range (1-65535)", provider, field, p)
	}
	return p, nil
}
