package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.Sampler = (*conn)(nil)
	_ providers.Querier = (*conn)(nil)
)

// rollbackTimeout bounds the ROLLBACK that ends every statement, which runs
// even when the call's context has ended.
const rollbackTimeout = 5 * time.Second

// Sample reads the first rows of a table or view the catalog knows, with
// SELECT TOP (@p1) * FROM [schema].[table] (the names as the catalog spells
// them, quoted) and @p1 = maxRows+1. Any other table is CodeNotFound.
func (c *conn) Sample(ctx context.Context, req providers.SampleRequest) (*providers.RowSet, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	s, t, err := c.lookup(ctx, req.Table)
	if err != nil {
		return nil, err
	}
	stmt := "SELECT TOP (@p1) * FROM " + quoteName(s) + "." + quoteName(t)
	return c.run(ctx, stmt, []any{int64(max(req.Limits.MaxRows, 1) + 1)}, req.Limits)
}

// Query runs one statement the guard lets through (see guard.go), and
// answers its first result set cut at MaxRows and MaxBytes, with the tables
// it reads. An error SQL Server raises for it is CodeQueryFailed with the
// server's message (redacted); a lock wait past the timeout, or the deadline,
// is CodeTimeout.
func (c *conn) Query(ctx context.Context, req providers.QueryRequest) (*providers.QueryResult, error) {
	g, err := guard(req.SQL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	if req.Timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, req.Timeout)
		defer cancelTimeout()
	}
	// The line break keeps go-mssqldb from taking a one-word statement for
	// the name of a stored procedure to call: it always runs as a batch.
	rs, err := c.run(ctx, g.text+"\n", nil, req.Limits)
	if err != nil {
		return nil, err
	}
	refs := g.refs
	if refs == nil {
		refs = []providers.TableRef{}
	}
	return &providers.QueryResult{RowSet: *rs, TableRefs: refs}, nil
}

// run executes stmt on one connection of the pool, held for the call:
// SET LOCK_TIMEOUT (a little less than the time left) and BEGIN TRANSACTION
// first, then the statement, whose first result set is read under limits
// (closing it early sends an attention, so the server stops), then ROLLBACK,
// always, so nothing the statement did outlives the call. The context's
// deadline cancels a running statement (go-mssqldb sends an attention, then
// takes the connection for broken). A connection whose rollback fails or
// cannot be sent is discarded, never returned to the pool: closing it ends
// the session, and SQL Server rolls back what the session left open.
func (c *conn) run(ctx context.Context, stmt string, args []any, limits providers.RowLimits) (rs *providers.RowSet, err error) {
	pinned, err := c.db.Conn(ctx)
	if err != nil {
		return nil, c.classify(ctx, err)
	}
	began := false
	defer func() { c.finish(ctx, pinned, began) }()
	setup := "SET LOCK_TIMEOUT " + strconv.FormatInt(lockTimeout(ctx), 10) + "; BEGIN TRANSACTION;"
	if _, err := pinned.ExecContext(ctx, setup); err != nil {
		return nil, c.classify(ctx, err)
	}
	began = true
	rows, err := pinned.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, c.statementError(ctx, err)
	}
	defer rows.Close()
	cols, kinds := resultColumns(rows)
	b := providers.NewRowBuilder(cols, limits)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, c.statementError(ctx, err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = value(kinds[i], v)
		}
		more, err := b.Add(row)
		if err != nil {
			return nil, providers.Wrap(providers.CodeProviderError, err, "sqlserver: a value could not be encoded")
		}
		if !more {
			return b.RowSet(), nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, c.statementError(ctx, err)
	}
	return b.RowSet(), nil
}

