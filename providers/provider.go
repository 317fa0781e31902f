// Package providers is the contract between Junction and the external systems it
// connects to. A Driver describes one system (its Spec) and opens a Conn for one
// stored connection; what a Conn can do is discovered by type assertion against the
// one-method capability interfaces below, in the manner of database/sql/driver.
//
// Drivers never see the store, a tenant or an HTTP request: they get a Config with
// validated settings, secrets, and the guarded network clients, and they return
// results or a typed *Error.
package providers

import (
	"context"
	"time"
)

// Driver describes one external system. Implementations are stateless and are
// registered once, explicitly, in providers/builtin.
type Driver interface {
	// Name is the provider's identifier as stored and served ("postgres").
	Name() string
	// Spec lists the provider's config and secret fields.
	Spec() Spec
	// Open validates cfg and returns a Conn for one stored connection. Open does
	// no network I/O; problems with cfg are returned as an *Error with
	// CodeInvalidConfig.
	Open(ctx context.Context, cfg Config) (Conn, error)
}

// Conn is one opened connection. It is safe for concurrent use. Close releases
// any pooled network resources; it is safe to call more than once.
type Conn interface {
	Close() error
}

// Verifier is implemented by a Conn that can prove its settings and credentials
// work with the cheapest read-only call the provider offers. A Conn without it
// cannot be verified: callers report CodeUnsupported.
type Verifier interface {
	Verify(ctx context.Context, req VerifyRequest) (*VerifyResult, error)
}

// VerifyRequest asks for a live check. It has no fields yet; it exists so the
// call can grow without changing every driver.
type VerifyRequest struct{}

// VerifyResult is what a passing check learned about the remote side: server
// version, account or shop name, bucket region, granted scopes. Details must
// never contain a secret; callers redact them again regardless.
type VerifyResult struct {
	Details map[string]any
}

// The file capabilities. A connection "can list files" when its Conn
// implements both FileLister and FileStater (see CapabilitiesOf); FileWalker
// is an optional speed-up the validation walker uses when present.
//
// Addressing: every file connection has a root (an S3 bucket and prefix, an
// SFTP base_path, a Dropbox root_path, a Drive folder, a mailbox). Junction
// hands drivers a FileRef that is either a cleaned slash path below that root
// (CleanPath: "/" is the root, no "..", no trailing slash) or a native id
// (the text after "id:"). A driver must never list, stat or name anything
// outside its root: an id that resolves outside it, or a symlink pointing
// out, is CodeNotFound.

// FileRef names one file or folder: by Path below the root, or by the native
// ID of stores that have ids (Drive, Gmail, Dropbox, SharePoint). Exactly one
// is set. A driver without ids answers CodeNotFound for an ID.
type FileRef struct {
	Path string
	ID   string
}

// String is the ref as the API spells it: the path, or "id:" and the id.
func (r FileRef) String() string {
	if r.ID != "" {
		return "id:" + r.ID
	}
	return r.Path
}

// FileLister is implemented by a Conn that can list one folder a page at a
// time. Paging is the upstream's own: the driver returns an opaque Cursor
// (an S3 continuation token, a Drive pageToken, a Graph nextLink, or for
// stores without one, such as SFTP, the driver's own resume point), and
// Junction wraps it in a page token bound to the connection and folder, so a
// driver never has to validate a token a client forged. A Conn without it
// answers CodeUnsupported for listing.
type FileLister interface {
	ListFiles(ctx context.Context, req ListFilesRequest) (*FilePage, error)
}

// ListFilesRequest asks for one page of Folder's entries.
type ListFilesRequest struct {
	Folder FileRef
	// Cursor is the Cursor of the previous FilePage, "" for the first page.
	Cursor string
	// PageSize is the most items wanted (1..1000); a driver may return fewer,
	// and must return every entry exactly once across pages.
	PageSize int
}

// FileItem is one file or folder. Path is its slash path below the root
// (folders without a trailing slash); ID is what a later call passes back to
// reach it ("id:"+native id for stores with ids, else the path). Size and
// MimeType are nil for folders; ModifiedAt nil where the store has none.
type FileItem struct {
	ID         string
	Kind       string // FileKindFile or FileKindFolder
	MimeType   *string
	ModifiedAt *time.Time
	Name       string
	Path       string
	Size       *int64
}

// The kinds of a FileItem.
const (
	FileKindFile   = "file"
	FileKindFolder = "folder"
)

// FilePage is one page of a folder. Path is the folder's slash path below the
// root. Cursor is "" on the last page.
type FilePage struct {
	Path   string
	Items  []FileItem
	Cursor string
}

// FileStater is implemented by a Conn that can describe many items at once,
// each on its own: a selection of 1,000 items where one is missing must
// still describe the other 999, so a per-item failure is reported in its
// FileStat, not as the call's error (which is kept for failures of the whole
// call: auth, network, rate limits). A Conn without it cannot validate a
// selection (CodeUnsupported).
type FileStater interface {
	StatFiles(ctx context.Context, req StatFilesRequest) (*StatFilesResult, error)
}

// StatFilesRequest lists the items to describe.
type StatFilesRequest struct {
	Items []FileRef
}

// StatFilesResult has one FileStat per requested item, in request order.
type StatFilesResult struct {
	Items []FileStat
}

