package postgres

// Layer 2 of the query safety, and the row machinery sample shares with it.
// A statement runs:
//
//   - in a READ ONLY transaction (BEGIN TRANSACTION READ ONLY, what pgx's
//     BeginTx with AccessMode ReadOnly sends) that is always rolled back;
//   - with statement_timeout, lock_timeout and idle_in_transaction_session_timeout
//     set LOCAL to the request's timeout;
//   - over the extended protocol, one statement per Parse message, so text
//     with a second statement cannot run;
//   - as the query of a NO SCROLL cursor (DECLARE ... CURSOR FOR <statement>),
//     which PostgreSQL only accepts for a SELECT, VALUES or WITH ... SELECT
//     without data-modifying CTEs or INTO. Rows are read with FETCH FORWARD
//     in chunks and reading stops at maxRows+1 rows or the byte cap: a
//     billion-row result costs one chunk, the rest is never computed, and the
//     connection stays healthy (the cursor dies with the rollback), which
//     cancelling a half-read result would not guarantee.
//
// BEGIN, the settings, the DECLARE, the table-ref lookups, the first FETCH
// and, when that FETCH is also the last (maxRows < 1024), the ROLLBACK go
// to the server as one pipelined batch: one round trip for the whole query,
// instead of the five a transaction object would take. When anything in the
// batch fails the server skips the rest, and the ROLLBACK is sent on its own.
//
// Context cancellation sends a cancel request to the server (the pool's
// connections use pgconn.CancelRequestContextWatcherHandler), so an
// abandoned statement stops there too.

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.Sampler = (*conn)(nil)
	_ providers.Querier = (*conn)(nil)
)

const (
	// defaultStatementTimeout applies when the request sets none.
	defaultStatementTimeout = 30 * time.Second
	// contextGrace is how much longer than the statement timeout the call may
	// take, so the database's own timeout answers first.
	contextGrace = 2 * time.Second
	// cursorName is the one cursor of a transaction.
	cursorName = "junction_rows"
	// firstChunk is the most rows the first FETCH asks for; later ones are
	// sized from the bytes per row seen so far.
	firstChunk = 1024
	// beginSQL is what pgx's BeginTx sends for AccessMode ReadOnly.
	beginSQL = "BEGIN TRANSACTION READ ONLY"
)

// localSettingsSQL sets the transaction's limits and the output formats
// values.go parses ($1 statement and lock timeout, $2 idle timeout, both in
// milliseconds). Only the output half of DateStyle is set, so how dates are
// read (DMY or MDY) stays the server's. standard_conforming_strings is the
// default the guard's parser assumes: with it off, the server would read
// backslashes in string literals differently from the guard.
const localSettingsSQL = `SELECT pg_catalog.set_config('statement_timeout', $1, true),
       pg_catalog.set_config('lock_timeout', $1, true),
       pg_catalog.set_config('idle_in_transaction_session_timeout', $2, true),
       pg_catalog.set_config('DateStyle', 'ISO', true),
       pg_catalog.set_config('extra_float_digits', '3', true),
       pg_catalog.set_config('bytea_output', 'hex', true),
       pg_catalog.set_config('standard_conforming_strings', 'on', true)`

// resolveSQL resolves one unqualified relation name (quoted) against the
// search_path, the way the statement's own names were resolved.
const resolveSQL = `SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass($1)::pg_catalog.oid`

