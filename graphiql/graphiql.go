// Package graphiql serves Junction's GraphiQL page from the binary: GraphiQL,
// React and ReactDOM at pinned npm versions (vendored under assets/ by
// go generate, see internal/fetch), a small bootstrap script of its own, and
// example operations for the connection lifecycle. Nothing is loaded from
// another origin, and the page's Content-Security-Policy allows only itself.
//
// Mount one handler at "/" and under AssetPrefix (it answers GET and HEAD,
// 405 otherwise, 404 for any other path):
//
//	ui := graphiql.Handler(graphiql.Options{Endpoint: "/graphql"})
//	r.Handle("/", ui)
//	r.Handle(graphiql.AssetPrefix+"*", ui)
//
// The page posts to Endpoint with the session cookie (credentials:
// same-origin) and the headers of GraphiQL's Headers tab. On a 401 it shows
// a sign-in hint linking to Options.LoginURL instead of "Error fetching
// schema"; once a request succeeds it asks `me` and shows "Signed in as
// NAME (TENANT, ROLE)" with a Sign out button that POSTs to
// Options.LogoutURL and reloads.
//
// LoginHandler serves the sign-in page under the same policy (mount it for
// GET and HEAD at Options.LoginURL, beside the POST that starts a session):
// a person pastes an API token, the page POSTs it as JSON to LoginURL on the
// same origin and returns to GraphiQL (Options.Home, or a same-origin ?next=),
// which then loads the schema with the session cookie.
package graphiql

//go:generate go run ./internal/fetch -dir assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AssetPrefix is the path under which the page's scripts, styles and licence
// texts are served, each as AssetPrefix + <content hash> + "/" + <name>, so
// they can be cached for a year: a new build has new URLs.
const AssetPrefix = "/graphiql/assets/"

// ContentSecurityPolicy is the policy of the page: scripts, styles, fonts,
// images and fetches from this origin only; data: URLs for fonts and images
// because GraphiQL's stylesheet inlines its fonts and icons as data: URLs
// (they load nothing from the network). No inline script, no eval, no
// framing, no plugins, no <base>.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"font-src 'self' data:; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// SecurityHeaders sets the headers of the page on h; a sign-in page served
// beside GraphiQL can set the same.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// Options configure the page.
type Options struct {
	// Endpoint is the GraphQL endpoint the page posts to (default "/graphql").
	// Requests carry the session cookie (credentials: same-origin) and the
	// headers of GraphiQL's Headers tab.
	Endpoint string
	// Title is the page title (default "Junction GraphiQL").
	Title string
	// LoginURL is where the page sends a person who is not signed in: the
	// sign-in hint links to it (default "/login").
	LoginURL string
	// LogoutURL is what the sign-out button POSTs to (default "/logout").
	LogoutURL string
	// Home is where GraphiQL is served, where the sign-in page returns
	// (default "/").
	Home string
}

func (o Options) withDefaults() Options {
	if o.Endpoint == "" {
		o.Endpoint = "/graphql"
	}
	if o.Title == "" {
		o.Title = "Junction GraphiQL"
	}
	if o.LoginURL == "" {
		o.LoginURL = "/login"
	}
	if o.LogoutURL == "" {
		o.LogoutURL = "/logout"
	}
	if o.Home == "" {
		o.Home = "/"
	}
	return o
}

//go:embed assets static page.html login.html examples
var files embed.FS

// asset is one file served under AssetPrefix.
type asset struct {
	name        string
	body        []byte
	hash        string // hex sha256, the first 16 digits in the URL
	contentType string

	gzipOnce sync.Once
	gzipped  []byte // nil when compressing does not pay
}

func (a *asset) url() string { return AssetPrefix + a.hash[:16] + "/" + a.name }

