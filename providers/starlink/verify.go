package starlink

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// envelope is Starlink's ServiceResponse, used for success and failure alike.
type envelope struct {
	Content *struct {
		AccountNumber     string   `json:"accountNumber"`
		AccountName       string   `json:"accountName"`
		RegionCode        string   `json:"regionCode"`
		ActiveSuspensions []string `json:"activeSuspensions"`
	} `json:"content"`
	Errors []struct {
		ErrorMessage string `json:"errorMessage"`
	} `json:"errors"`
	IsValid *bool `json:"isValid"`
}

func (e *envelope) messages() string {
	var msgs []string
	for _, m := range e.Errors {
		if m.ErrorMessage != "" {
			msgs = append(msgs, m.ErrorMessage)
		}
	}
	return strings.Join(msgs, "; ")
}

// Verify mints a token for the V2 service account (client-credentials grant,
// client_secret_basic) and reads the account it belongs to
// (GET /public/v2/account, permission "Account information, View").
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	flow := providers.OAuthFlow{
		TokenURL:     c.tokenURL,
		ClientID:     strings.TrimSpace(c.cfg.String("client_id")),
		ClientSecret: c.cfg.Secret("client_secret"),
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	var (
		tok  *oauth2.Token
		resp *http.Response
		body []byte
	)
	for attempt := 0; ; attempt++ {
		var err error
		if tok, err = c.cfg.Token(ctx, "starlink", flow); err != nil {
			return nil, err
		}
		if resp, body, err = c.getAccount(ctx, tok.AccessToken); err != nil {
			return nil, err
		}
		// A cached token the API refuses (revoked, or expired early) is
		// replaced once by a freshly minted one, as Starlink's docs advise.
		if resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			break
		}
		flow.Rejected = tok.AccessToken
	}
	var env envelope
	isJSON := json.Unmarshal(body, &env) == nil
	detail := c.redact(env.messages(), tok.AccessToken)
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, detail)
	}
	switch {
	case !isJSON:
		return nil, providers.Errorf(providers.CodeProviderError, "starlink: the answer was not the expected JSON; check base_url")
	case env.IsValid != nil && !*env.IsValid:
		return nil, &providers.Error{Code: providers.CodeProviderError, Message: providers.WithDetail("starlink: the account could not be read (isValid=false)", detail)}
	case env.Content == nil || env.Content.AccountNumber == "":
		return nil, providers.Errorf(providers.CodeProviderError, "starlink: the answer held no account")
	}
	acct := env.Content
	if want := strings.TrimSpace(c.cfg.String("account_number")); want != "" && !strings.EqualFold(want, acct.AccountNumber) {
		return nil, providers.Errorf(providers.CodeInvalidConfig,
			"starlink: the service account belongs to account %s, not the configured account_number %s", acct.AccountNumber, want)
	}
	details := map[string]any{"account_number": acct.AccountNumber}
	if acct.AccountName != "" {
		details["account_name"] = acct.AccountName
	}
	if acct.RegionCode != "" {
		details["region_code"] = acct.RegionCode
	}
	if len(acct.ActiveSuspensions) > 0 {
		details["active_suspensions"] = acct.ActiveSuspensions
	}
	if s, _ := tok.Extra("scope").(string); s != "" {
		details["scopes"] = strings.Fields(s)
	}
	return &providers.VerifyResult{Details: details}, nil
}

// getAccount calls GET /public/v2/account with token and reads the answer.
func (c *conn) getAccount(ctx context.Context, token string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.accountURL, nil)
	if err != nil {
		return nil, nil, providers.Wrap(providers.CodeInvalidConfig, err, "starlink: cannot build the request; check base_url")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	return c.cfg.Do(req, "starlink")
}

// statusError classifies a non-200 answer with Starlink's documented meanings.
func statusError(resp *http.Response, detail string) *providers.Error {
	e := providers.StatusError("starlink", resp, "")
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.Message = "starlink: a freshly minted access token was rejected (HTTP 401); check that token_url and base_url belong to the same Starlink API"
	case http.StatusForbidden:
		e.Message = `starlink: the service account lacks the "Account information, View" permission (HTTP 403, user_lacks_required_permission); an Admin can grant it under Settings > Service Accounts`
	case http.StatusNotFound:
		e.Message = "starlink: the account endpoint was not found (HTTP 404); check base_url (the V1 enterprise API is sunset)"
	case http.StatusUnprocessableEntity:
		e.Message = "starlink: the account could not be read (HTTP 422)"
	}
	e.Message = providers.WithDetail(e.Message, detail)
	return e
}

// redact removes the connection's secrets and the access token in use.
func (c *conn) redact(s, token string) string {
	return providers.RedactWith(s, c.cfg.Secrets, token)
}
