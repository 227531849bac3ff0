//go:build linux

package netplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ConnectUplink joins the simulated internet of prefix, which Apply must
// already have made, to the network namespace at hostNetnsPath (the
// server's own, /proc/self/ns/net, for --internet=host): a veth pair, a
// default route of the internet namespace through it, IPv4 forwarding in
// the host, and an nftables table on each side (see compileUplinkHost and
// compileUplinkInternet). It converges like Apply: calling it again
// repairs what drifted and otherwise changes nothing, and Apply keeps the
// link and its route.
//
// Teardown(prefix) removes the internet namespace and with it the link,
// whose host end and routes go too, but it cannot know the host, so the
// host's table stays: DisconnectUplink removes everything. IPv4
// forwarding stays on, as other users of the host may need it.
func ConnectUplink(prefix, hostNetnsPath string) error {
	_, err := connectUplink(prefix, hostNetnsPath)
	return err
}

// DisconnectUplink removes what ConnectUplink made, in the host at
// hostNetnsPath and in the internet namespace; what is already gone is
// not an error. An empty hostNetnsPath removes the link (both ends) and
// the internet namespace's table, leaving only the host's table, which
// names an interface that no longer exists.
func DisconnectUplink(prefix, hostNetnsPath string) error {
	_, err := disconnectUplink(prefix, hostNetnsPath)
	return err
}

func connectUplink(prefix, hostNetnsPath string) ([]string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	inet := InternetNetns(prefix)
	inetPath := filepath.Join(netnsDir, inet)
	if !isNetns(inetPath) {
		return nil, fmt.Errorf("netplane: no simulated internet %s to connect; apply a topology with Internet first", inet)
	}
	host, err := openNetns(hostNetnsPath)
	if err != nil {
		return nil, err
	}
	defer host.Close()
	if same, err := sameNetns(host, inetPath); err != nil || same {
		return nil, errors.Join(err, fmt.Errorf("netplane: %s is the simulated internet itself", hostNetnsPath))
	}
	applyMu.Lock()
	defer applyMu.Unlock()
	inetEnd, hostEnd := uplinkInternetEnd(prefix), uplinkHostEnd(prefix)
	inetAddr, hostAddr := uplinkAddrs(prefix)
	r := &reconciler{ctx: context.Background(), labels: map[string]string{
		inet: "internet", inetEnd: "uplink", hostEnd: "uplink", hostNetnsPath: "host",
	}}
	hostDo := func(fn func() error) error {
		prev := r.ns
		r.ns = hostNetnsPath
		defer func() { r.ns = prev }()
		return doAt(host, fn)
	}

	// Filters first, as Apply does: no packet crosses the link unfiltered.
	if err := nftAt(host, compileUplinkHost(prefix)); err != nil {
		return r.report, fmt.Errorf("netplane: uplink: host: %w", err)
	}
	if err := nftIn(inet, compileUplinkInternet(prefix)); err != nil {
		return r.report, fmt.Errorf("netplane: uplink: internet: %w", err)
	}

	var ea, eb vethEnd
	var xa, xb bool
	if err := Do(inet, func() (err error) { ea, xa, err = vethByName(inetEnd); return err }); err != nil {
		return r.report, err
	}
	if err := hostDo(func() (err error) {
		if eb, xb, err = vethByName(hostEnd); err != nil {
			return err
		}
		return checkTransitFree(hostAddr, eb.index)
	}); err != nil {
		return r.report, fmt.Errorf("netplane: uplink: %w", err)
	}
	if !(xa && xb && ea.peerIndex == eb.index && eb.peerIndex == ea.index && ea.index != 0) {
		if err := Do(inet, func() error { return delLinkByName(inetEnd) }); err != nil {
			return r.report, err
		}
		if err := hostDo(func() error { return delLinkByName(hostEnd) }); err != nil {
			return r.report, err
		}
		if err := Do(inet, func() error {
			return netlink.LinkAdd(&netlink.Veth{
				LinkAttrs:     netlink.LinkAttrs{Name: inetEnd},
				PeerName:      hostEnd,
				PeerNamespace: netlink.NsFd(int(host.Fd())),
			})
		}); err != nil {
			return r.report, fmt.Errorf("netplane: uplink: create veth %s/%s: %w", inetEnd, hostEnd, err)
		}
		verb := "created"
		if xa || xb {
			verb = "recreated"
		}
		r.note("%s veth %s/%s of the uplink (%s to %s)", verb, inetEnd, hostEnd, r.name(inet), hostNetnsPath)
	}

	configure := func(name string, addr netip.Prefix) func() error {
		return func() error {
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
			return r.linkUp(link)
		}
	}
	if err := r.in(inet, configure(inetEnd, inetAddr)); err != nil {
		return r.report, fmt.Errorf("netplane: uplink: %w", err)
	}
	if err := hostDo(func() error {
		if err := configure(hostEnd, hostAddr)(); err != nil {
			return err
		}
		return r.sysctl("net.ipv4.ip_forward", "1")
	}); err != nil {
		return r.report, fmt.Errorf("netplane: uplink: host: %w", err)
	}
	if err := Do(inet, func() error { return waitOperUp(inetEnd) }); err != nil {
		return r.report, err
	}
	if err := doAt(host, func() error { return waitOperUp(hostEnd) }); err != nil {
		return r.report, err
	}
	if err := r.in(inet, func() error { return r.ensureRoute(uplinkDefaultRoute(prefix)) }); err != nil {
		return r.report, fmt.Errorf("netplane: uplink: %w", err)
	}
	return r.report, nil
}

