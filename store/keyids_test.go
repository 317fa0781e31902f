package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// TestKeyRingIDsAreDerived: a key's id comes from the key material; labels
// are names, optional, and never change the id.
func TestKeyRingIDsAreDerived(t *testing.T) {
	a, b := testdb.NewKey(t), testdb.NewKey(t)
	alone := ring(t, a)
	for _, spec := range []string{"k2026:" + a, a, "other:" + a + "," + b, a + ",old:" + b} {
		r, err := store.ParseKeyRing(spec, "")
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if r.Primary() != alone.Primary() || !strings.HasPrefix(r.Primary(), "key-") || len(r.Primary()) != 12 {
			t.Fatalf("%q: primary %q, want %q", spec, r.Primary(), alone.Primary())
		}
	}
	single, err := store.ParseKeyRing("", a)
	if err != nil || single.Primary() != alone.Primary() {
		t.Fatalf("JUNCTION_ENCRYPTION_KEY gives %v %v, want %s", single, err, alone.Primary())
	}
	r := ring(t, "k2026:"+a+","+b)
	if !r.Has("k2026") || r.Resolve("k2026") != alone.Primary() || r.Has("k2025") {
		t.Fatalf("labels: %v", r.Names())
	}
	if names := r.Names(); len(names) != 2 || names[0] != alone.Primary()+" (k2026)" {
		t.Fatalf("Names() = %q", names)
	}
	for _, bad := range []string{
		"x:" + a + ",y:" + a,                // the same key twice
		"x:" + a + ",x:" + b,                // a label twice
		alone.Primary() + ":" + b + "," + a, // a label that is another key's id
		":" + a,                             // an empty label
		"x:short",
	} {
		if _, err := store.ParseKeyRing(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestLabelledRowsStillOpen: rows an older version sealed under a label keep
// opening with the same key configured any way (alone, under another
// label), and rotate-keys rewrites their ids to the derived one.
func TestLabelledRowsStillOpen(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		key := testdb.NewKey(t)
		labelled := ring(t, "k2026:"+key)
		st := openWith(t, db, labelled, discard())
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := st.CheckKeys(ctx); err != nil {
			t.Fatal(err)
		}
		u := admin(t, st, "acme")
		c := sealed(t, st, u, "Old", map[string]string{"password": canary})
		// What an older version stored: the label as the id.
		if _, err := st.DB().NewRaw("UPDATE connections SET key_id = 'k2026'").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().NewRaw("DELETE FROM key_checks").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().NewRaw("INSERT INTO key_checks (key_id, sealed, created_at) VALUES ('k2026', ?, ?)",
			store.SealCheckAs(labelled, "k2026"), store.Now()).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		opens := func(t *testing.T, st *store.Store) {
			t.Helper()
			if err := st.CheckKeys(ctx); err != nil {
				t.Fatalf("start-up: %v", err)
			}
			row, err := st.GetConnection(ctx, u.TenantID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if s, err := st.OpenSecrets(row); err != nil || s["password"] != canary {
				t.Fatalf("secrets: %v %v", s, err)
			}
		}
		t.Run("the label", func(t *testing.T) { opens(t, openWith(t, db, ring(t, "k2026:"+key), discard())) })
		t.Run("the key alone", func(t *testing.T) {
			alone, err := store.ParseKeyRing("", key)
			if err != nil {
				t.Fatal(err)
			}
			opens(t, openWith(t, db, alone, discard()))
		})
		t.Run("another label", func(t *testing.T) { opens(t, openWith(t, db, ring(t, "prod:"+key), discard())) })
		t.Run("another key is still refused", func(t *testing.T) {
			other := openWith(t, db, ring(t, testdb.NewKey(t)), discard())
			if err := other.CheckKeys(ctx); !errors.Is(err, store.ErrWrongKey) || !strings.Contains(err.Error(), "k2026") {
				t.Fatalf("CheckKeys = %v, want ErrWrongKey naming k2026", err)
			}
		})
		t.Run("rotate-keys rewrites the ids", func(t *testing.T) {
			alone, _ := store.ParseKeyRing("", key)
			rot := openWith(t, db, alone, discard())
			if n, err := rot.RotateKeys(ctx); err != nil || n != 1 {
				t.Fatalf("RotateKeys = %d, %v", n, err)
			}
			var ids []string
			if err := rot.DB().NewRaw("SELECT key_id FROM connections UNION ALL SELECT key_id FROM key_checks").Scan(ctx, &ids); err != nil {
				t.Fatal(err)
			}
			if want := alone.Primary(); !slices.Equal(ids, []string{want, want}) {
				t.Fatalf("ids after rotate-keys: %v, want [%s %s]", ids, want, want)
			}
			opens(t, rot)
		})
	})
}

// TestKeyFile: the key file holds one key per line, the first sealing;
// WriteKeyFile replaces it atomically with mode 0600.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "encryption.key")
	r, created, err := store.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(r.IDs()) != 1 {
		t.Fatalf("create: %v %v %v", r, created, err)
	}
	old := r.Export()[0]
	neu, err := store.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteKeyFile(path, neu, old); err != nil {
		t.Fatal(err)
	}
	r2, created, err := store.LoadOrCreateKeyFile(path)
	if err != nil || created || !slices.Equal(r2.Export(), []string{neu, old}) {
		t.Fatalf("two keys: %v %v %v", r2, created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi, err)
	}
	if err := store.WriteKeyFile(path, "not a key"); err == nil {
		t.Fatal("a bad key was written")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
