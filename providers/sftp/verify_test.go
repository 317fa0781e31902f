package sftp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/junctionhq/junction/providers"
	"github.com/junctionhq/junction/providers/providertest"
)

const (
	user     = "alice"
	password = "correct-horse-battery"
)

// server is an in-process SSH server on loopback whose "sftp" subsystem is
// pkg/sftp's request server over an in-memory file system holding /data
// (a folder), /data/report.csv and /secret (a folder alice may not read).
type server struct {
	addr    string
	hostKey ssh.PublicKey
	// clientKey is the public key alice may log in with.
	clientKey ssh.PublicKey
	// sftpOff makes the server refuse the sftp subsystem.
	sftpOff bool
	// authAttempts counts password and public key attempts.
	authAttempts atomic.Int32
	// osFS serves the real file system (pkg/sftp's Server: absolute paths,
	// real symlinks) instead of the in-memory one.
	osFS bool
	// stall, when set, makes the in-memory server hold requests for /stall
	// until it is closed.
	stall chan struct{}
	// logins counts completed SSH handshakes.
	logins atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
}

// dropConns closes every connection accepted so far, as a server restart
// or a network failure does.
func (s *server) dropConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// denyLister refuses every listing or stat under one path, as a server does
// for a folder the user may not read.
type denyLister struct {
	sftp.FileLister
	path string
	// stall, when set, holds every request for /stall until it is closed.
	stall chan struct{}
}

func (d denyLister) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	if d.stall != nil && r.Filepath == "/stall" {
		<-d.stall
	}
	if r.Filepath == d.path || strings.HasPrefix(r.Filepath, d.path+"/") {
		// What an OS-backed server sends for a folder it may not read.
		return nil, &os.PathError{Op: "stat", Path: r.Filepath, Err: syscall.EACCES}
	}
	return d.FileLister.Filelist(r)
}

func startServer(t *testing.T, hostKeys ...ssh.Signer) *server {
	t.Helper()
	return start(t, &server{}, hostKeys...)
}

// startOSServer starts a server whose SFTP subsystem serves the real file
// system, for tests on a temporary folder with real symlinks.
func startOSServer(t *testing.T) *server {
	t.Helper()
	return start(t, &server{osFS: true})
}

func start(t *testing.T, s *server, hostKeys ...ssh.Signer) *server {
	t.Helper()
	if len(hostKeys) == 0 {
		hostKeys = []ssh.Signer{ed25519Signer(t)}
	}
	s.hostKey = hostKeys[0].PublicKey()
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.authAttempts.Add(1)
			if c.User() == user && string(pw) == password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.authAttempts.Add(1)
			if c.User() == user && s.clientKey != nil && bytes.Equal(key.Marshal(), s.clientKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
		ServerVersion: "SSH-2.0-JunctionTestSFTP_1.0",
	}
	for _, k := range hostKeys {
		cfg.AddHostKey(k)
	}

	handlers := sftp.InMemHandler()
	for _, dir := range []string{"/data", "/secret"} {
		if err := handlers.FileCmd.Filecmd(sftp.NewRequest("Mkdir", dir)); err != nil {
			t.Fatal(err)
		}
	}
	handlers.FileList = denyLister{FileLister: handlers.FileList, path: "/secret", stall: s.stall}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, nc)
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(nc, cfg, handlers)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.dropConns()
		wg.Wait()
	})
	return s
}

func (s *server) serve(nc net.Conn, cfg *ssh.ServerConfig, handlers sftp.Handlers) {
	defer nc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	s.logins.Add(1)
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ch.Close()
			for req := range creqs {
				ok := !s.sftpOff && req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if ok && s.osFS {
					fs, err := sftp.NewServer(ch)
					if err != nil {
						return
					}
					fs.Serve()
					fs.Close()
					return
				}
				if ok {
					rs := sftp.NewRequestServer(ch, handlers)
					rs.Serve()
					rs.Close()
					return
				}
			}
		}()
	}
}

