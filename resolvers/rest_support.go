package resolvers

import (
	"context"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/providers"
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
	errs := checkName([]any{"name"}, in.Name)
	drv, ok := r.Providers.Get(string(in.Provider))
	if !ok {
		errs = append(errs, enumError([]any{"provider"}, r.Providers.Names()))
	}
	if s := in.Slug.Value(); s != nil {
		errs = append(errs, checkSlug([]any{"slug"}, *s)...)
	}
	if v := in.Visibility.Value(); v != nil && !v.IsValid() {
		errs = append(errs, enumError([]any{"visibility"}, enumStrings(model.AllVisibility)))
	}
	secrets, serrs := stringMap([]any{"credentials"}, in.Credentials.Value(), false)
	errs = append(errs, serrs...)
	if drv != nil {
		_, verrs := validateSpec(drv.Spec(), orEmpty(in.Config.Value()), secrets)
		errs = append(errs, verrs...)
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
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
	_, _, err = r.applyUpdate(c, in)
	return err
}

// ValidateTestConnection reports every validation problem TestConnection
// would report for in; nil when there is none. No provider is called.
func (r *Resolver) ValidateTestConnection(ctx context.Context, in model.TestConnectionInput) error {
	who, err := caller(ctx)
	if err != nil {
		return err
	}
	var errs []FieldError
	if idp := in.ConnectionID.Value(); idp != nil {
		c, err := r.loadForEdit(ctx, who, *idp)
		if err != nil {
			return err
		}
		if p := in.Provider.Value(); p != nil && string(*p) != c.Provider {
			errs = append(errs, FieldError{Loc: []any{"provider"}, Msg: "Input should match the stored connection's provider '" + c.Provider + "'", Type: "value_error"})
		}
		drv, ok := r.Providers.Get(c.Provider)
		if !ok {
			return invalid(errs...)
		}
		stored, err := r.Store.OpenSecrets(c)
		if err != nil {
			return err
		}
		cfgIn := orEmpty(in.Config.Value())
		if !in.Config.IsSet() {
			cfgIn = c.Config
		}
		merged, sent, serrs := mergeSecrets(stored, in.Credentials.Value())
		errs = append(errs, serrs...)
		settings, verrs := validateSpec(drv.Spec(), cfgIn, onlySpecSecrets(merged, sent))
		errs = append(errs, verrs...)
		if len(verrs) == 0 {
			errs = append(errs, targetGuard(drv.Spec(), c.Config, settings, merged, sent)...)
		}
	} else {
		var drv providers.Driver
		if p := in.Provider.Value(); p == nil {
			errs = append(errs, FieldError{Loc: []any{"provider"}, Msg: "Field required", Type: "missing"})
		} else if d, ok := r.Providers.Get(string(*p)); ok {
			drv = d
		} else {
			errs = append(errs, enumError([]any{"provider"}, r.Providers.Names()))
		}
		secrets, serrs := stringMap([]any{"credentials"}, in.Credentials.Value(), false)
		errs = append(errs, serrs...)
		if drv != nil {
			_, verrs := validateSpec(drv.Spec(), orEmpty(in.Config.Value()), secrets)
			errs = append(errs, verrs...)
		}
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}
