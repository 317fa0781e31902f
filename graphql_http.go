package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/junctionhq/junction/internal/jsonenc"
	"github.com/junctionhq/junction/rest"
)

// GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/),
// POST and GET, in place of gqlgen's transports, so that:
//
//   - the response is application/graphql-response+json when the client
//     accepts it, else application/json;
//   - a body that is not a well-formed GraphQL-over-HTTP request (not JSON,
//     a parameter of the wrong type, no query) is 400 for both media types;
//   - a request error (the document does not parse or validate, variables
//     do not coerce: nothing was executed) is 200 with application/json and
//     400 with application/graphql-response+json, and has no "data" entry;
//   - a body over the cap is 413 request_too_large, like REST, whether or
//     not it declared its length;
//   - a POST that is not application/json is 415, a GET mutation 405;
//   - a result carrying an "unavailable" error (the database is down) sends
//     Retry-After.
//
// graphql-http's server audit (.ci/graphql-audit.mjs) checks it in CI.
type graphqlTransport struct{}

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

var _ graphql.Transport = graphqlTransport{}

func (graphqlTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") == "" }

func (graphqlTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	var params *graphql.RawParams
	var bad string
	start := graphql.Now()
	switch r.Method {
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != mediaJSON {
			writeGraphQLError(w, http.StatusUnsupportedMediaType, "Unsupported media type: send the request as application/json", "unsupported_media_type")
			return
		}
		buf := bodyBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r.Body)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			bodyBuffers.Put(buf)
			writeTooLarge(w, tooLarge.Limit)
			return
		}
		if err != nil {
			bodyBuffers.Put(buf)
			writeGraphQLError(w, http.StatusBadRequest, "Could not read the request body", "bad_request")
			return
		}
		// The parameters are copied out of the body, which is reused.
		params, bad = decodePostParams(buf.Bytes())
		if buf.Cap() <= maxPooledBody {
			bodyBuffers.Put(buf)
		}
	case http.MethodGet:
		params, bad = decodeGetParams(r.URL.RawQuery)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeGraphQLError(w, http.StatusMethodNotAllowed, "Method not allowed: use POST (or GET for queries)", "method_not_allowed")
		return
	}
	if bad != "" {
		writeGraphQLError(w, http.StatusBadRequest, bad, "bad_request")
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx := r.Context()
	opCtx, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), opErr)
		writeGraphQL(w, status, requestError{Errors: resp.Errors, Extensions: resp.Extensions})
		return
	}
	if r.Method == http.MethodGet {
		if op := opCtx.Doc.Operations.ForName(opCtx.OperationName); op == nil || op.Operation != ast.Query {
			w.Header().Set("Allow", "POST")
			writeGraphQLError(w, http.StatusMethodNotAllowed, "GET requests only allow query operations; send mutations with POST", "method_not_allowed")
			return
		}
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if retry := retryAfter(resp.Errors); retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	writeGraphQL(w, http.StatusOK, resp)
}

// requestError is the response to a request that was not executed: the
// spec wants no "data" entry at all.
type requestError struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// bodyBuffers hold POST bodies while they are decoded; a buffer that grew
// past maxPooledBody is left to the collector.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 64 << 10

// postParams are the parameters of a POST, the objects kept as their text.
type postParams struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// decodePostParams reads a JSON body of GraphQL-over-HTTP parameters; bad
// says why it is not a well-formed request. A body that decodes as it
// should takes one json.Unmarshal (the objects, when present, are decoded
// keeping their numbers exact); anything else goes through
// decodePostParamsSlowly, which says what is wrong.
func decodePostParams(body []byte) (*graphql.RawParams, string) {
	var pp postParams
	if json.Unmarshal(body, &pp) != nil {
		return decodePostParamsSlowly(body)
	}
	p := &graphql.RawParams{Query: pp.Query, OperationName: pp.OperationName}
	for _, o := range []struct {
		text json.RawMessage
		into *map[string]any
	}{{pp.Variables, &p.Variables}, {pp.Extensions, &p.Extensions}} {
		if len(o.text) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(o.text))
		dec.UseNumber()
		if dec.Decode(o.into) != nil {
			return decodePostParamsSlowly(body)
		}
	}
	return p, missingQuery(p)
}

