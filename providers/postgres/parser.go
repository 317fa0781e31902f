package postgres

import (
	"context"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/junctionhq/junction/providers"
)

// The parser is PostgreSQL's own (libpg_query). Built with cgo (the default
// wherever a C compiler is present, as on Junction's build machines) it is
// pganalyze's C library, ready at once and safe for concurrent use; built
// without cgo it is the same library compiled to WebAssembly by go-pgquery
// (parser_wazero.go), which costs seconds of start-up once per process, paid
// in the background by WarmParser. Both return pg_query_go's parse tree, so
// the guard is the same either way. parser_cgo.go and parser_wazero.go define
// parseTree, warmParser and parserBackend for their build.

// WarmParser gets the SQL parser ready in the background, so the first query
// does not wait for it. It returns at once; calling it again does nothing.
func WarmParser() { warmParser() }

// ParserBackend names the parser this build uses: "cgo" or "wasm".
func ParserBackend() string { return parserBackend }

// parse parses sql, waiting under ctx for the parser to be ready. A syntax
// error is CodeQueryFailed with the parser's message (API.md: syntax errors
// are the database's errors, 400); a panic inside the parser is a refusal.
func parse(ctx context.Context, sql string) (tree *pg.ParseResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			tree, err = nil, refused("the statement could not be analysed: %v", p)
		}
	}()
	tree, err = parseTree(ctx, sql)
	if err != nil {
		if _, ok := err.(*providers.Error); ok {
			return nil, err
		}
		// PostgreSQL's own parser found a syntax error: the message is the
		// one the database would raise, so it is the database's error
		// (query_failed), not a refusal of what the statement does.
		return nil, &providers.Error{Code: providers.CodeQueryFailed, Message: "postgres: the statement could not be parsed: " + providers.CutDetail(err.Error()), Err: err}
	}
	return tree, nil
}