// finish rolls back what run began and returns the connection to the pool,
// or discards it when the rollback fails.
func (c *conn) finish(ctx context.Context, pinned *sql.Conn, began bool) {
	if began {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if _, err := pinned.ExecContext(rctx, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION"); err != nil {
			_ = pinned.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	pinned.Close()
}

// lockTimeout is SET LOCK_TIMEOUT's value for ctx: nine tenths of the time
// left in milliseconds, so a blocked statement ends with SQL Server's own
// lock timeout error before the deadline cancels it; -1 (wait) without a
// deadline.
func lockTimeout(ctx context.Context) int64 {
	dl, ok := ctx.Deadline()
	if !ok {
		return -1
	}
	ms := time.Until(dl).Milliseconds() * 9 / 10
	return min(max(ms, 1), math.MaxInt32)
}

// statementError classifies an error of the statement itself: one SQL
// Server raised is CodeQueryFailed with its message, except a lock wait past
// LOCK_TIMEOUT (1222), which is CodeTimeout; the deadline is CodeTimeout; a
// connection failure is classify's.
func (c *conn) statementError(ctx context.Context, err error) *providers.Error {
	var se mssql.Error
	switch {
	case errors.As(err, &se):
		msg := providers.CutDetail(c.cfg.Redact(se.Message))
		switch se.Number {
		case 1222:
			return providers.Wrap(providers.CodeTimeout, se, "sqlserver: the statement waited too long for a lock: %s", msg)
		case 1205: // chosen as a deadlock victim
			e := providers.Wrap(providers.CodeQueryFailed, se, "%s", msg)
			e.Retryable = true
			return e
		}
		return providers.Wrap(providers.CodeQueryFailed, se, "%s", msg)
	case ctx.Err() != nil:
		return providers.Wrap(providers.CodeTimeout, err, "sqlserver: the statement did not finish in time")
	}
	return c.classify(ctx, err)
}

// resultColumns are the result set's columns, spelled as SQL Server spells
// their types, and go-mssqldb's type name of each (the value conversions
// depend on it).
func resultColumns(rows *sql.Rows) ([]providers.Column, []string) {
	names, _ := rows.Columns()
	types := columnTypes(rows)
	cols := make([]providers.Column, len(names))
	kinds := make([]string, len(names))
	for i, n := range names {
		cols[i] = providers.Column{Name: n, Nullable: true}
		if i < len(types) {
			kinds[i] = types[i].DatabaseTypeName()
			cols[i].DataType = resultType(types[i])
			if nullable, ok := types[i].Nullable(); ok {
				cols[i].Nullable = nullable
			}
		}
	}
	return cols, kinds
}

// columnTypes is rows.ColumnTypes, or nil where go-mssqldb cannot describe
// a column (it panics on a CLR type it does not know).
func columnTypes(rows *sql.Rows) (types []*sql.ColumnType) {
	defer func() {
		if recover() != nil {
			types = nil
		}
	}()
	types, _ = rows.ColumnTypes()
	return types
}

// resultType spells a result column's type like typeName does for the
// catalog.
func resultType(ct *sql.ColumnType) string {
	name := strings.ToLower(ct.DatabaseTypeName())
	switch name {
	case "char", "varchar", "binary", "varbinary", "nchar", "nvarchar":
		if n, ok := ct.Length(); ok {
			if n > 8000 {
				return name + "(max)"
			}
			return fmt.Sprintf("%s(%d)", name, n)
		}
	case "decimal":
		if p, s, ok := ct.DecimalSize(); ok {
			return fmt.Sprintf("decimal(%d,%d)", p, s)
		}
	case "datetime2", "time", "datetimeoffset":
		if _, s, ok := ct.DecimalSize(); ok {
			return fmt.Sprintf("%s(%d)", name, s)
		}
	}
	return name
}

// value converts what go-mssqldb scanned into what RowBuilder encodes:
// decimal and money (text from go-mssqldb) as Decimal, uniqueidentifier as
// its text, date as 2006-01-02 and time as 15:04:05.9999999 (go-mssqldb
// answers both as a time.Time); datetimes, numbers, strings and binary
// as they are.
func value(kind string, v any) any {
	switch x := v.(type) {
	case []byte:
		switch kind {
		case "DECIMAL", "MONEY", "SMALLMONEY":
			return providers.Decimal(x)
		case "UNIQUEIDENTIFIER":
			var u mssql.UniqueIdentifier
			if u.Scan(x) == nil {
				return u.String()
			}
		}
	case time.Time:
		switch kind {
		case "DATE":
			return providers.Text(x.Format("2006-01-02"))
		case "TIME":
			return providers.Text(x.Format("15:04:05.9999999"))
		}
	}
	return v
}
