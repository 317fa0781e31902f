package rydership

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/junctionhq/junction/providers"
)

const name = "rydership"

var _ providers.Verifier = (*conn)(nil)

// Verify refreshes the access token and counts the account's items
// (GET {base}/api/v2/items/count), the cheapest authenticated read.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	resp, err := c.api.Do(ctx, providers.Call{Path: "/api/v2/items/count"})
	if err != nil {
		return nil, err
	}
	var out struct {
		Count *int64 `json:"count"`
	}
	if err := resp.Decode(&out); err != nil {
		return nil, err
	}
	if out.Count == nil {
		return nil, providers.Errorf(providers.CodeProviderError, "rydership: the items count response was not the expected JSON; check base_url")
	}
	details := map[string]any{"count": *out.Count}
	if s, _ := resp.OAuthToken.Extra("scope").(string); s != "" { // the token the answer is for
		details["scope"] = s
	}
	return &providers.VerifyResult{Details: details}, nil
}

// statusError classifies a non-2xx answer, quoting its (redacted) message.
func statusError(a providers.Answer) *providers.Error {
	var eb struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(a.Body, &eb)
	e := providers.StatusError(name, a.Response, a.Redact(eb.Message))
	if a.StatusCode == http.StatusForbidden {
		e.Message += "; the application may need the user_read scope"
	}
	return e
}
