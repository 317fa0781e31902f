// Command junction is the Junction server: it keeps an organisation's
// connections to external systems in one place, with sealed credentials, live
// verification and a GraphQL API (plus a REST shim at /api/v1).
//
// The command line (serve, migrate, token create/list/revoke, rotate-keys,
// version, help) is in cli.go; `junction --help` describes it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph"
	"github.com/junctionhq/junction/graph/flat"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/graphiql"
	"github.com/junctionhq/junction/metrics"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/builtin"
	"github.com/junctionhq/junction/providers/netguard"
	"github.com/junctionhq/junction/providers/postgres"
	"github.com/junctionhq/junction/reqid"
	"github.com/junctionhq/junction/resolvers"
	"github.com/junctionhq/junction/rest"
	"github.com/junctionhq/junction/store"
)

// Config is the server configuration, from JUNCTION_* variables.
type Config struct {
	Addr                 string
	DataDir              string
	DatabaseURL          string
	EncryptionKeys       string
	EncryptionKey        string
	LogFormat            string
	LogLevel             slog.Level
	MaxBodyBytes         int64
	ShutdownTimeout      time.Duration
	ProviderTimeout      time.Duration
	BlockPrivateNetworks bool
	CookieSecure         bool
	ComplexityLimit      int
	ParserTokenLimit     int
	QueryCacheSize       int
	APQCacheSize         int
	Introspection        bool
	Metrics              bool
	// Limits bound files, schema and query calls (JUNCTION_FILES_*,
	// JUNCTION_QUERY_*, JUNCTION_REQUEST_PROVIDER_CONCURRENCY,
	// JUNCTION_SCHEMA_CACHE_TTL).
	Limits resolvers.Limits
	// SessionTTL is how long a browser session (POST /login) lasts.
	SessionTTL time.Duration
	// TrustProxy believes X-Forwarded-Proto and X-Forwarded-Host (set it
	// only behind a proxy that sets them and strips what clients send).
	TrustProxy bool
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// GraphQLMaxResponseBytes caps a GraphQL response's size
	// (JUNCTION_GRAPHQL_MAX_RESPONSE_BYTES): past it the answer is an error.
	GraphQLMaxResponseBytes int
	// AuthCacheTTL is how long an identity resolved from a token or
	// session is reused (JUNCTION_AUTH_CACHE_TTL, default and most 1s; 0
	// looks every request up): a revocation reaches every replica within it.
	AuthCacheTTL time.Duration

	// defaultGC is set when neither GOGC nor GOMEMLIMIT is: serve then
	// collects at serverGCPercent instead of Go's 100.
	defaultGC bool

	// flatOff leaves every field to gqlgen's executor, and flatAnswered
	// sees each field graph/flat answers: tests compare the two paths.
	flatOff      bool
	flatAnswered func(field string)
}

