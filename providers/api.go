package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// API is the one authenticated request path of an HTTP driver. A driver
// states only its base URL, how it authenticates (Auth) and how it reads an
// error answer (Error); API builds the request, authenticates it, sends it
// with the guarded client (netguard, retries of 429 and 5xx honouring
// Retry-After, body cap), gets a new token once when the upstream refuses one
// (Reauth), classifies every failure and redacts the secrets and the run-time
// token from every message, and decodes JSON answers.
//
// An API is a value built in Open; it is safe for concurrent use.
type API struct {
	// Provider names the driver in messages ("dropbox").
	Provider string
	// Config supplies the guarded client and the secrets to redact.
	Config Config
	// BaseURL is prefixed to a Call's relative Path. No trailing slash.
	BaseURL string
	// Header is sent with every request (API version headers, Accept).
	Header http.Header
	// Auth authenticates r; nil sends r as it is. See AuthFunc.
	Auth AuthFunc
	// Reauth, when set, reports whether a non-2xx answer means the token was
	// refused, in which case Auth is called once more with that token as
	// rejected and the call is sent again. Nil: no second try.
	Reauth func(resp *http.Response, body []byte) bool
	// Error classifies a non-2xx answer. redact removes every secret and the
	// run-time token in all their encodings. Nil: StatusError with the body's
	// text (redacted, one line, cut) as the detail.
	Error func(resp *http.Response, body []byte, redact func(string) string) *Error
	// MaxBody is the most bytes of an answer read; 0 means 4 MiB.
	MaxBody int64
}

// AuthFunc sets credentials on r. rejected is "" on the first try and, on the
// retry Reauth asks for, the token the upstream refused, so an OAuth AuthFunc
// asks for a new one (OAuthFlow.Rejected). It returns the run-time token it
// sent (redacted from every message like a secret), or "" when it sent only
// stored secrets. Its error should be an *Error (Classify is applied).
type AuthFunc func(ctx context.Context, r *http.Request, rejected string) (token string, err error)

// BearerAuth sends an access token of flow as "Authorization: Bearer",
// getting a new one when the previous was rejected.
func BearerAuth(cfg Config, provider string, flow OAuthFlow) AuthFunc {
	return func(ctx context.Context, r *http.Request, rejected string) (string, error) {
		f := flow
		f.Rejected = rejected
		tok, err := cfg.Token(ctx, provider, f)
		if err != nil {
			return "", Classify(provider, err)
		}
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return tok.AccessToken, nil
	}
}

// HeaderAuth sends a stored secret in one header (value is the whole header
// value, such as "Bearer "+secret or "Klaviyo-API-Key "+secret).
func HeaderAuth(header, value string) AuthFunc {
	return func(ctx context.Context, r *http.Request, rejected string) (string, error) {
		r.Header.Set(header, value)
		return "", nil
	}
}

// Unauthorized is a Reauth that retries a 401 answer.
func Unauthorized(resp *http.Response, body []byte) bool {
	return resp.StatusCode == http.StatusUnauthorized
}

// Call is one request of an API.
type Call struct {
	// Method defaults to GET.
	Method string
	// Path is relative to the API's BaseURL ("/2/files/list_folder"), or an
	// absolute URL on the BaseURL's origin (a next-page link the upstream
	// returned, followed verbatim). A link to another origin is refused, so
	// credentials are never sent where the upstream points them.
	Path  string
	Query url.Values
	// JSON, when not nil, is marshalled as the body (Content-Type:
	// application/json). Form, when not nil, is sent form-encoded instead.
	JSON   any
	Form   url.Values
	Header http.Header
	// What names the resource in a not-found message ("the folder /a/b").
	What string
}

// Response is a 2xx answer with its body read.
type Response struct {
	*http.Response
	Body []byte
}

// Do sends c and returns the 2xx answer. A non-2xx answer comes back as the
// *Error the API's Error (or StatusError) makes of it; a transport failure as
// Classify's *Error. Every message is redacted.
func (a *API) Do(ctx context.Context, c Call) (*Response, error) {
	rawURL, err := a.url(c)
	if err != nil {
		return nil, err
	}
	var payload []byte
	contentType := ""
	switch {
	case c.JSON != nil:
		if payload, err = json.Marshal(c.JSON); err != nil {
			return nil, Wrap(CodeInvalidConfig, err, "%s: could not encode the request", a.Provider)
		}
		contentType = "application/json"
	case c.Form != nil:
		payload, contentType = []byte(c.Form.Encode()), "application/x-www-form-urlencoded"
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	for rejected := ""; ; {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
		if err != nil {
			return nil, Wrap(CodeInvalidConfig, err, "%s: the request URL is invalid", a.Provider)
		}
		for k, v := range a.Header {
			req.Header[k] = v
		}
		for k, v := range c.Header {
			req.Header[k] = v
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		token := ""
		if a.Auth != nil {
			if token, err = a.Auth(ctx, req, rejected); err != nil {
				return nil, a.redactErr(Classify(a.Provider, err), token)
			}
		}
		limit := a.MaxBody
		if limit <= 0 {
			limit = 4 << 20
		}
		resp, data, err := a.Config.DoLimit(req, a.Provider, limit)
		if err != nil {
			return nil, a.redactErr(Classify(a.Provider, err), token)
		}
		if resp.StatusCode/100 == 2 {
			return &Response{Response: resp, Body: data}, nil
		}
		if rejected == "" && token != "" && a.Reauth != nil && a.Reauth(resp, data) {
			rejected = token
			continue
		}
		return nil, a.fail(resp, data, token, c.What)
	}
}

// JSON sends c and decodes the 2xx answer's JSON body into out.
func (a *API) JSON(ctx context.Context, c Call, out any) error {
	resp, err := a.Do(ctx, c)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return Wrap(CodeProviderError, err, "%s: the answer was not the JSON expected; check the base URL", a.Provider)
	}
	return nil
}

// url resolves c.Path against BaseURL, refusing absolute links to another
// origin.
func (a *API) url(c Call) (string, error) {
	raw := c.Path
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		raw = a.BaseURL + raw
	} else {
		u, err := url.Parse(raw)
		base, berr := url.Parse(a.BaseURL)
		if err != nil || berr != nil || u.Scheme != base.Scheme || u.Host != base.Host {
			return "", Errorf(CodeProviderError, "%s: the upstream sent a link to another host; it was not followed", a.Provider)
		}
	}
	if len(c.Query) > 0 {
		sep := "?"
		if strings.Contains(raw, "?") {
			sep = "&"
		}
		raw += sep + c.Query.Encode()
	}
	return raw, nil
}

func (a *API) redactor(token string) func(string) string {
	return func(s string) string { return RedactWith(s, a.Config.Secrets, token) }
}

func (a *API) redactErr(e *Error, token string) *Error {
	out := *e
	out.Message = a.redactor(token)(out.Message)
	return &out
}

// fail classifies a non-2xx answer, naming c.What for a 404.
func (a *API) fail(resp *http.Response, body []byte, token, what string) *Error {
	redact := a.redactor(token)
	var e *Error
	if a.Error != nil {
		e = a.Error(resp, body, redact)
	}
	if e == nil {
		e = StatusError(a.Provider, resp, CutDetail(redact(strings.Join(strings.Fields(string(body)), " "))))
		if e.Code == CodeNotFound && what != "" {
			e.Message = fmt.Sprintf("%s: %s was not found (HTTP 404)", a.Provider, what)
		}
	}
	// The Error func may have quoted the body: redact once more regardless.
	return a.redactErr(e, token)
}

// IsCode reports whether err is an *Error with code.
func IsCode(err error, code Code) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Code == code
}