func disconnectUplink(prefix, hostNetnsPath string) ([]string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	applyMu.Lock()
	defer applyMu.Unlock()
	r := &reconciler{ctx: context.Background()}
	table := uplinkTable(prefix)
	if hostNetnsPath != "" {
		host, err := openNetns(hostNetnsPath)
		if err != nil {
			return nil, err
		}
		defer host.Close()
		name := uplinkHostEnd(prefix)
		if err := doAt(host, func() error { return r.removeLink(name) }); err != nil {
			return r.report, fmt.Errorf("netplane: uplink: host: %w", err)
		}
		// Looking first keeps a host that never had an uplink untouched.
		has, err := hasTable(nftAtCmd(host, "list", "tables", "inet"), table)
		if err != nil {
			return r.report, fmt.Errorf("netplane: uplink: host: %w", err)
		}
		if has {
			if err := nftAt(host, fmt.Sprintf("delete table inet %s\n", table)); err != nil {
				return r.report, fmt.Errorf("netplane: uplink: host: %w", err)
			}
			r.note("deleted table inet %s in %s", table, hostNetnsPath)
		}
	}
	inet := InternetNetns(prefix)
	inetPath := filepath.Join(netnsDir, inet)
	if !isNetns(inetPath) {
		return r.report, nil
	}
	if err := r.in(inet, func() error { return r.removeLink(uplinkInternetEnd(prefix)) }); err != nil {
		return r.report, fmt.Errorf("netplane: uplink: internet: %w", err)
	}
	has, err := hasTable(exec.Command("ip", "netns", "exec", inet, "nft", "list", "tables", "inet"), table)
	if err != nil {
		return r.report, fmt.Errorf("netplane: uplink: internet: %w", err)
	}
	if has {
		if err := nftIn(inet, fmt.Sprintf("delete table inet %s\n", table)); err != nil {
			return r.report, fmt.Errorf("netplane: uplink: internet: %w", err)
		}
		r.note("deleted table inet %s in %s", table, inet)
	}
	return r.report, nil
}

