package main

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/junctionhq/junction/graph"
	"github.com/junctionhq/junction/providers"
)

// defaultMaxResponseBytes is JUNCTION_GRAPHQL_MAX_RESPONSE_BYTES's default.
const defaultMaxResponseBytes = 10 << 20

// costProviders makes Query.providers cost what it produces: every
// registered spec, each with up to the most fields any spec has. 2,000
// aliases of it in a 43 KB query used to answer 71.9 MB in 17.8 s; priced
// by size, such a query is refused by the complexity limit before it runs.
func costProviders(gc *graph.Config, reg *providers.Registry) {
	specs := reg.Specs()
	fields := 1
	for _, s := range specs {
		fields = max(fields, len(s.Fields))
	}
	gc.Complexity.Query.Providers = func(child int) int { return 1 + child*max(len(specs), 1) }
	gc.Complexity.ProviderSpec.Fields = func(child int) int { return 1 + child*fields }
}

// responseCap is a gqlgen extension that answers an error instead of a
// response whose data is larger than max bytes: a client gets a clear
// refusal, never a truncated JSON document.
type responseCap struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = responseCap{}

func (responseCap) ExtensionName() string                          { return "ResponseCap" }
func (responseCap) Validate(schema graphql.ExecutableSchema) error { return nil }

func (c responseCap) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	n := len(resp.Data)
	for _, e := range resp.Errors {
		n += len(e.Message)
	}
	if n <= c.max {
		return resp
	}
	return &graphql.Response{Errors: gqlerror.List{{
		Message:    fmt.Sprintf("The response would be larger than %d bytes, the most this server sends (JUNCTION_GRAPHQL_MAX_RESPONSE_BYTES): ask for fewer fields, aliases or rows", c.max),
		Extensions: map[string]any{"code": "response_too_large"},
	}}}
}
