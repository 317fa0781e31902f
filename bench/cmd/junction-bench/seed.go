package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"

	"github.com/junctionhq/junction/store"
)

// database is one Junction database of the run: a SQLite file in a temporary
// directory, or a fresh schema of the PostgreSQL server.
type database struct {
	name       string // main, small, big
	kind       string // sqlite, postgres
	url        string // JUNCTION_DATABASE_URL ("" for SQLite)
	dataDir    string // JUNCTION_DATA_DIR
	sqlitePath string
	schema     string // PostgreSQL schema (dropped afterwards)
	key        string // JUNCTION_ENCRYPTION_KEY
	conn       *sql.DB
	tenantID   string
	users      []benchUser // users[0] is the admin whose token drives the load
}

type benchUser struct {
	ID, Name, Token string
}

// newDatabase prepares an empty database; Junction creates the tables.
func (e *environment) newDatabase(ctx context.Context, kind, name string) (*database, error) {
	db := &database{name: name, kind: kind, dataDir: filepath.Join(e.tmp, kind+"-"+name)}
	if err := os.MkdirAll(db.dataDir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	db.key = base64.StdEncoding.EncodeToString(key)
	// Where the embedded default looks for its key, so a database kept with
	// -keep can be served again with JUNCTION_DATA_DIR alone.
	if err := os.WriteFile(filepath.Join(db.dataDir, "encryption.key"), []byte(db.key+"\n"), 0o600); err != nil {
		return nil, err
	}
	if kind == "sqlite" {
		db.sqlitePath = filepath.Join(db.dataDir, "junction.db")
		return db, nil
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	db.schema = fmt.Sprintf("junction_bench_%x_%s", suffix, name)
	admin, err := sql.Open("pgx", e.opts.PGURL)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+db.schema+`"`); err != nil {
		return nil, fmt.Errorf("create schema (is the PostgreSQL URL right?): %w", err)
	}
	u, err := url.Parse(e.opts.PGURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", db.schema)
	u.RawQuery = q.Encode()
	db.url = u.String()
	return db, nil
}

// drop removes what newDatabase made (the directory goes with the run's).
func (e *environment) drop(db *database) {
	if db.conn != nil {
		db.conn.Close()
	}
	if db.schema == "" || e.opts.Keep {
		return
	}
	admin, err := sql.Open("pgx", e.opts.PGURL)
	if err != nil {
		return
	}
	defer admin.Close()
	if _, err := admin.Exec(`DROP SCHEMA "` + db.schema + `" CASCADE`); err != nil {
		e.logf("drop schema %s: %v", db.schema, err)
	}
}

// benchUsers are the tenant's users: the admin drives the load, the members
// create connections so a page has several creators.
var benchUsers = []struct{ name, role string }{
	{"admin", "admin"}, {"alice", "member"}, {"bob", "member"}, {"carol", "member"}, {"dave", "member"},
}

const benchTenant = "bench"

// createUsers makes the tenant and its users with `junction token create`
// (which also runs the migrations) and opens the harness's own handle.
func (e *environment) createUsers(ctx context.Context, db *database) error {
	for _, u := range benchUsers {
		cmd := exec.CommandContext(ctx, e.junction, "token", "create", "--tenant", benchTenant,
			"--user", u.name, "--email", u.name+"@bench.example", "--role", u.role)
		cmd.Env = junctionEnv(db)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("junction token create: %w\n%s", err, stderr.String())
		}
		db.users = append(db.users, benchUser{Name: u.name, Token: strings.TrimSpace(string(out))})
	}
	var err error
	if db.kind == "sqlite" {
		db.conn, err = sql.Open("sqlite", "file:"+db.sqlitePath+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	} else {
		db.conn, err = sql.Open("pgx", db.url)
	}
	if err != nil {
		return err
	}
	db.conn.SetMaxOpenConns(1)
	if err := db.conn.QueryRowContext(ctx, db.sql(`SELECT id FROM tenants WHERE name = $1`), benchTenant).Scan(&db.tenantID); err != nil {
		return fmt.Errorf("tenant: %w", err)
	}
	for i := range db.users {
		if err := db.conn.QueryRowContext(ctx, db.sql(`SELECT id FROM users WHERE tenant_id = $1 AND name = $2`),
			db.tenantID, db.users[i].Name).Scan(&db.users[i].ID); err != nil {
			return fmt.Errorf("user %s: %w", db.users[i].Name, err)
		}
	}
	return nil
}

// sql rewrites $n placeholders for SQLite.
func (db *database) sql(q string) string {
	if db.kind != "sqlite" {
		return q
	}
	for i := 30; i >= 1; i-- {
		q = strings.ReplaceAll(q, "$"+strconv.Itoa(i), "?"+strconv.Itoa(i))
	}
	return q
}

// admin is the token that drives the load.
func (db *database) admin() string { return db.users[0].Token }

// templates are what the API seeds: a few providers with their required
// settings and secrets.
var templates = []struct {
	provider string
	config   map[string]any
	secrets  map[string]string
}{
	{"postgres", map[string]any{"host": "db.internal.example", "database": "orders", "user": "reporting"}, map[string]string{"password": "bench-password"}},
	{"s3", map[string]any{"bucket": "bench-exports", "region": "eu-west-1"}, map[string]string{"access_key_id": "AKIABENCHBENCH", "secret_access_key": "bench-secret-access-key"}},
	{"klaviyo", map[string]any{}, map[string]string{"private_api_key": "pk_bench_key"}},
}

var (
	adjectives = []string{"Orders", "Billing", "Marketing", "Finance", "Legacy", "Warehouse", "Support", "Analytics", "Sales", "Archive", "Staging", "Partner"}
	nouns      = []string{"DB", "Exports", "Inbox", "Bucket", "Replica", "Feed", "Store", "Reports", "Lake", "Mirror"}
)

func connectionName(r *mrand.Rand) string {
	return fmt.Sprintf("%s %s %05d", adjectives[r.IntN(len(adjectives))], nouns[r.IntN(len(nouns))], r.IntN(100000))
}

// seedAPI creates n connections through Junction's REST API, spread over the
// tenant's users and the template providers, four at a time.
func (e *environment) seedAPI(ctx context.Context, j *proc, db *database, n int) error {
	r := mrand.New(mrand.NewPCG(1, uint64(n)))
	type job struct {
		token string
		body  []byte
	}
	jobs := make(chan job)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jb := range jobs {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, j.base+"/api/v1/connections", bytes.NewReader(jb.body))
				req.Header.Set("Authorization", "Bearer "+jb.token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errc <- fmt.Errorf("POST /api/v1/connections: %d %s", resp.StatusCode, b)
					return
				}
			}
		}()
	}
	var err error
