package redo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify lists at most one return of the configured store
// (GET /v2.2/stores/{store_id}/returns?page-size=1): the cheapest read that
// proves the API secret works for this store.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.returnsURL, nil)
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "redo: cannot build the request; check base_url")
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Secret("api_secret"))
	req.Header.Set("Accept", "application/json")
	// The published OpenAPI schema names the page size as a header; the
	// pagination guide as the page-size query parameter. Send both.
	req.Header.Set("X-Page-Size", "1")
	resp, err := c.cfg.Client().Do(req)
	if err != nil {
		return nil, providers.Classify("redo", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp)
	}
	var page struct {
		Returns *[]json.RawMessage `json:"returns"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, providers.Wrap(providers.CodeProviderError, err, "redo: the answer was not the expected JSON")
	}
	if page.Returns == nil {
		return nil, providers.Errorf(providers.CodeProviderError, "redo: the answer had no returns list; check base_url points at the Redo API")
	}
	return &providers.VerifyResult{Details: map[string]any{
		"store_id":        c.storeID,
		"returns_visible": len(*page.Returns) > 0,
	}}, nil
}

// statusError classifies a non-200 answer, naming the store where it helps
// and quoting Redo's own (redacted) reason.
func (c *conn) statusError(resp *http.Response) *providers.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := providers.StatusError("redo", resp, "")
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.Message = "redo: the API secret was rejected (HTTP 401); check api_secret"
	case http.StatusForbidden:
		e.Message = fmt.Sprintf("redo: the API secret may not read the returns of store %q (HTTP 403); check the API client's scopes and that it was created for this store", c.storeID)
	case http.StatusNotFound:
		e.Message = fmt.Sprintf("redo: store %q was not found (HTTP 404); check store_id", c.storeID)
	}
	e.Message = providers.WithDetail(e.Message, c.cfg.Redact(errorDetail(body)))
	return e
}

// errorDetail extracts a short reason from an error body. Redo publishes no
// error schema, so the common shapes are tried: {"message"}, {"error"},
// {"detail"}, {"title"}, {"errors":[{"message"}]}, or plain text.
func errorDetail(body []byte) string {
	var v struct {
		Message string          `json:"message"`
		Error   json.RawMessage `json:"error"`
		Detail  string          `json:"detail"`
		Title   string          `json:"title"`
		Errors  []struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil {
		s := strings.TrimSpace(string(body))
		if strings.HasPrefix(s, "<") { // an HTML error page says nothing useful
			return ""
		}
		return s
	}
	var errStr string
	_ = json.Unmarshal(v.Error, &errStr)
	for _, s := range []string{v.Message, errStr, v.Detail, v.Title} {
		if s != "" {
			return s
		}
	}
	for _, e := range v.Errors {
		if e.Message != "" {
			return e.Message
		}
		if e.Detail != "" {
			return e.Detail
		}
	}
	return ""
}
