package postgres

// The statement guard: layer 1 of the query safety (layer 2, the read-only
// transaction with timeouts that runs the statement through a cursor, is in
// query.go). A statement reaches the database only if PostgreSQL's own
// parser (libpg_query, see parser.go) finds exactly
// one plain SELECT in it, with no INTO, no locking clause, no data-modifying
// WITH, and no call to a denied function anywhere in the tree.

import (
	"context"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/junctionhq/junction/providers"
)

// deniedFunctions lists, family by family, the functions a statement may not
// call, and why. A name matches case-insensitively and whatever its schema
// qualification (pg_catalog.set_config is set_config; so is a user's own
// public.set_config, which is refused too). Entries ending in "*" match every
// name with that prefix. pg_sleep is allowed: the statement timeout ends it.
//
// The read-only transaction (layer 2) stops writes to tables and sequences on
// its own, but not most of what is below: these functions act outside the
// transaction (files, other connections, signals, session locks, WAL) or run
// SQL text the guard never sees.
var deniedFunctions = []struct {
	why   string
	names []string
}{
	{"it reads or writes files on the database server",
		[]string{"pg_read_file", "pg_read_binary_file", "pg_ls_*", "pg_stat_file", "pg_file_*",
			"pg_logdir_ls", "pg_current_logfile"}},
	{"it reads, writes or exports large objects, including files on the database server (lo_import, lo_export)",
		[]string{"lo_*", "loread", "lowrite"}},
	{"it opens another connection, which runs outside this read-only transaction",
		[]string{"dblink*"}},
	{"it runs SQL text that the statement guard cannot check",
		[]string{"query_to_xml*", "query_to_xmlschema", "cursor_to_xml*", "table_to_xml*", "schema_to_xml*",
			"database_to_xml*", "ts_stat", "ts_rewrite"}},
	{"it changes server settings, including this transaction's read-only mode and timeouts",
		[]string{"set_config"}},
	{"it signals or controls server processes",
		[]string{"pg_cancel_backend", "pg_terminate_backend", "pg_reload_conf", "pg_rotate_logfile*",
			"pg_promote", "pg_wal_replay_*", "pg_log_backend_memory_contexts"}},
	{"it takes or releases advisory locks, which outlive the transaction on a pooled session",
		[]string{"pg_advisory_*", "pg_try_advisory_*"}},
	{"it sends a notification to other sessions",
		[]string{"pg_notify"}},
	{"it assigns a transaction id (a write, and it consumes transaction ids)",
		[]string{"txid_current", "pg_current_xact_id"}},
	{"it reads or advances a sequence",
		[]string{"nextval", "setval", "currval", "lastval"}},
	{"it writes WAL, backups or replication state",
		[]string{"pg_switch_wal", "pg_switch_xlog", "pg_create_*", "pg_drop_replication_slot", "pg_copy_*",
			"pg_replication_slot_advance", "pg_logical_*", "pg_replication_origin_*", "pg_backup_*",
			"pg_start_backup", "pg_stop_backup"}},
	{"it resets statistics",
		[]string{"pg_stat_reset*", "pg_stat_statements_reset"}},
	{"it modifies indexes or catalogs",
		[]string{"gin_clean_pending_list", "brin_summarize_*", "brin_desummarize_range",
			"pg_import_system_collations", "pg_nextoid", "binary_upgrade_*"}},
}

var deniedExact, deniedPrefix = func() (map[string]string, [][2]string) {
	exact := map[string]string{}
	var prefix [][2]string
	for _, f := range deniedFunctions {
		for _, n := range f.names {
			if p, ok := strings.CutSuffix(n, "*"); ok {
				prefix = append(prefix, [2]string{p, f.why})
				continue
			}
			exact[n] = f.why
		}
	}
	return exact, prefix
}()

// deniedFunction reports whether a function name (unqualified) is denied and why.
func deniedFunction(name string) (string, bool) {
	name = strings.ToLower(name)
	if why, ok := deniedExact[name]; ok {
		return why, true
	}
	for _, p := range deniedPrefix {
		if strings.HasPrefix(name, p[0]) {
			return p[1], true
		}
	}
	return "", false
}

// maxSQLBytes bounds the text handed to the parser (the API allows 10,000
// characters; this is the driver's own backstop).
const maxSQLBytes = 1 << 20

// statement is a statement the guard accepted.
type statement struct {
	// Text is the one statement, without the semicolons around it.
	Text string
	// Tables are the relations the statement names (never CTE names), in the
	// order they appear; Schema is "" when the name was not qualified.
	Tables []providers.TableRef
}

