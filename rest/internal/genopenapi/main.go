// Command genopenapi writes the REST shim's OpenAPI document
// (rest/internal/openapidoc) to the file named by -o. It is run by
// `go generate ./rest` (see rest/openapi.go).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/junctionhq/junction/rest/internal/openapidoc"
)

func main() {
	out := flag.String("o", "openapi.json", "the file to write")
	flag.Parse()
	b, err := openapidoc.JSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genopenapi:", err)
		os.Exit(1)
	}
	// An unchanged document leaves the file (and its time) alone.
	if have, err := os.ReadFile(*out); err == nil && bytes.Equal(have, b) {
		return
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genopenapi:", err)
		os.Exit(1)
	}
}
