package main

import (
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
)

// The users of a page or a connection are loaded (in one query) exactly when
// the operation, as gqlgen collects it, selects a user field: aliases,
// fragments and @skip/@include count, a mention of "users" or "ByUser"
// anywhere else in the text does not.
func TestUsersLoadedWhenSelected(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.create(e.admin, pgInput("users ByUser", nil))
		for _, tc := range []struct {
			name  string
			query string
			vars  map[string]any
			want  int64
		}{
			{"no user field", `{ connections { connections { id name } } }`, nil, 0},
			{"the words in an argument", `{ connections(search: "users ByUser") { total connections { id } } }`, nil, 0},
			{"the words in an alias", `{ users: connections { ByUser: connections { id } } }`, nil, 0},
			{"the words in an operation name", `query usersByUser { connections { connections { id } } }`, nil, 0},
			{"users of the page", `{ connections { users { id } } }`, nil, 1},
			{"aliased user field", `{ connections { connections { who: createdByUser { name } } } }`, nil, 1},
			{"fragment", `{ connections { ...L } } fragment L on ConnectionList { connections { ...C } } fragment C on Connection { updatedByUser { name } }`, nil, 1},
			{"inline fragment", `{ connections { connections { ... on Connection { createdByUser { name } } } } }`, nil, 1},
			{"skipped", `query($s: Boolean!) { connections { connections { id createdByUser @skip(if: $s) { name } } } }`, map[string]any{"s": true}, 0},
			{"included", `query($s: Boolean!) { connections { connections { id createdByUser @include(if: $s) { name } } } }`, map[string]any{"s": true}, 1},
			{"one connection without", `query($id: ID!) { connection(id: $id) { id name } }`, map[string]any{"id": c.ID}, 0},
			{"one connection with", `query($id: ID!) { connection(id: $id) { createdByUser { name } } }`, map[string]any{"id": c.ID}, 1},
			{"by slug with", `{ connectionBySlug(slug: "users-byuser") { updatedByUser { name } } }`, nil, 1},
		} {
			before := e.queries.users.Load()
			r := e.gql(e.admin, tc.query, tc.vars)
			if len(r.Errors) > 0 {
				t.Fatalf("%s: %+v", tc.name, r.Errors)
			}
			if n := e.queries.users.Load() - before; n != tc.want {
				t.Errorf("%s: %d users queries, want %d", tc.name, n, tc.want)
			}
		}
	})
}
