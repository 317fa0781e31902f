package store_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

const canary = "canary-9f8e7d6c5b4a-secret"

func newConn(st *store.Store, tenant *store.User, name, provider string, mod ...func(*store.Connection)) *store.Connection {
	now := store.Now()
	c := &store.Connection{ID: store.NewID(), TenantID: tenant.TenantID, Name: name, Slug: strings.ToLower(strings.ReplaceAll(name, " ", "-")),
		Provider: provider, Config: store.JSONMap{"host": "db.example"}, Status: "needs_verification", Visibility: "private",
		VerificationDetails: store.JSONMap{}, CreatedAt: now, UpdatedAt: now, CreatedBy: tenant.ID, UpdatedBy: tenant.ID}
	for _, m := range mod {
		m(c)
	}
	return c
}

func admin(t *testing.T, st *store.Store, tenant string) *store.User {
	t.Helper()
	u, err := st.EnsureUserToken(context.Background(), tenant, "admin", "admin@example.com", "admin", "tok-"+tenant+"-"+store.NewID())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSlugs(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		var got []string
		for range 3 {
			c := newConn(st, u, "Orders DB", "postgres", func(c *store.Connection) { c.Slug = "orders-db" })
			if err := st.InsertConnection(ctx, c, nil, true); err != nil {
				t.Fatal(err)
			}
			got = append(got, c.Slug)
		}
		if want := []string{"orders-db", "orders-db-2", "orders-db-3"}; !slices.Equal(got, want) {
			t.Fatalf("slugs = %v, want %v", got, want)
		}
		c := newConn(st, u, "Other", "postgres", func(c *store.Connection) { c.Slug = "orders-db-2" })
		if err := st.InsertConnection(ctx, c, nil, false); !errors.Is(err, store.ErrSlugTaken) {
			t.Fatalf("explicit taken slug: err = %v, want ErrSlugTaken", err)
		}
		// Slugs are per tenant.
		other := admin(t, st, "globex")
		c = newConn(st, other, "Orders DB", "postgres", func(c *store.Connection) { c.Slug = "orders-db" })
		if err := st.InsertConnection(ctx, c, nil, true); err != nil || c.Slug != "orders-db" {
			t.Fatalf("other tenant: slug %q err %v", c.Slug, err)
		}
		// Concurrent inserts of one name all get distinct slugs.
		var wg sync.WaitGroup
		const n = 25
		slugs := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				c := newConn(st, u, "Race", "postgres", func(c *store.Connection) { c.Slug = "race" })
				errs[i] = st.InsertConnection(ctx, c, nil, true)
				slugs[i] = c.Slug
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(slugs)
		if len(slices.Compact(slugs)) != n {
			t.Fatalf("concurrent slugs not unique: %v", slugs)
		}
	})
}

