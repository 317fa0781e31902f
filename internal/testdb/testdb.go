// Package testdb runs a test against every database the store supports: SQLite
// always, PostgreSQL when JUNCTION_TEST_DATABASE_URL is set (each test in a
// schema of its own, dropped afterwards). With JUNCTION_TEST_REQUIRE_POSTGRES=1
// a missing PostgreSQL fails the test instead of skipping it. A skipped
// PostgreSQL half is said in go test's normal output, once (noteSkipped).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/junctionhq/junction/store"
)

// DB describes one database under test.
type DB struct {
	// Name is "sqlite" or "postgres".
	Name string
	// URL is the JUNCTION_DATABASE_URL that selects it ("" for SQLite).
	URL string
	// DataDir is the data directory (SQLite file lives here).
	DataDir string
}

// NewKey returns a random base64 AES-256 key.
func NewKey(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Each runs f once per database as a subtest named after it.
func Each(t *testing.T, f func(t *testing.T, db DB)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, DB{Name: "sqlite", DataDir: t.TempDir()})
	})
	t.Run("postgres", func(t *testing.T) {
		u := os.Getenv("JUNCTION_TEST_DATABASE_URL")
		if u == "" {
			if os.Getenv("JUNCTION_TEST_REQUIRE_POSTGRES") == "1" {
				t.Fatal("JUNCTION_TEST_REQUIRE_POSTGRES=1 but JUNCTION_TEST_DATABASE_URL is not set")
			}
			noteSkipped()
			t.Skip("PostgreSQL half skipped: set JUNCTION_TEST_DATABASE_URL=postgres://user:pass@127.0.0.1:5432/db?sslmode=disable to run it (.ci/run does)")
		}
		f(t, DB{Name: "postgres", URL: freshSchema(t, u), DataDir: t.TempDir()})
	})
}

// EachStore runs f with a migrated store on every database.
func EachStore(t *testing.T, f func(t *testing.T, st *store.Store)) {
	Each(t, func(t *testing.T, db DB) {
		f(t, Open(t, db, NewKey(t)))
	})
}

// Open opens and migrates a store on db sealing with key; it is closed when
// the test ends.
func Open(t testing.TB, db DB, key string) *store.Store {
	t.Helper()
	keys, err := store.ParseKeyRing("", key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{DatabaseURL: db.URL, DataDir: db.DataDir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// SQLitePath is where the store keeps the SQLite file for db.
func SQLitePath(db DB) string { return filepath.Join(db.DataDir, "junction.db") }

// FreshSchema returns a JUNCTION_TEST_DATABASE_URL with its search_path set
// to a new schema dropped when tb ends; it skips tb when the variable is unset.
func FreshSchema(tb testing.TB) string {
	u := os.Getenv("JUNCTION_TEST_DATABASE_URL")
	if u == "" {
		noteSkipped()
		tb.Skip("set JUNCTION_TEST_DATABASE_URL to run this against PostgreSQL")
	}
	return freshSchema(tb, u)
}

// freshSchema creates a schema for this test and returns base with its
// search_path pointing there.
func freshSchema(t testing.TB, base string) string {
	t.Helper()
	name := "t_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_", " ", "_").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	b := make([]byte, 4)
	rand.Read(b)
	name = fmt.Sprintf("%s_%x", name, b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA "` + name + `"`); err != nil {
		t.Fatalf("create test schema (is JUNCTION_TEST_DATABASE_URL right?): %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(`DROP SCHEMA "` + name + `" CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
