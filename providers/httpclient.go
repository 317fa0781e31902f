package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HTTPOptions configures NewHTTPClient. Zero values take the defaults.
type HTTPOptions struct {
	// Dial is the dialer for every connection (netguard's in production).
	Dial DialFunc
	// MaxBodyBytes caps every response body (default 16 MiB); reading past it
	// fails with ErrBodyTooLarge.
	MaxBodyBytes int64
	// MaxRedirects caps redirects (default 5).
	MaxRedirects int
	// MaxRetries caps retries of 429 and 5xx (default 3).
	MaxRetries int
	// BaseBackoff is the first retry delay before jitter (default 250ms).
	BaseBackoff time.Duration
}

// ErrBodyTooLarge is returned when a response body exceeds the cap.
var ErrBodyTooLarge = errors.New("response body too large")

// NewHTTPClient returns the client drivers use: no proxy from the environment,
// the given dialer, capped bodies and redirects, credentials never carried to
// another host, and retries of 429 and 5xx with jittered backoff honouring
// Retry-After, never waiting past the request context's deadline.
func NewHTTPClient(o HTTPOptions) *http.Client {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 5
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 3
	}
	if o.BaseBackoff == 0 {
		o.BaseBackoff = 250 * time.Millisecond
	}
	dial := o.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	base := &http.Transport{
		Proxy:                 nil,
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
			if len(via) >= o.MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", o.MaxRedirects)
			}
			if req.URL.Host != via[0].URL.Host {
				stripCredentials(req.Header)
			}
			return nil
		},
	}
}

// stripCredentials removes every header that may carry a credential: the
// standard ones and any custom header the providers use for tokens.
func stripCredentials(h http.Header) {
	for k := range h {
		lk := strings.ToLower(k)
		switch {
		case lk == "authorization", lk == "cookie", lk == "proxy-authorization",
			strings.Contains(lk, "token"), strings.Contains(lk, "key"),
			strings.Contains(lk, "secret"), strings.Contains(lk, "auth"):
			h.Del(k)
		}
	}
}

type retryTransport struct {
	next http.RoundTripper
	opts HTTPOptions
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if !retryable(resp.StatusCode) || attempt >= t.opts.MaxRetries || (req.Body != nil && req.GetBody == nil) {
			resp.Body = &cappedBody{r: resp.Body, left: t.opts.MaxBodyBytes}
			return resp, nil
		}
		wait := RetryAfter(resp.Header, time.Now())
		if wait == 0 {
			wait = t.opts.BaseBackoff << attempt
		}
		wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < wait {
			// Waiting would overrun the deadline: hand the 429/5xx to the caller now.
			resp.Body = &cappedBody{r: resp.Body, left: t.opts.MaxBodyBytes}
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusBadGateway ||
		status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout ||
		status == http.StatusInternalServerError
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date) relative to
// now; 0 when absent or unparseable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

type cappedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe one byte so a body of exactly the cap still ends cleanly.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.r.Close() }

// StatusError classifies a non-2xx HTTP response of provider. body is the
// (already read, possibly truncated) response body; detail, when not empty,
// is a short upstream reason to append. The message never includes the raw
// body; callers must redact detail if it may echo a secret.
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
	msg := provider + ": " + what
	if detail = strings.TrimSpace(detail); detail != "" {
		if len(detail) > 300 {
			detail = detail[:300] + "…"
		}
		msg += ": " + detail
	}
	e := &Error{Code: code, Message: msg}
	if code == CodeRateLimited || resp.StatusCode >= 500 {
		e.Retryable = true
		e.RetryAfter = RetryAfter(resp.Header, time.Now())
	}
	return e
}
