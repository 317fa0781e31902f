// Package store persists tenants, users, API tokens and connections with Bun,
// on SQLite (the embedded default) or PostgreSQL. Credentials are sealed here,
// with AES-256-GCM, before they reach the database.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Store is the persistence layer. It is safe for concurrent use.
type Store struct {
	db   *bun.DB
	keys *KeyRing
	log  *slog.Logger
	// selectConn is "SELECT <every column of Connection> FROM connections
	// WHERE ", for the reads that go through queryParams.
	selectConn string
	// cacheStatements: on PostgreSQL, queryParams sends its reads as
	// statements pgx prepares once per connection (unless the URL chose a
	// default_query_exec_mode, e.g. for a pooler that cannot keep them).
	cacheStatements bool
	// onParams, when set (by tests, before any query), sees each statement
	// queryParams runs.
	onParams func(query string, args []any)
}

// Options selects and configures the database.
type Options struct {
	// DatabaseURL selects PostgreSQL when it starts with postgres:// or
	// postgresql://. Empty selects SQLite in DataDir.
	DatabaseURL string
	// DataDir holds junction.db for the embedded default.
	DataDir string
	// Keys seals and opens credentials.
	Keys *KeyRing
	// Log receives what the store fixes or skips on its own (file
	// permissions tightened, credentials that do not open); nil is
	// slog.Default().
	Log *slog.Logger
}

// Open connects to the database. It does not run migrations.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Keys == nil {
		return nil, errors.New("store: no key ring")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	var db *bun.DB
	cacheStatements := false
	switch {
	case strings.HasPrefix(o.DatabaseURL, "postgres://"), strings.HasPrefix(o.DatabaseURL, "postgresql://"):
		pgcfg, err := pgx.ParseConfig(o.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("store: JUNCTION_DATABASE_URL: %w", err)
		}
		cacheStatements = !strings.Contains(o.DatabaseURL, "default_query_exec_mode")
		if cacheStatements {
			// Bun inlines every argument into the SQL text, so pgx's default
			// statement cache would prepare (and evict) one statement per
			// distinct value; the simple protocol sends each query once.
			// BenchmarkPostgresExecMode measures the difference.
			pgcfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		}
		sqldb := stdlib.OpenDB(*pgcfg)
		// As many idle connections as open ones: with fewer, a burst of
		// more concurrent requests than the idle limit closes a server
		// connection after nearly every query and opens another for the
		// next (a backend start each time). Idle connections still go
		// after ConnMaxIdleTime.
		sqldb.SetMaxOpenConns(pgMaxConns)
		sqldb.SetMaxIdleConns(pgMaxConns)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db = bun.NewDB(sqldb, pgdialect.New())
	case o.DatabaseURL == "" || strings.HasPrefix(o.DatabaseURL, "sqlite:") || strings.HasPrefix(o.DatabaseURL, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(o.DatabaseURL, "sqlite:"), "file:")
		if path == "" {
			if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("store: create data dir: %w", err)
			}
			path = filepath.Join(o.DataDir, "junction.db")
		}
		if err := privateFiles(ctx, log, path); err != nil {
			return nil, err
		}
		sqldb, err := openSQLite(path)
		if err != nil {
			return nil, err
		}
		db = bun.NewDB(sqldb, sqlitedialect.New())
	default:
		return nil, fmt.Errorf("store: unsupported JUNCTION_DATABASE_URL scheme (want postgres:// or empty for SQLite)")
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if db.Dialect().Name() == dialect.SQLite {
		// The -wal and -shm files exist now: SQLite gives them the
		// database file's mode, but one left from before is checked too.
		var file string
		if err := db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: connect: %w", err)
		}
		if err := privateFiles(ctx, log, file); err != nil {
			db.Close()
			return nil, err
		}
	}
	st := &Store{db: db, keys: o.Keys, log: log, cacheStatements: cacheStatements}
	if cols := strings.ReplaceAll(st.columnsOf((*Connection)(nil)), `"`, ""); cols != connColumns {
		db.Close()
		return nil, fmt.Errorf("store: the columns scanConnection reads (%s) are not Connection's (%s)", connColumns, cols)
	}
	st.selectConn = "SELECT " + connColumns + " FROM connections WHERE "
	return st, nil
}