// loadConfig reads the JUNCTION_* settings; every one has a default.
func loadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		defaultGC:      getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "",
		Addr:           envOr(getenv, "JUNCTION_ADDR", ":8080"),
		DataDir:        envOr(getenv, "JUNCTION_DATA_DIR", "./data"),
		DatabaseURL:    getenv("JUNCTION_DATABASE_URL"),
		EncryptionKeys: getenv("JUNCTION_ENCRYPTION_KEYS"),
		EncryptionKey:  getenv("JUNCTION_ENCRYPTION_KEY"),
		LogFormat:      envOr(getenv, "JUNCTION_LOG_FORMAT", "text"),
	}
	var errs []error
	num := func(name string, def int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a non-negative integer", name, v))
		}
		return n
	}
	dur := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration like 15s", name, v))
		}
		return d
	}
	boolean := func(name string, def bool) bool {
		v := getenv(name)
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
		}
		return b
	}
	c.MaxBodyBytes = int64(num("JUNCTION_MAX_BODY_BYTES", 1<<20))
	c.ShutdownTimeout = dur("JUNCTION_SHUTDOWN_TIMEOUT", 30*time.Second)
	c.ProviderTimeout = dur("JUNCTION_PROVIDER_TIMEOUT", 15*time.Second)
	c.BlockPrivateNetworks = boolean("JUNCTION_BLOCK_PRIVATE_NETWORKS", false)
	c.CookieSecure = boolean("JUNCTION_COOKIE_SECURE", false)
	c.SessionTTL = dur("JUNCTION_SESSION_TTL", auth.DefaultSessionTTL)
	c.TrustProxy = boolean("JUNCTION_TRUST_PROXY", false)
	c.MetricsToken = getenv("JUNCTION_METRICS_TOKEN")
	c.AuthCacheTTL = auth.MaxCacheTTL
	if v := getenv("JUNCTION_AUTH_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > auth.MaxCacheTTL {
			errs = append(errs, fmt.Errorf("JUNCTION_AUTH_CACHE_TTL=%q: want a duration from 0 (no cache) to %v", v, auth.MaxCacheTTL))
		}
		c.AuthCacheTTL = d
	}
	c.ComplexityLimit = num("JUNCTION_GRAPHQL_COMPLEXITY_LIMIT", 50000)
	c.ParserTokenLimit = num("JUNCTION_GRAPHQL_TOKEN_LIMIT", 15000)
	c.QueryCacheSize = num("JUNCTION_GRAPHQL_QUERY_CACHE_SIZE", 1000)
	c.APQCacheSize = num("JUNCTION_GRAPHQL_APQ_CACHE_SIZE", 1000)
	c.GraphQLMaxResponseBytes = num("JUNCTION_GRAPHQL_MAX_RESPONSE_BYTES", defaultMaxResponseBytes)
	c.Introspection = boolean("JUNCTION_GRAPHQL_INTROSPECTION", true)
	c.Metrics = boolean("JUNCTION_METRICS", true)
	d := resolvers.DefaultLimits
	c.Limits = resolvers.Limits{
		FilesMaxItems:             num("JUNCTION_FILES_MAX_ITEMS", d.FilesMaxItems),
		FilesMaxDepth:             num("JUNCTION_FILES_MAX_DEPTH", d.FilesMaxDepth),
		FilesTimeout:              dur("JUNCTION_FILES_TIMEOUT", d.FilesTimeout),
		RequestProviderCalls:      num("JUNCTION_REQUEST_PROVIDER_CONCURRENCY", d.RequestProviderCalls),
		MaxRequestProviderCalls:   num("JUNCTION_REQUEST_PROVIDER_CALLS", d.MaxRequestProviderCalls),
		ProviderConcurrency:       num("JUNCTION_PROVIDER_CONCURRENCY", d.ProviderConcurrency),
		TenantProviderConcurrency: num("JUNCTION_TENANT_PROVIDER_CONCURRENCY", d.TenantProviderConcurrency),
		QueryTimeout:              dur("JUNCTION_QUERY_TIMEOUT", d.QueryTimeout),
		QueryMaxRows:              num("JUNCTION_QUERY_MAX_ROWS", d.QueryMaxRows),
		QueryMaxBytes:             num("JUNCTION_QUERY_MAX_BYTES", d.QueryMaxBytes),
		SchemaCacheTTL:            dur("JUNCTION_SCHEMA_CACHE_TTL", d.SchemaCacheTTL),
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("JUNCTION_LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	if v := getenv("JUNCTION_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("JUNCTION_LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	return c, errors.Join(errs...)
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func newLogger(c Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(reqid.Handler{Handler: h})
}

// openKeys returns the key ring: from the environment, or for the embedded
// default a generated data/encryption.key.
func openKeys(cfg Config, log *slog.Logger) (*store.KeyRing, error) {
	if cfg.EncryptionKeys != "" || cfg.EncryptionKey != "" {
		return store.ParseKeyRing(cfg.EncryptionKeys, cfg.EncryptionKey)
	}
	if cfg.DatabaseURL != "" {
		return nil, errors.New("JUNCTION_DATABASE_URL is set but no encryption key is: set JUNCTION_ENCRYPTION_KEY (openssl rand -base64 32) or JUNCTION_ENCRYPTION_KEYS")
	}
	path := filepath.Join(cfg.DataDir, "encryption.key")
	keys, created, err := store.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	if created {
		log.Warn("generated a new encryption key; back it up, credentials cannot be opened without it", "path", path, "key_id", keys.Primary())
	}
	return keys, nil
}

func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*store.Store, error) {
	keys, err := openKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Keys: keys, Log: log})
}

