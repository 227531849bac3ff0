package netplane

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
)

const (
	// mainTable is Linux's main table: it holds the /32 route of every ENI,
	// the equivalent of the VPC's local route.
	mainTable = 254
	// tableBase keeps route table numbers clear of the reserved 0 and 253-255.
	tableBase = 1 << 16
	// rulePriority sits between the local (0) and main (32766) rules.
	rulePriority = 1000
)

type routeKind int

const (
	routeUnicast routeKind = iota
	routeThrow
	routeBlackhole
)

func (k routeKind) String() string {
	switch k {
	case routeThrow:
		return "throw"
	case routeBlackhole:
		return "blackhole"
	}
	return "unicast"
}

// routeSpec is a route as both the plan and the kernel dump see it, so that
// the two compare with ==.
type routeSpec struct {
	table int
	dst   netip.Prefix
	kind  routeKind
	dev   string     // empty for throw and blackhole
	gw    netip.Addr // zero when the route is on-link
}

func (r routeSpec) String() string {
	s := fmt.Sprintf("table %d %s %s", r.table, r.kind, r.dst)
	if r.gw.IsValid() {
		s += " via " + r.gw.String()
	}
	if r.dev != "" {
		s += " dev " + r.dev
	}
	return s
}

type ruleSpec struct {
	priority int
	src      netip.Prefix
	table    int
}

func (r ruleSpec) String() string {
	return fmt.Sprintf("%d: from %s lookup %d", r.priority, r.src, r.table)
}

// linkPlan is one ENI's veth pair.
type linkPlan struct {
	eniID      string
	name       string // router side, in the VPC router namespace
	peer       string // workload side, in peerNS
	peerNS     string
	mac        string
	routerAddr netip.Prefix // subnet base+1 as /32
	addr       netip.Prefix // ENI IP with the subnet's length
	gateway    netip.Addr
	// defaultRoute: a workload namespace gets one default route, through
	// the first of its ENIs in topology order.
	defaultRoute bool
	nat          bool
	hyperplane   bool
}

type vpcPlan struct {
	prefix string
	id     string
	ns     string
	links  []linkPlan
	rules  []ruleSpec
	routes []routeSpec
	// edges are the router's ends of its internet gateway and peering
	// links, which the router namespace keeps besides the ENIs' links.
	edges    []string
	peerings []string       // the edges that are peering ends, for the firewall
	dns      []netip.Prefix // on the router's loopback
	endpoint netip.Addr     // gateway endpoint traffic leaves as this
}

// plan is the kernel state a Topology stands for.
type plan struct {
	prefix string
	vpcs   []vpcPlan
	// workloadNS lists every ENI namespace, sorted; those owned by the
	// prefix are deleted once no ENI uses them, others are only created.
	workloadNS []string
	internet   *internetPlan // nil without Topology.Internet
	peerings   []p2pLink
}

// wantedNS is every owned namespace the plan keeps.
func (p *plan) wantedNS() map[string]bool {
	m := map[string]bool{}
	for _, v := range p.vpcs {
		m[v.ns] = true
	}
	for _, n := range p.workloadNS {
		if owned(p.prefix, n) {
			m[n] = true
		}
	}
	if p.internet != nil {
		m[p.internet.ns] = true
		m[p.internet.lambda] = true
	}
	return m
}

// edgesOf is what a VPC's routes can leave it through.
type edgesOf struct {
	gateway  bool // the VPC's internet gateway has a link
	peerings map[string]p2pLink
	// endpoint is the VPC's gateway endpoint address (invalid: no link).
	endpoint netip.Addr
}

