package resolvers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/junctionhq/junction/auth"
	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/internal/testdb"
	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/store"
)

// echoDriver is an API provider whose upstream answers its check with fail
// (when set) and otherwise accepts; it records the bearer header every check
// would send.
type echoDriver struct {
	mu      sync.Mutex
	sent    []string
	fail    func(secret string) *providers.Error
	details func(secret string) map[string]any
}

func (d *echoDriver) Name() string { return "echo" }

func (d *echoDriver) Spec() providers.Spec {
	return providers.Spec{Name: "echo", Label: "Echo", Category: "api", AuthKinds: []string{"api_key"},
		Capabilities: []string{providers.CapVerify, providers.CapFiles},
		Fields: []providers.Field{
			{Name: "base_url", Type: providers.TypeString, Required: true, Target: true},
			{Name: "api_key", Secret: true, Required: true},
			{Name: "user_token", Secret: true},
		}}
}

func (d *echoDriver) Open(ctx context.Context, cfg providers.Config) (providers.Conn, error) {
	return &echoConn{d: d, key: cfg.Secret("api_key")}, nil
}

type echoConn struct {
	d   *echoDriver
	key string
}

func (c *echoConn) Close() error { return nil }

func (c *echoConn) Verify(ctx context.Context, req providers.VerifyRequest) (*providers.VerifyResult, error) {
	c.d.mu.Lock()
	c.d.sent = append(c.d.sent, "Authorization: Bearer "+c.key)
	c.d.mu.Unlock()
	if c.d.fail != nil {
		return nil, c.d.fail(c.key)
	}
	res := &providers.VerifyResult{}
	if c.d.details != nil {
		res.Details = c.d.details(c.key)
	}
	return res, nil
}

func (c *echoConn) ListFiles(ctx context.Context, req providers.ListFilesRequest) (*providers.FilePage, error) {
	c.d.mu.Lock()
	c.d.sent = append(c.d.sent, "Authorization: Bearer "+c.key)
	c.d.mu.Unlock()
	return &providers.FilePage{Path: req.Folder.Path}, nil
}

func (d *echoDriver) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sent)
}

type credEnv struct {
	r   *Resolver
	st  *store.Store
	drv *echoDriver
	ctx context.Context
	who auth.Identity
}

func newCredEnv(t *testing.T, db testdb.DB) *credEnv {
	t.Helper()
	st := testdb.Open(t, db, testdb.NewKey(t))
	u, err := st.EnsureUserToken(context.Background(), "acme", "ann", "ann@example.com", "admin", "tok-"+store.NewID())
	if err != nil {
		t.Fatal(err)
	}
	drv := &echoDriver{}
	r := &Resolver{Store: st, Providers: providers.NewRegistry(drv), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ProviderTimeout: 10 * time.Second}
	who := auth.Identity{TenantID: u.TenantID, UserID: u.ID, Role: "admin"}
	return &credEnv{r: r, st: st, drv: drv, ctx: auth.WithIdentity(context.Background(), who), who: who}
}

