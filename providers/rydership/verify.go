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
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	var scopes []string
	if s := c.cfg.String("scope"); s != "" {
		scopes = strings.Fields(s)
	}
	flow := providers.OAuthFlow{
		TokenURL:     c.tokenURL,
		ClientID:     c.cfg.String("client_id"),
		ClientSecret: c.cfg.Secret("client_secret"),
		RefreshToken: c.cfg.Secret("refresh_token"),
		Scopes:       scopes,
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	var (
		tok  *oauth2.Token
		resp *http.Response
		body []byte
	)
	// A cached token the API refuses is replaced once.
	for attempt := 0; attempt < 2; attempt++ {
		var err error
		if tok, err = c.cfg.Token(ctx, name, flow); err != nil {
			return nil, err
		}
		if resp, body, err = c.get(ctx, c.baseURL+"/api/v2/items/count", tok.AccessToken); err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			break
		}
		flow.Rejected = tok.AccessToken
	}
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &eb)
		e := providers.StatusError(name, resp, c.redact(eb.Message, tok.AccessToken))
		if resp.StatusCode == http.StatusForbidden {
			e.Message += "; the application may need the user_read scope"
		}
		return nil, e
	}
	var out struct {
		Count *int64 `json:"count"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Count == nil {
		return nil, providers.Wrap(providers.CodeProviderError, err, "rydership: the items count response was not the expected JSON; check base_url")
	}
	details := map[string]any{"count": *out.Count}
	if s, _ := tok.Extra("scope").(string); s != "" {
		details["scope"] = s
	}
	return &providers.VerifyResult{Details: details}, nil
}

// get sends an authenticated GET and returns the answer with its body read.
func (c *conn) get(ctx context.Context, u, accessToken string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, providers.Wrap(providers.CodeInvalidConfig, err, "rydership: base_url is not usable")
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	return c.cfg.Do(req, name)
}

// redact removes the connection's secrets and the access token, in every
// encoded form, from s.
func (c *conn) redact(s, accessToken string) string {
	return providers.RedactWith(s, c.cfg.Secrets, accessToken)
}
