package resolvers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/graph-gophers/dataloader/v7"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers/builtin"
	"github.com/junctionhq/junction/store"
)

// BenchmarkListUsers measures one GraphQL page of 100 connections with their
// creators and updaters, resolved through the per-request users loader
// ("batched": one query) against the N+1 baseline a plain field resolver
// would make ("per_field": a loader without batching or cache, one query per
// field). Run: go test -run - -bench ListUsers ./resolvers
func BenchmarkListUsers(b *testing.B) {
	ctx := context.Background()
	st := testdb.Open(b, testdb.DB{Name: "sqlite", DataDir: b.TempDir()}, testdb.NewKey(b))
	var users []*store.User
	for i := range 5 {
		u, err := st.EnsureUserToken(ctx, "acme", fmt.Sprintf("u%d", i), "u@example.com", "admin", fmt.Sprintf("tok-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, u)
	}
	for i := range 100 {
		now := store.Now()
		c := &store.Connection{ID: store.NewID(), TenantID: users[0].TenantID, Name: fmt.Sprint(i), Slug: fmt.Sprintf("c-%d", i),
			Provider: "postgres", Status: "active", Visibility: "global", CreatedAt: now, UpdatedAt: now,
			CreatedBy: users[i%5].ID, UpdatedBy: users[(i+1)%5].ID}
		if err := st.InsertConnection(ctx, c, nil, false); err != nil {
			b.Fatal(err)
		}
	}
	r := &Resolver{Store: st, Providers: builtin.Registry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r}))
	srv.AddTransport(transport.POST{})
	who := auth.Identity{TenantID: users[0].TenantID, UserID: users[0].ID, Role: "admin"}
	body := `{"query":"{ connections(limit: 100) { connections { createdByUser { name } updatedByUser { name } } } }"}`
	for _, mode := range []string{"batched", "per_field"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				l := NewLoaders(st)
				if mode == "per_field" {
					l.Users = dataloader.NewBatchedLoader(usersBatch(st), dataloader.WithBatchCapacity[string, *model.User](1),
						dataloader.WithCache[string, *model.User](&dataloader.NoCache[string, *model.User]{}))
				}
				req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req = req.WithContext(WithLoaders(auth.WithIdentity(req.Context(), who), l))
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req)
				if w.Code != 200 || strings.Contains(w.Body.String(), "errors") {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
