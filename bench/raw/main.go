// Command raw is the baseline of the whole-server benchmark (bench/): a small
// server that reads the same rows as Junction from the same database with
// nothing but net/http, a driver (pgx's pool on PostgreSQL, database/sql with
// modernc.org/sqlite on SQLite) and encoding/json. No authentication, no
// router, no GraphQL: it is what the work costs without Junction around it.
//
//	GET /hello                           {"status":"ok"}
//	GET /connections/{id}                one row, every field Junction's REST returns
//	GET /connections?limit=100           a page ordered by name, id, with its count
//	GET /connections-users?limit=100     the same, with creators and updaters joined
//
// Usage: raw -addr 127.0.0.1:9000 -db postgres://...|/path/junction.db -tenant ID
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	dbURL := flag.String("db", "", "postgres://... URL, or the path of a SQLite file")
	tenant := flag.String("tenant", "", "tenant id whose rows are served")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (to check the baseline itself)")
	flag.Parse()
	if *dbURL == "" || *tenant == "" {
		log.Fatal("usage: raw -addr HOST:PORT -db URL|PATH -tenant ID")
	}
	db, err := open(context.Background(), *dbURL)
	if err != nil {
		log.Fatal(err)
	}
	defer db.close()
	s := &server{db: db, tenant: *tenant}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /connections/{id}", s.one)
	mux.HandleFunc("GET /connections", func(w http.ResponseWriter, r *http.Request) { s.page(w, r, false) })
	mux.HandleFunc("GET /connections-users", func(w http.ResponseWriter, r *http.Request) { s.page(w, r, true) })
	if *pprofAddr != "" {
		host, _, _ := net.SplitHostPort(*pprofAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			log.Fatal("-pprof: want a loopback address such as 127.0.0.1:6061")
		}
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/", pprof.Index)
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { log.Println(http.ListenAndServe(*pprofAddr, pm)) }()
	}
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("raw baseline listening on %s (%s)", *addr, db.kind)
	log.Fatal(srv.ListenAndServe())
}

// db is the one thing that differs between the databases: how a query is
// sent and its placeholders spelled.
type db struct {
	kind  string
	pool  *pgxpool.Pool // PostgreSQL
	sqldb *sql.DB       // SQLite
}

func open(ctx context.Context, url string) (*db, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		// pgxpool's defaults (max(4, CPUs) connections, prepared-statement
		// cache): what a small hand-written pgx server gets.
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return nil, err
		}
		if err := pool.Ping(ctx); err != nil {
			return nil, err
		}
		return &db{kind: "postgres", pool: pool}, nil
	}
	// WAL lets readers run concurrently with each other and with a writer;
	// the same pool size as pgxpool's default.
	dsn := "file:" + url + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=query_only(1)"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	n := max(4, runtime.NumCPU())
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	if err := sqldb.PingContext(ctx); err != nil {
		return nil, err
	}
	return &db{kind: "sqlite", sqldb: sqldb}, nil
}

func (d *db) close() {
	if d.pool != nil {
		d.pool.Close()
	}
	if d.sqldb != nil {
		d.sqldb.Close()
	}
}

// rows is what both drivers' results have in common.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

type sqlRows struct{ *sql.Rows }

// query runs q, written with $1, $2... (rewritten to ? for SQLite), and calls
// each for every row.
func (d *db) query(ctx context.Context, q string, args []any, each func(rows) error) error {
	if d.pool != nil {
		rs, err := d.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			if err := each(rs); err != nil {
				return err
			}
		}
		return rs.Err()
	}
	for i := len(args); i >= 1; i-- {
		q = strings.ReplaceAll(q, "$"+strconv.Itoa(i), "?"+strconv.Itoa(i))
	}
	rs, err := d.sqldb.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := each(sqlRows{rs}); err != nil {
			return err
		}
	}
	return rs.Err()
}

func (d *db) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	found := false
	err := d.query(ctx, q, args, func(r rows) error {
		found = true
		return r.Scan(dest...)
	})
	if err == nil && !found {
		return errNotFound
	}
	return err
}

var errNotFound = errors.New("not found")

type server struct {
	db     *db
	tenant string
}

// connection has the keys and key order of Junction's REST connection.
type connection struct {
	ID                    string          `json:"id"`
	Name                  string          `json:"name"`
	Slug                  string          `json:"slug"`
	Provider              string          `json:"provider"`
	Config                json.RawMessage `json:"config"`
	HasCredentials        bool            `json:"hasCredentials"`
	Status                string          `json:"status"`
	Visibility            string          `json:"visibility"`
	IsDefault             bool            `json:"isDefault"`
	IsFromTemplate        bool            `json:"isFromTemplate"`
	LastUsedAt            *time.Time      `json:"lastUsedAt"`
	LastVerifiedAt        *time.Time      `json:"lastVerifiedAt"`
	VerificationError     *string         `json:"verificationError"`
	VerificationErrorCode *string         `json:"verificationErrorCode"`
	VerificationDetails   json.RawMessage `json:"verificationDetails"`
	CreatedAt             time.Time       `json:"createdAt"`
	UpdatedAt             time.Time       `json:"updatedAt"`
	CreatedBy             string          `json:"createdBy"`
	UpdatedBy             string          `json:"updatedBy"`
	CreatedByUser         *user           `json:"createdByUser,omitempty"`
	UpdatedByUser         *user           `json:"updatedByUser,omitempty"`
}

