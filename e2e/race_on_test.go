//go:build race

package e2e

// raceBuild: the server under test is built with -race like the tests.
const raceBuild = true
