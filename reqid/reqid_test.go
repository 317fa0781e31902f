package reqid

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddleware(t *testing.T) {
	for _, tc := range []struct {
		name, incoming string
		keep           bool
	}{
		{"none", "", false},
		{"sane id is kept", "abc-123_X", true},
		{"header injection is replaced", "abc\r\nx", false},
		{"too long is replaced", strings.Repeat("a", 65), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = From(r.Context()) }))
			r := httptest.NewRequest("GET", "/", nil)
			if tc.incoming != "" {
				r.Header[Header] = []string{tc.incoming}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if seen == "" || w.Header().Get(Header) != seen || (tc.keep != (seen == tc.incoming)) {
				t.Fatalf("incoming %q: context %q, response %q", tc.incoming, seen, w.Header().Get(Header))
			}
		})
	}
}

func TestHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler{slog.NewJSONHandler(&buf, nil)}).With("component", "x")
	log.InfoContext(With(context.Background(), "req-1"), "hello")
	log.Info("no request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], `"request_id":"req-1"`) || strings.Contains(lines[1], "request_id") {
		t.Fatalf("log lines: %v", lines)
	}
}
