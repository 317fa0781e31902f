package graphiql_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/junctionhq/junction/graphiql"
)

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPageHeaders(t *testing.T) {
	h := graphiql.Handler(graphiql.Options{})
	w := get(t, h, http.MethodGet, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /: %d", w.Code)
	}
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": graphiql.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-cache",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	csp := graphiql.ContentSecurityPolicy
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, directive+";") && !strings.HasSuffix(csp, directive) {
			t.Errorf("CSP lacks %q: %s", directive, csp)
		}
	}
	for _, unsafe := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(csp, unsafe) {
			t.Errorf("CSP allows %q: %s", unsafe, csp)
		}
	}
	if w := get(t, h, http.MethodHead, "/"); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD /: %d with %d bytes", w.Code, w.Body.Len())
	}
	if w := get(t, h, http.MethodPost, "/"); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	for _, p := range []string{"/index.html", "/graphiql/", graphiql.AssetPrefix, graphiql.AssetPrefix + "nothing.js"} {
		if w := get(t, h, http.MethodGet, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
}

var (
	scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	srcAttr   = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)
)

// The page has no inline script, no event handler attribute and no inline
// style: the CSP would block them.
func TestPageHasNoInlineCode(t *testing.T) {
	body := get(t, graphiql.Handler(graphiql.Options{}), http.MethodGet, "/").Body.String()
	scripts := scriptTag.FindAllStringSubmatch(body, -1)
	if len(scripts) != 4 {
		t.Errorf("%d script elements, want 4 (react, react-dom, graphiql, junction)", len(scripts))
	}
	for _, s := range scripts {
		if strings.TrimSpace(s[2]) != "" || !strings.Contains(s[1], `src="`+graphiql.AssetPrefix) {
			t.Errorf("inline or foreign script: %s", s[0])
		}
	}
	if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:`).FindString(body); m != "" {
		t.Errorf("the page has inline code: %q", m)
	}
	for _, m := range srcAttr.FindAllStringSubmatch(body, -1) {
		u := m[1]
		if u != "data:," && !strings.HasPrefix(u, "/") {
			t.Errorf("the page refers to %q, not to its own origin", u)
		}
	}
}

func TestPageOptions(t *testing.T) {
	body := get(t, graphiql.Handler(graphiql.Options{Endpoint: "/api/graphql", LoginURL: "/sign-in?next=/", LogoutURL: "/sign-out", Title: "T<&>"}), http.MethodGet, "/").Body.String()
	for _, want := range []string{`data-endpoint="/api/graphql"`, `data-login-url="/sign-in?next=/"`, `data-logout-url="/sign-out"`, `href="/sign-in?next=/"`, `<title>T&lt;&amp;&gt;</title>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	body = get(t, graphiql.Handler(graphiql.Options{}), http.MethodGet, "/").Body.String()
	for _, want := range []string{`data-endpoint="/graphql"`, `data-login-url="/login"`, `data-logout-url="/logout"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the default page lacks %s", want)
		}
	}
}

func TestAssets(t *testing.T) {
	h := graphiql.Handler(graphiql.Options{})
	body := get(t, h, http.MethodGet, "/").Body.String()
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	var urls []string
	for _, m := range srcAttr.FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(m[1], graphiql.AssetPrefix) {
			urls = append(urls, m[1])
		}
	}
	if len(urls) != 6 {
		t.Fatalf("asset URLs %v, want 2 stylesheets and 4 scripts", urls)
	}
	for _, u := range urls {
		w := get(t, h, http.MethodGet, u)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", u, w.Code)
			continue
		}
		if got, want := w.Header().Get("Content-Type"), types[filepath.Ext(u)]; got != want {
			t.Errorf("%s: Content-Type %q, want %q", u, got, want)
		}
		if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", u, got)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: headers %v", u, w.Header())
		}
		// The URL names the content: the first 16 hex digits of its sha256.
		sum := sha256.Sum256(w.Body.Bytes())
		if hash := strings.Split(strings.TrimPrefix(u, graphiql.AssetPrefix), "/")[0]; hash != hex.EncodeToString(sum[:])[:16] {
			t.Errorf("%s: the body's sha256 is %x", u, sum)
		}
		plain := w.Body.Bytes()
		etag := w.Header().Get("ETag")
		if w := get(t, h, http.MethodGet, u, "If-None-Match", etag); w.Code != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s: %d", u, etag, w.Code)
		}
		gz := get(t, h, http.MethodGet, u, "Accept-Encoding", "br, gzip;q=0.8")
		if gz.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s with Accept-Encoding gzip: headers %v", u, gz.Header())
			continue
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(unzipped, plain) {
			t.Errorf("%s: the gzipped body differs (%v)", u, err)
		}
		if gz.Header().Get("ETag") == etag {
			t.Errorf("%s: the gzipped body has the plain body's ETag", u)
		}
		if w := get(t, h, http.MethodGet, u, "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: gzip;q=0 got gzip", u)
		}
		// Another build's hash is not this content.
		other := graphiql.AssetPrefix + "0000000000000000/" + filepath.Base(u)
		if w := get(t, h, http.MethodGet, other); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", other, w.Code)
		}
	}
}

type manifest struct {
	Packages []struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Integrity string `json:"integrity"`
		License   string `json:"license"`
		Files     []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	} `json:"packages"`
}

// The committed assets are what the manifest says, and every package brings
// its licence text.
func TestManifest(t *testing.T) {
	raw, err := os.ReadFile("assets/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{"manifest.json": true}
	var names []string
	var total int64
	for _, p := range m.Packages {
		names = append(names, p.Name)
		if !strings.HasPrefix(p.Integrity, "sha512-") || p.Version == "" || p.License == "" {
			t.Errorf("%s: version %q, integrity %q, license %q", p.Name, p.Version, p.Integrity, p.License)
		}
		hasLicense := false
		for _, f := range p.Files {
			listed[f.Path] = true
			b, err := os.ReadFile(filepath.Join("assets", f.Path))
			if err != nil {
				t.Error(err)
				continue
			}
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Size {
				t.Errorf("assets/%s differs from the manifest: run go generate ./graphiql/...", f.Path)
			}
			if strings.HasPrefix(f.Path, "LICENSE") {
				hasLicense = strings.Contains(string(b), "Permission is hereby granted")
			}
			total += f.Size
		}
		if !hasLicense {
			t.Errorf("%s: no licence text", p.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"graphiql", "react", "react-dom"}) {
		t.Errorf("packages %v", names)
	}
	entries, err := os.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !listed[e.Name()] {
			t.Errorf("assets/%s is not in the manifest", e.Name())
		}
	}
	if total > 2<<20 {
		t.Errorf("the vendored assets are %d bytes; keep them under 2 MiB", total)
	}
}

// The preloaded operations are valid against the schema, their variables
// coerce, and they walk the connection lifecycle.
func TestExamples(t *testing.T) {
	sdl, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(sdl)})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, ex := range graphiql.Examples() {
		doc, errs := gqlparser.LoadQuery(schema, ex.Query)
		if len(errs) > 0 {
			t.Errorf("examples/%s.graphql: %v", ex.Name, errs)
			continue
		}
		if len(doc.Operations) != 1 || doc.Operations[0].Name == "" {
			t.Errorf("examples/%s.graphql: want one named operation (it titles the tab)", ex.Name)
			continue
		}
		op := doc.Operations[0]
		ops = append(ops, op.Name)
		vars := map[string]any{}
		if ex.Variables != "" {
			if err := json.Unmarshal([]byte(ex.Variables), &vars); err != nil {
				t.Errorf("examples/%s.json: %v", ex.Name, err)
			}
		}
		if _, err := validator.VariableValues(schema, op, vars); err != nil {
			t.Errorf("examples/%s.json: %v", ex.Name, err)
		}
		for name := range vars {
			if op.VariableDefinitions.ForName(name) == nil {
				t.Errorf("examples/%s.json: $%s is not a variable of %s", ex.Name, name, op.Name)
			}
		}
	}
	want := []string{"ListConnections", "CreateConnection", "VerifyConnection", "ConnectionFiles", "SchemaTables", "RunQuery"}
	if !slices.Equal(ops, want) {
		t.Errorf("operations %v, want %v", ops, want)
	}
	// The schema-tables example asks for the columns too.
	for _, ex := range graphiql.Examples() {
		if strings.Contains(ex.Query, "query SchemaTables") && !strings.Contains(ex.Query, "columns {") {
			t.Error("SchemaTables does not select columns")
		}
	}
}

// TestLoginPage: the sign-in page has GraphiQL's security headers, no inline
// code, a token field and a script of this build, and names where it posts
// and returns.
func TestLoginPage(t *testing.T) {
	h := graphiql.LoginHandler(graphiql.Options{})
	w := get(t, h, http.MethodGet, "/login")
	if w.Code != http.StatusOK || w.Header().Get("Content-Security-Policy") != graphiql.ContentSecurityPolicy ||
		w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /login: %d %v", w.Code, w.Header())
	}
	body := w.Body.String()
	for _, want := range []string{`data-login-url="/login"`, `data-endpoint="/graphql"`, `data-home="/"`, `id="login-token"`, `type="password"`, `autocomplete="off"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the sign-in page lacks %s", want)
		}
	}
	if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:|\saction\s*=`).FindString(body); m != "" {
		t.Errorf("the sign-in page has inline code or a form action: %q", m)
	}
	scripts := scriptTag.FindAllStringSubmatch(body, -1)
	if len(scripts) != 1 || !strings.Contains(scripts[0][1], "/login.js") || strings.TrimSpace(scripts[0][2]) != "" {
		t.Fatalf("scripts: %q", scripts)
	}
	// Its assets are served by the GraphiQL handler.
	ui := graphiql.Handler(graphiql.Options{})
	for _, m := range srcAttr.FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(m[1], graphiql.AssetPrefix) {
			if w := get(t, ui, http.MethodGet, m[1]); w.Code != http.StatusOK {
				t.Errorf("GET %s: %d", m[1], w.Code)
			}
		}
	}
	if w := get(t, h, http.MethodPost, "/login"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST to the page handler: %d", w.Code)
	}
	if w := get(t, h, http.MethodHead, "/login"); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d", w.Code)
	}
	body = get(t, graphiql.LoginHandler(graphiql.Options{LoginURL: "/sign-in", Home: "/ui/"}), http.MethodGet, "/sign-in").Body.String()
	if !strings.Contains(body, `data-login-url="/sign-in"`) || !strings.Contains(body, `href="/ui/"`) {
		t.Errorf("options not on the page")
	}
}
