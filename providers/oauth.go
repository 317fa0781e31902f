package providers

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenStore persists one connection's OAuth token inside its sealed
// credentials. Implemented by the resolvers on top of the store.
type TokenStore interface {
	// LoadToken returns the token currently stored, or nil when none is. A
	// store that also keeps the connection's own refresh token returns it,
	// in a token without an access token, when no token was stored since it
	// was set: every refresh is made with the refresh token the store holds,
	// never with a copy kept in memory.
	LoadToken(ctx context.Context) (*oauth2.Token, error)
	// SaveToken stores next if nothing the token was obtained from changed
	// since prev was loaded: prev is the token LoadToken returned, unchanged
	// (nil when it returned nil), and a store may carry in it what its
	// compare-and-swap needs (a version of the credentials and settings).
	// It returns ErrTokenConflict when another writer got there first: a
	// user's edit of the credentials or another process's refresh. The
	// caller then discards next: an edit always wins over a write-back.
	SaveToken(ctx context.Context, prev, next *oauth2.Token) error
}

// TokenKeyer is optionally implemented by a TokenStore to name the connection
// it stores for (for example tenant and connection id). Stores with one key
// share the in-process cache and de-duplication, so concurrent requests for
// one connection make one token call even when each builds its own store.
// Without it, a store is identified by its pointer.
type TokenKeyer interface {
	TokenKey() string
}

// TokenLocker is optionally implemented by a TokenStore that several
// processes share. LockToken blocks until this caller holds the right to
// refresh the connection's token (or ctx ends) and returns the func that
// gives it up. With it, processes refreshing at once make one token call: the
// others wait, then find the refreshed token in the store. Without it, each
// process refreshes on its own and compare-and-swap decides which token is
// kept (nothing is lost, but there may be one token call per process).
//
// The right must lapse by ctx's deadline at the latest (a store keeping it
// as a lease derives the lease's lifetime from that deadline): the holder
// finishes its token call by then, and a process that dies holding it keeps
// the others waiting no longer than one provider call.
type TokenLocker interface {
	LockToken(ctx context.Context) (unlock func(), err error)
}

// ErrTokenConflict is returned by TokenStore.SaveToken when the stored token
// changed since it was loaded.
var ErrTokenConflict = errors.New("oauth token changed concurrently")

// OAuthFlow describes how to obtain an access token. With RefreshToken set it
// is the refresh-token grant; otherwise the client-credentials grant (whose
// grant_type EndpointParams may override, e.g. for a JWT bearer assertion).
type OAuthFlow struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// RefreshToken is the connection's refresh token. It is sent only when
	// the TokenStore holds none: a refresh always uses the refresh token the
	// store holds (loaded inside the refresh lease), which a rotation or an
	// edit may have replaced since the driver read this one.
	RefreshToken string
	// EndpointParams are extra form fields of the client-credentials grant.
	EndpointParams url.Values
	// EndpointParamsFunc, when set, computes extra form fields each time a
	// token call is actually made (a freshly signed JWT assertion); they are
	// added to EndpointParams. Set Identity with it.
	EndpointParamsFunc func() (url.Values, error)
	// Identity, when set, stands for EndpointParams and EndpointParamsFunc in
	// the cache key: set it when those change on every call, to what
	// identifies the grant (issuer, subject and a hash of the signing key).
	// It is hashed, never kept.
	Identity  string
	AuthStyle oauth2.AuthStyle
	// Rejected is an access token the provider just refused (HTTP 401): a
	// cached or stored token equal to it is not reused, so the call refreshes.
	// Concurrent callers that saw the same rejection still make one call.
	Rejected string
}

