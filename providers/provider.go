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

// FileLister is implemented by a Conn that can list a folder. A Conn without it
// answers CodeUnsupported for file listing.
type FileLister interface {
	ListFiles(ctx context.Context, req ListFilesRequest) (*FilePage, error)
}

// ListFilesRequest names a folder by path or id and an optional page token.
type ListFilesRequest struct {
	Path      string
	PageToken string
	PageSize  int
}

// FileItem is one file or folder.
type FileItem struct {
	ID         string
	Kind       string // "file" or "folder"
	MimeType   string
	ModifiedAt *time.Time
	Name       string
	Path       string
	Size       *int64
}

// FilePage is one page of a folder listing. NextPageToken is empty on the last page.
type FilePage struct {
	Path          string
	Items         []FileItem
	NextPageToken string
}

// FileStater is implemented by a Conn that can describe many items at once
// (recursively for folders). Without it, file validation is CodeUnsupported.
type FileStater interface {
	StatFiles(ctx context.Context, req StatFilesRequest) (*StatFilesResult, error)
}

// StatFilesRequest lists paths or ids to describe.
type StatFilesRequest struct {
	Items    []string
	MaxDepth int
}

// StatFilesResult describes the requested items.
type StatFilesResult struct {
	Items []FileItem
}

// TableLister is implemented by a Conn that can list tables. Without it, schema
// browsing is CodeUnsupported.
type TableLister interface {
	ListTables(ctx context.Context, req ListTablesRequest) (*TableList, error)
}

// ListTablesRequest controls which tables are listed.
type ListTablesRequest struct {
	IncludeSystem bool
}

// TableRef names one table.
type TableRef struct {
	Schema string
	Table  string
}

// Table is one listed table with its quoted reference for queries.
type Table struct {
	Schema string
	Table  string
	Spec   string
}

// TableList is the tables of a connection.
type TableList struct {
	Tables []Table
}

// ColumnLister is implemented by a Conn that can describe the columns of many
// tables in one call. Without it, column browsing is CodeUnsupported.
type ColumnLister interface {
	ListColumns(ctx context.Context, req ListColumnsRequest) (*ColumnSets, error)
}

// ListColumnsRequest names the tables to describe.
type ListColumnsRequest struct {
	Tables []TableRef
}

// Column describes one column.
type Column struct {
	Name       string
	DataType   string
	Nullable   bool
	PrimaryKey bool
}

// ColumnSets maps each requested table that exists to its columns; a table
// that does not exist is absent from the map.
type ColumnSets struct {
	Tables map[TableRef][]Column
}

// Sampler is implemented by a Conn that can return the first rows of a table.
// Without it, sampling is CodeUnsupported.
type Sampler interface {
	Sample(ctx context.Context, req SampleRequest) (*RowSet, error)
}

// SampleRequest asks for at most MaxRows rows of one table.
type SampleRequest struct {
	Table   TableRef
	MaxRows int
}

// Querier is implemented by a Conn that can run one read-only statement.
// Without it, queries are CodeUnsupported.
type Querier interface {
	Query(ctx context.Context, req QueryRequest) (*RowSet, error)
}

// QueryRequest is one read-only statement and a row cap.
type QueryRequest struct {
	SQL     string
	MaxRows int
}

// RowSet is a bounded result. Truncated is true when more rows existed.
type RowSet struct {
	Columns   []Column
	Rows      []map[string]any
	Truncated bool
}