// Query runs one read-only statement: layer 1 (classify) refuses anything
// else, layer 2 (run: the read-only transaction and the cursor) runs what
// it accepts.
func (c *conn) Query(ctx context.Context, req providers.QueryRequest) (*providers.QueryResult, error) {
	var st *statement
	if c.hooks.skipGuard {
		st = &statement{Text: req.SQL}
	} else {
		var err error
		if st, err = classify(ctx, req.SQL); err != nil {
			var pe *providers.Error
			if errors.As(err, &pe) {
				pe.Message = c.cfg.Redact(pe.Message) // the parser quotes the text
			}
			return nil, err
		}
	}
	// Unqualified names are resolved by the server, against its
	// search_path, in the statement's own transaction.
	var names []string
	lookup := map[string]int{} // unqualified name -> its index in names
	for _, t := range st.Tables {
		if _, ok := lookup[t.Table]; t.Schema == "" && !ok {
			lookup[t.Table] = len(names)
			names = append(names, quoteIdent(t.Table))
		}
	}
	r, err := c.run(ctx, run{stmt: st.Text, resolve: names, limits: req.Limits, timeout: req.Timeout}, nil)
	if err != nil {
		return nil, err
	}
	refs := make([]providers.TableRef, len(st.Tables))
	for i, t := range st.Tables {
		refs[i] = t
		if t.Schema == "" && r.resolved[lookup[t.Table]] != nil {
			refs[i] = *r.resolved[lookup[t.Table]]
		}
	}
	res := &providers.QueryResult{RowSet: *r.set, TableRefs: []providers.TableRef{}}
	seen := map[providers.TableRef]bool{}
	for _, t := range refs {
		if !seen[t] {
			seen[t] = true
			res.TableRefs = append(res.TableRefs, t)
		}
	}
	return res, nil
}

// Sample returns the first rows of a table the catalog knows, with the
// catalog's columns. The statement is built from the catalog's names, quoted
// by quoteIdent, never from the request's text.
func (c *conn) Sample(ctx context.Context, req providers.SampleRequest) (*providers.RowSet, error) {
	cctx, cancel := c.cfg.WithTimeout(ctx)
	sets, err := columns(cctx, c.pool, []providers.TableRef{req.Table})
	cancel()
	if err != nil {
		return nil, c.classify(err)
	}
	var ref providers.TableRef
	var cols []providers.Column
	for k, v := range sets { // at most one: the requested table, as the catalog names it
		ref, cols = k, v
	}
	if cols == nil {
		return nil, providers.Errorf(providers.CodeNotFound, "postgres: table %s does not exist", qualifiedName(req.Table.Schema, req.Table.Table))
	}
	stmt := "SELECT * FROM " + qualifiedName(ref.Schema, ref.Table) + " LIMIT " + strconv.Itoa(max(req.Limits.MaxRows, 1)+1)
	r, err := c.run(ctx, run{stmt: stmt, limits: req.Limits, timeout: c.cfg.Timeout}, func(fields []pgconn.FieldDescription) []providers.Column {
		if len(fields) == len(cols) {
			return cols
		}
		return nil // the table changed since the catalog was read: name the columns the rows have
	})
	if err != nil {
		return nil, err
	}
	return r.set, nil
}

// run is one statement to run through the cursor.
type run struct {
	stmt    string   // one SELECT, VALUES or WITH ... SELECT
	resolve []string // quoted relation names to resolve against the search_path
	limits  providers.RowLimits
	timeout time.Duration // statement timeout; 0 means the default
}

type runResult struct {
	set *providers.RowSet
	// resolved has, per name of run.resolve, the relation it names (nil
	// when it names none).
	resolved []*providers.TableRef
}