// pgMaxConns is the most connections the store opens to PostgreSQL.
const pgMaxConns = 20

// sqliteReaders is how many SQLite connections read at once (WAL mode lets
// them run beside the writer); as many as the raw driver pools of
// pgxpool's default, at least 4.
var sqliteReaders = max(4, runtime.NumCPU())

// openSQLite opens the database file at path: one writer connection shared
// by every pooled connection, and a reader of its own for each (see
// sqlitepool.go). An in-memory database is one connection, as each
// connection to ":memory:" would be a database of its own.
func openSQLite(path string) (*sql.DB, error) {
	const pragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)"
	writeDSN := "file:" + path + "?" + pragmas + "&_pragma=journal_mode(WAL)&_txlock=immediate"
	if p, _, _ := strings.Cut(path, "?"); p == ":memory:" || strings.Contains(path, "mode=memory") {
		sqldb, err := sql.Open("sqlite", writeDSN)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		sqldb.SetMaxOpenConns(1)
		return sqldb, nil
	}
	probe, err := sql.Open("sqlite", "")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	drv := probe.Driver()
	probe.Close()
	c, err := newSQLiteConnector(drv, writeDSN, "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	sqldb := sql.OpenDB(c)
	sqldb.SetMaxOpenConns(sqliteReaders)
	sqldb.SetMaxIdleConns(sqliteReaders)
	return sqldb, nil
}

// privateFiles makes the SQLite database at path, and its -wal and -shm
// files, readable by their owner only: they hold sealed credentials and
// token hashes. A database that does not exist yet is created empty with
// mode 0600 (SQLite then creates the others with the same mode); one with
// wider permissions is tightened, and the change logged (or, when it cannot
// be changed, the failure). An in-memory database has no file.
func privateFiles(ctx context.Context, log *slog.Logger, path string) error {
	path, _, _ = strings.Cut(path, "?")
	if path == "" || path == ":memory:" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("store: create database file: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("store: create database file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: database file: %w", err)
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, mode&^0o077); err != nil {
			// Not this process's file: say so, and go on as before.
			log.ErrorContext(ctx, "database file is readable by others and its permissions could not be restricted",
				"path", p, "mode", fmt.Sprintf("%#o", mode), "err", err)
			continue
		}
		log.WarnContext(ctx, "database file was readable by others; restricted it to its owner",
			"path", p, "was", fmt.Sprintf("%#o", mode), "now", fmt.Sprintf("%#o", mode&^0o077))
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the Bun handle for tests and query hooks.
func (s *Store) DB() *bun.DB { return s.db }

// Keys returns the key ring.
func (s *Store) Keys() *KeyRing { return s.keys }

// Postgres reports whether the store is on PostgreSQL.
func (s *Store) Postgres() bool { return s.db.Dialect().Name() == dialect.PG }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

//go:embed migrations
var migrationsFS embed.FS

// Migrate applies every migration not yet applied, each in its own
// transaction, and returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	dir := "migrations/sqlite"
	if s.Postgres() {
		dir = "migrations/postgres"
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	files, err := fs.Glob(migrationsFS, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var applied []string
	for _, f := range files {
		version := strings.TrimSuffix(filepath.Base(f), ".sql")
		body, err := migrationsFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if s.Postgres() {
				// Replicas starting together apply each migration once.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7355608)`); err != nil {
					return err
				}
			}
			n, err := tx.NewSelect().Table("schema_migrations").Where("version = ?", version).Count(ctx)
			if err != nil || n > 0 {
				return err
			}
			for _, stmt := range strings.Split(string(body), ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", version, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, version); err != nil {
				return err
			}
			applied = append(applied, version)
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("store: migrate: %w", err)
		}
	}
	return applied, nil
}
