package netplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// applyMu serializes Apply and Teardown of this process: two reconcilers
// interleaving on the same namespaces would undo each other's steps.
var applyMu sync.Mutex

// Apply converges the kernel to t: it creates what is missing, repairs
// what drifted and removes every namespace (with its links, routes and
// rules) named with t.Prefix that t no longer holds, leftovers of a crash
// included. Applying the same topology twice changes nothing.
func Apply(ctx context.Context, t Topology) error {
	_, err := apply(ctx, t)
	return err
}

// ApplyReport is Apply that also says what it changed, one line per
// kernel change, in the order made: "created namespace ...", "added route
// ...". Nothing to say means the kernel already matched t. On error the
// lines are what was changed before it.
func ApplyReport(ctx context.Context, t Topology) ([]string, error) {
	return apply(ctx, t)
}

// Teardown removes every namespace named with prefix, and with them every
// link, address, route and rule Apply made.
func Teardown(prefix string) error {
	if err := ValidatePrefix(prefix); err != nil {
		return err
	}
	applyMu.Lock()
	defer applyMu.Unlock()
	names, err := ownedNS(prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, removeNS(n))
	}
	return errors.Join(errs...)
}

// RemoveEnvironments removes every execution environment namespace named
// with prefix, with its link to its ENI. A starting server calls it: the
// environments of a previous run died with it, and Apply leaves these
// namespaces alone.
func RemoveEnvironments(prefix string) error {
	_, err := RemoveEnvironmentsReport(prefix)
	return err
}

// RemoveEnvironmentsReport is RemoveEnvironments that also returns the
// names of the namespaces it removed.
func RemoveEnvironmentsReport(prefix string) ([]string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	hyperplaneMu.Lock()
	defer hyperplaneMu.Unlock()
	names, err := ownedNS(prefix)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, n := range names {
		if !isEnvNetns(prefix, n) {
			continue
		}
		if err := removeNS(n); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, n)
	}
	return removed, errors.Join(errs...)
}

// reconciler writes a line for every kernel change it makes: a second
// Apply must write none, and lambdaplane doctor shows them to the user.
type reconciler struct {
	ctx context.Context
	// ns is the namespace the running step works in, for the lines.
	ns string
	// labels say what an object name stands for ("router of vpc-1").
	labels map[string]string
	report []string
}

func apply(ctx context.Context, t Topology) ([]string, error) {
	p, err := buildPlan(t)
	if err != nil {
		return nil, err
	}
	applyMu.Lock()
	defer applyMu.Unlock()
	r := &reconciler{ctx: ctx, labels: p.labels()}
	err = r.run(p, t)
	return r.report, err
}

func (r *reconciler) note(format string, args ...any) {
	r.report = append(r.report, fmt.Sprintf(format, args...))
}

// in is Do that lets the lines of fn name the namespace.
func (r *reconciler) in(ns string, fn func() error) error {
	prev := r.ns
	r.ns = ns
	defer func() { r.ns = prev }()
	return Do(ns, fn)
}

// name renders an object name with what it stands for, when known.
func (r *reconciler) name(n string) string {
	if l := r.labels[n]; l != "" {
		return n + " (" + l + ")"
	}
	return n
}

// where is " in <namespace>" for the step running now.
func (r *reconciler) where() string {
	if r.ns == "" {
		return ""
	}
	return " in " + r.name(r.ns)
}

func (r *reconciler) run(p *plan, t Topology) error {
	wanted := p.wantedNS()
	existing, err := ownedNS(p.prefix)
	if err != nil {
		return err
	}
	for _, n := range existing {
		if !wanted[n] && !isEnvNetns(p.prefix, n) {
			if err := removeNS(n); err != nil {
				return err
			}
			r.note("removed stale namespace %s", n)
		}
	}
	for _, v := range p.vpcs {
		if err := r.ensureNS(v.ns, r.routerSysctls); err != nil {
			return err
		}
	}
	if p.internet != nil {
		if err := r.ensureNS(p.internet.ns, r.internetSysctls); err != nil {
			return err
		}
		if err := r.ensureNS(p.internet.lambda, r.lambdaNetworkSysctls); err != nil {
			return err
		}
	}
	// The firewall goes in before any interface is (re)made, so that no
	// packet is ever forwarded unfiltered; its rules name interfaces, which
	// need not exist yet.
	for i, v := range t.VPCs {
		if !t.Internet {
			v.Gateway = ""
		}
		vp := p.vpcs[i]
		script := compileFirewall(t.Prefix, v, func(eniID string) string { return routerLinkName(t.Prefix, eniID) },
			vp.peerings, vp.endpoint)
		if err := ApplyFirewall(vp.ns, script); err != nil {
			return fmt.Errorf("netplane: VPC %s: firewall: %w", v.ID, err)
		}
	}
	for _, n := range p.workloadNS {
		if err := r.ensureNS(n, nil); err != nil {
			return err
		}
	}
	if err := r.reconcileEdges(p); err != nil {
		return err
	}
	for _, v := range p.vpcs {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.reconcileVPC(v); err != nil {
			return fmt.Errorf("netplane: VPC %s: %w", v.id, err)
		}
	}
	if p.internet != nil {
		return r.reconcileInternetRoutes(p.prefix, p.internet)
	}
	return nil
}

