package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// stmtLog records every statement.
type stmtLog struct {
	mu    sync.Mutex
	stmts []string
}

func (h *stmtLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (h *stmtLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	h.mu.Lock()
	h.stmts = append(h.stmts, e.Query)
	h.mu.Unlock()
}
func (h *stmtLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stmts
	h.stmts = nil
	return s
}

// The list's total comes from connection_counts, kept by triggers: it stays
// the exact count through inserts, deletes and changes of visibility, for
// admins and members, it reads no connection row to get it, and a search
// still counts what it matches.
func TestListTotals(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		member, err := st.EnsureUserToken(ctx, "acme", "mia", "mia@example.com", "member", "tok-mia-"+store.NewID())
		if err != nil {
			t.Fatal(err)
		}
		other := admin(t, st, "other")
		seedConnections(t, st, u, member, 40)
		seedConnections(t, st, other, other, 7)
		fixture(t, st, u, 5)

		// check compares the list's totals with counts of the rows.
		check := func(step string) {
			t.Helper()
			for _, v := range []struct {
				who   *store.User
				admin bool
			}{{u, true}, {member, false}, {other, true}} {
				for _, search := range []string{"", "conn 0000"} {
					var want int
					q := st.DB().NewSelect().Table("connections").ColumnExpr("count(*)").Where("tenant_id = ?", v.who.TenantID)
					if !v.admin {
						q = q.Where("(visibility = 'global' OR created_by = ?)", v.who.ID)
					}
					if search != "" {
						q = q.Where("LOWER(name) LIKE ?", "%"+search+"%")
					}
					if err := q.Scan(ctx, &want); err != nil {
						t.Fatal(err)
					}
					res, err := st.ListConnections(ctx, store.ListParams{TenantID: v.who.TenantID, ViewerID: v.who.ID,
						ViewerAdmin: v.admin, Search: search, Sort: "name", Limit: 5})
					if err != nil {
						t.Fatal(err)
					}
					if res.Total != want {
						t.Fatalf("%s: %s (admin %v) search %q: total %d, want %d", step, v.who.Name, v.admin, search, res.Total, want)
					}
				}
			}
		}
		check("seeded")

		// A list without a search does not count connection rows.
		h := &stmtLog{}
		st.DB().AddQueryHook(h)
		if _, err := st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, ViewerID: member.ID, Sort: "name", Limit: 5}); err != nil {
			t.Fatal(err)
		}
		for _, q := range h.take() {
			if strings.Contains(strings.ToLower(q), "count(") {
				t.Fatalf("the total counted rows: %s", q)
			}
		}

		page, err := st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, ViewerAdmin: true, Sort: "name", Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range page.Connections[:10] {
			switch i % 3 {
			case 0:
				if err := st.DeleteConnection(ctx, u.TenantID, c.ID); err != nil {
					t.Fatal(err)
				}
			case 1: // visibility flips
				if c.Visibility == "global" {
					c.Visibility = "private"
				} else {
					c.Visibility = "global"
				}
				if err := st.UpdateConnection(ctx, c, nil); err != nil {
					t.Fatal(err)
				}
			case 2: // an edit that changes neither
				c.Name += " edited"
				if err := st.UpdateConnection(ctx, c, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		check("after deletes and edits")
		if _, err := st.DB().NewUpdate().Table("connections").Set("created_by = ?", member.ID).
			Where("tenant_id = ? AND created_by = ?", u.TenantID, u.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check("after a change of creators")

		// A database migrated before the counts existed gets them from its
		// rows: undo migration 0006_list_counts and apply it again.
		undo := []string{"DROP TRIGGER connection_counts_update", "DROP TABLE connection_counts",
			"DELETE FROM schema_migrations WHERE version = '0006_list_counts'"}
		if st.Postgres() {
			undo = []string{"DROP TRIGGER connection_counts_update ON connections", "DROP TRIGGER connection_counts_insert_delete ON connections",
				"DROP FUNCTION connection_counts_apply", "DROP TABLE connection_counts", undo[2]}
		} else {
			undo = append([]string{"DROP TRIGGER connection_counts_insert", "DROP TRIGGER connection_counts_delete"}, undo...)
		}
		for _, q := range undo {
			if _, err := st.DB().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if applied, err := st.Migrate(ctx); err != nil || len(applied) != 1 {
			t.Fatalf("re-migrate: %v %v", applied, err)
		}
		check("backfilled")
		for _, name := range []string{"late a", "late b"} {
			if err := st.InsertConnection(ctx, newConn(st, member, name, "s3"), nil, true); err != nil {
				t.Fatal(err)
			}
		}
		check("after the backfill")
	})
}