// FileStat describes one requested item. Err, when set, says why it could not
// be described, and Item is then zero. Its Code is CodeNotFound (absent, or
// outside the root), CodePermissionDenied, or CodeConflict (a path that names
// several items, such as two Drive folders of one name; the message names
// their ids). A selection reports conflict as not_found with that message.
type FileStat struct {
	Item FileItem
	Err  *Error
}

// FileWalker is optionally implemented by a Conn whose store can list a whole
// tree in fewer calls than folder by folder (S3 without a delimiter, Dropbox
// list_folder with recursive: true). Without it, Junction walks the tree with
// ListFiles, folder by folder, with bounded concurrency; the results must be
// the same either way.
type FileWalker interface {
	WalkFiles(ctx context.Context, req WalkFilesRequest, fn WalkFunc) error
}

// WalkFilesRequest walks every file below Folder, recursively.
type WalkFilesRequest struct {
	Folder FileRef
	// MaxDepth is the deepest depth Junction counts; a driver may stop
	// descending past MaxDepth+1 (one deeper, so the caller can see the limit
	// was passed). 0 means no limit.
	MaxDepth int
}

// WalkFunc receives each file (never a folder) with its depth below the
// walked folder (1 for a direct child). Returning an error stops the walk,
// and WalkFiles returns that error unchanged. Calls are never concurrent.
type WalkFunc func(item FileItem, depth int) error

// The schema and query capabilities. A connection "has a schema" when its
// Conn implements TableLister, ColumnLister and Sampler; it "can query" when
// it implements Querier (see CapabilitiesOf).

// TableLister is implemented by a Conn that can list its tables. Without it,
// schema browsing is CodeUnsupported.
type TableLister interface {
	ListTables(ctx context.Context, req ListTablesRequest) (*TableList, error)
}

// ListTablesRequest filters the tables listed.
type ListTablesRequest struct {
	// IncludeSystem includes system schemas (pg_catalog, information_schema,
	// pg_toast, sys, INFORMATION_SCHEMA).
	IncludeSystem bool
	// Schema, when set, lists only that schema (exact name).
	Schema string
	// Search, when set, keeps tables whose schema or name contains it,
	// case-insensitively.
	Search string
}

// TableRef names one table.
type TableRef struct {
	Schema string
	Table  string
}

// The kinds of a Table.
const (
	TableKindTable            = "table"
	TableKindView             = "view"
	TableKindMaterializedView = "materialized_view"
	TableKindForeignTable     = "foreign_table"
	TableKindObject           = "object"
)

// Table is one listed table. Spec is the qualified reference quoted exactly
// as the database needs it in a query (public.orders, "Sales"."Order Lines",
// [dbo].[Orders]).
type Table struct {
	Schema string
	Table  string
	Spec   string
	Kind   string
}

// TableList is the tables of a connection, ordered by schema then name.
type TableList struct {
	Tables []Table
}

// ColumnLister is implemented by a Conn that can describe the columns of many
// tables in one call (one catalog query), so a client expanding a tree of a
// thousand tables costs one round trip, not a thousand. Without it, column
// browsing is CodeUnsupported.
type ColumnLister interface {
	ListColumns(ctx context.Context, req ListColumnsRequest) (*ColumnSets, error)
}

// ListColumnsRequest names the tables to describe.
type ListColumnsRequest struct {
	Tables []TableRef
}

// Column describes one column. DataType is spelled as the database spells it
// (integer, numeric(10,2), character varying(255)); PrimaryKey is true for
// every column of the primary key.
type Column struct {
	Name       string
	DataType   string
	Nullable   bool
	PrimaryKey bool
}

// ColumnSets maps each requested table that exists to its columns in catalog
// order; a table that does not exist is absent from the map.
type ColumnSets struct {
	Tables map[TableRef][]Column
}

// Sampler is implemented by a Conn that can return the first rows of a table
// the catalog knows. The table's identifiers are quoted from the catalog,
// never from the request text; an unknown table is CodeNotFound. Without it,
// sampling is CodeUnsupported.
type Sampler interface {
	Sample(ctx context.Context, req SampleRequest) (*RowSet, error)
}

// SampleRequest asks for the first rows of one table.
type SampleRequest struct {
	Table TableRef
	// Limits cut the rows; see RowLimits.
	Limits RowLimits
}

// Querier is implemented by a Conn that can run one read-only statement.
// Anything that is not one read-only statement is refused before it reaches
// the upstream with an *Error of CodeRefused; an error the upstream raised
// while running it is CodeQueryFailed with the upstream's message (redacted).
// Without it, queries are CodeUnsupported.
type Querier interface {
	Query(ctx context.Context, req QueryRequest) (*QueryResult, error)
}

// QueryRequest is one statement and the limits of its result.
type QueryRequest struct {
	SQL    string
	Limits RowLimits
	// Timeout is the statement timeout to set upstream where the upstream
	// has one (the context's deadline bounds the call regardless).
	Timeout time.Duration
}

// QueryResult is a bounded result and the tables the statement reads.
type QueryResult struct {
	RowSet
	// TableRefs is every real table or view the statement reads (never a
	// CTE name), with the schema resolved as the upstream would resolve it.
	TableRefs []TableRef
}
