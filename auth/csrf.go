package auth

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Cross-site request forgery. SameSite=Lax keeps the session cookie off most
// cross-site requests, but not off requests from a sibling host of the same
// site, nor in browsers without SameSite, so a cookie-authenticated request
// that changes anything must come from this server's own pages, and every
// request body must be JSON: a form or a text/plain fetch is what a foreign
// page can send without a CORS preflight, application/json is not.

// Unsafe reports whether method may change state: anything but GET, HEAD,
// OPTIONS and TRACE (unknown methods included).
func Unsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// TLS reports whether r reached the client's side of the connection over
// TLS: directly, or through a trusted proxy that says so with
// X-Forwarded-Proto: https.
func TLS(r *http.Request, trustProxy bool) bool {
	if r.TLS != nil {
		return true
	}
	if trustProxy {
		proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		return strings.EqualFold(strings.TrimSpace(proto), "https")
	}
	return false
}

// CrossSite returns why r must be refused as a cross-site request, or "" when
// it comes from this server's own origin or from no browser page at all.
//
//   - Sec-Fetch-Site (sent by every current browser) must be same-origin or
//     none (typed in, bookmarks); same-site and cross-site are refused, and
//     so is a value the Fetch standard does not define.
//   - Origin, when present, must name this server: its host (and port) must
//     be the request's Host (X-Forwarded-Host behind a trusted proxy), its
//     scheme http or https, and https when the request came over TLS.
//     "null" (sandboxed frames, some redirects) is refused.
//   - A request with neither header is not from a browser page that could
//     forge it (browsers send Origin on every cross-origin POST), so it passes.
func CrossSite(r *http.Request, trustProxy bool) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	case "same-site", "cross-site":
		return "Sec-Fetch-Site is " + site
	default:
		return "Sec-Fetch-Site is not a known value"
	}
	origins := r.Header.Values("Origin")
	switch {
	case len(origins) == 0:
		return ""
	case len(origins) > 1:
		return "more than one Origin header"
	}
	origin := origins[0]
	if origin == "null" {
		return "Origin is null"
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "Origin is malformed"
	}
	if !strings.EqualFold(strings.TrimSuffix(origin, "/"), u.Scheme+"://"+u.Host) {
		return "Origin is malformed" // escapes, or anything but scheme://host[:port]
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "Origin is not an http or https origin"
	}
	tls := TLS(r, trustProxy)
	if tls && scheme != "https" {
		return "Origin is not https on an https server"
	}
	own := r.Host
	if trustProxy {
		if fh, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); strings.TrimSpace(fh) != "" {
			own = strings.TrimSpace(fh)
		}
	}
	if own == "" || canonicalHost(scheme, u.Host) != canonicalHost(ownScheme(tls, scheme), own) {
		return "Origin is not this server"
	}
	return ""
}

// ownScheme is the scheme this server is reached by: https over TLS; else
// the Origin's own scheme (a TLS-terminating proxy that is not trusted
// still serves the same host), so only the host decides.
func ownScheme(tls bool, originScheme string) string {
	if tls {
		return "https"
	}
	return originScheme
}

// canonicalHost lowercases host and drops the scheme's default port.
func canonicalHost(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	return host
}

// RequireJSON refuses a POST, PUT or PATCH whose body is not
// application/json with 415 {"detail": ..., "code": "unsupported_media_type"}:
// a Content-Type that is not application/json, or a body without one. A
// bodiless request without Content-Type (curl -X POST .../disable) passes.
func RequireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			if !jsonBody(r) {
				writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{
					"detail": "Unsupported media type: send the request body as application/json",
					"code":   "unsupported_media_type"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func jsonBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0 // a chunked body is -1
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}