loop:
	for i := range n {
		t := templates[i%len(templates)]
		vis := "global"
		if r.IntN(5) == 0 {
			vis = "private"
		}
		body, _ := json.Marshal(map[string]any{"name": connectionName(r), "provider": t.provider,
			"config": t.config, "credentials": t.secrets, "visibility": vis})
		select {
		case jobs <- job{db.users[i%len(db.users)].Token, body}:
		case err = <-errc:
			break loop
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// bulkColumns are the connections columns the bulk seed writes, as in
// store/migrations (the token lease columns stay NULL).
var bulkColumns = []string{"id", "tenant_id", "name", "slug", "provider", "config", "secret_fields", "credentials",
	"key_id", "status", "visibility", "is_default", "is_from_template", "last_used_at", "last_verified_at",
	"verification_error", "verification_error_code", "verification_details", "created_at", "updated_at",
	"created_by", "updated_by", "version"}

// seedBulk inserts n connections into the tenant with SQL, 1,000 rows a
// statement in one transaction, shaped like rows the API writes: the
// provider settings of API-created templates, credentials sealed under the
// database's key (bound to tenant and id, as the store does), statuses,
// verification outcomes, visibilities, creators and times spread out so that
// every sort key orders the rows differently.
func (e *environment) seedBulk(ctx context.Context, j *proc, db *database, n int) error {
	if err := e.seedAPI(ctx, j, db, len(templates)); err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	n -= len(templates)
	type tmpl struct{ provider, config, secretFields string }
	var tmpls []tmpl
	rs, err := db.conn.QueryContext(ctx, db.sql(`SELECT provider, config, secret_fields FROM connections WHERE tenant_id = $1 ORDER BY provider`), db.tenantID)
	if err != nil {
		return err
	}
	for rs.Next() {
		var t tmpl
		if err := rs.Scan(&t.provider, &t.config, &t.secretFields); err != nil {
			rs.Close()
			return err
		}
		tmpls = append(tmpls, t)
	}
	rs.Close()
	if len(tmpls) != len(templates) {
		return fmt.Errorf("templates: read %d rows back, want %d", len(tmpls), len(templates))
	}
	secrets := map[string]map[string]string{}
	for _, t := range templates {
		secrets[t.provider] = t.secrets
	}
	keys, err := store.ParseKeyRing("", db.key)
	if err != nil {
		return err
	}
	r := mrand.New(mrand.NewPCG(2, uint64(n)))
	now := time.Now().UTC().Truncate(time.Microsecond)
	start := time.Now()
	tx, err := db.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const batch = 1000
	args := make([]any, 0, batch*len(bulkColumns))
	flush := func(rows int) error {
		if rows == 0 {
			return nil
		}
		var q strings.Builder
		q.WriteString("INSERT INTO connections (" + strings.Join(bulkColumns, ", ") + ") VALUES ")
		k := 0
		for i := range rows {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for c := range bulkColumns {
				if c > 0 {
					q.WriteString(", ")
				}
				k++
				if db.kind == "sqlite" {
					q.WriteString("?")
				} else {
					q.WriteString("$" + strconv.Itoa(k))
				}
			}
			q.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
		args = args[:0]
		return nil
	}
	ts := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		if db.kind == "sqlite" {
			// As Bun writes it (schema.AppendTime), so text order is time order.
			return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
		}
		return *t
	}
	inBatch := 0
	for i := range n {
		t := tmpls[r.IntN(len(tmpls))]
		id := store.NewID()
		blob, keyID, err := keys.Seal(db.tenantID, id, secrets[t.provider])
		if err != nil {
			return err
		}
		name := connectionName(r)
		slug := strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "-" + strconv.Itoa(i)
		created := now.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Microsecond)
		updated := created.Add(time.Duration(r.Int64N(int64(now.Sub(created)) + 1))).Truncate(time.Microsecond)
		var verified, used *time.Time
		var verr, vcode *string
		details := "{}"
		status := "needs_verification"
		switch p := r.IntN(10); {
		case p < 5:
			status, details = "active", `{"server_version":"15.4","database":"orders"}`
		case p < 7:
			status = "error"
			verr, vcode = ptr("The server refused the connection."), ptr("unreachable")
		case p < 8:
			status = "disabled"
		}
		if status != "needs_verification" {
			v := updated.Add(-time.Duration(r.Int64N(int64(updated.Sub(created)) + 1))).Truncate(time.Microsecond)
			verified = &v
		}
		if r.IntN(3) == 0 {
			u := now.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Microsecond)
			used = &u
		}
		vis := "global"
		if r.IntN(5) == 0 {
			vis = "private"
		}
		creator := db.users[r.IntN(len(db.users))].ID
		updater := creator
		if r.IntN(4) == 0 {
			updater = db.users[r.IntN(len(db.users))].ID
		}
		args = append(args, id, db.tenantID, name, slug, t.provider, t.config, t.secretFields, blob,
			keyID, status, vis, false, false, ts(used), ts(verified),
			verr, vcode, details, ts(&created), ts(&updated),
			creator, updater, 1)
		inBatch++
		if inBatch == batch {
			if err := flush(inBatch); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			inBatch = 0
		}
	}
	if err := flush(inBatch); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	e.logf("%s: inserted %d connections with SQL in %s", db.name, n, time.Since(start).Round(time.Millisecond))
	return e.analyze(ctx, db)
}