func (e *credEnv) create(t *testing.T, name string, secrets map[string]any) *model.Connection {
	t.Helper()
	c, err := e.r.createConnection(e.ctx, CreateInput{Name: name, Provider: "echo",
		Config:      graphql.OmittableOf(map[string]any{"base_url": "https://api.example"}),
		Credentials: graphql.OmittableOf(secrets)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *credEnv) row(t *testing.T, id string) *store.Connection {
	t.Helper()
	c, err := e.st.GetConnection(e.ctx, e.who.TenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestVerifyKeepsNoEcho (issue 9, item 1): an upstream that echoes the
// secret back escaped, entity-encoded or case-changed leaves no form of it
// in verificationError or verificationDetails (returned or stored), and
// only a bounded excerpt of its text is kept.
func TestVerifyKeepsNoEcho(t *testing.T) {
	const secret = "CANARY/SLSH/5678<&ü>"
	echoes := []string{`CANARY\/SLSH\/5678\u003c\u0026\u00fc\u003e`, "canary/slsh/5678<&Ü>", "CANARY/SLSH/5678&lt;&amp;&uuml;&gt;",
		`CANARY%2FSLSH%2F5678%3C%26%C3%BC%3E`, `\u0043\u0041\u004e\u0041\u0052\u0059\u002f\u0053\u004c\u0053\u0048\u002f\u0035\u0036\u0037\u0038\u003c\u0026\u00fc\u003e`}
	forms := append([]string{secret, "CANARY", "canary"}, echoes...)
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newCredEnv(t, db)
		type header struct{ Authorization string }
		e.drv.details = func(key string) map[string]any {
			return map[string]any{"echo": echoes, "header": header{"Bearer " + strings.ToLower(key)}, "body": strings.Repeat("x", 50000)}
		}
		c := e.create(t, "Echo", map[string]any{"api_key": secret})
		got, err := e.r.verifyConnection(e.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.drv.details = nil
		e.drv.fail = func(key string) *providers.Error {
			return providers.Errorf(providers.CodeAuthFailed, "echo: HTTP 401: {\"error\":\"invalid key %s\"} %s %s", strings.Join(echoes, " "), strings.Repeat("y", 5000), echoes[0])
		}
		failed, err := e.r.verifyConnection(e.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		dry, err := e.r.testConnection(e.ctx, model.TestConnectionInput{ConnectionID: graphql.OmittableOf(&c.ID)})
		if err != nil {
			t.Fatal(err)
		}
		stored := e.row(t, c.ID)
		detailsJSON, _ := json.Marshal(got.VerificationDetails)
		storedJSON, _ := json.Marshal(map[string]any{"error": stored.VerificationError, "details": stored.VerificationDetails})
		for name, text := range map[string]string{"details": string(detailsJSON), "error": *failed.VerificationError,
			"dry run": *dry.Error, "stored": string(storedJSON)} {
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("%s keeps %q: %.300s", name, f, text)
				}
			}
		}
		if n := len(*failed.VerificationError); n > providers.MaxMessageBytes {
			t.Errorf("verificationError is %d bytes, over %d", n, providers.MaxMessageBytes)
		}
		if len(detailsJSON) > providers.MaxDetailsBytes {
			t.Errorf("verificationDetails are %d bytes, over %d", len(detailsJSON), providers.MaxDetailsBytes)
		}
	})
}

// spoil damages a connection's stored credentials in one of the ways the
// probe found.
var spoilers = map[string]func(t *testing.T, e *credEnv, c *store.Connection){
	"flipped byte": func(t *testing.T, e *credEnv, c *store.Connection) {
		b := slices.Clone(c.Credentials)
		b[len(b)-3] ^= 1
		e.set(t, c, "credentials = ?", b)
	},
	"swapped blob": func(t *testing.T, e *credEnv, c *store.Connection) {
		other := e.create(t, "Other "+store.NewID()[:8], map[string]any{"api_key": "other-key-1"})
		e.set(t, c, "credentials = ?", e.row(t, other.ID).Credentials)
	},
	"truncated blob": func(t *testing.T, e *credEnv, c *store.Connection) {
		e.set(t, c, "credentials = ?", c.Credentials[:10])
	},
	"unknown key id":           func(t *testing.T, e *credEnv, c *store.Connection) { e.set(t, c, "key_id = ?", "retired-key") },
	"empty blob with a key id": func(t *testing.T, e *credEnv, c *store.Connection) { e.set(t, c, "credentials = ?", []byte{}) },
	"null blob with a key id":  func(t *testing.T, e *credEnv, c *store.Connection) { e.set(t, c, "credentials = NULL") },
	"secret names that do not match": func(t *testing.T, e *credEnv, c *store.Connection) {
		e.set(t, c, "secret_fields = ?", `["api_key","user_token"]`)
	},
}

func (e *credEnv) set(t *testing.T, c *store.Connection, expr string, args ...any) {
	t.Helper()
	if _, err := e.st.DB().NewUpdate().Table("connections").Set(expr, args...).Where("id = ?", c.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestUnreadableCredentials (issue 9, items 17 and 19): a connection whose
// sealed credentials no longer open records a clear verification error
// without calling the provider, refuses an edit that would keep any of them
// (422, naming each secret to send), and is repaired by one that replaces
// them all.
func TestUnreadableCredentials(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for name, spoil := range spoilers {
			t.Run(name, func(t *testing.T) {
				e := newCredEnv(t, db)
				c := e.create(t, "Broken", map[string]any{"api_key": "old-key-1"})
				if _, err := e.r.verifyConnection(e.ctx, c.ID); err != nil {
					t.Fatal(err)
				}
				spoil(t, e, e.row(t, c.ID))
				before := len(e.drv.calls())

				got, err := e.r.verifyConnection(e.ctx, c.ID)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if got.Status != model.ConnectionStatusError || got.VerificationErrorCode == nil || *got.VerificationErrorCode != "invalid_config" ||
					got.VerificationError == nil || *got.VerificationError != "stored credentials cannot be opened; enter them again" {
					t.Fatalf("verify recorded status %s code %v error %v", got.Status, orNil(got.VerificationErrorCode), orNil(got.VerificationError))
				}
				if sent := e.drv.calls()[before:]; len(sent) != 0 {
					t.Fatalf("the provider was called with unreadable credentials: %q", sent)
				}

				// Using it answers the same sentence, as a client error.
				_, err = e.r.ListFiles(e.ctx, c.ID, FilesInput{Path: "/", PageSize: 10})
				if ae, internal := AsError(err); internal || ae.Code != CodeInvalidConfig || ae.Message != "stored credentials cannot be opened; enter them again" {
					t.Fatalf("list files: %v", err)
				}
				if sent := e.drv.calls()[before:]; len(sent) != 0 {
					t.Fatalf("the provider was called with unreadable credentials: %q", sent)
				}

				// A rename needs no secrets.
				renamed, err := e.r.updateConnection(e.ctx, c.ID, UpdateInput{Name: graphql.OmittableOf(credPtr("Broken, renamed"))})
				if err != nil || renamed.Name != "Broken, renamed" {
					t.Fatalf("rename: %v", err)
				}
				// Keeping a secret is refused, naming it.
				_, err = e.r.updateConnection(e.ctx, c.ID, UpdateInput{Credentials: graphql.OmittableOf(map[string]any{"user_token": "t-1"})})
				ae, internal := AsError(err)
				if internal || ae.Code != CodeValidation || len(ae.Fields) != 1 || ae.Fields[0].Type != "missing" ||
					!slices.Equal(ae.Fields[0].Loc, []any{"credentials", "api_key"}) || !strings.Contains(ae.Fields[0].Msg, "cannot be opened") {
					t.Fatalf("partial update: %v (%+v)", err, ae)
				}
				// So is a dry run of the stored connection.
				_, err = e.r.testConnection(e.ctx, model.TestConnectionInput{ConnectionID: graphql.OmittableOf(&c.ID)})
				if ae, internal := AsError(err); internal || ae.Code != CodeValidation {
					t.Fatalf("dry run: %v", err)
				}
				// Every secret the row names, replaced, repairs it.
				edits := map[string]any{"api_key": "new-key-1"}
				if name == "secret names that do not match" {
					edits["user_token"] = nil
				}
				fixed, err := e.r.updateConnection(e.ctx, c.ID, UpdateInput{Credentials: graphql.OmittableOf(edits)})
				if err != nil {
					t.Fatalf("replacing every secret: %v", err)
				}
				if fixed.Status != model.ConnectionStatusNeedsVerification || !slices.Equal(fixed.SecretFieldNames, []string{"api_key"}) {
					t.Fatalf("after repair: status %s secrets %v", fixed.Status, fixed.SecretFieldNames)
				}
				ok, err := e.r.verifyConnection(e.ctx, c.ID)
				if err != nil || ok.Status != model.ConnectionStatusActive {
					t.Fatalf("verify after repair: %v %v", err, ok.Status)
				}
				if sent := e.drv.calls(); sent[len(sent)-1] != "Authorization: Bearer new-key-1" {
					t.Fatalf("sent %q", sent[len(sent)-1])
				}
			})
		}
	})
}

func credPtr[T any](v T) *T { return &v }

func orNil(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