// Token lifetimes.
const (
	// refreshAhead is how long before its expiry a token is refreshed.
	refreshAhead = 60 * time.Second
	// defaultLifetime is assumed when a token endpoint gives no expires_in,
	// so such tokens are still refreshed now and then.
	defaultLifetime = 10 * time.Minute
	// flightTimeout bounds a token call when neither the caller's context
	// nor Config.Timeout does.
	flightTimeout = 30 * time.Second
	// maxCached is the cache size above which expired entries are dropped.
	maxCached = 1024
	// leaseMargin bounds how long before a call's deadline the refresh lease
	// lapses: a process waiting for it gives up then and says why, before
	// its caller's deadline turns that into a bare timeout.
	leaseMargin = time.Second
	// leaseRetryAfter is the Retry-After of a caller that gave up waiting
	// for another process's refresh.
	leaseRetryAfter = 5 * time.Second
	// saveTimeout bounds writing a refreshed token back once the token call
	// succeeded, even past the call's deadline: a rotated refresh token that
	// is not saved is lost.
	saveTimeout = 5 * time.Second
)

// OAuth is the process-wide token machinery: it caches tokens until shortly
// before expiry, makes one token call for concurrent callers of one
// connection, and writes refreshed tokens back through Config.Tokens. The
// zero value is ready to use.
type OAuth struct {
	mu      sync.Mutex
	tokens  map[string]*cachedToken
	flights map[string]*flight
	now     func() time.Time // tests replace it
}

// cachedToken is a token handed out again until shortly before it expires.
// With a TokenStore its refresh token is never used to refresh: the store's
// is (an in-memory copy may have been retired by rotations since).
type cachedToken struct {
	tok *oauth2.Token
	// unsaved is set when the token could not be written back; prev is what
	// the store held then. The next call retries the save first (a
	// compare-and-swap against prev, so it never overwrites a newer token).
	unsaved bool
	prev    *oauth2.Token
}

type flight struct {
	done    chan struct{}
	waiters int // callers waiting on it, under OAuth.mu; tests read it
	tok     *oauth2.Token
	err     error
}

// NewOAuth returns the process-wide token machinery.
func NewOAuth() *OAuth { return &OAuth{} }

// Token returns a valid access token for flow. A cached token is reused until
// 60 s before it expires; then the stored token is used if another process
// already refreshed it, and otherwise the token endpoint is called once for
// all concurrent callers, through the guarded client (never retried: a
// provider that rotates refresh tokens may have consumed the old one even
// when it answered 5xx) and within ctx's deadline.
//
// With a TokenLocker the refresh holds the store's lease, which lapses a
// little before the deadline; the refresh token is the one the store holds,
// loaded inside the lease. A caller that cannot get the lease by then fails
// with CodeRateLimited ("another process is refreshing ...") and a
// RetryAfter. A refreshed token keeps the old refresh token when the provider
// sends none and is written back through c.Tokens with compare-and-swap on
// what the refresh started from. When that fails because the stored token
// changed, a usable stored token is returned; otherwise (the credentials were
// edited meanwhile) the refreshed token is discarded and the call fails with
// a retryable CodeProviderError: the edit wins, and the next call uses it.
// An invalid_grant answer becomes CodeAuthFailed with a message saying the
// connection must be re-authorised.
//
// With c.OAuth nil nothing is cached in memory; with c.Tokens nil nothing is
// loaded or saved. The returned token is the caller's to modify.
func (c Config) Token(ctx context.Context, provider string, flow OAuthFlow) (*oauth2.Token, error) {
	if flow.TokenURL == "" {
		return nil, Errorf(CodeInvalidConfig, "%s: no OAuth token URL is configured", provider)
	}
	o := c.OAuth
	if o == nil {
		o = &OAuth{} // one call's worth of machinery: nothing outlives it
	}
	tok, err := o.token(ctx, c, provider, flow)
	if err != nil {
		return nil, err
	}
	return copyToken(tok), nil
}