func ed25519Signer(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *server) settings(kv ...any) map[string]any {
	host, port, _ := net.SplitHostPort(s.addr)
	var p int64
	fmt.Sscan(port, &p)
	out := map[string]any{
		"host": host, "port": p, "username": user, "auth_method": "password",
		"host_key_fingerprint": ssh.FingerprintSHA256(s.hostKey), "base_path": "/data",
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func verify(t *testing.T, ctx context.Context, settings map[string]any, secrets map[string]string) (*providers.VerifyResult, *providers.Error) {
	t.Helper()
	c := providertest.Open(t, Driver{}, settings, secrets)
	res, err := c.(providers.Verifier).Verify(ctx, providers.VerifyRequest{})
	if err == nil {
		return res, nil
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("verify returned %T %v", err, err)
	}
	return nil, pe
}

var encrypted struct {
	once sync.Once
	pem  string
	pub  ssh.PublicKey
}

// encryptedKeyPEM returns one key encrypted with "open sesame", made once:
// the OpenSSH format's bcrypt KDF is deliberately slow.
func encryptedKeyPEM(t *testing.T) (string, ssh.PublicKey) {
	encrypted.once.Do(func() { encrypted.pem, encrypted.pub = clientKeyPEM(t, "open sesame") })
	return encrypted.pem, encrypted.pub
}

// clientKeyPEM returns a new ed25519 key as OpenSSH PEM (encrypted with
// passphrase when it is not empty) and its public key.
func clientKeyPEM(t *testing.T, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test key")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test key", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), sshPub
}

func TestVerify(t *testing.T) {
	s := startServer(t)
	keyPEM, keyPub := clientKeyPEM(t, "")
	encPEM, encPub := encryptedKeyPEM(t)
	otherKey := ed25519Signer(t).PublicKey()
	knownHosts := "sftp.example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.hostKey)))

	tests := []struct {
		name      string
		clientKey ssh.PublicKey
		settings  map[string]any
		secrets   map[string]string
		code      providers.Code // "" means success
		contains  []string
	}{
		{name: "password", settings: s.settings(), secrets: map[string]string{"password": password}},
		{name: "pinned by a known_hosts line", settings: s.settings("host_key_fingerprint", knownHosts), secrets: map[string]string{"password": password}},
		{name: "pinned by a bare public key", settings: s.settings("host_key_fingerprint", string(ssh.MarshalAuthorizedKey(s.hostKey))), secrets: map[string]string{"password": password}},
		{
			name: "private key", clientKey: keyPub,
			settings: s.settings("auth_method", "private_key"), secrets: map[string]string{"private_key_pem": keyPEM},
		},
		{
			name: "encrypted private key", clientKey: encPub,
			settings: s.settings("auth_method", "private_key"), secrets: map[string]string{"private_key_pem": encPEM, "passphrase": "open sesame"},
		},
		{
			name: "wrong password", settings: s.settings(), secrets: map[string]string{"password": "wrong-password-1"},
			code: providers.CodeAuthFailed, contains: []string{`rejected the password for user "alice"`},
		},
		{
			name: "unknown private key", clientKey: otherKey,
			settings: s.settings("auth_method", "private_key"), secrets: map[string]string{"private_key_pem": keyPEM},
			code: providers.CodeAuthFailed, contains: []string{"rejected the private key"},
		},
		{
			name: "host key mismatch", settings: s.settings("host_key_fingerprint", ssh.FingerprintSHA256(otherKey)), secrets: map[string]string{"password": password},
			code:     providers.CodeInvalidConfig,
			contains: []string{"host key mismatch: the server presented " + ssh.FingerprintSHA256(s.hostKey) + " (ssh-ed25519), expected " + ssh.FingerprintSHA256(otherKey)},
		},
		{
			name: "no pin", settings: s.settings("host_key_fingerprint", ""), secrets: map[string]string{"password": password},
			code:     providers.CodeInvalidConfig,
			contains: []string{"no host key is pinned", "the server presented " + ssh.FingerprintSHA256(s.hostKey)},
		},
		{
			name: "missing base path", settings: s.settings("base_path", "/nope"), secrets: map[string]string{"password": password},
			code: providers.CodeNotFound, contains: []string{`base_path "/nope" does not exist`},
		},
		{
			name: "unreadable base path", settings: s.settings("base_path", "/secret"), secrets: map[string]string{"password": password},
			code: providers.CodePermissionDenied, contains: []string{`may not read base_path "/secret"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.clientKey = tt.clientKey
			before := s.authAttempts.Load()
			res, perr := verify(t, context.Background(), tt.settings, tt.secrets)
			if tt.code == providers.CodeInvalidConfig && s.authAttempts.Load() != before {
				t.Errorf("credentials were offered to a server whose host key was refused")
			}
			if tt.code == "" {
				if perr != nil {
					t.Fatalf("verify: %s: %s", perr.Code, perr.Message)
				}
				want := map[string]any{
					"server_version":       "SSH-2.0-JunctionTestSFTP_1.0",
					"host_key_fingerprint": ssh.FingerprintSHA256(s.hostKey),
					"host_key_type":        "ssh-ed25519",
					"base_path":            "/data",
					"is_dir":               true,
				}
				for k, v := range want {
					if res.Details[k] != v {
						t.Errorf("details[%s] = %v, want %v", k, res.Details[k], v)
					}
				}
				return
			}
			if perr == nil {
				t.Fatalf("verify succeeded, want %s", tt.code)
			}
			if perr.Code != tt.code {
				t.Fatalf("code = %s (%s), want %s", perr.Code, perr.Message, tt.code)
			}
			for _, c := range tt.contains {
				if !strings.Contains(perr.Message, c) {
					t.Errorf("message %q does not contain %q", perr.Message, c)
				}
			}
			for _, v := range tt.secrets {
				if len(v) >= 4 && strings.Contains(perr.Message, v) {
					t.Errorf("message leaks a secret: %q", perr.Message)
				}
			}
		})
	}
}

// With a full key pinned, the client asks for that key type, so a server with
// several host keys presents the pinned one.
func TestPinnedKeyTypeIsRequested(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, err := ssh.NewSignerFromKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	edSigner := ed25519Signer(t)
	s := startServer(t, edSigner, ecSigner)
	pin := string(ssh.MarshalAuthorizedKey(ecSigner.PublicKey()))
	res, perr := verify(t, context.Background(), s.settings("host_key_fingerprint", pin), map[string]string{"password": password})
	if perr != nil {
		t.Fatalf("verify: %s: %s", perr.Code, perr.Message)
	}
	if res.Details["host_key_type"] != "ecdsa-sha2-nistp256" {
		t.Errorf("details = %v", res.Details)
	}
}

func TestVerifyNoSFTPSubsystem(t *testing.T) {
	s := startServer(t)
	s.sftpOff = true
	_, perr := verify(t, context.Background(), s.settings(), map[string]string{"password": password})
	if perr == nil || perr.Code != providers.CodeProviderError || !strings.Contains(perr.Message, "does not offer the SFTP subsystem") {
		t.Fatalf("got %+v", perr)
	}
}

func TestVerifyNetwork(t *testing.T) {
	s := startServer(t)
	t.Run("closed port is unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close()
		var p int64
		fmt.Sscan(port, &p)
		_, perr := verify(t, context.Background(), s.settings("port", p), map[string]string{"password": password})
		if perr == nil || perr.Code != providers.CodeUnreachable {
			t.Fatalf("got %+v, want unreachable", perr)
		}
	})
	t.Run("silent server times out", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			nc, err := ln.Accept()
			if err == nil {
				accepted <- nc
			}
		}()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		var p int64
		fmt.Sscan(port, &p)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, perr := verify(t, ctx, s.settings("port", p), map[string]string{"password": password})
		if perr == nil || perr.Code != providers.CodeTimeout {
			t.Fatalf("got %+v, want timeout", perr)
		}
		select {
		case nc := <-accepted:
			nc.Close()
		default:
		}
	})
	t.Run("dials through the configured dialer", func(t *testing.T) {
		var dialed []string
		var mu sync.Mutex
		cfg := providertest.Config(t, Driver{}, s.settings("host", "10.9.8.7", "port", int64(2222)), map[string]string{"password": password})
		cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, addr)
			mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%s: %w", addr, providers.ErrBlockedAddress)}
		}
		c, err := Driver{}.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.(providers.Verifier).Verify(context.Background(), providers.VerifyRequest{})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.CodeBlockedAddress {
			t.Fatalf("got %v, want blocked_address", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(dialed) != 1 || dialed[0] != "10.9.8.7:2222" {
			t.Errorf("dialed %v", dialed)
		}
	})
}

func TestOpenInvalidConfig(t *testing.T) {
	s := &server{addr: "127.0.0.1:22", hostKey: ed25519Signer(t).PublicKey()}
	encPEM, _ := encryptedKeyPEM(t)
	tests := []struct {
		name     string
		settings map[string]any
		secrets  map[string]string
		contains string
	}{
		{"bad fingerprint", s.settings("host_key_fingerprint", "SHA256:not-base64!"), map[string]string{"password": "pw"}, "not a SHA256 fingerprint"},
		{"MD5 fingerprint", s.settings("host_key_fingerprint", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"), map[string]string{"password": "pw"}, "MD5"},
		{"garbage pin", s.settings("host_key_fingerprint", "hello world"), map[string]string{"password": "pw"}, "must be SHA256"},
		{"revoked known_hosts line", s.settings("host_key_fingerprint", "@revoked * "+string(ssh.MarshalAuthorizedKey(s.hostKey))), map[string]string{"password": "pw"}, "@revoked"},
		{"not a key", s.settings("auth_method", "private_key"), map[string]string{"private_key_pem": "-----BEGIN NOTHING-----"}, "not a private key"},
		{"encrypted key without passphrase", s.settings("auth_method", "private_key"), map[string]string{"private_key_pem": encPEM}, "set passphrase"},
		{"wrong passphrase", s.settings("auth_method", "private_key"), map[string]string{"private_key_pem": encPEM, "passphrase": "wrong"}, "does not decrypt"},
		{"host with a path", s.settings("host", "a/b"), map[string]string{"password": "pw"}, "not a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Driver{}.Open(context.Background(), providertest.Config(t, Driver{}, tt.settings, tt.secrets))
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