// classify is layer 1: it parses sql and accepts exactly one read-only
// SELECT. Everything else is CodeRefused, text the parser rejects included
// (with the parser's message, which is PostgreSQL's own: "syntax error at
// or near ...").
func classify(ctx context.Context, sql string) (*statement, error) {
	if len(sql) > maxSQLBytes {
		return nil, refused("the statement is longer than %d bytes", maxSQLBytes)
	}
	if strings.ContainsRune(sql, 0) {
		return nil, refused("the statement contains a NUL byte")
	}
	tree, err := parse(ctx, sql)
	if err != nil {
		return nil, err
	}
	switch n := len(tree.GetStmts()); n {
	case 0:
		return nil, refused("the statement is empty")
	case 1:
	default:
		return nil, refused("only one statement is allowed, but this text has %d", n)
	}
	raw := tree.GetStmts()[0]
	sel := raw.GetStmt().GetSelectStmt()
	if sel == nil {
		return nil, refused("only a SELECT, VALUES or WITH ... SELECT statement is allowed; %s is not", statementKind(raw.GetStmt()))
	}
	w := walker{}
	w.message(sel.ProtoReflect(), nil)
	if w.err != nil {
		return nil, w.err
	}
	slices.SortStableFunc(w.refs, func(a, b rangeRef) int { return int(a.location) - int(b.location) })
	st := &statement{Text: stmtText(sql, raw)}
	for _, r := range w.refs {
		st.Tables = append(st.Tables, r.ref)
	}
	return st, nil
}

// stmtText cuts the one statement out of sql (the parser reports byte
// offsets), dropping the semicolons and empty statements around it.
func stmtText(sql string, raw *pg.RawStmt) string {
	start, n := int(raw.GetStmtLocation()), int(raw.GetStmtLen())
	if start < 0 || start > len(sql) {
		return strings.TrimSpace(sql)
	}
	end := len(sql)
	if n > 0 && start+n <= len(sql) {
		end = start + n
	}
	return strings.TrimSpace(sql[start:end])
}

func refused(format string, args ...any) *providers.Error {
	return providers.Errorf(providers.CodeRefused, "postgres: "+format, args...)
}

// statementKinds names the statements people try most, for the refusal.
var statementKinds = map[string]string{
	"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE",
	"ExplainStmt": "EXPLAIN", "CopyStmt": "COPY", "DoStmt": "a DO block", "CallStmt": "CALL",
	"TransactionStmt": "a transaction command", "VariableSetStmt": "SET or RESET", "VariableShowStmt": "SHOW",
	"PrepareStmt": "PREPARE", "ExecuteStmt": "EXECUTE", "DeallocateStmt": "DEALLOCATE",
	"ListenStmt": "LISTEN", "NotifyStmt": "NOTIFY", "UnlistenStmt": "UNLISTEN", "LockStmt": "LOCK",
	"VacuumStmt": "VACUUM or ANALYZE", "CreateStmt": "CREATE TABLE", "CreateTableAsStmt": "CREATE TABLE AS",
	"DeclareCursorStmt": "DECLARE", "FetchStmt": "FETCH", "ClosePortalStmt": "CLOSE", "TruncateStmt": "TRUNCATE",
	"DropStmt": "DROP", "AlterTableStmt": "ALTER TABLE", "GrantStmt": "GRANT or REVOKE", "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
	"CreateFunctionStmt": "CREATE FUNCTION", "DiscardStmt": "DISCARD", "CheckPointStmt": "CHECKPOINT", "LoadStmt": "LOAD",
}

func statementKind(n *pg.Node) string {
	if n == nil || n.GetNode() == nil {
		return "an unknown statement"
	}
	name := string(n.ProtoReflect().WhichOneof(n.ProtoReflect().Descriptor().Oneofs().Get(0)).Message().Name())
	return kindName(name)
}

func kindName(name string) string {
	if k, ok := statementKinds[name]; ok {
		return k
	}
	return "a " + strings.ToUpper(strings.TrimSuffix(name, "Stmt")) + " statement"
}

// rangeRef is one relation named in the statement.
type rangeRef struct {
	ref      providers.TableRef
	location int32
}

// cteScope is the CTE names visible at a point of the tree; an unqualified
// name that matches one is the CTE, not a table.
type cteScope struct {
	names  []string
	parent *cteScope
}

func (s *cteScope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if slices.Contains(s.names, name) {
			return true
		}
	}
	return false
}

// walker visits every message of the parse tree (through protobuf
// reflection, so no node type can be skipped by omission), refusing what
// layer 1 refuses and collecting the relations read.
type walker struct {
	err  *providers.Error
	refs []rangeRef
}

