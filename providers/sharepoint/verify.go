package sharepoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

const name = "msft_sharepoint"

var _ providers.Verifier = (*conn)(nil)

// Verify gets a client-credentials token from Entra ID, then reads the site by
// path (GET /v1.0/sites/{hostname}:/{site-path}, or /v1.0/sites/{hostname} for
// the root site) and, when drive_id is set, that drive.
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	var site struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		WebURL      string `json:"webUrl"`
	}
	tok, err := c.get(ctx, nil, c.sitePath(), "id,displayName,webUrl", &site, c.siteLabel())
	if err != nil {
		return nil, err
	}
	details := map[string]any{"site_id": site.ID, "site_name": site.DisplayName, "web_url": site.WebURL}
	if id := strings.TrimSpace(c.cfg.String("drive_id")); id != "" {
		var drive struct {
			Name      string `json:"name"`
			DriveType string `json:"driveType"`
		}
		if _, err := c.get(ctx, tok, "/v1.0/drives/"+url.PathEscape(id), "id,name,driveType", &drive, fmt.Sprintf("the drive %q", id)); err != nil {
			return nil, err
		}
		details["drive_name"] = drive.Name
		details["drive_type"] = drive.DriveType
	}
	return &providers.VerifyResult{Details: details}, nil
}

// sitePath is the escaped Graph path of the configured site.
func (c *conn) sitePath() string {
	p := "/v1.0/sites/" + c.host
	if c.site == "" {
		return p
	}
	segs := strings.Split(c.site, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return p + ":/" + strings.Join(segs, "/")
}

func (c *conn) siteLabel() string {
	if c.site == "" {
		return fmt.Sprintf("the root site of %s", c.host)
	}
	return fmt.Sprintf("the site %s/%s", c.host, c.site)
}

// get performs a Graph GET of path with $select and decodes the JSON answer
// into out, with tok or, when nil, a token from the shared machinery. When
// Graph refuses the token (401) it gets a new one and retries once: a cached
// token can be revoked before it expires. It returns the token that worked.
// what names the resource in a not-found message.
func (c *conn) get(ctx context.Context, tok *oauth2.Token, path, sel string, out any, what string) (*oauth2.Token, error) {
	for rejected := ""; ; {
		if tok == nil {
			flow := c.flow
			flow.Rejected = rejected
			t, err := c.cfg.Token(ctx, name, flow)
			if err != nil {
				return nil, tokenError(err)
			}
			tok = t
		}
		err := c.getOnce(ctx, tok, path, sel, out, what)
		var pe *providers.Error
		if rejected == "" && errors.As(err, &pe) && pe.Code == providers.CodeAuthFailed {
			rejected, tok = tok.AccessToken, nil
			continue
		}
		return tok, err
	}
}

func (c *conn) getOnce(ctx context.Context, tok *oauth2.Token, path, sel string, out any, what string) error {
	u, err := url.Parse(c.apiRoot + path)
	if err != nil {
		return providers.Wrap(providers.CodeInvalidConfig, err, "%s: the request URL is invalid", name)
	}
	u.RawQuery = "$select=" + sel
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return providers.Wrap(providers.CodeInvalidConfig, err, "%s: the request URL is invalid", name)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, body, err := c.cfg.DoLimit(req, name, 1<<20)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return c.graphError(resp, body, what, tok.AccessToken)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return providers.Wrap(providers.CodeProviderError, err, "%s: Microsoft Graph answered with something that is not JSON; check base_url", name)
	}
	return nil
}

// graphError classifies a Graph error answer ({"error": {"code", "message"}});
// accessToken, the token sent, is redacted like the secrets.
func (c *conn) graphError(resp *http.Response, body []byte, what, accessToken string) *providers.Error {
	var ge struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(body, &ge)
	detail := strings.TrimSpace(ge.Error.Code + ": " + ge.Error.Message)
	detail = strings.Trim(detail, ": ")
	e := providers.StatusError(name, resp, providers.RedactWith(detail, c.cfg.Secrets, accessToken))
	switch e.Code {
	case providers.CodeNotFound:
		e.Message = fmt.Sprintf("%s: %s was not found (HTTP 404", name, what)
		if ge.Error.Code != "" {
			e.Message += ", " + ge.Error.Code
		}
		e.Message += "); check site_hostname, site_path and drive_id"
	case providers.CodePermissionDenied:
		e.Message += "; the app needs the Sites.Read.All application permission with admin consent (or Sites.Selected and a grant on this site)"
	}
	return e
}

// tokenError refines the shared token error for Entra's tenant-not-found
// answer (AADSTS90002), which is a configuration mistake, not bad credentials.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && strings.Contains(re.ErrorDescription, "AADSTS90002") {
		return providers.Wrap(providers.CodeNotFound, err,
			"%s: the tenant was not found by Entra ID (AADSTS90002); check tenant_id and authority_url", name)
	}
	return providers.Classify(name, err)
}
