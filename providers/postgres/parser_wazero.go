//go:build !cgo

package postgres

import (
	"context"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgquery "github.com/wasilibs/go-pgquery"

	"github.com/junctionhq/junction/providers"
)

const parserBackend = "wasm"

// go-pgquery runs libpg_query in a WebAssembly runtime that it compiles on
// first use: measured at about 8 s of CPU and 230 MB of memory on a 2-CPU
// machine (16 s under -race), after which a parse takes 0.3-0.5 ms. It keeps
// a pool of runtimes and compiles another one whenever a caller finds them
// all busy, so concurrent first parses would each pay that price: every
// parse here goes through parserMu, which keeps exactly one runtime.
var (
	parserMu    sync.Mutex
	parserOnce  sync.Once
	parserReady = make(chan struct{})
)

func warmParser() {
	parserOnce.Do(func() {
		go func() {
			defer close(parserReady)
			parserMu.Lock()
			defer parserMu.Unlock()
			pgquery.Parse("SELECT 1")
		}()
	})
}

func parseTree(ctx context.Context, sql string) (*pg.ParseResult, error) {
	warmParser()
	select {
	case <-parserReady:
	default:
		select {
		case <-parserReady:
		case <-ctx.Done():
			return nil, providers.Wrap(providers.CodeTimeout, ctx.Err(), "postgres: the SQL parser was still starting when the request ended; try again")
		}
	}
	parserMu.Lock()
	defer parserMu.Unlock()
	return pgquery.Parse(sql)
}

// scanSQL runs libpg_query's scanner (tests compare the keyword list with it).
func scanSQL(sql string) (*pg.ScanResult, error) {
	if _, err := parseTree(context.Background(), "SELECT 1"); err != nil {
		return nil, err
	}
	parserMu.Lock()
	defer parserMu.Unlock()
	return pgquery.Scan(sql)
}
