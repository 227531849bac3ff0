//go:build linux

package netplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// hyperplaneMu serializes attaching and detaching in this process: two
// attaches to one ENI could otherwise pick the same free link address.
var hyperplaneMu sync.Mutex

// hyperplaneLoaded remembers, per ENI namespace, the namespace (by its
// nsfs inode) that got the Hyperplane table, which names no environment and
// so needs loading once: running nft is most of what an attach would cost.
// A namespace made again has another inode and is loaded again; Apply
// reloads the table of every ENI marked Hyperplane, repairing drift.
var (
	hyperplaneLoadedMu sync.Mutex
	hyperplaneLoaded   = map[string]uint64{}
)

func loadHyperplane(prefix, eniID, eniNS string) error {
	return loadHyperplaneTable(prefix, eniID, eniNS, false)
}

func reloadHyperplane(prefix, eniID, eniNS string) error {
	return loadHyperplaneTable(prefix, eniID, eniNS, true)
}

func loadHyperplaneTable(prefix, eniID, eniNS string, force bool) error {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(netnsDir, eniNS), &st); err != nil {
		return err
	}
	hyperplaneLoadedMu.Lock()
	defer hyperplaneLoadedMu.Unlock()
	if !force && hyperplaneLoaded[eniNS] == st.Ino {
		return nil
	}
	if err := nftIn(eniNS, compileHyperplane(prefix, workloadLinkName(prefix, eniID))); err != nil {
		return err
	}
	hyperplaneLoaded[eniNS] = st.Ino
	return nil
}

// AttachEnvironment puts the execution environment whose network
// namespace is envNetns behind the Hyperplane ENI eniID, which Apply must
// already have realized in its default namespace ENINetns(prefix, eniID).
// The namespace is created when it does not exist (and then removed by
// DetachEnvironment). Everything the environment sends into the VPC leaves
// with the ENI's address; nothing can open a connection into it, and
// environments behind one ENI cannot reach each other. Attaching again
// returns the same link and repairs whatever drifted.
//
// Apply removes every namespace named prefix+"-..." that its topology does
// not hold, environments' included, taking their link with them; Teardown
// removes them likewise.
func AttachEnvironment(prefix, eniID, envNetns string) (EnvLink, error) {
	eniNS, err := checkEnvArgs(prefix, eniID, envNetns)
	if err != nil {
		return EnvLink{}, err
	}
	if !isNetns(filepath.Join(netnsDir, eniNS)) {
		return EnvLink{}, fmt.Errorf("netplane: ENI %s has no namespace %s; apply the topology first", eniID, eniNS)
	}
	hyperplaneMu.Lock()
	defer hyperplaneMu.Unlock()

	// Filtering and NAT go in before forwarding is on and before any
	// environment link exists, so no packet ever crosses unfiltered.
	if err := loadHyperplane(prefix, eniID, eniNS); err != nil {
		return EnvLink{}, fmt.Errorf("netplane: ENI %s: %w", eniID, err)
	}
	r := &reconciler{ctx: context.Background()}
	// Strict reverse-path filtering stops an environment from sending as
	// another environment's address, which would aim that one's replies
	// (accepted as established) at its neighbour.
	if err := Do(eniNS, func() error {
		for _, kv := range [][2]string{
			{"net.ipv6.conf.default.disable_ipv6", "1"},
			{"net.ipv4.conf.all.rp_filter", "1"},
			{"net.ipv4.ip_forward", "1"},
		} {
			if err := r.sysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return EnvLink{}, err
	}

	created, err := ensureNS(envNetns)
	if err != nil {
		return EnvLink{}, err
	}
	if err := Do(envNetns, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if created {
			if err := netlink.LinkSetAlias(lo, createdNSAlias(prefix)); err != nil {
				return fmt.Errorf("mark namespace: %w", err)
			}
		}
		return r.linkUp(lo)
	}); err != nil {
		return EnvLink{}, err
	}

	hostName, peerName := envHostLinkName(prefix, envNetns), envPeerLinkName(prefix, envNetns)
	alias := envLinkAlias(envNetns)
	var peer vethEnd
	peerExists := false
	if err := Do(envNetns, func() error {
		var err error
		peer, peerExists, err = vethByName(peerName)
		return err
	}); err != nil {
		return EnvLink{}, err
	}
	var host vethEnd
	hostExists := false
	var gw netip.Addr
	used := map[netip.Addr]bool{}
	if err := Do(eniNS, func() error {
		link, err := netlink.LinkByName(hostName)
		var nf netlink.LinkNotFoundError
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return err
		case link.Attrs().Alias != alias && link.Attrs().Alias != "":
			return fmt.Errorf("link %s already serves %s: names of two environments collide",
				hostName, strings.TrimPrefix(link.Attrs().Alias, "netplane:env:"))
		case link.Attrs().Alias == alias:
			host, hostExists, err = vethByName(hostName)
			if err != nil {
				return err
			}
			if hostExists {
				gw = linkGateway(link)
			}
		}
		return usedGateways(prefix, hostName, used)
	}); err != nil {
		return EnvLink{}, fmt.Errorf("netplane: ENI %s: %w", eniID, err)
	}

	paired := hostExists && peerExists && host.peerIndex == peer.index && peer.peerIndex == host.index && gw.IsValid()
	if !paired {
		if gw, _, err = allocEnvPair(used); err != nil {
			return EnvLink{}, err
		}
		if err := createEnvPair(eniNS, envNetns, hostName, peerName, alias); err != nil {
			return EnvLink{}, fmt.Errorf("netplane: ENI %s: environment %s: %w", eniID, envNetns, err)
		}
	}
	link := EnvLink{Netns: envNetns, Gateway: gw, Addr: gw.Next()}
	if err := Do(eniNS, func() error {
		return r.configureEnvEnd(hostName, netip.PrefixFrom(gw, envLinkBits), netip.Addr{})
	}); err != nil {
		return EnvLink{}, fmt.Errorf("netplane: ENI %s: %w", eniID, err)
	}
	if err := Do(envNetns, func() error {
		return r.configureEnvEnd(peerName, netip.PrefixFrom(link.Addr, envLinkBits), gw)
	}); err != nil {
		return EnvLink{}, fmt.Errorf("netplane: environment %s: %w", envNetns, err)
	}
	if err := Do(eniNS, func() error { return waitOperUp(hostName) }); err != nil {
		return EnvLink{}, err
	}
	if err := Do(envNetns, func() error { return waitOperUp(peerName) }); err != nil {
		return EnvLink{}, err
	}
	return link, nil
}

