package rest

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 document of this REST surface. It is built by
// rest/internal/openapidoc and written by `go generate ./rest`; tests fail
// when the file is stale or its paths and the router's routes differ.
//
//go:generate go run ./internal/genopenapi -o openapi.json
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the /api/v1 routes.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// OpenAPIHandler serves the OpenAPI document.
func OpenAPIHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPI)
}
