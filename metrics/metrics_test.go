package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

func TestLabelsAreBounded(t *testing.T) {
	m := New()
	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	for _, method := range []string{"GET", "BREW", "PROPFIND", "get", "X-" + strings.Repeat("A", 50)} {
		for _, path := range []string{"/items/1", "/items/2", "/nowhere/1", "/nowhere/2"} {
			req := httptest.NewRequest("GET", path, nil)
			req.Method = method
			r.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	var series []string
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if strings.HasPrefix(line, "junction_http_requests_total{") {
			series = append(series, line)
		}
	}
	for _, s := range series {
		if strings.Contains(s, "BREW") || strings.Contains(s, "PROPFIND") || strings.Contains(s, `"get"`) || strings.Contains(s, "nowhere") || strings.Contains(s, "/items/1") {
			t.Fatalf("an unbounded label: %s", s)
		}
	}
	// (route /items/{id} | unmatched) x (GET | other) x their statuses.
	if len(series) > 4 {
		t.Fatalf("%d series:\n%s", len(series), strings.Join(series, "\n"))
	}
}

func TestRequireToken(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tc := range []struct {
		token, auth string
		want        int
	}{
		{"", "", 200},
		{"s3cret", "", 401},
		{"s3cret", "Bearer wrong", 401},
		{"s3cret", "Bearer s3cret", 200},
		{"s3cret", "bearer s3cret", 200},
		{"s3cret", "Basic s3cret", 401},
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		RequireToken(tc.token, ok).ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Fatalf("token %q, %q: %d, want %d", tc.token, tc.auth, w.Code, tc.want)
		}
	}
}
