package rest_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/builtin"
	"github.com/junctionhq/junction/providers/postgres"
	"github.com/junctionhq/junction/resolvers"
)

// schemaScenario reads a real PostgreSQL through a postgres connection:
// {schema} is a schema of the test's own holding the fixture below, {conn}
// the connection's settings.
var schemaScenario = []call{
	{user: "alice", method: "POST", path: "/connections", status: 201, save: "db",
		body: `{"name": "Test DB", "provider": "postgres", "visibility": "global", {conn}}`},

	{golden: "tables_ok", user: "alice", method: "GET", path: "/connections/{db}/schema/tables?schema={schema}", status: 200},
	{golden: "tables_search", user: "bob", method: "GET", path: "/connections/{db}/schema/tables?schema={schema}&search=ORDER", status: 200},
	{golden: "tables_system_hidden", user: "alice", method: "GET", path: "/connections/{db}/schema/tables?schema=pg_catalog&includeSystem=off", status: 200},
	{golden: "tables_system", user: "alice", method: "GET", path: "/connections/{db}/schema/tables?schema=pg_catalog&search=pg_namespace&include_system=YES", status: 200},

	{golden: "columns_ok", user: "alice", method: "GET", path: "/connections/{db}/schema/columns?schema={schema}&table=Order%20Lines", status: 200},
	{golden: "columns_types", user: "alice", method: "GET", path: "/connections/{db}/schema/columns?schema={schema}&table=orders", status: 200},
	{golden: "columns_unknown_table", user: "alice", method: "GET", path: "/connections/{db}/schema/columns?schema={schema}&table=nope", status: 404},

	{golden: "sample_ok", user: "alice", method: "POST", path: "/connections/{db}/schema/sample", body: `{"schema": "{schema}", "table": "orders"}`, status: 200},
	{golden: "sample_truncated", user: "alice", method: "POST", path: "/connections/{db}/schema/sample", body: `{"schema": "{schema}", "table": "Order Lines", "maxRows": 2}`, status: 200},
	{golden: "sample_unknown_table", user: "alice", method: "POST", path: "/connections/{db}/schema/sample", body: `{"schema": "{schema}", "table": "nope"}`, status: 404},

	{golden: "query_ok", user: "alice", method: "POST", path: "/connections/{db}/schema/query", status: 200,
		body: `{"sql": "SELECT o.id, o.total, l.sku, o.meta\n  FROM {schema}.orders o JOIN {schema}.\"Order Lines\" l ON l.order_id = o.id ORDER BY o.id, l.line"}`},
	{golden: "query_truncated", user: "alice", method: "POST", path: "/connections/{db}/schema/query", status: 200,
		body: `{"sql": "WITH big AS (SELECT * FROM {schema}.big_orders) SELECT id, 1 AS n, 2 AS n FROM big ORDER BY id", "maxRows": 1}`},
	{golden: "query_refused", user: "alice", method: "POST", path: "/connections/{db}/schema/query", body: `{"sql": "DELETE FROM {schema}.orders"}`, status: 422},
	{golden: "query_two_statements", user: "alice", method: "POST", path: "/connections/{db}/schema/query", body: `{"sql": "SELECT 1; SELECT 2"}`, status: 422},
	{golden: "query_failed", user: "alice", method: "POST", path: "/connections/{db}/schema/query", body: `{"sql": "SELECT nope FROM {schema}.orders"}`, status: 400},
}

// schemaFixture is what schemaScenario reads, in schema %[1]s.
const schemaFixture = `
CREATE TABLE %[1]s.orders (id integer PRIMARY KEY, total numeric(10,2) NOT NULL, placed_at timestamptz,
	note character varying(255), tags text[], meta jsonb, big bigint, paid boolean);
CREATE TABLE %[1]s."Order Lines" (order_id integer REFERENCES %[1]s.orders, line integer, sku text NOT NULL,
	PRIMARY KEY (order_id, line));
CREATE VIEW %[1]s.big_orders AS SELECT * FROM %[1]s.orders WHERE total > 100;
INSERT INTO %[1]s.orders VALUES
	(1, 99.90, '2024-05-01 12:00:00+00', 'first <order> & co', '{a,b}', '{"gift": true, "n": 1}', 9007199254740993, true),
	(2, 250.00, NULL, NULL, NULL, NULL, NULL, NULL),
	(3, 1000.5, '2024-05-03 08:30:00.5+02', 'third', '{}', '[1, "x"]', -1, false);
INSERT INTO %[1]s."Order Lines" VALUES (1, 1, 'SKU-1'), (1, 2, 'SKU-2'), (2, 1, 'SKU-3');
`

// pgTarget returns the connection settings (as JSON object members) of the
// test PostgreSQL as an external system, with a fresh schema holding
// schemaFixture, or skips. It also skips while the postgres driver cannot
// browse schemas.
func pgTarget(t *testing.T) (conn, schema string) {
	t.Helper()
	if os.Getenv("JUNCTION_TEST_DATABASE_URL") == "" {
		if os.Getenv("JUNCTION_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("JUNCTION_TEST_REQUIRE_POSTGRES=1 but JUNCTION_TEST_DATABASE_URL is not set")
		}
		t.Skip("needs a PostgreSQL to browse: set JUNCTION_TEST_DATABASE_URL (.ci/run does)")
	}
	if drv, _ := builtin.Registry().Get("postgres"); !slices.Contains(drv.Spec().Capabilities, providers.CapSchema) {
		t.Skip("the postgres driver does not browse schemas yet")
	}
	// The statement guard's parser compiles on first use (seconds; a minute
	// under -race on a busy machine): start it now, and give queries time.
	postgres.WarmParser()
	raw := testdb.FreshSchema(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	schema = u.Query().Get("search_path")
	db, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), fmt.Sprintf(schemaFixture, `"`+schema+`"`)); err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	pw, _ := u.User.Password()
	conn = fmt.Sprintf(`"config": {"host": %q, "port": %s, "database": %q, "user": %q, "sslmode": "disable"}, "credentials": {"password": %q}`,
		u.Hostname(), port, strings.TrimPrefix(u.Path, "/"), u.User.Username(), pw)
	return conn, schema
}

// parserLimits give the first query the time the SQL parser needs to start.
var parserLimits = resolvers.Limits{QueryTimeout: 3 * time.Minute}

// TestSchemaContract runs schemaScenario against the test PostgreSQL.
func TestSchemaContract(t *testing.T) {
	conn, schema := pgTarget(t)
	e := newEnvWith(t, testdb.DB{Name: "sqlite", DataDir: t.TempDir()}, parserLimits)
	e.literals[schema] = "<schema>"
	// queryHash is the SHA-256 of the statement with white space outside
	// literals collapsed; the goldens show the hash of these texts by name,
	// and a raw hex value when the server hashed something else.
	for name, collapsed := range map[string]string{
		"query_ok":        `SELECT o.id, o.total, l.sku, o.meta FROM {schema}.orders o JOIN {schema}."Order Lines" l ON l.order_id = o.id ORDER BY o.id, l.line`,
		"query_truncated": `WITH big AS (SELECT * FROM {schema}.big_orders) SELECT id, 1 AS n, 2 AS n FROM big ORDER BY id`,
	} {
		sum := sha256.Sum256([]byte(strings.ReplaceAll(collapsed, "{schema}", schema)))
		e.literals[hex.EncodeToString(sum[:])] = "<sha256 of " + name + "'s statement>"
	}
	e.run(schemaScenario, map[string]string{"conn": conn, "schema": schema})
}