// decodePostParamsSlowly is decodePostParams with one json.Decoder over the
// whole body, which tells a wrong type, broken JSON and trailing data apart.
func decodePostParamsSlowly(body []byte) (*graphql.RawParams, string) {
	var p graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, "The request body is empty: send {\"query\": \"...\"}"
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Sprintf("The %q parameter has the wrong type (%s): want query and operationName strings, variables and extensions objects", typeErr.Field, typeErr.Value)
		}
		// Never echo the body: it may carry credentials.
		return nil, "The request body is not valid JSON"
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, "The request body has data after its JSON object"
	}
	return &p, missingQuery(&p)
}

// decodeGetParams reads the URL query parameters of a GET.
func decodeGetParams(rawQuery string) (*graphql.RawParams, string) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, "The URL query string is malformed"
	}
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for name, into := range map[string]*map[string]any{"variables": &p.Variables, "extensions": &p.Extensions} {
		if v := q.Get(name); v != "" {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(into); err != nil {
				return nil, fmt.Sprintf("The %q parameter must be a JSON object", name)
			}
		}
	}
	return p, missingQuery(p)
}

// missingQuery refuses a request without a document, unless it names an
// automatic persisted query (the extension supplies the document).
func missingQuery(p *graphql.RawParams) string {
	if p.Query != "" {
		return ""
	}
	if _, ok := p.Extensions["persistedQuery"]; ok {
		return ""
	}
	return "The query parameter is missing: send {\"query\": \"...\"}"
}

// responseMediaType picks the response media type from Accept: the
// acceptable one with the highest q (ties: the first listed), application/json
// when Accept is absent, lists */* or application/*, or names nothing we serve.
func responseMediaType(accept string) string {
	best, bestQ := mediaJSON, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		var m string
		switch mt {
		case mediaGraphQLResponse:
			m = mediaGraphQLResponse
		case mediaJSON, "*/*", "application/*":
			m = mediaJSON
		default:
			continue
		}
		if q > 0 && q > bestQ {
			best, bestQ = m, q
		}
	}
	return best
}

// retryAfter is the Retry-After (seconds) of a result whose errors include
// "unavailable", or 0.
func retryAfter(errs gqlerror.List) int {
	for _, e := range errs {
		if e.Extensions["code"] == "unavailable" {
			if s, ok := e.Extensions["retryAfterSeconds"].(int); ok && s > 0 {
				return s
			}
			return int(unavailableRetryAfter.Seconds())
		}
	}
	return 0
}

func writeGraphQL(w http.ResponseWriter, status int, v any) {
	if resp, ok := v.(*graphql.Response); ok {
		if b, ok := appendResponse(make([]byte, 0, len(resp.Data)+128), resp); ok {
			w.WriteHeader(status)
			w.Write(b)
			return
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("graphql: encode response: %w", err)) // answered 500 by recoverPanics
	}
	w.WriteHeader(status)
	w.Write(b)
}

// appendResponse appends resp as json.Marshal writes it, without running
// encoding/json's compaction (its scanner, byte by byte) over the data:
// jsonenc.AppendCompact does the same in a fraction of the time. It reports
// false for what it leaves to json.Marshal: incremental-delivery fields,
// and data that is not one well-formed JSON value.
func appendResponse(b []byte, resp *graphql.Response) ([]byte, bool) {
	if resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		return nil, false
	}
	b = append(b, '{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			return nil, false
		}
		b = append(b, `"errors":`...)
		b = append(b, errs...)
		b = append(b, ',')
	}
	b = append(b, `"data":`...)
	if resp.Data == nil {
		b = append(b, "null"...)
	} else {
		var ok bool
		if b, ok = jsonenc.AppendCompact(b, resp.Data, true); !ok {
			return nil, false
		}
	}
	if len(resp.Extensions) > 0 {
		ext, err := json.Marshal(resp.Extensions)
		if err != nil {
			return nil, false
		}
		b = append(b, `,"extensions":`...)
		b = append(b, ext...)
	}
	return append(b, '}'), true
}

// writeGraphQLError answers a request that never reached the executor: a
// GraphQL-shaped error (no data) with a code in its extensions.
func writeGraphQLError(w http.ResponseWriter, status int, msg, code string) {
	writeGraphQL(w, status, requestError{Errors: gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}}})
}

// writeTooLarge is the 413 of a body over the cap, on every surface.
func writeTooLarge(w http.ResponseWriter, limit int64) {
	rest.WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]string{
		"detail": fmt.Sprintf("Request body too large (limit %d bytes)", limit), "code": "request_too_large"})
}
