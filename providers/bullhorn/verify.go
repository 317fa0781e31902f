package bullhorn

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/junctionhq/junction/providers"
)

const name = "bullhorn"

var _ providers.Verifier = (*conn)(nil)

// Verify walks Bullhorn's login chain and pings the REST session:
//
//  1. GET {login_info_url}?username=... for the data centre's oauthUrl and
//     restUrl (skipped when both are configured);
//  2. an access token: the refresh-token grant when refresh_token is set
//     (through the shared machinery, which writes the rotated, single-use
//     refresh token back), else the programmatic authorization-code login
//     (GET {oauthUrl}/authorize with the API user's password, the redirect
//     not followed, then POST {oauthUrl}/token), whose refresh token is saved;
//  3. GET {restUrl}/login?version=*&access_token=... for a BhRestToken and
//     the corporation's restUrl;
//  4. GET {restUrl}ping with the BhRestToken header.
//
// Passwords, codes and tokens travel in query strings here, so no URL is ever
// put in an error: transport errors have their URL stripped of its query.
func (c *conn) Verify(ctx context.Context, _ providers.VerifyRequest) (*providers.VerifyResult, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	k := &call{c: c, secrets: map[string]string{}}
	maps.Copy(k.secrets, c.cfg.Secrets)
	oauthURL, restURL, err := k.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	mode, login := "password", k.api("REST login", restURL)
	if rt := c.cfg.Secret("refresh_token"); rt != "" {
		mode = "refresh_token"
		login.Auth = k.refreshedToken(providers.OAuthFlow{
			TokenURL:     oauthURL + "/token",
			ClientID:     c.cfg.String("client_id"),
			ClientSecret: c.cfg.Secret("client_secret"),
			RefreshToken: rt,
			AuthStyle:    oauth2.AuthStyleInParams,
		})
		// The access token is cached by the shared machinery; one that the
		// REST login refuses (auth_failed) is replaced once.
		login.Reauth = func(a providers.Answer) bool { return login.Error(a).Code == providers.CodeAuthFailed }
	} else {
		tok, err := k.passwordLogin(ctx, oauthURL)
		if err != nil {
			return nil, err
		}
		k.add(tok.AccessToken, tok.RefreshToken)
		login.Auth = func(_ context.Context, r *http.Request, _ string) (string, error) {
			sendAccessToken(r, tok)
			return tok.AccessToken, nil
		}
	}
	sess, err := k.restLogin(ctx, &login)
	if err != nil {
		return nil, err
	}
	k.add(sess.BhRestToken)
	api := k.api("ping", strings.TrimSuffix(sess.RestURL, "/"))
	api.Auth = providers.HeaderAuth("BhRestToken", sess.BhRestToken)
	var ping struct {
		SessionExpires int64 `json:"sessionExpires"`
	}
	if err := k.getJSON(ctx, &api, "ping", providers.Call{Path: "/ping"}, &ping); err != nil {
		return nil, err
	}
	details := map[string]any{"auth_mode": mode, "rest_url": sess.RestURL}
	if u, err := url.Parse(sess.RestURL); err == nil {
		details["rest_host"] = u.Host
	}
	if ping.SessionExpires > 0 {
		details["session_expires"] = time.UnixMilli(ping.SessionExpires).UTC().Format(time.RFC3339)
	}
	return &providers.VerifyResult{Details: details}, nil
}

// call is one Verify: the credentials it obtains along the way are redacted
// from every message, like the connection's secrets.
type call struct {
	c *conn
	// secrets are the connection's secrets and every credential obtained so
	// far; each step's API redacts them all.
	secrets map[string]string
}

// add counts run-time credentials among the call's secrets.
func (k *call) add(values ...string) {
	for _, v := range values {
		if v != "" {
			k.secrets["\x00run-time "+strconv.Itoa(len(k.secrets))] = v
		}
	}
}

// api returns the request path of one step of the login chain, based at
// base: it redacts the call's secrets and names the step in its errors.
func (k *call) api(step, base string) providers.API {
	cfg := k.c.cfg
	cfg.Secrets = k.secrets
	return providers.API{
		Provider: name, Config: cfg, BaseURL: base,
		Header: http.Header{"Accept": {"application/json"}},
		Error:  stepError(step),
	}
}