func (a *asset) gzipBody() []byte {
	a.gzipOnce.Do(func() {
		if !compressible(a.contentType) {
			return
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(a.body)
		zw.Close()
		if b.Len() < len(a.body)*9/10 {
			a.gzipped = b.Bytes()
		}
	})
	return a.gzipped
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json")
}

// assets are the vendored files (assets/) and the page's own (static/), by
// file name.
var assets = func() map[string]*asset {
	m := map[string]*asset{}
	for _, dir := range []string{"assets", "static"} {
		entries, err := fs.ReadDir(files, dir)
		if err != nil {
			panic(err)
		}
		for _, e := range entries {
			b, err := fs.ReadFile(files, dir+"/"+e.Name())
			if err != nil {
				panic(err)
			}
			if _, dup := m[e.Name()]; dup {
				panic("graphiql: two assets named " + e.Name())
			}
			h := sha256.Sum256(b)
			m[e.Name()] = &asset{name: e.Name(), body: b, hash: hex.EncodeToString(h[:]), contentType: contentType(e.Name())}
		}
	}
	return m
}()

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Example is one operation preloaded in its own editor tab.
type Example struct {
	// Name is the file name without extension, e.g. "01-list-connections".
	Name string `json:"-"`
	// Query is the GraphQL document: one named operation.
	Query string `json:"query"`
	// Variables is a JSON object (pretty-printed), or "".
	Variables string `json:"variables,omitempty"`
}

// Examples returns the preloaded operations in tab order: examples/NN-*.graphql,
// each with the variables of the .json file of the same name.
func Examples() []Example {
	entries, err := fs.ReadDir(files, "examples")
	if err != nil {
		panic(err)
	}
	var out []Example
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".graphql")
		if !ok {
			continue
		}
		q, err := fs.ReadFile(files, "examples/"+e.Name())
		if err != nil {
			panic(err)
		}
		ex := Example{Name: name, Query: string(q)}
		if v, err := fs.ReadFile(files, "examples/"+name+".json"); err == nil {
			var b bytes.Buffer
			if err := json.Indent(&b, bytes.TrimSpace(v), "", "  "); err != nil {
				panic(fmt.Sprintf("graphiql: examples/%s.json: %v", name, err))
			}
			ex.Variables = b.String()
		}
		out = append(out, ex)
	}
	slices.SortFunc(out, func(a, b Example) int { return strings.Compare(a.Name, b.Name) })
	return out
}

var (
	page      = template.Must(template.ParseFS(files, "page.html"))
	loginPage = template.Must(template.ParseFS(files, "login.html"))
)

type pageData struct {
	Options
	Examples string
	Asset    func(name string) (string, error)
}

// render executes a page template with o and the asset URLs of this build.
func render(t *template.Template, o Options, examples string) []byte {
	var b bytes.Buffer
	err := t.Execute(&b, pageData{Options: o, Examples: examples, Asset: func(name string) (string, error) {
		a, ok := assets[name]
		if !ok {
			return "", fmt.Errorf("no asset %q", name)
		}
		return a.url(), nil
	}})
	if err != nil {
		panic(fmt.Sprintf("graphiql: %s: %v", t.Name(), err))
	}
	return b.Bytes()
}

// serveHTML serves a page of this package: GET and HEAD only, under the
// security headers, revalidated (it names the assets of this build).
func serveHTML(w http.ResponseWriter, r *http.Request, html []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	SecurityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(html))
}

// Handler serves the page at "/" and the assets under AssetPrefix (GET and
// HEAD); any other path is 404.
func Handler(o Options) http.Handler {
	o = o.withDefaults()
	examples, err := json.Marshal(Examples())
	if err != nil {
		panic(err)
	}
	html := render(page, o, string(examples))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			serveHTML(w, r, html)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		case strings.HasPrefix(r.URL.Path, AssetPrefix):
			serveAsset(w, r, strings.TrimPrefix(r.URL.Path, AssetPrefix))
		default:
			http.NotFound(w, r)
		}
	})
}

// LoginHandler serves the sign-in page (GET and HEAD, at whatever path it is
// mounted: Options.LoginURL) under the same security headers as GraphiQL.
// Its script and style are GraphiQL's assets, served by Handler.
func LoginHandler(o Options) http.Handler {
	o = o.withDefaults()
	html := render(loginPage, o, "")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveHTML(w, r, html) })
}

// serveAsset serves rest = "<hash>/<name>": immutable, gzipped when the
// client accepts it; 404 for an unknown name or a hash of another build.
func serveAsset(w http.ResponseWriter, r *http.Request, rest string) {
	hash, name, ok := strings.Cut(rest, "/")
	a := assets[name]
	if !ok || a == nil || len(hash) != 16 || hash != a.hash[:16] {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	body, etag := a.body, `"`+a.hash[:32]+`"`
	if gz := a.gzipBody(); gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = gz, `"`+a.hash[:32]+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if k, v, _ := strings.Cut(p, "="); strings.TrimSpace(k) == "q" {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}
