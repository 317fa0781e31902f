package netsuite

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// tbaHeader returns the OAuth 1.0a Authorization header NetSuite token-based
// authentication expects for one request: HMAC-SHA256 over the RFC 5849
// signature base string, with the account id as realm. Each call uses a
// fresh nonce and timestamp, so a retried request must be signed again.
func (c *conn) tbaHeader(method string, u *url.URL) string {
	oauth := url.Values{
		"oauth_consumer_key":     {c.cfg.Secret("consumer_key")},
		"oauth_token":            {c.cfg.Secret("token_id")},
		"oauth_signature_method": {"HMAC-SHA256"},
		"oauth_timestamp":        {strconv.FormatInt(c.now().Unix(), 10)},
		"oauth_nonce":            {c.nonce()},
		"oauth_version":          {"1.0"},
	}
	sig := signature(sha256.New, method, u, oauth, c.cfg.Secret("consumer_secret"), c.cfg.Secret("token_secret"))
	oauth.Set("oauth_signature", sig)
	parts := []string{`realm="` + percentEncode(c.realm) + `"`}
	for _, k := range slices.Sorted(maps.Keys(oauth)) {
		parts = append(parts, k+`="`+percentEncode(oauth.Get(k))+`"`)
	}
	return "OAuth " + strings.Join(parts, ", ")
}

// signature is the base64 HMAC of the signature base string, keyed with the
// percent-encoded client and token secrets (RFC 5849 section 3.4.2).
func signature(h func() hash.Hash, method string, u *url.URL, params url.Values, clientSecret, tokenSecret string) string {
	mac := hmac.New(h, []byte(percentEncode(clientSecret)+"&"+percentEncode(tokenSecret)))
	mac.Write([]byte(baseString(method, u, params)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// baseString is the RFC 5849 section 3.4.1 signature base string: the method,
// the base URI without query, and every query and protocol parameter
// (params; form-body parameters would go there too) encoded, sorted by name
// then value, and joined.
func baseString(method string, u *url.URL, params url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for _, vals := range []url.Values{u.Query(), params} {
		for k, vs := range vals {
			if k == "realm" || k == "oauth_signature" {
				continue
			}
			for _, v := range vs {
				pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
			}
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	norm := make([]string, len(pairs))
	for i, p := range pairs {
		norm[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(method) + "&" + percentEncode(baseURI(u)) + "&" + percentEncode(strings.Join(norm, "&"))
}

// baseURI is scheme://host[:port]/path in lower case, without the default port.
func baseURI(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// percentEncode encodes s as RFC 5849 section 3.6 requires: every byte except
// the unreserved characters, as %XX with upper-case hex.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
