package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/resolvers"
)

type handler struct {
	res *resolvers.Resolver
	log *slog.Logger
}

// fail answers r with err, its validation locations rewritten by loc and
// sorted by the request model's field order.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error, loc locator, order []string) {
	err = relocate(err, loc)
	var e *resolvers.Error
	if errors.As(err, &e) && e.Code == resolvers.CodeValidation && len(e.Fields) > 0 {
		err = (&problems{list: e.Fields}).err(order)
	}
	writeError(w, r, h.log, err)
}

// invalid answers r with the problems found while parsing, sorted by order.
func (h *handler) invalid(w http.ResponseWriter, r *http.Request, p *problems, order []string) {
	writeError(w, r, h.log, p.err(order))
}

// connection writes c, or 404 when the resolver found nothing visible.
func (h *handler) connection(w http.ResponseWriter, r *http.Request, status int, c *model.Connection, err error, loc locator, order []string) {
	switch {
	case err != nil:
		h.fail(w, r, err, loc, order)
	case c == nil:
		WriteJSON(w, http.StatusNotFound, errorBody{Detail: "Connection not found", Code: string(resolvers.CodeNotFound)})
	default:
		writeConnection(w, status, c)
	}
}

// connectionList is the list response: the page plus its users by id.
type connectionList struct {
	Connections []*model.Connection    `json:"connections"`
	HasNext     bool                   `json:"hasNext"`
	Limit       int                    `json:"limit"`
	Offset      int                    `json:"offset"`
	Total       int                    `json:"total"`
	Users       map[string]*model.User `json:"users"`
	NextCursor  *string                `json:"nextCursor"`
}

func (h *handler) listConnections(w http.ResponseWriter, r *http.Request) {
	var p problems
	lr := parseList(r, &p)
	loc := in("query", map[string][]any{"sort": {"query", lr.sortName}, "order": {"query", lr.orderBy}})
	li := lr.in
	if p.any() {
		// The list is a read: run it with what parsed to collect the
		// resolver's own problems too, then answer with all of them.
		_, err := h.res.Query().Connections(r.Context(), li.Search, li.Sort, li.Order, li.Limit, li.Offset, li.Cursor)
		p.merge(err, loc)
		h.invalid(w, r, &p, listParams)
		return
	}
	list, err := h.res.Query().Connections(r.Context(), li.Search, li.Sort, li.Order, li.Limit, li.Offset, li.Cursor)
	if err != nil {
		h.fail(w, r, err, loc, listParams)
		return
	}
	users, err := h.res.ListUsers(r.Context(), list)
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	out := connectionList{Connections: list.Connections, HasNext: list.HasNext, Limit: list.Limit, Offset: list.Offset,
		Total: list.Total, Users: make(map[string]*model.User, len(users)), NextCursor: list.NextCursor}
	if out.Connections == nil {
		out.Connections = []*model.Connection{}
	}
	for _, u := range users {
		out.Users[u.ID] = u
	}
	writeConnectionList(w, http.StatusOK, out)
}

func (h *handler) createConnection(w http.ResponseWriter, r *http.Request) {
	var p problems
	o, err := readBody(r, &p)
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	input := parseCreate(o, &p)
	loc := in("body", nil)
	if p.any() {
		if o != nil {
			p.merge(h.res.ValidateCreateConnection(r.Context(), input), loc)
		}
		h.invalid(w, r, &p, createFields)
		return
	}
	c, err := h.res.Mutation().CreateConnection(r.Context(), input)
	if err == nil && c != nil {
		w.Header().Set("Location", strings.TrimSuffix(r.URL.Path, "/")+"/"+c.ID)
	}
	h.connection(w, r, http.StatusCreated, c, err, loc, createFields)
}

func (h *handler) getConnectionBySlug(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if s, err := url.PathUnescape(slug); err == nil {
		slug = s
	}
	c, err := h.res.Query().ConnectionBySlug(r.Context(), slug)
	h.connection(w, r, http.StatusOK, c, err, in("path", nil), nil)
}

