package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HTTPOptions configures NewHTTPClient. Zero values take the defaults.
type HTTPOptions struct {
	// Dial is the dialer for every connection: netguard's (netguard.Guard's
	// HTTPClient sets it). Nil makes every request fail with
	// ErrNoGuardedClient; there is no unguarded default.
	Dial DialFunc
	// MaxBodyBytes caps every response body (default 16 MiB); reading past it
	// fails with ErrBodyTooLarge.
	MaxBodyBytes int64
	// MaxRedirects caps redirects (default 5; negative follows none).
	MaxRedirects int
	// MaxRetries caps retries of 429 and 5xx (default 3; negative disables).
	MaxRetries int
	// BaseBackoff is the first retry delay before jitter (default 250ms); it
	// doubles on every retry.
	BaseBackoff time.Duration
	// MaxWait caps one wait between attempts (default 30s). A Retry-After
	// longer than this is not waited for: the 429 or 5xx is returned.
	MaxWait time.Duration
}

// Errors the client returns; Classify names them.
var (
	// ErrBodyTooLarge is returned when a response body exceeds the cap.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrTooManyRedirects is returned when a request is redirected more than
	// HTTPOptions.MaxRedirects times.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrRedirectWithBody is returned when a request with a body (which may
	// carry credentials) is redirected to another origin with its body (307,
	// 308): it is not followed.
	ErrRedirectWithBody = errors.New("refused to re-send a request body to another origin")
)

// NewHTTPClient returns the client drivers use: no proxy from the environment,
// the given dialer, capped bodies and redirects, credentials never carried to
// another origin, and retries of 429 and 5xx with jittered backoff honouring
// Retry-After, never waiting past the request context's deadline.
func NewHTTPClient(o HTTPOptions) *http.Client {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 5
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 3
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 250 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 30 * time.Second
	}
	dial := o.Dial
	if dial == nil {
		// No dialer is a programming error: fail closed rather than dial
		// around netguard.
		dial = refuseDial
	}
	base := &http.Transport{
		Proxy:                 nil, // never from the environment
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: &retryTransport{next: base, opts: o},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("%w (more than %d)", ErrTooManyRedirects, max(o.MaxRedirects, 0))
			}
			// The Referer may carry a token from the previous URL's query.
			req.Header.Del("Referer")
			first := via[0].URL
			if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
				if req.Body != nil && req.Body != http.NoBody {
					return ErrRedirectWithBody
				}
				stripCredentials(req.Header)
			}
			return nil
		},
	}
}

// WithMaxBody returns a client like c (made by NewHTTPClient) whose
// response bodies are capped at n bytes when that is below c's cap; it
// shares c's connections and dialer. A client NewHTTPClient did not make is
// returned as it is.
func WithMaxBody(c *http.Client, n int64) *http.Client {
	t, ok := c.Transport.(*retryTransport)
	if !ok || n <= 0 || n >= t.opts.MaxBodyBytes {
		return c
	}
	o := t.opts
	o.MaxBodyBytes = n
	out := *c
	out.Transport = &retryTransport{next: t.next, opts: o}
	return &out
}

// stripCredentials removes every header that may carry a credential: the
// standard ones and any custom header the providers use for tokens, keys,
// passwords, sessions or signatures.
func stripCredentials(h http.Header) {
	for k := range h {
		lk := strings.ToLower(k)
		for _, s := range []string{"auth", "token", "key", "secret", "pass", "cookie", "session", "signature", "credential"} {
			if strings.Contains(lk, s) {
				h.Del(k)
				break
			}
		}
	}
}

