package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// On SQLite, reads run on connections of their own beside the one writer:
// while a transaction holds the writer, reads from other requests answer at
// once (they waited for the one connection before), and writes wait their
// turn and then all apply, none lost to SQLITE_BUSY.
func TestSQLiteReadsBesideWriter(t *testing.T) {
	db := testdb.DB{Name: "sqlite", DataDir: t.TempDir()}
	st := testdb.Open(t, db, testdb.NewKey(t))
	ctx := context.Background()
	u := admin(t, st, "acme")
	c := newConn(st, u, "Orders", "postgres", func(c *store.Connection) { c.Slug = "orders" })
	if err := st.InsertConnection(ctx, c, nil, false); err != nil {
		t.Fatal(err)
	}

	inTx, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- st.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewUpdate().Model((*store.Connection)(nil)).Set("name = 'Renamed'").Where("id = ?", c.ID).Exec(ctx); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx

	// Reads beside the open transaction: they answer, and see the last
	// committed state.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			got, err := st.GetConnection(ctx, u.TenantID, c.ID)
			if err == nil && got.Name != "Orders" {
				err = fmt.Errorf("read saw uncommitted name %q", got.Name)
			}
			if err == nil {
				_, err = st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, ViewerAdmin: true, Sort: "name", Limit: 10})
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("read beside a write transaction: %v", err)
		}
	}

	// A write waits for the writer; it must not finish before the
	// transaction does.
	written := make(chan error, 1)
	go func() {
		written <- st.TouchLastUsed(ctx, u.TenantID, c.ID, store.Now(), 0)
	}()
	select {
	case err := <-written:
		t.Fatalf("a write ran beside an open write transaction: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	got, err := st.GetConnection(ctx, u.TenantID, c.ID)
	if err != nil || got.Name != "Renamed" || got.LastUsedAt == nil {
		t.Fatalf("after both writes: %+v %v", got, err)
	}

	// Many writers at once: every one applies.
	var ww sync.WaitGroup
	for i := range 40 {
		ww.Add(1)
		go func() {
			defer ww.Done()
			c := newConn(st, u, fmt.Sprintf("w%02d", i), "postgres", func(c *store.Connection) { c.Slug = fmt.Sprintf("w-%02d", i) })
			if err := st.InsertConnection(ctx, c, map[string]string{"password": "p"}, false); err != nil {
				t.Error(err)
			}
			if _, err := st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, ViewerAdmin: true, Sort: "name", Limit: 5}); err != nil {
				t.Error(err)
			}
		}()
	}
	ww.Wait()
	res, err := st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, ViewerAdmin: true, Sort: "name", Limit: 100})
	if err != nil || res.Total != 41 {
		t.Fatalf("after 40 concurrent inserts: total %v, %v", res, err)
	}

	// The reading connections cannot write, so nothing reaches the file
	// except through the writer.
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var qo int
	if err := conn.QueryRowContext(ctx, "SELECT query_only FROM pragma_query_only").Scan(&qo); err != nil || qo != 1 {
		t.Fatalf("reading connection query_only = %d, %v", qo, err)
	}
}