// prepare opens the store, migrates, proves the key opens stored data and
// bootstraps the first tenant on an empty database.
func prepare(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) (*store.Store, error) {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.CheckKeys(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("refusing to start: %w; set JUNCTION_ENCRYPTION_KEY(S) to the key the data was sealed with (keep the old key in JUNCTION_ENCRYPTION_KEYS after the new one to rotate)", err)
	}
	// Once per database: verification text stored before redaction covered
	// every encoding is redacted again with each connection's secrets.
	if _, err := st.ReRedact(ctx, providers.RedactMessage, providers.RedactDetails); err != nil {
		st.Close()
		return nil, err
	}
	n, err := st.TenantCount(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if n == 0 {
		tok := auth.NewToken()
		if _, err := st.EnsureUserToken(ctx, "default", "admin", "admin@localhost", "admin", tok); err != nil {
			st.Close()
			return nil, err
		}
		fmt.Fprintf(stdout, "Created tenant \"default\" with an admin user. Admin token (shown once, keep it):\n\n    %s\n\n", tok)
		fmt.Fprintf(stdout, "Use it as a bearer token, e.g.  curl -H 'Authorization: Bearer %s' http://localhost%s/api/v1/me\n", tok, displayAddr(cfg.Addr))
		fmt.Fprintf(stdout, "or open GraphiQL at http://localhost%s/ and sign in with it at http://localhost%s/login\n", displayAddr(cfg.Addr), displayAddr(cfg.Addr))
	}
	return st, nil
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return addr
	}
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i:]
	}
	return addr
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	st, err := prepare(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.defaultGC {
		debug.SetGCPercent(serverGCPercent)
	}
	// Builds without cgo parse SQL with a WebAssembly parser that takes
	// seconds to start: start it now, not at the first query.
	postgres.WarmParser()
	h, closeConns := newHandler(cfg, st, log)
	defer closeConns()
	// net/http's own messages (TLS handshakes, a panic that escaped the
	// handler) go through slog too, never straight to stderr.
	srv := &http.Server{Addr: cfg.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	defer startPprof(ctx, log, errc)() // JUNCTION_PPROF_ADDR: opt-in, loopback-only profiles (pprof.go)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("junction listening", "addr", cfg.Addr, "database", databaseKind(cfg))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func databaseKind(cfg Config) string {
	if cfg.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite:" + filepath.Join(cfg.DataDir, "junction.db")
}

// newResolver wires the application.
func newResolver(cfg Config, st *store.Store, log *slog.Logger, m *metrics.Metrics) *resolvers.Resolver {
	guard := netguard.New(netguard.Options{BlockPrivate: cfg.BlockPrivateNetworks})
	return &resolvers.Resolver{
		Store: st, Providers: builtin.Registry(), Log: log,
		HTTPClient: guard.HTTPClient(providers.HTTPOptions{}), Dial: guard.DialContext,
		OAuth: providers.NewOAuth(), ProviderTimeout: cfg.ProviderTimeout, Metrics: m, Limits: cfg.Limits,
	}
}

// newHandler builds the HTTP surface: GraphiQL, GraphQL, the REST shim,
// login/logout, health checks and metrics. close releases the provider
// connections it keeps open; call it after the server stopped.
func newHandler(cfg Config, st *store.Store, log *slog.Logger) (h http.Handler, close func()) {
	var m *metrics.Metrics
	if cfg.Metrics {
		m = metrics.New()
	}
	res := newResolver(cfg, st, log, m)
	authn := newAuthenticator(cfg, st, log)

	r := chi.NewRouter()
	r.Use(reqid.Middleware, accessLog(log), m.Middleware, recoverPanics(log), limitBody(cfg.MaxBodyBytes))
	if m != nil {
		// Labels are route patterns, known methods, statuses, provider names
		// and error codes: nothing tenant- or user-specific, nothing a
		// client can multiply.
		r.Handle("/metrics", metrics.RequireToken(cfg.MetricsToken, m.Handler()))
	}
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		rest.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			log.ErrorContext(r.Context(), "readiness: database unreachable", "err", err)
			rest.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": "database unreachable"})
			return
		}
		rest.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.With(auth.RequireJSON).Post("/login", authn.Login)
	r.Post("/logout", authn.Logout)
	// GraphiQL, served from the binary (no CDN) under a self-only CSP, and
	// the sign-in page (GET /login) that POSTs a token to /login and
	// returns to it. A person who is not signed in sees GraphiQL with a
	// banner linking there, not a redirect: GraphiQL also works with a
	// bearer token in its Headers tab.
	gopts := graphiql.Options{Endpoint: "/graphql", LoginURL: "/login", LogoutURL: "/logout", Home: "/"}
	ui := graphiql.Handler(gopts)
	r.Handle("/", ui)
	r.Handle(graphiql.AssetPrefix+"*", ui)
	login := graphiql.LoginHandler(gopts)
	r.Get("/login", login.ServeHTTP)
	r.Head("/login", login.ServeHTTP)
	// The API description is public, as FastAPI serves it, so client
	// generators and docs tools need no token.
	r.Get("/api/v1/openapi.json", rest.OpenAPIHandler)
	r.Group(func(r chi.Router) {
		r.Use(authn.Middleware, res.LoadersMiddleware)
		r.Handle("/graphql", graphqlHandler(cfg, res, log))
		r.With(auth.RequireJSON).Mount("/api/v1", rest.Router(res, log))
	})
	return r, res.Close
}

