package netsuite

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

const name = "netsuite"

var _ providers.Verifier = (*conn)(nil)

// verifyQuery reads one row of a table every role with REST access can see.
const verifyQuery = "SELECT id FROM currency"

// Verify runs a one-row SuiteQL query
// (POST {base}/services/rest/query/v1/suiteql?limit=1 with Prefer: transient).
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	if _, err := c.suiteql(ctx, &c.api, verifyQuery, 1, 0); err != nil {
		return nil, err
	}
	return &providers.VerifyResult{Details: map[string]any{"account_id": c.account, "auth_mode": c.mode}}, nil
}

// auth is the API's AuthFunc. TBA signs the final request (its method and
// URL, query included) with a fresh nonce and timestamp and returns no
// token: there is no run-time credential to redact and nothing to replace
// on a 401. M2M sends a bearer token from the shared machinery, a new one
// when the previous was rejected.
func (c *conn) auth(ctx context.Context, r *http.Request, rejected string) (string, error) {
	if c.mode == "oauth2_m2m" {
		tok, err := c.m2mToken(ctx, rejected)
		if err != nil {
			return "", err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		return tok, nil
	}
	// NetSuite refuses a nonce it has seen: the API signs every attempt
	// (SignEachAttempt).
	r.Header.Set("Authorization", c.tbaHeader(r.Method, r.URL))
	return "", nil
}

// apiError is the API's Error: it classifies a REST error. NetSuite answers
// {"title", "status", "o:errorDetails": [{"detail", "o:errorCode"}]}.
func (c *conn) apiError(a providers.Answer) *providers.Error {
	code, detail := errorOf(a.Body)
	e := providers.StatusError(name, a.Response, a.Redact(detail))
	switch {
	case a.StatusCode == http.StatusUnauthorized:
		if c.mode == "tba" {
			e.Message += "; check the consumer key and secret, the token id and secret, the account id (realm " + c.realm + ") and that this server's clock is right"
		} else {
			e.Message += "; the access token was refused: check the account id and that the integration's certificate mapping is active"
		}
	case a.StatusCode == http.StatusForbidden:
		e.Message += "; give the integration's role the REST Web Services permission and read access to the records asked for"
	case strings.Contains(code, "LIMIT_EXCEEDED") || strings.Contains(code, "CONCURRENCY"):
		e.Code, e.Retryable = providers.CodeRateLimited, true
		e.Message = "netsuite: the account's concurrency limit is exhausted (" + code + "); try again shortly"
	}
	return e
}

// errorOf returns the code and detail of the first error detail of a REST
// error body.
func errorOf(body []byte) (code, detail string) {
	var eb struct {
		Details []struct {
			Detail string `json:"detail"`
			Code   string `json:"o:errorCode"`
		} `json:"o:errorDetails"`
	}
	if json.Unmarshal(body, &eb) != nil || len(eb.Details) == 0 {
		return "", ""
	}
	return eb.Details[0].Code, eb.Details[0].Detail
}

// m2mFlow is the OAuth 2.0 client-credentials grant with a JWT client
// assertion (PS256 for RSA keys, ES256/384/512 for EC keys), signed afresh
// whenever the shared machinery actually calls the token endpoint. Identity
// names the grant in its cache: client, certificate and key.
func (c *conn) m2mFlow() providers.OAuthFlow {
	return providers.OAuthFlow{
		TokenURL:       c.tokenURL,
		AuthStyle:      oauth2.AuthStyleInParams,
		EndpointParams: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}},
		EndpointParamsFunc: func() (url.Values, error) {
			a, err := c.assertion()
			return url.Values{"client_assertion": {a}}, err
		},
		Identity: c.identity,
	}
}

// assertion signs the client assertion NetSuite's token endpoint expects.
func (c *conn) assertion() (string, error) {
	now := c.now()
	t := jwt.NewWithClaims(c.alg, jwt.MapClaims{
		"iss":   c.cfg.String("client_id"),
		"scope": "rest_webservices",
		"aud":   c.tokenURL,
		"iat":   now.Unix(),
		"exp":   now.Add(5 * time.Minute).Unix(),
	})
	t.Header["kid"] = c.cfg.String("certificate_id")
	a, err := t.SignedString(c.key)
	if err != nil {
		return "", providers.Wrap(providers.CodeInvalidConfig, err, "netsuite: could not sign the client assertion with private_key_pem")
	}
	return a, nil
}

// m2mToken returns an access token from the shared machinery (cached until
// shortly before expiry). rejected is a token the API just refused.
func (c *conn) m2mToken(ctx context.Context, rejected string) (string, error) {
	flow := c.m2mFlow()
	flow.Rejected = rejected
	tok, err := c.cfg.Token(ctx, name, flow)
	if err != nil {
		return "", c.tokenError(err)
	}
	return tok.AccessToken, nil
}

// tokenError rewrites a refusal by the token endpoint into a message that
// says what to check for M2M, with NetSuite's own description.
func (c *conn) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	why := re.ErrorCode
	if d := c.redact(re.ErrorDescription); d != "" {
		why += ": " + d
	}
	switch re.ErrorCode {
	case "invalid_grant", "invalid_client", "unauthorized_client", "invalid_request":
		return providers.Wrap(providers.CodeAuthFailed, err, "netsuite: the token endpoint refused the client assertion (%s); check client_id, certificate_id, the private key, that the M2M certificate mapping is active, and this server's clock", why)
	case "invalid_scope":
		return providers.Wrap(providers.CodePermissionDenied, err, "netsuite: the integration may not use the REST web services scope (%s)", why)
	}
	return err
}

// redact removes the connection's secrets and the given call-specific
// credentials (an access token, an assertion), in every encoded form, from s.
func (c *conn) redact(s string, extra ...string) string {
	return providers.RedactWith(s, c.cfg.Secrets, extra...)
}
