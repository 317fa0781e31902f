package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// FuzzExtraHeaders: whatever extra_headers holds, Open never panics, never
// accepts a header that would carry or replace a credential (the reserved
// ones, whatever their case, and the API key's own header) or a value with
// a line break or NUL, and refuses each as invalid_config at
// ["extra_headers", name], which the API answers as a 422 there (issue 9
// item 2).
func FuzzExtraHeaders(f *testing.F) {
	for _, h := range []string{"Authorization", "cookie", "PROXY-AUTHORIZATION", "X-Key", "Host", "X-Fine", "bad name", "Transfer-Encoding", ""} {
		f.Add(h, "v", "api_key_header")
	}
	f.Add("X-Fine", "a\r\nInjected: 1", "none")
	f.Add("X-Fine", "a\x00", "bearer")
	f.Fuzz(func(t *testing.T, name, value, auth string) {
		settings := map[string]any{"base_url": "https://api.example.com", "extra_headers": map[string]any{name: value}, "api_key_name": "X-Key"}
		secrets := map[string]string{"token": "t", "api_key": "k", "username": "u", "password": "p"}
		switch auth {
		case "none", "basic", "bearer", "api_key_header", "api_key_query":
			settings["auth_type"] = auth
		}
		norm, errs := spec.Validate(settings, secrets)
		if len(errs) > 0 {
			return
		}
		cfg := providertest.Guarded(providers.Config{Settings: norm, Secrets: secrets})
		c, err := Driver{}.Open(context.Background(), cfg)
		ck := http.CanonicalHeaderKey(name)
		forbidden := slices.Contains(reservedHeaders, ck) || strings.ContainsAny(value, "\r\n\x00") ||
			(norm["auth_type"] == "api_key_header" && ck == "X-Key")
		if err == nil {
			defer c.Close()
			if forbidden {
				t.Fatalf("Open accepted extra header %q: %q", name, value)
			}
			if got := c.(*conn).api.Header.Get(ck); got != value {
				t.Fatalf("extra header %q sent as %q, want %q", name, got, value)
			}
			return
		}
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig || !slices.Equal(pe.Field, []string{"extra_headers", name}) {
			t.Fatalf("extra header %q: %#v, want invalid_config at [extra_headers %q]", name, err, name)
		}
		if strings.Contains(pe.Message, value) && len(value) >= 4 && forbidden && slices.Contains(reservedHeaders, ck) {
			t.Fatalf("the refusal quotes the value: %q", pe.Message)
		}
	})
}