// unavailableRetryAfter is the Retry-After of a 503 during a database outage.
const unavailableRetryAfter = 5 * time.Second

// newAuthenticator accepts bearer API tokens and browser sessions, each
// resolved by one SQL statement (reused for up to cfg.AuthCacheTTL), and
// serves /login and /logout.
func newAuthenticator(cfg Config, st *store.Store, log *slog.Logger) *auth.Authenticator {
	identity := func(p *store.Principal, err error) (auth.Identity, error) {
		if errors.Is(err, store.ErrNotFound) {
			return auth.Identity{}, auth.ErrUnknownToken
		}
		if err != nil {
			return auth.Identity{}, err
		}
		return auth.Identity{TenantID: p.Tenant.ID, TenantName: p.Tenant.Name, UserID: p.User.ID,
			UserName: p.User.Name, Email: p.User.Email, Role: p.User.Role}, nil
	}
	return &auth.Authenticator{
		Token: func(ctx context.Context, token string) (auth.Identity, error) {
			return identity(st.Authenticate(ctx, token))
		},
		Session: func(ctx context.Context, id string) (auth.Identity, error) {
			return identity(st.AuthenticateSession(ctx, id))
		},
		StartSession: func(ctx context.Context, token, id string, expires time.Time) error {
			err := st.CreateSession(ctx, token, id, expires)
			if errors.Is(err, store.ErrNotFound) {
				return auth.ErrUnknownToken
			}
			return err
		},
		EndSession: func(ctx context.Context, id string) error {
			_, err := st.DeleteSession(ctx, id)
			return err
		},
		TTL: cfg.SessionTTL, CookieSecure: cfg.CookieSecure, TrustProxy: cfg.TrustProxy, CacheTTL: cfg.AuthCacheTTL,
		Unauthenticated: func(w http.ResponseWriter, r *http.Request) {
			rest.WriteJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Not authenticated"})
		},
		Failed: func(w http.ResponseWriter, r *http.Request, err error) {
			e, _ := resolvers.AsError(err)
			if e.Code != resolvers.CodeUnavailable {
				log.ErrorContext(r.Context(), "authentication lookup failed", "err", err)
				rest.WriteJSON(w, http.StatusInternalServerError, map[string]string{
					"detail": "Internal server error", "code": "internal", "requestId": reqid.From(r.Context())})
				return
			}
			log.WarnContext(r.Context(), "authentication lookup failed: database unavailable", "err", err)
			writeUnavailable(w, r, e.Message)
		},
	}
}

// writeUnavailable answers 503 with Retry-After during a database outage:
// GraphQL-shaped on /graphql, REST-shaped elsewhere.
func writeUnavailable(w http.ResponseWriter, r *http.Request, msg string) {
	secs := int(unavailableRetryAfter.Seconds())
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if r.URL.Path == "/graphql" {
		w.Header().Set("Content-Type", responseMediaType(r.Header.Get("Accept"))+"; charset=utf-8")
		writeGraphQL(w, http.StatusServiceUnavailable, requestError{Errors: gqlerror.List{{Message: msg,
			Extensions: map[string]any{"code": string(resolvers.CodeUnavailable), "retryAfterSeconds": secs}}}})
		return
	}
	rest.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": msg, "code": string(resolvers.CodeUnavailable)})
}