// buildPlan validates t and derives its kernel state. It touches nothing.
func buildPlan(t Topology) (*plan, error) {
	if err := ValidatePrefix(t.Prefix); err != nil {
		return nil, err
	}
	p := &plan{prefix: t.Prefix}
	if t.Internet {
		var err error
		if p.internet, err = planInternet(t); err != nil {
			return nil, err
		}
	}
	peerings, err := planPeerings(t)
	if err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(peerings)) {
		p.peerings = append(p.peerings, peerings[id])
	}
	nsNames := map[string]string{}
	eniIDs := map[string]bool{}
	linkNames := map[string]string{}
	defaulted := map[string]bool{}
	workload := map[string]bool{}
	var endpoints map[string]netip.Addr
	if t.Internet {
		endpoints = endpointAddrs(t)
	}
	for _, v := range t.VPCs {
		vp, err := planVPC(t.Prefix, v, edgesOf{gateway: t.Internet && v.Gateway != "", peerings: peerings, endpoint: endpoints[v.ID]})
		if err != nil {
			return nil, err
		}
		if other, dup := nsNames[vp.ns]; dup {
			return nil, fmt.Errorf("netplane: VPCs %s and %s map to the same namespace %s", other, v.ID, vp.ns)
		}
		nsNames[vp.ns] = v.ID
		// Topology order, not the plan's sorted order, decides which ENI
		// of a shared namespace carries its default route.
		for _, e := range v.ENIs {
			i := slices.IndexFunc(vp.links, func(l linkPlan) bool { return l.eniID == e.ID })
			l := &vp.links[i]
			if eniIDs[l.eniID] {
				return nil, fmt.Errorf("netplane: ENI %s appears twice", l.eniID)
			}
			eniIDs[l.eniID] = true
			for _, n := range []string{l.name, l.peer} {
				if other, dup := linkNames[n]; dup {
					return nil, fmt.Errorf("netplane: ENIs %s and %s map to the same link name %s", other, l.eniID, n)
				}
				linkNames[n] = l.eniID
			}
			if !defaulted[l.peerNS] {
				defaulted[l.peerNS] = true
				l.defaultRoute = true
			}
			workload[l.peerNS] = true
		}
		p.vpcs = append(p.vpcs, vp)
	}
	if p.internet != nil && workload[p.internet.lambda] {
		return nil, fmt.Errorf("netplane: an ENI uses the Lambda network's namespace %s", p.internet.lambda)
	}
	for n := range workload {
		if vpc, clash := nsNames[n]; clash {
			return nil, fmt.Errorf("netplane: ENI namespace %s is the router namespace of %s", n, vpc)
		}
		p.workloadNS = append(p.workloadNS, n)
	}
	slices.Sort(p.workloadNS)
	return p, nil
}