func (w *walker) message(m protoreflect.Message, scope *cteScope) {
	if w.err != nil || !m.IsValid() {
		return
	}
	skip := protoreflect.Name("")
	switch x := m.Interface().(type) {
	case *pg.SelectStmt:
		if x.GetIntoClause() != nil {
			w.err = refused("SELECT ... INTO creates a table and is not allowed")
			return
		}
		if len(x.GetLockingClause()) > 0 {
			w.err = refused("a locking clause (FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE) locks rows and is not allowed")
			return
		}
		if wc := x.GetWithClause(); wc != nil {
			scope = w.with(wc, scope)
			skip = "with_clause"
		}
	case *pg.WithClause:
		// A WITH clause outside a SELECT (the statements that carry one
		// are refused anyway): its CTEs are checked the same way.
		w.with(x, scope)
		return
	case *pg.FuncCall:
		if name := lastName(x.GetFuncname()); name != "" {
			if why, ok := deniedFunction(name); ok {
				w.err = refused("the function %s is not allowed: %s", strings.ToLower(qualified(x.GetFuncname())), why)
				return
			}
		}
	case *pg.ColumnRef:
		// a.f is also a call of f(a) when f is not a column of a
		// (attribute notation), so a denied name is refused here too.
		for _, f := range x.GetFields()[min(1, len(x.GetFields())):] {
			if s := f.GetString_(); s != nil {
				if why, ok := deniedFunction(s.GetSval()); ok {
					w.err = refused("%s names the function %s, which is not allowed: %s", qualified(x.GetFields()), strings.ToLower(s.GetSval()), why)
					return
				}
			}
		}
	case *pg.RangeVar:
		if x.GetSchemaname() != "" || !scope.has(x.GetRelname()) {
			w.refs = append(w.refs, rangeRef{providers.TableRef{Schema: x.GetSchemaname(), Table: x.GetRelname()}, x.GetLocation()})
		}
	case *pg.ParamRef:
		w.err = refused("the statement has a parameter ($%d); write the value into the statement", x.GetNumber())
		return
	case *pg.IntoClause:
		w.err = refused("SELECT ... INTO creates a table and is not allowed")
		return
	case *pg.LockingClause:
		w.err = refused("a locking clause (FOR UPDATE, FOR SHARE) locks rows and is not allowed")
		return
	default:
		if name := string(m.Descriptor().Name()); strings.HasSuffix(name, "Stmt") && name != "SelectStmt" && name != "RawStmt" {
			w.err = refused("only SELECT is allowed, but the statement contains %s", kindName(name))
			return
		}
	}
	w.fields(m, scope, skip)
}

// fields walks every set message field of m (in field order) but skip.
func (w *walker) fields(m protoreflect.Message, scope *cteScope, skip protoreflect.Name) {
	fds := m.Descriptor().Fields()
	for i := 0; i < fds.Len() && w.err == nil; i++ {
		fd := fds.Get(i)
		if fd.Name() == skip || fd.Message() == nil || !m.Has(fd) {
			continue
		}
		switch {
		case fd.IsMap():
			// The parse tree has no maps.
		case fd.IsList():
			l := m.Get(fd).List()
			for j := 0; j < l.Len() && w.err == nil; j++ {
				w.message(l.Get(j).Message(), scope)
			}
		default:
			w.message(m.Get(fd).Message(), scope)
		}
	}
}

// with checks a WITH clause and walks its CTEs, each in the scope
// PostgreSQL gives it: the CTEs before it, or with RECURSIVE all of them
// (itself included). It returns the scope of the statement the clause
// belongs to.
func (w *walker) with(wc *pg.WithClause, outer *cteScope) *cteScope {
	var names []string
	for _, n := range wc.GetCtes() {
		names = append(names, n.GetCommonTableExpr().GetCtename())
	}
	for i, n := range wc.GetCtes() {
		cte := n.GetCommonTableExpr()
		if cte == nil {
			continue
		}
		if q := cte.GetCtequery(); q.GetSelectStmt() == nil {
			w.err = refused("a WITH query may only contain SELECT, but %s is %s", quoteIdent(cte.GetCtename()), statementKind(q))
			return outer
		}
		visible := names[:i]
		if wc.GetRecursive() {
			visible = names
		}
		w.message(cte.ProtoReflect(), &cteScope{names: visible, parent: outer})
		if w.err != nil {
			return outer
		}
	}
	return &cteScope{names: names, parent: outer}
}

func lastName(names []*pg.Node) string {
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1].GetString_().GetSval()
}

func qualified(names []*pg.Node) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		if s := n.GetString_(); s != nil {
			parts = append(parts, s.GetSval())
		} else {
			parts = append(parts, "*")
		}
	}
	return strings.Join(parts, ".")
}
