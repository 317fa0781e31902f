package postgres

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

// testDB returns the settings of the PostgreSQL named by
// JUNCTION_TEST_DATABASE_URL, skipping (or failing, when
// JUNCTION_TEST_REQUIRE_POSTGRES=1) when it is not set.
func testDB(t *testing.T) (settings map[string]any, password string, dsn string) {
	t.Helper()
	return testDBTB(t)
}

// testDBTB is testDB for tests and benchmarks.
func testDBTB(t testing.TB) (settings map[string]any, password string, dsn string) {
	t.Helper()
	dsn = os.Getenv("JUNCTION_TEST_DATABASE_URL")
	if dsn == "" {
		msg := "JUNCTION_TEST_DATABASE_URL is not set; set it to a PostgreSQL URL " +
			"(e.g. postgres://junction:junction@127.0.0.1:5432/junction_test?sslmode=disable) to run this test"
		if os.Getenv("JUNCTION_TEST_REQUIRE_POSTGRES") == "1" {
			t.Fatal(msg + " (JUNCTION_TEST_REQUIRE_POSTGRES=1 makes this a failure)")
		}
		t.Skip(msg)
	}
	pc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("JUNCTION_TEST_DATABASE_URL: %v", err)
	}
	if super, err := testRoleIsSuperuser(dsn); err != nil {
		t.Fatalf("JUNCTION_TEST_DATABASE_URL: %v", err)
	} else if !super {
		t.Skip("this package's real-server tests need a SUPERUSER test role (they create roles, foreign-data wrappers " +
			"and tables in public, and the query guard's corpus must face only Junction's guards); " +
			"JUNCTION_TEST_DATABASE_URL's role is not one (the store and API tests need only CREATE on the database)")
	}
	return map[string]any{
		"host":     pc.Host,
		"port":     int64(pc.Port),
		"database": pc.Database,
		"user":     pc.User,
		"sslmode":  "disable",
	}, pc.Password, dsn
}

var superuser struct {
	once sync.Once
	yes  bool
	err  error
}

// testRoleIsSuperuser reports, once per process, whether the role of dsn
// is a superuser.
func testRoleIsSuperuser(dsn string) (bool, error) {
	superuser.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			superuser.err = err
			return
		}
		defer c.Close(ctx)
		superuser.err = c.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&superuser.yes)
	})
	return superuser.yes, superuser.err
}

func with(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// verify opens a conn for settings and secrets (mutate may adjust the Config)
// and runs Verify under ctx.
func verify(t *testing.T, ctx context.Context, settings map[string]any, secrets map[string]string, mutate func(*providers.Config)) (*providers.VerifyResult, *providers.Error) {
	t.Helper()
	cfg := providertest.Config(t, Driver{}, settings, secrets)
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := Driver{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
	if err == nil {
		return res, nil
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("verify returned %T %v, want *providers.Error", err, err)
	}
	return nil, pe
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func TestVerifyRealServer(t *testing.T) {
	base, password, dsn := testDB(t)
	secrets := map[string]string{"password": password}

	// A role that exists and has a password but may not log in: the server
	// answers 28000 after authentication.
	nologin := randomName("junction_nologin_")
	admin, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect as admin: %v", err)
	}
	// Closed after the role is dropped (cleanups run last-registered first;
	// a deferred Close ran before them, so the role was never dropped).
	t.Cleanup(func() { admin.Close(context.Background()) })
	if _, err := admin.Exec(context.Background(), fmt.Sprintf("CREATE ROLE %s NOLOGIN PASSWORD 'nologin-pw-1'", nologin)); err != nil {
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+nologin) })

	tests := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		code     providers.Code // "" means success
		contains []string
		absent   []string
	}{
		{name: "good settings", settings: base, secrets: secrets},
		{name: "prefer falls back to plain text", settings: with(base, "sslmode", "prefer"), secrets: secrets},
		{
			name: "wrong password", settings: base, secrets: map[string]string{"password": "wrong-password-123"},
			code:     providers.CodeAuthFailed,
			contains: []string{`password authentication failed for user "` + base["user"].(string) + `"`, "check the user and password"},
			absent:   []string{"wrong-password-123"},
		},
		{
			name: "unknown database", settings: with(base, "database", "no_such_db_here"), secrets: secrets,
			code: providers.CodeNotFound, contains: []string{`database "no_such_db_here" does not exist`},
		},
		{
			// A connection-string fragment in a field stays a plain value.
			name: "injection attempt in database name", settings: with(base, "database", "junction_test user=postgres sslmode=disable"), secrets: secrets,
			code: providers.CodeNotFound, contains: []string{"does not exist"},
		},
		{
			name: "sslmode require against a server without TLS", settings: with(base, "sslmode", "require"), secrets: secrets,
			code: providers.CodeTLSError, contains: []string{"does not accept TLS"},
		},
		{
			name: "role may not log in", settings: with(base, "user", nologin), secrets: map[string]string{"password": "nologin-pw-1"},
			code: providers.CodePermissionDenied, contains: []string{"not permitted to log in"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, perr := verify(t, context.Background(), tt.settings, tt.secrets, nil)
			if tt.code == "" {
				if perr != nil {
					t.Fatalf("verify: %s: %s", perr.Code, perr.Message)
				}
				d := res.Details
				if v, _ := d["server_version"].(string); v == "" {
					t.Errorf("server_version missing: %v", d)
				}
				if v, _ := d["version"].(string); !strings.HasPrefix(v, "PostgreSQL") {
					t.Errorf("version = %q", v)
				}
				if d["database"] != tt.settings["database"] || d["user"] != tt.settings["user"] || d["ssl"] != false {
					t.Errorf("details = %v", d)
				}
				return
			}
			if perr == nil {
				t.Fatalf("verify succeeded, want %s", tt.code)
			}
			if perr.Code != tt.code {
				t.Fatalf("code = %s (%s), want %s", perr.Code, perr.Message, tt.code)
			}
			for _, s := range tt.contains {
				if !strings.Contains(perr.Message, s) {
					t.Errorf("message %q does not contain %q", perr.Message, s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(perr.Message, s) {
					t.Errorf("message %q contains secret %q", perr.Message, s)
				}
			}
		})
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int64 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return int64(port)
}

// fakeServer answers every startup message with one FATAL error.
func fakeServer(t *testing.T, code, message string) int64 {
	return providertest.Listen(t, func(c net.Conn) {
		be := pgproto3.NewBackend(c, c)
		for {
			msg, err := be.ReceiveStartupMessage()
			if err != nil {
				return
			}
			if _, ok := msg.(*pgproto3.SSLRequest); ok {
				c.Write([]byte("N"))
				continue
			}
			be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: code, Message: message})
			be.Flush()
			return
		}
	})
}

