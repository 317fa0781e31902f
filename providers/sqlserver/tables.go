package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/junctionhq/junction/providers"
)

var (
	_ providers.TableLister  = (*conn)(nil)
	_ providers.ColumnLister = (*conn)(nil)
)

// tablesSQL lists tables (U), views (V) and external tables (ET) from the
// catalog views (sys.all_objects also holds the system views of sys and
// INFORMATION_SCHEMA). @p1 includes the system schemas and MS-shipped
// objects, @p2 keeps one schema, @p3 keeps names containing it in any case.
const tablesSQL = `SELECT s.name, o.name, o.type
FROM sys.all_objects AS o
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE o.type IN ('U', 'V', 'ET')
AND (@p1 = 1 OR (o.is_ms_shipped = 0 AND s.name NOT IN (N'sys', N'INFORMATION_SCHEMA')))
AND (@p2 = N'' OR s.name = @p2)
AND (@p3 = N'' OR CHARINDEX(LOWER(@p3), LOWER(s.name)) > 0 OR CHARINDEX(LOWER(@p3), LOWER(o.name)) > 0)
ORDER BY s.name, o.name`

// ListTables lists the tables and views of the database, ordered by schema
// then name.
func (c *conn) ListTables(ctx context.Context, req providers.ListTablesRequest) (*providers.TableList, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	rows, err := c.db.QueryContext(ctx, tablesSQL, req.IncludeSystem, req.Schema, req.Search)
	if err != nil {
		return nil, c.classify(ctx, err)
	}
	defer rows.Close()
	out := &providers.TableList{Tables: []providers.Table{}}
	for rows.Next() {
		var s, t, typ string
		if err := rows.Scan(&s, &t, &typ); err != nil {
			return nil, c.classify(ctx, err)
		}
		kind := providers.TableKindTable
		switch strings.TrimSpace(typ) {
		case "V":
			kind = providers.TableKindView
		case "ET":
			kind = providers.TableKindForeignTable
		}
		out.Tables = append(out.Tables, providers.Table{Schema: s, Table: t, Spec: quoteName(s) + "." + quoteName(t), Kind: kind})
	}
	if err := rows.Err(); err != nil {
		return nil, c.classify(ctx, err)
	}
	return out, nil
}

// quoteName quotes an identifier as [name], with ] doubled.
func quoteName(s string) string {
	return "[" + strings.ReplaceAll(s, "]", "]]") + "]"
}

// columnsSQL describes the columns of the tables listed in VALUES, in
// column order, with the base type of alias types (sysname is
// nvarchar(128)) and whether the column is in the primary key. %s is the
// VALUES rows, (index, @schema, @table) each.
const columnsSQL = `SELECT r.i, c.name, COALESCE(bt.name, ty.name), c.max_length, c.precision, c.scale, c.is_nullable,
CAST(CASE WHEN EXISTS (SELECT 1 FROM sys.index_columns AS ic JOIN sys.indexes AS ix ON ix.object_id = ic.object_id AND ix.index_id = ic.index_id
WHERE ix.is_primary_key = 1 AND ic.object_id = c.object_id AND ic.column_id = c.column_id) THEN 1 ELSE 0 END AS bit)
FROM (VALUES %s) AS r (i, s, t)
JOIN sys.schemas AS s ON s.name = r.s
JOIN sys.all_objects AS o ON o.schema_id = s.schema_id AND o.name = r.t AND o.type IN ('U', 'V', 'ET')
JOIN sys.all_columns AS c ON c.object_id = o.object_id
JOIN sys.types AS ty ON ty.user_type_id = c.user_type_id
LEFT JOIN sys.types AS bt ON bt.user_type_id = c.system_type_id AND ty.is_assembly_type = 0
ORDER BY r.i, c.column_id`

// columnsBatch is the most tables one catalog query describes (two
// parameters each; SQL Server takes at most 2,100).
const columnsBatch = 500