func (o *OAuth) token(ctx context.Context, c Config, provider string, flow OAuthFlow) (*oauth2.Token, error) {
	key := flowKey(provider, flow, c.Tokens)
	o.mu.Lock()
	if e := o.tokens[key]; e != nil && !e.unsaved && o.usable(e.tok, flow.Rejected) {
		o.mu.Unlock()
		return e.tok, nil
	}
	f := o.flights[key]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		if o.flights == nil {
			o.flights = make(map[string]*flight)
		}
		o.flights[key] = f
		// The call outlives a caller that gives up, so the others still get
		// its result, but not the first caller's deadline.
		fctx, cancel := flightContext(ctx, c.Timeout)
		go func() {
			defer cancel()
			func() {
				// This goroutine is not under the server's panic recovery:
				// a panic (in a store or a driver's EndpointParamsFunc)
				// fails the callers instead of the process.
				defer func() {
					if p := recover(); p != nil {
						f.err = Wrap(CodeProviderError, fmt.Errorf("panic: %v", p), "%s: obtaining an OAuth token failed unexpectedly", provider)
					}
				}()
				f.tok, f.err = o.obtain(fctx, c, provider, flow, key)
			}()
			o.mu.Lock()
			delete(o.flights, key)
			o.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	o.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, Classify(provider, ctx.Err())
	}
}

// obtain runs in one flight per key: it decides between the stored token and
// a token call, and writes a new token back.
func (o *OAuth) obtain(ctx context.Context, c Config, provider string, flow OAuthFlow, key string) (*oauth2.Token, error) {
	o.mu.Lock()
	e := o.tokens[key]
	o.mu.Unlock()
	if c.Tokens == nil {
		// Nothing is stored: the token cached here is the only copy, and a
		// refresh token rotated into it the only one still valid.
		refresh := flow.RefreshToken
		if refresh != "" && e != nil && e.tok.RefreshToken != "" {
			refresh = e.tok.RefreshToken
		}
		next, err := o.fetch(ctx, c, flow, refresh)
		if err != nil {
			return o.failed(provider, flow, err, entryToken(e))
		}
		o.put(key, next, false, nil)
		return next, nil
	}
	if e != nil && e.unsaved {
		// A token refreshed earlier could not be saved: save it now, unless
		// the store moved on meanwhile (then the store wins).
		switch err := c.Tokens.SaveToken(ctx, e.prev, e.tok); {
		case err == nil:
			o.put(key, e.tok, false, nil)
			if o.usable(e.tok, flow.Rejected) {
				return e.tok, nil
			}
		case errors.Is(err, ErrTokenConflict):
			o.drop(key)
		default:
			return nil, Wrap(CodeProviderError, err, "%s: the refreshed OAuth token could not be saved; try again", provider)
		}
		e = nil
	}
	stored, err := c.Tokens.LoadToken(ctx)
	if err != nil {
		return nil, Wrap(CodeProviderError, err, "%s: could not load the stored OAuth token", provider)
	}
	if o.usable(stored, flow.Rejected) {
		o.put(key, stored, false, nil)
		return stored, nil
	}
	// The context the refresh runs in; the write-back gets a little longer.
	callCtx := ctx
	if l, ok := c.Tokens.(TokenLocker); ok {
		lctx, cancel := leaseContext(ctx)
		defer cancel()
		unlock, err := l.LockToken(lctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, Classify(provider, ctx.Err())
			}
			if lctx.Err() != nil {
				return nil, &Error{Code: CodeRateLimited, Retryable: true, RetryAfter: leaseRetryAfter, Err: err,
					Message: provider + ": another process is refreshing this connection's OAuth token; try again in a few seconds"}
			}
			return nil, Wrap(CodeProviderError, err, "%s: could not take the OAuth refresh lock", provider)
		}
		defer unlock()
		// The token call ends when the lease does, so no other process
		// refreshes while it is in flight.
		callCtx = lctx
		// Load again inside the lease: another process may have refreshed
		// (and rotated the refresh token) while this one waited.
		if stored, err = c.Tokens.LoadToken(callCtx); err != nil {
			if ctx.Err() == nil && callCtx.Err() != nil {
				return nil, Errorf(CodeTimeout, "%s: no time was left to refresh the OAuth token", provider)
			}
			return nil, Wrap(CodeProviderError, err, "%s: could not load the stored OAuth token", provider)
		}
		if o.usable(stored, flow.Rejected) {
			o.put(key, stored, false, nil)
			return stored, nil
		}
	}

	// The refresh token is the one stored (it may have been rotated by
	// another process, or replaced by an edit), else the connection's own.
	refresh := storedRefresh(flow, stored)
	next, err := o.fetch(callCtx, c, flow, refresh)
	if isInvalidGrant(err) {
		// Another process without the lease may have refreshed (and rotated
		// the refresh token) since the load: use what it stored, or refresh
		// once more with the refresh token it stored.
		cur, lerr := c.Tokens.LoadToken(callCtx)
		if lerr == nil && cur != nil && !sameToken(cur, stored) {
			stored = cur
			if o.usable(cur, flow.Rejected) {
				o.put(key, cur, false, nil)
				return cur, nil
			}
			if r := storedRefresh(flow, cur); r != refresh {
				refresh = r
				next, err = o.fetch(callCtx, c, flow, refresh)
			}
		}
	}
	if err != nil {
		return o.failed(provider, flow, err, stored, entryToken(e))
	}
	if next.RefreshToken == "" {
		next.RefreshToken = refresh
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	err = c.Tokens.SaveToken(sctx, stored, next)
	if errors.Is(err, ErrTokenConflict) {
		// What the refresh started from changed meanwhile. If another
		// process stored a token, use it. Otherwise the credentials were
		// edited: the edit wins, and the token refreshed from what they
		// replaced is discarded, never written over them.
		cur, lerr := c.Tokens.LoadToken(sctx)
		if lerr == nil && o.usable(cur, flow.Rejected) {
			o.put(key, cur, false, nil)
			return cur, nil
		}
		o.drop(key)
		return nil, &Error{Code: CodeProviderError, Retryable: true, Err: err,
			Message: provider + ": the connection's credentials changed while its OAuth token was being refreshed; the refreshed token was discarded, try again"}
	}
	if err != nil {
		o.put(key, next, true, stored)
		return nil, Wrap(CodeProviderError, err, "%s: the refreshed OAuth token could not be saved; try again", provider)
	}
	o.put(key, next, false, nil)
	return next, nil
}

