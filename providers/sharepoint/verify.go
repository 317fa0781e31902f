package sharepoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	if err := c.get(ctx, c.sitePath(), "id,displayName,webUrl", c.siteLabel(), &site); err != nil {
		return nil, checkSettings(err)
	}
	details := map[string]any{"site_id": site.ID, "site_name": site.DisplayName, "web_url": site.WebURL}
	if c.driveID != "" {
		var drive struct {
			Name      string `json:"name"`
			DriveType string `json:"driveType"`
		}
		if err := c.get(ctx, "/v1.0/drives/"+url.PathEscape(c.driveID), "id,name,driveType", fmt.Sprintf("the drive %q", c.driveID), &drive); err != nil {
			return nil, checkSettings(err)
		}
		details["drive_name"] = drive.Name
		details["drive_type"] = drive.DriveType
	}
	return &providers.VerifyResult{Details: details}, nil
}

// get is a Graph GET of path with $select, decoded into out; what names the
// resource in a not-found message.
func (c *conn) get(ctx context.Context, path, sel, what string, out any) error {
	return c.api.JSON(ctx, providers.Call{Path: path, Query: url.Values{"$select": {sel}}, What: what}, out)
}

// checkSettings points Graph's not-found answer at the settings (a not-found
// tenant, from the token endpoint, carries its cause and already names them).
func checkSettings(err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Code == providers.CodeNotFound && pe.Err == nil {
		out := *pe
		out.Message += "; check site_hostname, site_path and drive_id"
		return &out
	}
	return err
}

// sitePath is the escaped Graph path of the configured site.
func (c *conn) sitePath() string {
	p := "/v1.0/sites/" + c.host
	if c.site == "" {
		return p
	}
	return p + ":" + escapePath("/"+c.site)
}

func (c *conn) siteLabel() string {
	if c.site == "" {
		return fmt.Sprintf("the root site of %s", c.host)
	}
	return fmt.Sprintf("the site %s/%s", c.host, c.site)
}

// escapePath escapes each segment of a slash path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// classify classifies a Graph error answer ({"error": {"code", "message"}}),
// naming the call's What (when set) in a not-found message.
func classify(a providers.Answer) *providers.Error {
	var ge struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(a.Body, &ge)
	detail := strings.Trim(strings.TrimSpace(ge.Error.Code+": "+ge.Error.Message), ": ")
	e := providers.StatusError(name, a.Response, a.Redact(detail))
	switch e.Code {
	case providers.CodeNotFound:
		what := a.What
		if what == "" {
			what = "the item"
		}
		e.Message = fmt.Sprintf("%s: %s was not found (HTTP 404", name, what)
		if ge.Error.Code != "" {
			e.Message += ", " + a.Redact(ge.Error.Code)
		}
		e.Message += ")"
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
