package resolvers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// providerConfig builds the Config a driver opens with.
func (r *Resolver) providerConfig(settings map[string]any, secrets map[string]string, tokens providers.TokenStore) providers.Config {
	s := maps.Clone(secrets)
	delete(s, oauthTokenKey)
	return providers.Config{Settings: settings, Secrets: s, HTTPClient: r.HTTPClient, Dial: r.Dial,
		Tokens: tokens, OAuth: r.OAuth, Timeout: r.ProviderTimeout}
}

// dryRunMaxBody caps the response bodies a dry run reads: a check reads a
// small answer (an account, a profile, a status), so 1 MiB, not the
// client's 16 MiB, bounds what each of the concurrent dry runs holds (30 of
// them against a 1 GB answer held 423 MB). A verify of a stored connection
// keeps the client's cap: its Conn is cached and shared with files and
// schema calls, whose pages may be larger.
const dryRunMaxBody = 1 << 20

// dryRunConfig is providerConfig for a dry run: its HTTP client reads at most
// dryRunMaxBody of an answer.
func (r *Resolver) dryRunConfig(settings map[string]any, secrets map[string]string, tokens providers.TokenStore) providers.Config {
	cfg := r.providerConfig(settings, secrets, tokens)
	if cfg.HTTPClient != nil {
		cfg.HTTPClient = providers.WithMaxBody(cfg.HTTPClient, dryRunMaxBody)
	}
	return cfg
}

// opener returns an open Conn and a func to call when done with it.
type opener func(ctx context.Context) (providers.Conn, func(), error)

// fresh opens a Conn used once (dry runs).
func fresh(drv providers.Driver, cfg providers.Config) opener {
	return func(ctx context.Context) (providers.Conn, func(), error) {
		conn, err := drv.Open(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return conn, func() { conn.Close() }, nil
	}
}

// cached opens (or reuses) the Conn of a stored connection.
func (r *Resolver) cached(c *store.Connection, drv providers.Driver, cfg providers.Config) opener {
	return func(ctx context.Context) (providers.Conn, func(), error) {
		return r.connCache().get(ctx, c.ID, c.UpdatedAt, func(ctx context.Context) (providers.Conn, error) {
			return drv.Open(ctx, cfg)
		})
	}
}

// check opens a Conn and runs its Verifier under the provider timeout. Every
// message and detail is redacted against the secrets.
func (r *Resolver) check(ctx context.Context, drv providers.Driver, cfg providers.Config, open opener) (details map[string]any, perr *providers.Error) {
	start := time.Now()
	defer func() {
		outcome := "ok"
		if perr != nil {
			outcome = string(perr.Code)
		}
		r.Metrics.Check(drv.Name(), outcome, time.Since(start))
	}()
	if r.ProviderTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.ProviderTimeout)
		defer cancel()
	}
	conn, release, err := open(ctx)
	if err != nil {
		return nil, redactErr(providers.Classify(drv.Name(), err), cfg.Secrets)
	}
	defer release()
	v, ok := conn.(providers.Verifier)
	if !ok {
		return nil, providers.Errorf(providers.CodeUnsupported, "%s connections cannot be verified yet", drv.Name())
	}
	res, err := v.Verify(ctx, providers.VerifyRequest{})
	if err != nil {
		return nil, redactErr(providers.Classify(drv.Name(), err), cfg.Secrets)
	}
	details = map[string]any{}
	if res != nil && res.Details != nil {
		details = providers.RedactDetails(res.Details, cfg.Secrets)
	}
	return details, nil
}

// redactErr returns e with its message redacted and cut to a bounded
// excerpt (providers.RedactMessage): what is shown and stored of it.
func redactErr(e *providers.Error, secrets map[string]string) *providers.Error {
	c := *e
	c.Message = providers.RedactMessage(c.Message, secrets)
	return &c
}

// verificationCode is the verificationErrorCode of a failed check.
func verificationCode(e *providers.Error) string {
	if e.Code == providers.CodeUnsupported {
		return string(providers.CodeProviderError)
	}
	return string(e.Code)
}