// withUplinkRoute is want plus the uplink's default route when the
// uplink's link is in the calling thread's namespace (the internet
// namespace, inside Do), so that Apply keeps what ConnectUplink made.
func withUplinkRoute(prefix string, want []routeSpec) ([]routeSpec, error) {
	_, exists, err := vethByName(uplinkInternetEnd(prefix))
	if err != nil || !exists {
		return want, err
	}
	return append(slices.Clip(want), uplinkDefaultRoute(prefix)), nil
}

func (r *reconciler) removeLink(name string) error {
	_, exists, err := vethByName(name)
	if err != nil || !exists {
		return err
	}
	if err := delLinkByName(name); err != nil {
		return err
	}
	r.note("deleted link %s%s", name, r.where())
	return nil
}

// ensureRoute adds s unless the calling namespace has it; a route to the
// same destination in the same table is replaced.
func (r *reconciler) ensureRoute(s routeSpec) error {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return err
	}
	names := map[int]string{}
	index := 0
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
		if l.Attrs().Name == s.dev {
			index = l.Attrs().Index
		}
	}
	if index == 0 {
		return fmt.Errorf("route %s: no link %s", s, s.dev)
	}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: s.table}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if rt.Protocol != unix.RTPROT_KERNEL && specOf(rt, names) == s {
			return nil
		}
	}
	err = netlink.RouteReplace(&netlink.Route{
		Table: s.table, Dst: prefixNet(s.dst), LinkIndex: index, Gw: s.gw.AsSlice(), Protocol: unix.RTPROT_STATIC,
	})
	if err != nil {
		return fmt.Errorf("add route %s: %w", s, err)
	}
	r.note("added route %s%s", s, r.where())
	return nil
}

// checkTransitFree fails when another link of the calling namespace has a
// route into the uplink's /30: another server's uplink (whose prefix
// hashed to the same /30) or the host's own network.
func checkTransitFree(hostAddr netip.Prefix, ours int) error {
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if rt.Dst == nil || rt.LinkIndex == ours {
			continue
		}
		ones, _ := rt.Dst.Mask.Size()
		p := netip.PrefixFrom(ipAddr(rt.Dst.IP), ones)
		// A wider route (a host's 169.254.0.0/16 for zeroconf) is no
		// conflict: the /30 is more specific.
		if ones >= hostAddr.Bits() && hostAddr.Masked().Contains(p.Addr()) {
			return fmt.Errorf("the uplink's transit %s is already routed to interface %d (another server's uplink?)", hostAddr.Masked(), rt.LinkIndex)
		}
	}
	return nil
}

// openNetns opens a network namespace by path, refusing anything else.
func openNetns(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("netplane: open namespace %s: %w", path, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, fmt.Errorf("netplane: %s is not a namespace", path)
	}
	return f, nil
}

func sameNetns(f *os.File, path string) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		return false, err
	}
	if err := unix.Stat(path, &b); err != nil {
		return false, err
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}

// doAt is Do for a namespace given as an open file. Unlike Do it accepts
// the caller's own namespace: configuring the host is what the uplink is
// for.
func doAt(ns *os.File, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netplane: current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("netplane: enter namespace %s: %w", ns.Name(), err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- errors.Join(ferr, fmt.Errorf("netplane: leave namespace %s: %w", ns.Name(), err))
			return // thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// nftAt runs nft in the namespace ns (handed to nsenter as its fd 3), so
// that no thread of the server enters it for a child to inherit.
func nftAt(ns *os.File, script string) error {
	_, err := runNft(nftAtCmd(ns, "-f", "-"), script)
	return err
}

func nftAtCmd(ns *os.File, args ...string) *exec.Cmd {
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3", "nft"}, args...)...)
	cmd.ExtraFiles = []*os.File{ns}
	return cmd
}

func runNft(cmd *exec.Cmd, stdin string) (string, error) {
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// hasTable only reads: cmd lists a namespace's inet tables.
func hasTable(cmd *exec.Cmd, table string) (bool, error) {
	out, err := runNft(cmd, "")
	if err != nil {
		return false, err
	}
	return slices.Contains(strings.Split(out, "\n"), "table inet "+table), nil
}
