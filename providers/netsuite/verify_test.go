package netsuite

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	account        = "1234567_SB1"
	consumerKey    = "ck-7f3a"
	consumerSecret = "cs-secret-91b2"
	tokenID        = "tk-id-55c1"
	tokenSecret    = "ts-secret-0d4e"
	m2mClientID    = "m2m-client-0a1b"
	certificateID  = "cert-kid-77"
)

func tbaSecrets() map[string]string {
	return map[string]string{"consumer_key": consumerKey, "consumer_secret": consumerSecret, "token_id": tokenID, "token_secret": tokenSecret}
}

// TestSignatureRFC5849 checks the signer against the published example of
// RFC 5849 section 1.2 (HMAC-SHA1, no oauth_version).
func TestSignatureRFC5849(t *testing.T) {
	u, _ := url.Parse("http://photos.example.net/photos?file=vacation.jpg&size=original")
	params := url.Values{
		"oauth_consumer_key": {"dpf43f3p2l4k3l03"}, "oauth_token": {"nnch734d00sl2jdk"},
		"oauth_signature_method": {"HMAC-SHA1"}, "oauth_timestamp": {"137131202"}, "oauth_nonce": {"chapoH"},
	}
	if got, want := signature(sha1.New, "GET", u, params, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00"), "MdpQcU8iPSUjWoN/UDMsK2sui9I="; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

// TestBaseStringRFC5849 checks encoding and sorting against the base string
// printed in RFC 5849 section 3.4.1.1 (the body parameters c2 and a3 are
// passed alongside the protocol parameters).
func TestBaseStringRFC5849(t *testing.T) {
	u, _ := url.Parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b")
	params := url.Values{
		"oauth_consumer_key": {"9djdj82h48djs9d2"}, "oauth_token": {"kkk9d7dh3k39sjv7"},
		"oauth_signature_method": {"HMAC-SHA1"}, "oauth_timestamp": {"137131201"}, "oauth_nonce": {"7d8f3e4a"},
		"oauth_signature": {"ignored"}, "realm": {"Example"}, "c2": {""}, "a3": {"2 q"},
	}
	want := "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
	if got := baseString("post", u, params); got != want {
		t.Errorf("base string\n got %s\nwant %s", got, want)
	}
}

// TestTBAHeaderKnownVector fixes the nonce and clock and checks the whole
// header; the expected signature was computed outside Go (Python hmac over
// the base string written out below).
func TestTBAHeaderKnownVector(t *testing.T) {
	c := open(t, map[string]any{"account_id": account}, tbaSecrets())
	c.now = func() time.Time { return time.Unix(1700000000, 0) }
	c.nonce = func() string { return "fixednonce123" }
	u, _ := url.Parse(c.baseURL + "/services/rest/query/v1/suiteql?limit=1")
	if c.baseURL != "https://1234567-sb1.suitetalk.api.netsuite.com" {
		t.Fatalf("base URL = %s", c.baseURL)
	}
	wantBase := "POST&https%3A%2F%2F1234567-sb1.suitetalk.api.netsuite.com%2Fservices%2Frest%2Fquery%2Fv1%2Fsuiteql&limit%3D1%26oauth_consumer_key%3Dck-7f3a%26oauth_nonce%3Dfixednonce123%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26oauth_token%3Dtk-id-55c1%26oauth_version%3D1.0"
	oauth := url.Values{"oauth_consumer_key": {consumerKey}, "oauth_token": {tokenID}, "oauth_signature_method": {"HMAC-SHA256"},
		"oauth_timestamp": {"1700000000"}, "oauth_nonce": {"fixednonce123"}, "oauth_version": {"1.0"}}
	if got := baseString("POST", u, oauth); got != wantBase {
		t.Fatalf("base string\n got %s\nwant %s", got, wantBase)
	}
	want := `OAuth realm="1234567_SB1", oauth_consumer_key="ck-7f3a", oauth_nonce="fixednonce123", oauth_signature="5r%2FmuQEZMWPcYCFxSPtdbIc16v45J7POP%2FJE%2B5dKC80%3D", oauth_signature_method="HMAC-SHA256", oauth_timestamp="1700000000", oauth_token="tk-id-55c1", oauth_version="1.0"`
	if got := c.tbaHeader("POST", u); got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
}

// fake is a NetSuite REST server. It checks the SuiteQL request and its
// authentication (recomputing the TBA signature with its own encoder and
// refusing a reused nonce, as NetSuite does) and answers 401 otherwise.
type fake struct {
	t   *testing.T
	srv *httptest.Server
	mux *http.ServeMux

	mu     sync.Mutex
	nonces map[string]bool
	issued map[string]bool
	m2mKey any // public key the token endpoint verifies assertions with

	tokenCalls atomic.Int32
	queryCalls atomic.Int32
	query      func(w http.ResponseWriter, n int32) // answers the n-th checked query
	// sql, when set, answers every checked SuiteQL request (any statement,
	// limit and offset) instead of the verify query.
	sql func(w http.ResponseWriter, r *http.Request, q string)
}

func newFake(t *testing.T) *fake {
	mux := http.NewServeMux()
	f := &fake{t: t, nonces: map[string]bool{}, issued: map[string]bool{}, mux: mux}
	mux.HandleFunc("/services/rest/query/v1/suiteql", f.suiteql)
	mux.HandleFunc("/services/rest/auth/oauth2/v1/token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func nsError(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=error")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "https://www.rfc-editor.org/rfc/rfc9110.html", "title": http.StatusText(status), "status": status,
		"o:errorDetails": []map[string]string{{"detail": detail, "o:errorCode": code}},
	})
}