// analyze vacuums the tables the bulk load wrote and refreshes PostgreSQL's
// statistics, as autovacuum does soon after a bulk load. The load's 100,000
// inserts each updated a row of connection_counts (the trigger-kept totals),
// leaving 100,000 dead versions of a few rows: until autovacuum removed
// them, reading a total walked them, and whichever sort ran first looked
// slow (0.36x). A deployment that bulk-loads sees the same for up to a
// minute, until autovacuum runs. SQLite is left as
// Junction leaves it (Junction never runs ANALYZE), so its planner sees
// what a real deployment's does.
func (e *environment) analyze(ctx context.Context, db *database) error {
	if db.kind != "postgres" {
		return nil
	}
	tables := "connections"
	var counts bool // an older revision (-rev) may have no totals table
	if err := db.conn.QueryRowContext(ctx, `SELECT to_regclass('connection_counts') IS NOT NULL`).Scan(&counts); err != nil {
		return err
	}
	if counts {
		tables += ", connection_counts"
	}
	if _, err := db.conn.ExecContext(ctx, "VACUUM "+tables); err != nil {
		return err
	}
	_, err := db.conn.ExecContext(ctx, `ANALYZE`)
	return err
}

func ptr[T any](v T) *T { return &v }

// connectionIDs returns the tenant's connection ids.
func (db *database) connectionIDs(ctx context.Context) ([]string, error) {
	rs, err := db.conn.QueryContext(ctx, db.sql(`SELECT id FROM connections WHERE tenant_id = $1 ORDER BY id`), db.tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}
