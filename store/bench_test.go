package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// BenchmarkPostgresExecMode compares pgx's default mode (a prepared-statement
// cache, which Bun's inlined arguments turn into one statement per distinct
// value) with the simple protocol the store uses, reading 2000 different rows (more than the statement cache holds)
// in turn. Run:
//
//	JUNCTION_TEST_DATABASE_URL=... go test -run - -bench PostgresExecMode ./store
func BenchmarkPostgresExecMode(b *testing.B) {
	for _, mode := range []string{"cache_statement", "exec", "simple_protocol"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			url := testdb.FreshSchema(b) + "&default_query_exec_mode=" + mode
			st := testdb.Open(b, testdb.DB{Name: "postgres", URL: url, DataDir: b.TempDir()}, testdb.NewKey(b))
			u, err := st.EnsureUserToken(ctx, "bench", "u", "u@example.com", "admin", "tok-"+store.NewID())
			if err != nil {
				b.Fatal(err)
			}
			var ids []string
			for i := range 2000 {
				now := store.Now()
				c := &store.Connection{ID: store.NewID(), TenantID: u.TenantID, Name: fmt.Sprint(i), Slug: fmt.Sprintf("c-%d", i),
					Provider: "postgres", Status: "active", Visibility: "global", CreatedAt: now, UpdatedAt: now, CreatedBy: u.ID, UpdatedBy: u.ID}
				if err := st.InsertConnection(ctx, c, nil, false); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, c.ID)
			}
			i := 0
			for b.Loop() {
				if _, err := st.GetConnection(ctx, u.TenantID, ids[i%len(ids)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
