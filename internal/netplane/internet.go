package netplane

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The simulated internet uses documentation ranges only, so nothing it
// holds can be confused with a real host:
//
//	198.51.100.0/24   public IPs and Elastic IPs (the EC2 control plane's pool)
//	203.0.113.0/25    AWS service prefix lists (gateway endpoints)
//	203.0.113.128/25  lambdaplane's own public addresses (below)
//	192.0.2.0/24      internet hosts: every address of it is local to the
//	                  internet namespace, so anything listening there is
//	                  "a server on the internet"
var (
	InternetHosts = netip.MustParsePrefix("192.0.2.0/24")
	// ServiceAddr answers for the public endpoints of lambdaplane's APIs
	// (lambda.us-east-1.amazonaws.com and the like).
	ServiceAddr = netip.MustParseAddr("203.0.113.129")
	// InternetDNSAddr is the simulated internet's DNS server.
	InternetDNSAddr = netip.MustParseAddr("203.0.113.130")
	// LambdaNetworkAddr is the public address functions without VpcConfig
	// appear from.
	LambdaNetworkAddr = netip.MustParseAddr("203.0.113.131")
)

// LambdaNetworkID stands for the Lambda-owned network where AttachEnvironment
// takes an ENI id: environments of functions without VpcConfig attach to it
// as VPC ones attach to their Hyperplane ENI, and reach the internet with
// LambdaNetworkAddr.
const LambdaNetworkID = "lambda-network"

// Transit addresses of the links to the internet namespace: every such
// link has the same two, which is fine because routes name the link.
var (
	inetSideAddr   = netip.MustParseAddr("169.254.200.1")
	uplinkSideAddr = netip.MustParseAddr("169.254.200.2")
	// endpointInetAddr is the internet side of gateway endpoint links,
	// apart from inetSideAddr so that a router with both links has a
	// distinct route to each.
	endpointInetAddr = netip.MustParseAddr("169.254.200.5")
)

// ServicePrefixes are the AWS service ranges that gateway endpoints reach
// (the S3 and DynamoDB prefix lists): local to the internet namespace, like
// InternetHosts, so the services' stand-ins can listen there.
var ServicePrefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/26"), netip.MustParsePrefix("203.0.113.64/26")}

// endpointBlock holds the address each VPC's gateway endpoint traffic is
// translated to: the internet side cannot route back to VPC addresses,
// which may overlap between VPCs. One /32 per VPC, chosen from its id.
var endpointBlock = netip.MustParsePrefix("169.254.224.0/20")

// peeringBlock holds one /30 per peering link; it stays clear of the
// environment links (169.254.0.0/17), the resolver and metadata
// (169.254.169.x, 169.254.170.x) and the internet transit.
var peeringBlock = netip.MustParsePrefix("169.254.208.0/20")

const (
	kindInternetNS = 'i' // the internet namespace
	kindGatewayEnd = 'g' // router side of an internet gateway link
	kindUplinkEnd  = 'u' // internet side of an internet gateway or Lambda network link
	kindPeeringEnd = 'p' // one VPC's end of a peering link
	// Gateway endpoint links: upper case, clear of every lower-case kind.
	kindEndpointEnd = 'E' // router side of a gateway endpoint link
	kindServiceEnd  = 'S' // internet side of it
	internetNSLabel = "internet"
)

// InternetNetns is the name of the simulated internet's namespace.
func InternetNetns(prefix string) string { return objectName(prefix, kindInternetNS, internetNSLabel) }

func gatewayLinkName(prefix, vpcID string) string { return objectName(prefix, kindGatewayEnd, vpcID) }

func uplinkName(prefix, id string) string { return objectName(prefix, kindUplinkEnd, id) }

func endpointLinkName(prefix, vpcID string) string { return objectName(prefix, kindEndpointEnd, vpcID) }

func serviceLinkName(prefix, vpcID string) string { return objectName(prefix, kindServiceEnd, vpcID) }

// hasEndpointRoutes reports whether a route of v goes to a gateway endpoint.
func hasEndpointRoutes(v VPC) bool {
	for _, rt := range v.RouteTables {
		for _, r := range rt.Routes {
			if r.Target == TargetEndpoint {
				return true
			}
		}
	}
	return false
}

