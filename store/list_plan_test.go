package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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

// capture records the last statement that orders rows (the list's page)
// with its arguments.
type capture struct {
	mu    sync.Mutex
	query string
	args  []any
}

func (c *capture) see(query string, args []any) {
	if strings.Contains(query, "ORDER BY") {
		c.mu.Lock()
		c.query, c.args = query, args
		c.mu.Unlock()
	}
}

func (c *capture) take() (string, []any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, a := c.query, c.args
	c.query, c.args = "", nil
	return q, a
}

// TestListUsesIndexes asserts, with EXPLAIN, that every sort of the list in
// both orders, for an admin and for a member (whose visibility filter
// applies), first pages and cursor pages, reads its index in order: no sort
// step (PostgreSQL) and no temporary B-tree (SQLite). A sort would make a
// page cost the size of the tenant. The page is a statement with
// parameters that PostgreSQL plans once per connection, so both its plans
// are checked: the custom one (for the values) and the generic one it
// switches to after a few executions. It is a plan check, not a timing.
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
		h := &capture{}
		st.ObserveReads(h.see)
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
					q, args := h.take()
					checkPlan(t, st, name+" first page", q, args, sortIndex[key])
					if res.NextCursor == "" {
						t.Fatalf("%s: no next page", name)
					}
					p.Cursor = res.NextCursor
					if _, err := st.ListConnections(ctx, p); err != nil {
						t.Fatal(err)
					}
					q, args = h.take()
					checkPlan(t, st, name+" cursor page", q, args, sortIndex[key])
				}
			}
		}
	})
}

// checkPlan explains query (with ? placeholders) for args and fails unless
// it reads index in order; on PostgreSQL, both as a custom and as a generic
// plan.
func checkPlan(t *testing.T, st *store.Store, name, query string, args []any, index string) {
	t.Helper()
	if query == "" {
		t.Fatalf("%s: no list statement seen", name)
	}
	if !st.Postgres() {
		var plan []string
		rows, err := st.DB().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
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
		checkPlanLines(t, st, name, query, plan, index)
		return
	}
	ctx := context.Background()
	conn, err := st.DB().DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = sqlLiteral(a)
	}
	if _, err := conn.ExecContext(ctx, "PREPARE listq AS "+store.PGQuery(query)); err != nil {
		t.Fatalf("%s: prepare: %v", name, err)
	}
	defer conn.ExecContext(ctx, "DEALLOCATE listq")
	defer conn.ExecContext(ctx, "RESET plan_cache_mode")
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = "+mode); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(ctx, "EXPLAIN EXECUTE listq("+strings.Join(lits, ", ")+")")
		if err != nil {
			t.Fatalf("%s: explain: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		checkPlanLines(t, st, name+" ("+mode+")", query, plan, index)
	}
}

// sqlLiteral writes a PostgreSQL literal of an argument the list passes.
func sqlLiteral(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case time.Time:
		return "'" + v.UTC().Format(time.RFC3339Nano) + "'::timestamptz"
	default:
		panic(fmt.Sprintf("sqlLiteral: %T", v))
	}
}

// checkPlanLines fails unless plan reads index in order without a sort.
func checkPlanLines(t *testing.T, st *store.Store, name, query string, plan []string, index string) {
	t.Helper()
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
