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

	"golang.org/x/oauth2"
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
	// Reauth, when set, reports whether a failed answer means the token was
	// refused, in which case Auth is called once more with that token as
	// rejected and the call is sent again. Nil: no second try.
	Reauth func(a Answer) bool
	// Error classifies a failed answer (see Answer). Nil: StatusError with
	// the body's text (redacted, one line, cut) as the detail, and a 404
	// naming the Call's What.
	Error func(a Answer) *Error
	// MaxBody is the most bytes of an answer read; 0 means 4 MiB.
	MaxBody int64
	// SignEachAttempt runs Auth again for every send of a call, retries
	// included, for credentials that must not be sent twice (a signature
	// over a nonce). The shared client would resend a 429 or 5xx unchanged,
	// so its retries are turned off for these requests and Do retries
	// instead, under the client's own rules (HTTPOptions: MaxRetries, the
	// backoff, Retry-After up to MaxWait, never a wait longer than half the
	// time left); it also retries an answer Error marks Retryable. A client
	// not made by NewHTTPClient retries nothing. False: the client retries,
	// resending the request as Auth signed it once.
	SignEachAttempt bool
}

// AuthFunc sets credentials on r. rejected is "" on the first try and, on the
// retry Reauth asks for, the token the upstream refused, so an OAuth AuthFunc
// asks for a new one (OAuthFlow.Rejected). It returns the run-time token it
// sent (redacted from every message like a secret), or "" when it sent only
// stored secrets. Its error should be an *Error (Classify is applied).
type AuthFunc func(ctx context.Context, r *http.Request, rejected string) (token string, err error)

// TokenAuth sends an access token of flow, which place puts on the request
// (TokenHeader, TokenQuery, or the driver's own placement), getting a new one
// when the previous was rejected. The token sent is the Response's Token, and
// with its extras (scope) its OAuthToken.
func TokenAuth(cfg Config, provider string, flow OAuthFlow, place func(r *http.Request, tok *oauth2.Token)) AuthFunc {
	return func(ctx context.Context, r *http.Request, rejected string) (string, error) {
		f := flow
		f.Rejected = rejected
		tok, err := cfg.Token(ctx, provider, f)
		if err != nil {
			return "", Classify(provider, err)
		}
		place(r, tok)
		if sent, ok := ctx.Value(sentTokenKey{}).(**oauth2.Token); ok {
			*sent = tok
		}
		return tok.AccessToken, nil
	}
}

// BearerAuth sends an access token of flow as "Authorization: Bearer",
// getting a new one when the previous was rejected.
func BearerAuth(cfg Config, provider string, flow OAuthFlow) AuthFunc {
	return TokenAuth(cfg, provider, flow, TokenHeader("Authorization", "Bearer "))
}

// TokenHeader places an access token in header, after prefix ("Bearer ",
// or "" for a header that holds the token alone).
func TokenHeader(header, prefix string) func(*http.Request, *oauth2.Token) {
	return func(r *http.Request, tok *oauth2.Token) { r.Header.Set(header, prefix+tok.AccessToken) }
}

// TokenQuery places an access token in the query parameter param, appended
// to the request's query as it is.
func TokenQuery(param string) func(*http.Request, *oauth2.Token) {
	return func(r *http.Request, tok *oauth2.Token) {
		q := param + "=" + url.QueryEscape(tok.AccessToken)
		if r.URL.RawQuery != "" {
			q = r.URL.RawQuery + "&" + q
		}
		r.URL.RawQuery = q
	}
}

// sentTokenKey carries, in the context Do hands to Auth, where TokenAuth
// leaves the OAuth token it sent (a **oauth2.Token).
type sentTokenKey struct{}

// HeaderAuth sends a stored secret in one header (value is the whole header
// value, such as "Bearer "+secret or "Klaviyo-API-Key "+secret).
func HeaderAuth(header, value string) AuthFunc {
	return func(ctx context.Context, r *http.Request, rejected string) (string, error) {
		r.Header.Set(header, value)
		return "", nil
	}
}

// Unauthorized is a Reauth that retries a 401 answer.
func Unauthorized(a Answer) bool {
	return a.StatusCode == http.StatusUnauthorized
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
	// The body, at most one of: JSON, when not nil, marshalled (Content-Type:
	// application/json); Form, when not nil, form-encoded; Body, when not
	// nil, sent as it is with ContentType (a multipart form). All nil: no
	// body.
	JSON        any
	Form        url.Values
	Body        []byte
	ContentType string
	Header      http.Header
	// What names the resource in a not-found message ("the folder /a/b");
	// Error gets it as Answer.What.
	What string
	// Success reports whether an answer's status is the call's success,
	// which Do returns; any other answer is failed (Reauth, Error). Nil:
	// any 2xx.
	Success func(status int) bool
	// NoRedirect takes a redirect (3xx) as the answer instead of following
	// it, so its Location can be read (with a Success that accepts it) or
	// classified. False: redirects are followed, as HTTPOptions allows.
	NoRedirect bool
}

