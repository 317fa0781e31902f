package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

// openWith opens db (already migrated) with ring, closed when t ends.
func openWith(t *testing.T, db testdb.DB, ring *store.KeyRing, log *slog.Logger) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DatabaseURL: db.URL, DataDir: db.DataDir, Keys: ring, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ring(t *testing.T, keys string) *store.KeyRing {
	t.Helper()
	r, err := store.ParseKeyRing(keys, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

// sealed inserts a connection with secrets and returns it as stored.
func sealed(t *testing.T, st *store.Store, u *store.User, name string, secrets map[string]string) *store.Connection {
	t.Helper()
	ctx := context.Background()
	c := newConn(st, u, name, "postgres")
	if err := st.InsertConnection(ctx, c, secrets, false); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetConnection(ctx, u.TenantID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// damage flips a byte of the connection's sealed credentials in the database.
func damage(t *testing.T, st *store.Store, c *store.Connection) {
	t.Helper()
	blob := slices.Clone(c.Credentials)
	blob[len(blob)/2] ^= 0x40
	if _, err := st.DB().NewUpdate().Table("connections").Set("credentials = ?", blob).Where("id = ?", c.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestUnreadableCredentialsFailClosed (issue 9, items 17 and 19): whatever is
// wrong with a row's sealed credentials, reading them fails with
// ErrUnreadable, never as "no secrets".
func TestUnreadableCredentialsFailClosed(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		other := sealed(t, st, u, "Other", map[string]string{"password": "other-secret"})
		cases := []struct {
			name string
			set  map[string]any // column -> value written over a good row
		}{
			{"empty blob with a key id", map[string]any{"credentials": []byte{}}},
			{"null blob with a key id", map[string]any{"credentials": nil}},
			{"blob without a key id", map[string]any{"key_id": nil}},
			{"unknown key id", map[string]any{"key_id": "no-such-key"}},
			{"truncated blob", map[string]any{"credentials": []byte{1, 2, 3}}},
			{"another row's blob", map[string]any{"credentials": other.Credentials}},
			{"secret names that do not match", map[string]any{"secret_fields": `["password","token"]`}},
			{"no secret names for a sealed secret", map[string]any{"secret_fields": `[]`}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := sealed(t, st, u, "C "+tc.name, map[string]string{"password": canary})
				q := st.DB().NewUpdate().Table("connections").Where("id = ?", c.ID)
				for col, v := range tc.set {
					if v == nil {
						q = q.Set(col + " = NULL")
					} else {
						q = q.Set(col+" = ?", v)
					}
				}
				if _, err := q.Exec(ctx); err != nil {
					t.Fatal(err)
				}
				got, err := st.GetConnection(ctx, u.TenantID, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				s, err := st.OpenSecrets(got)
				if !errors.Is(err, store.ErrUnreadable) || s != nil {
					t.Fatalf("OpenSecrets = %v, %v; want ErrUnreadable", s, err)
				}
				if strings.Contains(err.Error(), canary) {
					t.Fatal("the error holds the secret")
				}
			})
		}
		t.Run("no blob, no key id, no names is no secrets", func(t *testing.T) {
			c := sealed(t, st, u, "Empty", nil)
			if s, err := st.OpenSecrets(c); err != nil || len(s) != 0 {
				t.Fatalf("OpenSecrets = %v, %v", s, err)
			}
		})
		t.Run("replacing every secret reseals without the old blob", func(t *testing.T) {
			c := sealed(t, st, u, "Repair", map[string]string{"password": canary})
			damage(t, st, c)
			c, _ = st.GetConnection(ctx, u.TenantID, c.ID)
			if err := st.UpdateConnection(ctx, c, map[string]string{"password": "new-secret"}); err != nil {
				t.Fatal(err)
			}
			c, _ = st.GetConnection(ctx, u.TenantID, c.ID)
			if s, err := st.OpenSecrets(c); err != nil || s["password"] != "new-secret" {
				t.Fatalf("after repair: %v %v", s, err)
			}
		})
	})
}

// TestKeyCheckRows (issue 9, item 18): start-up proves the key against a
// row sealed for that purpose; a damaged tenant row fails only itself.
func TestKeyCheckRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		key := testdb.NewKey(t)
		st := openWith(t, db, ring(t, "k1:"+key), discard())
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := st.CheckKeys(ctx); err != nil {
			t.Fatalf("first start: %v", err)
		}
		var n int
		k1 := st.Keys().Primary() // the id derived from key; "k1" is only its label
		if err := st.DB().NewRaw("SELECT COUNT(*) FROM key_checks WHERE key_id = ?", k1).Scan(ctx, &n); err != nil || n != 1 {
			t.Fatalf("key-check rows for %s: %d %v", k1, n, err)
		}
		u := admin(t, st, "acme")
		bad := sealed(t, st, u, "Bad", map[string]string{"password": canary})
		good := sealed(t, st, u, "Good", map[string]string{"password": "fine-secret"})
		damage(t, st, bad)
		tampered := sealed(t, st, u, "Tampered", map[string]string{"password": "x-secret"})
		if _, err := st.DB().NewUpdate().Table("connections").Set("key_id = 'forged'").Where("id = ?", tampered.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}

		t.Run("a damaged row does not stop start-up", func(t *testing.T) {
			next := openWith(t, db, ring(t, "k1:"+key), discard())
			if err := next.CheckKeys(ctx); err != nil {
				t.Fatalf("start-up with the right key and one damaged row: %v", err)
			}
			for _, c := range []*store.Connection{bad, tampered} {
				row, _ := next.GetConnection(ctx, u.TenantID, c.ID)
				if _, err := next.OpenSecrets(row); !errors.Is(err, store.ErrUnreadable) {
					t.Fatalf("%s: %v, want ErrUnreadable", c.Name, err)
				}
			}
			row, _ := next.GetConnection(ctx, u.TenantID, good.ID)
			if s, err := next.OpenSecrets(row); err != nil || s["password"] != "fine-secret" {
				t.Fatalf("good row: %v %v", s, err)
			}
		})
		t.Run("another key under the same label is refused", func(t *testing.T) {
			wrong := openWith(t, db, ring(t, "k1:"+testdb.NewKey(t)), discard())
			if err := wrong.CheckKeys(ctx); !errors.Is(err, store.ErrWrongKey) {
				t.Fatalf("CheckKeys = %v, want ErrWrongKey", err)
			}
		})
		t.Run("a missing key is refused", func(t *testing.T) {
			other := openWith(t, db, ring(t, "k2:"+testdb.NewKey(t)), discard())
			err := other.CheckKeys(ctx)
			if !errors.Is(err, store.ErrWrongKey) || !strings.Contains(err.Error(), `"`+k1+`"`) {
				t.Fatalf("CheckKeys = %v, want ErrWrongKey naming %s", err, k1)
			}
		})
		t.Run("a database from before key-check rows is adopted", func(t *testing.T) {
			if _, err := st.DB().NewDelete().Table("key_checks").Where("TRUE").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			wrong := openWith(t, db, ring(t, "k1:"+testdb.NewKey(t)), discard())
			if err := wrong.CheckKeys(ctx); !errors.Is(err, store.ErrWrongKey) {
				t.Fatalf("legacy database, wrong key: %v", err)
			}
			right := openWith(t, db, ring(t, "k1:"+key), discard())
			// Without key-check rows, a key id nothing configures cannot be
			// told from an old key left out: refused, as before.
			if err := right.CheckKeys(ctx); !errors.Is(err, store.ErrWrongKey) || !strings.Contains(err.Error(), "forged") {
				t.Fatalf("legacy database, unknown key id: %v", err)
			}
			if _, err := st.DB().NewUpdate().Table("connections").Set("key_id = ?", k1).Where("id = ?", tampered.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if err := right.CheckKeys(ctx); err != nil {
				t.Fatalf("legacy database with one damaged row, right key: %v", err)
			}
			if err := right.DB().NewRaw("SELECT COUNT(*) FROM key_checks WHERE key_id = ?", k1).Scan(ctx, &n); err != nil || n != 1 {
				t.Fatalf("%s not adopted: %d %v", k1, n, err)
			}
		})
		t.Run("rotation keeps the key-check rows right", func(t *testing.T) {
			newKey := testdb.NewKey(t)
			var log bytes.Buffer
			rot := openWith(t, db, ring(t, "k2:"+newKey+",k1:"+key), slog.New(slog.NewTextHandler(&log, nil)))
			n, err := rot.RotateKeys(ctx)
			if err != nil || n != 2 {
				t.Fatalf("rotation: n=%d err=%v, want the 2 rows that open resealed", n, err)
			}
			if !strings.Contains(log.String(), bad.ID) {
				t.Fatalf("the damaged row was not reported: %s", log.String())
			}
			if n, err := rot.RotateKeys(ctx); err != nil || n != 0 {
				t.Fatalf("second rotation: n=%d err=%v", n, err)
			}
			var ids []string
			if err := rot.DB().NewRaw("SELECT key_id FROM key_checks ORDER BY key_id").Scan(ctx, &ids); err != nil {
				t.Fatal(err)
			}
			if k2 := rot.Keys().Primary(); !slices.Equal(ids, []string{k2}) {
				t.Fatalf("key-check rows after rotation: %v, want [%s]", ids, k2)
			}
			onlyNew := openWith(t, db, ring(t, "k2:"+newKey), discard())
			if err := onlyNew.CheckKeys(ctx); err != nil {
				t.Fatalf("start with the new key alone: %v", err)
			}
			onlyOld := openWith(t, db, ring(t, "k1:"+key), discard())
			if err := onlyOld.CheckKeys(ctx); !errors.Is(err, store.ErrWrongKey) {
				t.Fatalf("start with the old key alone after rotation: %v", err)
			}
		})
	})
}

// TestDatabaseFileMode (issue 9, item 5): the SQLite file and its -wal and
// -shm are readable by their owner only, and wider ones are tightened.
func TestDatabaseFileMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	db := testdb.DB{Name: "sqlite", DataDir: t.TempDir()}
	path := testdb.SQLitePath(db)
	key := testdb.NewKey(t)
	check := func() {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Fatalf("%s has mode %#o, want 0600", p, m)
			}
		}
	}
	st := testdb.Open(t, db, key)
	u := admin(t, st, "acme")
	sealed(t, st, u, "A", map[string]string{"password": canary})
	check()
	st.Close()

	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	st = openWith(t, db, ring(t, "k:"+key), slog.New(slog.NewTextHandler(&log, nil)))
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check()
	if !strings.Contains(log.String(), "restricted it to its owner") || !strings.Contains(log.String(), path) {
		t.Fatalf("no log line for the tightened file: %q", log.String())
	}
}