func local(port int64) map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": port, "database": "app", "user": "bob", "sslmode": "disable"}
}

func TestVerifyServerErrors(t *testing.T) {
	const secret = "leaky-password-42"
	tests := []struct {
		sqlstate, message string
		code              providers.Code
		retryable         bool
		contains          string
	}{
		{"28P01", `password authentication failed for user "bob"`, providers.CodeAuthFailed, false, `password authentication failed for user "bob"; check the user and password`},
		{"28000", `no pg_hba.conf entry for host "10.0.0.1", user "bob", database "app", no encryption`, providers.CodePermissionDenied, false, "pg_hba.conf"},
		{"3D000", `database "app" does not exist`, providers.CodeNotFound, false, `database "app" does not exist; check the database name`},
		{"42501", `permission denied for database "app"`, providers.CodePermissionDenied, false, "permission denied"},
		{"53300", `sorry, too many clients already`, providers.CodeRateLimited, true, "too many clients"},
		{"57P03", `the database system is starting up`, providers.CodeProviderError, true, "starting up"},
		// The upstream echoes the password: the message must not carry it.
		{"XX000", "internal error while checking " + secret, providers.CodeProviderError, false, "SQLSTATE XX000"},
	}
	for _, tt := range tests {
		t.Run(tt.sqlstate, func(t *testing.T) {
			port := fakeServer(t, tt.sqlstate, tt.message)
			_, perr := verify(t, context.Background(), local(port), map[string]string{"password": secret}, nil)
			if perr == nil {
				t.Fatal("verify succeeded")
			}
			if perr.Code != tt.code || perr.Retryable != tt.retryable {
				t.Fatalf("got %s retryable=%v (%s), want %s retryable=%v", perr.Code, perr.Retryable, perr.Message, tt.code, tt.retryable)
			}
			if !strings.Contains(perr.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", perr.Message, tt.contains)
			}
			if strings.Contains(perr.Message, secret) {
				t.Errorf("message leaks the password: %q", perr.Message)
			}
		})
	}
}

