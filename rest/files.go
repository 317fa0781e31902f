package rest

import (
	"net/http"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/resolvers"
)

// filesParams are GET .../files's query parameters in the endpoint's order.
var filesParams = []string{"path", "pageToken", "pageSize"}

// listFiles serves GET /connections/{connection_id}/files: one page of a
// folder below the connection's root.
func (h *handler) listFiles(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	q := query{values: r.URL.Query()}
	fi := resolvers.FilesInput{Path: "/", PageToken: q.optStr("pageToken"), PageSize: resolvers.DefaultFilesPageSize}
	if v := q.optStr("path"); v != nil {
		fi.Path = *v
	}
	if n := q.int("pageSize", &p); n != nil {
		fi.PageSize = *n
		p.between(*n, 1, resolvers.MaxFilesPageSize, "query", "pageSize")
	}
	loc := in("query", pathID)
	if p.any() {
		if id != "" {
			// Only pageSize can be wrong here. With a size out of range
			// the resolver answers before any provider call, so it is
			// safe to ask it for its own problems (path, pageToken) too.
			if fi.PageSize >= 1 && fi.PageSize <= resolvers.MaxFilesPageSize {
				fi.PageSize = 0
			}
			_, err := h.res.ListFiles(r.Context(), id, fi)
			p.merge(err, loc)
		}
		h.invalid(w, r, &p, filesParams)
		return
	}
	page, err := h.res.ListFiles(r.Context(), id, fi)
	if err != nil {
		h.fail(w, r, err, loc, filesParams)
		return
	}
	if page.Items == nil {
		page.Items = []*model.FileItem{}
	}
	WriteJSON(w, http.StatusOK, page)
}

// validateFiles serves POST /connections/{connection_id}/files/validate:
// counts the selected files (folders recursively) against the server's limits.
func (h *handler) validateFiles(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	o, err := readBody(r, &p)
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	selected := parseSelection(o, &p)
	if p.any() {
		h.invalid(w, r, &p, validateFields)
		return
	}
	v, err := h.res.ValidateFileSelection(r.Context(), id, selected)
	if err != nil {
		h.fail(w, r, err, in("body", pathID), validateFields)
		return
	}
	if v.Violations == nil {
		v.Violations = []*model.FileViolation{}
	}
	WriteJSON(w, http.StatusOK, v)
}