type user struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

const columns = `c.id, c.name, c.slug, c.provider, c.config, c.secret_fields, c.status, c.visibility,
	c.is_default, c.is_from_template, c.last_used_at, c.last_verified_at, c.verification_error,
	c.verification_error_code, c.verification_details, c.created_at, c.updated_at, c.created_by, c.updated_by`

// scanner reads one row of columns (plus dest) into c.
func (c *connection) dest(secretFields *string, more ...any) []any {
	return append([]any{&c.ID, &c.Name, &c.Slug, &c.Provider, (*rawText)(&c.Config), secretFields, &c.Status, &c.Visibility,
		&c.IsDefault, &c.IsFromTemplate, &c.LastUsedAt, &c.LastVerifiedAt, &c.VerificationError,
		&c.VerificationErrorCode, (*rawText)(&c.VerificationDetails), &c.CreatedAt, &c.UpdatedAt, &c.CreatedBy, &c.UpdatedBy}, more...)
}

// rawText scans a JSON text column as it is stored, to be written verbatim.
type rawText json.RawMessage

func (t *rawText) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*t = rawText(v)
	case []byte:
		*t = append((*t)[:0], v...)
	default:
		return fmt.Errorf("raw: json column is %T", src)
	}
	return nil
}

func (s *server) one(w http.ResponseWriter, r *http.Request) {
	var c connection
	var secretFields string
	err := s.db.queryRow(r.Context(), `SELECT `+columns+` FROM connections c WHERE c.tenant_id = $1 AND c.id = $2`,
		[]any{s.tenant, r.PathValue("id")}, c.dest(&secretFields)...)
	if errors.Is(err, errNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Connection not found"})
		return
	}
	if err != nil {
		fail(w, err)
		return
	}
	c.HasCredentials = secretFields != "[]" && secretFields != ""
	writeJSON(w, http.StatusOK, c)
}

type page struct {
	Connections []*connection `json:"connections"`
	Total       int           `json:"total"`
	HasNext     bool          `json:"hasNext"`
	Limit       int           `json:"limit"`
	Offset      int           `json:"offset"`
	Users       []*user       `json:"users,omitempty"`
}

// page serves limit rows (default 100) ordered by name, id from offset,
// with the tenant's count; with users, each row's creator and updater
// joined and the page's users listed once each.
func (s *server) page(w http.ResponseWriter, r *http.Request, users bool) {
	p := page{Limit: 100, Connections: []*connection{}}
	if v := r.URL.Query().Get("limit"); v != "" {
		p.Limit, _ = strconv.Atoi(v)
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		p.Offset, _ = strconv.Atoi(v)
	}
	if p.Limit < 1 || p.Limit > 1000 || p.Offset < 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"detail": "limit 1..1000, offset >= 0"})
		return
	}
	ctx := r.Context()
	if err := s.db.queryRow(ctx, `SELECT count(*) FROM connections WHERE tenant_id = $1`, []any{s.tenant}, &p.Total); err != nil {
		fail(w, err)
		return
	}
	q := `SELECT ` + columns + ` FROM connections c WHERE c.tenant_id = $1 ORDER BY c.name, c.id LIMIT $2 OFFSET $3`
	if users {
		q = `SELECT ` + columns + `, cu.id, cu.name, cu.email, uu.id, uu.name, uu.email
			FROM connections c LEFT JOIN users cu ON cu.id = c.created_by LEFT JOIN users uu ON uu.id = c.updated_by
			WHERE c.tenant_id = $1 ORDER BY c.name, c.id LIMIT $2 OFFSET $3`
	}
	seen := map[string]bool{}
	err := s.db.query(ctx, q, []any{s.tenant, p.Limit + 1, p.Offset}, func(rs rows) error {
		c := new(connection)
		var secretFields string
		var cu, uu nullUser
		dest := c.dest(&secretFields)
		if users {
			dest = append(dest, &cu.ID, &cu.Name, &cu.Email, &uu.ID, &uu.Name, &uu.Email)
		}
		if err := rs.Scan(dest...); err != nil {
			return err
		}
		c.HasCredentials = secretFields != "[]" && secretFields != ""
		if users {
			c.CreatedByUser, c.UpdatedByUser = cu.user(), uu.user()
			for _, u := range []*user{c.CreatedByUser, c.UpdatedByUser} {
				if u != nil && !seen[u.ID] {
					seen[u.ID] = true
					p.Users = append(p.Users, u)
				}
			}
		}
		p.Connections = append(p.Connections, c)
		return nil
	})
	if err != nil {
		fail(w, err)
		return
	}
	if len(p.Connections) > p.Limit {
		p.Connections, p.HasNext = p.Connections[:p.Limit], true
	}
	if users && p.Users == nil {
		p.Users = []*user{}
	}
	writeJSON(w, http.StatusOK, p)
}

type nullUser struct{ ID, Name, Email *string }

func (u nullUser) user() *user {
	if u.ID == nil {
		return nil
	}
	return &user{ID: *u.ID, Name: deref(u.Name), Email: deref(u.Email)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func fail(w http.ResponseWriter, err error) {
	if errors.Is(err, pgx.ErrNoRows) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "not found"})
		return
	}
	log.Printf("raw: %v", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "internal"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "raw: write:", err)
	}
}