func (f *fake) suiteql(w http.ResponseWriter, r *http.Request) {
	n := f.queryCalls.Add(1)
	body, _ := io.ReadAll(r.Body)
	var q map[string]string
	if r.Method != http.MethodPost || r.Header.Get("Prefer") != "transient" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("Accept") != "application/json" ||
		json.Unmarshal(body, &q) != nil || len(q) != 1 {
		nsError(w, 400, "INVALID_PARAMETER", "unexpected request")
		return
	}
	if !f.authorized(w, r) {
		return
	}
	if f.sql != nil {
		f.sql(w, r, q["q"])
		return
	}
	if r.URL.RawQuery != "limit=1" || q["q"] != "SELECT id FROM currency" {
		nsError(w, 400, "INVALID_PARAMETER", "unexpected request")
		return
	}
	if f.query != nil {
		f.query(w, n)
		return
	}
	queryOK(w)
}

func queryOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=collection")
	fmt.Fprint(w, `{"links":[],"count":1,"hasMore":true,"items":[{"links":[],"id":"1"}],"offset":0,"totalResults":4}`)
}

// authorized checks r's authentication, answering 401 as NetSuite does
// when it fails.
func (f *fake) authorized(w http.ResponseWriter, r *http.Request) bool {
	if err := f.checkAuth(r); err != nil {
		f.t.Logf("auth refused: %v", err)
		nsError(w, 401, "INVALID_LOGIN", "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.")
		return false
	}
	return true
}

