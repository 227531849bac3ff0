package ec2

import (
	"encoding/base64"
	"net/netip"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

// indexToken and parseIndexToken page through answers that are not lists
// of resources (tags, rules) by position.
func indexToken(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("i" + strconv.Itoa(n)))
}

func parseIndexToken(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != 'i' {
		return 0, errInvalidParam("The token '%s' is invalid.", tok)
	}
	n, err := strconv.Atoi(string(b[1:]))
	if err != nil || n < 0 {
		return 0, errInvalidParam("The token '%s' is invalid.", tok)
	}
	return n, nil
}

// parseCIDR parses an IPv4 CIDR that must be written as its network
// address (10.0.0.0/16, not 10.0.0.1/16), as EC2 requires.
func parseCIDR(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return netip.Prefix{}, false
	}
	return p, true
}

// overlaps reports whether two prefixes share an address.
func overlaps(a, b netip.Prefix) bool {
	return a.Overlaps(b)
}

// contains reports whether outer contains all of inner.
func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// prefixSize is the number of addresses in an IPv4 prefix.
func prefixSize(p netip.Prefix) int {
	return 1 << (32 - p.Bits())
}

// nthAddr is the address n places after the prefix's first.
func nthAddr(p netip.Prefix, n int) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// addrIndex is a's position in p (a must be inside p).
func addrIndex(p netip.Prefix, a netip.Addr) int {
	x, y := p.Addr().As4(), a.As4()
	vx := uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3])
	vy := uint32(y[0])<<24 | uint32(y[1])<<16 | uint32(y[2])<<8 | uint32(y[3])
	return int(vy - vx)
}