// storedRefresh is the refresh token to send: none for the client-credentials
// grant, else the stored one, else the connection's own.
func storedRefresh(flow OAuthFlow, stored *oauth2.Token) string {
	if flow.RefreshToken == "" {
		return ""
	}
	if stored != nil && stored.RefreshToken != "" {
		return stored.RefreshToken
	}
	return flow.RefreshToken
}

// fetch makes the token call and dates the token's expiry.
func (o *OAuth) fetch(ctx context.Context, c Config, flow OAuthFlow, refresh string) (*oauth2.Token, error) {
	next, err := fetchToken(ctx, c, flow, refresh)
	if err != nil {
		return nil, err
	}
	switch {
	case next.Expiry.IsZero():
		next.Expiry = o.clock().Add(defaultLifetime)
	case o.now != nil:
		// x/oauth2 dates the expiry by the real clock; tests run on another.
		next.Expiry = o.clock().Add(time.Until(next.Expiry))
	}
	return next, nil
}

// failed classifies a failed token call. When the token endpoint is down or
// slow but one of current has not expired yet, that token is used rather
// than fail.
func (o *OAuth) failed(provider string, flow OAuthFlow, err error, current ...*oauth2.Token) (*oauth2.Token, error) {
	pe := TokenError(provider, err)
	if pe.Code != CodeAuthFailed && pe.Code != CodePermissionDenied && pe.Code != CodeInvalidConfig {
		for _, t := range current {
			if t != nil && t.AccessToken != "" && t.AccessToken != flow.Rejected && o.clock().Before(t.Expiry) {
				return t, nil
			}
		}
	}
	return nil, pe
}

// leaseContext is ctx ending a little before ctx's deadline (a tenth of the
// time left, at most leaseMargin): the refresh lease lapses then, so a
// waiting caller still has time to say why it gave up.
func leaseContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(time.Until(dl)/10, leaseMargin)
	return context.WithDeadline(ctx, dl.Add(-max(margin, 0)))
}