// DetachEnvironment removes the environment's link to the ENI, and its
// namespace when AttachEnvironment created it. Detaching what is not
// attached (or no longer exists) is not an error. The environment's
// processes should be gone: a namespace they hold lives on, unreachable.
func DetachEnvironment(prefix, eniID, envNetns string) error {
	eniNS, err := checkEnvArgs(prefix, eniID, envNetns)
	if err != nil {
		return err
	}
	// A namespace Attach made just goes: once its last process is gone the
	// kernel destroys it and its link, whose other end goes with it, in
	// the background. Deleting the link here would hold the kernel's
	// network lock through its slow teardown, in the way of every other
	// environment's attach. Until then the link keeps its address, which
	// attaching therefore never hands out again meanwhile.
	if isNetns(filepath.Join(netnsDir, envNetns)) {
		ours := false
		if err := Do(envNetns, func() error {
			lo, err := netlink.LinkByName("lo")
			if err != nil {
				return err
			}
			ours = lo.Attrs().Alias == createdNSAlias(prefix)
			return nil
		}); err != nil {
			return fmt.Errorf("netplane: environment %s: %w", envNetns, err)
		}
		if ours {
			return deleteNS(envNetns)
		}
	}
	hyperplaneMu.Lock()
	defer hyperplaneMu.Unlock()

	hostName, peerName := envHostLinkName(prefix, envNetns), envPeerLinkName(prefix, envNetns)
	// foreign is another environment's link under a colliding name: it
	// stays, and so does its peer.
	foreign := 0
	if isNetns(filepath.Join(netnsDir, eniNS)) {
		if err := Do(eniNS, func() error {
			link, err := netlink.LinkByName(hostName)
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil
			}
			if err != nil {
				return err
			}
			if a := link.Attrs().Alias; a != "" && a != envLinkAlias(envNetns) {
				foreign = link.Attrs().Index
				return nil
			}
			if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("delete link %s: %w", hostName, err)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("netplane: ENI %s: %w", eniID, err)
		}
	}
	if !isNetns(filepath.Join(netnsDir, envNetns)) {
		return nil
	}
	// The caller's own namespace stays; only its link goes.
	if err := Do(envNetns, func() error {
		peer, exists, err := vethByName(peerName)
		if err != nil {
			return err
		}
		if exists && (foreign == 0 || peer.peerIndex != foreign) {
			if err := delLinkByName(peerName); err != nil && !errors.Is(err, unix.ENODEV) {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("netplane: environment %s: %w", envNetns, err)
	}
	return nil
}

func checkEnvArgs(prefix, eniID, envNetns string) (string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	if eniID == "" {
		return "", errors.New("netplane: environment without an ENI")
	}
	eniNS := ENINetns(prefix, eniID)
	if envNetns == "" || envNetns == "." || envNetns == ".." || strings.ContainsAny(envNetns, "/\x00") || len(envNetns) > 255 {
		return "", fmt.Errorf("netplane: environment namespace name %q is invalid", envNetns)
	}
	if envNetns == eniNS {
		return "", fmt.Errorf("netplane: environment namespace %s is the ENI's own", envNetns)
	}
	return eniNS, nil
}

// vethByName reads one end of a pair in the current namespace; a link of
// that name that is not a veth reads as an end pointing nowhere, so the
// caller rebuilds it.
func vethByName(name string) (vethEnd, bool, error) {
	link, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return vethEnd{}, false, nil
	}
	if err != nil {
		return vethEnd{}, false, err
	}
	end := vethEnd{index: link.Attrs().Index}
	if veth, ok := link.(*netlink.Veth); ok {
		if end.peerIndex, err = netlink.VethPeerIndex(veth); err != nil {
			return vethEnd{}, false, fmt.Errorf("peer of %s: %w", name, err)
		}
	}
	return end, true, nil
}

// linkGateway is the envBlock /31 gateway address a link holds, if any.
func linkGateway(link netlink.Link) netip.Addr {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		ip := ipAddr(a.IP)
		if ones == envLinkBits && envBlock.Contains(ip) && ip.As4()[3]%2 == 0 && ip != envBlock.Addr() {
			return ip
		}
	}
	return netip.Addr{}
}

// usedGateways collects the gateway addresses of every other environment
// link in the current (ENI) namespace.
func usedGateways(prefix, except string, used map[netip.Addr]bool) error {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return err
	}
	envLinks := map[int]bool{}
	for _, l := range links {
		name := l.Attrs().Name
		if name != except && strings.HasPrefix(name, prefix+"-"+string(kindEnvHost)) {
			envLinks[l.Attrs().Index] = true
		}
	}
	// One dump of every address (netlink filters per link on our side
	// anyway), rather than one per link: attaching stays cheap with many
	// environments behind the ENI.
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if envLinks[a.LinkIndex] {
			used[ipAddr(a.IP)] = true
		}
	}
	return nil
}