// ensureNS makes the namespace exist with its loopback up, then runs setup
// inside it.
func (r *reconciler) ensureNS(name string, setup func() error) error {
	created, err := ensureNS(name)
	if err != nil {
		return err
	}
	if created {
		r.note("created namespace %s", r.name(name))
	}
	return r.in(name, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := r.linkUp(lo); err != nil {
			return err
		}
		if setup != nil {
			return setup()
		}
		return nil
	})
}

// routerSysctls makes the namespace a router and keeps IPv6 off, so that
// workloads cannot reach the router over link-local addresses that no
// security group or route table governs. Strict reverse-path filtering is
// AWS's source check: a packet is forwarded only if it arrives on the veth
// its source is routed through, so an ENI cannot send as another address
// (a route table route through an ENI, as for a NAT instance, lets that
// ENI's traffic through).
func (r *reconciler) routerSysctls() error {
	for _, kv := range [][2]string{
		{"net.ipv6.conf.default.disable_ipv6", "1"},
		{"net.ipv6.conf.all.disable_ipv6", "1"},
		{"net.ipv4.conf.all.rp_filter", "1"},
		{"net.ipv4.ip_forward", "1"},
	} {
		if err := r.sysctl(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func (r *reconciler) sysctl(key, value string) error {
	changed, err := setSysctl(key, value)
	if changed {
		r.note("set sysctl %s=%s%s", key, value, r.where())
	}
	return err
}

func (r *reconciler) linkUp(l netlink.Link) error {
	if l.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	r.note("set link %s up%s", r.name(l.Attrs().Name), r.where())
	return netlink.LinkSetUp(l)
}

// vethEnd is what one side of a pair says about itself and its peer.
type vethEnd struct {
	index, peerIndex int
}

func (r *reconciler) reconcileVPC(v vpcPlan) error {
	// Step 1, router namespace: drop links no ENI owns, note the ends of
	// those that remain.
	routerEnds := map[string]vethEnd{}
	err := r.in(v.ns, func() error {
		links, err := retryDump(netlink.LinkList)
		if err != nil {
			return err
		}
		for _, l := range links {
			name := l.Attrs().Name
			if name == "lo" {
				continue
			}
			if slices.Contains(v.edges, name) {
				continue // reconcileEdges keeps these
			}
			veth, isVeth := l.(*netlink.Veth)
			if !isVeth || !slices.ContainsFunc(v.links, func(lp linkPlan) bool { return lp.name == name }) {
				// ENODEV: it was the peer of a link deleted a moment ago.
				if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
					return fmt.Errorf("delete link %s: %w", name, err)
				}
				r.note("deleted stray link %s%s", name, r.where())
				continue
			}
			peer, err := netlink.VethPeerIndex(veth)
			if err != nil {
				return fmt.Errorf("peer of %s: %w", name, err)
			}
			routerEnds[name] = vethEnd{index: l.Attrs().Index, peerIndex: peer}
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Step 2, per ENI: keep a pair only when both ends point at each other
	// from the right namespaces; otherwise rebuild it.
	for _, l := range v.links {
		var work vethEnd
		var workExists bool
		if err := Do(l.peerNS, func() error {
			link, err := netlink.LinkByName(l.peer)
			if err != nil {
				var nf netlink.LinkNotFoundError
				if errors.As(err, &nf) {
					return nil
				}
				return err
			}
			workExists = true
			if veth, ok := link.(*netlink.Veth); ok {
				work.index = link.Attrs().Index
				work.peerIndex, err = netlink.VethPeerIndex(veth)
				return err
			}
			return nil
		}); err != nil {
			return err
		}
		rend, routerExists := routerEnds[l.name]
		if routerExists && workExists && rend.peerIndex == work.index && work.peerIndex == rend.index && work.index != 0 {
			continue
		}
		if err := r.createPair(v.ns, l, routerExists, workExists); err != nil {
			return fmt.Errorf("ENI %s: %w", l.eniID, err)
		}
	}

	// Step 3: addresses, state and sysctls of both ends.
	for _, l := range v.links {
		if err := r.in(v.ns, func() error { return r.configureRouterEnd(l) }); err != nil {
			return fmt.Errorf("ENI %s: %w", l.eniID, err)
		}
		if err := r.in(l.peerNS, func() error { return r.configureWorkloadEnd(l) }); err != nil {
			return fmt.Errorf("ENI %s: %w", l.eniID, err)
		}
		if err := Do(v.ns, func() error { return waitOperUp(l.name) }); err != nil {
			return err
		}
		if err := Do(l.peerNS, func() error { return waitOperUp(l.peer) }); err != nil {
			return err
		}
		if l.nat {
			if err := r.configureNATGateway(v.prefix, l); err != nil {
				return fmt.Errorf("NAT gateway ENI %s: %w", l.eniID, err)
			}
		}
		if l.hyperplane {
			if err := reloadHyperplane(v.prefix, l.eniID, l.peerNS); err != nil {
				return fmt.Errorf("Hyperplane ENI %s: %w", l.eniID, err)
			}
		}
	}

	// Step 4: the resolver's addresses, routes and rules of the router.
	return r.in(v.ns, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := r.setLoopbackAddrs(lo, v.dns); err != nil {
			return err
		}
		if err := r.reconcileRoutes(v.routes); err != nil {
			return err
		}
		return r.reconcileRules(v.rules)
	})
}

func (r *reconciler) createPair(routerNS string, l linkPlan, routerExists, workExists bool) error {
	if workExists {
		if err := Do(l.peerNS, func() error { return delLinkByName(l.peer) }); err != nil {
			return err
		}
		r.note("deleted unpaired link %s in %s", r.name(l.peer), r.name(l.peerNS))
	}
	peerNS, err := netns.GetFromName(l.peerNS)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", l.peerNS, err)
	}
	defer peerNS.Close()
	mac, err := net.ParseMAC(l.mac)
	if err != nil {
		return err
	}
	return Do(routerNS, func() error {
		if routerExists {
			if err := delLinkByName(l.name); err != nil {
				return err
			}
			r.note("deleted unpaired link %s in %s", r.name(l.name), r.name(routerNS))
		}
		veth := &netlink.Veth{
			LinkAttrs:        netlink.LinkAttrs{Name: l.name},
			PeerName:         l.peer,
			PeerNamespace:    netlink.NsFd(int(peerNS)),
			PeerHardwareAddr: mac,
		}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth %s/%s: %w", l.name, l.peer, err)
		}
		verb := "created"
		if routerExists || workExists {
			verb = "recreated"
		}
		r.note("%s veth %s/%s of %s (%s to %s)", verb, l.name, l.peer, l.eniID, routerNS, l.peerNS)
		return nil
	})
}

func delLinkByName(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

func (r *reconciler) configureRouterEnd(l linkPlan) error {
	link, err := netlink.LinkByName(l.name)
	if err != nil {
		return err
	}
	// proxy_arp answers the workload's ARP for its subnet neighbours, which
	// are really behind other veths: the subnet is L3 underneath. The
	// kernel delays proxy answers by up to 0.8 s by default, which every
	// first connection to a neighbour would pay.
	for _, kv := range [][2]string{
		{"net.ipv6.conf." + l.name + ".disable_ipv6", "1"},
		{"net.ipv4.conf." + l.name + ".proxy_arp", "1"},
		{"net.ipv4.neigh." + l.name + ".proxy_delay", "0"},
	} {
		if err := r.sysctl(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := r.setAddrs(link, l.routerAddr); err != nil {
		return err
	}
	return r.linkUp(link)
}

func (r *reconciler) configureWorkloadEnd(l linkPlan) error {
	link, err := netlink.LinkByName(l.peer)
	if err != nil {
		return err
	}
	if link.Attrs().HardwareAddr.String() != l.mac {
		mac, err := net.ParseMAC(l.mac)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetDown(link); err != nil {
			return err
		}
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("set MAC of %s: %w", l.peer, err)
		}
		r.note("set MAC of %s to %s%s", r.name(l.peer), l.mac, r.where())
		if link, err = netlink.LinkByName(l.peer); err != nil {
			return err
		}
	}
	if err := r.setAddrs(link, l.addr); err != nil {
		return err
	}
	if err := r.linkUp(link); err != nil {
		return err
	}
	// Only default routes through this ENI are ours to manage here; the
	// workload's namespace may hold other routes of its own.
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4,
			&netlink.Route{LinkIndex: link.Attrs().Index, Table: mainTable},
			netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	have := false
	for _, rt := range routes {
		if rt.Dst != nil && rt.Dst.String() != "0.0.0.0/0" {
			continue
		}
		if l.defaultRoute && !have && ipAddr(rt.Gw) == l.gateway && rt.Type == unix.RTN_UNICAST {
			have = true
			continue
		}
		if err := netlink.RouteDel(&rt); err != nil {
			return fmt.Errorf("delete route %s: %w", rt, err)
		}
		r.note("deleted default route via %s dev %s%s", ipAddr(rt.Gw), l.peer, r.where())
	}
	if l.defaultRoute && !have {
		err := netlink.RouteReplace(&netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			Gw:        l.gateway.AsSlice(),
			Protocol:  unix.RTPROT_STATIC,
		})
		if err != nil {
			return fmt.Errorf("default route via %s: %w", l.gateway, err)
		}
		r.note("added default route via %s dev %s%s", l.gateway, l.peer, r.where())
	}
	return nil
}

// setAddrs leaves exactly want as the link's IPv4 address.
func (r *reconciler) setAddrs(link netlink.Link, want netip.Prefix) error {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return err
	}
	have := false
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		if ipAddr(a.IP) == want.Addr() && ones == want.Bits() {
			have = true
			continue
		}
		if err := netlink.AddrDel(link, &a); err != nil {
			return fmt.Errorf("delete address %s: %w", a.IPNet, err)
		}
		r.note("deleted address %s from %s%s", a.IPNet, r.name(link.Attrs().Name), r.where())
	}
	if have {
		return nil
	}
	r.note("added address %s to %s%s", want, r.name(link.Attrs().Name), r.where())
	return netlink.AddrAdd(link, &netlink.Addr{IPNet: prefixNet(want)})
}

// reconcileRoutes runs inside a router namespace, where every IPv4 route
// outside the local table is ours, except those the kernel derives from
// addresses.
func (r *reconciler) reconcileRoutes(want []routeSpec) error {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return err
	}
	names := map[int]string{}
	indexes := map[string]int{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
		indexes[l.Attrs().Name] = l.Attrs().Index
	}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	var have []routeSpec
	kernel := map[routeSpec]netlink.Route{}
	for _, rt := range routes {
		if rt.Table == unix.RT_TABLE_LOCAL || rt.Protocol == unix.RTPROT_KERNEL {
			continue
		}
		s := specOf(rt, names)
		have = append(have, s)
		kernel[s] = rt
	}
	add, del := diff(want, have)
	for _, s := range del {
		rt := kernel[s]
		if err := netlink.RouteDel(&rt); err != nil {
			return fmt.Errorf("delete route %s: %w", s, err)
		}
		r.note("deleted route %s%s", s, r.where())
	}
	for _, s := range add {
		rt := &netlink.Route{Table: s.table, Dst: prefixNet(s.dst), Protocol: unix.RTPROT_STATIC}
		switch s.kind {
		case routeThrow:
			rt.Type = unix.RTN_THROW
		case routeBlackhole:
			rt.Type = unix.RTN_BLACKHOLE
		default:
			rt.LinkIndex = indexes[s.dev]
			if s.gw.IsValid() {
				rt.Gw = s.gw.AsSlice()
				// The gateway is an ENI behind a /32 route, not on a
				// connected prefix of the router.
				rt.Flags = int(netlink.FLAG_ONLINK)
			} else {
				rt.Scope = netlink.SCOPE_LINK
			}
		}
		if err := netlink.RouteAdd(rt); err != nil {
			return fmt.Errorf("add route %s: %w", s, err)
		}
		r.note("added route %s%s", s, r.where())
	}
	return nil
}

