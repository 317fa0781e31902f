// Package e2e holds end-to-end tests that build the junction binary, start
// it on a loopback port with a fresh SQLite data directory and drive it from
// outside: today a real headless Chromium against the GraphiQL page
// (graphiql_browser_test.go).
//
// The browser test needs Debian's chromium at /usr/bin/chromium (or
// JUNCTION_TEST_CHROMIUM): without it the test skips, unless
// JUNCTION_TEST_REQUIRE_BROWSER=1, when it fails. Screenshots go to
// JUNCTION_TEST_ARTIFACTS when set, else to the test's temporary directory.
package e2e
