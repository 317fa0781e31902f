package starlink

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

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
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	resp, err := c.api.Do(ctx, providers.Call{Path: "/public/v2/account"})
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := resp.Decode(&env); err != nil {
		return nil, err
	}
	switch {
	case env.IsValid != nil && !*env.IsValid:
		detail := resp.Redact(env.messages())
		return nil, &providers.Error{Code: providers.CodeProviderError, Message: providers.WithDetail("starlink: the account could not be read (isValid=false)", detail)}
	case env.Content == nil || env.Content.AccountNumber == "":
		return nil, providers.Errorf(providers.CodeProviderError, "starlink: the answer held no account")
	}
	acct := env.Content
	if want := strings.TrimSpace(c.api.Config.String("account_number")); want != "" && !strings.EqualFold(want, acct.AccountNumber) {
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
	if s, _ := resp.OAuthToken.Extra("scope").(string); s != "" { // the token the answer is for
		details["scopes"] = strings.Fields(s)
	}
	return &providers.VerifyResult{Details: details}, nil
}

// statusError classifies a non-2xx answer with Starlink's documented
// meanings, quoting the envelope's (redacted) error messages.
func statusError(a providers.Answer) *providers.Error {
	var env envelope
	_ = json.Unmarshal(a.Body, &env)
	detail := a.Redact(env.messages())
	e := providers.StatusError("starlink", a.Response, "")
	switch a.StatusCode {
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
