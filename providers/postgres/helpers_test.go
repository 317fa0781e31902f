package postgres

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// openTest opens a conn on the test database (skipping without one);
// tweak may adjust the pool configuration.
func openTest(t testing.TB, tweak func(*pgxpool.Config)) *conn {
	t.Helper()
	settings, password, _ := testDBTB(t)
	cfg := providertest.Config(t, Driver{}, settings, map[string]string{"password": password})
	c, err := open(context.Background(), cfg, tweak)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// adminConn is a plain connection for fixtures.
func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	_, _, dsn := testDBTB(t)
	a, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

// exec runs fixture statements, failing the test on error.
func exec(t testing.TB, a *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, s := range sqls {
		if _, err := a.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// newSchema creates a schema with a unique name (quoted as needed) that is
// dropped with everything in it when the test ends.
func newSchema(t testing.TB, a *pgx.Conn, prefix string) string {
	t.Helper()
	name := randomName(prefix)
	exec(t, a, "CREATE SCHEMA "+quoteIdent(name))
	t.Cleanup(func() {
		a.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+quoteIdent(name)+" CASCADE")
	})
	return name
}

func asError(t testing.TB, err error) *providers.Error {
	t.Helper()
	if err == nil {
		return nil
	}
	pe, ok := err.(*providers.Error)
	if !ok {
		t.Fatalf("error %T %v is not a *providers.Error", err, err)
	}
	return pe
}

var (
	exitMu    sync.Mutex
	exitFuncs []func()
)

// atExit registers cleanup for fixtures shared by several tests; TestMain
// runs it after the last test.
func atExit(f func()) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitFuncs = append(exitFuncs, f)
}

func TestMain(m *testing.M) {
	code := m.Run()
	exitMu.Lock()
	for i := len(exitFuncs) - 1; i >= 0; i-- {
		exitFuncs[i]()
	}
	exitMu.Unlock()
	os.Exit(code)
}
