//go:build cgo

package postgres

import (
	"context"

	pg "github.com/pganalyze/pg_query_go/v6"
)

const parserBackend = "cgo"

// warmParser does nothing: the C parser needs no start-up.
func warmParser() {}

// parseTree parses with libpg_query through cgo; it is safe for concurrent
// use.
func parseTree(ctx context.Context, sql string) (*pg.ParseResult, error) {
	return pg.Parse(sql)
}

// scanSQL runs libpg_query's scanner (tests compare the keyword list with it).
func scanSQL(sql string) (*pg.ScanResult, error) { return pg.Scan(sql) }
