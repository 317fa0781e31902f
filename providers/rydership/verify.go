package rydership

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

const name = "rydership"

var _ providers.Verifier = (*conn)(nil)

// Verify refreshes the access token and counts the account's items
// (GET {base}/api/v2/items/count), the cheapest authenticated read.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	var tok *oauth2.Token // the token the answer is for, with its scope
	api := c.api
	api.Auth = c.auth(&tok)
	var out struct {
		Count *int64 `json:"count"`
	}
	if err := api.JSON(ctx, providers.Call{Path: "/api/v2/items/count"}, &out); err != nil {
		return nil, err
	}
	if out.Count == nil {
		return nil, providers.Errorf(providers.CodeProviderError, "rydership: the items count response was not the expected JSON; check base_url")
	}
	details := map[string]any{"count": *out.Count}
	if s, _ := tok.Extra("scope").(string); s != "" {
		details["scope"] = s
	}
	return &providers.VerifyResult{Details: details}, nil
}

// auth returns the AuthFunc of one call: an access token refreshed with the
// connection's refresh token, sent as a bearer token; the token sent is left
// in *sent.
func (c *conn) auth(sent **oauth2.Token) providers.AuthFunc {
	cfg := c.api.Config
	flow := providers.OAuthFlow{
		TokenURL:     c.tokenURL,
		ClientID:     cfg.String("client_id"),
		ClientSecret: cfg.Secret("client_secret"),
		RefreshToken: cfg.Secret("refresh_token"),
		Scopes:       strings.Fields(cfg.String("scope")),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	return func(ctx context.Context, r *http.Request, rejected string) (string, error) {
		f := flow
		f.Rejected = rejected
		tok, err := cfg.Token(ctx, name, f)
		if err != nil {
			return "", err
		}
		*sent = tok
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return tok.AccessToken, nil
	}
}

// statusError classifies a non-2xx answer, quoting its (redacted) message.
func statusError(resp *http.Response, body []byte, redact func(string) string) *providers.Error {
	var eb struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &eb)
	e := providers.StatusError(name, resp, redact(eb.Message))
	if resp.StatusCode == http.StatusForbidden {
		e.Message += "; the application may need the user_read scope"
	}
	return e
}
