// Package netguard is Junction's only way out to the network. Its dialer
// checks the address actually being connected to, after name resolution, so
// DNS rebinding and redirects cannot reach an address the policy refuses.
//
// Link-local and cloud metadata addresses are always refused. Loopback,
// private and carrier-grade NAT ranges are refused when Options.BlockPrivate
// is set (JUNCTION_BLOCK_PRIVATE_NETWORKS=true in a hosted, multi-tenant
// deployment). IPv6 forms that carry an IPv4 address (IPv4-mapped and
// -compatible, NAT64, 6to4, Teredo) are refused when that IPv4 address would
// be. Every refusal wraps providers.ErrBlockedAddress, so
// providers.Classify reports it as blocked_address.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/junctionhq/junction/providers"
)

// Options configures a Guard. The zero value allows private networks and
// uses the default timeouts.
type Options struct {
	// BlockPrivate refuses loopback, private (RFC 1918, fc00::/7) and CGNAT
	// (100.64.0.0/10) addresses as well.
	BlockPrivate bool
	// DialTimeout caps one dial, name resolution included (default 10s). A
	// context deadline that comes earlier wins.
	DialTimeout time.Duration
	// KeepAlive is the TCP keep-alive period (default 30s; negative disables).
	KeepAlive time.Duration
	// Resolver resolves host names; nil means net.DefaultResolver. Whatever it
	// answers, the address dialled is checked.
	Resolver *net.Resolver
}

// Guard dials only addresses its policy allows. It is safe for concurrent use.
type Guard struct {
	blockPrivate bool
	dialer       net.Dialer
	// exempt is allowed whatever the policy: tests set it to let one loopback
	// server stand in for a public host.
	exempt netip.Addr
}

// New returns a Guard with the given options.
func New(o Options) *Guard {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 30 * time.Second
	}
	g := &Guard{blockPrivate: o.BlockPrivate}
	g.dialer = net.Dialer{
		Timeout:   o.DialTimeout,
		KeepAlive: o.KeepAlive,
		Resolver:  o.Resolver,
		Control:   g.control,
	}
	return g
}

// DialContext connects to addr like net.Dialer.DialContext, refusing any
// resolved address the policy does not allow. Only TCP and UDP networks are
// dialled. It is a providers.DialFunc.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("netguard: network %q is not allowed: %w", network, providers.ErrBlockedAddress)}
	}
	return g.dialer.DialContext(ctx, network, addr)
}

var _ providers.DialFunc = (*Guard)(nil).DialContext

// HTTPClient returns providers.NewHTTPClient(o) with every connection dialled
// through g (o.Dial is replaced).
func (g *Guard) HTTPClient(o providers.HTTPOptions) *http.Client {
	o.Dial = g.DialContext
	return providers.NewHTTPClient(o)
}

// Check returns nil when the policy allows connecting to ip, and otherwise a
// *providers.BlockedAddressError naming ip and the reason.
func (g *Guard) Check(ip netip.Addr) error {
	if reason := g.refuse(ip); reason != "" {
		return &providers.BlockedAddressError{IP: ip.Unmap().WithZone(""), Reason: reason}
	}
	return nil
}

// control runs after the socket is created and before it connects, with the
// resolved address: every address tried (each A/AAAA record, each redirect
// hop, each reconnection) passes through it.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: cannot check address %q: %w", address, providers.ErrBlockedAddress)
	}
	return g.Check(ap.Addr())
}

// Reasons a dial is refused; they appear in error messages.
const (
	reasonMetadata    = "link-local and cloud metadata addresses are never allowed"
	reasonUnspecified = "unspecified, broadcast and reserved addresses are never allowed"
	reasonMulticast   = "multicast addresses are never allowed"
	reasonLoopback    = "loopback addresses are blocked on this server"
	reasonPrivate     = "private network addresses are blocked on this server"
	reasonInvalid     = "the address is not a valid IP address"
)