// createEnvPair replaces whatever is left of the pair with a new one made
// in the ENI namespace with its peer moved straight into the environment's.
func createEnvPair(eniNS, envNetns, hostName, peerName, alias string) error {
	if err := Do(envNetns, func() error { return delLinkByName(peerName) }); err != nil {
		return err
	}
	target, err := netns.GetFromName(envNetns)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", envNetns, err)
	}
	defer target.Close()
	return Do(eniNS, func() error {
		if err := delLinkByName(hostName); err != nil && !errors.Is(err, unix.ENODEV) {
			return err
		}
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: hostName},
			PeerName:      peerName,
			PeerNamespace: netlink.NsFd(int(target)),
		}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth %s/%s: %w", hostName, peerName, err)
		}
		link, err := netlink.LinkByName(hostName)
		if err != nil {
			return err
		}
		return netlink.LinkSetAlias(link, alias)
	})
}

// configureEnvEnd gives one end of an environment pair its address, no
// IPv6 (whose link-local addresses no rule here governs), and, on the
// environment's end (gw valid), the default route.
func (r *reconciler) configureEnvEnd(name string, addr netip.Prefix, gw netip.Addr) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := r.sysctl("net.ipv6.conf."+name+".disable_ipv6", "1"); err != nil {
		return err
	}
	if err := r.setAddrs(link, addr); err != nil {
		return err
	}
	if err := r.linkUp(link); err != nil {
		return err
	}
	if !gw.IsValid() {
		return nil
	}
	return netlink.RouteReplace(&netlink.Route{
		LinkIndex: link.Attrs().Index,
		Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
		Gw:        gw.AsSlice(),
		Protocol:  unix.RTPROT_STATIC,
	})
}