// run runs r.stmt as a NO SCROLL cursor in a read-only transaction and
// reads it into a RowSet under r.limits. columns, when set, may supply the
// columns for the result's fields (nil: named after the fields).
func (c *conn) run(ctx context.Context, r run, columns func([]pgconn.FieldDescription) []providers.Column) (*runResult, error) {
	out := &runResult{resolved: make([]*providers.TableRef, len(r.resolve))}
	err := c.withConn(ctx, r.timeout, func(ctx context.Context, pgc *pgconn.PgConn, timeout time.Duration) error {
		want := max(r.limits.MaxRows, 1) + 1 // one more than kept, to know whether there was more
		chunk := min(want, firstChunk)
		last := chunk == want // the first FETCH is also the last: roll back in the same batch

		b := &pgconn.Batch{}
		b.ExecParams(beginSQL, nil, nil, nil, nil)
		ms := []byte(strconv.FormatInt(max(timeout.Milliseconds(), 1), 10))
		b.ExecParams(localSettingsSQL, [][]byte{ms, ms}, nil, nil, nil)
		b.ExecParams("DECLARE "+cursorName+" NO SCROLL CURSOR FOR "+r.stmt, nil, nil, nil, nil)
		for _, name := range r.resolve {
			b.ExecParams(resolveSQL, [][]byte{[]byte(name)}, nil, nil, nil)
		}
		b.ExecParams(fetchSQL(chunk), nil, nil, nil, nil)
		if last {
			b.ExecParams("ROLLBACK", nil, nil, nil, nil)
		}

		var f *fetcher
		mrr := pgc.ExecBatch(ctx, b)
		for n := 0; mrr.NextResult(); n++ {
			rr := mrr.ResultReader()
			switch j := n - 3; {
			case j >= 0 && j < len(r.resolve):
				for rr.NextRow() {
					v := rr.Values()
					out.resolved[j] = &providers.TableRef{Schema: string(v[0]), Table: string(v[1])}
				}
			case j == len(r.resolve):
				fields := append([]pgconn.FieldDescription(nil), rr.FieldDescriptions()...)
				var cols []providers.Column
				if columns != nil {
					cols = columns(fields)
				}
				if cols == nil {
					cols = make([]providers.Column, len(fields))
					for i, fd := range fields {
						cols[i] = providers.Column{Name: fd.Name}
					}
				}
				f = c.newFetcher(fields, cols, r.limits, want)
				f.read(rr)
			}
			if _, err := rr.Close(); err != nil {
				mrr.Close()
				return err
			}
		}
		if err := mrr.Close(); err != nil {
			return err
		}
		if f == nil {
			return providers.Errorf(providers.CodeProviderError, "postgres: the server sent no result for the cursor")
		}
		if f.err != nil {
			return f.err
		}
		if err := f.finish(ctx, pgc); err != nil {
			return err
		}
		for f.more() {
			rr := pgc.ExecParams(ctx, fetchSQL(f.nextChunk()), nil, nil, nil, nil)
			f.read(rr)
			if _, err := rr.Close(); err != nil {
				return err
			}
			if f.err != nil {
				return f.err
			}
		}
		out.set = f.b.RowSet()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func fetchSQL(n int) string { return "FETCH FORWARD " + strconv.Itoa(n) + " FROM " + cursorName }

// withConn runs fn on one pooled connection under the statement timeout
// (0 means the default) plus a grace period, and leaves no transaction
// open: whatever fn began and did not end is rolled back. Errors the
// database raised become CodeQueryFailed with its message (redacted),
// timeouts CodeTimeout.
func (c *conn) withConn(ctx context.Context, timeout time.Duration, fn func(ctx context.Context, pgc *pgconn.PgConn, timeout time.Duration) error) error {
	if timeout <= 0 {
		timeout = defaultStatementTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+contextGrace)
	defer cancel()
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return c.classify(err)
	}
	defer pc.Release() // the pool destroys a connection left busy, broken or in a transaction
	pgc := pc.Conn().PgConn()
	defer func() {
		if pgc.IsClosed() || pgc.TxStatus() == 'I' {
			return
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		pgc.Exec(rctx, "ROLLBACK").Close()
	}()
	if err := fn(ctx, pgc, timeout); err != nil {
		return c.queryError(ctx, err, timeout)
	}
	return nil
}

// fetcher turns the rows of the cursor's FETCHes into a RowSet. Values are
// decoded as they arrive when every column's type is known; otherwise the
// rows of the first FETCH are kept as raw text (up to about the byte cap)
// until finish has looked the types up.
type fetcher struct {
	c       *conn
	fields  []pgconn.FieldDescription
	decs    []*decoder // nil until every type is known
	b       *providers.RowBuilder
	limits  providers.RowLimits
	want    int // rows to read at most (maxRows + 1)
	fetched int // rows the server sent
	asked   int // rows asked for
	bytes   int // raw bytes of the rows read
	stopped bool
	pending [][][]byte // rows read before the types were known
	vals    []any
	err     error
}

func (c *conn) newFetcher(fields []pgconn.FieldDescription, cols []providers.Column, limits providers.RowLimits, want int) *fetcher {
	f := &fetcher{c: c, fields: fields, b: providers.NewRowBuilder(cols, limits), limits: limits, want: want, vals: make([]any, len(fields))}
	oids := make([]uint32, len(fields))
	for i, fd := range fields {
		oids[i] = fd.DataTypeOID
	}
	f.decs = c.types.cached(oids)
	f.asked = min(want, firstChunk)
	return f
}

// read reads the rows of one FETCH.
func (f *fetcher) read(rr *pgconn.ResultReader) {
	for !f.stopped && f.err == nil && rr.NextRow() {
		f.fetched++
		raw := rr.Values()
		for _, v := range raw {
			f.bytes += len(v)
		}
		if f.decs == nil {
			row := make([][]byte, len(raw))
			for i, v := range raw {
				if v != nil {
					row[i] = append([]byte{}, v...)
				}
			}
			f.pending = append(f.pending, row)
			// Encoded values are not smaller than their text, so rows
			// past the byte cap could not be kept anyway.
			if f.limits.MaxBytes > 0 && f.bytes > f.limits.MaxBytes {
				f.stopped = true
				f.b.SetTruncated()
			}
			continue
		}
		f.add(raw)
	}
}

func (f *fetcher) add(raw [][]byte) {
	for i, v := range raw {
		if v == nil {
			f.vals[i] = nil
			continue
		}
		var err error
		if f.vals[i], err = f.decs[i].decode(v); err != nil {
			f.err = providers.Wrap(providers.CodeProviderError, err, "postgres: could not read a value of column %q: %v", f.fields[i].Name, err)
			return
		}
	}
	more, err := f.b.Add(f.vals)
	if err != nil {
		f.err = providers.Wrap(providers.CodeProviderError, err, "postgres: could not encode a row: %v", err)
	}
	if !more {
		f.stopped = true
	}
}

// finish looks up the types the cache did not know and adds the rows kept
// meanwhile.
func (f *fetcher) finish(ctx context.Context, pgc *pgconn.PgConn) error {
	if f.decs != nil {
		return nil
	}
	oids := make([]uint32, len(f.fields))
	for i, fd := range f.fields {
		oids[i] = fd.DataTypeOID
	}
	decs, err := f.c.types.decoders(ctx, pgc, oids)
	if err != nil {
		return err
	}
	f.decs = decs
	stopped := f.stopped
	f.stopped = false
	for _, row := range f.pending {
		if f.add(row); f.stopped || f.err != nil {
			break
		}
	}
	f.pending = nil
	f.stopped = f.stopped || stopped
	return f.err
}

// more reports whether another FETCH is needed: the last one returned all
// it was asked for, fewer than want rows were read, and nothing stopped.
func (f *fetcher) more() bool {
	return !f.stopped && f.err == nil && f.fetched == f.asked && f.fetched < f.want
}

// nextChunk sizes the next FETCH: the rows still wanted, or about as many
// as the byte cap still has room for, so wide rows are not read far past it.
func (f *fetcher) nextChunk() int {
	n := f.want - f.fetched
	if f.limits.MaxBytes > 0 && f.fetched > 0 {
		perRow := max(f.bytes/f.fetched, 1)
		n = min(n, max((f.limits.MaxBytes-f.bytes)/perRow+1, 1))
	}
	f.asked += n
	return n
}

// queryError classifies an error of a statement run by withConn.
func (c *conn) queryError(ctx context.Context, err error, timeout time.Duration) error {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := providers.CutDetail(c.cfg.Redact(pgErr.Message))
		switch pgErr.Code {
		case "57014": // query_canceled: statement_timeout, or our cancel request
			return providers.Wrap(providers.CodeTimeout, err, "postgres: the statement did not finish within the timeout of %s (%s)", timeout, msg)
		case "55P03", "25P03": // lock_timeout, idle_in_transaction_session_timeout
			return providers.Wrap(providers.CodeTimeout, err, "postgres: %s (SQLSTATE %s)", msg, pgErr.Code)
		}
		return providers.Wrap(providers.CodeQueryFailed, err, "postgres: %s (SQLSTATE %s)", msg, pgErr.Code)
	}
	if ctx.Err() != nil || pgconn.Timeout(err) {
		return providers.Wrap(providers.CodeTimeout, err, "postgres: the statement did not finish within the timeout of %s", timeout)
	}
	return c.classify(err)
}
