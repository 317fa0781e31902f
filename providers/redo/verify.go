package redo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify lists at most one return of the configured store
// (GET /v2.2/stores/{store_id}/returns?page-size=1): the cheapest read that
// proves the API secret works for this store.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	var page struct {
		Returns *[]json.RawMessage `json:"returns"`
	}
	if err := c.api.JSON(ctx, providers.Call{Path: c.returnsPath, Query: url.Values{"page-size": {"1"}}}, &page); err != nil {
		return nil, err
	}
	if page.Returns == nil {
		return nil, providers.Errorf(providers.CodeProviderError, "redo: the answer had no returns list; check base_url points at the Redo API")
	}
	return &providers.VerifyResult{Details: map[string]any{
		"store_id":        c.storeID,
		"returns_visible": len(*page.Returns) > 0,
	}}, nil
}

// statusError classifies a non-2xx answer, naming the store where it helps
// and quoting Redo's own (redacted) reason.
func (c *conn) statusError(a providers.Answer) *providers.Error {
	e := providers.StatusError("redo", a.Response, "")
	switch a.StatusCode {
	case http.StatusUnauthorized:
		e.Message = "redo: the API secret was rejected (HTTP 401); check api_secret"
	case http.StatusForbidden:
		e.Message = fmt.Sprintf("redo: the API secret may not read the returns of store %q (HTTP 403); check the API client's scopes and that it was created for this store", c.storeID)
	case http.StatusNotFound:
		e.Message = fmt.Sprintf("redo: store %q was not found (HTTP 404); check store_id", c.storeID)
	}
	e.Message = providers.WithDetail(e.Message, a.Redact(errorDetail(a.Body)))
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
