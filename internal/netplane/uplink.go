package netplane

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// The uplink (--internet=host) joins the simulated internet to a real
// network namespace, the host's, by a veth pair on a /30 of uplinkBlock.
// Traffic leaving the internet namespace through it is masqueraded twice:
// to the internet end's address inside the internet namespace, then to
// the host's own address as it leaves the host. The host therefore needs
// no route to any simulated address (two servers on one machine have the
// same public ranges, and a host route could point at only one of them),
// only the connected /30 that its end's address makes.
const (
	kindUplinkInternet = 'b' // internet side of the uplink ("border")
	kindUplinkHost     = 'o' // host side of the uplink ("outside")
	uplinkLabel        = "uplink"
)

// uplinkBlock holds one /30 per prefix, chosen from it: clear of the
// environment links (169.254.0.0/17), the resolver and metadata
// (169.254.169.x, 169.254.170.x, which a cloud host routes itself), the
// internet transit (169.254.200.x), peering (169.254.208.0/20) and
// gateway endpoints (169.254.224.0/20).
var uplinkBlock = netip.MustParsePrefix("169.254.192.0/21")

// simulatedRanges are the simulated internet's own addresses: nothing to
// them ever leaves through the uplink, whether or not they are in use.
var simulatedRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

func uplinkInternetEnd(prefix string) string {
	return objectName(prefix, kindUplinkInternet, uplinkLabel)
}

func uplinkHostEnd(prefix string) string { return objectName(prefix, kindUplinkHost, uplinkLabel) }

// uplinkTable is the inet table of the uplink, the same name in the
// internet namespace and the host.
func uplinkTable(prefix string) string { return nftIdent(prefix) + "_uplink" }

// uplinkAddrs are the internet end's and the host end's addresses, on the
// /30 of uplinkBlock the prefix hashes to. Two servers whose prefixes
// collide would share it; ConnectUplink refuses the second.
func uplinkAddrs(prefix string) (inet, hostEnd netip.Prefix) {
	const slots = 1 << (32 - 21 - 2)
	sum := sha256.Sum256([]byte("uplink/" + prefix))
	n := binary.BigEndian.Uint32(sum[:4]) % slots
	b := uplinkBlock.Addr().As4()
	base := binary.BigEndian.Uint32(b[:]) + n*4
	binary.BigEndian.PutUint32(b[:], base+1)
	a := netip.AddrFrom4(b)
	return netip.PrefixFrom(a, 30), netip.PrefixFrom(a.Next(), 30)
}

// uplinkDefaultRoute is the internet namespace's route out through the
// uplink.
func uplinkDefaultRoute(prefix string) routeSpec {
	_, hostEnd := uplinkAddrs(prefix)
	return routeSpec{
		table: mainTable, dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), kind: routeUnicast,
		dev: uplinkInternetEnd(prefix), gw: hostEnd.Addr(),
	}
}

func simulatedSet() string {
	s := make([]string, len(simulatedRanges))
	for i, p := range simulatedRanges {
		s[i] = p.String()
	}
	return "{ " + strings.Join(s, ", ") + " }"
}

// compileUplinkInternet is the internet namespace's side: what leaves
// through the uplink is masqueraded to the link's address, the simulated
// ranges never leave, and from the real network only replies come in.
// Every rule names the uplink, so the rest of the internet is untouched.
func compileUplinkInternet(prefix string) string {
	t, link := uplinkTable(prefix), uplinkInternetEnd(prefix)
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", t, t)
	fmt.Fprintf(&b, "table inet %s {\n", t)
	replies := []string{
		fmt.Sprintf("iifname %q ct state established,related accept", link),
		fmt.Sprintf("iifname %q drop", link),
	}
	stayIn := fmt.Sprintf("oifname %q ip daddr %s reject with icmpx type no-route", link, simulatedSet())
	b.WriteString(chain("input", append([]string{"type filter hook input priority filter; policy accept;"}, replies...)))
	b.WriteString(chain("forward", append(append([]string{"type filter hook forward priority filter; policy accept;"}, replies...), stayIn)))
	b.WriteString(chain("output", []string{"type filter hook output priority filter; policy accept;", stayIn}))
	b.WriteString(chain("postrouting", []string{
		"type nat hook postrouting priority srcnat; policy accept;",
		fmt.Sprintf("oifname %q masquerade", link),
	}))
	b.WriteString("}\n")
	return b.String()
}

// compileUplinkHost is the host's side: what comes from the uplink and
// leaves by any other interface is masqueraded to the host's address;
// toward the uplink only replies pass, and nothing from the uplink opens
// a connection to the host itself. Chains accept by default and every
// rule names the uplink, so the host's other traffic is never affected.
func compileUplinkHost(prefix string) string {
	t, link := uplinkTable(prefix), uplinkHostEnd(prefix)
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", t, t)
	fmt.Fprintf(&b, "table inet %s {\n", t)
	b.WriteString(chain("input", []string{
		"type filter hook input priority filter; policy accept;",
		fmt.Sprintf("iifname %q ct state established,related accept", link),
		fmt.Sprintf("iifname %q drop", link),
	}))
	b.WriteString(chain("forward", []string{
		"type filter hook forward priority filter; policy accept;",
		fmt.Sprintf("oifname %q ct state established,related accept", link),
		fmt.Sprintf("oifname %q drop", link),
	}))
	b.WriteString(chain("postrouting", []string{
		"type nat hook postrouting priority srcnat; policy accept;",
		fmt.Sprintf("iifname %q oifname != %q masquerade", link, link),
	}))
	b.WriteString("}\n")
	return b.String()
}