func planVPC(prefix string, v VPC, edges edgesOf) (vpcPlan, error) {
	vp := vpcPlan{prefix: prefix, id: v.ID, ns: RouterNetns(prefix, v.ID)}
	if v.ID == "" {
		return vp, fmt.Errorf("netplane: VPC without an id")
	}
	if len(v.CIDRs) == 0 {
		return vp, fmt.Errorf("netplane: VPC %s has no CIDR", v.ID)
	}
	var cidrs []netip.Prefix
	for _, c := range v.CIDRs {
		if !c.IsValid() || !c.Addr().Is4() {
			return vp, fmt.Errorf("netplane: VPC %s: CIDR %s is not IPv4", v.ID, c)
		}
		cidrs = append(cidrs, c.Masked())
	}
	inVPC := func(p netip.Prefix) bool {
		for _, c := range cidrs {
			if c.Bits() <= p.Bits() && c.Contains(p.Addr()) {
				return true
			}
		}
		return false
	}

	tables, err := assignTables(v)
	if err != nil {
		return vp, err
	}

	subnets := map[string]Subnet{}
	for _, s := range v.Subnets {
		if _, dup := subnets[s.ID]; dup || s.ID == "" {
			return vp, fmt.Errorf("netplane: VPC %s: subnet id %q is empty or repeated", v.ID, s.ID)
		}
		if !s.CIDR.IsValid() || !s.CIDR.Addr().Is4() || s.CIDR.Bits() > 30 {
			return vp, fmt.Errorf("netplane: subnet %s: CIDR %s must be IPv4 and at most /30", s.ID, s.CIDR)
		}
		s.CIDR = s.CIDR.Masked()
		if !inVPC(s.CIDR) {
			return vp, fmt.Errorf("netplane: subnet %s: CIDR %s is outside VPC %s", s.ID, s.CIDR, v.ID)
		}
		for _, o := range subnets {
			if o.CIDR.Overlaps(s.CIDR) {
				return vp, fmt.Errorf("netplane: subnets %s and %s overlap", o.ID, s.ID)
			}
		}
		table, ok := tables[s.RouteTable]
		if !ok {
			return vp, fmt.Errorf("netplane: subnet %s: route table %q is not in VPC %s", s.ID, s.RouteTable, v.ID)
		}
		subnets[s.ID] = s
		vp.rules = append(vp.rules, ruleSpec{priority: rulePriority, src: s.CIDR, table: table})
	}

	enis := map[string]linkPlan{}
	ips := map[netip.Addr]string{}
	for _, e := range v.ENIs {
		l, err := planENI(prefix, subnets, e)
		if err != nil {
			return vp, err
		}
		if _, dup := enis[e.ID]; dup {
			return vp, fmt.Errorf("netplane: ENI %s appears twice", e.ID)
		}
		if other, dup := ips[e.IP]; dup {
			return vp, fmt.Errorf("netplane: ENIs %s and %s share address %s", other, e.ID, e.IP)
		}
		ips[e.IP] = e.ID
		l.nat, l.hyperplane = e.NAT, e.Hyperplane
		enis[e.ID] = l
		vp.links = append(vp.links, l)
		vp.routes = append(vp.routes, routeSpec{
			table: mainTable, dst: netip.PrefixFrom(e.IP, 32), kind: routeUnicast, dev: l.name,
		})
	}

	for _, rt := range v.RouteTables {
		table := tables[rt.ID]
		for _, c := range cidrs {
			vp.routes = append(vp.routes, routeSpec{table: table, dst: c, kind: routeThrow})
		}
		seen := map[netip.Prefix]bool{}
		for _, r := range rt.Routes {
			if !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
				return vp, fmt.Errorf("netplane: route table %s: destination %s is not IPv4", rt.ID, r.Dst)
			}
			dst := r.Dst.Masked()
			if seen[dst] || slices.Contains(cidrs, dst) {
				return vp, fmt.Errorf("netplane: route table %s: destination %s is repeated or is the local route", rt.ID, dst)
			}
			seen[dst] = true
			switch r.Target {
			case TargetBlackhole:
				vp.routes = append(vp.routes, routeSpec{table: table, dst: dst, kind: routeBlackhole})
			case TargetENI:
				l, ok := enis[r.Via]
				if !ok {
					return vp, fmt.Errorf("netplane: route table %s: target %q is not an ENI of VPC %s", rt.ID, r.Via, v.ID)
				}
				vp.routes = append(vp.routes, routeSpec{
					table: table, dst: dst, kind: routeUnicast, dev: l.name, gw: l.addr.Addr(),
				})
			case TargetGateway:
				if !edges.gateway || r.Via != v.Gateway {
					vp.routes = append(vp.routes, routeSpec{table: table, dst: dst, kind: routeBlackhole})
					continue
				}
				vp.routes = append(vp.routes, routeSpec{
					table: table, dst: dst, kind: routeUnicast, dev: gatewayLinkName(prefix, v.ID), gw: inetSideAddr,
				})
			case TargetEndpoint:
				if !edges.endpoint.IsValid() {
					vp.routes = append(vp.routes, routeSpec{table: table, dst: dst, kind: routeBlackhole})
					continue
				}
				vp.routes = append(vp.routes, routeSpec{
					table: table, dst: dst, kind: routeUnicast, dev: endpointLinkName(prefix, v.ID), gw: endpointInetAddr,
				})
			case TargetPeering:
				l, ok := edges.peerings[r.Via]
				if !ok || (l.a.ns != vp.ns && l.b.ns != vp.ns) {
					vp.routes = append(vp.routes, routeSpec{table: table, dst: dst, kind: routeBlackhole})
					continue
				}
				mine, other := l.endIn(vp.ns)
				vp.routes = append(vp.routes, routeSpec{
					table: table, dst: dst, kind: routeUnicast, dev: mine.name, gw: other.addr.Addr(),
				})
			default:
				return vp, fmt.Errorf("netplane: route table %s: unknown target %d", rt.ID, r.Target)
			}
		}
	}
	// What the main table (ENIs' /32s, reached through the route tables'
	// throw routes) does not hold is dropped silently, as AWS drops it,
	// rather than answered with ICMP unreachable.
	vp.routes = append(vp.routes, routeSpec{table: mainTable, dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), kind: routeBlackhole})
	if edges.gateway {
		link := gatewayLinkName(prefix, v.ID)
		vp.edges = append(vp.edges, link)
		// The internet side's address must be routable from the main table
		// too: reverse-path filtering checks ARP requests against it.
		vp.routes = append(vp.routes, routeSpec{table: mainTable, dst: host(inetSideAddr), kind: routeUnicast, dev: link})
		for _, p := range v.PublicIPs {
			if _, ok := ips[p.Private]; !ok {
				return vp, fmt.Errorf("netplane: VPC %s: public address %s maps to %s, which no ENI of the VPC holds", v.ID, p.Public, p.Private)
			}
		}
	}
	if edges.endpoint.IsValid() {
		link := endpointLinkName(prefix, v.ID)
		vp.edges = append(vp.edges, link)
		vp.endpoint = edges.endpoint
		vp.routes = append(vp.routes, routeSpec{table: mainTable, dst: host(endpointInetAddr), kind: routeUnicast, dev: link})
	}
	for _, l := range edges.peerings {
		if l.a.ns == vp.ns || l.b.ns == vp.ns {
			mine, _ := l.endIn(vp.ns)
			vp.edges = append(vp.edges, mine.name)
			vp.peerings = append(vp.peerings, mine.name)
		}
	}
	for _, a := range v.DNS {
		if !a.Is4() {
			return vp, fmt.Errorf("netplane: VPC %s: resolver address %s is not IPv4", v.ID, a)
		}
		if _, taken := ips[a]; taken {
			return vp, fmt.Errorf("netplane: VPC %s: resolver address %s is an ENI's", v.ID, a)
		}
		vp.dns = append(vp.dns, host(a))
	}
	sortPlan(&vp)
	return vp, nil
}

