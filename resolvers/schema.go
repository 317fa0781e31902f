package resolvers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// Row defaults and caps of samples and queries (API.md).
const (
	DefaultSampleRows = 100
	DefaultQueryRows  = 1000
	MaxSQLLength      = 10000
)

// TablesInput filters a connection's tables.
type TablesInput struct {
	IncludeSystem bool
	Schema        *string
	Search        *string
}

// SchemaTables is the tables use case for a connection id (REST).
func (r *Resolver) SchemaTables(ctx context.Context, id string, in TablesInput) ([]*model.SchemaTable, error) {
	c, err := r.loadUsable(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.schemaTables(ctx, toModel(c), in)
}

// SchemaColumns is the columns use case for a connection id (REST); nil when
// the table does not exist.
func (r *Resolver) SchemaColumns(ctx context.Context, id, schema, table string) (*model.SchemaColumns, error) {
	c, err := r.loadUsable(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.schemaColumns(ctx, c, schema, table)
}

func (r *Resolver) schemaTables(ctx context.Context, conn *model.Connection, in TablesInput) ([]*model.SchemaTable, error) {
	c, err := r.rowOf(ctx, conn)
	if err != nil {
		return nil, err
	}
	req := providers.ListTablesRequest{IncludeSystem: in.IncludeSystem, Schema: deref(in.Schema), Search: deref(in.Search)}
	var problems []FieldError
	for _, f := range []struct{ name, value string }{{"schema", req.Schema}, {"search", req.Search}} {
		if strings.ContainsRune(f.value, 0) {
			problems = append(problems, FieldError{Loc: []any{f.name}, Msg: "Value error, NUL bytes are not allowed", Type: "value_error"})
		}
	}
	if len(problems) > 0 {
		return nil, invalid(problems...)
	}
	u, err := r.use(ctx, c, providers.CapSchema)
	if err != nil {
		return nil, err
	}
	defer u.release()
	key := fmt.Sprintf("tables\x00%t\x00%s\x00%s", req.IncludeSystem, req.Schema, req.Search)
	list, err := r.catalog.get(c, key, r.limits().SchemaCacheTTL, func() (any, error) {
		ctx, done, err := r.providerCall(ctx, c.TenantID)
		if err != nil {
			return nil, err
		}
		defer done()
		return u.conn.(providers.TableLister).ListTables(ctx, req)
	})
	if err != nil {
		return nil, u.fail(c.Provider, err)
	}
	tables := list.(*providers.TableList).Tables
	out := make([]*model.SchemaTable, len(tables))
	for i, t := range tables {
		out[i] = &model.SchemaTable{Schema: t.Schema, Table: t.Table, NormalizedName: NormalizedName(t.Table),
			Spec: t.Spec, Kind: model.TableKind(t.Kind)}
	}
	if err := r.fillColumns(ctx, c, out); err != nil {
		return nil, err
	}
	return out, nil
}

// fillColumns loads the columns of every listed table in one driver call
// when the GraphQL operation selects SchemaTable.columns: a tree of 1,000
// tables costs two catalog calls (tables, then columns), and a list of
// connections one columns call per connection. Over REST, and when columns
// are not selected, it does nothing.
func (r *Resolver) fillColumns(ctx context.Context, c *store.Connection, tables []*model.SchemaTable) error {
	if len(tables) == 0 || !graphql.HasOperationContext(ctx) || graphql.GetFieldContext(ctx) == nil {
		return nil
	}
	selected := false
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == "columns" {
			selected = true
			break
		}
	}
	if !selected {
		return nil
	}
	refs := make([]providers.TableRef, len(tables))
	for i, t := range tables {
		refs[i] = providers.TableRef{Schema: t.Schema, Table: t.Table}
	}
	sets, err := r.columns(ctx, c, refs)
	if err != nil {
		return err
	}
	for i, t := range tables {
		t.Columns = columnModels(sets[refs[i]])
	}
	return nil
}

func (r *Resolver) schemaColumns(ctx context.Context, c *store.Connection, schema, table string) (*model.SchemaColumns, error) {
	sets, err := r.columns(ctx, c, []providers.TableRef{{Schema: schema, Table: table}})
	if err != nil {
		return nil, err
	}
	cols, ok := sets[providers.TableRef{Schema: schema, Table: table}]
	if !ok {
		return nil, nil
	}
	return &model.SchemaColumns{Schema: schema, Table: table, Columns: columnModels(cols)}, nil
}

// columns returns the columns of tables of one connection: cached ones from
// the catalog cache, the rest in one driver call. A table absent from the
// result does not exist.
func (r *Resolver) columns(ctx context.Context, c *store.Connection, tables []providers.TableRef) (map[providers.TableRef][]providers.Column, error) {
	u, err := r.use(ctx, c, providers.CapSchema)
	if err != nil {
		return nil, err
	}
	defer u.release()
	ttl := r.limits().SchemaCacheTTL
	out := make(map[providers.TableRef][]providers.Column, len(tables))
	var missing []providers.TableRef
	for _, t := range tables {
		if v, ok := r.catalog.peek(c, columnsCacheKey(t)); ok {
			if cols := v.([]providers.Column); cols != nil {
				out[t] = cols
			}
			continue
		}
		missing = append(missing, t)
	}
	if len(missing) == 0 {
		return out, nil
	}
	pctx, done, err := r.providerCall(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	defer done()
	sets, err := u.conn.(providers.ColumnLister).ListColumns(pctx, providers.ListColumnsRequest{Tables: missing})
	if err != nil {
		return nil, u.fail(c.Provider, err)
	}
	for _, t := range missing {
		cols := sets.Tables[t]
		// A missing table is cached too (as nil), so a tree that asks for it
		// again does not re-read the catalog.
		r.catalog.put(c, columnsCacheKey(t), cols, ttl)
		if cols != nil {
			out[t] = cols
		}
	}
	return out, nil
}

func columnsCacheKey(t providers.TableRef) string { return "columns\x00" + t.Schema + "\x00" + t.Table }

func columnModels(cols []providers.Column) []*model.SchemaColumn {
	out := make([]*model.SchemaColumn, len(cols))
	for i, c := range cols {
		out[i] = &model.SchemaColumn{Name: c.Name, NormalizedName: NormalizedName(c.Name), DataType: c.DataType, Nullable: c.Nullable, PrimaryKey: c.PrimaryKey}
	}
	return out
}

// SampleTable is the sample use case: the first rows of a table the
// catalog knows.
func (r *Resolver) SampleTable(ctx context.Context, id, schema, table string, maxRows *int) (*model.SampleResult, error) {
	n, err := r.rowLimit(maxRows, DefaultSampleRows)
	if err != nil {
		return nil, err
	}
	c, err := r.loadUsable(ctx, id)
	if err != nil {
		return nil, err
	}
	u, err := r.use(ctx, c, providers.CapSchema)
	if err != nil {
		return nil, err
	}
	defer u.release()
	ctx, cancel := r.queryDeadline(ctx)
	defer cancel()
	admitted, err := r.admit(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	defer admitted()
	set, err := u.conn.(providers.Sampler).Sample(ctx, providers.SampleRequest{Table: providers.TableRef{Schema: schema, Table: table},
		Limits: providers.RowLimits{MaxRows: n, MaxBytes: r.limits().QueryMaxBytes}})
	if err != nil {
		return nil, u.fail(c.Provider, err)
	}
	rows, _ := rowModels(set)
	return &model.SampleResult{Schema: schema, Table: table, Columns: columnModels(set.Columns), Rows: rows,
		RowCount: len(rows), MaxRows: n, Truncated: set.Truncated}, nil
}

// RunQuery is the query use case: one read-only statement.
func (r *Resolver) RunQuery(ctx context.Context, id, sql string, maxRows *int) (*model.QueryResult, error) {
	var problems []FieldError
	switch n := utf8.RuneCountInString(sql); {
	case n < 1:
		problems = append(problems, FieldError{Loc: []any{"sql"}, Msg: "String should have at least 1 character", Type: "string_too_short"})
	case n > MaxSQLLength:
		problems = append(problems, FieldError{Loc: []any{"sql"}, Msg: fmt.Sprintf("String should have at most %d characters", MaxSQLLength), Type: "string_too_long"})
	}
	if strings.ContainsRune(sql, 0) {
		problems = append(problems, FieldError{Loc: []any{"sql"}, Msg: "Value error, NUL bytes are not allowed", Type: "value_error"})
	}
	n, err := r.rowLimit(maxRows, DefaultQueryRows)
	if err != nil {
		problems = append(problems, err.(*Error).Fields...)
	}
	if len(problems) > 0 {
		return nil, invalid(problems...)
	}
	c, err := r.loadUsable(ctx, id)
	if err != nil {
		return nil, err
	}
	u, err := r.use(ctx, c, providers.CapQuery)
	if err != nil {
		return nil, err
	}
	defer u.release()
	lim := r.limits()
	ctx, cancel := r.queryDeadline(ctx)
	defer cancel()
	admitted, err := r.admit(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	defer admitted()
	res, err := u.conn.(providers.Querier).Query(ctx, providers.QueryRequest{SQL: sql, Timeout: lim.QueryTimeout,
		Limits: providers.RowLimits{MaxRows: n, MaxBytes: lim.QueryMaxBytes}})
	if err != nil {
		return nil, u.fail(c.Provider, err)
	}
	rows, names := rowModels(&res.RowSet)
	refs := make([]*model.TableRef, len(res.TableRefs))
	for i, t := range res.TableRefs {
		refs[i] = &model.TableRef{Schema: t.Schema, Table: t.Table}
	}
	return &model.QueryResult{Columns: names, Rows: rows, RowCount: len(rows), MaxRows: n, Truncated: res.Truncated,
		QueryHash: QueryHash(sql), TableRefs: refs}, nil
}

// queryDeadline gives a statement the query timeout plus a margin, so the
// database's own statement timeout answers first with a clear error and the
// context is the backstop.
func (r *Resolver) queryDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.limits().QueryTimeout+2*time.Second)
}

// rowLimit validates a requested maxRows: absent takes def, and the
// server's cap bounds it.
func (r *Resolver) rowLimit(maxRows *int, def int) (int, error) {
	capRows := r.limits().QueryMaxRows
	if maxRows == nil {
		return min(def, capRows), nil
	}
	if *maxRows < 1 {
		return 0, invalid(FieldError{Loc: []any{"maxRows"}, Msg: "Input should be greater than or equal to 1", Type: "greater_than_equal"})
	}
	return min(*maxRows, capRows), nil
}

func rowModels(set *providers.RowSet) ([]*model.Row, []string) {
	names := make([]string, len(set.Columns))
	for i, c := range set.Columns {
		names[i] = c.Name
	}
	rows := make([]*model.Row, len(set.Rows))
	for i, row := range set.Rows {
		rows[i] = &model.Row{Columns: names, Values: row}
	}
	return rows, names
}

// NormalizedName is name in lowercase with every run of characters other
// than a-z and 0-9 turned into one "_", without a leading or trailing "_"
// ("Order Lines" -> "order_lines").
func NormalizedName(name string) string {
	if normalized(name) {
		return name // most catalog names are already; no copy
	}
	var b strings.Builder
	pending := false
	for _, ch := range strings.ToLower(name) {
		if ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' {
			if pending && b.Len() > 0 {
				b.WriteByte('_')
			}
			pending = false
			b.WriteRune(ch)
			continue
		}
		pending = true
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// normalized reports whether NormalizedName(name) is name: lowercase
// letters and digits, single underscores between them.
func normalized(name string) bool {
	if name == "" || name[0] == '_' || name[len(name)-1] == '_' {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '_' && name[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

// QueryHash is the hex SHA-256 of a statement trimmed, with every run of
// white space outside string literals, quoted identifiers and dollar quotes
// collapsed to one space, so reformatting a query keeps its hash.
func QueryHash(sql string) string {
	sum := sha256.Sum256([]byte(collapseSpace(sql)))
	return hex.EncodeToString(sum[:])
}

func collapseSpace(sql string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(sql); {
		ch := sql[i]
		if ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v' {
			space = true
			i++
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		end := literalEnd(sql, i)
		b.WriteString(sql[i:end])
		i = end
	}
	return b.String()
}

// literalEnd returns where the token starting at i ends: the end of a
// '...' string, "..." or [...] identifier, or $tag$...$tag$ quote; i+1 for
// anything else. An unterminated literal runs to the end.
func literalEnd(s string, i int) int {
	closer := byte(0)
	switch s[i] {
	case '\'':
		closer = '\''
	case '"':
		closer = '"'
	case '[':
		closer = ']'
	case '$':
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > i+1 && s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j < len(s) && s[j] == '$' {
			tag := s[i : j+1]
			if k := strings.Index(s[j+1:], tag); k >= 0 {
				return j + 1 + k + len(tag)
			}
			return len(s)
		}
		return i + 1
	default:
		return i + 1
	}
	for j := i + 1; j < len(s); j++ {
		if s[j] == closer {
			if j+1 < len(s) && s[j+1] == closer {
				j++ // doubled quote
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// catalogCache keeps catalog answers per connection for a short TTL, so a
// client expanding a 10,000-table tree does not re-read the catalog per
// click. Entries are keyed by the connection's id and updatedAt: an edit
// makes them unreachable at once (and they expire soon after).
type catalogCache struct {
	mu      sync.Mutex
	entries map[string]catalogEntry
}

type catalogEntry struct {
	value   any
	expires time.Time
}

// maxCatalogEntries bounds the cache; past it, expired entries are swept and
// then the whole cache is dropped rather than grow.
const maxCatalogEntries = 50_000

func catalogKey(c *store.Connection, key string) string {
	return c.ID + "\x00" + c.UpdatedAt.UTC().Format(time.RFC3339Nano) + "\x00" + key
}

func (cc *catalogCache) peek(c *store.Connection, key string) (any, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.entries[catalogKey(c, key)]
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.value, true
}

func (cc *catalogCache) put(c *store.Connection, key string, v any, ttl time.Duration) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.entries == nil {
		cc.entries = map[string]catalogEntry{}
	}
	if len(cc.entries) >= maxCatalogEntries {
		now := time.Now()
		for k, e := range cc.entries {
			if now.After(e.expires) {
				delete(cc.entries, k)
			}
		}
		if len(cc.entries) >= maxCatalogEntries {
			clear(cc.entries)
		}
	}
	cc.entries[catalogKey(c, key)] = catalogEntry{value: v, expires: time.Now().Add(ttl)}
}

// get returns the cached value of key, or loads and caches it.
func (cc *catalogCache) get(c *store.Connection, key string, ttl time.Duration, load func() (any, error)) (any, error) {
	if v, ok := cc.peek(c, key); ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	cc.put(c, key, v, ttl)
	return v, nil
}
