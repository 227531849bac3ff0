// Package netplane is the only package that needs root: it realizes the
// VPC model (as the EC2 control plane stores it) in the Linux kernel with
// network namespaces, veth pairs, routes, policy rules and nftables, so
// that packets go where AWS would send them and nowhere else.
//
// The controller (not here) turns the EC2 state into a Topology and calls
// Apply; Apply converges the kernel to it, creating what is missing and
// removing what is stale (crash leftovers included), and is idempotent.
package netplane

import "net/netip"

// Topology is the desired network. Every kernel object Apply makes is
// named from Prefix ("lp" + a random part per server, so that tests and
// servers never touch each other's objects).
type Topology struct {
	Prefix string
	VPCs   []VPC
	// Internet makes the simulated internet: a namespace holding every
	// public address, joined to each VPC that has an internet gateway, and
	// the Lambda-owned network of functions without VpcConfig.
	Internet bool
	// Peerings are the active peering connections; a peering link carries
	// only what routes naming it send, in both VPCs.
	Peerings []Peering
}

// Peering joins the router namespaces of two VPCs.
type Peering struct {
	ID   string // pcx-...
	VPCs [2]string
}

// VPC is one VPC router namespace and everything realized inside it.
type VPC struct {
	ID          string // vpc-...
	CIDRs       []netip.Prefix
	Subnets     []Subnet
	RouteTables []RouteTable
	ENIs        []ENI
	Groups      []SecurityGroup
	ACLs        []NetworkACL
	// Gateway is the attached internet gateway (igw-...), "" for none. Its
	// routes and public addresses need Topology.Internet.
	Gateway string
	// DNS are the addresses of the VPC's resolver (base+2 and
	// 169.254.169.253): local to its router, where the controller serves
	// DNS on them. Empty when the VPC's DNS support is off.
	DNS []netip.Addr
	// PublicIPs map ENI addresses one to one to public ones (Elastic IPs,
	// public IPs given at launch) at the internet gateway.
	PublicIPs []PublicIP
}

// PublicIP is the public address of one private address.
type PublicIP struct {
	Private, Public netip.Addr
}

// Subnet is an address range of the VPC; base+1 is its router address.
type Subnet struct {
	ID         string
	CIDR       netip.Prefix
	RouteTable string // rtb-... (the main table when not associated)
	ACL        string // acl-...
}

// RouteTable holds the non-local routes of one route table.
type RouteTable struct {
	ID     string
	Routes []Route
}

// RouteTarget says where a route sends packets.
type RouteTarget int

const (
	// TargetBlackhole drops (its target is gone): DescribeRouteTables shows blackhole.
	TargetBlackhole RouteTarget = iota
	// TargetENI sends to one of the VPC's interfaces (ENI, instance, NAT gateway's interface).
	TargetENI
	// TargetGateway sends to the VPC's internet gateway.
	TargetGateway
	// TargetPeering sends over a peering link.
	TargetPeering
	// TargetEndpoint sends to an AWS service through a gateway endpoint
	// (Via is its vpce-...): privately, without internet gateway or NAT.
	TargetEndpoint
)

// Route is one route of a route table.
type Route struct {
	Dst    netip.Prefix
	Target RouteTarget
	// Via is the target's id: eni-... for TargetENI, igw-..., pcx-...
	Via string
}

// ENI is one network interface: a veth pair whose router side lives in the
// VPC router namespace and whose workload side lives in Netns.
type ENI struct {
	ID       string // eni-...
	SubnetID string
	IP       netip.Addr
	MAC      string
	Groups   []string // sg-...
	// Netns is the named network namespace the workload side goes into;
	// Apply creates it (named from Prefix and ID) when it does not exist.
	Netns string
	// NAT makes the ENI's namespace a NAT gateway: it forwards what the
	// VPC sends it, masqueraded to the ENI's address, and accepts nothing
	// else. Groups do not filter it, as NAT gateways have none.
	NAT bool
	// Hyperplane marks a Lambda ENI: Apply loads the filter and NAT that
	// AttachEnvironment's environments sit behind into its namespace (and
	// so repairs them on every Apply).
	Hyperplane bool
}

// SecurityGroup is a group with its rules; references to other groups are
// already resolved to the member addresses.
type SecurityGroup struct {
	ID      string
	Ingress []Rule
	Egress  []Rule
}

// Rule allows traffic of one protocol and port range from (ingress) or to
// (egress) a set of prefixes.
type Rule struct {
	Protocol string // "-1" (all), "tcp", "udp", "icmp", or a protocol number
	FromPort int32  // -1 when the protocol has no ports; ICMP type for icmp
	ToPort   int32  // ICMP code for icmp (-1: any)
	Prefixes []netip.Prefix
}

// NetworkACL is a stateless, numbered rule list per direction.
type NetworkACL struct {
	ID      string
	Entries []ACLEntry
}

// ACLEntry is one numbered rule; lower numbers are evaluated first.
type ACLEntry struct {
	RuleNumber int32
	Egress     bool
	Protocol   string // "-1" or a protocol number
	Allow      bool
	CIDR       netip.Prefix
	FromPort   int32 // 0 and 0 when the protocol has no ports (or all ports)
	ToPort     int32
}