// endpointAddrs gives each VPC with gateway endpoint routes its address
// from endpointBlock (the next free one on collision, in id order).
func endpointAddrs(t Topology) map[string]netip.Addr {
	var ids []string
	for _, v := range t.VPCs {
		if hasEndpointRoutes(v) {
			ids = append(ids, v.ID)
		}
	}
	slices.Sort(ids)
	out := map[string]netip.Addr{}
	used := map[uint32]bool{}
	const slots = 1 << (32 - 20)
	for _, id := range ids {
		sum := sha256.Sum256([]byte("endpoint/" + id))
		n := binary.BigEndian.Uint32(sum[:4]) % slots
		for used[n] || n == 0 || n == slots-1 {
			n = (n + 1) % slots
		}
		used[n] = true
		b := endpointBlock.Addr().As4()
		binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(b[:])+n)
		out[id] = netip.AddrFrom4(b)
	}
	return out
}

func peeringLinkName(prefix, pcxID, vpcID string) string {
	return objectName(prefix, kindPeeringEnd, pcxID+"/"+vpcID)
}

// p2pEnd is one end of a point-to-point veth pair between two namespaces.
type p2pEnd struct {
	ns, name string
	addr     netip.Prefix // a /32, or the /30 of a peering link
}

// p2pLink is a veth pair between two namespaces, each end with one address.
type p2pLink struct {
	id   string
	a, b p2pEnd
}

// internetPlan is the internet namespace, the Lambda network and the links
// between them and the VPCs.
type internetPlan struct {
	ns     string
	lambda string // the Lambda network's namespace
	links  []p2pLink
	routes []routeSpec // of the internet namespace (main table)
	// lambdaRoutes are the Lambda network's own routes.
	lambdaRoutes []routeSpec
}

func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 32) }

// planInternet derives the internet side of t: one link per VPC with a
// gateway, plus the Lambda network, and a /32 route per public address.
func planInternet(t Topology) (*internetPlan, error) {
	ip := &internetPlan{ns: InternetNetns(t.Prefix), lambda: ENINetns(t.Prefix, LambdaNetworkID)}
	public := map[netip.Addr]string{}
	claim := func(a netip.Addr, owner string) error {
		if !a.Is4() {
			return fmt.Errorf("netplane: %s: public address %s is not IPv4", owner, a)
		}
		if other, dup := public[a]; dup {
			return fmt.Errorf("netplane: public address %s belongs to both %s and %s", a, other, owner)
		}
		public[a] = owner
		return nil
	}
	for _, a := range []netip.Addr{ServiceAddr, InternetDNSAddr, LambdaNetworkAddr} {
		if err := claim(a, "lambdaplane"); err != nil {
			return nil, err
		}
	}
	lambdaEnd := uplinkName(t.Prefix, LambdaNetworkID)
	ip.links = append(ip.links, p2pLink{
		id: LambdaNetworkID,
		a:  p2pEnd{ns: ip.ns, name: lambdaEnd, addr: host(inetSideAddr)},
		b:  p2pEnd{ns: ip.lambda, name: workloadLinkName(t.Prefix, LambdaNetworkID), addr: host(LambdaNetworkAddr)},
	})
	ip.routes = append(ip.routes, routeSpec{table: mainTable, dst: host(LambdaNetworkAddr), kind: routeUnicast, dev: lambdaEnd})
	ip.lambdaRoutes = append(ip.lambdaRoutes, routeSpec{
		table: mainTable, dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), kind: routeUnicast,
		dev: workloadLinkName(t.Prefix, LambdaNetworkID), gw: inetSideAddr,
	})
	for id, addr := range endpointAddrs(t) {
		end := serviceLinkName(t.Prefix, id)
		ip.links = append(ip.links, p2pLink{
			id: "gateway endpoints of " + id,
			a:  p2pEnd{ns: ip.ns, name: end, addr: host(endpointInetAddr)},
			b:  p2pEnd{ns: RouterNetns(t.Prefix, id), name: endpointLinkName(t.Prefix, id), addr: host(addr)},
		})
		ip.routes = append(ip.routes, routeSpec{table: mainTable, dst: host(addr), kind: routeUnicast, dev: end})
	}
	slices.SortFunc(ip.links, func(a, b p2pLink) int { return strings.Compare(a.a.name, b.a.name) })
	for _, v := range t.VPCs {
		if v.Gateway == "" {
			continue
		}
		end := uplinkName(t.Prefix, v.ID)
		ip.links = append(ip.links, p2pLink{
			id: v.Gateway,
			a:  p2pEnd{ns: ip.ns, name: end, addr: host(inetSideAddr)},
			b:  p2pEnd{ns: RouterNetns(t.Prefix, v.ID), name: gatewayLinkName(t.Prefix, v.ID), addr: host(uplinkSideAddr)},
		})
		for _, p := range v.PublicIPs {
			if err := claim(p.Public, v.ID); err != nil {
				return nil, err
			}
			if InternetHosts.Contains(p.Public) {
				return nil, fmt.Errorf("netplane: %s: public address %s is in the internet hosts' range %s", v.ID, p.Public, InternetHosts)
			}
			ip.routes = append(ip.routes, routeSpec{table: mainTable, dst: host(p.Public), kind: routeUnicast, dev: end, gw: uplinkSideAddr})
		}
	}
	slices.SortFunc(ip.routes, compareRoutes)
	return ip, nil
}

