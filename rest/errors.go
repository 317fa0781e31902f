package rest

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/junctionhq/junction/resolvers"
)

// errorBody is every non-422 error: a human message and a machine code.
type errorBody struct {
	Detail string `json:"detail"`
	Code   string `json:"code,omitempty"`
}

// validationBody is a 422: pydantic-shaped problems with full locations.
type validationBody struct {
	Detail []resolvers.FieldError `json:"detail"`
}

// response is an error as the client sees it.
type response struct {
	Status int
	Body   any
	Header http.Header
	// Internal errors are logged; the client sees only a masked message.
	Internal bool
}

// errorResponse is the one place an error becomes a status and a body.
// Validation problems must already carry full locations (see locator).
func errorResponse(err error) response {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return response{Status: http.StatusRequestEntityTooLarge, Body: errorBody{
			Detail: fmt.Sprintf("Request body too large: the limit is %d bytes", tooLarge.Limit), Code: "request_too_large"}}
	}
	e, internal := resolvers.AsError(err)
	status, ok := statusOf[e.Code]
	if internal || !ok || e.Code == resolvers.CodeInternal {
		return response{Status: http.StatusInternalServerError, Internal: true,
			Body: errorBody{Detail: "Internal server error", Code: string(resolvers.CodeInternal)}}
	}
	switch e.Code {
	case resolvers.CodeValidation:
		fields := e.Fields
		if len(fields) == 0 {
			fields = []resolvers.FieldError{{Loc: []any{"body"}, Msg: e.Message, Type: "value_error"}}
		}
		return response{Status: status, Body: validationBody{Detail: fields}}
	case resolvers.CodeUnauthenticated:
		return response{Status: status, Body: errorBody{Detail: "Not authenticated"}}
	}
	r := response{Status: status, Body: errorBody{Detail: e.Message, Code: string(e.Code)}}
	if e.RetryAfter > 0 {
		r.Header = http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds())))}}
	}
	return r
}

// statusOf maps every client-visible code to its HTTP status.
var statusOf = map[resolvers.Code]int{
	resolvers.CodeValidation:       http.StatusUnprocessableEntity,
	resolvers.CodeUnauthenticated:  http.StatusUnauthorized,
	resolvers.CodeNotFound:         http.StatusNotFound,
	resolvers.CodeForbidden:        http.StatusForbidden,
	resolvers.CodeConflict:         http.StatusConflict,
	resolvers.CodeDisabled:         http.StatusConflict,
	resolvers.CodeUnsupported:      http.StatusBadRequest,
	resolvers.CodeProviderError:    http.StatusBadGateway,
	resolvers.CodeProviderTimeout:  http.StatusGatewayTimeout,
	resolvers.CodeRateLimited:      http.StatusTooManyRequests,
	resolvers.CodeInternal:         http.StatusInternalServerError,
	resolvers.CodeUnavailable:      http.StatusServiceUnavailable,
	resolvers.CodeQueryFailed:      http.StatusBadRequest,
	resolvers.CodeAuthFailed:       http.StatusBadGateway,
	resolvers.CodePermissionDenied: http.StatusBadGateway,
	resolvers.CodeUnreachable:      http.StatusBadGateway,
	resolvers.CodeTLSError:         http.StatusBadGateway,
	resolvers.CodeBlockedAddress:   http.StatusBadGateway,
	resolvers.CodeInvalidConfig:    http.StatusBadGateway,
}

// writeError answers r with err; internal errors are logged with the
// request's context (and so its request id), never shown.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	resp := errorResponse(err)
	if resp.Internal {
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	WriteJSON(w, resp.Status, resp.Body)
}

// locator turns a resolver location (relative to the operation's input:
// ["name"], ["config", "host"], ["id"]) into a REST one (["body", "name"],
// ["path", "connection_id"]).
type locator func(loc []any) []any

// in prefixes every location with section ("body", "query"), except the
// fields in renamed, which get their full REST location instead.
func in(section string, renamed map[string][]any) locator {
	return func(loc []any) []any {
		if len(loc) > 0 {
			if s, ok := loc[0].(string); ok {
				if to, ok := renamed[s]; ok {
					return append(slices.Clone(to), loc[1:]...)
				}
			}
		}
		return append([]any{section}, loc...)
	}
}

// pathID relocates the resolver's ["id"] to the connection_id path parameter.
var pathID = map[string][]any{"id": {"path", "connection_id"}}

// relocate returns err with its validation locations rewritten by loc. A
// provider's typed error is classified first, so a refused statement (which
// the resolvers see as a problem at ["sql"]) is relocated too.
func relocate(err error, loc locator) error {
	if loc == nil || err == nil {
		return err
	}
	e, internal := resolvers.AsError(err)
	if internal || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]resolvers.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		f.Loc = loc(f.Loc)
		out.Fields[i] = f
	}
	return &out
}
