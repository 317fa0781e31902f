package netguard

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionhq/junction/providers"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		ip          string
		open, block bool // allowed with blocking off / on
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"8.8.8.8", true, true},
		{"127.0.0.1", true, false},
		{"127.255.255.254", true, false},
		{"::1", true, false},
		{"::ffff:127.0.0.1", true, false},
		{"10.1.2.3", true, false},
		{"172.16.0.1", true, false},
		{"172.31.255.255", true, false},
		{"172.32.0.1", true, true},
		{"192.168.1.1", true, false},
		{"100.64.0.1", true, false},
		{"100.127.255.255", true, false},
		{"100.128.0.1", true, true},
		{"fc00::1", true, false},
		{"fd12:3456::1", true, false},
		{"::ffff:10.0.0.1", true, false},
		{"::ffff:100.64.0.1", true, false},
		// Always refused.
		{"169.254.169.254", false, false},
		{"169.254.0.1", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"::ffff:a9fe:a9fe", false, false},
		{"fe80::1", false, false},
		{"fe80::1%eth0", false, false},
		{"fd00:ec2::254", false, false},
		{"100.100.100.200", false, false},
		{"::ffff:100.100.100.200", false, false},
		{"168.63.129.16", false, false},
		{"0.0.0.0", false, false},
		{"0.1.2.3", false, false},
		{"::ffff:0.0.0.0", false, false},
		{"::", false, false},
		{"255.255.255.255", false, false},
		{"224.0.0.1", false, false},
		{"239.255.255.250", false, false},
		{"::ffff:224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"ff05::2", false, false},
		// IPv4 embedded in IPv6 forms the network may translate.
		{"::169.254.169.254", false, false},
		{"64:ff9b::169.254.169.254", false, false},
		{"64:ff9b::127.0.0.1", true, false},
		{"64:ff9b::8.8.8.8", true, true},
		{"64:ff9b:1::a9fe:a9fe", false, false}, // local-use NAT64
		{"64:ff9b:1::7f00:1", true, false},
		{"::127.0.0.1", true, false}, // IPv4-compatible
		{"::10.0.0.1", true, false},
		{"::8.8.8.8", true, true},
		// 6to4 (2002::/16): the IPv4 address in bits 16-48.
		{"2002:7f00:1::", true, false},     // 127.0.0.1
		{"2002:7f00:1:1::1", true, false},  // 127.0.0.1, a host behind it
		{"2002:a9fe:a9fe::", false, false}, // 169.254.169.254
		{"2002:a9fe:a9fe:ffff::1", false, false},
		{"2002:a00:1::", true, false},      // 10.0.0.1
		{"2002:c0a8:101::1", true, false},  // 192.168.1.1
		{"2002:6440:1::", true, false},     // 100.64.0.1
		{"2002:6464:64c8::", false, false}, // 100.100.100.200
		{"2002::", false, false},           // 0.0.0.0
		{"2002:808:808::1", true, true},    // 8.8.8.8
		{"2002:5db8:d822::1", true, true},  // 93.184.216.34
		// Teredo (2001::/32): the client's IPv4 address, inverted, in the
		// last 32 bits (the server's in bits 32-64 is not where packets go).
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", true, false},  // client 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:5601:5601", false, false}, // client 169.254.169.254
		{"2001::f5ff:fffe", true, false},                       // client 10.0.0.1
		{"2001::9b9b:9b9b", true, false},                       // client 100.100.100.100 (CGNAT)
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true, true},   // client 192.0.2.45 (RFC 4380's example)
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", true, true},   // client 8.8.8.8
		{"2001:0:4136:e378:8000:63bf:ffff:ffff", false, false}, // client 0.0.0.0
		{"2001:db8::1", true, true},                            // not Teredo
	}
	open, blocked := New(Options{}), New(Options{BlockPrivate: true})
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.ip)
			for _, c := range []struct {
				g    *Guard
				want bool
				name string
			}{{open, tt.open, "blocking off"}, {blocked, tt.block, "blocking on"}} {
				err := c.g.Check(ip)
				if (err == nil) != c.want {
					t.Errorf("%s: Check(%s) = %v, want allowed=%v", c.name, tt.ip, err, c.want)
				}
				if err != nil {
					if !errors.Is(err, providers.ErrBlockedAddress) {
						t.Errorf("%s: %v does not wrap ErrBlockedAddress", c.name, err)
					}
					var be *providers.BlockedAddressError
					if !errors.As(err, &be) || be.IP.Zone() != "" || strings.Contains(err.Error(), "%") {
						t.Errorf("%s: %v: want a *BlockedAddressError naming the unzoned address", c.name, err)
					}
				}
			}
		})
	}
	if err := open.Check(netip.Addr{}); err == nil {
		t.Error("the zero Addr was allowed")
	}
}

