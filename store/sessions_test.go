package store_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/store"
)

func TestSessions(t *testing.T) {
	testdb.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		tok := "jct_session_" + store.NewID()
		u, err := st.EnsureUserToken(ctx, "acme", "alice", "alice@example.com", "member", tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateSession(ctx, "jct_unknown", "sid-x", time.Now().Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session for an unknown token: %v", err)
		}
		if err := st.CreateSession(ctx, tok, "sid-1", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		p, err := st.AuthenticateSession(ctx, "sid-1")
		if err != nil || p.User.ID != u.ID || p.Tenant.Name != "acme" || p.User.Role != "member" {
			t.Fatalf("authenticate session: %+v %v", p, err)
		}
		// Only the hash is stored.
		var n int
		if err := st.DB().NewRaw("SELECT count(*) FROM sessions WHERE id_sha256 = ?", "sid-1").Scan(ctx, &n); err != nil || n != 0 {
			t.Fatalf("a raw session id is stored: %d %v", n, err)
		}
		// The session id is not an API token, and the API token is not a session.
		if _, err := st.Authenticate(ctx, "sid-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session id as a token: %v", err)
		}
		if _, err := st.AuthenticateSession(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token as a session: %v", err)
		}

		// Expired: refused, and swept by the next login.
		if err := st.CreateSession(ctx, tok, "sid-old", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AuthenticateSession(ctx, "sid-old"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		if err := st.CreateSession(ctx, tok, "sid-2", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().NewRaw("SELECT count(*) FROM sessions").Scan(ctx, &n); err != nil || n != 2 {
			t.Fatalf("sessions after the sweep: %d %v, want 2", n, err)
		}

		// Logout.
		if ok, err := st.DeleteSession(ctx, "sid-1"); !ok || err != nil {
			t.Fatalf("delete: %v %v", ok, err)
		}
		if _, err := st.AuthenticateSession(ctx, "sid-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
		if ok, err := st.DeleteSession(ctx, "sid-1"); ok || err != nil {
			t.Fatalf("second delete: %v %v", ok, err)
		}

		// Revoking the token ends its sessions (and deletes them).
		if ok, err := st.RevokeToken(ctx, tok); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, err := st.AuthenticateSession(ctx, "sid-2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of a revoked token: %v", err)
		}
		if err := st.DB().NewRaw("SELECT count(*) FROM sessions").Scan(ctx, &n); err != nil || n != 0 {
			t.Fatalf("sessions of a revoked token kept: %d %v", n, err)
		}
	})
}

func TestIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("syntax error at or near \"SELEC\""), false},
		{sql.ErrNoRows, false},
		{store.ErrNotFound, false},
		{&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, false},
		{&pgconn.PgError{Code: "23505"}, false},
		{fmt.Errorf("store: x: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), true},
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "53300"}, true},
		{fmt.Errorf("store: list: %w", driver.ErrBadConn), true},
		{sql.ErrConnDone, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{errors.New("sql: database is closed"), true},
	} {
		if got := store.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestIsUnavailableRealErrors classifies the errors real databases return:
// PostgreSQL with nothing listening, and SQLite locked past its timeout.
func TestIsUnavailableRealErrors(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	db, err := sql.Open("pgx", "postgres://u:p@"+addr+"/db?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(ctx)
	if err == nil || !store.IsUnavailable(err) {
		t.Fatalf("refused PostgreSQL connect: %v not unavailable", err)
	}

	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	if _, err := a.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	_, err = b.Exec("INSERT INTO t VALUES (2)")
	if err == nil || !store.IsUnavailable(err) {
		t.Fatalf("SQLite busy: %v not unavailable", err)
	}
	if _, err := b.Exec("INSERT INTO nope VALUES (2)"); err == nil || store.IsUnavailable(err) {
		t.Fatalf("a bad statement is not an outage: %v", err)
	}
}
