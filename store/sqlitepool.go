package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// SQLite in WAL mode lets any number of readers run beside one writer. The
// store keeps one database/sql pool (Bun needs one *sql.DB), and routes below
// it: every pooled connection reads on a SQLite connection of its own, and
// all of them write on one shared writer connection, taken in turn. A
// transaction holds the writer from BEGIN to COMMIT or ROLLBACK (and runs all
// of its statements there, reads included, so it sees its own writes); a
// statement outside one takes the writer for that statement only when it is
// not a plain read. Writes are therefore serialised in Go, in the order they
// asked, as they were with a single connection: no writer ever waits in
// SQLite's busy handler for another. The reading connections are opened
// with query_only, so a statement misrouted to one fails instead of writing
// beside the writer.

// sqliteConnector opens the pooled connections; it owns the writer.
type sqliteConnector struct {
	drv     driver.Driver
	readDSN string
	writer  driver.Conn
	wsem    chan struct{} // holds one token while someone uses the writer
	once    sync.Once
}

// newSQLiteConnector opens the writer now (so that the file is created and
// put in WAL mode before any reader opens it) and returns a connector whose
// connections open their readers.
func newSQLiteConnector(drv driver.Driver, writeDSN, readDSN string) (*sqliteConnector, error) {
	w, err := drv.Open(writeDSN)
	if err != nil {
		return nil, err
	}
	for _, ok := range []bool{isQueryer(w), isExecer(w), isBeginner(w)} {
		if !ok {
			w.Close()
			return nil, fmt.Errorf("store: sqlite driver lacks the context methods the router needs")
		}
	}
	return &sqliteConnector{drv: drv, readDSN: readDSN, writer: w, wsem: make(chan struct{}, 1)}, nil
}

func isQueryer(c driver.Conn) bool  { _, ok := c.(driver.QueryerContext); return ok }
func isExecer(c driver.Conn) bool   { _, ok := c.(driver.ExecerContext); return ok }
func isBeginner(c driver.Conn) bool { _, ok := c.(driver.ConnBeginTx); return ok }

// Connect implements driver.Connector.
func (c *sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := c.drv.Open(c.readDSN)
	if err != nil {
		return nil, err
	}
	if !isQueryer(r) || !isExecer(r) {
		r.Close()
		return nil, errors.New("store: sqlite driver lacks the context methods the router needs")
	}
	return &routedConn{c: c, r: r}, nil
}

// Driver implements driver.Connector.
func (c *sqliteConnector) Driver() driver.Driver { return c.drv }

// Close closes the writer; database/sql calls it from DB.Close after closing
// the pooled connections.
func (c *sqliteConnector) Close() error {
	var err error
	c.once.Do(func() {
		c.wsem <- struct{}{} // wait for the writer to be free
		err = c.writer.Close()
	})
	return err
}

var _ io.Closer = (*sqliteConnector)(nil)