func graphqlHandler(cfg Config, res *resolvers.Resolver, log *slog.Logger) http.Handler {
	gc := graph.Config{Resolvers: res}
	// A page costs its fields times the rows it may return, so the
	// complexity limit bounds real work, not just query size.
	gc.Complexity.Query.Connections = func(child int, _ *string, _ *model.ConnectionSort, _ *model.SortOrder, limit, _ *int, _ *string) int {
		n := resolvers.DefaultLimit
		if limit != nil && *limit > 0 {
			n = *limit
		}
		return 1 + child*n
	}
	// Fields that call a provider are expensive: a files page costs its
	// fields times the items it may return, a catalog a fixed share of the
	// budget, and a validation walk the most, so one query cannot fan out
	// to hundreds of upstream walks.
	gc.Complexity.Connection.Files = func(child int, _ *string, _ *string, pageSize *int) int {
		n := resolvers.DefaultFilesPageSize
		if pageSize != nil && *pageSize > 0 {
			n = *pageSize
		}
		return providerCallCost + child*n
	}
	gc.Complexity.Connection.ValidateFileSelection = func(child int, items []string) int {
		return 10*providerCallCost + child + len(items)
	}
	gc.Complexity.Connection.SchemaTables = func(child int, _ *bool, _ *string, _ *string) int {
		return providerCallCost + child*100
	}
	gc.Complexity.Connection.SchemaColumns = func(child int, _ string, _ string) int { return providerCallCost + child }
	gc.Complexity.SchemaTable.Columns = func(child int) int { return 1 + child*20 }
	gc.Complexity.Mutation.SampleTable = func(child int, _ string, _ string, _ string, maxRows *int) int {
		return providerCallCost + child
	}
	gc.Complexity.Mutation.RunQuery = func(child int, _ string, _ string, maxRows *int) int { return providerCallCost + child }
	gc.Complexity.Mutation.VerifyConnection = func(child int, _ string) int { return providerCallCost + child }
	gc.Complexity.Mutation.TestConnection = func(child int, _ model.TestConnectionInput) int { return providerCallCost + child }
	costProviders(&gc, res.Providers)
	srv := handler.New(graph.NewExecutableSchema(gc))
	srv.AddTransport(graphqlTransport{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](cfg.QueryCacheSize))
	srv.SetParserTokenLimit(cfg.ParserTokenLimit)
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](cfg.APQCacheSize)})
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	// However it is priced, one operation makes at most
	// JUNCTION_REQUEST_PROVIDER_CALLS provider calls (its request's budget,
	// from LoadersMiddleware) and answers at most
	// JUNCTION_GRAPHQL_MAX_RESPONSE_BYTES.
	maxResponse := cfg.GraphQLMaxResponseBytes
	if maxResponse <= 0 {
		maxResponse = defaultMaxResponseBytes
	}
	srv.Use(responseCap{max: maxResponse})
	// Lists and single connections whose selection is plain fields are
	// written in one pass instead of field by field (graph/flat).
	if !cfg.flatOff {
		srv.Use(flat.Encoder{Users: res, Answered: cfg.flatAnswered})
	}
	srv.SetErrorPresenter(resolvers.ErrorPresenter(log))
	srv.SetRecoverFunc(graphqlRecover(log))
	return srv
}

// serverGCPercent is the collector's target unless GOGC or GOMEMLIMIT says
// otherwise. The server keeps little live (a few MB) and allocates for
// every request, so at Go's 100 it collected dozens of times a second
// under load and spent a third of its CPU on it; at 200 the heap may grow
// to three times what is live. Measured with bench/ (README, Benchmarks):
// W1 GraphQL 0.57x -> 0.67x hello, and the resident size after W3 on
// PostgreSQL 80-87 -> 98 MiB (400 gave 0.68x and 133 MiB).
const serverGCPercent = 200

// providerCallCost is the complexity of one field that calls a provider.
const providerCallCost = 100

// limitBody caps request bodies: a declared length over the cap is refused
// with 413 before reading; an undeclared one fails to read past the cap.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				writeTooLarge(w, n)
				return
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// accessLog writes one line per request: method, path (never the query
// string, which may carry a token), status, bytes and duration.
func accessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			// A health check that passes is what probes ask every few
			// seconds: at debug level, so it neither floods the log nor
			// costs a formatted line per probe; a failing one is a request
			// like any other.
			level := slog.LevelInfo
			if status < 400 && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz") {
				level = slog.LevelDebug
			}
			if !log.Enabled(r.Context(), level) {
				return
			}
			log.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Int("bytes", ww.BytesWritten()), slog.Int64("duration_ms", time.Since(start).Milliseconds()))
		})
	}
}