// getJSON sends one call of a step and decodes the answer into out.
// Passwords, codes and tokens travel in query strings here, so no URL is
// ever put in an error: transport errors have their URL stripped of its query.
func (k *call) getJSON(ctx context.Context, api *providers.API, step string, c providers.Call, out any) error {
	resp, err := api.Do(ctx, c)
	if err != nil {
		return hideQuery(err)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return providers.Wrap(providers.CodeProviderError, err, "bullhorn: the %s answer was not the expected JSON", step)
	}
	return nil
}

// hideQuery strips the query (which may hold a password, code or token) from
// the URL inside a transport error.
func hideQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = stripQuery(ue.URL)
	}
	return err
}

func stripQuery(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// stepError classifies a non-2xx answer of step; the detail is Bullhorn's
// errorMessage (or the OAuth error), redacted.
func stepError(step string) func(providers.Answer) *providers.Error {
	return func(a providers.Answer) *providers.Error {
		var eb struct {
			ErrorMessage     string `json:"errorMessage"`
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		_ = json.Unmarshal(a.Body, &eb)
		oauthErr := strings.TrimSuffix(eb.Error+": "+eb.ErrorDescription, ": ")
		switch eb.Error {
		case "invalid_grant", "invalid_client", "unauthorized_client":
			return providers.Errorf(providers.CodeAuthFailed, "bullhorn: the %s refused the credentials (%s); check client_id and client_secret, or log in again",
				step, a.Redact(oauthErr))
		}
		detail := eb.ErrorMessage
		if detail == "" {
			detail = oauthErr
		}
		return providers.StatusError(name+" "+step, a.Response, a.Redact(detail))
	}
}

// endpoints returns the OAuth and REST login base URLs: the configured ones,
// else those loginInfo names for the API user's data centre.
func (k *call) endpoints(ctx context.Context) (oauthURL, restURL string, err error) {
	if k.c.oauthURL != "" && k.c.restURL != "" {
		return k.c.oauthURL, k.c.restURL, nil
	}
	var info struct {
		OAuthURL string `json:"oauthUrl"`
		RestURL  string `json:"restUrl"`
	}
	api := k.api("loginInfo", k.c.loginInfoURL)
	if err := k.getJSON(ctx, &api, "loginInfo", providers.Call{Query: url.Values{"username": {k.c.cfg.String("api_username")}}}, &info); err != nil {
		var pe *providers.Error
		if errors.As(err, &pe) && (pe.Code == providers.CodeNotFound || pe.Code == providers.CodeProviderError) {
			pe.Message += "; check api_username and login_info_url"
		}
		return "", "", err
	}
	oauthURL, restURL = k.c.oauthURL, k.c.restURL
	if oauthURL == "" {
		oauthURL = info.OAuthURL
	}
	if restURL == "" {
		restURL = info.RestURL
	}
	for _, v := range []*string{&oauthURL, &restURL} {
		u, err := url.Parse(*v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", "", providers.Errorf(providers.CodeProviderError, "bullhorn: loginInfo did not name usable oauthUrl and restUrl; set oauth_url and rest_url")
		}
		*v = strings.TrimSuffix(u.String(), "/")
	}
	return oauthURL, restURL, nil
}

// authorizeError classifies the authorize step's answers other than a page
// (2xx) or a redirect (3xx).
func authorizeError(a providers.Answer) *providers.Error {
	e := providers.StatusError(name+" authorize", a.Response, "")
	if a.StatusCode == http.StatusBadRequest {
		e.Message += "; check client_id and redirect_uri"
	}
	return e
}

// passwordLogin is Bullhorn's programmatic authorization-code flow. The
// authorize step answers a redirect whose Location carries the code; it is
// read, never followed. A 200 is the login form again: the password (or the
// user's acceptance of the terms of use) is wrong.
func (k *call) passwordLogin(ctx context.Context, oauthURL string) (*oauth2.Token, error) {
	c := k.c
	q := url.Values{
		"client_id":     {c.cfg.String("client_id")},
		"response_type": {"code"},
		"action":        {"Login"},
		"username":      {c.cfg.String("api_username")},
		"password":      {c.cfg.Secret("api_password")},
	}
	if r := c.cfg.String("redirect_uri"); r != "" {
		q.Set("redirect_uri", r)
	}
	authorize := k.api("authorize", oauthURL)
	authorize.Error, authorize.MaxBody = authorizeError, 1<<20
	authorize.Header = nil // a browser's page: no Accept: application/json
	resp, err := authorize.Do(ctx, providers.Call{Path: "/authorize", Query: q, NoRedirect: true,
		Success: func(status int) bool { return status >= 200 && status < 400 }})
	switch {
	case err != nil:
		return nil, hideQuery(err)
	case resp.StatusCode < 300:
		return nil, providers.Errorf(providers.CodeAuthFailed, "bullhorn: the API user's login was refused (the authorize page showed its login form instead of issuing a code); check api_username and api_password, and that the user has accepted Bullhorn's terms of use")
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, providers.Errorf(providers.CodeProviderError, "bullhorn: the authorize step redirected to an unreadable location")
	}
	if e := loc.Query().Get("error"); e != "" {
		return nil, providers.Errorf(providers.CodeAuthFailed, "bullhorn: the authorize step refused the login (%s); check client_id, api_username and redirect_uri",
			providers.Redact(strings.TrimSpace(e+": "+loc.Query().Get("error_description")), k.secrets))
	}
	code := loc.Query().Get("code")
	if code == "" {
		return nil, providers.Errorf(providers.CodeProviderError, "bullhorn: the authorize step redirected without an authorization code")
	}
	k.add(code)
	tq := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"client_id":     {c.cfg.String("client_id")},
		"client_secret": {c.cfg.Secret("client_secret")},
	}
	if r := c.cfg.String("redirect_uri"); r != "" {
		tq.Set("redirect_uri", r)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
	}
	api := k.api("token endpoint", oauthURL)
	if err := k.getJSON(ctx, &api, "token endpoint", providers.Call{Method: http.MethodPost, Path: "/token", Query: tq}, &tr); err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, providers.Errorf(providers.CodeProviderError, "bullhorn: the token endpoint answered without an access token")
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, TokenType: tr.TokenType}
	if tr.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	k.saveToken(ctx, tok)
	return tok, nil
}

