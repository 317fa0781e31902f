package providers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConfigDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(strings.Repeat("x", 100)))
	}))
	defer srv.Close()
	get := func() *http.Request {
		r, err := http.NewRequest(http.MethodGet, srv.URL+"/?key=sekrit-key", nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cfg := Config{HTTPClient: testClient(HTTPOptions{MaxRetries: -1})}

	resp, body, err := cfg.Do(get(), "p")
	if err != nil || resp.StatusCode != http.StatusTeapot || len(body) != 100 {
		t.Fatalf("Do = %v, %d bytes, %v; want 418, 100 bytes, no error", resp, len(body), err)
	}
	if _, body, err = cfg.DoLimit(get(), "p", 10); err != nil || string(body) != "xxxxxxxxxx" {
		t.Fatalf("DoLimit(10) = %q, %v; want 10 bytes", body, err)
	}

	small := Config{HTTPClient: testClient(HTTPOptions{MaxRetries: -1, MaxBodyBytes: 50})}
	if _, _, err = small.Do(get(), "p"); !errors.Is(err, ErrBodyTooLarge) || err.(*Error).Code != CodeProviderError {
		t.Fatalf("Do past the body cap = %v; want a classified ErrBodyTooLarge", err)
	}

	srv.Close()
	_, _, err = cfg.Do(get(), "p")
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeUnreachable || strings.Contains(pe.Message, "sekrit-key") {
		t.Fatalf("Do to a closed server = %v; want unreachable without the URL", err)
	}
}