// TestControl checks the hook the dialer calls with the resolved address, in
// the forms the kernel-facing code passes it.
func TestControl(t *testing.T) {
	tests := []struct {
		address     string
		open, block bool
	}{
		{"127.0.0.1:80", true, false},
		{"[::1]:443", true, false},
		{"[::ffff:127.0.0.1]:80", true, false},
		{"[::ffff:169.254.169.254]:80", false, false},
		{"169.254.169.254:80", false, false},
		{"[fe80::1%lo]:80", false, false},
		{"[::]:80", false, false},
		{"0.0.0.0:80", false, false},
		{"8.8.8.8:53", true, true},
		{"[2002:7f00:1::]:80", true, false},
		{"[2002:a9fe:a9fe::]:80", false, false},
		{"[2001::f5ff:fffe]:80", true, false},
		{"not-an-address", false, false},
		{"localhost:80", false, false}, // never a host name at this point: refuse rather than guess
	}
	for _, blocking := range []bool{false, true} {
		g := New(Options{BlockPrivate: blocking})
		for _, tt := range tests {
			want := tt.open
			if blocking {
				want = tt.block
			}
			err := g.control("tcp", tt.address, nil)
			if (err == nil) != want {
				t.Errorf("blocking=%v: control(%q) = %v, want allowed=%v", blocking, tt.address, err, want)
			}
			if err != nil && !errors.Is(err, providers.ErrBlockedAddress) {
				t.Errorf("blocking=%v: control(%q) = %v, does not wrap ErrBlockedAddress", blocking, tt.address, err)
			}
		}
	}
}

// fakeDNS is a resolver that answers A queries from a table without any
// network traffic: the Go resolver talks to it over an in-memory pipe.
func fakeDNS(t *testing.T, answers map[string]netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(server, answers)
			return client, nil
		},
	}
}

// serveDNS answers one length-prefixed DNS query (the stream form the Go
// resolver uses over a non-packet conn).
func serveDNS(c net.Conn, answers map[string]netip.Addr) {
	defer c.Close()
	var n uint16
	if binary.Read(c, binary.BigEndian, &n) != nil {
		return
	}
	q := make([]byte, n)
	if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
		return
	}
	// The question: labels up to a zero byte, then type and class.
	i, name := 12, ""
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return
		}
		name += string(q[i+1:i+1+l]) + "."
		i += 1 + l
	}
	end := i + 5
	if end > len(q) {
		return
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	resp := append([]byte{}, q[:2]...)                      // id
	resp = append(resp, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0) // response, RD, RA; 1 question
	resp = append(resp, q[12:end]...)
	ip, ok := answers[strings.ToLower(name)]
	if ok && qtype == 1 && ip.Is4() {
		resp[7] = 1 // one answer
		a := ip.As4()
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, a[:]...)
	} else if !ok {
		resp[3] = 0x83 // NXDOMAIN
	}
	binary.Write(c, binary.BigEndian, uint16(len(resp)))
	c.Write(resp)
}

// countingServer is a loopback HTTP server that counts requests.
func countingServer(t *testing.T, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s here: %v", addr, err)
		}
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

// outcome of one dial in the matrix.
type outcome int

const (
	reached    outcome = iota // connected to the loopback server
	blocked                   // refused by the guard: blocked_address
	unresolved                // the resolver did not turn the name into an address
)

func (o outcome) String() string { return [...]string{"reached", "blocked", "unresolved"}[o] }

