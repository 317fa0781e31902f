package bullhorn

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
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
	k := &call{c: c}
	oauthURL, restURL, err := k.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	mode := "password"
	var sess *session
	if rt := c.cfg.Secret("refresh_token"); rt != "" {
		mode = "refresh_token"
		flow := providers.OAuthFlow{
			TokenURL:     oauthURL + "/token",
			ClientID:     c.cfg.String("client_id"),
			ClientSecret: c.cfg.Secret("client_secret"),
			RefreshToken: rt,
			AuthStyle:    oauth2.AuthStyleInParams,
		}
		// The access token is cached by the shared machinery; one that the
		// REST login refuses is replaced once.
		for attempt := 0; attempt < 2; attempt++ {
			tok, err := c.cfg.Token(ctx, name, flow)
			if err != nil {
				return nil, err
			}
			k.secrets = append(k.secrets, tok.AccessToken, tok.RefreshToken)
			sess, err = k.restLogin(ctx, restURL, tok.AccessToken)
			var pe *providers.Error
			if attempt == 0 && errors.As(err, &pe) && pe.Code == providers.CodeAuthFailed {
				flow.Rejected = tok.AccessToken
				continue
			}
			if err != nil {
				return nil, err
			}
			break
		}
	} else {
		tok, err := k.passwordLogin(ctx, oauthURL)
		if err != nil {
			return nil, err
		}
		k.secrets = append(k.secrets, tok.AccessToken, tok.RefreshToken)
		if sess, err = k.restLogin(ctx, restURL, tok.AccessToken); err != nil {
			return nil, err
		}
	}
	k.secrets = append(k.secrets, sess.BhRestToken)
	var ping struct {
		SessionExpires int64 `json:"sessionExpires"`
	}
	if err := k.getJSON(ctx, http.MethodGet, sess.RestURL+"ping", "ping", map[string]string{"BhRestToken": sess.BhRestToken}, &ping); err != nil {
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

// call is one Verify: the credentials it obtained along the way are redacted
// from every message it builds, like the connection's secrets.
type call struct {
	c       *conn
	secrets []string
}

// redact removes the connection's secrets and the call's credentials, in
// every encoded form, from s.
func (k *call) redact(s string) string {
	return providers.RedactWith(s, k.c.cfg.Secrets, k.secrets...)
}

// transportError classifies a failed round trip after stripping the query
// (which may hold a password, code or token) from the URL inside the error.
func transportError(err error) *providers.Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = stripQuery(ue.URL)
	}
	return providers.Classify(name, err)
}

func stripQuery(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
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
	u := k.c.loginInfoURL + "?" + url.Values{"username": {k.c.cfg.String("api_username")}}.Encode()
	if err := k.getJSON(ctx, http.MethodGet, u, "loginInfo", nil, &info); err != nil {
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, oauthURL+"/authorize?"+q.Encode(), nil)
	if err != nil {
		return nil, providers.Errorf(providers.CodeInvalidConfig, "bullhorn: the OAuth URL is not usable")
	}
	noRedirect := *c.cfg.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	var code string
	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, providers.Errorf(providers.CodeProviderError, "bullhorn: the authorize step redirected to an unreadable location")
		}
		if e := loc.Query().Get("error"); e != "" {
			return nil, providers.Errorf(providers.CodeAuthFailed, "bullhorn: the authorize step refused the login (%s); check client_id, api_username and redirect_uri",
				k.redact(strings.TrimSpace(e+": "+loc.Query().Get("error_description"))))
		}
		if code = loc.Query().Get("code"); code == "" {
			return nil, providers.Errorf(providers.CodeProviderError, "bullhorn: the authorize step redirected without an authorization code")
		}
	case s == http.StatusOK:
		return nil, providers.Errorf(providers.CodeAuthFailed, "bullhorn: the API user's login was refused (the authorize page showed its login form instead of issuing a code); check api_username and api_password, and that the user has accepted Bullhorn's terms of use")
	default:
		e := providers.StatusError(name+" authorize", resp, "")
		if s == http.StatusBadRequest {
			e.Message += "; check client_id and redirect_uri"
		}
		return nil, e
	}
	k.secrets = append(k.secrets, code)
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
	if err := k.getJSON(ctx, http.MethodPost, oauthURL+"/token?"+tq.Encode(), "token endpoint", nil, &tr); err != nil {
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

type session struct {
	BhRestToken string `json:"BhRestToken"`
	RestURL     string `json:"restUrl"`
}

// restLogin exchanges the access token for a REST session.
func (k *call) restLogin(ctx context.Context, restURL, accessToken string) (*session, error) {
	var s session
	u := restURL + "/login?version=*&access_token=" + url.QueryEscape(accessToken)
	if err := k.getJSON(ctx, http.MethodGet, u, "REST login", nil, &s); err != nil {
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

// getJSON sends one request and decodes a 200 answer into out; anything else
// becomes a classified error whose detail is Bullhorn's errorMessage (or the
// OAuth error), redacted.
func (k *call) getJSON(ctx context.Context, method, u, step string, header map[string]string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return providers.Errorf(providers.CodeInvalidConfig, "bullhorn: the %s URL is not usable", step)
	}
	req.Header.Set("Accept", "application/json")
	for h, v := range header {
		req.Header.Set(h, v)
	}
	resp, err := k.c.cfg.Client().Do(req)
	if err != nil {
		return transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return transportError(err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			return providers.Wrap(providers.CodeProviderError, err, "bullhorn: the %s answer was not the expected JSON", step)
		}
		return nil
	}
	var eb struct {
		ErrorMessage     string `json:"errorMessage"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &eb)
	switch eb.Error {
	case "invalid_grant", "invalid_client", "unauthorized_client":
		return providers.Errorf(providers.CodeAuthFailed, "bullhorn: the %s refused the credentials (%s); check client_id and client_secret, or log in again",
			step, k.redact(strings.TrimSuffix(eb.Error+": "+eb.ErrorDescription, ": ")))
	}
	detail := eb.ErrorMessage
	if detail == "" {
		detail = strings.TrimSuffix(eb.Error+": "+eb.ErrorDescription, ": ")
	}
	e := providers.StatusError(name, resp, k.redact(detail))
	e.Message = strings.Replace(e.Message, name+": ", name+" "+step+": ", 1)
	return e
}
