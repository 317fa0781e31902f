package resolvers

import (
	"context"

	"github.com/junctionhq/junction/graph/model"
)

// This file holds what the REST shim needs beyond the GraphQL operations:
// validation without side effects. When a request body is partly malformed
// (a field of the wrong JSON type), the shim still wants every other problem
// of the request in the same 422, as FastAPI reports them; it passes what it
// could read to these methods, which run the checks of the matching mutation
// and write nothing. GraphQL clients may use them for form validation too.

// ValidateCreateConnection reports, as a validation *Error, every problem
// CreateConnection would report for in; nil when there is none. Nothing is
// written.
func (r *Resolver) ValidateCreateConnection(ctx context.Context, in model.CreateConnectionInput) error {
	if _, err := caller(ctx); err != nil {
		return err
	}
	_, err := r.planCreate(ctx, in)
	return err
}

// ValidateUpdateConnection reports every problem UpdateConnection would
// report for id and in (not found and forbidden included); nil when there is
// none. Nothing is written.
func (r *Resolver) ValidateUpdateConnection(ctx context.Context, id string, in model.UpdateConnectionInput) error {
	who, err := caller(ctx)
	if err != nil {
		return err
	}
	c, err := r.loadForEdit(ctx, who, id)
	if err != nil {
		return err
	}
	_, _, err = r.applyUpdate(ctx, c, in)
	return err
}

// ValidateTestConnection reports every validation problem TestConnection
// would report for in; nil when there is none. No provider is called.
func (r *Resolver) ValidateTestConnection(ctx context.Context, in model.TestConnectionInput) error {
	who, err := caller(ctx)
	if err != nil {
		return err
	}
	_, err = r.planTest(ctx, who, in)
	return err
}