func (f *fake) checkAuth(r *http.Request) error {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.issued[tok] {
			return errors.New("unknown bearer token")
		}
		return nil
	}
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return errors.New("no OAuth header")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		uq, err := strconv.Unquote(v)
		if err != nil {
			return fmt.Errorf("field %s not quoted", k)
		}
		if fields[k], err = url.PathUnescape(uq); err != nil {
			return err
		}
	}
	for k, want := range map[string]string{"realm": "1234567_SB1", "oauth_consumer_key": consumerKey, "oauth_token": tokenID,
		"oauth_signature_method": "HMAC-SHA256", "oauth_version": "1.0"} {
		if fields[k] != want {
			return fmt.Errorf("%s = %q, want %q", k, fields[k], want)
		}
	}
	ts, err := strconv.ParseInt(fields["oauth_timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return errors.New("timestamp missing or skewed")
	}
	// An independent RFC 5849 signer: url.QueryEscape with %20 for spaces.
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var pairs []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			pairs = append(pairs, esc(k)+"="+esc(v))
		}
	}
	for k, v := range fields {
		if k != "realm" && k != "oauth_signature" {
			pairs = append(pairs, esc(k)+"="+esc(v))
		}
	}
	sort.Strings(pairs)
	base := r.Method + "&" + esc("http://"+r.Host+r.URL.Path) + "&" + esc(strings.Join(pairs, "&"))
	mac := hmac.New(sha256.New, []byte(esc(consumerSecret)+"&"+esc(tokenSecret)))
	mac.Write([]byte(base))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); fields["oauth_signature"] != want {
		return fmt.Errorf("signature %s, want %s", fields["oauth_signature"], want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nonces[fields["oauth_nonce"]] {
		return errors.New("nonce reused")
	}
	f.nonces[fields["oauth_nonce"]] = true
	return nil
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	n := f.tokenCalls.Add(1)
	oauthErr := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":%q}`, code)
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil || len(r.URL.Query()) > 0 ||
		r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
		len(r.PostForm) != 3 {
		oauthErr("invalid_request")
		return
	}
	aud := f.srv.URL + "/services/rest/auth/oauth2/v1/token"
	var claims jwt.MapClaims
	tok, err := jwt.ParseWithClaims(r.PostForm.Get("client_assertion"), &claims,
		func(*jwt.Token) (any, error) { return f.m2mKey, nil },
		jwt.WithValidMethods([]string{"PS256", "ES256"}), jwt.WithIssuer(m2mClientID), jwt.WithAudience(aud),
		jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err != nil || tok.Header["kid"] != certificateID || claims["scope"] != "rest_webservices" {
		f.t.Logf("assertion refused: %v", err)
		oauthErr("invalid_grant")
		return
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if iat == nil || exp.Sub(iat.Time) > time.Hour {
		oauthErr("invalid_grant")
		return
	}
	at := fmt.Sprintf("eyJ-access-%d", n)
	f.mu.Lock()
	f.issued[at] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":"3600","token_type":"Bearer"}`, at)
}

func open(t *testing.T, settings map[string]any, secrets map[string]string) *conn {
	t.Helper()
	c, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, settings, secrets))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return c.(*conn)
}

func TestVerifyTBA(t *testing.T) {
	tests := []struct {
		name    string
		secrets map[string]string
		query   func(http.ResponseWriter, int32)
		timeout time.Duration
		code    providers.Code
		check   func(t *testing.T, f *fake, res *providers.VerifyResult, pe *providers.Error)
	}{
		{name: "success", check: func(t *testing.T, _ *fake, res *providers.VerifyResult, _ *providers.Error) {
			if res.Details["account_id"] != account || res.Details["auth_mode"] != "tba" {
				t.Errorf("details = %v", res.Details)
			}
		}},
		{
			name:    "wrong token secret",
			secrets: map[string]string{"consumer_key": consumerKey, "consumer_secret": consumerSecret, "token_id": tokenID, "token_secret": "wrong-secret"},
			code:    providers.CodeAuthFailed,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				for _, s := range []string{"Invalid login attempt", "realm 1234567_SB1", "clock", "token id and secret"} {
					if !strings.Contains(pe.Message, s) {
						t.Errorf("message %q does not mention %q", pe.Message, s)
					}
				}
			},
		},
		{
			name: "role without permission",
			query: func(w http.ResponseWriter, _ int32) {
				nsError(w, 403, "INSUFFICIENT_PERMISSION", "Permission Violation: You need the 'REST Web Services' permission.")
			},
			code: providers.CodePermissionDenied,
		},
		{
			name: "429 with long Retry-After comes back fast",
			query: func(w http.ResponseWriter, _ int32) {
				w.Header().Set("Retry-After", "30")
				nsError(w, 429, "TOO_MANY_REQUESTS", "Concurrency limit exceeded")
			},
			timeout: time.Second,
			code:    providers.CodeRateLimited,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				providertest.WantRateLimited(t, pe, 30*time.Second)
			},
		},
		{
			// The fake refuses a reused nonce, so success proves the retry was signed again.
			name: "429 then 200 is retried with a new signature",
			query: func(w http.ResponseWriter, n int32) {
				if n == 1 {
					w.Header().Set("Retry-After", "0")
					nsError(w, 429, "TOO_MANY_REQUESTS", "Concurrency limit exceeded")
					return
				}
				queryOK(w)
			},
			check: func(t *testing.T, f *fake, _ *providers.VerifyResult, _ *providers.Error) {
				if n := f.queryCalls.Load(); n != 2 {
					t.Errorf("query calls = %d, want 2", n)
				}
			},
		},
		{
			name: "upstream echoes secrets",
			query: func(w http.ResponseWriter, _ int32) {
				nsError(w, 400, "INVALID_PARAMETER", "bad value "+consumerSecret+" / "+tokenSecret+" / "+consumerKey)
			},
			code: providers.CodeProviderError,
			check: func(t *testing.T, _ *fake, _ *providers.VerifyResult, pe *providers.Error) {
				for _, s := range []string{consumerSecret, tokenSecret, consumerKey} {
					if strings.Contains(pe.Error(), s) {
						t.Errorf("message leaks %q: %s", s, pe.Error())
					}
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.query = tc.query
			secrets := tc.secrets
			if secrets == nil {
				secrets = tbaSecrets()
			}
			c := open(t, map[string]any{"account_id": account, "base_url": f.srv.URL}, secrets)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			res, err := c.Verify(ctx, providers.VerifyRequest{})
			var pe *providers.Error
			if tc.code == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
			} else {
				pe = providertest.WantCode(t, err, tc.code)
			}
			if tc.check != nil {
				tc.check(t, f, res, pe)
			}
		})
	}
}