func (h *handler) getConnection(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	if p.any() {
		h.invalid(w, r, &p, nil)
		return
	}
	c, err := h.res.Query().Connection(r.Context(), id)
	h.connection(w, r, http.StatusOK, c, err, in("path", pathID), nil)
}

func (h *handler) updateConnection(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	o, err := readBody(r, &p)
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	input := parseUpdate(o, &p)
	loc := in("body", pathID)
	if p.any() {
		if o != nil && id != "" {
			p.merge(h.res.ValidateUpdateConnection(r.Context(), id, input), loc)
		}
		h.invalid(w, r, &p, updateFields)
		return
	}
	c, err := h.res.Mutation().UpdateConnection(r.Context(), id, input)
	h.connection(w, r, http.StatusOK, c, err, loc, updateFields)
}

func (h *handler) deleteConnection(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	if p.any() {
		h.invalid(w, r, &p, nil)
		return
	}
	if _, err := h.res.Mutation().DeleteConnection(r.Context(), id); err != nil {
		h.fail(w, r, err, in("path", pathID), nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// byID serves the POST actions on one connection: parse the id, call one
// mutation, write the connection.
func (h *handler) byID(call func(ctx context.Context, id string) (*model.Connection, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var p problems
		id := pathUUID(r, "connection_id", &p)
		if p.any() {
			h.invalid(w, r, &p, nil)
			return
		}
		c, err := call(r.Context(), id)
		h.connection(w, r, http.StatusOK, c, err, in("path", pathID), nil)
	}
}

// editSettingsBody is GET .../edit-settings: the config and, for every
// secret field of the provider's spec, whether it is set.
type editSettingsBody struct {
	Config       map[string]any          `json:"config"`
	SecretFields map[string]secretStatus `json:"secretFields"`
}

type secretStatus struct {
	Configured bool `json:"configured"`
}

func (h *handler) editSettings(w http.ResponseWriter, r *http.Request) {
	var p problems
	id := pathUUID(r, "connection_id", &p)
	if p.any() {
		h.invalid(w, r, &p, nil)
		return
	}
	es, err := h.res.EditSettingsByID(r.Context(), id)
	if err != nil {
		h.fail(w, r, err, in("path", pathID), nil)
		return
	}
	out := editSettingsBody{Config: es.Config, SecretFields: make(map[string]secretStatus, len(es.SecretFields))}
	if out.Config == nil {
		out.Config = map[string]any{}
	}
	for _, f := range es.SecretFields {
		out.SecretFields[f.Name] = secretStatus{Configured: f.Configured}
	}
	WriteJSON(w, http.StatusOK, out)
}

func (h *handler) testConnection(w http.ResponseWriter, r *http.Request) {
	var p problems
	o, err := readBody(r, &p)
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	input := parseTest(o, &p)
	loc := in("body", map[string][]any{"id": {"body", "connectionId"}})
	if p.any() {
		if o != nil {
			p.merge(h.res.ValidateTestConnection(r.Context(), input), loc)
		}
		h.invalid(w, r, &p, testFields)
		return
	}
	res, err := h.res.Mutation().TestConnection(r.Context(), input)
	if err != nil {
		h.fail(w, r, err, loc, testFields)
		return
	}
	if res.Details == nil {
		res.Details = map[string]any{}
	}
	WriteJSON(w, http.StatusOK, res)
}

func (h *handler) providers(w http.ResponseWriter, r *http.Request) {
	specs, err := h.res.Query().Providers(r.Context())
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	if specs == nil {
		specs = []*model.ProviderSpec{}
	}
	WriteJSON(w, http.StatusOK, specs)
}

func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	me, err := h.res.Query().Me(r.Context())
	if err != nil {
		h.fail(w, r, err, nil, nil)
		return
	}
	WriteJSON(w, http.StatusOK, me)
}
