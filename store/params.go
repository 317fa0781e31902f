package store

import (
	"context"
	"database/sql"
	"reflect"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun/dialect"
)

// queryParams runs a read written with ? placeholders, its arguments sent
// as parameters rather than inlined into the text as Bun's builder does.
// On PostgreSQL the statement is one pgx prepares once per connection and
// keeps in its cache, so the server parses and plans each of these reads
// once instead of on every call (the simple protocol the rest of the store
// uses makes PostgreSQL parse and plan every query; under W2 that was most
// of the database's CPU per request).
// Use it for the hot reads whose text does not depend on the values. A
// default_query_exec_mode in JUNCTION_DATABASE_URL (a pooler that cannot
// keep prepared statements) is respected: the arguments are then sent in
// that mode.
func (s *Store) queryParams(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s.onParams != nil {
		s.onParams(query, args)
	}
	if s.db.Dialect().Name() == dialect.PG {
		if s.cacheStatements {
			args = append([]any{pgx.QueryExecModeCacheStatement}, args...)
		}
		return s.db.DB.QueryContext(ctx, pgQuery(query), args...)
	}
	// On SQLite, Bun inlines them as before: bound to a prepared statement,
	// a cursor page's row comparison sent SQLite's planner into a loop.
	return s.db.QueryContext(ctx, query, args...)
}

// ObserveReads makes f see each statement the hot reads run (with ?
// placeholders) and its arguments, before it runs; Bun's query hooks do not
// see them on PostgreSQL. It is for tests and debugging: set it before the
// store is used. f may panic, as a hook could.
func (s *Store) ObserveReads(f func(query string, args []any)) { s.onParams = f }

// pgQuery numbers the ? placeholders of query as PostgreSQL's $1, $2, ...
// The store's queries have no ? inside literals or identifiers. It is not
// cached: a list page's text carries its LIMIT and OFFSET, so a cache keyed
// by text would grow with every offset a client asks for.
func pgQuery(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// columnsOf is the comma-separated column list of a Bun model, as Bun
// would select it.
func (s *Store) columnsOf(model any) string {
	t := s.db.Dialect().Tables().Get(reflect.TypeOf(model).Elem())
	names := make([]string, 0, len(t.Fields))
	for _, f := range t.Fields {
		names = append(names, string(f.SQLName))
	}
	return strings.Join(names, ", ")
}

// selectConnections reads the connections that where (with ? placeholders)
// selects, through queryParams.
func (s *Store) selectConnections(ctx context.Context, where string, args ...any) ([]*Connection, error) {
	rows, err := s.queryParams(ctx, s.selectConn+where, args...)
	if err != nil {
		return nil, err
	}
	var out []*Connection
	if err := s.db.ScanRows(ctx, rows, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// selectConnection is selectConnections for one row: sql.ErrNoRows when
// there is none.
func (s *Store) selectConnection(ctx context.Context, where string, args ...any) (*Connection, error) {
	cs, err := s.selectConnections(ctx, where, args...)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, sql.ErrNoRows
	}
	return cs[0], nil
}
