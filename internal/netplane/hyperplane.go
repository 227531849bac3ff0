package netplane

import (
	"fmt"
	"net/netip"
	"strings"
)

// Execution environments behind a Hyperplane ENI: each environment's
// namespace is joined to the ENI's namespace by a veth pair on a /31 of
// envBlock. Link names hash the environment's namespace name, so they are
// stable across restarts and need no bookkeeping outside the kernel.
const (
	kindEnvHost = 'h' // ENI-namespace side of an environment's veth pair
	kindEnvPeer = 'v' // environment side of it
)

// EnvLink is an execution environment's network as seen from inside it.
type EnvLink struct {
	Netns string // the environment's named network namespace
	// Addr is the environment's address, on a /31 shared with Gateway; it
	// never leaves the Hyperplane ENI's namespace (the VPC sees the ENI's
	// address instead).
	Addr netip.Addr
	// Gateway is the ENI namespace's end of the link and the environment's
	// default route.
	Gateway netip.Addr
}

// envBlock holds the environment links of one ENI namespace (each such
// namespace has its own copy). Link-local addresses are never routed in a
// VPC, unlike 100.64.0.0/10, which a VPC may use as a CIDR; the lower half
// stays clear of the VPC resolver and metadata at 169.254.169.x/170.x.
var envBlock = netip.MustParsePrefix("169.254.0.0/17")

const envLinkBits = 31

// maxEnvSlot is the last usable /31 of envBlock; slot 0 (169.254.0.0/31)
// is skipped so that no environment has a network-looking address.
const maxEnvSlot = 1<<(envLinkBits-17) - 1

func envHostLinkName(prefix, envNetns string) string {
	return objectName(prefix, kindEnvHost, envNetns)
}

func envPeerLinkName(prefix, envNetns string) string {
	return objectName(prefix, kindEnvPeer, envNetns)
}

// envHostLinkPattern matches every ENI-namespace end of the prefix's
// environment links in nft, so the ENI namespace's rules need no update as
// environments come and go.
func envHostLinkPattern(prefix string) string { return prefix + "-" + string(kindEnvHost) + "*" }

// hyperplaneTable is the inet table that AttachEnvironment loads into a
// Hyperplane ENI's namespace.
func hyperplaneTable(prefix string) string { return nftIdent(prefix) + "_hp" }

// envPair is the (gateway, environment) address pair of a slot.
func envPair(slot int) (gw, env netip.Addr) {
	b := envBlock.Addr().As4()
	off := slot * 2
	b[2] += byte(off >> 8)
	b[3] = byte(off)
	gw = netip.AddrFrom4(b)
	return gw, gw.Next()
}

// allocEnvPair returns the lowest pair whose gateway address no link of
// the ENI namespace holds yet. Allocation reads the kernel rather than
// hashing the name, because a hash collision would give two environments
// one address.
func allocEnvPair(usedGateways map[netip.Addr]bool) (gw, env netip.Addr, err error) {
	for slot := 1; slot <= maxEnvSlot; slot++ {
		gw, env = envPair(slot)
		if !usedGateways[gw] {
			return gw, env, nil
		}
	}
	return netip.Addr{}, netip.Addr{}, fmt.Errorf("netplane: all %d environment links of the ENI are in use", maxEnvSlot)
}

// envLinkAlias marks the ENI-namespace end of a pair with the environment
// it serves, so that a name collision between two environments is noticed
// instead of one taking over the other's link.
func envLinkAlias(envNetns string) string { return "netplane:env:" + envNetns }

// createdNSAlias is set on the loopback of a namespace AttachEnvironment
// created, so that DetachEnvironment (in this process or after a restart)
// removes exactly those.
func createdNSAlias(prefix string) string { return "netplane:" + prefix + ":created-env" }

// compileHyperplane returns the nft script for a Hyperplane ENI's
// namespace: environments reach the VPC through eniLink, masqueraded to the
// ENI's address; nothing reaches an environment except replies, and
// environments reach neither each other nor the ENI namespace itself.
func compileHyperplane(prefix, eniLink string) string {
	t := hyperplaneTable(prefix)
	env := envHostLinkPattern(prefix)
	var b strings.Builder
	// Declaring before deleting makes the delete succeed on first load;
	// the whole script is one transaction.
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", t, t)
	fmt.Fprintf(&b, "table inet %s {\n", t)
	fmt.Fprintf(&b, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n")
	fmt.Fprintf(&b, "\t\tiifname %q drop\n\t}\n", env)
	fmt.Fprintf(&b, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n")
	fmt.Fprintf(&b, "\t\tct state established,related accept\n")
	fmt.Fprintf(&b, "\t\tiifname %q oifname %q ct state new accept\n\t}\n", env, eniLink)
	fmt.Fprintf(&b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "\t\tiifname %q oifname %q masquerade\n\t}\n", env, eniLink)
	b.WriteString("}\n")
	return b.String()
}
