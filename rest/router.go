// Package rest is the legacy REST shim at /api/v1: each handler parses the
// request, calls ONE resolver method (the same one GraphQL uses) and writes
// the result. errors.go is the one place errors become statuses and bodies.
package rest

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/junctionhq/junction/resolvers"
)

// Router returns the /api/v1 routes.
func Router(res *resolvers.Resolver, log *slog.Logger) chi.Router {
	r := chi.NewRouter()
	return r
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