var (
	// alwaysRefused are never dialled, whatever the options.
	alwaysRefused = []struct {
		prefix netip.Prefix
		reason string
	}{
		{netip.MustParsePrefix("169.254.0.0/16"), reasonMetadata},     // IPv4 link-local, AWS/GCP/Azure/OCI metadata
		{netip.MustParsePrefix("fe80::/10"), reasonMetadata},          // IPv6 link-local
		{netip.MustParsePrefix("fd00:ec2::254/128"), reasonMetadata},  // AWS metadata over IPv6
		{netip.MustParsePrefix("100.100.100.200/32"), reasonMetadata}, // Alibaba Cloud metadata
		{netip.MustParsePrefix("168.63.129.16/32"), reasonMetadata},   // Azure WireServer
		{netip.MustParsePrefix("0.0.0.0/8"), reasonUnspecified},       // "this network"; 0.0.0.0 reaches the host
		{netip.MustParsePrefix("240.0.0.0/4"), reasonUnspecified},     // reserved, and 255.255.255.255
		{netip.MustParsePrefix("::/128"), reasonUnspecified},
		{netip.MustParsePrefix("224.0.0.0/4"), reasonMulticast},
		{netip.MustParsePrefix("ff00::/8"), reasonMulticast},
	}
	// privateRanges are refused when BlockPrivate is set.
	privateRanges = []struct {
		prefix netip.Prefix
		reason string
	}{
		{netip.MustParsePrefix("127.0.0.0/8"), reasonLoopback},
		{netip.MustParsePrefix("::1/128"), reasonLoopback},
		{netip.MustParsePrefix("10.0.0.0/8"), reasonPrivate},
		{netip.MustParsePrefix("172.16.0.0/12"), reasonPrivate},
		{netip.MustParsePrefix("192.168.0.0/16"), reasonPrivate},
		{netip.MustParsePrefix("100.64.0.0/10"), reasonPrivate}, // carrier-grade NAT
		{netip.MustParsePrefix("fc00::/7"), reasonPrivate},      // unique local
		{netip.MustParsePrefix("fec0::/10"), reasonPrivate},     // deprecated site-local
		{netip.MustParsePrefix("192.0.0.0/24"), reasonPrivate},  // IETF protocol assignments
		{netip.MustParsePrefix("198.18.0.0/15"), reasonPrivate}, // benchmarking, used inside networks
	}
	// Prefixes whose addresses embed an IPv4 address the network may
	// translate or tunnel to; IPv4-mapped ones (::ffff:0:0/96) are unmapped
	// before any check.
	ipv4Compatible = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible, last 32 bits
	nat64          = netip.MustParsePrefix("64:ff9b::/96")   // well-known NAT64 prefix, last 32 bits
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215), judged in the /96 layout
	sixToFour      = netip.MustParsePrefix("2002::/16")      // 6to4: the IPv4 address in bits 16-48
	teredo         = netip.MustParsePrefix("2001::/32")      // Teredo: the client's IPv4 address, inverted, in the last 32 bits
)

// embeddedIPv4 returns the IPv4 address ip stands for when ip is an IPv6
// form that a translator or tunnel delivers to that IPv4 address: 6to4,
// Teredo (the client's address), NAT64 and IPv4-compatible. :: and ::1 are
// themselves, not IPv4-compatible forms.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() || ip.Is4In6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	last := [4]byte{b[12], b[13], b[14], b[15]}
	switch {
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case teredo.Contains(ip):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	case nat64.Contains(ip), nat64Local.Contains(ip):
		return netip.AddrFrom4(last), true
	case ipv4Compatible.Contains(ip) && !ip.IsLoopback() && !ip.IsUnspecified():
		return netip.AddrFrom4(last), true
	}
	return netip.Addr{}, false
}

// refuse returns why ip may not be dialled, or "" when it may.
func (g *Guard) refuse(ip netip.Addr) string {
	if !ip.IsValid() {
		return reasonInvalid
	}
	ip = ip.WithZone("").Unmap()
	if g.exempt.IsValid() && ip == g.exempt {
		return ""
	}
	if v4, ok := embeddedIPv4(ip); ok {
		// Judge the embedded IPv4 address: 2002:7f00:1::, ::169.254.169.254
		// and 64:ff9b::a9fe:a9fe may be delivered to it.
		if r := g.refuse(v4); r != "" {
			return r
		}
	}
	for _, r := range alwaysRefused {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	if g.blockPrivate {
		for _, r := range privateRanges {
			if r.prefix.Contains(ip) {
				return r.reason
			}
		}
	}
	return ""
}