type retryTransport struct {
	next http.RoundTripper
	opts HTTPOptions
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if once, ok := req.Context().Value(singleSendKey{}).(*singleSend); ok {
		// The caller retries, signing each attempt afresh.
		once.opts, once.known = t.opts, true
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		return t.capped(resp), nil
	}
	canResend := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if !retryable(resp.StatusCode) || attempt >= t.opts.MaxRetries || !canResend {
			return t.capped(resp), nil
		}
		wait, ok := retryWait(req.Context(), t.opts, resp, attempt)
		if !ok {
			return t.capped(resp), nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("re-send request body: %w", err)
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

// retryWait returns how long to wait before the attempt after attempt (0
// for the first send) that answered resp: the server's Retry-After when it
// sent one, otherwise exponential backoff with jitter (half fixed, half
// random). False when the wait exceeds MaxWait or half the time ctx has
// left: the 429/5xx then goes to the caller now, with its Retry-After, so a
// rate limit is not turned into a timeout.
func retryWait(ctx context.Context, o HTTPOptions, resp *http.Response, attempt int) (time.Duration, bool) {
	d, ok := parseRetryAfter(resp.Header, time.Now())
	if !ok {
		d = o.MaxWait
		if attempt < 30 && o.BaseBackoff<<attempt < d {
			d = o.BaseBackoff << attempt
		}
		d = d/2 + rand.N(d/2+1)
	}
	if d > o.MaxWait {
		return 0, false
	}
	if dl, has := ctx.Deadline(); has && d > time.Until(dl)/2 {
		return 0, false
	}
	return d, true
}

// singleSendKey marks a request context (withSingleSend): the retry
// transport sends such a request once, whatever it answers, and leaves its
// options in the mark for the caller, which retries itself (API with
// SignEachAttempt).
type singleSendKey struct{}

// singleSend is the mark: the options of the retry transport that sent the
// request (known is false when none did).
type singleSend struct {
	opts  HTTPOptions
	known bool
}

func withSingleSend(ctx context.Context) (context.Context, *singleSend) {
	s := &singleSend{}
	return context.WithValue(ctx, singleSendKey{}, s), s
}

// retry reports whether a request that answered resp on attempt (0 for the
// first send) may be sent again, and after how long, by the rules the retry
// transport applies to its own retries (the caller checks the status).
func (s *singleSend) retry(ctx context.Context, resp *http.Response, attempt int) (time.Duration, bool) {
	if !s.known || attempt >= s.opts.MaxRetries {
		return 0, false
	}
	return retryWait(ctx, s.opts, resp, attempt)
}

func (t *retryTransport) capped(resp *http.Response) *http.Response {
	resp.Body = &cappedBody{r: resp.Body, left: t.opts.MaxBodyBytes}
	return resp
}

// retryable reports whether a status may succeed when retried: 429 and 5xx,
// except 501 and 505, which never change.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests ||
		(status >= 500 && status <= 599 && status != http.StatusNotImplemented && status != http.StatusHTTPVersionNotSupported)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxRetryAfter bounds a parsed Retry-After so huge values cannot overflow.
const maxRetryAfter = 24 * time.Hour

// RetryAfter parses a Retry-After header (seconds or an HTTP date) relative to
// now; 0 when absent or unparseable. Values are capped at 24 hours.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	d, _ := parseRetryAfter(h, now)
	return d
}

// parseRetryAfter is RetryAfter that also says whether a usable header was
// present: "Retry-After: 0" means retry now, an absent header means back off.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

type cappedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		// Probe one byte so a body of exactly the cap still ends cleanly.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.r.Close() }

// StatusError classifies a non-2xx HTTP response of provider. detail, when not
// empty, is a short upstream reason to append. The message never includes the
// raw body; callers must redact detail if it may echo a secret.
func StatusError(provider string, resp *http.Response, detail string) *Error {
	code, what := CodeProviderError, fmt.Sprintf("the server answered HTTP %d", resp.StatusCode)
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		code, what = CodeAuthFailed, "the credentials were rejected (HTTP 401)"
	case s == http.StatusForbidden:
		code, what = CodePermissionDenied, "the credentials are valid but lack permission (HTTP 403)"
	case s == http.StatusNotFound:
		code, what = CodeNotFound, "the resource was not found (HTTP 404); check the configured account, path or URL"
	case s == http.StatusTooManyRequests:
		code, what = CodeRateLimited, "the provider is rate limiting requests (HTTP 429)"
	case s >= 500:
		code, what = CodeProviderError, fmt.Sprintf("the provider had an internal error (HTTP %d)", s)
	}
	e := &Error{Code: code, Message: appendDetail(provider+": "+what, detail)}
	if code == CodeRateLimited || retryable(resp.StatusCode) {
		e.Retryable = true
		e.RetryAfter = RetryAfter(resp.Header, time.Now())
	}
	return e
}
