package sqlserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

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

func base() map[string]any {
	return map[string]any{"host": "db.example", "database": "sales", "user": "reader"}
}

func TestConnParams(t *testing.T) {
	const tricky = `p@ss:w/rd?#&;={}[] %+'"\` + "é"
	tests := []struct {
		name     string
		settings map[string]any
		password string
		check    func(t *testing.T, p msdsn.Config)
	}{
		{
			name: "defaults", settings: base(), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "host", p.Host, "db.example")
				want(t, "port", p.Port, uint64(1433))
				want(t, "database", p.Database, "sales")
				want(t, "user", p.User, "reader")
				want(t, "password", p.Password, "pw")
				want(t, "encryption", p.Encryption, msdsn.EncryptionRequired)
				want(t, "trust", p.TrustServerCertificate, false)
				want(t, "app name", p.AppName, "junction")
				want(t, "protocols", fmt.Sprint(p.Protocols), "[tcp]")
				if p.TLSConfig == nil || p.TLSConfig.InsecureSkipVerify || p.TLSConfig.ServerName != "db.example" {
					t.Errorf("tls config = %+v", p.TLSConfig)
				}
			},
		},
		{
			name: "special characters stay in the password", settings: base(), password: tricky,
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "password", p.Password, tricky)
				want(t, "encryption", p.Encryption, msdsn.EncryptionRequired)
			},
		},
		{
			name: "parameters in a password do not become parameters", settings: base(), password: "x&encrypt=disable&database=master",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "password", p.Password, "x&encrypt=disable&database=master")
				want(t, "encryption", p.Encryption, msdsn.EncryptionRequired)
				want(t, "database", p.Database, "sales")
			},
		},
		{
			name: "odd database and domain user", settings: with(base(), "database", "my db;encrypt=disable", "user", `CORP\reader`), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "database", p.Database, "my db;encrypt=disable")
				want(t, "user", p.User, `CORP\reader`)
				want(t, "encryption", p.Encryption, msdsn.EncryptionRequired)
			},
		},
		{
			name: "named instance asks the browser", settings: with(base(), "instance", "SQLEXPRESS"), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "host", p.Host, "db.example")
				want(t, "instance", p.Instance, "SQLEXPRESS")
				want(t, "port", p.Port, uint64(0))
			},
		},
		{
			name: "named instance with a fixed port", settings: with(base(), "instance", "SALES_01", "port", int64(14330)), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "instance", p.Instance, "SALES_01")
				want(t, "port", p.Port, uint64(14330))
			},
		},
		{
			name: "IPv6 host", settings: with(base(), "host", "[::1]", "port", int64(1500)), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "host", p.Host, "::1")
				want(t, "port", p.Port, uint64(1500))
			},
		},
		{
			name: "encrypt disable", settings: with(base(), "encrypt", "disable"), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "encryption", p.Encryption, msdsn.EncryptionDisabled)
				if p.TLSConfig != nil {
					t.Errorf("tls config set with encrypt=disable")
				}
			},
		},
		{
			name: "encrypt false (login only)", settings: with(base(), "encrypt", "false"), password: "pw",
			check: func(t *testing.T, p msdsn.Config) { want(t, "encryption", p.Encryption, msdsn.EncryptionOff) },
		},
		{
			name: "encrypt strict ignores trust_server_certificate", settings: with(base(), "encrypt", "strict", "trust_server_certificate", true), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "encryption", p.Encryption, msdsn.EncryptionStrict)
				want(t, "trust", p.TrustServerCertificate, false)
			},
		},
		{
			name: "trust server certificate", settings: with(base(), "trust_server_certificate", true), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				want(t, "trust", p.TrustServerCertificate, true)
				if p.TLSConfig == nil || !p.TLSConfig.InsecureSkipVerify {
					t.Errorf("tls config = %+v", p.TLSConfig)
				}
			},
		},
		{
			name: "host name in certificate", settings: with(base(), "host", "10.1.2.3", "host_name_in_certificate", "sales.database.windows.net"), password: "pw",
			check: func(t *testing.T, p msdsn.Config) {
				if p.TLSConfig == nil || p.TLSConfig.ServerName != "sales.database.windows.net" {
					t.Errorf("tls config = %+v", p.TLSConfig)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := providertest.Config(t, Driver{}, tt.settings, map[string]string{"password": tt.password})
			p, err := connParams(cfg)
			if err != nil {
				t.Fatalf("connParams: %v", err)
			}
			tt.check(t, p)
		})
	}
}

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		contains string
	}{
		{"host with a path", with(base(), "host", "db.example/x"), "not a host name"},
		{"host with an instance", with(base(), "host", `db.example\SQLEXPRESS`), "not a host name"},
		{"host with parameters", with(base(), "host", "db.example?encrypt=disable"), "not a host name"},
		{"bad instance", with(base(), "instance", "a/b"), "not a valid instance name"},
		{"port out of range", with(base(), "port", int64(70000)), "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, tt.settings, map[string]string{"password": "pw"}))
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

func openConn(t *testing.T, settings map[string]any, secrets map[string]string, mutate func(*providers.Config)) *conn {
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
	return c.(*conn)
}

func TestClassify(t *testing.T) {
	const secret = "Secr3t-Passw0rd"
	c := openConn(t, base(), map[string]string{"password": secret}, nil)
	login := func(n int32, msg string) error {
		// go-mssqldb returns login errors as an mssql.Error value whose message
		// it prefixes, sometimes wrapped by database/sql.
		return fmt.Errorf("query: %w", mssql.Error{Number: n, Class: 14, Message: "login error: " + msg})
	}
	tests := []struct {
		name      string
		err       error
		code      providers.Code
		retryable bool
		contains  string
	}{
		{"18456 login failed", login(18456, "Login failed for user 'reader'."), providers.CodeAuthFailed, false, "Login failed for user 'reader'.; check the user and password"},
		{"18486 locked out", login(18486, "Login failed for user 'reader' because the account is currently locked out."), providers.CodeAuthFailed, false, "locked out"},
		{"4060 cannot open database", login(4060, `Cannot open database "sales" requested by the login. The login failed.`), providers.CodeNotFound, false, `Cannot open database "sales"`},
		{"229 permission", mssql.Error{Number: 229, Message: "The SELECT permission was denied on the object 'x'."}, providers.CodePermissionDenied, false, "permission denied"},
		{"300 permission", mssql.Error{Number: 300, Message: "VIEW SERVER STATE permission was denied on object 'server'."}, providers.CodePermissionDenied, false, "VIEW SERVER STATE"},
		{"916 no access to database", mssql.Error{Number: 916, Message: `The server principal "reader" is not able to access the database "sales" under the current security context.`}, providers.CodePermissionDenied, false, "not able to access"},
		{"40613 Azure database resuming", login(40613, "Database 'sales' on server 'x' is not currently available."), providers.CodeProviderError, true, "temporarily unavailable"},
		{"40197 service error", mssql.Error{Number: 40197, Message: "The service has encountered an error processing your request."}, providers.CodeProviderError, true, "temporarily unavailable"},
		{"40501 service busy", mssql.Error{Number: 40501, Message: "The service is currently busy."}, providers.CodeRateLimited, true, "throttling"},
		{"other error echoing the password", mssql.Error{Number: 50000, Message: "bad value " + secret}, providers.CodeProviderError, false, "error 50000"},
		{"server error wrapper", mssql.ServerError{}, providers.CodeProviderError, false, "error 0"},
		{"TLS handshake", errors.New("TLS Handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"), providers.CodeTLSError, false, "certificate signed by unknown authority"},
		{"no encryption", errors.New("server does not support encryption"), providers.CodeTLSError, false, "does not support encryption"},
		{"dial refused", fmt.Errorf("unable to open tcp connection with host 'db.example:1433': %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}), providers.CodeUnreachable, false, "db.example:1433"},
		{"blocked", fmt.Errorf("unable to open tcp connection: %w", providers.ErrBlockedAddress), providers.CodeBlockedAddress, false, "blocked"},
		{"unknown error echoing the password", errors.New("weird failure " + secret), providers.CodeProviderError, false, "weird failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := c.classify(context.Background(), tt.err)
			if e.Code != tt.code || e.Retryable != tt.retryable {
				t.Fatalf("got %s retryable=%v (%s), want %s retryable=%v", e.Code, e.Retryable, e.Message, tt.code, tt.retryable)
			}
			if !strings.Contains(e.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", e.Message, tt.contains)
			}
			if strings.Contains(e.Message, secret) {
				t.Errorf("message leaks the password: %q", e.Message)
			}
		})
	}
}

func tcpListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func drain(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func local(port int64) map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": port, "database": "sales", "user": "reader"}
}

// These go through the real driver up to the wire.
func TestVerifyThroughDriver(t *testing.T) {
	secrets := map[string]string{"password": "pw-123456"}

	t.Run("closed port is unreachable", func(t *testing.T) {
		ln := tcpListener(t)
		port := int64(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		c := openConn(t, local(port), secrets, nil)
		_, err := c.Verify(context.Background(), providers.VerifyRequest{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeUnreachable {
			t.Fatalf("got %v, want unreachable", err)
		}
		if !strings.Contains(pe.Message, fmt.Sprintf("127.0.0.1:%d", port)) {
			t.Errorf("message %q does not name the address", pe.Message)
		}
	})

	t.Run("silent server times out", func(t *testing.T) {
		port := providertest.Serve(t, tcpListener(t), drain)
		c := openConn(t, local(port), secrets, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := c.Verify(ctx, providers.VerifyRequest{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeTimeout {
			t.Fatalf("got %v, want timeout", err)
		}
	})

	t.Run("strict encryption against an untrusted certificate", func(t *testing.T) {
		ln := tls.NewListener(tcpListener(t), &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: []string{"tds/8.0"}})
		port := providertest.Serve(t, ln, func(c net.Conn) { c.(*tls.Conn).Handshake(); drain(c) })
		c := openConn(t, with(local(port), "encrypt", "strict"), secrets, nil)
		_, err := c.Verify(context.Background(), providers.VerifyRequest{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeTLSError {
			t.Fatalf("got %v, want tls_error", err)
		}
	})

	t.Run("a named instance on a blocked host is blocked_address, not not_found", func(t *testing.T) {
		var mu sync.Mutex
		var dialed []string
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, network+" "+addr)
			mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%s: %w", addr, providers.ErrBlockedAddress)}
		}
		settings := with(with(local(1433), "host", "127.0.0.1"), "instance", "SQLEXPRESS")
		delete(settings, "port")
		for _, call := range []struct {
			name string
			run  func(c *conn) error
		}{
			{"verify", func(c *conn) error {
				_, err := c.Verify(context.Background(), providers.VerifyRequest{})
				return err
			}},
			{"tables", func(c *conn) error {
				_, err := c.ListTables(context.Background(), providers.ListTablesRequest{})
				return err
			}},
		} {
			t.Run(call.name, func(t *testing.T) {
				c := openConn(t, settings, secrets, func(c *providers.Config) { c.Dial = dial })
				err := call.run(c)
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Code != providers.CodeBlockedAddress {
					t.Fatalf("got %v, want blocked_address", err)
				}
				if !strings.Contains(pe.Message, "1434") {
					t.Errorf("message %q does not say the SQL Server Browser was refused", pe.Message)
				}
			})
		}
		mu.Lock()
		defer mu.Unlock()
		if len(dialed) == 0 || dialed[0] != "udp 127.0.0.1:1434" {
			t.Errorf("dialed %v, want the SQL Server Browser first", dialed)
		}
	})

	t.Run("dials TCP through the configured dialer", func(t *testing.T) {
		var mu sync.Mutex
		var dialed []string
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, network+" "+addr)
			mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%s: %w", addr, providers.ErrBlockedAddress)}
		}
		c := openConn(t, with(local(1433), "host", "10.9.8.7"), secrets, func(c *providers.Config) { c.Dial = dial })
		_, err := c.Verify(context.Background(), providers.VerifyRequest{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeBlockedAddress {
			t.Fatalf("got %v, want blocked_address", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(dialed) == 0 || dialed[0] != "tcp 10.9.8.7:1433" {
			t.Errorf("dialed %v", dialed)
		}
	})
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test sqlserver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// liveSettings are the settings and password of JUNCTION_TEST_SQLSERVER_URL
// (sqlserver://user:password@host:port?database=db&encrypt=...); the test is
// skipped without it.
func liveSettings(t *testing.T) (map[string]any, string) {
	t.Helper()
	u := os.Getenv("JUNCTION_TEST_SQLSERVER_URL")
	if u == "" {
		t.Skip("JUNCTION_TEST_SQLSERVER_URL is not set; set it to sqlserver://user:password@host:1433?database=db&encrypt=true&TrustServerCertificate=true to run against a real SQL Server")
	}
	p, err := msdsn.Parse(u)
	if err != nil {
		t.Fatalf("JUNCTION_TEST_SQLSERVER_URL: %v", err)
	}
	settings := map[string]any{
		"host": p.Host, "database": p.Database, "user": p.User,
		"encrypt":                  map[msdsn.Encryption]string{msdsn.EncryptionDisabled: "disable", msdsn.EncryptionOff: "false", msdsn.EncryptionRequired: "true", msdsn.EncryptionStrict: "strict"}[p.Encryption],
		"trust_server_certificate": p.TrustServerCertificate,
	}
	if p.Port != 0 {
		settings["port"] = int64(p.Port)
	}
	if p.Instance != "" {
		settings["instance"] = p.Instance
	}
	if p.Database == "" {
		settings["database"] = "master"
	}
	return settings, p.Password
}

// TestVerifyLive runs against a real SQL Server when JUNCTION_TEST_SQLSERVER_URL
// is set.
func TestVerifyLive(t *testing.T) {
	settings, password := liveSettings(t)
	t.Run("good", func(t *testing.T) {
		c := openConn(t, settings, map[string]string{"password": password}, nil)
		res, err := c.Verify(context.Background(), providers.VerifyRequest{})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if v, _ := res.Details["version"].(string); !strings.Contains(v, "SQL Server") {
			t.Errorf("details = %v", res.Details)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := openConn(t, settings, map[string]string{"password": "wrong-password-123"}, nil)
		_, err := c.Verify(context.Background(), providers.VerifyRequest{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeAuthFailed {
			t.Fatalf("got %v, want auth_failed", err)
		}
	})
	t.Run("unknown database", func(t *testing.T) {
		c := openConn(t, with(settings, "database", "no_such_db_junction"), map[string]string{"password": password}, nil)
		_, err := c.Verify(context.Background(), providers.VerifyRequest{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeNotFound {
			t.Fatalf("got %v, want not_found", err)
		}
	})
}

// tdsLogin is what a fake SQL Server expects in LOGIN7; force, when not 0,
// makes it answer that error number whatever was sent.
type tdsLogin struct {
	user, password, database string
	force                    int32
	forceMessage             string
}

// fakeTDS is a minimal SQL Server on the wire. It answers PRELOGIN with the
// given encryption byte (2 = not supported), decodes LOGIN7 (user, the
// obfuscated password, database, app name) and rejects it as a real server
// does (18456 for a wrong user or password, 4060 for another database), or
// acknowledges it and answers the one query with a row.
func fakeTDS(t *testing.T, encrypt byte, want tdsLogin) int64 {
	return providertest.Serve(t, tcpListener(t), func(c net.Conn) {
		if typ, _, err := readPacket(c); err != nil || typ != 0x12 { // PRELOGIN
			return
		}
		// Options: VERSION (6 bytes) and ENCRYPTION (1 byte), then the terminator.
		pre := []byte{0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xFF, 16, 0, 0, 0, 0, 0, encrypt}
		c.Write(packet(0x04, pre))
		typ, login, err := readPacket(c)
		if err != nil || typ != 0x10 { // LOGIN7
			return
		}
		user, password, database, app := loginField(login, 40, false), loginField(login, 44, true), loginField(login, 68, false), loginField(login, 48, false)
		switch {
		case want.force != 0:
			c.Write(packet(0x04, errorToken(want.force, want.forceMessage)))
		case user != want.user || password != want.password:
			c.Write(packet(0x04, errorToken(18456, fmt.Sprintf("Login failed for user '%s'.", user))))
		case database != want.database:
			c.Write(packet(0x04, errorToken(4060, fmt.Sprintf("Cannot open database \"%s\" requested by the login. The login failed.", database))))
		case app != "junction":
			c.Write(packet(0x04, errorToken(50000, "unexpected app name "+app)))
		default:
			c.Write(packet(0x04, loginAck()))
			// Answer the verify batch, and the attention go-mssqldb may send
			// while closing its rows.
			serveRequests(c, func(req tdsRequest) []byte {
				if req.rpc || !strings.Contains(req.sql, "SELECT @@VERSION") {
					return errorToken(50000, "fake: unexpected request "+req.sql)
				}
				cols := []string{"Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)\n\tOct  8 2022 05:58:25", database, user, "16.0.1000.6", "Developer Edition (64-bit)"}
				res := binary.LittleEndian.AppendUint16([]byte{0x81}, uint16(len(cols))) // COLMETADATA
				for range cols {
					res = append(res, 0, 0, 0, 0, 0x01, 0x00, 0xE7, 0x00, 0x01, 0x09, 0x04, 0xD0, 0x00, 0x34, 0) // nvarchar(128), no name
				}
				res = append(res, 0xD1) // ROW
				for _, v := range cols {
					u := ucs2(v)
					res = binary.LittleEndian.AppendUint16(res, uint16(len(u)))
					res = append(res, u...)
				}
				return append(res, done(0x10)...)
			}, nil)
			return
		}
		drain(c)
	})
}

// loginField reads the UCS-2 field whose offset/length pair is at off in a
// LOGIN7 message, undoing the password obfuscation when asked.
func loginField(login []byte, off int, obfuscated bool) string {
	if len(login) < off+4 {
		return ""
	}
	start, n := int(binary.LittleEndian.Uint16(login[off:])), int(binary.LittleEndian.Uint16(login[off+2:]))
	if len(login) < start+2*n {
		return ""
	}
	b := append([]byte(nil), login[start:start+2*n]...)
	if obfuscated {
		for i := range b {
			x := b[i] ^ 0xA5
			b[i] = x<<4 | x>>4
		}
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func ucs2(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func errorToken(number int32, message string) []byte {
	body := binary.LittleEndian.AppendUint32(nil, uint32(number))
	body = append(body, 1, 14) // state, class
	msg := ucs2(message)
	body = binary.LittleEndian.AppendUint16(body, uint16(len(msg)/2))
	body = append(body, msg...)
	body = append(body, 0, 0)                        // server name, proc name (empty)
	body = binary.LittleEndian.AppendUint32(body, 1) // line
	tok := binary.LittleEndian.AppendUint16([]byte{0xAA}, uint16(len(body)))
	tok = append(tok, body...)
	return append(tok, done(0x02)...) // DONE_ERROR
}

func done(status uint16) []byte {
	return append(binary.LittleEndian.AppendUint16([]byte{0xFD}, status), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

func packet(typ byte, payload []byte) []byte {
	b := []byte{typ, 0x01, 0, 0, 0, 0, 1, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(8+len(payload)))
	return append(b, payload...)
}

// readPacket reads one TDS message (packets up to the end-of-message flag).
func readPacket(r io.Reader) (byte, []byte, error) {
	var payload []byte
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, nil, err
		}
		body := make([]byte, int(binary.BigEndian.Uint16(h[2:]))-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return 0, nil, err
		}
		payload = append(payload, body...)
		if h[1]&0x01 != 0 {
			return h[0], payload, nil
		}
	}
}

func TestVerifyFakeServer(t *testing.T) {
	const password = `pw-98765&encrypt=disable;x`
	good := tdsLogin{user: "reader", password: password, database: "sales"}
	tests := []struct {
		name     string
		encrypt  string
		server   byte
		login    tdsLogin
		password string
		database string
		code     providers.Code // "" means success
		contains string
	}{
		{name: "good", encrypt: "disable", server: 2, login: good, password: password, database: "sales"},
		{name: "login-only encryption refused by server falls back to none", encrypt: "false", server: 2, login: good, password: password, database: "sales"},
		{"wrong password", "disable", 2, good, "wrong-password-123", "sales", providers.CodeAuthFailed, "sqlserver: Login failed for user 'reader'.; check the user and password"},
		{"unknown database", "disable", 2, good, password, "nosuchdb", providers.CodeNotFound, `Cannot open database "nosuchdb"`},
		{"Azure database resuming", "disable", 2, tdsLogin{force: 40613, forceMessage: "Database 'sales' on server 'x' is not currently available."}, password, "sales", providers.CodeProviderError, "temporarily unavailable"},
		{"server echoes the password", "disable", 2, tdsLogin{force: 50000, forceMessage: "nope " + password}, password, "sales", providers.CodeProviderError, "error 50000"},
		{"encrypt=true against a server without TLS", "true", 2, good, password, "sales", providers.CodeTLSError, "does not support encryption"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := fakeTDS(t, tt.server, tt.login)
			c := openConn(t, with(local(port), "encrypt", tt.encrypt, "database", tt.database), map[string]string{"password": tt.password}, nil)
			res, err := c.Verify(context.Background(), providers.VerifyRequest{})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				d := res.Details
				if d["version"] != "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)" || d["server_version"] != "16.0.1000.6" ||
					d["database"] != "sales" || d["user"] != "reader" || d["edition"] != "Developer Edition (64-bit)" {
					t.Errorf("details = %v", d)
				}
				return
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			if !strings.Contains(pe.Message, tt.contains) {
				t.Errorf("message %q does not contain %q", pe.Message, tt.contains)
			}
			if strings.Contains(pe.Message, tt.password) {
				t.Errorf("message leaks the password: %q", pe.Message)
			}
		})
	}
}
