//go:build linux

package netplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// internetSysctls make the internet namespace a router that forwards
// between every link: it is the internet, where anything reaches anything.
func (r *reconciler) internetSysctls() error {
	for _, kv := range [][2]string{
		{"net.ipv6.conf.default.disable_ipv6", "1"},
		{"net.ipv6.conf.all.disable_ipv6", "1"},
		{"net.ipv4.ip_forward", "1"},
	} {
		if err := r.sysctl(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// lambdaNetworkSysctls: the Lambda network forwards its environments'
// traffic like a Hyperplane ENI's namespace does.
func (r *reconciler) lambdaNetworkSysctls() error {
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

// reconcileEdges drops the internet namespace's links that no plan
// holds, then makes every point-to-point link (internet and peering) right.
func (r *reconciler) reconcileEdges(p *plan) error {
	if p.internet != nil {
		// The uplink is ConnectUplink's, which Apply keeps.
		keep := map[string]bool{"lo": true, uplinkInternetEnd(p.prefix): true}
		for _, l := range p.internet.links {
			keep[l.a.name] = true
		}
		if err := r.in(p.internet.ns, func() error {
			links, err := retryDump(netlink.LinkList)
			if err != nil {
				return err
			}
			for _, l := range links {
				if keep[l.Attrs().Name] {
					continue
				}
				if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
					return fmt.Errorf("delete link %s: %w", l.Attrs().Name, err)
				}
				r.note("deleted stray link %s%s", l.Attrs().Name, r.where())
			}
			return nil
		}); err != nil {
			return err
		}
		for _, l := range p.internet.links {
			if err := r.reconcileP2P(l); err != nil {
				return fmt.Errorf("netplane: link %s: %w", l.id, err)
			}
		}
	}
	for _, l := range p.peerings {
		if err := r.reconcileP2P(l); err != nil {
			return fmt.Errorf("netplane: peering %s: %w", l.id, err)
		}
	}
	return nil
}

// reconcileInternetRoutes gives the internet namespace its hosts, its
// service addresses and a route to every public address, and the Lambda
// network its default route; it runs once the links exist.
func (r *reconciler) reconcileInternetRoutes(prefix string, ip *internetPlan) error {
	if err := r.in(ip.ns, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		for _, a := range []netip.Addr{ServiceAddr, InternetDNSAddr} {
			if err := r.ensureAddr(lo, host(a)); err != nil {
				return err
			}
		}
		for _, p := range append([]netip.Prefix{InternetHosts}, ServicePrefixes...) {
			if err := r.ensureLocalRoute(lo, p); err != nil {
				return err
			}
		}
		routes, err := withUplinkRoute(prefix, ip.routes)
		if err != nil {
			return err
		}
		return r.reconcileRoutes(routes)
	}); err != nil {
		return fmt.Errorf("netplane: internet: %w", err)
	}
	if err := r.in(ip.lambda, func() error { return r.reconcileRoutes(ip.lambdaRoutes) }); err != nil {
		return fmt.Errorf("netplane: Lambda network: %w", err)
	}
	return nil
}

// ensureAddr adds a to link unless the link holds it (other addresses stay).
func (r *reconciler) ensureAddr(link netlink.Link, a netip.Prefix) error {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return err
	}
	for _, have := range addrs {
		ones, _ := have.Mask.Size()
		if ipAddr(have.IP) == a.Addr() && ones == a.Bits() {
			return nil
		}
	}
	r.note("added address %s to %s%s", a, r.name(link.Attrs().Name), r.where())
	return netlink.AddrAdd(link, &netlink.Addr{IPNet: prefixNet(a)})
}

// ensureLocalRoute makes every address of p local to the namespace (the
// "AnyIP" route), so a server can listen on any of them.
func (r *reconciler) ensureLocalRoute(lo netlink.Link, p netip.Prefix) error {
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4,
			&netlink.Route{Table: unix.RT_TABLE_LOCAL, Dst: prefixNet(p)},
			netlink.RT_FILTER_TABLE|netlink.RT_FILTER_DST)
	})
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if rt.Type == unix.RTN_LOCAL {
			return nil
		}
	}
	r.note("added local route %s dev %s%s", p, lo.Attrs().Name, r.where())
	return netlink.RouteReplace(&netlink.Route{
		Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL, Dst: prefixNet(p),
		LinkIndex: lo.Attrs().Index, Scope: netlink.SCOPE_HOST, Protocol: unix.RTPROT_STATIC,
	})
}

