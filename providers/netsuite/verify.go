package netsuite

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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
const verifyQuery = `{"q":"SELECT id FROM currency"}`

// maxRetries caps the driver's own retries of 429 and 5xx.
const maxRetries = 3

// Verify runs a one-row SuiteQL query
// (POST {base}/services/rest/query/v1/suiteql?limit=1 with Prefer: transient).
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	u, err := url.Parse(c.baseURL + "/services/rest/query/v1/suiteql?limit=1")
	if err != nil {
		return nil, providers.Wrap(providers.CodeInvalidConfig, err, "netsuite: base_url is not usable")
	}
	var (
		bearer, rejected string
		resp             *http.Response
		body             []byte
	)
	for attempt := 0; attempt < 2; attempt++ {
		if c.mode == "oauth2_m2m" {
			// A cached token the API refuses is replaced once.
			if bearer, err = c.m2mToken(ctx, rejected); err != nil {
				return nil, err
			}
		}
		if resp, body, err = c.send(ctx, u, verifyQuery, bearer); err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized || bearer == "" {
			break
		}
		rejected = bearer
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.apiError(resp, body, bearer)
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, providers.Wrap(providers.CodeProviderError, err, "netsuite: the SuiteQL response was not the expected JSON; check base_url")
	}
	return &providers.VerifyResult{Details: map[string]any{"account_id": c.account, "auth_mode": c.mode}}, nil
}

// send POSTs a JSON body to u and returns the answer with its body read. It
// authenticates and retries 429 and 5xx itself, signing every attempt afresh:
// NetSuite refuses a reused TBA nonce, and the shared client's own retries
// resend the same headers. Those are switched off by giving the client a body
// it cannot rewind.
func (c *conn) send(ctx context.Context, u *url.URL, body, bearer string) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), io.NopCloser(strings.NewReader(body)))
		if err != nil {
			return nil, nil, providers.Wrap(providers.CodeInvalidConfig, err, "netsuite: base_url is not usable")
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Prefer", "transient")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		} else {
			req.Header.Set("Authorization", c.tbaHeader(http.MethodPost, u))
		}
		resp, data, err := c.cfg.Do(req, name)
		if err != nil {
			return nil, nil, err
		}
		if !retryable(resp.StatusCode) || attempt >= maxRetries {
			return resp, data, nil
		}
		wait := providers.RetryAfter(resp.Header, time.Now())
		if resp.Header.Get("Retry-After") == "" {
			wait = c.backoff << attempt
		}
		if dl, ok := ctx.Deadline(); ok && wait > time.Until(dl)/2 {
			// Like the shared client: leave the retry at least as long as
			// the wait, and hand a long Retry-After to the caller now.
			return resp, data, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, providers.Classify(name, ctx.Err())
		case <-t.C:
		}
	}
}

// retryable is the shared client's rule: 429 and 5xx except 501 and 505.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests ||
		(status >= 500 && status <= 599 && status != http.StatusNotImplemented && status != http.StatusHTTPVersionNotSupported)
}

// apiError classifies a REST error. NetSuite answers
// {"title", "status", "o:errorDetails": [{"detail", "o:errorCode"}]}.
func (c *conn) apiError(resp *http.Response, body []byte, bearer string) *providers.Error {
	var eb struct {
		Details []struct {
			Detail string `json:"detail"`
			Code   string `json:"o:errorCode"`
		} `json:"o:errorDetails"`
	}
	_ = json.Unmarshal(body, &eb)
	var detail, code string
	if len(eb.Details) > 0 {
		detail, code = c.redact(eb.Details[0].Detail, bearer), eb.Details[0].Code
	}
	e := providers.StatusError(name, resp, detail)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		if c.mode == "tba" {
			e.Message += "; check the consumer key and secret, the token id and secret, the account id (realm " + c.realm + ") and that this server's clock is right"
		} else {
			e.Message += "; the access token was refused: check the account id and that the integration's certificate mapping is active"
		}
	case resp.StatusCode == http.StatusForbidden:
		e.Message += "; give the integration's role the REST Web Services permission and read access to the currency list"
	case strings.Contains(code, "LIMIT_EXCEEDED") || strings.Contains(code, "CONCURRENCY"):
		e.Code, e.Retryable = providers.CodeRateLimited, true
		e.Message = "netsuite: the account's concurrency limit is exhausted (" + code + "); try again shortly"
	}
	return e
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
