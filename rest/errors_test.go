package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/reqid"
	"github.com/junctionhq/junction/resolvers"
)

// TestErrorResponse covers every row of the one error mapping.
func TestErrorResponse(t *testing.T) {
	field := resolvers.FieldError{Loc: []any{"body", "name"}, Msg: "String should have at least 1 character", Type: "string_too_short"}
	rerr := func(code resolvers.Code, msg string) error { return &resolvers.Error{Code: code, Message: msg} }
	tests := []struct {
		name     string
		err      error
		status   int
		body     string
		header   http.Header
		internal bool
	}{
		{"validation", &resolvers.Error{Code: resolvers.CodeValidation, Message: "Request validation failed", Fields: []resolvers.FieldError{field}}, 422,
			`{"detail":[{"loc":["body","name"],"msg":"String should have at least 1 character","type":"string_too_short"}]}`, nil, false},
		{"validation without fields", rerr(resolvers.CodeValidation, "bad input"), 422,
			`{"detail":[{"loc":["body"],"msg":"bad input","type":"value_error"}]}`, nil, false},
		{"unauthenticated", rerr(resolvers.CodeUnauthenticated, "who are you"), 401, `{"detail":"Not authenticated"}`, nil, false},
		{"not found", rerr(resolvers.CodeNotFound, "Connection not found"), 404, `{"detail":"Connection not found","code":"not_found"}`, nil, false},
		{"forbidden", rerr(resolvers.CodeForbidden, "Only the creator"), 403, `{"detail":"Only the creator","code":"forbidden"}`, nil, false},
		{"conflict", rerr(resolvers.CodeConflict, "slug taken"), 409, `{"detail":"slug taken","code":"conflict"}`, nil, false},
		{"disabled", rerr(resolvers.CodeDisabled, "disabled"), 409, `{"detail":"disabled","code":"connection_disabled"}`, nil, false},
		{"unsupported", rerr(resolvers.CodeUnsupported, "no files here"), 400, `{"detail":"no files here","code":"unsupported_operation"}`, nil, false},
		{"provider error", rerr(resolvers.CodeProviderError, "upstream said no"), 502, `{"detail":"upstream said no","code":"provider_error"}`, nil, false},
		{"provider timeout", rerr(resolvers.CodeProviderTimeout, "too slow"), 504, `{"detail":"too slow","code":"timeout"}`, nil, false},
		{"rate limited", rerr(resolvers.CodeRateLimited, "slow down"), 429, `{"detail":"slow down","code":"rate_limited"}`, nil, false},
		{"unavailable", &resolvers.Error{Code: resolvers.CodeUnavailable, Message: "Database unavailable: retry in a few seconds", RetryAfter: 5 * time.Second}, 503,
			`{"detail":"Database unavailable: retry in a few seconds","code":"unavailable"}`, http.Header{"Retry-After": {"5"}}, false},
		{"database unavailable (untyped)", fmt.Errorf("list: %w", errors.New("sql: database is closed")), 503,
			`{"detail":"Database unavailable: retry in a few seconds","code":"unavailable"}`, http.Header{"Retry-After": {"5"}}, false},
		{"internal code", rerr(resolvers.CodeInternal, "db exploded at 10.0.0.5"), 500, `{"detail":"Internal server error","code":"internal"}`, nil, true},
		{"unknown code", rerr("teapot", "short and stout"), 500, `{"detail":"Internal server error","code":"internal"}`, nil, true},
		{"plain error", errors.New("pq: relation does not exist"), 500, `{"detail":"Internal server error","code":"internal"}`, nil, true},
		{"wrapped client error", fmt.Errorf("loading: %w", rerr(resolvers.CodeNotFound, "Connection not found")), 404, `{"detail":"Connection not found","code":"not_found"}`, nil, false},
		{"provider timeout (typed)", providers.Errorf(providers.CodeTimeout, "postgres: timed out"), 504, `{"detail":"postgres: timed out","code":"timeout"}`, nil, false},
		{"provider rate limit with Retry-After", &providers.Error{Code: providers.CodeRateLimited, Message: "klaviyo: rate limited", RetryAfter: 1500 * time.Millisecond}, 429,
			`{"detail":"klaviyo: rate limited","code":"rate_limited"}`, http.Header{"Retry-After": {"2"}}, false},
		{"provider unsupported", providers.Errorf(providers.CodeUnsupported, "s3: no schema"), 400, `{"detail":"s3: no schema","code":"unsupported_operation"}`, nil, false},
		{"provider not found", providers.Errorf(providers.CodeNotFound, "s3: no such key"), 404, `{"detail":"s3: no such key","code":"not_found"}`, nil, false},
		{"query failed", rerr(resolvers.CodeQueryFailed, `column "x" does not exist`), 400, `{"detail":"column \"x\" does not exist","code":"query_failed"}`, nil, false},
		{"auth failed", rerr(resolvers.CodeAuthFailed, "s3: access denied"), 502, `{"detail":"s3: access denied","code":"auth_failed"}`, nil, false},
		{"permission denied", rerr(resolvers.CodePermissionDenied, "sftp: permission denied"), 502, `{"detail":"sftp: permission denied","code":"permission_denied"}`, nil, false},
		{"unreachable", rerr(resolvers.CodeUnreachable, "sftp: connection refused"), 502, `{"detail":"sftp: connection refused","code":"unreachable"}`, nil, false},
		{"tls error", rerr(resolvers.CodeTLSError, "postgres: certificate signed by unknown authority"), 502, `{"detail":"postgres: certificate signed by unknown authority","code":"tls_error"}`, nil, false},
		{"blocked address", rerr(resolvers.CodeBlockedAddress, "169.254.169.254 is not allowed"), 502, `{"detail":"169.254.169.254 is not allowed","code":"blocked_address"}`, nil, false},
		{"invalid config", rerr(resolvers.CodeInvalidConfig, "s3: no such bucket region"), 502, `{"detail":"s3: no such bucket region","code":"invalid_config"}`, nil, false},
		{"provider auth failed (typed)", providers.Errorf(providers.CodeAuthFailed, "s3: access denied"), 502, `{"detail":"s3: access denied","code":"auth_failed"}`, nil, false},
		{"provider other (typed)", providers.Errorf(providers.CodeProviderError, "s3: internal error"), 502, `{"detail":"s3: internal error","code":"provider_error"}`, nil, false},
		{"provider query failed (typed)", providers.Errorf(providers.CodeQueryFailed, "postgres: syntax error at or near \"FORM\""), 400, `{"detail":"postgres: syntax error at or near \"FORM\"","code":"query_failed"}`, nil, false},
		{"provider refused (typed)", providers.Errorf(providers.CodeRefused, "only one read-only statement is allowed"), 422,
			`{"detail":[{"loc":["sql"],"msg":"only one read-only statement is allowed","type":"value_error"}]}`, nil, false},
		{"provider conflict (typed)", providers.Errorf(providers.CodeConflict, "two folders are named a"), 409, `{"detail":"two folders are named a","code":"conflict"}`, nil, false},
		{"body too large", fmt.Errorf("read body: %w", &http.MaxBytesError{Limit: 1 << 20}), 413,
			`{"detail":"Request body too large: the limit is 1048576 bytes","code":"request_too_large"}`, nil, false},
	}
	seen := map[resolvers.Code]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorResponse(tt.err)
			if got.Status != tt.status || got.Internal != tt.internal {
				t.Errorf("status %d internal %v, want %d %v", got.Status, got.Internal, tt.status, tt.internal)
			}
			b, _ := json.Marshal(got.Body)
			if string(b) != tt.body {
				t.Errorf("body %s\nwant %s", b, tt.body)
			}
			if !reflect.DeepEqual(got.Header, tt.header) {
				t.Errorf("header %v, want %v", got.Header, tt.header)
			}
		})
		if e, ok := tt.err.(*resolvers.Error); ok {
			seen[e.Code] = true
		}
	}
	for code := range statusOf {
		if !seen[code] {
			t.Errorf("no row covers code %q", code)
		}
	}
}