func TestVerifyM2M(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	tests := []struct {
		name   string
		pem    string
		verify any
		code   providers.Code
	}{
		{name: "RSA key signs PS256", pem: rsaPEM, verify: &rsaKey.PublicKey},
		{name: "EC key signs ES256", pem: ecPEM, verify: &ecKey.PublicKey},
		{name: "certificate not mapped", pem: rsaPEM, verify: &otherKey.PublicKey, code: providers.CodeAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.m2mKey = tc.verify
			c := open(t, map[string]any{"account_id": account, "auth_mode": "oauth2_m2m", "base_url": f.srv.URL,
				"client_id": m2mClientID, "certificate_id": certificateID}, map[string]string{"private_key_pem": tc.pem})
			res, err := c.Verify(context.Background(), providers.VerifyRequest{})
			if tc.code != "" {
				pe := providertest.WantCode(t, err, tc.code)
				if strings.Contains(pe.Error(), "PRIVATE KEY") {
					t.Errorf("message leaks the key: %s", pe.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if res.Details["auth_mode"] != "oauth2_m2m" || f.tokenCalls.Load() != 1 {
				t.Errorf("details = %v, token calls = %d", res.Details, f.tokenCalls.Load())
			}
		})
	}
}

// TestVerifyM2MTokenReuse checks that the M2M token is cached between
// verifies and replaced once when the API refuses it.
func TestVerifyM2MTokenReuse(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	f := newFake(t)
	f.m2mKey = &key.PublicKey
	c := open(t, map[string]any{"account_id": account, "auth_mode": "oauth2_m2m", "base_url": f.srv.URL,
		"client_id": m2mClientID, "certificate_id": certificateID}, map[string]string{"private_key_pem": keyPEM})
	for i := range 2 {
		if _, err := c.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls after two verifies = %d, want 1 (cached)", n)
	}
	f.mu.Lock()
	clear(f.issued) // NetSuite revokes the token
	f.mu.Unlock()
	if _, err := c.Verify(context.Background(), providers.VerifyRequest{}); err != nil {
		t.Fatalf("verify after revocation: %v", err)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Errorf("token calls = %d, want 2 (one refresh after the 401)", n)
	}
}

// TestVerifyM2MEchoedTokenRedacted checks that the run-time access token is
// redacted from an upstream error in its encoded forms too.
func TestVerifyM2MEchoedTokenRedacted(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	f := newFake(t)
	f.m2mKey = &key.PublicKey
	encoded := base64.StdEncoding.EncodeToString([]byte("eyJ-access-1"))
	f.query = func(w http.ResponseWriter, _ int32) {
		nsError(w, 400, "INVALID_PARAMETER", "bad value eyJ-access-1 / "+encoded)
	}
	c := open(t, map[string]any{"account_id": account, "auth_mode": "oauth2_m2m", "base_url": f.srv.URL,
		"client_id": m2mClientID, "certificate_id": certificateID},
		map[string]string{"private_key_pem": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	_, err = c.Verify(context.Background(), providers.VerifyRequest{})
	pe := providertest.WantCode(t, err, providers.CodeProviderError)
	for _, s := range []string{"eyJ-access-1", encoded} {
		if strings.Contains(pe.Error(), s) {
			t.Errorf("message leaks %q: %s", s, pe.Error())
		}
	}
	if !strings.Contains(pe.Error(), providers.Redacted) {
		t.Errorf("message lost the upstream detail: %s", pe.Error())
	}
}

func TestOpen(t *testing.T) {
	c := open(t, map[string]any{"account_id": "1234567-sb1", "auth_mode": "tba"}, tbaSecrets())
	if c.realm != "1234567_SB1" || c.baseURL != "https://1234567-sb1.suitetalk.api.netsuite.com" ||
		c.tokenURL != "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token" {
		t.Errorf("realm %s, base %s, token %s", c.realm, c.baseURL, c.tokenURL)
	}
	bad := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
	}{
		{"account id with a dot", map[string]any{"account_id": "123.evil.com/x"}, tbaSecrets()},
		{"base url without scheme", map[string]any{"account_id": account, "base_url": "example.com"}, tbaSecrets()},
		{"bad private key", map[string]any{"account_id": account, "auth_mode": "oauth2_m2m", "client_id": "c", "certificate_id": "k"},
			map[string]string{"private_key_pem": "-----BEGIN NOPE-----"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, tc.settings, tc.secrets))
			providertest.WantCode(t, err, providers.CodeInvalidConfig)
		})
	}
}
