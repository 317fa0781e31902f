package resolvers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/graph-gophers/dataloader/v7"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/store"
)

// loaderWait is the batching window: long enough for sibling resolvers to
// join, short enough not to add a visible delay per nesting level.
const loaderWait = 2 * time.Millisecond

// Loaders are the per-request dataloaders.
type Loaders struct {
	Users *dataloader.Loader[string, *model.User]
	// slots bounds the provider calls the request runs at once.
	slotsOnce sync.Once
	slots     chan struct{}
}

type loadersKey struct{}

// NewLoaders returns fresh loaders reading from st.
func NewLoaders(st *store.Store) *Loaders {
	return &Loaders{
		Users: dataloader.NewBatchedLoader(usersBatch(st), dataloader.WithWait[string, *model.User](loaderWait)),
	}
}

// WithLoaders returns ctx carrying l.
func WithLoaders(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// LoadersMiddleware gives every request its own loaders, so caches never
// outlive a request or cross tenants.
func (r *Resolver) LoadersMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		next.ServeHTTP(w, req.WithContext(WithLoaders(req.Context(), NewLoaders(r.Store))))
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

// primeUsers loads the creators and updaters of conns in one query, now,
// into the request's loader, so the user fields resolved later hit its cache
// without waiting for a batching window. It does nothing for a GraphQL
// operation that cannot select a user field.
func (r *Resolver) primeUsers(ctx context.Context, list bool, conns ...*model.Connection) {
	ids := userIDs(conns)
	who, ok := auth.FromContext(ctx)
	if len(ids) == 0 || !ok || !mayNeedUsers(ctx, list) {
		return
	}
	users, err := r.Store.UsersByID(ctx, who.TenantID, ids)
	if err != nil {
		return // the loader will try again, and report the error, if asked
	}
	byID := make(map[string]*model.User, len(users))
	for _, u := range users {
		byID[u.ID] = &model.User{ID: u.ID, Name: u.Name, Email: u.Email}
	}
	l := r.loaders(ctx).Users
	for _, id := range ids {
		l.Prime(ctx, id, byID[id])
	}
}

// mayNeedUsers reports whether the request can ask for users: over REST for
// a list (whose answer maps its users), and over GraphQL when the
// operation's text names a user field (aliases and fragments still name it),
// so a request without them costs no users query.
func mayNeedUsers(ctx context.Context, list bool) bool {
	if !graphql.HasOperationContext(ctx) {
		return list
	}
	q := graphql.GetOperationContext(ctx).RawQuery
	return strings.Contains(q, "ByUser") || strings.Contains(q, "users")
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
