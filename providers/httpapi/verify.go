package httpapi

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/providers"
)

const name = "http_api"

var _ providers.Verifier = (*conn)(nil)

// Verify sends verify_method to base_url + verify_path with the configured
// authentication and extra headers. It passes on expected_status when set, on
// any 2xx otherwise.
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	cfg := c.api.Config
	var resp *http.Response
	ans, err := c.api.Do(ctx, providers.Call{Method: c.method})
	var exp *expectedAnswer
	switch {
	case errors.As(err, &exp):
		resp = exp.resp
	case err != nil:
		return nil, err
	case c.want != 0 && ans.StatusCode != c.want:
		_, token, _ := strings.Cut(ans.Request.Header.Get("Authorization"), " ")
		return nil, c.statusError(ans.Response, ans.Body, func(s string) string { return providers.RedactWith(s, cfg.Secrets, token) })
	default:
		resp = ans.Response
	}
	details := map[string]any{
		"status":     resp.StatusCode,
		"final_path": cfg.Redact(resp.Request.URL.Path),
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			ct = mt
		}
		details["content_type"] = cfg.Redact(ct)
	}
	if resp.Request.URL.Host != c.target.Host {
		details["final_host"] = resp.Request.URL.Host
	}
	if s := resp.Header.Get("Server"); s != "" {
		details["server"] = cfg.Redact(s)
	}
	return &providers.VerifyResult{Details: details}, nil
}

// expectedAnswer is a non-2xx answer that expected_status names: the verify
// passes. It comes back from the API as the cause of an *Error (answerError),
// which Verify takes for the answer.
type expectedAnswer struct{ resp *http.Response }

func (e *expectedAnswer) Error() string {
	return fmt.Sprintf("the expected status HTTP %d", e.resp.StatusCode)
}

// answerError classifies a non-2xx answer, unless it is the expected one.
func (c *conn) answerError(resp *http.Response, body []byte, redact func(string) string) *providers.Error {
	if c.want != 0 && resp.StatusCode == c.want {
		return providers.Wrap(providers.CodeProviderError, &expectedAnswer{resp}, "%s: the server answered the expected HTTP %d", name, resp.StatusCode)
	}
	return c.statusError(resp, body, redact)
}

// statusError classifies an unexpected status, quoting the start of a textual
// body as the upstream reason, with the secrets and the access token sent (if
// any) redacted.
func (c *conn) statusError(resp *http.Response, body []byte, redact func(string) string) *providers.Error {
	detail := ""
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); strings.HasPrefix(mt, "text/") ||
		strings.Contains(mt, "json") || strings.Contains(mt, "xml") {
		detail = strings.Join(strings.Fields(string(body)), " ")
	}
	// Redacted before any cut, so no part of a secret is left at the cut.
	detail = redact(detail)
	e := providers.StatusError(name, resp, detail)
	switch {
	case e.Code == providers.CodeNotFound:
		e.Message = fmt.Sprintf("%s: %s was not found (HTTP 404); check base_url and verify_path", name, redact(c.target.Path))
	case c.want != 0 && resp.StatusCode < 400:
		e.Message = providers.WithDetail(fmt.Sprintf("%s: the server answered HTTP %d, expected %d", name, resp.StatusCode, c.want), detail)
	}
	return e
}