// TestDialMatrix dials the literal forms of loopback and metadata addresses
// through the guard. Go's resolver parses some forms itself and rejects
// others as names; whatever address ends up dialled must be judged.
func TestDialMatrix(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dns := fakeDNS(t, map[string]netip.Addr{
		"rebind.test.":   netip.MustParseAddr("127.0.0.1"),
		"metadata.test.": netip.MustParseAddr("169.254.169.254"),
		"zero.test.":     netip.MustParseAddr("0.0.0.0"),
		"cgnat.test.":    netip.MustParseAddr("100.64.0.1"),
	})
	tests := []struct {
		host string
		// Outcomes accepted with blocking off and on. Forms Go's resolver
		// does not parse as addresses are looked up as names and fail.
		open, block []outcome
	}{
		{"127.0.0.1", []outcome{reached}, []outcome{blocked}},
		{"127.1", []outcome{reached, unresolved}, []outcome{blocked, unresolved}},
		{"2130706433", []outcome{reached, unresolved}, []outcome{blocked, unresolved}},
		{"0x7f000001", []outcome{reached, unresolved}, []outcome{blocked, unresolved}},
		{"0177.0.0.1", []outcome{reached, unresolved}, []outcome{blocked, unresolved}},
		{"[::ffff:127.0.0.1]", []outcome{reached}, []outcome{blocked}},
		{"localhost", []outcome{reached}, []outcome{blocked}},
		{"rebind.test.", []outcome{reached}, []outcome{blocked}},
		// [::] and 0.0.0.0 reach a local listener when not refused.
		{"[::]", []outcome{blocked}, []outcome{blocked}},
		{"0.0.0.0", []outcome{blocked}, []outcome{blocked}},
		{"zero.test.", []outcome{blocked}, []outcome{blocked}},
		{"169.254.169.254", []outcome{blocked}, []outcome{blocked}},
		{"[::ffff:169.254.169.254]", []outcome{blocked}, []outcome{blocked}},
		{"metadata.test.", []outcome{blocked}, []outcome{blocked}},
		{"[fd00:ec2::254]", []outcome{blocked}, []outcome{blocked}},
		{"100.100.100.200", []outcome{blocked}, []outcome{blocked}},
		// CGNAT is not dialled with blocking off: tests reach only loopback
		// (TestCheck covers that it is allowed then).
		{"100.64.0.1", nil, []outcome{blocked}},
		{"cgnat.test.", nil, []outcome{blocked}},
	}
	for _, blocking := range []bool{false, true} {
		g := New(Options{BlockPrivate: blocking, Resolver: dns, DialTimeout: 5 * time.Second})
		for _, tt := range tests {
			want := tt.open
			if blocking {
				want = tt.block
			}
			if want == nil {
				continue
			}
			t.Run(tt.host+map[bool]string{false: "/open", true: "/blocking"}[blocking], func(t *testing.T) {
				before := accepted.Load()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				c, err := g.DialContext(ctx, "tcp", tt.host+":"+port)
				got := reached
				switch {
				case err == nil:
					c.Close()
					// Wait for the accept, so the next case counts from it.
					for deadline := time.Now().Add(5 * time.Second); accepted.Load() == before; {
						if time.Now().After(deadline) {
							t.Fatal("the server never accepted the connection")
						}
						time.Sleep(time.Millisecond)
					}
				case providers.Classify("test", err).Code == providers.CodeBlockedAddress:
					got = blocked
					if accepted.Load() != before {
						t.Error("the server accepted a connection the guard refused")
					}
					if msg := providers.Classify("test", err).Message; !strings.Contains(msg, "refused by this server's network policy") {
						t.Errorf("message %q does not name the policy", msg)
					}
				default:
					var dnsErr *net.DNSError
					if !errors.As(err, &dnsErr) {
						t.Fatalf("dial %s: %v: neither connected, refused nor unresolved", tt.host, err)
					}
					got = unresolved
				}
				ok := false
				for _, w := range want {
					ok = ok || got == w
				}
				if !ok {
					t.Errorf("dial %s: %v (err %v), want one of %v", tt.host, got, err, want)
				}
			})
		}
	}
}

func TestNetworks(t *testing.T) {
	g := New(Options{})
	for _, network := range []string{"unix", "unixpacket", "ip4:icmp"} {
		_, err := g.DialContext(context.Background(), network, "/tmp/x")
		if !errors.Is(err, providers.ErrBlockedAddress) {
			t.Errorf("%s: %v, want a refusal", network, err)
		}
	}
}

// TestRedirectToBlocked follows a redirect from an allowed server to an
// address the policy refuses: the check happens at every dial, so the second
// hop fails with blocked_address and never connects.
func TestRedirectToBlocked(t *testing.T) {
	target, targetHits := countingServer(t, "127.0.0.2:0", nil)
	_, targetPort, _ := net.SplitHostPort(target.Listener.Addr().String())
	dns := fakeDNS(t, map[string]netip.Addr{
		"metadata.test.": netip.MustParseAddr("169.254.169.254"),
		"loop.test.":     netip.MustParseAddr("127.0.0.2"),
	})
	tests := []struct {
		name     string
		blocking bool
		location string
		wantHit  bool // the redirect reaches the target server
	}{
		{"metadata address", false, "http://169.254.169.254/latest/meta-data/", false},
		{"metadata name", false, "http://metadata.test./latest/meta-data/", false},
		{"unspecified reaches localhost", false, "http://0.0.0.0:" + targetPort + "/", false},
		{"unspecified v6", false, "http://[::]:" + targetPort + "/", false},
		{"loopback allowed when open", false, target.URL + "/", true},
		{"loopback blocked", true, target.URL + "/", false},
		{"loopback name allowed when open", false, "http://loop.test.:" + targetPort + "/", true},
		{"loopback name blocked", true, "http://loop.test.:" + targetPort + "/", false},
		{"mapped loopback blocked", true, "http://[::ffff:127.0.0.2]:" + targetPort + "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, startHits := countingServer(t, "", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, http.StatusFound)
			})
			g := New(Options{BlockPrivate: tt.blocking, Resolver: dns})
			g.exempt = netip.MustParseAddr("127.0.0.1") // the starting server stands in for a public host
			client := g.HTTPClient(providers.HTTPOptions{BaseBackoff: time.Millisecond})
			before := targetHits.Load()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, start.URL+"/start", nil)
			resp, err := client.Do(req)
			if startHits.Load() != 1 {
				t.Fatalf("start server hit %d times, want 1", startHits.Load())
			}
			if tt.wantHit {
				if err != nil {
					t.Fatalf("redirect to %s: %v", tt.location, err)
				}
				resp.Body.Close()
				if targetHits.Load() != before+1 {
					t.Fatal("the target was not reached")
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("redirect to %s succeeded (status %d)", tt.location, resp.StatusCode)
			}
			if targetHits.Load() != before {
				t.Error("the target was reached")
			}
			pe := providers.Classify("test", err)
			if pe.Code != providers.CodeBlockedAddress {
				t.Fatalf("code %s (%v), want blocked_address", pe.Code, err)
			}
		})
	}
}
