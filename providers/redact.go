package providers

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Redacted replaces a secret wherever it would have appeared.
const Redacted = "[REDACTED]"

// minSecretLen is the shortest secret that is redacted: shorter values (a
// one-character password) would shred ordinary text and reveal nothing useful.
const minSecretLen = 4

// Redact replaces every secret value in s, and its URL-encoded, base64 and
// basic-auth forms, with Redacted. Longer secrets are replaced first so one
// secret that contains another is removed whole.
func Redact(s string, secrets map[string]string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	var forms []string
	for _, v := range secrets {
		if len(v) < minSecretLen {
			continue
		}
		forms = append(forms, v, url.QueryEscape(v), url.PathEscape(v),
			base64.StdEncoding.EncodeToString([]byte(v)),
			base64.RawURLEncoding.EncodeToString([]byte(v)))
		for _, u := range []string{"username", "user", "email", "client_id", "api_username"} {
			if id := secrets[u]; id != "" {
				forms = append(forms, base64.StdEncoding.EncodeToString([]byte(id+":"+v)))
			}
		}
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		if len(f) >= minSecretLen {
			s = strings.ReplaceAll(s, f, Redacted)
		}
	}
	return s
}

// RedactValue redacts every string inside v (maps, slices, strings), returning
// a new value; v is not modified.
func RedactValue(v any, secrets map[string]string) any {
	switch t := v.(type) {
	case string:
		return Redact(t, secrets)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[Redact(k, secrets)] = RedactValue(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = RedactValue(e, secrets)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = Redact(e, secrets)
		}
		return out
	}
	return v
}