// fetchToken calls the token endpoint once, through the guarded client.
func fetchToken(ctx context.Context, c Config, flow OAuthFlow, refresh string) (*oauth2.Token, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, tokenClient(c.Client()))
	if refresh != "" {
		cfg := &oauth2.Config{ClientID: flow.ClientID, ClientSecret: flow.ClientSecret, Scopes: flow.Scopes,
			Endpoint: oauth2.Endpoint{TokenURL: flow.TokenURL, AuthStyle: flow.AuthStyle}}
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
	}
	params := flow.EndpointParams
	if flow.EndpointParamsFunc != nil {
		extra, err := flow.EndpointParamsFunc()
		if err != nil {
			return nil, err
		}
		params = url.Values{}
		for k, v := range flow.EndpointParams {
			params[k] = v
		}
		for k, v := range extra {
			params[k] = v
		}
	}
	cfg := &clientcredentials.Config{ClientID: flow.ClientID, ClientSecret: flow.ClientSecret, Scopes: flow.Scopes,
		TokenURL: flow.TokenURL, EndpointParams: params, AuthStyle: flow.AuthStyle}
	return cfg.Token(ctx)
}

// tokenClient is hc without its retries of 429 and 5xx: a provider that
// rotates refresh tokens may have consumed the one sent even when it answered
// an error, and a second attempt with it could revoke the grant. The dialer,
// body cap and redirect policy are kept.
func tokenClient(hc *http.Client) *http.Client {
	rt, ok := hc.Transport.(*retryTransport)
	if !ok {
		return hc
	}
	opts := rt.opts
	opts.MaxRetries = -1
	once := *hc
	once.Transport = &retryTransport{next: rt.next, opts: opts}
	return &once
}

func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

// sameToken reports whether a and b hold the same access and refresh tokens.
func sameToken(a, b *oauth2.Token) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken
}

func (o *OAuth) clock() time.Time {
	if o.now != nil {
		return o.now()
	}
	return time.Now()
}

// usable reports whether t can be handed out without a token call: it has
// an access token that was not just rejected and does not expire within
// refreshAhead. A token without an expiry is not trusted.
func (o *OAuth) usable(t *oauth2.Token, rejected string) bool {
	return t != nil && t.AccessToken != "" && t.AccessToken != rejected &&
		!t.Expiry.IsZero() && o.clock().Before(t.Expiry.Add(-refreshAhead))
}

func (o *OAuth) put(key string, t *oauth2.Token, unsaved bool, prev *oauth2.Token) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tokens == nil {
		o.tokens = make(map[string]*cachedToken)
	}
	if len(o.tokens) >= maxCached {
		now := o.clock()
		for k, e := range o.tokens {
			if !e.unsaved && now.After(e.tok.Expiry) {
				delete(o.tokens, k)
			}
		}
	}
	o.tokens[key] = &cachedToken{tok: t, unsaved: unsaved, prev: prev}
}

func (o *OAuth) drop(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.tokens, key)
}

func entryToken(e *cachedToken) *oauth2.Token {
	if e == nil {
		return nil
	}
	return e.tok
}

// flightContext keeps ctx's values and deadline but not its cancellation;
// without a deadline it gets timeout (or flightTimeout).
func flightContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(base, dl)
	}
	if timeout <= 0 {
		timeout = flightTimeout
	}
	return context.WithTimeout(base, timeout)
}

// flowKey identifies one grant of one connection: every input that decides
// the token, secrets included (hashed), so connections that do not share all
// of them never share a token, plus the store's identity.
func flowKey(provider string, f OAuthFlow, store TokenStore) string {
	h := sha256.New()
	add := func(s string) {
		binary.Write(h, binary.BigEndian, uint64(len(s)))
		h.Write([]byte(s))
	}
	scopes := slices.Clone(f.Scopes)
	slices.Sort(scopes)
	add(provider)
	add(f.TokenURL)
	add(f.ClientID)
	add(f.ClientSecret)
	add(f.RefreshToken)
	add(fmt.Sprint(scopes))
	add(fmt.Sprint(int(f.AuthStyle)))
	if f.Identity != "" {
		add("identity:" + f.Identity)
	} else {
		add("params:" + f.EndpointParams.Encode())
	}
	add(storeIdentity(store))
	return hex.EncodeToString(h.Sum(nil))
}

