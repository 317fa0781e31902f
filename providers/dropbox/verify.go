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
	var a account
	if err := c.api.JSON(ctx, providers.Call{Method: http.MethodPost, Path: "/2/users/get_current_account"}, &a); err != nil {
		return nil, err
	}
	if a.AccountID == "" {
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

// tokenRejected reports whether Dropbox refused the access token itself (a
// 401 that is not a missing scope or a suspended user), so a new one is worth
// one retry: a cached token can be revoked before it expires.
func (c *conn) tokenRejected(a providers.Answer) bool {
	return c.classify(a).Code == providers.CodeAuthFailed
}

// rpc posts args as JSON to a Dropbox RPC endpoint and decodes the answer
// into out; what names the path in a not-found message.
func (c *conn) rpc(ctx context.Context, endpoint string, args any, what string, out any) error {
	return c.api.JSON(ctx, providers.Call{Method: http.MethodPost, Path: "/2/" + endpoint, JSON: args, What: what}, out)
}

// classify reads a Dropbox error answer: JSON {error_summary, error: {.tag}}
// for 401, 403, 409, 422 and 429; plain text for 400. The call's What, when
// set, names the path a 409 not_found was about.
func (c *conn) classify(a providers.Answer) *providers.Error {
	var de struct {
		Summary string `json:"error_summary"`
		Error   struct {
			Tag           string `json:".tag"`
			RequiredScope string `json:"required_scope"`
		} `json:"error"`
	}
	detail := ""
	if json.Unmarshal(a.Body, &de) == nil {
		detail = strings.TrimRight(de.Summary, "./")
	} else if a.StatusCode == http.StatusBadRequest {
		detail = strings.Join(strings.Fields(string(a.Body)), " ")
	}
	detail = a.Redact(detail)
	e := providers.StatusError(name, a.Response, detail)
	switch tag := de.Error.Tag; {
	case a.StatusCode == http.StatusBadRequest:
		e.Message = providers.WithDetail(fmt.Sprintf("%s: Dropbox rejected the request as malformed (HTTP 400)", name), detail)
	case tag == "expired_access_token" || tag == "invalid_access_token":
		e.Message = fmt.Sprintf("%s: the access token was rejected (%s); re-authorise the connection if refreshing does not help", name, tag)
	case tag == "missing_scope":
		e.Code = providers.CodePermissionDenied
		e.Message = fmt.Sprintf("%s: the app lacks the scope %s; enable it in the App Console and re-authorise the connection", name, a.Redact(de.Error.RequiredScope))
	case tag == "user_suspended" || tag == "route_access_denied":
		e.Code = providers.CodePermissionDenied
		e.Message = fmt.Sprintf("%s: access denied (%s)", name, tag)
	case a.StatusCode == http.StatusUnprocessableEntity:
		// A path-root error: the namespace is not this user's root, or is
		// not accessible.
		e.Code = providers.CodeInvalidConfig
		if tag == "no_permission" {
			e.Code = providers.CodePermissionDenied
		}
		e.Message = fmt.Sprintf("%s: path_root %s was refused (%s); use the root_namespace_id of the account's team space", name,
			c.cfg.String("path_root"), orDefault(detail, "HTTP 422"))
	case a.StatusCode == http.StatusConflict:
		e.Message = fmt.Sprintf("%s: %s", name, orDefault(detail, "the request conflicted (HTTP 409)"))
		switch {
		case strings.Contains(detail, "not_found"):
			e.Code = providers.CodeNotFound
			if a.What != "" {
				e.Message = fmt.Sprintf("%s: %s was not found (%s)", name, a.What, detail)
			}
		case strings.Contains(detail, "restricted_content"):
			// Dropbox withholds it (a legal or copyright restriction).
			e.Code = providers.CodePermissionDenied
		case strings.Contains(detail, "not_folder") && a.What != "":
			// Listing a file: the folder asked for does not exist.
			e.Code = providers.CodeNotFound
			e.Message = fmt.Sprintf("%s: %s is not a folder (%s)", name, a.What, detail)
		}
	}
	return e
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