func specOf(rt netlink.Route, names map[int]string) routeSpec {
	s := routeSpec{table: rt.Table, dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), gw: ipAddr(rt.Gw)}
	if rt.Dst != nil {
		ones, _ := rt.Dst.Mask.Size()
		s.dst = netip.PrefixFrom(ipAddr(rt.Dst.IP), ones)
	}
	switch rt.Type {
	case unix.RTN_UNICAST:
		s.kind = routeUnicast
		s.dev = names[rt.LinkIndex]
		if len(rt.MultiPath) > 0 {
			s.dev = "" // never planned, so it is deleted
		}
	case unix.RTN_THROW:
		s.kind = routeThrow
	case unix.RTN_BLACKHOLE:
		s.kind = routeBlackhole
	default:
		s.kind = routeKind(100 + rt.Type) // never planned, so it is deleted
	}
	return s
}

// Linux's three default rules, which a router namespace keeps.
var defaultRules = []ruleSpec{
	{priority: 0, src: netip.PrefixFrom(netip.IPv4Unspecified(), 0), table: unix.RT_TABLE_LOCAL},
	{priority: 32766, src: netip.PrefixFrom(netip.IPv4Unspecified(), 0), table: unix.RT_TABLE_MAIN},
	{priority: 32767, src: netip.PrefixFrom(netip.IPv4Unspecified(), 0), table: unix.RT_TABLE_DEFAULT},
}

