package resolvers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/graph-gophers/dataloader/v7"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/store"
)

// loaderWait is the batching window: long enough for sibling resolvers to
// join, short enough not to add a visible delay per nesting level.
const loaderWait = 2 * time.Millisecond

// Loaders are the per-request dataloaders.
type Loaders struct {
	// Users is made at its first use (through usersLoader), so a request
	// that reads no users allocates no loader; a test may set it first.
	Users     *dataloader.Loader[string, *model.User]
	usersOnce sync.Once
	// users is Users' batch function, which primeUsers calls directly.
	users dataloader.BatchFunc[string, *model.User]
	// slots bounds the provider calls the request runs at once.
	slotsOnce sync.Once
	slots     chan struct{}
	// budget counts the request's provider operations (spend); a max of 0
	// is no budget.
	budget budget
}

type loadersKey struct{}

// NewLoaders returns fresh loaders reading from st.
func NewLoaders(st *store.Store) *Loaders {
	return &Loaders{users: usersBatch(st)}
}

// usersLoader is Users, made on first use.
func (l *Loaders) usersLoader() *dataloader.Loader[string, *model.User] {
	l.usersOnce.Do(func() {
		if l.Users == nil {
			l.Users = dataloader.NewBatchedLoader(l.users, dataloader.WithWait[string, *model.User](loaderWait))
		}
	})
	return l.Users
}

// WithLoaders returns ctx carrying l.
func WithLoaders(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// LoadersMiddleware gives every request its own loaders, so caches never
// outlive a request or cross tenants, and its budget of provider calls
// (Limits.MaxRequestProviderCalls; one GraphQL operation is one request).
func (r *Resolver) LoadersMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		l := NewLoaders(r.Store)
		l.budget.max = int64(r.limits().MaxRequestProviderCalls)
		next.ServeHTTP(w, req.WithContext(WithLoaders(req.Context(), l)))
	})
}

func (r *Resolver) loaders(ctx context.Context) *Loaders {
	if l, ok := ctx.Value(loadersKey{}).(*Loaders); ok {
		return l
	}
	return NewLoaders(r.Store)
}

// usersBatch loads users of the caller's tenant in one query and returns them
// in key order; an unknown id gets a nil user, not an error.
func usersBatch(st *store.Store) dataloader.BatchFunc[string, *model.User] {
	return func(ctx context.Context, ids []string) []*dataloader.Result[*model.User] {
		out := make([]*dataloader.Result[*model.User], len(ids))
		who, ok := auth.FromContext(ctx)
		if !ok {
			for i := range out {
				out[i] = &dataloader.Result[*model.User]{Error: fmt.Errorf("users loader: no identity in context")}
			}
			return out
		}
		users, err := st.UsersByID(ctx, who.TenantID, ids)
		byID := make(map[string]*model.User, len(users))
		for _, u := range users {
			byID[u.ID] = &model.User{ID: u.ID, Name: u.Name, Email: u.Email}
		}
		for i, id := range ids {
			out[i] = &dataloader.Result[*model.User]{Data: byID[id], Error: err}
		}
		return out
	}
}

// primeUsers loads the creators and updaters of conns now, with the users
// loader's own batch function (one query), into the request's loader, so
// the user fields resolved later hit its cache without waiting for a
// batching window. It does nothing for a request that does not select a
// user field.
func (r *Resolver) primeUsers(ctx context.Context, list bool, conns ...*model.Connection) {
	ids := userIDs(conns)
	if len(ids) == 0 || !needsUsers(ctx, list) {
		return
	}
	l := r.loaders(ctx)
	res := l.users(ctx, ids)
	for i, id := range ids {
		if res[i].Error != nil {
			return // the loader will try again, and report the error, if asked
		}
		l.usersLoader().Prime(ctx, id, res[i].Data)
	}
}

// needsUsers reports whether the request will resolve users of the
// connections the current resolver returns. Over REST that is a list (whose
// answer maps its users). Over GraphQL it is decided from the operation as
// gqlgen collects it below the current field (fragments and aliases
// followed, @skip and @include applied): whether it selects a
// Connection's createdByUser or updatedByUser, or a ConnectionList's users.
// A request without them costs no users query.
func needsUsers(ctx context.Context, list bool) bool {
	if !graphql.HasOperationContext(ctx) {
		return list
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return true // not below a field: load rather than guess
	}
	return selectsUsers(graphql.GetOperationContext(ctx), fc.Field.Selections)
}

func selectsUsers(op *graphql.OperationContext, sel ast.SelectionSet) bool {
	for _, f := range graphql.CollectFields(op, sel, nil) {
		if f.ObjectDefinition != nil {
			switch f.ObjectDefinition.Name + "." + f.Name {
			case "Connection.createdByUser", "Connection.updatedByUser", "ConnectionList.users":
				return true
			}
		}
		if len(f.Selections) > 0 && selectsUsers(op, f.Selections) {
			return true
		}
	}
	return false
}

func userIDs(conns []*model.Connection) []string {
	seen := map[string]bool{}
	var ids []string
	for _, c := range conns {
		for _, id := range []string{c.CreatedBy, c.UpdatedBy} {
			if id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// LoadUsers returns the users ids name, in order (nil for an id no user of
// the caller's tenant has), through the request's users loader: what
// createdByUser and updatedByUser resolve, for many connections at once
// (one batch, one wait at most). The first error of the batch is returned.
func (r *Resolver) LoadUsers(ctx context.Context, ids []string) ([]*model.User, error) {
	users, errs := r.loaders(ctx).usersLoader().LoadMany(ctx, ids)()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return users, nil
}
