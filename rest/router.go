// Package rest is the legacy REST shim at /api/v1: each handler parses the
// request, calls ONE resolver method (the same one GraphQL uses) and writes
// the result. errors.go is the one place errors become statuses and bodies.
//
// Parsing follows FastAPI and pydantic v2: the body is read as generic JSON
// so every problem of a request (path, query and body) is reported in one
// 422 with pydantic's error types and messages. When the body itself is
// malformed the handler asks the resolver to validate what could be read
// (the Validate* methods), so the answer still lists every problem.
package rest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/junctionhq/junction/resolvers"
)

// Router returns the /api/v1 routes. Every route is listed in openapi.json;
// a test fails when the two disagree.
func Router(res *resolvers.Resolver, log *slog.Logger) chi.Router {
	h := &handler{res: res, log: log}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusNotFound, errorBody{Detail: "Not Found"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed(r, req), ", "))
		WriteJSON(w, http.StatusMethodNotAllowed, errorBody{Detail: "Method Not Allowed"})
	})
	r.Get("/connections", h.listConnections)
	r.Post("/connections", h.createConnection)
	r.Post("/connections/test", h.testConnection)
	r.Get("/connections/slug/{slug}", h.getConnectionBySlug)
	r.Get("/connections/{connection_id}", h.getConnection)
	r.Patch("/connections/{connection_id}", h.updateConnection)
	r.Delete("/connections/{connection_id}", h.deleteConnection)
	m := res.Mutation()
	r.Post("/connections/{connection_id}/disable", h.byID(m.DisableConnection))
	r.Post("/connections/{connection_id}/reactivate", h.byID(m.ReactivateConnection))
	r.Post("/connections/{connection_id}/set-default", h.byID(m.SetDefaultConnection))
	r.Post("/connections/{connection_id}/verify", h.byID(m.VerifyConnection))
	r.Get("/connections/{connection_id}/edit-settings", h.editSettings)
	r.Get("/connections/{connection_id}/files", h.listFiles)
	r.Post("/connections/{connection_id}/files/validate", h.validateFiles)
	r.Get("/connections/{connection_id}/schema/tables", h.schemaTables)
	r.Get("/connections/{connection_id}/schema/columns", h.schemaColumns)
	r.Post("/connections/{connection_id}/schema/sample", h.sampleTable)
	r.Post("/connections/{connection_id}/schema/query", h.runQuery)
	r.Get("/providers", h.providers)
	r.Get("/me", h.me)
	r.Get("/openapi.json", OpenAPIHandler)
	return r
}

// allowed lists the methods r serves for req's path, for a 405's Allow header.
func allowed(r chi.Router, req *http.Request) []string {
	path := req.URL.Path
	if rctx := chi.RouteContext(req.Context()); rctx != nil && rctx.RoutePath != "" {
		path = rctx.RoutePath
	}
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		if r.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return out
}

// WriteJSON writes v as JSON with status. Like Python's json module it does
// not escape <, > and &.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"detail":"Internal server error","code":"internal"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