func TestSetDefaultIsAtomic(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		var ids []string
		for i := range 50 {
			c := newConn(st, u, fmt.Sprintf("pg %d", i), "postgres")
			if err := st.InsertConnection(ctx, c, nil, false); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		s3 := newConn(st, u, "bucket", "s3", func(c *store.Connection) { c.IsDefault = true })
		if err := st.InsertConnection(ctx, s3, nil, false); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(ids))
		for _, id := range ids {
			wg.Go(func() {
				if _, err := st.SetDefault(ctx, u.TenantID, id, u.ID); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var defaults int
		for _, id := range ids {
			c, err := st.GetConnection(ctx, u.TenantID, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.IsDefault {
				defaults++
			}
		}
		if defaults != 1 {
			t.Fatalf("%d postgres defaults after 50 concurrent switches, want exactly 1", defaults)
		}
		if c, _ := st.GetConnection(ctx, u.TenantID, s3.ID); !c.IsDefault {
			t.Fatal("the s3 default was touched by postgres switches")
		}
	})
}

// fixture inserts connections with repeated sort values so id tie-breaks matter.
func fixture(t *testing.T, st *store.Store, u *store.User, n int) []*store.Connection {
	t.Helper()
	ctx := context.Background()
	base := store.Now()
	statuses := []string{"active", "error", "needs_verification", "disabled"}
	provs := []string{"postgres", "s3", "sftp"}
	var out []*store.Connection
	for i := range n {
		c := newConn(st, u, fmt.Sprintf("conn %02d", i%7), provs[i%3], func(c *store.Connection) {
			c.Slug = fmt.Sprintf("conn-%03d", i)
			c.Status = statuses[i%4]
			c.CreatedAt = base.Add(time.Duration(i%5) * time.Second)
			c.UpdatedAt = base.Add(time.Duration(i%6) * time.Second)
			if i%3 != 0 {
				v := base.Add(time.Duration(i%4) * time.Minute)
				c.LastVerifiedAt = &v
			}
		})
		if err := st.InsertConnection(ctx, c, nil, false); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func sortKey(c *store.Connection, key string) (null bool, v string) {
	switch key {
	case "name":
		return false, c.Name
	case "status":
		return false, c.Status
	case "provider":
		return false, c.Provider
	case "created_at":
		return false, c.CreatedAt.Format(time.RFC3339Nano)
	case "updated_at":
		return false, c.UpdatedAt.Format(time.RFC3339Nano)
	case "last_verified_at":
		if c.LastVerifiedAt == nil {
			return true, ""
		}
		return false, c.LastVerifiedAt.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	panic(key)
}

// expected orders rows as the contract says: by key, NULLs last ascending,
// then by id; descending is the exact reverse.
func expected(rows []*store.Connection, key string, desc bool) []string {
	s := slices.Clone(rows)
	slices.SortFunc(s, func(a, b *store.Connection) int {
		an, av := sortKey(a, key)
		bn, bv := sortKey(b, key)
		if an != bn {
			if an {
				return 1
			}
			return -1
		}
		return cmp.Or(strings.Compare(av, bv), strings.Compare(a.ID, b.ID))
	})
	if desc {
		slices.Reverse(s)
	}
	ids := make([]string, len(s))
	for i, c := range s {
		ids[i] = c.ID
	}
	return ids
}

func TestListSortsAndPages(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		rows := fixture(t, st, u, 23)
		for _, key := range store.SortKeys {
			for _, desc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s desc=%v", key, desc), func(t *testing.T) {
					want := expected(rows, key, desc)
					p := store.ListParams{TenantID: u.TenantID, ViewerID: u.ID, ViewerAdmin: true, Sort: key, Desc: desc, Limit: 100}
					res, err := st.ListConnections(ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					if got := ids(res.Connections); !slices.Equal(got, want) {
						t.Fatalf("order:\n got %v\nwant %v", got, want)
					}
					// Offset pages and cursor pages both partition the same order.
					var byOffset, byCursor []string
					p.Limit = 4
					for p.Offset = 0; ; p.Offset += 4 {
						res, err := st.ListConnections(ctx, p)
						if err != nil {
							t.Fatal(err)
						}
						byOffset = append(byOffset, ids(res.Connections)...)
						if res.Total != 23 {
							t.Fatalf("total = %d", res.Total)
						}
						if !res.HasNext {
							break
						}
					}
					p.Offset = 0
					for {
						res, err := st.ListConnections(ctx, p)
						if err != nil {
							t.Fatal(err)
						}
						byCursor = append(byCursor, ids(res.Connections)...)
						if !res.HasNext {
							if res.NextCursor != "" {
								t.Fatal("next cursor on the last page")
							}
							break
						}
						p.Cursor = res.NextCursor
					}
					if !slices.Equal(byOffset, want) || !slices.Equal(byCursor, want) {
						t.Fatalf("pages:\noffset %v\ncursor %v\n  want %v", byOffset, byCursor, want)
					}
				})
			}
		}
	})
}

func TestCursorStableUnderInserts(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		fixture(t, st, u, 12)
		p := store.ListParams{TenantID: u.TenantID, ViewerID: u.ID, ViewerAdmin: true, Sort: "name", Limit: 5}
		seen := map[string]int{}
		var inserted []string
		for page := 0; ; page++ {
			res, err := st.ListConnections(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Connections {
				seen[c.ID]++
			}
			// Rows before and after the cursor appear between pages.
			for _, name := range []string{"aaa early", "zzz late"} {
				c := newConn(st, u, name, "postgres", func(c *store.Connection) { c.Slug = fmt.Sprintf("ins-%d-%s", page, name[:3]) })
				if err := st.InsertConnection(ctx, c, nil, false); err != nil {
					t.Fatal(err)
				}
				inserted = append(inserted, c.ID)
			}
			if !res.HasNext {
				break
			}
			p.Cursor = res.NextCursor
		}
		all, err := st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, ViewerAdmin: true, Sort: "name", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range all.Connections {
			if seen[c.ID] > 1 {
				t.Fatalf("%s (%s) served twice", c.ID, c.Name)
			}
			if seen[c.ID] == 0 && !slices.Contains(inserted, c.ID) {
				t.Fatalf("%s (%s) skipped", c.ID, c.Name)
			}
		}
		if _, err := st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, Sort: "status", Limit: 5, Cursor: p.Cursor}); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("cursor reused with another sort: err = %v, want ErrBadCursor", err)
		}
		if _, err := st.ListConnections(ctx, store.ListParams{TenantID: u.TenantID, Sort: "name", Limit: 5, Cursor: "!!garbage"}); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("garbage cursor: err = %v", err)
		}
	})
}

