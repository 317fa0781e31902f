package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/junctionhq/junction/graphiql"
)

// TestGraphiQLInBrowser drives a real headless Chromium against a started
// junction server, with nothing but loopback reachable: the page loads
// offline; a person who is not signed in gets the sign-in banner (not
// "Error fetching schema"), follows it to the sign-in page, where a wrong
// token is refused and the right one starts a session and returns to
// GraphiQL; the schema loads at once (Docs shows it), the bar says who is
// signed in, the preloaded first example runs and its result shows in the
// result pane; sign-out ends the session; a token in the Headers tab works
// without one. No request leaves the server's origin and the
// Content-Security-Policy is never violated. Screenshots are kept (see
// artifactsDir).
func TestGraphiQLInBrowser(t *testing.T) {
	chromium := browserPath(t)
	srv := startServer(t)
	base := pageBase(t, srv)
	artifacts := artifactsDir(t)

	ctx, cancel := chromedp.NewContext(context.Background(), chromedp.WithAllocatorOptions(
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// No name resolves: the page must need nothing but its own origin.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	var mu sync.Mutex
	var requests, problems, consoleLines []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			u := ev.Request.URL
			if strings.HasPrefix(u, "data:") && len(u) > 40 {
				u = u[:40] + "..."
			}
			requests = append(requests, u)
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			line := string(ev.Type) + ": " + strings.Join(parts, " ")
			consoleLines = append(consoleLines, line)
			if strings.Contains(line, "CSP violation") {
				problems = append(problems, line)
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, "uncaught exception: "+msg)
		case *cdplog.EventEntryAdded:
			line := fmt.Sprintf("log %s/%s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
			consoleLines = append(consoleLines, line)
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				problems = append(problems, line)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		os.WriteFile(filepath.Join(artifacts, "console.txt"), []byte(strings.Join(consoleLines, "\n")+"\n"), 0o644)
		os.WriteFile(filepath.Join(artifacts, "requests.txt"), []byte(strings.Join(requests, "\n")+"\n"), 0o644)
	})

	screenshot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err == nil {
			p := filepath.Join(artifacts, name)
			if err = os.WriteFile(p, buf, 0o644); err == nil {
				t.Logf("screenshot: %s", p)
			}
		}
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot("failed.png")
			if html, herr := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body"))); herr == nil {
				os.WriteFile(filepath.Join(artifacts, "failed.html"), []byte(html), 0o644)
			}
			t.Fatalf("%s: %v", what, err)
		}
	}
	// waitFor polls a JavaScript condition in the page.
	waitFor := func(what, expr string) {
		t.Helper()
		step("wait for "+what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))(ctx, tg)
			return err
		}))
	}
	insertText := func(text string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text})
			return err
		})
	}
	enable := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{}); err != nil {
			return err
		}
		// Report every CSP violation on the console (a script added by the
		// protocol is not subject to the page's policy).
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `document.addEventListener('securitypolicyviolation', function (e) {
				console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber);
			});`,
		})
		return err
	})
	resultHas := func(s string) string {
		return fmt.Sprintf(`(document.querySelector('.result-window') || {}).textContent.includes(%q)`, s)
	}
	visibleToolEditor := `.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror`

	// navigate runs actions that load a new page (a click on a link, a
	// form that goes on to another page) and waits for it to load.
	navigate := func(what string, trigger chromedp.Action[chromedp.Void]) {
		t.Helper()
		step(what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.WaitEvent(page.LoadEventFired, nil, trigger)(ctx, tg)
			return err
		}))
	}
	signedInAs := func(how string) string {
		return `document.body.dataset.signedIn === 'true' && document.getElementById('junction-identity').textContent.includes(` + jsString("Signed in as "+srv.User+how) + `)`
	}

	// 1. Not signed in: the banner links to the sign-in page, and the 401 is
	// explained in the result pane (not "Error fetching schema").
	step("open "+base+"/", enable, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(".graphiql-container")))
	step("sign-in banner", chromedp.WaitVisible(chromedp.CSS("#junction-notice")))
	waitFor("the 401 in the result pane", resultHas("Not signed in (HTTP 401)"))
	waitFor("no 'Error fetching schema'", `!document.body.textContent.includes('Error fetching schema')`)
	step("show the first example's variables", chromedp.Click(chromedp.CSS(`button[data-name="variables"]`)))
	waitFor("the first example's variables", `document.querySelector('`+visibleToolEditor+`').textContent.includes('"search"')`)
	screenshot("01-signed-out.png")

	// 2. The banner's link opens the sign-in page; a wrong token is
	// refused there, the right one starts a session and returns to
	// GraphiQL, which loads the schema and says who is signed in.
	navigate("follow the banner's sign-in link", chromedp.Click(chromedp.CSS(`#junction-notice a`)))
	step("the sign-in form", chromedp.WaitVisible(chromedp.CSS("#login-form")))
	waitFor("the sign-in page at /login", `location.pathname === '/login'`)
	step("type a wrong token", chromedp.Click(chromedp.CSS("#login-token")), insertText("jct_not-a-known-token"),
		chromedp.Click(chromedp.CSS("#login-submit")))
	waitFor("the refusal on the sign-in page", `!document.getElementById('login-error').hidden && document.getElementById('login-error').textContent.includes('not known')`)
	step("clear the token field", chromedp.Click(chromedp.CSS("#login-token")),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), insertText(srv.Token))
	screenshot("02-sign-in.png")
	navigate("sign in through the form", chromedp.Click(chromedp.CSS("#login-submit")))
	step("back in GraphiQL", chromedp.WaitVisible(chromedp.CSS(".graphiql-container")))
	waitFor("GraphiQL at /", `location.pathname === '/'`)
	waitFor("signed in with the session", signedInAs(" (e2e, admin)"))
	step("sign-out button", chromedp.WaitVisible(chromedp.CSS("#junction-signout")))
	step("no sign-in banner", chromedp.WaitNotVisible(chromedp.CSS("#junction-notice")))
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || strings.Contains(cookies, "junction_session") || strings.Contains(cookies, srv.Token) {
		t.Errorf("the session cookie is readable by scripts, or the token is in a cookie: %q %v", cookies, err)
	}
	screenshot("03-signed-in.png")

	// 3. Docs, right after sign-in (no re-fetch): the root types, then
	// the Query type's fields.
	step("open Docs", chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-doc-explorer")))
	waitFor("the root types in Docs", `document.querySelector('.graphiql-doc-explorer').textContent.includes('Query')`)
	step("open Query in Docs", chromedp.Click(`//div[contains(@class,"graphiql-doc-explorer")]//a[normalize-space()="Query"]`))
	waitFor("Query's fields in Docs", `['connections', 'connectionBySlug', 'providers', 'me'].every(f => document.querySelector('.graphiql-doc-explorer').textContent.includes(f))`)
	screenshot("04-docs.png")

	// 4. Run the preloaded first example (ListConnections) as it is and
	// read the result pane.
	waitFor("the first example in the active tab", `document.querySelector('.graphiql-tab-active').textContent.includes('ListConnections')`)
	step("run the preloaded query", chromedp.Click(chromedp.CSS(".graphiql-execute-button")))
	waitFor("the preloaded query's result", resultHas(`"name": "`+srv.User+`"`)+` && `+resultHas(`"total": 0`)+` && `+resultHas(`"connections": []`))
	screenshot("05-result.png")

	// 5. Sign out: the session ends and the banner is back.
	navigate("sign out", chromedp.Click(chromedp.CSS("#junction-signout")))
	step("GraphiQL after sign-out", chromedp.WaitVisible(chromedp.CSS(".graphiql-container")))
	waitFor("signed out after sign-out", `document.body.dataset.signedIn === 'false'`)
	step("sign-in banner after sign-out", chromedp.WaitVisible(chromedp.CSS("#junction-notice")))

	// 6. Without a session, a token in the Headers tab works too: the
	// schema loads, the bar says so, a query runs; the token is not kept
	// in localStorage.
	step("type a token in the Headers tab",
		chromedp.Click(chromedp.CSS(`button[data-name="headers"]`)),
		chromedp.Click(chromedp.CSS(visibleToolEditor)),
		insertText(`{"Authorization": "Bearer `+srv.Token+`"}`),
		chromedp.Click(chromedp.CSS(`button[aria-label="Re-fetch GraphQL schema"]`)),
	)
	waitFor("signed in with the header", signedInAs(" (e2e, admin) with the Authorization header"))
	step("no sign-in banner with the header", chromedp.WaitNotVisible(chromedp.CSS("#junction-notice")))
	step("type { me { name } }",
		chromedp.Click(chromedp.CSS(".graphiql-query-editor .CodeMirror")),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		insertText("{ me { name } }"),
	)
	// GraphiQL takes the operation name from the editor after a short
	// debounce; the tab's title shows when it has.
	waitFor("the edit to reach GraphiQL", `document.querySelector('.graphiql-tab-active').textContent.includes('<untitled>')`)
	step("run it", chromedp.Click(chromedp.CSS(".graphiql-execute-button")))
	waitFor("the user's name in the result pane", resultHas(`"name": "`+srv.User+`"`)+` && !`+resultHas(`"total"`))
	screenshot("06-header-token.png")
	noToken, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!JSON.stringify(Object.assign({}, localStorage)).includes(`+jsString(srv.Token)+`)`))
	if err != nil || !noToken {
		t.Errorf("the token typed in the Headers tab was persisted in localStorage (err %v)", err)
	}
	// A reload keeps the six tabs (no extra "<untitled>" one) and, without
	// the header (not persisted) or a session, shows the banner again.
	// GraphiQL saves its tabs to localStorage after a debounce of its own;
	// reloading before that would lose the edit whatever Junction does.
	waitFor("the edited tab to be saved", `(localStorage.getItem('graphiql:tabState') || '').includes('me { name }')`)
	step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".graphiql-container")))
	waitFor("signed out after the reload", `document.body.dataset.signedIn === 'false'`)
	tabs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.graphiql-tab')).map(t => t.textContent)`))
	if err != nil || len(tabs) != 6 || !strings.Contains(tabs[0], "<untitled>") {
		t.Errorf("after a reload the tabs are %q (%v), want the six of before", tabs, err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if !strings.HasPrefix(u, base+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s, outside %s", u, base)
		}
	}
	for _, p := range problems {
		t.Errorf("in the page: %s", p)
	}
	if len(requests) == 0 {
		t.Error("no request was recorded: is the Network domain enabled?")
	}
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// browserPath is Debian's chromium (or JUNCTION_TEST_CHROMIUM); without it
// the test skips, unless JUNCTION_TEST_REQUIRE_BROWSER=1.
func browserPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("JUNCTION_TEST_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("no browser at %s (%v): install Debian's chromium (apt-get install -y chromium) or set JUNCTION_TEST_CHROMIUM", p, err)
		if os.Getenv("JUNCTION_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + "; JUNCTION_TEST_REQUIRE_BROWSER=1 makes this a failure")
		}
		t.Skip(msg + "; JUNCTION_TEST_REQUIRE_BROWSER=1 makes this a failure")
	}
	if testing.Short() {
		t.Skip("the browser test does not run with -short")
	}
	return p
}

// artifactsDir is JUNCTION_TEST_ARTIFACTS/<test name> when that is set (CI
// keeps it), else a temporary directory that the test removes.
func artifactsDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("JUNCTION_TEST_ARTIFACTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pageBase is the server's URL after checking that its "/" is the offline
// GraphiQL page (its Content-Security-Policy and asset URLs).
func pageBase(t *testing.T, srv *server) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Security-Policy") != graphiql.ContentSecurityPolicy || !strings.Contains(string(body), graphiql.AssetPrefix) {
		t.Fatalf("the server's / is not the offline GraphiQL page: %s\n%.300s", resp.Status, body)
	}
	return srv.URL
}