// saveToken persists a token from the authorization-code login: Bullhorn
// refresh tokens are single-use, so the newest one is the only one worth
// keeping. A lost compare-and-swap is retried once; failing to save does not
// fail the verification, which needs only the access token.
func (k *call) saveToken(ctx context.Context, tok *oauth2.Token) {
	store := k.c.cfg.Tokens
	if store == nil || tok.RefreshToken == "" {
		return
	}
	for range 2 {
		prev, err := store.LoadToken(ctx)
		if err != nil {
			return
		}
		if err := store.SaveToken(ctx, prev, tok); !errors.Is(err, providers.ErrTokenConflict) {
			return
		}
	}
}

// session is a REST login answer.
type session struct {
	BhRestToken string `json:"BhRestToken"`
	RestURL     string `json:"restUrl"`
}

// restLogin exchanges an access token for a REST session: login sends GET
// {restUrl}/login?version=*, its AuthFunc adding the access token.
func (k *call) restLogin(ctx context.Context, login *providers.API) (*session, error) {
	var s session
	if err := k.getJSON(ctx, login, "REST login", providers.Call{Path: "/login?version=*"}, &s); err != nil {
		return nil, err
	}
	r, err := url.Parse(s.RestURL)
	if s.BhRestToken == "" || err != nil || (r.Scheme != "https" && r.Scheme != "http") || r.Host == "" {
		return nil, providers.Errorf(providers.CodeProviderError, "bullhorn: the REST login answered without a BhRestToken and restUrl")
	}
	if !strings.HasSuffix(s.RestURL, "/") {
		s.RestURL += "/"
	}
	return &s, nil
}

// sendAccessToken adds the access token to the REST login's query, where
// Bullhorn takes it.
var sendAccessToken = providers.TokenQuery("access_token")

// refreshedToken is the REST login's AuthFunc with the refresh-token grant:
// an access token of flow (through the shared machinery, which writes the
// rotated, single-use refresh token back), a new one when the previous was
// refused.
func (k *call) refreshedToken(flow providers.OAuthFlow) providers.AuthFunc {
	return providers.TokenAuth(k.c.cfg, name, flow, func(r *http.Request, tok *oauth2.Token) {
		k.add(tok.AccessToken, tok.RefreshToken)
		sendAccessToken(r, tok)
	})
}