// ListColumns describes the requested tables with one catalog query (one
// per 500 tables). A table that does not exist is absent from the result.
func (c *conn) ListColumns(ctx context.Context, req providers.ListColumnsRequest) (*providers.ColumnSets, error) {
	ctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	out := &providers.ColumnSets{Tables: map[providers.TableRef][]providers.Column{}}
	refs := uniqueRefs(req.Tables)
	for start := 0; start < len(refs); start += columnsBatch {
		if err := c.describe(ctx, refs[start:min(start+columnsBatch, len(refs))], out.Tables); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func uniqueRefs(refs []providers.TableRef) []providers.TableRef {
	seen := make(map[providers.TableRef]bool, len(refs))
	var out []providers.TableRef
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// describe adds the columns of refs to out.
func (c *conn) describe(ctx context.Context, refs []providers.TableRef, out map[providers.TableRef][]providers.Column) error {
	values := make([]string, len(refs))
	args := make([]any, 0, 2*len(refs))
	for i, r := range refs {
		values[i] = fmt.Sprintf("(%d, @p%d, @p%d)", i, 2*i+1, 2*i+2)
		args = append(args, r.Schema, r.Table)
	}
	rows, err := c.db.QueryContext(ctx, fmt.Sprintf(columnsSQL, strings.Join(values, ", ")), args...)
	if err != nil {
		return c.classify(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i                        int
			name, typ                string
			nullable, pk             bool
			maxLen, precision, scale int
		)
		if err := rows.Scan(&i, &name, &typ, &maxLen, &precision, &scale, &nullable, &pk); err != nil {
			return c.classify(ctx, err)
		}
		if i < 0 || i >= len(refs) {
			return providers.Errorf(providers.CodeProviderError, "sqlserver: the catalog answered a table it was not asked for")
		}
		col := providers.Column{Name: name, DataType: typeName(typ, maxLen, precision, scale), Nullable: nullable, PrimaryKey: pk}
		out[refs[i]] = append(out[refs[i]], col)
	}
	if err := rows.Err(); err != nil {
		return c.classify(ctx, err)
	}
	return nil
}

// typeName spells a type as SQL Server does: nvarchar(255) (max_length
// counts bytes, two a character), varchar(max), decimal(10,2),
// datetime2(7), and the bare name of every other type.
func typeName(name string, maxLen, precision, scale int) string {
	switch name = strings.ToLower(name); name {
	case "char", "varchar", "binary", "varbinary", "nchar", "nvarchar":
		switch {
		case maxLen == -1:
			return name + "(max)"
		case name == "nchar" || name == "nvarchar":
			return fmt.Sprintf("%s(%d)", name, maxLen/2)
		}
		return fmt.Sprintf("%s(%d)", name, maxLen)
	case "decimal", "numeric":
		return fmt.Sprintf("%s(%d,%d)", name, precision, scale)
	case "datetime2", "time", "datetimeoffset":
		return fmt.Sprintf("%s(%d)", name, scale)
	}
	return name
}

// tableExistsSQL finds a table in the catalog, answering the names as the
// catalog spells them.
const tableExistsSQL = `SELECT s.name, o.name
FROM sys.all_objects AS o
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE s.name = @p1 AND o.name = @p2 AND o.type IN ('U', 'V', 'ET')`

// lookup returns the catalog's spelling of ref, or CodeNotFound.
func (c *conn) lookup(ctx context.Context, ref providers.TableRef) (schemaName, table string, err error) {
	err = c.db.QueryRowContext(ctx, tableExistsSQL, ref.Schema, ref.Table).Scan(&schemaName, &table)
	if err == sql.ErrNoRows {
		return "", "", providers.Errorf(providers.CodeNotFound, "sqlserver: there is no table or view %s.%s", quoteName(ref.Schema), quoteName(ref.Table))
	}
	if err != nil {
		return "", "", c.classify(ctx, err)
	}
	return schemaName, table, nil
}
