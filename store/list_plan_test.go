package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// sortIndex is the index that serves each sort of the list.
var sortIndex = map[string]string{
	"name":             "connections_by_name",
	"created_at":       "connections_by_created_at",
	"updated_at":       "connections_by_updated_at",
	"last_verified_at": "connections_by_last_verified",
	"status":           "connections_by_status",
	"provider":         "connections_by_provider",
}

// captureHook records the statements that order rows (the list's page).
type captureHook struct {
	mu   sync.Mutex
	last string
}

func (h *captureHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h *captureHook) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if strings.Contains(e.Query, "ORDER BY") {
		h.mu.Lock()
		h.last = e.Query
		h.mu.Unlock()
	}
}

func (h *captureHook) take() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.last
	h.last = ""
	return q
}

// TestListUsesIndexes asserts, with EXPLAIN, that every sort of the list in
// both orders, for an admin and for a member (whose visibility filter
// applies), first pages and cursor pages, reads its index in order: no sort
// step (PostgreSQL) and no temporary B-tree (SQLite). A sort would make a
// page cost the size of the tenant. It is a plan check, not a timing.
func TestListUsesIndexes(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		member, err := st.EnsureUserToken(ctx, "acme", "mia", "mia@example.com", "member", "tok-mia-"+store.NewID())
		if err != nil {
			t.Fatal(err)
		}
		other := admin(t, st, "other")
		seedConnections(t, st, u, member, 3000)
		seedConnections(t, st, other, other, 500)
		if st.Postgres() {
			if _, err := st.DB().ExecContext(ctx, "ANALYZE connections"); err != nil {
				t.Fatal(err)
			}
		}
		h := &captureHook{}
		st.DB().AddQueryHook(h)
		for _, key := range store.SortKeys {
			for _, desc := range []bool{false, true} {
				for _, viewer := range []*store.User{u, member} {
					p := store.ListParams{TenantID: u.TenantID, ViewerID: viewer.ID, ViewerAdmin: viewer.Role == "admin",
						Sort: key, Desc: desc, Limit: 100}
					name := fmt.Sprintf("%s desc=%v %s", key, desc, viewer.Role)
					res, err := st.ListConnections(ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					checkPlan(t, st, name+" first page", h.take(), sortIndex[key])
					if res.NextCursor == "" {
						t.Fatalf("%s: no next page", name)
					}
					p.Cursor = res.NextCursor
					if _, err := st.ListConnections(ctx, p); err != nil {
						t.Fatal(err)
					}
					checkPlan(t, st, name+" cursor page", h.take(), sortIndex[key])
				}
			}
		}
	})
}

// checkPlan explains query and fails unless it reads index in order.
func checkPlan(t *testing.T, st *store.Store, name, query, index string) {
	t.Helper()
	if query == "" {
		t.Fatalf("%s: no list statement seen", name)
	}
	var plan []string
	if st.Postgres() {
		rows, err := st.DB().QueryContext(context.Background(), "EXPLAIN "+query)
		if err != nil {
			t.Fatalf("%s: explain: %v", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
	} else {
		rows, err := st.DB().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query)
		if err != nil {
			t.Fatalf("%s: explain: %v", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
	}
	text := strings.Join(plan, "\n")
	usesIndex, sorts := false, false
	for _, line := range plan {
		l := strings.TrimSpace(line)
		if st.Postgres() {
			// "Index Scan using x", "Index Scan Backward using x";
			// a sort is a "Sort" or "Incremental Sort" node.
			usesIndex = usesIndex || strings.Contains(l, "using "+index+" ")
			sorts = sorts || strings.Contains(l, "Sort  (") || strings.HasPrefix(strings.TrimLeft(l, "-> "), "Sort")
		} else {
			usesIndex = usesIndex || strings.Contains(l, "USING INDEX "+index+" ") || strings.HasSuffix(l, "USING INDEX "+index)
			sorts = sorts || strings.Contains(l, "TEMP B-TREE")
		}
	}
	if !usesIndex || sorts {
		t.Errorf("%s: want an ordered read of %s and no sort; plan:\n%s\nquery: %s", name, index, text, query)
	}
}

// seedConnections inserts n connections of u's tenant in a few statements,
// with spread names, statuses, providers, times and visibilities, a third
// never verified, half created by member.
func seedConnections(t *testing.T, st *store.Store, u, member *store.User, n int) {
	t.Helper()
	base := store.Now()
	statuses := []string{"active", "error", "needs_verification", "disabled"}
	provs := []string{"postgres", "s3", "sftp", "http_api", "salesforce"}
	batch := make([]*store.Connection, 0, 250)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := st.DB().NewInsert().Model(&batch).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		by := u
		if i%2 == 1 {
			by = member
		}
		c := newConn(st, by, fmt.Sprintf("conn %05d", (i*7919)%n), provs[i%len(provs)], func(c *store.Connection) {
			c.Slug = fmt.Sprintf("seed-%05d", i)
			c.Status = statuses[i%len(statuses)]
			c.CreatedAt = base.Add(time.Duration((i*31)%n) * time.Second)
			c.UpdatedAt = base.Add(time.Duration((i*17)%n) * time.Second)
			c.Credentials, c.SecretFields = nil, store.JSONList{}
			if i%3 != 0 {
				v := base.Add(time.Duration((i*13)%n) * time.Minute)
				c.LastVerifiedAt = &v
			}
			if i%4 == 0 {
				c.Visibility = "global"
			}
			c.Version = 1
		})
		batch = append(batch, c)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
}
