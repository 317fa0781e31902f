package httpapi

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/junctionhq/junction/providers"
)

const name = "http_api"

var _ providers.Verifier = (*conn)(nil)

// Verify sends verify_method to base_url + verify_path with the configured
// authentication and extra headers. It passes on expected_status when set, on
// any 2xx otherwise.
func (c *conn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	resp, body, tok, err := c.send(ctx)
	if err != nil {
		return nil, err
	}
	want := int(c.cfg.Int("expected_status"))
	ok := resp.StatusCode/100 == 2
	if want != 0 {
		ok = resp.StatusCode == want
	}
	if !ok {
		return nil, c.statusError(resp, body, want, tok)
	}
	details := map[string]any{
		"status":     resp.StatusCode,
		"final_path": c.cfg.Redact(resp.Request.URL.Path),
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			ct = mt
		}
		details["content_type"] = c.cfg.Redact(ct)
	}
	if resp.Request.URL.Host != c.target.Host {
		details["final_host"] = resp.Request.URL.Host
	}
	if s := resp.Header.Get("Server"); s != "" {
		details["server"] = c.cfg.Redact(s)
	}
	return &providers.VerifyResult{Details: details}, nil
}

// send sends the verify request and reads the start of the answer, also
// returning the access token sent (client-credentials grant only). With that
// grant, a 401 gets one new token and one retry: a cached token can be
// revoked before it expires.
func (c *conn) send(ctx context.Context) (*http.Response, []byte, string, error) {
	rejected := ""
	for {
		r, tok, err := c.request(ctx, rejected)
		if err != nil {
			return nil, nil, "", err
		}
		resp, body, err := c.cfg.DoLimit(r, name, 4<<10)
		if err != nil {
			return nil, nil, "", err
		}
		if resp.StatusCode == http.StatusUnauthorized && tok != "" && rejected == "" && int(c.cfg.Int("expected_status")) != 401 {
			rejected = tok
			continue
		}
		return resp, body, tok, nil
	}
}

// request builds the verify request with auth and extra headers. With the
// client-credentials grant it also returns the access token used.
func (c *conn) request(ctx context.Context, rejected string) (*http.Request, string, error) {
	u := *c.target
	if c.auth == "api_key_query" {
		q := u.Query()
		q.Set(c.keyName, c.cfg.Secret("api_key"))
		u.RawQuery = q.Encode()
	}
	r, err := http.NewRequestWithContext(ctx, c.method, u.String(), nil)
	if err != nil {
		return nil, "", providers.Wrap(providers.CodeInvalidConfig, err, "%s: the verify request could not be built", name)
	}
	for k, v := range c.headers {
		r.Header[k] = v
	}
	switch c.auth {
	case "basic":
		r.SetBasicAuth(c.cfg.Secret("username"), c.cfg.Secret("password"))
	case "bearer":
		r.Header.Set("Authorization", "Bearer "+c.cfg.Secret("token"))
	case "api_key_header":
		r.Header.Set(c.keyName, c.cfg.Secret("api_key"))
	case "oauth2_client_credentials":
		flow := providers.OAuthFlow{
			TokenURL:     c.cfg.String("token_url"),
			ClientID:     c.cfg.String("client_id"),
			ClientSecret: c.cfg.Secret("client_secret"),
			Scopes:       c.cfg.StringList("scopes"),
			Rejected:     rejected,
		}
		if aud := strings.TrimSpace(c.cfg.String("audience")); aud != "" {
			flow.EndpointParams = url.Values{"audience": {aud}}
		}
		tok, err := c.cfg.Token(ctx, name, flow)
		if err != nil {
			return nil, "", providers.Classify(name, err)
		}
		tok.SetAuthHeader(r)
		return r, tok.AccessToken, nil
	}
	return r, "", nil
}

// statusError classifies an unexpected status, quoting the start of a textual
// body as the upstream reason, with the secrets and the access token sent (if
// any) redacted.
func (c *conn) statusError(resp *http.Response, body []byte, want int, accessToken string) *providers.Error {
	detail := ""
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); strings.HasPrefix(mt, "text/") ||
		strings.Contains(mt, "json") || strings.Contains(mt, "xml") {
		detail = strings.Join(strings.Fields(string(body)), " ")
	}
	// Redacted before any cut, so no part of a secret is left at the cut.
	detail = providers.RedactWith(detail, c.cfg.Secrets, accessToken)
	e := providers.StatusError(name, resp, detail)
	switch {
	case e.Code == providers.CodeNotFound:
		e.Message = fmt.Sprintf("%s: %s was not found (HTTP 404); check base_url and verify_path", name, c.cfg.Redact(c.target.Path))
	case want != 0 && resp.StatusCode < 400:
		e.Message = providers.WithDetail(fmt.Sprintf("%s: the server answered HTTP %d, expected %d", name, resp.StatusCode, want), detail)
	}
	return e
}