func TestListSearchAndVisibility(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		member, err := st.EnsureUserToken(ctx, "acme", "mia", "mia@example.com", "member", "tok-mia")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*store.Connection{
			newConn(st, u, "Orders DB", "postgres", func(c *store.Connection) { c.Slug = "orders-db" }),
			newConn(st, u, "Shared Bucket", "s3", func(c *store.Connection) { c.Slug = "shared"; c.Visibility = "global" }),
			newConn(st, member, "Mia 100%_ stuff", "sftp", func(c *store.Connection) { c.Slug = "mia-files" }),
		} {
			if err := st.InsertConnection(ctx, c, nil, false); err != nil {
				t.Fatal(err)
			}
		}
		otherTenant := admin(t, st, "globex")
		if err := st.InsertConnection(ctx, newConn(st, otherTenant, "Orders DB", "postgres", func(c *store.Connection) { c.Slug = "orders-db" }), nil, false); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			viewer *store.User
			admin  bool
			search string
			want   []string
		}{
			{"admin sees all of tenant", u, true, "", []string{"Mia 100%_ stuff", "Orders DB", "Shared Bucket"}},
			{"member sees global and own", member, false, "", []string{"Mia 100%_ stuff", "Shared Bucket"}},
			{"search name case-insensitive", u, true, "orders", []string{"Orders DB"}},
			{"search slug", u, true, "SHARED", []string{"Shared Bucket"}},
			{"search wildcards are literal", u, true, "100%_", []string{"Mia 100%_ stuff"}},
			{"percent alone matches literally", u, true, "%", []string{"Mia 100%_ stuff"}},
			{"other tenant sees own only", otherTenant, true, "", []string{"Orders DB"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := st.ListConnections(ctx, store.ListParams{TenantID: tc.viewer.TenantID, ViewerID: tc.viewer.ID,
					ViewerAdmin: tc.admin, Search: tc.search, Sort: "name", Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, c := range res.Connections {
					names = append(names, c.Name)
				}
				if !slices.Equal(names, tc.want) || res.Total != len(tc.want) {
					t.Fatalf("got %v (total %d), want %v", names, res.Total, tc.want)
				}
			})
		}
	})
}

func TestSealedCredentials(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		key := testdb.NewKey(t)
		st := testdb.Open(t, db, key)
		u := admin(t, st, "acme")
		a := newConn(st, u, "A", "postgres", func(c *store.Connection) { c.Slug = "a" })
		b := newConn(st, u, "B", "postgres", func(c *store.Connection) { c.Slug = "b" })
		if err := st.InsertConnection(ctx, a, map[string]string{"password": canary}, false); err != nil {
			t.Fatal(err)
		}
		if err := st.InsertConnection(ctx, b, map[string]string{"password": "other"}, false); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetConnection(ctx, u.TenantID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		secrets, err := st.OpenSecrets(got)
		if err != nil || secrets["password"] != canary {
			t.Fatalf("open: %v %v", secrets, err)
		}
		if !slices.Equal([]string(got.SecretFields), []string{"password"}) {
			t.Fatalf("secret fields = %v", got.SecretFields)
		}

		t.Run("canary is not in the database", func(t *testing.T) {
			if db.Name == "sqlite" {
				st.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
				for _, suffix := range []string{"", "-wal"} {
					raw, err := os.ReadFile(testdb.SQLitePath(db) + suffix)
					if err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					if bytes.Contains(raw, []byte(canary)) {
						t.Fatalf("canary found in %s", testdb.SQLitePath(db)+suffix)
					}
				}
				return
			}
			var dump []string
			if err := st.DB().NewRaw("SELECT t::text FROM connections t").Scan(ctx, &dump); err != nil {
				t.Fatal(err)
			}
			if len(dump) != 2 || strings.Contains(strings.Join(dump, "\n"), canary) {
				t.Fatalf("canary in table dump (%d rows)", len(dump))
			}
		})

		t.Run("blob copied to another row does not open", func(t *testing.T) {
			moved := *got
			moved.ID = b.ID
			if _, err := st.OpenSecrets(&moved); !errors.Is(err, store.ErrUnreadable) {
				t.Fatalf("err = %v, want ErrUnreadable", err)
			}
			moved = *got
			moved.TenantID = "another-tenant"
			if _, err := st.OpenSecrets(&moved); !errors.Is(err, store.ErrUnreadable) {
				t.Fatalf("other tenant: err = %v, want ErrUnreadable", err)
			}
		})

		t.Run("flipped byte fails closed", func(t *testing.T) {
			for i := range got.Credentials {
				bad := *got
				bad.Credentials = slices.Clone(got.Credentials)
				bad.Credentials[i] ^= 0x01
				if s, err := st.OpenSecrets(&bad); !errors.Is(err, store.ErrUnreadable) || s != nil {
					t.Fatalf("byte %d flipped: secrets %v err %v", i, s, err)
				}
			}
		})

		t.Run("wrong key is refused at start-up check", func(t *testing.T) {
			wrong := testdb.Open(t, db, testdb.NewKey(t))
			if err := wrong.CheckKeys(ctx); !errors.Is(err, store.ErrWrongKey) {
				t.Fatalf("CheckKeys with another key: %v", err)
			}
			if err := st.CheckKeys(ctx); err != nil {
				t.Fatalf("CheckKeys with the right key: %v", err)
			}
		})

		t.Run("rotate keys reseals once", func(t *testing.T) {
			newKey := testdb.NewKey(t)
			// The old key keeps its derived id beside the new first key, as
			// the README tells operators to list it.
			oldID := st.Keys().Primary()
			ring2, err := store.ParseKeyRing("new:"+newKey+","+oldID+":"+key, "")
			if err != nil {
				t.Fatal(err)
			}
			rot, err := store.Open(ctx, store.Options{DatabaseURL: db.URL, DataDir: db.DataDir, Keys: ring2})
			if err != nil {
				t.Fatal(err)
			}
			defer rot.Close()
			n, err := rot.RotateKeys(ctx)
			if err != nil || n != 2 {
				t.Fatalf("first rotation: n=%d err=%v, want 2", n, err)
			}
			n, err = rot.RotateKeys(ctx)
			if err != nil || n != 0 {
				t.Fatalf("second rotation: n=%d err=%v, want 0", n, err)
			}
			c, err := rot.GetConnection(ctx, u.TenantID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c.KeyID != rot.Keys().Primary() || c.KeyID == "new" {
				t.Fatalf("key id after rotation = %q", c.KeyID)
			}
			if s, err := rot.OpenSecrets(c); err != nil || s["password"] != canary {
				t.Fatalf("after rotation: %v %v", s, err)
			}
			onlyNew, _ := store.ParseKeyRing("new:"+newKey, "")
			fresh, err := store.Open(ctx, store.Options{DatabaseURL: db.URL, DataDir: db.DataDir, Keys: onlyNew})
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			if err := fresh.CheckKeys(ctx); err != nil {
				t.Fatalf("old key no longer needed after rotation, but: %v", err)
			}
		})
	})
}