// planPeerings gives each peering whose two VPCs are in t a link with a
// /30 of peeringBlock chosen from its id (the next free one on collision,
// in id order, so that addresses survive other peerings coming and going).
func planPeerings(t Topology) (map[string]p2pLink, error) {
	vpcs := map[string]bool{}
	for _, v := range t.VPCs {
		vpcs[v.ID] = true
	}
	ps := slices.Clone(t.Peerings)
	slices.SortFunc(ps, func(a, b Peering) int { return strings.Compare(a.ID, b.ID) })
	links := map[string]p2pLink{}
	used := map[int]bool{}
	const slots = 1 << (32 - 20 - 2)
	for _, p := range ps {
		if p.ID == "" || links[p.ID].id != "" {
			return nil, fmt.Errorf("netplane: peering id %q is empty or repeated", p.ID)
		}
		if p.VPCs[0] == p.VPCs[1] {
			return nil, fmt.Errorf("netplane: peering %s joins VPC %s to itself", p.ID, p.VPCs[0])
		}
		if !vpcs[p.VPCs[0]] || !vpcs[p.VPCs[1]] {
			continue // its routes become blackholes
		}
		sum := sha256.Sum256([]byte(p.ID))
		n := int(binary.BigEndian.Uint32(sum[:4]) % slots)
		for i := 0; used[n]; i++ {
			if i == slots {
				return nil, fmt.Errorf("netplane: more than %d peering connections", slots)
			}
			n = (n + 1) % slots
		}
		used[n] = true
		base := peeringBlock.Addr().As4()
		off := binary.BigEndian.Uint32(base[:]) + uint32(n*4)
		binary.BigEndian.PutUint32(base[:], off+1)
		a := netip.AddrFrom4(base)
		links[p.ID] = p2pLink{
			id: p.ID,
			a:  p2pEnd{ns: RouterNetns(t.Prefix, p.VPCs[0]), name: peeringLinkName(t.Prefix, p.ID, p.VPCs[0]), addr: netip.PrefixFrom(a, 30)},
			b:  p2pEnd{ns: RouterNetns(t.Prefix, p.VPCs[1]), name: peeringLinkName(t.Prefix, p.ID, p.VPCs[1]), addr: netip.PrefixFrom(a.Next(), 30)},
		}
	}
	return links, nil
}

// endIn returns the end of l in namespace ns and the other end.
func (l p2pLink) endIn(ns string) (mine, other p2pEnd) {
	if l.a.ns == ns {
		return l.a, l.b
	}
	return l.b, l.a
}

// natGatewayTable is the inet table of a NAT gateway's namespace.
func natGatewayTable(prefix string) string { return nftIdent(prefix) + "_nat" }

// compileNATGateway returns the nft script of a NAT gateway's namespace:
// it forwards new flows arriving on its interface back out of it,
// masqueraded to its own address, lets replies back, and accepts no
// connection of its own.
func compileNATGateway(prefix, link string, addr netip.Addr) string {
	t := natGatewayTable(prefix)
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", t, t)
	fmt.Fprintf(&b, "table inet %s {\n", t)
	b.WriteString(chain("input", []string{
		"type filter hook input priority filter; policy drop;",
		"ct state established,related accept",
		`iifname "lo" accept`,
	}))
	b.WriteString(chain("forward", []string{
		"type filter hook forward priority filter; policy drop;",
		"ct state established,related accept",
		fmt.Sprintf("iifname %q oifname %q ct state new accept", link, link),
	}))
	b.WriteString(chain("postrouting", []string{
		"type nat hook postrouting priority srcnat; policy accept;",
		fmt.Sprintf("oifname %q ip saddr != %s masquerade", link, addr),
	}))
	b.WriteString("}\n")
	return b.String()
}