// TestReRedact (issue 9, item 1): stored verification text is redacted again
// against each connection's own secrets, once per database.
func TestReRedact(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := admin(t, st, "acme")
		record := func(c *store.Connection, msg string, details store.JSONMap) {
			t.Helper()
			if err := st.RecordVerification(ctx, u.TenantID, c.ID, store.Verification{At: store.Now(), Status: "error", Error: &msg, Details: details}); err != nil {
				t.Fatal(err)
			}
		}
		leaky := sealed(t, st, u, "Leaky", map[string]string{"api_key": canary})
		record(leaky, "upstream said: bad key "+canary, store.JSONMap{"echo": map[string]any{"header": "Bearer " + canary}, canary: 1})
		clean := sealed(t, st, u, "Clean", map[string]string{"api_key": "other-secret-1"})
		record(clean, "upstream said: nothing", store.JSONMap{"n": 1})
		broken := sealed(t, st, u, "Broken", map[string]string{"api_key": "broken-secret-1"})
		record(broken, "bad key broken-secret-1", store.JSONMap{"echo": "broken-secret-1"})
		broken, _ = st.GetConnection(ctx, u.TenantID, broken.ID)
		damage(t, st, broken)

		calls := 0
		text := func(s string, secrets map[string]string) string {
			calls++
			for _, v := range secrets {
				s = strings.ReplaceAll(s, v, "[REDACTED]")
			}
			return s
		}
		var redactAll func(v any, secrets map[string]string) any
		redactAll = func(v any, secrets map[string]string) any {
			switch t := v.(type) {
			case string:
				return text(t, secrets)
			case map[string]any:
				out := map[string]any{}
				for k, e := range t {
					out[text(k, secrets)] = redactAll(e, secrets)
				}
				return out
			}
			return v
		}
		details := func(m map[string]any, secrets map[string]string) map[string]any {
			return redactAll(m, secrets).(map[string]any)
		}
		before := map[string]int64{}
		for _, c := range []*store.Connection{leaky, clean, broken} {
			row, _ := st.GetConnection(ctx, u.TenantID, c.ID)
			before[c.ID] = row.Version
		}

		n, err := st.ReRedact(ctx, text, details)
		if err != nil || n != 2 {
			t.Fatalf("ReRedact = %d, %v; want 2 rows changed", n, err)
		}
		row, _ := st.GetConnection(ctx, u.TenantID, leaky.ID)
		if *row.VerificationError != "upstream said: bad key [REDACTED]" {
			t.Fatalf("error = %q", *row.VerificationError)
		}
		if got := row.VerificationDetails; !maps.Equal(got["echo"].(map[string]any), map[string]any{"header": "Bearer [REDACTED]"}) || got["[REDACTED]"] == nil || got[canary] != nil {
			t.Fatalf("details = %v", got)
		}
		row, _ = st.GetConnection(ctx, u.TenantID, broken.ID)
		if *row.VerificationError != store.ErrUnreadable.Error() || len(row.VerificationDetails) != 0 {
			t.Fatalf("unreadable row: error %q details %v", *row.VerificationError, row.VerificationDetails)
		}
		for id, v := range before {
			if row, _ := st.GetConnection(ctx, u.TenantID, id); row.Version != v {
				t.Fatalf("version of %s moved from %d to %d", id, v, row.Version)
			}
		}
		calls = 0
		if n, err := st.ReRedact(ctx, text, details); err != nil || n != 0 || calls != 0 {
			t.Fatalf("second run: n=%d err=%v calls=%d, want nothing done", n, err, calls)
		}
	})
}
