package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
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

// connColumns are the columns of Connection in the order scanConnection
// reads them. Open checks them against Bun's model of Connection, so a
// column added to one and not the other stops the store at once.
const connColumns = "id, tenant_id, name, slug, provider, config, secret_fields, credentials, key_id, status, " +
	"visibility, is_default, is_from_template, last_used_at, last_verified_at, verification_error, " +
	"verification_error_code, verification_details, created_at, updated_at, created_by, updated_by, version"

// selectConnections reads the connections that where (with ? placeholders)
// selects, through queryParams.
func (s *Store) selectConnections(ctx context.Context, where string, args ...any) ([]*Connection, error) {
	rows, err := s.queryParams(ctx, s.selectConn+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// scanConnection reads one row of connColumns. It names each destination
// instead of going through Bun's reflection, which cost as much as the
// rest of reading a page.
func scanConnection(rows *sql.Rows) (*Connection, error) {
	c := new(Connection)
	var keyID, verr, vcode sql.NullString
	var lastUsed, lastVerified, created, updated timeValue
	err := rows.Scan(&c.ID, &c.TenantID, &c.Name, &c.Slug, &c.Provider, &c.Config, &c.SecretFields, &c.Credentials,
		&keyID, &c.Status, &c.Visibility, &c.IsDefault, &c.IsFromTemplate, &lastUsed, &lastVerified, &verr, &vcode,
		&c.VerificationDetails, &created, &updated, &c.CreatedBy, &c.UpdatedBy, &c.Version)
	if err != nil {
		return nil, fmt.Errorf("store: scan connection: %w", err)
	}
	c.KeyID = keyID.String
	c.LastUsedAt, c.LastVerifiedAt = lastUsed.ptr(), lastVerified.ptr()
	c.CreatedAt, c.UpdatedAt = created.t, updated.t
	if verr.Valid {
		c.VerificationError = &verr.String
	}
	if vcode.Valid {
		c.VerificationErrorCode = &vcode.String
	}
	return c, nil
}

// timeValue scans a timestamp as either driver gives it: pgx a time.Time,
// SQLite (where Bun writes text) a time.Time or the text.
type timeValue struct {
	t     time.Time
	valid bool
}

func (v *timeValue) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		*v = timeValue{}
		return nil
	case time.Time:
		*v = timeValue{t: x, valid: true}
		return nil
	case string:
		return v.parse(x)
	case []byte:
		return v.parse(string(x))
	}
	return fmt.Errorf("store: cannot scan %T as a time", src)
}

// parse reads a timestamp written as text the way Bun reads it.
func (v *timeValue) parse(s string) error {
	var t time.Time
	if err := scanBunTime(reflect.ValueOf(&t).Elem(), s); err != nil {
		return fmt.Errorf("store: parse time %q: %w", s, err)
	}
	*v = timeValue{t: t, valid: true}
	return nil
}

var scanBunTime = schema.Scanner(reflect.TypeFor[time.Time]())

func (v timeValue) ptr() *time.Time {
	if !v.valid {
		return nil
	}
	t := v.t
	return &t
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