func (r *reconciler) reconcileRules(want []ruleSpec) error {
	rules, err := retryDump(func() ([]netlink.Rule, error) { return netlink.RuleList(netlink.FAMILY_V4) })
	if err != nil {
		return err
	}
	var have []ruleSpec
	kernel := map[ruleSpec]netlink.Rule{}
	for i, ru := range rules {
		s, plain := ruleSpecOf(ru)
		if !plain {
			// A rule with selectors Apply never sets: give it a key no
			// plan holds so that it is removed.
			s = ruleSpec{priority: -1 - i}
		}
		if slices.Contains(defaultRules, s) {
			continue
		}
		have = append(have, s)
		kernel[s] = ru
	}
	add, del := diff(want, have)
	for _, s := range del {
		ru := kernel[s]
		if err := netlink.RuleDel(&ru); err != nil {
			return fmt.Errorf("delete rule %s: %w", s, err)
		}
		r.note("deleted rule %s%s", ruleText(ru, s), r.where())
	}
	for _, s := range add {
		ru := netlink.NewRule()
		ru.Family = netlink.FAMILY_V4
		ru.Priority = s.priority
		ru.Src = prefixNet(s.src)
		ru.Table = s.table
		if err := netlink.RuleAdd(ru); err != nil {
			return fmt.Errorf("add rule %s: %w", s, err)
		}
		r.note("added rule %s%s", s, r.where())
	}
	return nil
}

