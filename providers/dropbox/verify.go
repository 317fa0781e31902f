package dropbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/providers"
)

const name = "dropbox"

var _ providers.Verifier = (*conn)(nil)

// account is the part of users/get_current_account verify reports.
type account struct {
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	Name      struct {
		DisplayName string `json:"display_name"`
	} `json:"name"`
	AccountType struct {
		Tag string `json:".tag"`
	} `json:"account_type"`
	RootInfo struct {
		RootNamespaceID string `json:"root_namespace_id"`
		HomeNamespaceID string `json:"home_namespace_id"`
	} `json:"root_info"`
	Team *struct {
		Name string `json:"name"`
	} `json:"team"`
}

// Verify refreshes the access token, then calls the RPC endpoint
// users/get_current_account. It takes no arguments, so the request has no body
// and no Content-Type, as in Dropbox's documented example (Dropbox refuses an
// empty body labelled application/json, and {} with "expected null").
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	body, err := c.currentAccount(ctx)
	if err != nil {
		return nil, err
	}
	var a account
	if err := json.Unmarshal(body, &a); err != nil || a.AccountID == "" {
		return nil, providers.Errorf(providers.CodeProviderError, "%s: the answer is not a Dropbox account; check base_url", name)
	}
	details := map[string]any{
		"account_id":        a.AccountID,
		"email":             a.Email,
		"display_name":      a.Name.DisplayName,
		"account_type":      a.AccountType.Tag,
		"root_namespace_id": a.RootInfo.RootNamespaceID,
	}
	if a.Team != nil && a.Team.Name != "" {
		details["team"] = a.Team.Name
	}
	return &providers.VerifyResult{Details: details}, nil
}

// currentAccount calls users/get_current_account and returns the 200 body.
// When Dropbox refuses the token (401 expired or invalid access token) it gets
// a new one and retries once: a cached token can be revoked before it expires.
func (c *conn) currentAccount(ctx context.Context) ([]byte, error) {
	flow := c.flow
	for {
		tok, err := c.cfg.Token(ctx, name, flow)
		if err != nil {
			return nil, providers.Classify(name, err)
		}
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiRoot+"/2/users/get_current_account", nil)
		if err != nil {
			return nil, providers.Wrap(providers.CodeInvalidConfig, err, "%s: base_url is invalid", name)
		}
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if c.pathRoot != "" {
			r.Header.Set("Dropbox-API-Path-Root", c.pathRoot)
		}
		resp, body, err := c.cfg.DoLimit(r, name, 1<<20)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusOK {
			return body, nil
		}
		e := c.apiError(resp, body, tok.AccessToken)
		if flow.Rejected != "" || e.Code != providers.CodeAuthFailed {
			return nil, e
		}
		flow.Rejected = tok.AccessToken
	}
}

// apiError classifies a Dropbox error answer: JSON {error_summary, error:
// {.tag}} for 401, 403, 409, 422 and 429; plain text for 400. accessToken,
// the token sent, is redacted like the secrets.
func (c *conn) apiError(resp *http.Response, body []byte, accessToken string) *providers.Error {
	redact := func(s string) string { return providers.RedactWith(s, c.cfg.Secrets, accessToken) }
	var de struct {
		Summary string `json:"error_summary"`
		Error   struct {
			Tag           string `json:".tag"`
			RequiredScope string `json:"required_scope"`
		} `json:"error"`
	}
	detail := ""
	if json.Unmarshal(body, &de) == nil {
		detail = strings.TrimRight(de.Summary, "./")
	} else if resp.StatusCode == http.StatusBadRequest {
		detail = strings.Join(strings.Fields(string(body)), " ")
	}
	detail = redact(detail)
	e := providers.StatusError(name, resp, detail)
	switch tag := de.Error.Tag; {
	case resp.StatusCode == http.StatusBadRequest:
		e.Message = providers.WithDetail(fmt.Sprintf("%s: Dropbox rejected the request as malformed (HTTP 400)", name), detail)
	case tag == "expired_access_token" || tag == "invalid_access_token":
		e.Message = fmt.Sprintf("%s: the access token was rejected (%s); re-authorise the connection if refreshing does not help", name, tag)
	case tag == "missing_scope":
		e.Code = providers.CodePermissionDenied
		e.Message = fmt.Sprintf("%s: the app lacks the scope %s; enable it in the App Console and re-authorise the connection", name, redact(de.Error.RequiredScope))
	case tag == "user_suspended" || tag == "route_access_denied":
		e.Code = providers.CodePermissionDenied
		e.Message = fmt.Sprintf("%s: access denied (%s)", name, tag)
	case resp.StatusCode == http.StatusUnprocessableEntity:
		// A path-root error: the namespace is not this user's root, or is not
		// accessible.
		e.Code = providers.CodeInvalidConfig
		if tag == "no_permission" {
			e.Code = providers.CodePermissionDenied
		}
		e.Message = fmt.Sprintf("%s: path_root %s was refused (%s); use the root_namespace_id of the account's team space", name,
			c.cfg.String("path_root"), orDefault(detail, "HTTP 422"))
	case resp.StatusCode == http.StatusConflict:
		if strings.Contains(detail, "not_found") {
			e.Code = providers.CodeNotFound
		}
		e.Message = fmt.Sprintf("%s: %s", name, orDefault(detail, "the request conflicted (HTTP 409)"))
	}
	return e
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