func storeIdentity(s TokenStore) string {
	if s == nil {
		return ""
	}
	if k, ok := s.(TokenKeyer); ok {
		return "key:" + k.TokenKey()
	}
	v := reflect.ValueOf(s)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return fmt.Sprintf("ptr:%T:%x", s, v.Pointer())
	}
	return fmt.Sprintf("val:%T:%#v", s, s)
}

func copyToken(t *oauth2.Token) *oauth2.Token {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// TokenError classifies an error from a token endpoint. The message names the
// standard OAuth error code but never the response body.
func TokenError(provider string, err error) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "invalid_grant":
			return Wrap(CodeAuthFailed, err, "%s: the authorisation was revoked or has expired (invalid_grant); the connection must be re-authorised", provider)
		case "invalid_client", "unauthorized_client":
			return Wrap(CodeAuthFailed, err, "%s: the client id or secret was rejected by the token endpoint (%s)", provider, re.ErrorCode)
		case "invalid_scope":
			return Wrap(CodePermissionDenied, err, "%s: the requested scopes were refused by the token endpoint (invalid_scope)", provider)
		case "unsupported_grant_type":
			return Wrap(CodeInvalidConfig, err, "%s: the token endpoint does not support this grant (unsupported_grant_type); check the token URL and auth mode", provider)
		case "invalid_request":
			return Wrap(CodeProviderError, err, "%s: the token endpoint rejected the request (invalid_request)", provider)
		}
		if re.Response != nil {
			return StatusError(provider+" token endpoint", re.Response, "")
		}
	}
	return Classify(provider, err)
}

// tokenExtraKeys are the token-response fields EncodeToken keeps: the ones
// drivers read with Token.Extra. Add a key here when a driver needs one.
var tokenExtraKeys = []string{
	"instance_url", "id", "issued_at", "signature", // Salesforce
	"scope", "id_token", "resource", "account_id", "uid", "team_id",
	"api_domain", "restUrl", "BhRestToken",
}

// encodedToken is the persisted form of a token.
type encodedToken struct {
	AccessToken  string         `json:"access_token"`
	TokenType    string         `json:"token_type,omitempty"`
	RefreshToken string         `json:"refresh_token,omitempty"`
	Expiry       time.Time      `json:"expiry,omitzero"`
	Extra        map[string]any `json:"extra,omitempty"`
}

// tokenStampKey is the Extra key under which StampToken keeps a stamp.
const tokenStampKey = "junction_token_stamp"

// StampToken returns a copy of t carrying stamp: an opaque version of what a
// TokenStore loaded t from (a digest of the connection's settings and
// credentials), which its SaveToken reads back from prev with TokenStamp to
// compare-and-swap on it. The extras EncodeToken keeps are kept; the stamp
// itself is never encoded.
func StampToken(t *oauth2.Token, stamp string) *oauth2.Token {
	extra := map[string]any{tokenStampKey: stamp}
	for _, k := range tokenExtraKeys {
		if v := t.Extra(k); v != nil && v != "" {
			extra[k] = v
		}
	}
	return t.WithExtra(extra)
}

// TokenStamp returns the stamp StampToken put on t, or "".
func TokenStamp(t *oauth2.Token) string {
	if t == nil {
		return ""
	}
	s, _ := t.Extra(tokenStampKey).(string)
	return s
}

// EncodeToken serialises t for a TokenStore, keeping the token-response
// fields drivers read with Token.Extra (json.Marshal of an oauth2.Token
// drops them).
func EncodeToken(t *oauth2.Token) ([]byte, error) {
	e := encodedToken{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
	for _, k := range tokenExtraKeys {
		if v := t.Extra(k); v != nil && v != "" {
			if e.Extra == nil {
				e.Extra = map[string]any{}
			}
			e.Extra[k] = v
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode oauth token: %w", err)
	}
	return b, nil
}

// DecodeToken reverses EncodeToken.
func DecodeToken(b []byte) (*oauth2.Token, error) {
	var e encodedToken
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode oauth token: %w", err)
	}
	t := &oauth2.Token{AccessToken: e.AccessToken, TokenType: e.TokenType, RefreshToken: e.RefreshToken, Expiry: e.Expiry}
	if len(e.Extra) > 0 {
		t = t.WithExtra(e.Extra)
	}
	return t, nil
}