func TestVerifyNetworkErrors(t *testing.T) {
	t.Run("closed port is unreachable", func(t *testing.T) {
		port := closedPort(t)
		_, perr := verify(t, context.Background(), local(port), map[string]string{"password": "pw-123456"}, nil)
		if perr == nil || perr.Code != providers.CodeUnreachable {
			t.Fatalf("got %+v, want unreachable", perr)
		}
		if !strings.Contains(perr.Message, fmt.Sprintf("127.0.0.1:%d", port)) {
			t.Errorf("message %q does not name the address", perr.Message)
		}
	})
	t.Run("silent server times out", func(t *testing.T) {
		port := providertest.Listen(t, func(c net.Conn) {
			buf := make([]byte, 1024)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, perr := verify(t, ctx, local(port), map[string]string{"password": "pw-123456"}, nil)
		if perr == nil || perr.Code != providers.CodeTimeout {
			t.Fatalf("got %+v, want timeout", perr)
		}
	})
	t.Run("dials through the configured dialer", func(t *testing.T) {
		var dialed []string
		var mu sync.Mutex
		block := func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, addr)
			mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%s: %w", addr, providers.ErrBlockedAddress)}
		}
		_, perr := verify(t, context.Background(), with(local(5432), "host", "10.9.8.7"), nil,
			func(c *providers.Config) { c.Dial = block })
		if perr == nil || perr.Code != providers.CodeBlockedAddress {
			t.Fatalf("got %+v, want blocked_address", perr)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(dialed) == 0 || dialed[0] != "10.9.8.7:5432" {
			t.Errorf("dialed %v", dialed)
		}
	})
}

func TestOpenInvalidConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		contains string
	}{
		{"unix socket path", with(local(5432), "host", "/var/run/postgresql"), "not a host name"},
		{"several hosts", with(local(5432), "host", "a.example,b.example"), "not a host name"},
		{"port out of range", with(local(5432), "port", int64(70000)), "out of range"},
		{"sslrootcert not PEM", with(local(5432), "sslmode", "verify-full", "sslrootcert", "not a certificate"), "sslrootcert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, tt.settings, nil))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != providers.CodeInvalidConfig {
				t.Fatalf("open: %v, want invalid_config", err)
			}
			if !strings.Contains(pe.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", pe.Message, tt.contains)
			}
		})
	}
}

func TestTLSModes(t *testing.T) {
	tests := []struct {
		mode     string
		attempts []string // "plain", "insecure", "verify-ca", "verify-full"
	}{
		{"disable", []string{"plain"}},
		{"allow", []string{"plain", "insecure"}},
		{"prefer", []string{"insecure", "plain"}},
		{"require", []string{"insecure"}},
		{"verify-ca", []string{"verify-ca"}},
		{"verify-full", []string{"verify-full"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			got, err := tlsConfigs(tt.mode, "", "db.example")
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, c := range got {
				switch {
				case c == nil:
					kinds = append(kinds, "plain")
				case c.VerifyPeerCertificate != nil:
					kinds = append(kinds, "verify-ca")
				case c.InsecureSkipVerify:
					kinds = append(kinds, "insecure")
				default:
					if c.ServerName != "db.example" {
						t.Errorf("verify-full ServerName = %q", c.ServerName)
					}
					kinds = append(kinds, "verify-full")
				}
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tt.attempts) {
				t.Errorf("attempts = %v, want %v", kinds, tt.attempts)
			}
		})
	}
}

// selfSigned returns a TLS certificate valid for 127.0.0.1 and its PEM, which
// doubles as the root to trust.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test postgres"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// tlsFakeServer accepts TLS and then answers the startup message with 28P01,
// so a test can tell "TLS worked" (auth_failed) from "TLS failed" (tls_error).
func tlsFakeServer(t *testing.T, cert tls.Certificate) int64 {
	return providertest.Listen(t, func(c net.Conn) {
		be := pgproto3.NewBackend(c, c)
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		if _, ok := msg.(*pgproto3.SSLRequest); !ok {
			return
		}
		c.Write([]byte("S"))
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err := tc.Handshake(); err != nil {
			return
		}
		be = pgproto3.NewBackend(tc, tc)
		if _, err := be.ReceiveStartupMessage(); err != nil {
			return
		}
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "bob"`})
		be.Flush()
	})
}

func TestVerifyTLS(t *testing.T) {
	cert, certPEM := selfSigned(t)
	_, otherPEM := selfSigned(t)
	port := tlsFakeServer(t, cert)
	tests := []struct {
		name     string
		settings map[string]any
		code     providers.Code
		contains string
	}{
		{"require without root accepts any certificate", with(local(port), "sslmode", "require"), providers.CodeAuthFailed, ""},
		{"verify-full with the server's root", with(local(port), "sslmode", "verify-full", "sslrootcert", certPEM), providers.CodeAuthFailed, ""},
		{"verify-full with another root", with(local(port), "sslmode", "verify-full", "sslrootcert", otherPEM), providers.CodeTLSError, "unknown authority"},
		{"verify-ca with another root", with(local(port), "sslmode", "verify-ca", "sslrootcert", otherPEM), providers.CodeTLSError, "unknown authority"},
		{"require with another root acts as verify-ca", with(local(port), "sslmode", "require", "sslrootcert", otherPEM), providers.CodeTLSError, "unknown authority"},
		{"verify-ca ignores the host name", with(local(port), "host", "localhost", "sslmode", "verify-ca", "sslrootcert", certPEM), providers.CodeAuthFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := verify(t, context.Background(), tt.settings, map[string]string{"password": "pw-123456"}, nil)
			if perr == nil || perr.Code != tt.code {
				t.Fatalf("got %+v, want %s", perr, tt.code)
			}
			if !strings.Contains(perr.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", perr.Message, tt.contains)
			}
		})
	}
}