// reconcileP2P keeps a pair only when both ends point at each other from
// their namespaces, rebuilding it otherwise, then sets both ends' address.
func (r *reconciler) reconcileP2P(l p2pLink) error {
	var ea, eb vethEnd
	var xa, xb bool
	if err := Do(l.a.ns, func() (err error) { ea, xa, err = vethByName(l.a.name); return err }); err != nil {
		return err
	}
	if err := Do(l.b.ns, func() (err error) { eb, xb, err = vethByName(l.b.name); return err }); err != nil {
		return err
	}
	if !(xa && xb && ea.peerIndex == eb.index && eb.peerIndex == ea.index && ea.index != 0) {
		verb := "created"
		if xa || xb {
			verb = "recreated"
		}
		for _, e := range []p2pEnd{l.a, l.b} {
			if err := Do(e.ns, func() error { return delLinkByName(e.name) }); err != nil {
				return err
			}
		}
		peerNS, err := netns.GetFromName(l.b.ns)
		if err != nil {
			return fmt.Errorf("open namespace %s: %w", l.b.ns, err)
		}
		defer peerNS.Close()
		if err := Do(l.a.ns, func() error {
			return netlink.LinkAdd(&netlink.Veth{
				LinkAttrs:     netlink.LinkAttrs{Name: l.a.name},
				PeerName:      l.b.name,
				PeerNamespace: netlink.NsFd(int(peerNS)),
			})
		}); err != nil {
			return fmt.Errorf("create veth %s/%s: %w", l.a.name, l.b.name, err)
		}
		r.note("%s veth %s/%s of %s (%s to %s)", verb, l.a.name, l.b.name, l.id, r.name(l.a.ns), r.name(l.b.ns))
	}
	for _, e := range []p2pEnd{l.a, l.b} {
		if err := r.in(e.ns, func() error {
			link, err := netlink.LinkByName(e.name)
			if err != nil {
				return err
			}
			if err := r.sysctl("net.ipv6.conf."+e.name+".disable_ipv6", "1"); err != nil {
				return err
			}
			if err := r.setAddrs(link, e.addr); err != nil {
				return err
			}
			return r.linkUp(link)
		}); err != nil {
			return err
		}
	}
	for _, e := range []p2pEnd{l.a, l.b} {
		if err := Do(e.ns, func() error { return waitOperUp(e.name) }); err != nil {
			return err
		}
	}
	return nil
}

// configureNATGateway makes an ENI's namespace forward and masquerade. Its
// interface sends forwarded packets back out the way they came, so ICMP
// redirects (which would tell instances to bypass it) are off.
func (r *reconciler) configureNATGateway(prefix string, l linkPlan) error {
	if err := r.in(l.peerNS, func() error {
		for _, kv := range [][2]string{
			{"net.ipv4.conf.all.send_redirects", "0"},
			{"net.ipv4.conf." + l.peer + ".send_redirects", "0"},
			{"net.ipv4.conf.all.rp_filter", "1"},
			{"net.ipv4.ip_forward", "1"},
		} {
			if err := r.sysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return nftIn(l.peerNS, compileNATGateway(prefix, l.peer, l.addr.Addr()))
}

// setLoopbackAddrs leaves exactly want, besides 127.0.0.1, on lo.
func (r *reconciler) setLoopbackAddrs(lo netlink.Link, want []netip.Prefix) error {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(lo, netlink.FAMILY_V4) })
	if err != nil {
		return err
	}
	have := map[netip.Prefix]bool{}
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		p := netip.PrefixFrom(ipAddr(a.IP), ones)
		if p.Addr().IsLoopback() {
			continue
		}
		if slices.Contains(want, p) {
			have[p] = true
			continue
		}
		if err := netlink.AddrDel(lo, &a); err != nil {
			return fmt.Errorf("delete address %s: %w", p, err)
		}
		r.note("deleted address %s from lo%s", p, r.where())
	}
	for _, p := range want {
		if !have[p] {
			if err := netlink.AddrAdd(lo, &netlink.Addr{IPNet: prefixNet(p)}); err != nil {
				return fmt.Errorf("add address %s: %w", p, err)
			}
			r.note("added address %s to lo%s", p, r.where())
		}
	}
	return nil
}
