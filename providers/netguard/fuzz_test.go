package netguard

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/junctionhq/junction/providers"
)

// embeddedForms lists the IPv4 addresses an IPv6 address may be delivered
// to, worked out from its bytes independently of the guard: IPv4-mapped
// (::ffff:0:0/96), IPv4-compatible (::/96 but :: and ::1), NAT64
// (64:ff9b::/96 and local-use 64:ff9b:1::/48), 6to4 (2002::/16, bits
// 16-48) and Teredo (2001:0::/32, the client's address inverted in the last
// 32 bits).
func embeddedForms(ip netip.Addr) []netip.Addr {
	if !ip.Is6() {
		return nil
	}
	b := ip.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	zero := func(from, to int) bool {
		for _, x := range b[from:to] {
			if x != 0 {
				return false
			}
		}
		return true
	}
	var out []netip.Addr
	if zero(0, 10) && b[10] == 0xff && b[11] == 0xff {
		out = append(out, last)
	}
	if zero(0, 12) && !(zero(12, 15) && b[15] <= 1) { // not :: or ::1
		out = append(out, last)
	}
	if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && (zero(4, 12) || b[4] == 0 && b[5] == 1) {
		out = append(out, last)
	}
	if b[0] == 0x20 && b[1] == 0x02 {
		out = append(out, netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0 {
		out = append(out, netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
	}
	return out
}

// FuzzAddressCheck: whatever the address, Check does not panic, a refusal
// wraps ErrBlockedAddress and names the unzoned address, a zone changes
// nothing, and an address whose embedded IPv4 address is refused is refused.
func FuzzAddressCheck(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "::1", "::", "8.8.8.8", "169.254.169.254", "::ffff:127.0.0.1", "::127.0.0.1",
		"64:ff9b::a9fe:a9fe", "64:ff9b:1::7f00:1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
		"2001:0:4136:e378:8000:63bf:80ff:fffe", "2001::5601:5601", "fe80::1", "2606:2800:220:1::1",
	} {
		f.Add(netip.MustParseAddr(s).AsSlice(), "")
	}
	f.Add([]byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "eth0")
	f.Add([]byte{1, 2, 3}, "")
	guards := []*Guard{New(Options{}), New(Options{BlockPrivate: true})}
	f.Fuzz(func(t *testing.T, raw []byte, zone string) {
		var ip netip.Addr
		switch {
		case len(raw) == 4:
			ip = netip.AddrFrom4([4]byte(raw))
		case len(raw) >= 16:
			ip = netip.AddrFrom16([16]byte(raw[:16]))
		default:
			var b [16]byte
			copy(b[16-len(raw):], raw)
			ip = netip.AddrFrom16(b)
		}
		for _, g := range guards {
			err := g.Check(ip)
			if err != nil {
				var be *providers.BlockedAddressError
				if !errors.Is(err, providers.ErrBlockedAddress) || !errors.As(err, &be) || be.IP.Zone() != "" {
					t.Fatalf("Check(%s) = %v: not a *BlockedAddressError naming the unzoned address", ip, err)
				}
			}
			if ip.Is6() && zone != "" {
				if zerr := g.Check(ip.WithZone(zone)); (zerr == nil) != (err == nil) {
					t.Fatalf("Check(%s) = %v but with zone %q: %v", ip, err, zone, zerr)
				}
			}
			for _, v4 := range embeddedForms(ip) {
				if g.Check(v4) != nil && err == nil {
					t.Fatalf("blockPrivate=%v: %s was allowed, but the IPv4 address it carries, %s, is refused", g.blockPrivate, ip, v4)
				}
			}
		}
	})
}