// Response is a successful answer with its body read.
type Response struct {
	*http.Response
	Body []byte
	// Token is the run-time token Auth sent for this answer, "" when it
	// sent only stored secrets.
	Token string
	// OAuthToken is the token a TokenAuth sent, with its extras (scope);
	// nil with any other Auth.
	OAuthToken *oauth2.Token

	provider string
	redact   func(string) string
}

// Redact removes the connection's secrets and the token sent, in all their
// encodings, from s: for an error a successful answer carries (a GraphQL
// error list, a failure flag in a 200).
func (r *Response) Redact(s string) string { return r.redact(s) }

// Decode decodes the JSON body into out; a body that is not that JSON is a
// CodeProviderError.
func (r *Response) Decode(out any) error {
	if err := json.Unmarshal(r.Body, out); err != nil {
		return Wrap(CodeProviderError, err, "%s: the answer was not the JSON expected; check the base URL", r.provider)
	}
	return nil
}

// Answer is a failed answer (a status the Call's Success does not accept:
// by default anything but 2xx), handed to the API's Reauth and Error.
type Answer struct {
	*http.Response
	Body []byte
	// What is the Call's What ("" when it named nothing).
	What string
	// Redact removes every secret and the run-time token sent, in all their
	// encodings, from a detail quoted from the answer.
	Redact func(string) string
}

// Do sends c and returns its successful answer. A failed answer comes back
// as the *Error the API's Error (or StatusError) makes of it; a transport
// failure as Classify's *Error. Every message is redacted.
func (a *API) Do(ctx context.Context, c Call) (*Response, error) {
	rawURL, err := a.url(c)
	if err != nil {
		return nil, err
	}
	payload, contentType := c.Body, c.ContentType
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
	limit := a.MaxBody
	if limit <= 0 {
		limit = 4 << 20
	}
	cfg := a.Config
	if c.NoRedirect {
		client := *cfg.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		cfg.HTTPClient = &client
	}
	sendCtx, once := ctx, (*singleSend)(nil)
	if a.SignEachAttempt {
		sendCtx, once = withSingleSend(ctx)
	}
	for attempt, rejected := 0, ""; ; {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(sendCtx, method, rawURL, body)
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
		token, sent := "", (*oauth2.Token)(nil)
		if a.Auth != nil {
			if token, err = a.Auth(context.WithValue(ctx, sentTokenKey{}, &sent), req, rejected); err != nil {
				return nil, a.redactErr(Classify(a.Provider, err), token)
			}
		}
		resp, data, err := cfg.DoLimit(req, a.Provider, limit)
		if err != nil {
			return nil, a.redactErr(Classify(a.Provider, err), token)
		}
		if c.Success == nil && resp.StatusCode/100 == 2 || c.Success != nil && c.Success(resp.StatusCode) {
			return &Response{Response: resp, Body: data, Token: token, OAuthToken: sent, provider: a.Provider, redact: a.redactor(token)}, nil
		}
		ans := Answer{Response: resp, Body: data, What: c.What, Redact: a.redactor(token)}
		if rejected == "" && token != "" && a.Reauth != nil && a.Reauth(ans) {
			rejected = token
			continue
		}
		e := a.fail(ans, token)
		if once != nil && (e.Retryable || retryable(resp.StatusCode)) {
			if wait, ok := once.retry(ctx, resp, attempt); ok {
				if err := sleep(ctx, wait); err != nil {
					return nil, a.redactErr(Classify(a.Provider, err), token)
				}
				attempt++
				continue
			}
		}
		return nil, e
	}
}

// JSON sends c and decodes the successful answer's JSON body into out (nil:
// the body is not read).
func (a *API) JSON(ctx context.Context, c Call, out any) error {
	resp, err := a.Do(ctx, c)
	if err != nil || out == nil {
		return err
	}
	return resp.Decode(out)
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

// fail classifies a failed answer, naming its What for a 404.
func (a *API) fail(ans Answer, token string) *Error {
	var e *Error
	if a.Error != nil {
		e = a.Error(ans)
	}
	if e == nil {
		e = StatusError(a.Provider, ans.Response, CutDetail(ans.Redact(strings.Join(strings.Fields(string(excerpt(ans.Body))), " "))))
		if e.Code == CodeNotFound && ans.What != "" {
			e.Message = fmt.Sprintf("%s: %s was not found (HTTP 404)", a.Provider, ans.What)
		}
	}
	// The Error func may have quoted the body: redact once more regardless.
	return a.redactErr(e, token)
}

// maxExcerpt is how much of an error body is redacted to make a message's
// detail. The detail keeps 300 bytes; redacting a 4 MiB body for them would
// cost a noticeable fraction of a second. Only a body made almost wholly of
// secrets could bring text from past the excerpt into the detail, and that
// text is redacted too.
const maxExcerpt = 64 << 10

// excerpt is the start of an error body worth redacting for a detail.
func excerpt(body []byte) []byte {
	if len(body) > maxExcerpt {
		return body[:maxExcerpt]
	}
	return body
}

// IsCode reports whether err is an *Error with code.
func IsCode(err error, code Code) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Code == code
}
