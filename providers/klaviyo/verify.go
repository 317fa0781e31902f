package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/junctionhq/junction/providers"
)

var _ providers.Verifier = (*conn)(nil)

// Verify reads the account the private key belongs to (GET /api/accounts,
// scope accounts:read). Klaviyo limits this call to 1/s and 15/min per
// account, so callers should verify sparingly.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.api.Config.WithTimeout(ctx)
	defer cancel()
	var doc struct {
		Data []struct {
			Type       string `json:"type"`
			ID         string `json:"id"`
			Attributes struct {
				TestAccount        bool   `json:"test_account"`
				Industry           string `json:"industry"`
				Timezone           string `json:"timezone"`
				PreferredCurrency  string `json:"preferred_currency"`
				Locale             string `json:"locale"`
				ContactInformation struct {
					OrganizationName string `json:"organization_name"`
					WebsiteURL       string `json:"website_url"`
				} `json:"contact_information"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := c.api.JSON(ctx, providers.Call{Path: "/api/accounts"}, &doc); err != nil {
		return nil, err
	}
	if len(doc.Data) == 0 {
		return nil, providers.Errorf(providers.CodeProviderError, "klaviyo: the key was accepted but no account was returned")
	}
	a := doc.Data[0]
	details := map[string]any{
		"account_id":   a.ID,
		"test_account": a.Attributes.TestAccount,
		"revision":     c.revision,
	}
	for k, v := range map[string]string{
		"organization_name":  a.Attributes.ContactInformation.OrganizationName,
		"website_url":        a.Attributes.ContactInformation.WebsiteURL,
		"timezone":           a.Attributes.Timezone,
		"preferred_currency": a.Attributes.PreferredCurrency,
		"locale":             a.Attributes.Locale,
		"industry":           a.Attributes.Industry,
	} {
		if v != "" {
			details[k] = v
		}
	}
	return &providers.VerifyResult{Details: details}, nil
}

// statusError classifies a non-2xx answer from Klaviyo's JSON:API error
// document ({"errors":[{"status","code","title","detail"}]}): the error code
// wins over the status, since Klaviyo answers some bad keys with 400.
func (c *conn) statusError(a providers.Answer) *providers.Error {
	var doc struct {
		Errors []struct {
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(a.Body, &doc)
	var code, detail string
	if len(doc.Errors) > 0 {
		code, detail = doc.Errors[0].Code, doc.Errors[0].Detail
		if detail == "" {
			detail = doc.Errors[0].Title
		}
	}
	detail = a.Redact(detail)
	e := providers.StatusError("klaviyo", a.Response, "")
	switch {
	case code == "not_authenticated" || code == "authentication_failed" || a.StatusCode == http.StatusUnauthorized:
		e.Code, e.Retryable, e.RetryAfter = providers.CodeAuthFailed, false, 0
		e.Message = fmt.Sprintf("klaviyo: the private API key was rejected (HTTP %d); check private_api_key (a pk_ key of this account)", a.StatusCode)
	case code == "permission_denied" || a.StatusCode == http.StatusForbidden:
		e.Code, e.Retryable, e.RetryAfter = providers.CodePermissionDenied, false, 0
		e.Message = fmt.Sprintf("klaviyo: the private API key may not read the account (HTTP %d); give the key the accounts:read scope", a.StatusCode)
	case a.StatusCode == http.StatusGone:
		e.Code = providers.CodeInvalidConfig
		e.Message = fmt.Sprintf("klaviyo: API revision %q is retired (HTTP 410); set revision to a current one", c.revision)
	case a.StatusCode == http.StatusTooManyRequests:
		e.Message = "klaviyo: the account's rate limit for this call (1/s, 15/min) was exceeded (HTTP 429)"
	}
	e.Message = providers.WithDetail(e.Message, detail)
	return e
}
