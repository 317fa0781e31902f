package googleauth

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/junctionhq/junction/providers"
)

func TestAPIError(t *testing.T) {
	cfg := providers.Config{Secrets: map[string]string{"refresh_token": "1//secret-refresh"}}
	cases := []struct {
		name  string
		err   error
		code  providers.Code
		after time.Duration
	}{
		{"401", &googleapi.Error{Code: 401, Message: "Invalid Credentials"}, providers.CodeAuthFailed, 0},
		{"403 permission", &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "insufficientPermissions"}}}, providers.CodePermissionDenied, 0},
		{"403 quota in errors", &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "userRateLimitExceeded"}}}, providers.CodeRateLimited, 0},
		{"403 quota in ErrorInfo", &googleapi.Error{Code: 403, Header: http.Header{"Retry-After": {"7"}},
			Details: []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}}}, providers.CodeRateLimited, 7 * time.Second},
		{"404", &googleapi.Error{Code: 404}, providers.CodeNotFound, 0},
		{"429", &googleapi.Error{Code: 429, Header: http.Header{"Retry-After": {"30"}}}, providers.CodeRateLimited, 30 * time.Second},
		{"500", &googleapi.Error{Code: 500}, providers.CodeProviderError, 0},
		{"wrapped", fmt.Errorf("call: %w", &googleapi.Error{Code: 401}), providers.CodeAuthFailed, 0},
		{"leak", &googleapi.Error{Code: 400, Message: "bad token 1//secret-refresh"}, providers.CodeProviderError, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := apiError("google_drive", cfg.Redact, tc.err)
			if e.Code != tc.code || e.RetryAfter != tc.after {
				t.Fatalf("got %s (retry after %v): %s; want %s (%v)", e.Code, e.RetryAfter, e.Message, tc.code, tc.after)
			}
			if want := "[REDACTED]"; tc.name == "leak" && !strings.Contains(e.Message, want) {
				t.Fatalf("message not redacted: %s", e.Message)
			}
		})
	}
}