func TestUpdateIsCompareAndSwap(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		c := newConn(st, u, "A", "postgres", func(c *store.Connection) { c.Slug = "a" })
		if err := st.InsertConnection(ctx, c, map[string]string{"password": "one"}, false); err != nil {
			t.Fatal(err)
		}
		first, _ := st.GetConnection(ctx, u.TenantID, c.ID)
		second, _ := st.GetConnection(ctx, u.TenantID, c.ID)
		first.Name = "first"
		if err := st.UpdateConnection(ctx, first, map[string]string{"password": "two"}); err != nil {
			t.Fatal(err)
		}
		second.Name = "second"
		if err := st.UpdateConnection(ctx, second, nil); !errors.Is(err, store.ErrVersionConflict) {
			t.Fatalf("stale write: err = %v, want ErrVersionConflict", err)
		}
		got, _ := st.GetConnection(ctx, u.TenantID, c.ID)
		s, _ := st.OpenSecrets(got)
		if got.Name != "first" || s["password"] != "two" || got.Version != 2 {
			t.Fatalf("after CAS: name %q password %q version %d", got.Name, s["password"], got.Version)
		}
		if err := st.DeleteConnection(ctx, u.TenantID, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.UpdateConnection(ctx, got, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update deleted: %v", err)
		}
	})
}

func ids(cs []*store.Connection) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestTokenLease(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		c := newConn(st, u, "A", "rydership", func(c *store.Connection) { c.Slug = "a" })
		if err := st.InsertConnection(ctx, c, map[string]string{"refresh_token": "rt"}, false); err != nil {
			t.Fatal(err)
		}
		take := func(holder string, ttl time.Duration) bool {
			ok, err := st.AcquireTokenLease(ctx, u.TenantID, c.ID, holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !take("a", time.Minute) || take("b", time.Minute) || !take("a", time.Minute) {
			t.Fatal("a lease must exclude others and be renewable by its holder")
		}
		if err := st.ReleaseTokenLease(ctx, u.TenantID, c.ID, "b"); err != nil || take("b", time.Minute) {
			t.Fatal("another holder released a's lease")
		}
		st.ReleaseTokenLease(ctx, u.TenantID, c.ID, "a")
		if !take("b", -time.Second) || !take("c", time.Minute) {
			t.Fatal("a released or expired lease must be free")
		}
		got, _ := st.GetConnection(ctx, u.TenantID, c.ID)
		if got.Version != c.Version {
			t.Fatalf("leases changed the row's version: %d -> %d", c.Version, got.Version)
		}
		if _, err := st.AcquireTokenLease(ctx, "other-tenant", c.ID, "x", time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("lease across tenants: %v", err)
		}
	})
}
