package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

const name = "salesforce"

var _ providers.Verifier = (*conn)(nil)

// Verify gets an access token and reads the org's limits
// (GET {instance}/services/data/{version}/limits), which needs a valid
// session. A cached token the API refuses (INVALID_SESSION_ID) is replaced
// once.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	resp, err := c.api.Do(ctx, providers.Call{Path: c.path("/limits")})
	if err != nil {
		return nil, err
	}
	var limits struct {
		DailyAPIRequests *struct {
			Max       int64 `json:"Max"`
			Remaining int64 `json:"Remaining"`
		} `json:"DailyApiRequests"`
	}
	if err := json.Unmarshal(resp.Body, &limits); err != nil {
		return nil, providers.Wrap(providers.CodeProviderError, err, "salesforce: the limits response was not the expected JSON; check instance_url")
	}
	instance := strings.TrimSuffix(resp.Request.URL.String(), c.path("/limits"))
	details := map[string]any{"instance_url": instance, "api_version": c.apiVersion, "auth_mode": c.mode}
	if l := limits.DailyAPIRequests; l != nil {
		details["daily_api_requests"] = map[string]any{"max": l.Max, "remaining": l.Remaining}
	}
	if v := resp.Header.Get("Sforce-Limit-Info"); v != "" {
		details["api_usage"] = strings.TrimPrefix(v, "api-usage=")
	}
	return &providers.VerifyResult{Details: details}, nil
}

// path is a REST resource of the configured API version
// ("/limits" -> "/services/data/v62.0/limits").
func (c *conn) path(resource string) string {
	return "/services/data/" + c.apiVersion + resource
}

// auth is the API's AuthFunc: it gets an access token from the shared
// machinery (a new one when the previous was rejected) and sends it as a
// bearer token. Without a configured instance_url the request was built on
// a bare path, and goes to the instance the token names.
func (c *conn) auth(ctx context.Context, r *http.Request, rejected string) (string, error) {
	flow := c.flow()
	flow.Rejected = rejected
	tok, err := c.cfg.Token(ctx, name, flow)
	if err != nil {
		return "", c.tokenError(err)
	}
	if c.instanceURL == "" {
		instance, err := c.instance(tok)
		if err != nil {
			return tok.AccessToken, err
		}
		u, err := url.Parse(instance)
		if err != nil {
			return tok.AccessToken, providers.Wrap(providers.CodeProviderError, err, "salesforce: the instance URL is not usable; set instance_url")
		}
		r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
		r.URL.Path, r.URL.RawPath = strings.TrimSuffix(u.Path, "/")+r.URL.Path, ""
	}
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return tok.AccessToken, nil
}

// flow is the token grant for the configured auth mode, run by the shared
// machinery (cached until shortly before expiry, written back, one call for
// concurrent callers). The JWT bearer grant overrides grant_type and signs a
// fresh assertion whenever the token endpoint is actually called.
func (c *conn) flow() providers.OAuthFlow {
	flow := providers.OAuthFlow{TokenURL: c.loginURL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}
	switch c.mode {
	case "jwt_bearer":
		flow.EndpointParams = url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}}
		flow.EndpointParamsFunc = func() (url.Values, error) {
			a, err := c.assertion()
			return url.Values{"assertion": {a}}, err
		}
		flow.Identity = c.identity
	case "refresh_token":
		flow.RefreshToken = c.cfg.Secret("refresh_token")
		fallthrough
	default:
		flow.ClientID, flow.ClientSecret = c.cfg.String("client_id"), c.cfg.Secret("client_secret")
	}
	return flow
}

// assertion is the RS256 JWT of the OAuth 2.0 JWT bearer flow, signed with
// the key whose certificate is uploaded to the connected app.
func (c *conn) assertion() (string, error) {
	claims := jwt.MapClaims{
		"iss": c.cfg.String("client_id"),
		"sub": c.cfg.String("username"),
		"aud": c.loginURL,
		"exp": time.Now().Add(3 * time.Minute).Unix(),
	}
	a, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(c.key)
	if err != nil {
		return "", providers.Wrap(providers.CodeInvalidConfig, err, "salesforce: could not sign the JWT assertion with private_key_pem")
	}
	return a, nil
}

// tokenError adds Salesforce's own description to a refused JWT bearer
// login ("user hasn't approved this consumer", "invalid assertion", ...),
// which says far more than the OAuth error code.
func (c *conn) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if c.mode != "jwt_bearer" || !errors.As(err, &re) {
		return err
	}
	switch re.ErrorCode {
	case "invalid_grant", "invalid_client", "invalid_client_id", "unauthorized_client":
		why := re.ErrorCode
		if d := c.redact(re.ErrorDescription); d != "" {
			why += ": " + d
		}
		return providers.Wrap(providers.CodeAuthFailed, err, "salesforce: the JWT bearer login was refused (%s); check client_id, username, the certificate uploaded to the connected app, that the user is pre-authorised, and login_url", why)
	}
	return err
}

// instance is the configured instance URL, else the one the token response
// named, else a My Domain login URL (which also serves the REST API).
func (c *conn) instance(tok *oauth2.Token) (string, error) {
	if c.instanceURL != "" {
		return c.instanceURL, nil
	}
	if s, _ := tok.Extra("instance_url").(string); s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", providers.Errorf(providers.CodeProviderError, "salesforce: the token response named an unusable instance_url; set instance_url")
		}
		return strings.TrimSuffix(u.String(), "/"), nil
	}
	if host := hostOf(c.loginURL); host != "login.salesforce.com" && host != "test.salesforce.com" {
		return c.loginURL, nil
	}
	return "", providers.Errorf(providers.CodeInvalidConfig, "salesforce: the token response did not say which instance to use; set instance_url to your org's My Domain URL")
}

func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// apiError is the API's Error: it classifies a REST error. Salesforce
// answers a JSON array of {message, errorCode}; a few codes say more than
// the status does.
func (c *conn) apiError(a providers.Answer) *providers.Error {
	code, msg := errorOf(a.Body)
	msg = a.Redact(msg)
	detail := msg
	if code != "" {
		detail = strings.TrimSuffix(code+": "+msg, ": ")
	}
	e := providers.StatusError(name, a.Response, detail)
	switch code {
	case "INVALID_SESSION_ID":
		e.Code = providers.CodeAuthFailed
		e.Message = "salesforce: the session was rejected (INVALID_SESSION_ID); the token may be revoked or belong to another instance: check instance_url or re-authorise the connection"
	case "REQUEST_LIMIT_EXCEEDED":
		e.Code = providers.CodeRateLimited
		e.Retryable = true
		e.RetryAfter = providers.RetryAfter(a.Header, time.Now())
		e.Message = "salesforce: the org's API request limit is exceeded (REQUEST_LIMIT_EXCEEDED); wait for the 24-hour window to free up or raise the limit"
	case "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED":
		e.Code = providers.CodePermissionDenied
		e.Message = "salesforce: the REST API is not enabled for this org or user (" + code + "); enable \"API Enabled\" on the user's profile or permission set"
	}
	return e
}

// errorOf returns the code and message of the first error of a REST error
// body ([{message, errorCode}]).
func errorOf(body []byte) (code, msg string) {
	var errs []struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
	}
	if json.Unmarshal(body, &errs) != nil || len(errs) == 0 {
		return "", ""
	}
	return errs[0].ErrorCode, errs[0].Message
}

// redact removes the connection's secrets and the given call-specific
// credentials, in every encoded form, from s.
func (c *conn) redact(s string, extra ...string) string {
	return providers.RedactWith(s, c.cfg.Secrets, extra...)
}