// lock takes the writer, or gives up when ctx ends first.
func (c *sqliteConnector) lock(ctx context.Context) error {
	select {
	case c.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *sqliteConnector) unlock() { <-c.wsem }

// readOnly reports whether a statement outside a transaction can run on a
// reading connection: a SELECT or an EXPLAIN. Anything else (WITH can
// precede a write) goes to the writer.
func readOnly(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 7 {
		return false
	}
	return strings.EqualFold(q[:7], "SELECT ") || strings.EqualFold(q[:7], "SELECT\n") ||
		strings.EqualFold(q[:7], "SELECT\t") || strings.EqualFold(q[:7], "EXPLAIN")
}

// routedConn is one pooled connection. database/sql uses it from one
// goroutine at a time.
type routedConn struct {
	c  *sqliteConnector
	r  driver.Conn // this connection's reader
	tx *routedTx   // the open transaction, which holds the writer
}

func (rc *routedConn) w() driver.Conn { return rc.c.writer }

func (rc *routedConn) Prepare(query string) (driver.Stmt, error) {
	return rc.PrepareContext(context.Background(), query)
}

func (rc *routedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	switch {
	case rc.tx != nil:
		return prepare(ctx, rc.w(), query)
	case readOnly(query):
		return prepare(ctx, rc.r, query)
	}
	if err := rc.c.lock(ctx); err != nil {
		return nil, err
	}
	defer rc.c.unlock()
	s, err := prepare(ctx, rc.w(), query)
	if err != nil {
		return nil, err
	}
	return &lockedStmt{c: rc.c, s: s}, nil
}

func prepare(ctx context.Context, c driver.Conn, query string) (driver.Stmt, error) {
	if p, ok := c.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Prepare(query)
}

func (rc *routedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if rc.tx != nil {
		return rc.w().(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	if err := rc.c.lock(ctx); err != nil {
		return nil, err
	}
	defer rc.c.unlock()
	return rc.w().(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (rc *routedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	switch {
	case rc.tx != nil:
		return rc.w().(driver.QueryerContext).QueryContext(ctx, query, args)
	case readOnly(query):
		return rc.r.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	// A write that returns rows (INSERT ... RETURNING) keeps the writer
	// until its rows are closed.
	if err := rc.c.lock(ctx); err != nil {
		return nil, err
	}
	rows, err := rc.w().(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil {
		rc.c.unlock()
		return nil, err
	}
	return &lockedRows{Rows: rows, unlock: sync.OnceFunc(rc.c.unlock)}, nil
}

func (rc *routedConn) Begin() (driver.Tx, error) {
	return rc.BeginTx(context.Background(), driver.TxOptions{})
}

func (rc *routedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if rc.tx != nil {
		return nil, errors.New("store: transaction already open on this connection")
	}
	if err := rc.c.lock(ctx); err != nil {
		return nil, err
	}
	tx, err := rc.w().(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		rc.c.unlock()
		return nil, err
	}
	rc.tx = &routedTx{rc: rc, tx: tx}
	return rc.tx, nil
}

func (rc *routedConn) Close() error {
	if rc.tx != nil {
		rc.tx.Rollback()
	}
	return rc.r.Close()
}

func (rc *routedConn) Ping(ctx context.Context) error {
	if p, ok := rc.r.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (rc *routedConn) ResetSession(ctx context.Context) error {
	if rc.tx != nil {
		return driver.ErrBadConn
	}
	if s, ok := rc.r.(driver.SessionResetter); ok {
		return s.ResetSession(ctx)
	}
	return nil
}

func (rc *routedConn) IsValid() bool {
	if v, ok := rc.r.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// routedTx gives the writer back when it ends.
type routedTx struct {
	rc *routedConn
	tx driver.Tx
}

func (t *routedTx) Commit() error   { return t.end(t.tx.Commit) }
func (t *routedTx) Rollback() error { return t.end(t.tx.Rollback) }

func (t *routedTx) end(f func() error) error {
	if t.rc.tx != t {
		return errors.New("store: transaction already ended")
	}
	err := f()
	t.rc.tx = nil
	t.rc.c.unlock()
	return err
}

// lockedRows are the rows of a write; closing them gives the writer back.
type lockedRows struct {
	driver.Rows
	unlock func()
}

func (r *lockedRows) Close() error {
	err := r.Rows.Close()
	r.unlock()
	return err
}

// lockedStmt is a statement prepared on the writer outside a transaction:
// every use takes the writer.
type lockedStmt struct {
	c *sqliteConnector
	s driver.Stmt
}

func (s *lockedStmt) Close() error {
	s.c.wsem <- struct{}{}
	defer s.c.unlock()
	return s.s.Close()
}

func (s *lockedStmt) NumInput() int { return s.s.NumInput() }

func (s *lockedStmt) Exec(args []driver.Value) (driver.Result, error) {
	return nil, errors.New("store: Exec without context is not supported")
}

func (s *lockedStmt) Query(args []driver.Value) (driver.Rows, error) {
	return nil, errors.New("store: Query without context is not supported")
}

func (s *lockedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.s.(driver.StmtExecContext)
	if !ok {
		return nil, errors.New("store: sqlite statement lacks ExecContext")
	}
	if err := s.c.lock(ctx); err != nil {
		return nil, err
	}
	defer s.c.unlock()
	return e.ExecContext(ctx, args)
}

func (s *lockedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.s.(driver.StmtQueryContext)
	if !ok {
		return nil, errors.New("store: sqlite statement lacks QueryContext")
	}
	if err := s.c.lock(ctx); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		s.c.unlock()
		return nil, err
	}
	return &lockedRows{Rows: rows, unlock: sync.OnceFunc(s.c.unlock)}, nil
}
