// Package netctl is the controller that makes the kernel network follow the
// EC2 state: it translates an ec2.Snapshot into a netplane.Topology and
// applies it whenever the EC2 part of the store changes.
package netctl

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// natAvailable is the only NAT gateway state that forwards traffic; AWS
// shows routes to a gateway in any other state as blackhole.
const natAvailable = "available"

// peeringActive is the only peering status that carries traffic.
const peeringActive = "active"

// index is the snapshot looked up by id.
type index struct {
	enis      map[string]*ec2.NetworkInterface
	primary   map[string]*ec2.NetworkInterface // instance id → its device-index-0 interface
	nats      map[string]*ec2.NatGateway
	igws      map[string]*ec2.InternetGateway
	peerings  map[string]*ec2.Peering
	endpoints map[string]*ec2.Endpoint
	members   map[string][]netip.Prefix // sg id → /32 of every interface in the group
	subnetRTB map[string]string         // subnet id → explicitly associated route table
	mainRTB   map[string]string         // vpc id → route table with the main association
	subnetACL map[string]string         // subnet id → associated network ACL
}

func newIndex(s ec2.Snapshot) *index {
	x := &index{
		enis:      map[string]*ec2.NetworkInterface{},
		primary:   map[string]*ec2.NetworkInterface{},
		nats:      map[string]*ec2.NatGateway{},
		igws:      map[string]*ec2.InternetGateway{},
		peerings:  map[string]*ec2.Peering{},
		endpoints: map[string]*ec2.Endpoint{},
		members:   map[string][]netip.Prefix{},
		subnetRTB: map[string]string{},
		mainRTB:   map[string]string{},
		subnetACL: map[string]string{},
	}
	for _, e := range s.NetworkInterfaces {
		x.enis[e.ID] = e
		if a := e.Attachment; a != nil && a.InstanceID != "" && a.DeviceIndex == 0 {
			x.primary[a.InstanceID] = e
		}
		// Group references follow membership: an interface counts wherever
		// it is, so references across peered VPCs resolve as well.
		if ip, err := netip.ParseAddr(e.PrivateIP); err == nil {
			for _, g := range e.Groups {
				x.members[g] = append(x.members[g], netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
	}
	for _, n := range s.NatGateways {
		x.nats[n.ID] = n
	}
	for _, g := range s.InternetGateways {
		x.igws[g.ID] = g
	}
	for _, p := range s.Peerings {
		x.peerings[p.ID] = p
	}
	for _, e := range s.Endpoints {
		x.endpoints[e.ID] = e
	}
	for _, rt := range s.RouteTables {
		for _, a := range rt.Associations {
			switch {
			case a.Main:
				x.mainRTB[rt.VpcID] = rt.ID
			case a.SubnetID != "":
				x.subnetRTB[a.SubnetID] = rt.ID
			}
		}
	}
	for _, acl := range s.NetworkACLs {
		for _, a := range acl.Associations {
			x.subnetACL[a.SubnetID] = acl.ID
		}
	}
	return x
}

// Topology translates the EC2 state into the network netplane realizes.
// It is pure: the same snapshot always gives the same (sorted) Topology.
// Things the data plane cannot realize (IPv6) are left out rather than
// failing the whole topology.
func Topology(prefix string, s ec2.Snapshot) netplane.Topology {
	x := newIndex(s)
	t := netplane.Topology{Prefix: prefix, Internet: true}
	for _, v := range s.Vpcs {
		t.VPCs = append(t.VPCs, x.vpc(v, s))
	}
	slices.SortFunc(t.VPCs, func(a, b netplane.VPC) int { return cmp.Compare(a.ID, b.ID) })
	for _, p := range s.Peerings {
		if p.Status == peeringActive {
			t.Peerings = append(t.Peerings, netplane.Peering{ID: p.ID, VPCs: [2]string{p.RequesterVpcID, p.AccepterVpcID}})
		}
	}
	slices.SortFunc(t.Peerings, func(a, b netplane.Peering) int { return cmp.Compare(a.ID, b.ID) })
	return t
}

func (x *index) vpc(v *ec2.Vpc, s ec2.Snapshot) netplane.VPC {
	out := netplane.VPC{ID: v.ID, DNS: resolverAddrs(v)}
	for _, a := range v.CidrAssociations {
		if p, err := netip.ParsePrefix(a.CidrBlock); err == nil && p.Addr().Is4() {
			out.CIDRs = append(out.CIDRs, p.Masked())
		}
	}
	slices.SortFunc(out.CIDRs, comparePrefix)
	out.CIDRs = slices.Compact(out.CIDRs)

	subnets := map[string]bool{}
	for _, sn := range s.Subnets {
		if sn.VpcID != v.ID {
			continue
		}
		p, err := netip.ParsePrefix(sn.CidrBlock)
		if err != nil || !p.Addr().Is4() {
			continue
		}
		rtb, ok := x.subnetRTB[sn.ID]
		if !ok {
			rtb = cmp.Or(x.mainRTB[v.ID], v.MainRouteTableID)
		}
		acl, ok := x.subnetACL[sn.ID]
		if !ok {
			// Every subnet has an ACL on AWS; a subnet caught without one
			// gets its VPC's default rather than no filtering at all.
			acl = v.DefaultACLID
		}
		subnets[sn.ID] = true
		out.Subnets = append(out.Subnets, netplane.Subnet{ID: sn.ID, CIDR: p.Masked(), RouteTable: rtb, ACL: acl})
	}
	slices.SortFunc(out.Subnets, func(a, b netplane.Subnet) int { return cmp.Compare(a.ID, b.ID) })

	vpcENIs := map[string]bool{}
	for _, e := range s.NetworkInterfaces {
		if e.VpcID != v.ID || !subnets[e.SubnetID] {
			continue
		}
		ip, err := netip.ParseAddr(e.PrivateIP)
		if err != nil || !ip.Is4() {
			continue
		}
		groups := slices.Clone(e.Groups)
		slices.Sort(groups)
		vpcENIs[e.ID] = true
		out.ENIs = append(out.ENIs, netplane.ENI{ID: e.ID, SubnetID: e.SubnetID, IP: ip, MAC: e.MAC,
			Groups: slices.Compact(groups), NAT: e.InterfaceType == "nat_gateway", Hyperplane: e.InterfaceType == "lambda"})
		if pub, err := netip.ParseAddr(e.PublicIP); err == nil && pub.Is4() {
			out.PublicIPs = append(out.PublicIPs, netplane.PublicIP{Private: ip, Public: pub})
		}
	}
	slices.SortFunc(out.ENIs, func(a, b netplane.ENI) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(out.PublicIPs, func(a, b netplane.PublicIP) int { return a.Private.Compare(b.Private) })
	for _, g := range s.InternetGateways {
		if g.VpcID == v.ID {
			out.Gateway = g.ID
		}
	}

	for _, rt := range s.RouteTables {
		if rt.VpcID != v.ID {
			continue
		}
		out.RouteTables = append(out.RouteTables, x.routeTable(v, rt, out.CIDRs, vpcENIs))
	}
	slices.SortFunc(out.RouteTables, func(a, b netplane.RouteTable) int { return cmp.Compare(a.ID, b.ID) })

	for _, g := range s.SecurityGroups {
		if g.VpcID != v.ID {
			continue
		}
		out.Groups = append(out.Groups, netplane.SecurityGroup{ID: g.ID, Ingress: x.rules(g.Ingress), Egress: x.rules(g.Egress)})
	}
	slices.SortFunc(out.Groups, func(a, b netplane.SecurityGroup) int { return cmp.Compare(a.ID, b.ID) })

	for _, a := range s.NetworkACLs {
		if a.VpcID != v.ID {
			continue
		}
		out.ACLs = append(out.ACLs, netplane.NetworkACL{ID: a.ID, Entries: aclEntries(a.Entries)})
	}
	slices.SortFunc(out.ACLs, func(a, b netplane.NetworkACL) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (x *index) routeTable(v *ec2.Vpc, rt *ec2.RouteTable, cidrs []netip.Prefix, vpcENIs map[string]bool) netplane.RouteTable {
	out := netplane.RouteTable{ID: rt.ID}
	seen := map[netip.Prefix]bool{}
	for _, r := range rt.Routes {
		if r.DestinationPrefixListID != "" {
			for _, dst := range x.endpointRoute(v, r) {
				if !seen[dst] {
					seen[dst] = true
					out.Routes = append(out.Routes, netplane.Route{Dst: dst, Target: netplane.TargetEndpoint, Via: cmp.Or(r.VpcEndpointID, r.GatewayID)})
				}
			}
			continue
		}
		dst, err := netip.ParsePrefix(r.Destination)
		if err != nil || !dst.Addr().Is4() {
			continue // IPv6 is not realized
		}
		dst = dst.Masked()
		if seen[dst] || slices.Contains(cidrs, dst) {
			continue
		}
		target, via, ok := x.target(v, r, vpcENIs)
		if !ok {
			continue
		}
		seen[dst] = true
		out.Routes = append(out.Routes, netplane.Route{Dst: dst, Target: target, Via: via})
	}
	slices.SortFunc(out.Routes, func(a, b netplane.Route) int { return comparePrefix(a.Dst, b.Dst) })
	return out
}

// endpointRoute is the ranges of a gateway endpoint's prefix-list route,
// while the endpoint is available; none otherwise (AWS removes the routes
// of an endpoint being deleted).
func (x *index) endpointRoute(v *ec2.Vpc, r ec2.Route) []netip.Prefix {
	ep, ok := x.endpoints[cmp.Or(r.VpcEndpointID, r.GatewayID)]
	if !ok || ep.VpcID != v.ID || ep.Type != "Gateway" || ep.State != "available" {
		return nil
	}
	for _, pl := range ec2.GatewayPrefixLists(v.Region) {
		if pl.ID == r.DestinationPrefixListID {
			return pl.CIDRs
		}
	}
	return nil
}

// target resolves where a route sends traffic now; ok is false for routes
// that are left out (gateway endpoints).
func (x *index) target(v *ec2.Vpc, r ec2.Route, vpcENIs map[string]bool) (netplane.RouteTarget, string, bool) {
	eni := func(id string) (netplane.RouteTarget, string, bool) {
		if id != "" && vpcENIs[id] {
			return netplane.TargetENI, id, true
		}
		return netplane.TargetBlackhole, "", true
	}
	switch {
	case r.NatGatewayID != "":
		if n, ok := x.nats[r.NatGatewayID]; ok && n.State == natAvailable {
			return eni(n.NetworkInterfaceID)
		}
		return netplane.TargetBlackhole, "", true
	case r.NetworkInterfaceID != "":
		return eni(r.NetworkInterfaceID)
	case r.InstanceID != "":
		if e, ok := x.primary[r.InstanceID]; ok {
			return eni(e.ID)
		}
		return netplane.TargetBlackhole, "", true
	case r.VpcPeeringConnectionID != "":
		if p, ok := x.peerings[r.VpcPeeringConnectionID]; ok && p.Status == peeringActive && (p.RequesterVpcID == v.ID || p.AccepterVpcID == v.ID) {
			return netplane.TargetPeering, p.ID, true
		}
		return netplane.TargetBlackhole, "", true
	case strings.HasPrefix(r.GatewayID, "igw-"):
		if g, ok := x.igws[r.GatewayID]; ok && g.VpcID == v.ID {
			return netplane.TargetGateway, g.ID, true
		}
		return netplane.TargetBlackhole, "", true
	case r.GatewayID != "", r.VpcEndpointID != "":
		return 0, "", false // gateway endpoints: not realized yet
	}
	return netplane.TargetBlackhole, "", true
}

// rules converts group rules; a reference to a group becomes the addresses
// of the group's current members, and a rule whose source resolves to
// nothing (an empty group, a prefix list) is left out.
func (x *index) rules(in []ec2.SGRule) []netplane.Rule {
	var out []netplane.Rule
	for _, r := range in {
		var ps []netip.Prefix
		switch {
		case r.CidrIPv4 != "":
			if p, err := netip.ParsePrefix(r.CidrIPv4); err == nil {
				ps = append(ps, p.Masked())
			}
		case r.CidrIPv6 != "":
			if p, err := netip.ParsePrefix(r.CidrIPv6); err == nil {
				ps = append(ps, p.Masked())
			}
		case r.GroupID != "":
			ps = slices.Clone(x.members[r.GroupID])
		}
		if len(ps) == 0 {
			continue
		}
		slices.SortFunc(ps, comparePrefix)
		out = append(out, netplane.Rule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, Prefixes: slices.Compact(ps)})
	}
	slices.SortFunc(out, compareRule)
	return out
}

func aclEntries(in []ec2.ACLEntry) []netplane.ACLEntry {
	var out []netplane.ACLEntry
	for _, e := range in {
		cidr := e.CidrBlock
		if cidr == "" {
			cidr = e.Ipv6CidrBlock
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			continue
		}
		ne := netplane.ACLEntry{RuleNumber: e.RuleNumber, Egress: e.Egress, Protocol: aclProtocol(e.Protocol), Allow: e.Allow, CIDR: p.Masked()}
		if e.FromPort != nil && e.ToPort != nil {
			ne.FromPort, ne.ToPort = *e.FromPort, *e.ToPort
		}
		out = append(out, ne)
	}
	slices.SortFunc(out, func(a, b netplane.ACLEntry) int {
		return cmp.Or(compareBool(a.Egress, b.Egress), cmp.Compare(a.RuleNumber, b.RuleNumber))
	})
	return out
}

// aclProtocol gives ACL protocols as numbers, the form the ACL API stores;
// names that slipped through are mapped so the entry keeps its meaning.
func aclProtocol(p string) string {
	switch strings.ToLower(p) {
	case "", "all", "-1":
		return "-1"
	case "tcp":
		return "6"
	case "udp":
		return "17"
	case "icmp":
		return "1"
	case "icmpv6":
		return "58"
	}
	if n, err := strconv.Atoi(p); err == nil {
		return strconv.Itoa(n)
	}
	return p
}

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

func compareRule(a, b netplane.Rule) int {
	return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.FromPort, b.FromPort),
		cmp.Compare(a.ToPort, b.ToPort), slices.CompareFunc(a.Prefixes, b.Prefixes, comparePrefix))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
