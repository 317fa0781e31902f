package googleauth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/googleapi"

	"github.com/junctionhq/junction/providers"
)

// rateLimitReasons are the 403 reasons Google uses for quota exhaustion
// (https://developers.google.com/drive/api/guides/handle-errors).
var rateLimitReasons = []string{"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "dailyLimitExceeded", "quotaExceeded"}

// apiError classifies an error from a Google API call. A *googleapi.Error is
// mapped by status and reason (401 auth_failed; 403 rate_limited for quota
// reasons, else permission_denied; 404 not_found; 429 rate_limited) with
// Google's message, passed through redact, appended. Anything else goes
// through providers.Classify (which keeps a token-endpoint *providers.Error
// as is).
func apiError(provider string, redact func(string) string, err error) *providers.Error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return providers.Classify(provider, err)
	}
	reasons := Reasons(ge)
	detail := strings.TrimSpace(ge.Message)
	if len(reasons) > 0 {
		if detail == "" {
			detail = reasons[0]
		} else {
			detail = reasons[0] + ": " + detail
		}
	}
	resp := &http.Response{StatusCode: ge.Code, Header: ge.Header}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	e := providers.StatusError(provider, resp, redact(detail))
	e.Err = err
	if ge.Code == http.StatusForbidden && slices.ContainsFunc(reasons, isRateLimit) {
		e.Code = providers.CodeRateLimited
		e.Retryable = true
		e.RetryAfter = providers.RetryAfter(resp.Header, timeNow())
		e.Message = strings.Replace(e.Message, "the credentials are valid but lack permission (HTTP 403)",
			"the quota for this account or project is exhausted (HTTP 403)", 1)
	}
	return e
}

func isRateLimit(reason string) bool { return slices.Contains(rateLimitReasons, reason) }

// Reasons returns the reasons of a Google API error: errors[].reason of the
// v1 error format, then the reason of any google.rpc.ErrorInfo detail.
func Reasons(ge *googleapi.Error) []string {
	var out []string
	for _, it := range ge.Errors {
		if it.Reason != "" && !slices.Contains(out, it.Reason) {
			out = append(out, it.Reason)
		}
	}
	for _, d := range ge.Details {
		m, ok := d.(map[string]any)
		if !ok {
			continue
		}
		if r, _ := m["reason"].(string); r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

var timeNow = time.Now
