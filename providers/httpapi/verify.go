package httpapi

import (
	"context"
	"fmt"
	"mime"
	"strings"

	"github.com/junctionhq/junction/providers"
)

const name = "http_api"

var _ providers.Verifier = (*conn)(nil)

// Verify sends verify_method to base_url + verify_path with the configured
// authentication and extra headers. It passes on expected_status when set
// (whatever it is), on any 2xx otherwise.
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	cfg := c.api.Config
	call := providers.Call{Method: c.method}
	if c.want != 0 {
		call.Success = func(status int) bool { return status == c.want }
	}
	resp, err := c.api.Do(ctx, call)
	if err != nil {
		return nil, err
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

// statusError classifies an unexpected status, quoting the start of a textual
// body as the upstream reason, with the secrets and the access token sent (if
// any) redacted.
func (c *conn) statusError(a providers.Answer) *providers.Error {
	detail := ""
	if mt, _, _ := mime.ParseMediaType(a.Header.Get("Content-Type")); strings.HasPrefix(mt, "text/") ||
		strings.Contains(mt, "json") || strings.Contains(mt, "xml") {
		detail = strings.Join(strings.Fields(string(a.Body)), " ")
	}
	// Redacted before any cut, so no part of a secret is left at the cut.
	detail = a.Redact(detail)
	e := providers.StatusError(name, a.Response, detail)
	switch {
	case e.Code == providers.CodeNotFound:
		e.Message = fmt.Sprintf("%s: %s was not found (HTTP 404); check base_url and verify_path", name, a.Redact(c.target.Path))
	case c.want != 0 && a.StatusCode < 400:
		e.Message = providers.WithDetail(fmt.Sprintf("%s: the server answered HTTP %d, expected %d", name, a.StatusCode, c.want), detail)
	}
	return e
}