// TestWriteErrorLogsInternal: an internal error is logged with the request
// id and the cause, and the client sees neither.
func TestWriteErrorLogsInternal(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(reqid.Handler{Handler: slog.NewJSONHandler(&logs, nil)})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/connections", nil)
	req = req.WithContext(reqid.With(context.Background(), "req-42"))
	rec := httptest.NewRecorder()
	writeError(rec, req, log, errors.New("store: scan connection from 10.1.2.3: unexpected column type"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "10.1.2.3") {
		t.Errorf("reply %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), `"request_id":"req-42"`) || !strings.Contains(logs.String(), "10.1.2.3") {
		t.Errorf("log line lacks the request id or cause: %s", logs.String())
	}
}

func TestRelocate(t *testing.T) {
	err := &resolvers.Error{Code: resolvers.CodeValidation, Fields: []resolvers.FieldError{
		{Loc: []any{"id"}}, {Loc: []any{"config", "host"}}, {Loc: []any{"sort"}},
	}}
	got := relocate(err, in("body", map[string][]any{"id": {"path", "connection_id"}, "sort": {"query", "sortBy"}})).(*resolvers.Error)
	want := [][]any{{"path", "connection_id"}, {"body", "config", "host"}, {"query", "sortBy"}}
	for i, f := range got.Fields {
		if !reflect.DeepEqual(f.Loc, want[i]) {
			t.Errorf("loc %v, want %v", f.Loc, want[i])
		}
	}
	if !reflect.DeepEqual(err.Fields[0].Loc, []any{"id"}) {
		t.Error("relocate changed its input")
	}
}

// TestRelocateProviderRefusal: a statement the driver refused reaches REST
// as a typed provider error; it is classified first, so its problem lands at
// ["body","sql"], not at the resolvers' relative ["sql"].
func TestRelocateProviderRefusal(t *testing.T) {
	err := fmt.Errorf("query: %w", providers.Errorf(providers.CodeRefused, "only a single read-only statement is allowed"))
	got := errorResponse(relocate(err, in("body", pathID)))
	b, _ := json.Marshal(got.Body)
	want := `{"detail":[{"loc":["body","sql"],"msg":"only a single read-only statement is allowed","type":"value_error"}]}`
	if got.Status != 422 || string(b) != want {
		t.Errorf("%d %s\nwant 422 %s", got.Status, b, want)
	}
	// Errors that are not validation pass through unchanged.
	plain := providers.Errorf(providers.CodeQueryFailed, "syntax error")
	if relocate(plain, in("body", pathID)) != error(plain) {
		t.Error("relocate changed a non-validation error")
	}
}