func (r *Resolver) verifyConnection(ctx context.Context, id string) (*model.Connection, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.load(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if c.Status == string(model.ConnectionStatusDisabled) {
		return nil, errorf(CodeDisabled, "The connection is disabled; reactivate it first")
	}
	drv, ok := r.Providers.Get(c.Provider)
	if !ok {
		return nil, fmt.Errorf("connection %s has unknown provider %q", c.ID, c.Provider)
	}
	var details map[string]any
	var perr *providers.Error
	secrets, err := r.Store.OpenSecrets(c)
	unreadable := errors.Is(err, store.ErrUnreadable)
	switch {
	case unreadable:
		// Nothing is sent anywhere: the connection shows why it cannot
		// work until its secrets are entered again.
		r.Log.WarnContext(ctx, "connection credentials cannot be opened", "connection_id", c.ID, "provider", c.Provider, "err", err)
		perr = providers.Errorf(providers.CodeInvalidConfig, "%s", unreadableMsg)
	case err != nil:
		return nil, err
	default:
		pctx, cancel := r.providerDeadline(ctx)
		defer cancel()
		admitted, err := r.admit(pctx, c.TenantID)
		if err != nil {
			return nil, err
		}
		cfg := r.providerConfig(c.Config, secrets, &connTokens{store: r.Store, tenantID: c.TenantID, id: c.ID})
		details, perr = r.check(pctx, drv, cfg, r.cached(c, drv, cfg))
		admitted()
	}
	v := store.Verification{At: store.Now(), Status: string(model.ConnectionStatusActive), Details: details}
	if perr != nil {
		msg, code := perr.Message, verificationCode(perr)
		v = store.Verification{At: v.At, Status: string(model.ConnectionStatusError), Error: &msg, ErrorCode: &code}
	}
	recorded, err := r.recordVerification(ctx, c, secrets, unreadable, v)
	if err != nil {
		return nil, err
	}
	switch {
	case !recorded:
		r.Log.InfoContext(ctx, "connection verify not recorded: its settings or credentials changed during the check",
			"connection_id", c.ID, "provider", c.Provider, "status", v.Status)
	case perr != nil:
		r.Log.InfoContext(ctx, "connection verify failed", "connection_id", c.ID, "provider", c.Provider, "code", *v.ErrorCode)
	default:
		r.Log.InfoContext(ctx, "connection verified", "connection_id", c.ID, "provider", c.Provider)
	}
	return r.getFresh(ctx, who, c.ID)
}

// recordVerification stores v on the connection verified, which was
// loaded as c with secrets (or with credentials that did not open), only
// if the connection still has the settings and credentials that were
// checked; otherwise it leaves the status alone and reports false. "Still
// the same" is: updated_at unchanged (a user's edit sets it; an OAuth token
// write-back, which also bumps the row's version and may rotate the stored
// refresh token during the very check, does not), or a digest of the
// settings and the secrets other than the token unchanged (a rename, a
// visibility or default change set updated_at but check nothing else). The
// write is a compare-and-swap on the version read with that comparison, so
// an edit that lands in between is seen on the next try.
func (r *Resolver) recordVerification(ctx context.Context, c *store.Connection, secrets map[string]string, unreadable bool, v store.Verification) (bool, error) {
	want, err := checkedDigest(c, secrets, unreadable)
	if err != nil {
		return false, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := r.Store.GetConnection(ctx, c.TenantID, c.ID)
		if err != nil {
			return false, fromStore(err)
		}
		if cur.Status == string(model.ConnectionStatusDisabled) {
			return false, errorf(CodeDisabled, "The connection was disabled during the check")
		}
		if !cur.UpdatedAt.Equal(c.UpdatedAt) {
			curSecrets, err := r.Store.OpenSecrets(cur)
			curUnreadable := errors.Is(err, store.ErrUnreadable)
			if err != nil && !curUnreadable {
				return false, err
			}
			have, err := checkedDigest(cur, curSecrets, curUnreadable)
			if err != nil {
				return false, err
			}
			if have != want {
				return false, nil
			}
		}
		at := v.At
		cur.Status, cur.LastVerifiedAt = v.Status, &at
		cur.VerificationError, cur.VerificationErrorCode = v.Error, v.ErrorCode
		cur.VerificationDetails = store.JSONMap(v.Details)
		if cur.VerificationDetails == nil {
			cur.VerificationDetails = store.JSONMap{}
		}
		err = r.Store.UpdateConnection(ctx, cur, nil)
		if errors.Is(err, store.ErrVersionConflict) {
			if attempt < maxCASRetries {
				continue
			}
			return false, nil // it keeps changing: leave it alone
		}
		if err != nil {
			return false, fromStore(err)
		}
		return true, nil
	}
}

// checkedDigest is what a verification checked of c: its settings and its
// secrets other than the OAuth token, or, when they did not open, the
// sealed blob as stored. It stays in memory.
func checkedDigest(c *store.Connection, secrets map[string]string, unreadable bool) (string, error) {
	if unreadable {
		sum := sha256.Sum256(c.Credentials)
		return tokenStamp(c.Config, map[string]string{"_unreadable": c.KeyID + "/" + hex.EncodeToString(sum[:])})
	}
	return tokenStamp(c.Config, withoutToken(secrets))
}

// testPlan is a dry-run request that passed validation.
type testPlan struct {
	drv      providers.Driver
	settings map[string]any
	secrets  map[string]string
	stored   *store.Connection // with connectionId
}

// planTest validates a dry-run request. With connectionId the proposal is
// merged with the stored connection (which the caller must be allowed to
// edit), and moving a target field requires re-sending the secrets, exactly
// as for an update: a dry run must not be a way to send stored secrets
// elsewhere either.
func (r *Resolver) planTest(ctx context.Context, who auth.Identity, in model.TestConnectionInput) (*testPlan, error) {
	var errs []FieldError
	p := &testPlan{}
	cfgIn := orEmpty(in.Config.Value())
	if idp := in.ConnectionID.Value(); idp != nil {
		c, err := r.loadForEdit(ctx, who, *idp)
		if err != nil {
			return nil, err
		}
		if pv := in.Provider.Value(); pv != nil && string(*pv) != c.Provider {
			errs = append(errs, FieldError{Loc: []any{"provider"}, Msg: "Input should match the stored connection's provider '" + c.Provider + "'", Type: "value_error"})
		}
		drv, ok := r.Providers.Get(c.Provider)
		if !ok {
			return nil, fmt.Errorf("connection %s has unknown provider %q", c.ID, c.Provider)
		}
		stored, err := r.Store.OpenSecrets(c)
		if errors.Is(err, store.ErrUnreadable) {
			// Trying a connection whose credentials do not open takes all
			// of its secrets, as replacing them does.
			if ferrs := reenterAll(c, in.Credentials.Value()); len(ferrs) > 0 {
				return nil, invalid(append(errs, ferrs...)...)
			}
			stored, err = map[string]string{}, nil
		}
		if err != nil {
			return nil, err
		}
		if !in.Config.IsSet() {
			cfgIn = c.Config
		}
		merged, sent, serrs := mergeSecrets(stored, in.Credentials.Value())
		errs = append(errs, serrs...)
		settings, verrs := validateSpec(drv.Spec(), cfgIn, withoutToken(merged))
		errs = append(errs, verrs...)
		if len(verrs) == 0 {
			errs = append(errs, targetGuard(drv.Spec(), c.Config, settings, merged, sent)...)
			if len(serrs) == 0 && (in.Config.IsSet() || len(in.Credentials.Value()) > 0) {
				errs = append(errs, r.openCheck(ctx, drv, settings, withoutToken(merged))...)
			}
		}
		p.drv, p.settings, p.secrets, p.stored = drv, settings, merged, c
	} else {
		if pv := in.Provider.Value(); pv == nil {
			errs = append(errs, FieldError{Loc: []any{"provider"}, Msg: "Field required", Type: "missing"})
		} else if d, ok := r.Providers.Get(string(*pv)); ok {
			p.drv = d
		} else {
			errs = append(errs, enumError([]any{"provider"}, r.Providers.Names()))
		}
		var serrs []FieldError
		p.secrets, serrs = stringMap([]any{"credentials"}, in.Credentials.Value())
		errs = append(errs, serrs...)
		if p.drv != nil {
			var verrs []FieldError
			p.settings, verrs = validateSpec(p.drv.Spec(), cfgIn, p.secrets)
			errs = append(errs, verrs...)
			if len(verrs) == 0 && len(serrs) == 0 {
				errs = append(errs, r.openCheck(ctx, p.drv, p.settings, p.secrets)...)
			}
		}
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	return p, nil
}

func (r *Resolver) testConnection(ctx context.Context, in model.TestConnectionInput) (*model.TestResult, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := r.planTest(ctx, who, in)
	if err != nil {
		return nil, err
	}
	if p.stored != nil && p.stored.Status == string(model.ConnectionStatusDisabled) {
		return nil, errorf(CodeDisabled, "The connection is disabled; reactivate it first")
	}
	// A dry run saves nothing of the proposal. Trying a stored connection
	// unchanged still goes through its token store, though: providers that
	// rotate refresh tokens retire the stored one on refresh, so dropping the
	// new token would break the connection that was only being tried.
	var tokens providers.TokenStore
	if p.stored != nil && len(in.Credentials.Value()) == 0 && !in.Config.IsSet() {
		tokens = &connTokens{store: r.Store, tenantID: p.stored.TenantID, id: p.stored.ID}
	}
	ctx, cancel := r.providerDeadline(ctx)
	defer cancel()
	admitted, err := r.admit(ctx, who.TenantID)
	if err != nil {
		return nil, err
	}
	defer admitted()
	cfg := r.dryRunConfig(p.settings, p.secrets, tokens)
	details, perr := r.check(ctx, p.drv, cfg, fresh(p.drv, cfg))
	if perr != nil {
		code, msg := verificationCode(perr), perr.Message
		return &model.TestResult{Ok: false, ErrorCode: &code, Error: &msg, Details: map[string]any{}}, nil
	}
	return &model.TestResult{Ok: true, Details: details}, nil
}

// connTokens is a providers.TokenStore over one connection's sealed
// credentials: the token lives under a reserved key, and a rotated refresh
// token replaces the stored one. A loaded token carries a digest of the
// connection's settings and credentials (providers.StampToken), and a write
// is a compare-and-swap on it: a user's edit since the load (which also drops
// the stored token) makes the write-back fail with ErrTokenConflict, so the
// edit always wins; a write that changed neither (a recorded verification)
// does not.
type connTokens struct {
	store    *store.Store
	tenantID string
	id       string
}

var (
	_ providers.TokenStore  = (*connTokens)(nil)
	_ providers.TokenKeyer  = (*connTokens)(nil)
	_ providers.TokenLocker = (*connTokens)(nil)
)

// Token refresh lease: the longest one holder may refresh (the deadline of
// LockToken's context, a little before the provider call's, usually ends it
// sooner), and how often a waiting process looks whether the lease is free.
const (
	tokenLeaseTTL  = 30 * time.Second
	tokenLeasePoll = 25 * time.Millisecond
)

// LockToken takes the connection's refresh lease in the database, so that
// processes sharing it make one token call; it waits while another holds it.
// The lease ends at ctx's deadline: a process that dies holding it blocks
// the others no longer than the call it was making.
func (t *connTokens) LockToken(ctx context.Context) (func(), error) {
	holder := store.NewID()
	tick := time.NewTicker(tokenLeasePoll)
	defer tick.Stop()
	for {
		ttl := tokenLeaseTTL
		if dl, ok := ctx.Deadline(); ok {
			ttl = min(ttl, time.Until(dl))
		}
		if ttl <= 0 {
			return nil, context.DeadlineExceeded
		}
		ok, err := t.store.AcquireTokenLease(ctx, t.tenantID, t.id, holder, ttl)
		if err != nil {
			return nil, err
		}
		if ok {
			return func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				t.store.ReleaseTokenLease(ctx, t.tenantID, t.id, holder)
			}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// TokenKey names the connection, so every request for it shares one cache
// entry and one token call.
func (t *connTokens) TokenKey() string { return t.tenantID + "/" + t.id }

// LoadToken returns the stored token or, when none was stored since the
// connection's refresh token was set, a token holding only that refresh
// token; either stamped for SaveToken.
func (t *connTokens) LoadToken(ctx context.Context) (*oauth2.Token, error) {
	_, _, tok, err := t.load(ctx)
	return tok, err
}

// SaveToken stores next if the connection's settings and credentials are
// still those prev was loaded from.
func (t *connTokens) SaveToken(ctx context.Context, prev, next *oauth2.Token) error {
	want := providers.TokenStamp(prev)
	b, err := providers.EncodeToken(next)
	if err != nil {
		return err
	}
	// A version conflict that left settings and credentials alone (a
	// verification recorded meanwhile) is not a lost race: try again.
	for range 5 {
		c, secrets, cur, err := t.load(ctx)
		if err != nil {
			return err
		}
		if want == "" || providers.TokenStamp(cur) != want {
			return providers.ErrTokenConflict
		}
		secrets[oauthTokenKey] = string(b)
		if next.RefreshToken != "" && secrets["refresh_token"] != "" {
			secrets["refresh_token"] = next.RefreshToken
		}
		if err = t.store.UpdateConnection(ctx, c, secrets); !errors.Is(err, store.ErrVersionConflict) {
			return err
		}
	}
	return providers.ErrTokenConflict
}

// load reads the connection, its secrets and the token LoadToken returns.
func (t *connTokens) load(ctx context.Context) (*store.Connection, map[string]string, *oauth2.Token, error) {
	c, err := t.store.GetConnection(ctx, t.tenantID, t.id)
	if err != nil {
		return nil, nil, nil, err
	}
	secrets, err := t.store.OpenSecrets(c)
	if err != nil {
		return nil, nil, nil, err
	}
	tok := decodeToken(secrets[oauthTokenKey])
	if tok == nil {
		tok = &oauth2.Token{RefreshToken: secrets["refresh_token"]}
	}
	stamp, err := tokenStamp(c.Config, secrets)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, secrets, providers.StampToken(tok, stamp), nil
}

// tokenStamp is a digest of everything a token is obtained from: the
// connection's settings and all its secrets, the stored token included. It
// stays in memory.
func tokenStamp(config map[string]any, secrets map[string]string) (string, error) {
	b, err := json.Marshal([]any{config, secrets})
	if err != nil {
		return "", fmt.Errorf("token stamp: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func decodeToken(s string) *oauth2.Token {
	if s == "" {
		return nil
	}
	tok, err := providers.DecodeToken([]byte(s))
	if err != nil {
		return nil
	}
	return tok
}
