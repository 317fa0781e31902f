package gorgias

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/junctionhq/junction/providers"
)

const name = "gorgias"

var _ providers.Verifier = (*conn)(nil)

// Verify reads the account (GET {base}/api/account) with HTTP Basic
// authentication (the user's email and API key).
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	resp, err := c.api.Do(ctx, providers.Call{Path: "/api/account"})
	if err != nil {
		return nil, err
	}
	var acct struct {
		Domain          string `json:"domain"`
		Name            string `json:"name"`
		CreatedDatetime string `json:"created_datetime"`
		Status          struct {
			Status string `json:"status"`
		} `json:"status"`
	}
	if err := json.Unmarshal(resp.Body, &acct); err != nil || acct.Domain == "" {
		return nil, providers.Wrap(providers.CodeProviderError, err, "gorgias: the account response was not the expected JSON; check base_url")
	}
	details := map[string]any{"domain": acct.Domain}
	for k, v := range map[string]string{"name": acct.Name, "status": acct.Status.Status, "created_datetime": acct.CreatedDatetime,
		"api_call_limit": resp.Header.Get("X-Gorgias-Account-Api-Call-Limit")} {
		if v != "" {
			details[k] = v
		}
	}
	return &providers.VerifyResult{Details: details}, nil
}

// statusError classifies a non-2xx answer, quoting Gorgias's own (redacted)
// reason and saying what to check.
func statusError(a providers.Answer) *providers.Error {
	e := providers.StatusError(name, a.Response, a.Redact(errorText(a.Body)))
	switch a.StatusCode {
	case http.StatusUnauthorized:
		e.Message += "; check the email (username) and the API key from Settings > REST API"
	case http.StatusForbidden:
		e.Message += "; the API key's user role may not read the account"
	case http.StatusNotFound:
		e.Message += " (is the subdomain right?)"
	}
	return e
}

// errorText finds a human message in a Gorgias error body, which may be
// {"message": ...}, {"error": "..."} or {"error": {"msg": ...}}.
func errorText(body []byte) string {
	var eb map[string]any
	if json.Unmarshal(body, &eb) != nil {
		return ""
	}
	if s, ok := eb["message"].(string); ok {
		return s
	}
	switch e := eb["error"].(type) {
	case string:
		return e
	case map[string]any:
		if s, ok := e["msg"].(string); ok {
			return s
		}
		if s, ok := e["message"].(string); ok {
			return s
		}
	}
	return ""
}
