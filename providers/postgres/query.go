package postgres

// Layer 2 of the query safety, and the row machinery sample shares with it.
// A statement runs:
//
//   - in a READ ONLY transaction (pgx BeginTx, AccessMode ReadOnly) that is
//     always rolled back;
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
// Context cancellation sends a cancel request to the server (the pool's
// connections use pgconn.CancelRequestContextWatcherHandler), so an
// abandoned statement stops there too.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
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
// else, layer 2 (readOnly and the cursor) runs what it accepts.
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
	res := &providers.QueryResult{}
	err := c.readOnly(ctx, req.Timeout, func(ctx context.Context, tx pgx.Tx, pgc *pgconn.PgConn) error {
		var unqualified []int
		for i, t := range st.Tables {
			if t.Schema == "" {
				unqualified = append(unqualified, i)
			}
		}
		b := &pgconn.Batch{}
		b.ExecParams("DECLARE "+cursorName+" NO SCROLL CURSOR FOR "+st.Text, nil, nil, nil, nil)
		for _, i := range unqualified {
			b.ExecParams(resolveSQL, [][]byte{[]byte(quoteIdent(st.Tables[i].Table))}, nil, nil, nil)
		}
		b.ExecParams("FETCH FORWARD 0 FROM "+cursorName, nil, nil, nil, nil)
		resolved := make([]providers.TableRef, len(st.Tables))
		copy(resolved, st.Tables)
		fields, err := execBatch(ctx, pgc, b, func(n int, rr *pgconn.ResultReader) {
			if n >= 1 && n <= len(unqualified) {
				for rr.NextRow() {
					v := rr.Values()
					resolved[unqualified[n-1]] = providers.TableRef{Schema: string(v[0]), Table: string(v[1])}
				}
			}
		})
		if err != nil {
			return err
		}
		seen := map[providers.TableRef]bool{}
		res.TableRefs = []providers.TableRef{}
		for _, t := range resolved {
			if !seen[t] {
				seen[t] = true
				res.TableRefs = append(res.TableRefs, t)
			}
		}
		columns := make([]providers.Column, len(fields))
		for i, f := range fields {
			columns[i] = providers.Column{Name: f.Name}
		}
		set, err := c.fetch(ctx, pgc, fields, columns, req.Limits)
		if err != nil {
			return err
		}
		res.RowSet = *set
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Sample returns the first rows of a table the catalog knows, with the
// catalog's columns. The statement is built from the catalog's names, quoted
// by quoteIdent, never from the request's text.
func (c *conn) Sample(ctx context.Context, req providers.SampleRequest) (*providers.RowSet, error) {
	var out *providers.RowSet
	err := c.readOnly(ctx, c.cfg.Timeout, func(ctx context.Context, tx pgx.Tx, pgc *pgconn.PgConn) error {
		sets, err := columns(ctx, tx, []providers.TableRef{req.Table})
		if err != nil {
			return err
		}
		var ref providers.TableRef
		var cols []providers.Column
		for k, v := range sets { // at most one: the requested table, as the catalog names it
			ref, cols = k, v
		}
		if cols == nil {
			return providers.Errorf(providers.CodeNotFound, "postgres: table %s does not exist", qualifiedName(req.Table.Schema, req.Table.Table))
		}
		maxRows := max(req.Limits.MaxRows, 1)
		sql := "DECLARE " + cursorName + " NO SCROLL CURSOR FOR SELECT * FROM " + qualifiedName(ref.Schema, ref.Table) +
			" LIMIT " + strconv.Itoa(maxRows+1)
		b := &pgconn.Batch{}
		b.ExecParams(sql, nil, nil, nil, nil)
		b.ExecParams("FETCH FORWARD 0 FROM "+cursorName, nil, nil, nil, nil)
		fields, err := execBatch(ctx, pgc, b, nil)
		if err != nil {
			return err
		}
		if len(fields) != len(cols) {
			// The table changed between the two statements: name the
			// columns the rows actually have.
			cols = make([]providers.Column, len(fields))
			for i, f := range fields {
				cols[i] = providers.Column{Name: f.Name}
			}
		}
		out, err = c.fetch(ctx, pgc, fields, cols, req.Limits)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readOnly runs fn in a READ ONLY transaction on one pooled connection with
// the statement, lock and idle timeouts set LOCAL to timeout (0 means the
// default), and always rolls it back. Errors the database raised become
// CodeQueryFailed with its message (redacted), timeouts CodeTimeout.
func (c *conn) readOnly(ctx context.Context, timeout time.Duration, fn func(ctx context.Context, tx pgx.Tx, pgc *pgconn.PgConn) error) error {
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
	tx, err := pc.Conn().BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return c.queryError(ctx, err, timeout)
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		tx.Rollback(rctx)
	}()
	ms := strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
	pgc := pc.Conn().PgConn()
	if _, err := pgc.ExecParams(ctx, localSettingsSQL, [][]byte{[]byte(ms), []byte(ms)}, nil, nil, nil).Close(); err != nil {
		return c.queryError(ctx, err, timeout)
	}
	if err := fn(ctx, tx, pgc); err != nil {
		return c.queryError(ctx, err, timeout)
	}
	return nil
}

// execBatch sends b in one round trip (pipelined extended-protocol
// statements) and reads every result; fn, when set, sees each result's
// reader (numbered from 0) before it is closed. It returns a copy of the
// last result's field descriptions.
func execBatch(ctx context.Context, pgc *pgconn.PgConn, b *pgconn.Batch, fn func(n int, rr *pgconn.ResultReader)) ([]pgconn.FieldDescription, error) {
	var fields []pgconn.FieldDescription
	mrr := pgc.ExecBatch(ctx, b)
	for n := 0; mrr.NextResult(); n++ {
		rr := mrr.ResultReader()
		if fn != nil {
			fn(n, rr)
		}
		fields = append(fields[:0], rr.FieldDescriptions()...)
		if _, err := rr.Close(); err != nil {
			mrr.Close()
			return nil, err
		}
	}
	if err := mrr.Close(); err != nil {
		return nil, err
	}
	return fields, nil
}

// fetch reads the open cursor into a RowSet under limits: FETCH FORWARD in
// chunks until maxRows+1 rows were read, the byte cap was passed, or the
// cursor ran out.
func (c *conn) fetch(ctx context.Context, pgc *pgconn.PgConn, fields []pgconn.FieldDescription, columns []providers.Column, limits providers.RowLimits) (*providers.RowSet, error) {
	oids := make([]uint32, len(fields))
	for i, f := range fields {
		oids[i] = f.DataTypeOID
	}
	decs, err := c.types.decoders(ctx, pgc, oids)
	if err != nil {
		return nil, err
	}
	b := providers.NewRowBuilder(columns, limits)
	want := max(limits.MaxRows, 1) + 1 // one more than kept, to know whether there was more
	fetched, bytes := 0, 0
	chunk := min(want, firstChunk)
	vals := make([]any, len(fields))
	for {
		rr := pgc.ExecParams(ctx, "FETCH FORWARD "+strconv.Itoa(chunk)+" FROM "+cursorName, nil, nil, nil, nil)
		n, more := 0, true
		for more && rr.NextRow() {
			n++
			for i, raw := range rr.Values() {
				bytes += len(raw)
				if raw == nil {
					vals[i] = nil
					continue
				}
				if vals[i], err = decs[i].decode(raw); err != nil {
					rr.Close()
					return nil, fmt.Errorf("column %q: %w", fields[i].Name, err)
				}
			}
			if more, err = b.Add(vals); err != nil {
				rr.Close()
				return nil, err
			}
		}
		if _, err := rr.Close(); err != nil {
			return nil, err
		}
		fetched += n
		if !more || n < chunk || fetched >= want {
			break
		}
		chunk = want - fetched
		if limits.MaxBytes > 0 && fetched > 0 {
			// Ask for about as many rows as the byte cap still has room
			// for, so a result of wide rows is not read far past it.
			perRow := max(bytes/fetched, 1)
			chunk = min(chunk, max((limits.MaxBytes-bytes)/perRow+1, 1))
		}
	}
	return b.RowSet(), nil
}

// queryError classifies an error of a statement run by readOnly.
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