func planENI(prefix string, subnets map[string]Subnet, e ENI) (linkPlan, error) {
	if e.ID == "" {
		return linkPlan{}, fmt.Errorf("netplane: ENI without an id")
	}
	s, ok := subnets[e.SubnetID]
	if !ok {
		return linkPlan{}, fmt.Errorf("netplane: ENI %s: subnet %q is not in its VPC", e.ID, e.SubnetID)
	}
	gw := s.CIDR.Addr().Next()
	if !e.IP.Is4() || !s.CIDR.Contains(e.IP) || e.IP == s.CIDR.Addr() || e.IP == gw || e.IP == lastAddr(s.CIDR) {
		return linkPlan{}, fmt.Errorf("netplane: ENI %s: address %s is not a host address of subnet %s (%s)", e.ID, e.IP, s.ID, s.CIDR)
	}
	mac := e.MAC
	if mac == "" {
		mac = eniMAC(e.ID)
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 || hw[0]&1 == 1 {
		return linkPlan{}, fmt.Errorf("netplane: ENI %s: %q is not a unicast Ethernet address", e.ID, mac)
	}
	ns := e.Netns
	if ns == "" {
		ns = ENINetns(prefix, e.ID)
	}
	if ns == "." || ns == ".." || strings.ContainsAny(ns, "/\x00") || len(ns) > 255 {
		return linkPlan{}, fmt.Errorf("netplane: ENI %s: namespace name %q is invalid", e.ID, ns)
	}
	return linkPlan{
		eniID:      e.ID,
		name:       routerLinkName(prefix, e.ID),
		peer:       workloadLinkName(prefix, e.ID),
		peerNS:     ns,
		mac:        hw.String(),
		routerAddr: netip.PrefixFrom(gw, 32),
		addr:       netip.PrefixFrom(e.IP, s.CIDR.Bits()),
		gateway:    gw,
	}, nil
}

// assignTables gives each route table a number derived from its id, so
// that numbers survive other tables coming and going; a collision moves
// the later id (in sorted order) to the next free number.
func assignTables(v VPC) (map[string]int, error) {
	ids := make([]string, 0, len(v.RouteTables))
	for _, rt := range v.RouteTables {
		if rt.ID == "" || slices.Contains(ids, rt.ID) {
			return nil, fmt.Errorf("netplane: VPC %s: route table id %q is empty or repeated", v.ID, rt.ID)
		}
		ids = append(ids, rt.ID)
	}
	slices.Sort(ids)
	tables := map[string]int{}
	used := map[int]bool{}
	for _, id := range ids {
		sum := sha256.Sum256([]byte(id))
		n := tableBase + int(binary.BigEndian.Uint32(sum[:4])>>8)
		for used[n] {
			n++
		}
		used[n] = true
		tables[id] = n
	}
	return tables, nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

func sortPlan(vp *vpcPlan) {
	slices.SortFunc(vp.links, func(a, b linkPlan) int { return cmp.Compare(a.name, b.name) })
	slices.SortFunc(vp.rules, compareRules)
	slices.SortFunc(vp.routes, compareRoutes)
	slices.Sort(vp.edges)
	slices.Sort(vp.peerings)
}

func compareRules(a, b ruleSpec) int {
	return cmp.Or(cmp.Compare(a.priority, b.priority), a.src.Addr().Compare(b.src.Addr()),
		cmp.Compare(a.src.Bits(), b.src.Bits()), cmp.Compare(a.table, b.table))
}

func compareRoutes(a, b routeSpec) int {
	return cmp.Or(cmp.Compare(a.table, b.table), a.dst.Addr().Compare(b.dst.Addr()),
		cmp.Compare(a.dst.Bits(), b.dst.Bits()), cmp.Compare(a.kind, b.kind),
		cmp.Compare(a.dev, b.dev), a.gw.Compare(b.gw))
}

// diff returns what must be added to have and what removed from it to reach
// want. Removals come first when applied, so that a changed route (same
// table and destination, another target) never meets EEXIST.
func diff[T comparable](want, have []T) (add, del []T) {
	inHave := map[T]bool{}
	for _, h := range have {
		inHave[h] = true
	}
	inWant := map[T]bool{}
	for _, w := range want {
		inWant[w] = true
		if !inHave[w] {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !inWant[h] {
			del = append(del, h)
		}
	}
	return add, del
}