// ruleText renders a rule for the report: a rule with selectors Apply
// never sets carries a made-up spec, so netlink's own rendering shows it.
func ruleText(ru netlink.Rule, s ruleSpec) string {
	if s.priority < 0 {
		return strings.TrimPrefix(strings.TrimSpace(ru.String()), "ip rule ")
	}
	return s.String()
}

// ruleSpecOf reads a rule that only selects on source and looks up a table.
func ruleSpecOf(ru netlink.Rule) (ruleSpec, bool) {
	s := ruleSpec{priority: ru.Priority, table: ru.Table, src: netip.PrefixFrom(netip.IPv4Unspecified(), 0)}
	if ru.Src != nil {
		ones, _ := ru.Src.Mask.Size()
		s.src = netip.PrefixFrom(ipAddr(ru.Src.IP), ones)
	}
	plain := ru.Dst == nil && ru.Mark == 0 && ru.Tos == 0 && ru.Goto <= 0 && ru.IifName == "" &&
		ru.OifName == "" && !ru.Invert && ru.Dport == nil && ru.Sport == nil && ru.IPProto == 0 &&
		ru.UIDRange == nil && ru.SuppressPrefixlen <= 0 && ru.SuppressIfgroup <= 0 &&
		(ru.Type == 0 || ru.Type == unix.RTN_UNICAST)
	return s, plain
}

// removeNS deletes the links of a namespace before unmounting it: the
// kernel destroys an unmounted namespace asynchronously (or never, while a
// process holds it), and the veth peers in other namespaces must go now.
func removeNS(name string) error {
	if isNetns(netnsDir + "/" + name) {
		err := Do(name, func() error {
			links, err := retryDump(netlink.LinkList)
			if err != nil {
				return err
			}
			for _, l := range links {
				if l.Attrs().Name == "lo" {
					continue
				}
				if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
					return fmt.Errorf("delete link %s: %w", l.Attrs().Name, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return deleteNS(name)
}

// retryDump repeats a netlink dump the kernel interrupted because the
// table changed underneath it.
func retryDump[T any](dump func() (T, error)) (T, error) {
	var v T
	var err error
	for range 5 {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

func ipAddr(ip net.IP) netip.Addr {
	if ip4 := ip.To4(); ip4 != nil {
		return netip.AddrFrom4([4]byte(ip4))
	}
	a, _ := netip.AddrFromSlice(ip)
	return a
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
