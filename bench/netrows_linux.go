//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// measureNet runs both data-plane rows. Each row names its namespaces with
// prefixes of its own and removes them before returning, whatever happened.
func measureNet(ctx context.Context, c config) (*netResults, error) {
	if os.Geteuid() != 0 {
		return &netResults{skipped: "not root (network namespaces need it)"}, nil
	}
	nr := &netResults{}
	progress("environment attach: %d environments through netplane and %d by raw netlink, alternating", c.attaches, c.attaches)
	if err := attachRow(ctx, c.attaches, nr); err != nil {
		return nil, fmt.Errorf("environment attach row: %w", err)
	}
	progress("TCP throughput: %s through netplane and %s over a bare veth pair, in turns", c.stream, c.stream)
	if err := throughputRow(ctx, c.stream, nr); err != nil {
		return nil, fmt.Errorf("TCP throughput row: %w", err)
	}
	return nr, nil
}

// teardown removes every namespace of the prefixes, the error joined to err.
func teardown(err *error, prefixes ...string) {
	for _, p := range prefixes {
		if terr := netplane.Teardown(p); terr != nil {
			*err = errors.Join(*err, fmt.Errorf("teardown %s: %w", p, terr))
		}
	}
}

func attachRow(ctx context.Context, n int, nr *netResults) (err error) {
	prefix, rawPrefix := lpName(5), lpName(5)
	progress("environment attach: namespaces %s-* (netplane) and %s-* (raw)", prefix, rawPrefix)
	defer teardown(&err, prefix, rawPrefix)
	const eni = "eni-hyperplane"
	topo := netplane.Topology{Prefix: prefix, VPCs: []netplane.VPC{{
		ID:          "vpc-bench",
		CIDRs:       []netip.Prefix{netip.MustParsePrefix("10.76.0.0/16")},
		Subnets:     []netplane.Subnet{{ID: "subnet-bench", CIDR: netip.MustParsePrefix("10.76.1.0/24"), RouteTable: "rtb-main"}},
		RouteTables: []netplane.RouteTable{{ID: "rtb-main"}},
		ENIs:        []netplane.ENI{{ID: eni, SubnetID: "subnet-bench", IP: netip.MustParseAddr("10.76.1.10")}},
	}}}
	if err := netplane.Apply(ctx, topo); err != nil {
		return err
	}
	raw, err := newRawHyperplane(rawPrefix)
	if err != nil {
		return err
	}
	defer raw.close()

	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		env := netplane.EnvNetns(prefix, fmt.Sprintf("env%d", i))
		start := time.Now()
		if _, err := netplane.AttachEnvironment(prefix, eni, env); err != nil {
			return err
		}
		attached := time.Now()
		if err := netplane.DetachEnvironment(prefix, eni, env); err != nil {
			return err
		}
		nr.attach = append(nr.attach, time.Since(start))
		nr.attachOnly = append(nr.attachOnly, attached.Sub(start))

		rawEnv := fmt.Sprintf("%s-x%d", rawPrefix, i)
		start = time.Now()
		if err := raw.attach(rawEnv, i); err != nil {
			return err
		}
		attached = time.Now()
		if err := raw.detach(rawEnv); err != nil {
			return err
		}
		nr.attachRaw = append(nr.attachRaw, time.Since(start))
		nr.attachOnlyRaw = append(nr.attachOnlyRaw, attached.Sub(start))
	}
	nr.attachEnvs = n
	return nil
}

// onThread runs fn on a locked OS thread that fn may move between network
// namespaces; the thread goes back to its own namespace afterwards, or, if
// it cannot, dies with its goroutine instead of serving other goroutines
// from the wrong namespace.
func onThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer home.Close()
		ferr := fn()
		if err := netns.Set(home); err != nil {
			done <- errors.Join(ferr, fmt.Errorf("back to the bench's namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// rawHyperplane is the attach baseline: a namespace in the place of the
// Hyperplane ENI's, with the nft table and sysctls set once (as netplane
// does, per ENI), and environments joined to it by the kernel calls that
// AttachEnvironment makes (a named namespace, a veth pair with its peer
// created in it, addresses, links up, a default route) and detached as
// DetachEnvironment does (the namespace goes; the kernel takes the pair),
// without netplane's look-ups, bookkeeping and reconciling.
type rawHyperplane struct {
	eniNS  netns.NsHandle
	script string
}

// rawLink is environment i's pair: names and /31 of its own, as a detached
// environment's pair lingers until the kernel has destroyed its namespace.
func rawLink(i int) (host, peer string, gw, env netip.Prefix) {
	off := 2 * (i + 1)
	gwAddr := netip.AddrFrom4([4]byte{169, 254, byte(off >> 8), byte(off)})
	return fmt.Sprintf("lpenv%d", i), fmt.Sprintf("lppeer%d", i), netip.PrefixFrom(gwAddr, 31), netip.PrefixFrom(gwAddr.Next(), 31)
}

func newRawHyperplane(prefix string) (*rawHyperplane, error) {
	r := &rawHyperplane{eniNS: netns.None()}
	// The same table AttachEnvironment loads: environments out through the
	// uplink only, masqueraded; nothing in.
	t := prefix + "_hp"
	r.script = fmt.Sprintf(`table inet %[1]s
delete table inet %[1]s
table inet %[1]s {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "lpenv*" drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lpenv*" oifname "lpuplink" ct state new accept
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		iifname "lpenv*" oifname "lpuplink" masquerade
	}
}
`, t)
	err := onThread(func() error {
		h, err := netns.NewNamed(prefix + "-n")
		r.eniNS = h
		if err != nil {
			return err
		}
		// A child forked from this thread starts in its namespace, so nft
		// needs no `ip netns exec`.
		cmd := exec.Command("nft", "-f", "-")
		cmd.Stdin = strings.NewReader(r.script)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("nft: %v: %s", err, out)
		}
		for _, kv := range [][2]string{
			{"net.ipv6.conf.default.disable_ipv6", "1"},
			{"net.ipv4.conf.all.rp_filter", "1"},
			{"net.ipv4.ip_forward", "1"},
		} {
			if err := writeSysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

func (r *rawHyperplane) close() {
	if r.eniNS.IsOpen() {
		r.eniNS.Close()
	}
}

func (r *rawHyperplane) attach(env string, i int) error {
	rawHostLink, rawPeerLink, rawGateway, rawEnvAddr := rawLink(i)
	return onThread(func() error {
		envNS, err := netns.NewNamed(env)
		if err != nil {
			return err
		}
		defer envNS.Close()
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		if err := netns.Set(r.eniNS); err != nil {
			return err
		}
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: rawHostLink}, PeerName: rawPeerLink,
			PeerNamespace: netlink.NsFd(int(envNS))}); err != nil {
			return err
		}
		if err := configureRawEnd(rawHostLink, rawGateway, netip.Addr{}); err != nil {
			return err
		}
		if err := netns.Set(envNS); err != nil {
			return err
		}
		return configureRawEnd(rawPeerLink, rawEnvAddr, rawGateway.Addr())
	})
}

// configureRawEnd gives one end of a pair IPv6 off, its address, up, and,
// when gw is valid, the default route.
func configureRawEnd(name string, addr netip.Prefix, gw netip.Addr) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := writeSysctl("net.ipv6.conf."+name+".disable_ipv6", "1"); err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	if !gw.IsValid() {
		return nil
	}
	return netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(netip.MustParsePrefix("0.0.0.0/0")),
		Gw: gw.AsSlice(), Protocol: unix.RTPROT_STATIC})
}

func (r *rawHyperplane) detach(env string) error {
	return netns.DeleteNamed(env)
}

// writeSysctl writes a sysctl of the calling thread's network namespace.
func writeSysctl(key, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")), []byte(value), 0o644)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

const (
	tputWrite = 64 << 10
	sinkPort  = 5001
	// Each path streams in tputSlices turns, in the order ABBA ABBA..., so
	// that drift and bursts of other load on the machine hit both alike;
	// every turn starts with tputRamp unmeasured, to open the window again.
	tputSlices = 8
	tputRamp   = 50 * time.Millisecond
)

func throughputRow(ctx context.Context, d time.Duration, nr *netResults) (err error) {
	prefix, rawPrefix := lpName(5), lpName(5)
	progress("TCP throughput: namespaces %s-* (netplane) and %s-* (bare veth)", prefix, rawPrefix)
	defer teardown(&err, prefix, rawPrefix)
	nr.tputDuration, nr.tputSlices, nr.tputWrite = d, tputSlices, tputWrite

	const instance, hyperplane = "eni-instance", "eni-hyperplane"
	instanceIP, hyperplaneIP := netip.MustParseAddr("10.77.1.10"), netip.MustParseAddr("10.77.1.11")
	all := netip.MustParsePrefix("0.0.0.0/0")
	topo := netplane.Topology{Prefix: prefix, VPCs: []netplane.VPC{{
		ID:          "vpc-bench",
		CIDRs:       []netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")},
		Subnets:     []netplane.Subnet{{ID: "subnet-bench", CIDR: netip.MustParsePrefix("10.77.1.0/24"), RouteTable: "rtb-main", ACL: "acl-bench"}},
		RouteTables: []netplane.RouteTable{{ID: "rtb-main"}},
		ENIs: []netplane.ENI{
			{ID: instance, SubnetID: "subnet-bench", IP: instanceIP, Groups: []string{"sg-instance"}},
			{ID: hyperplane, SubnetID: "subnet-bench", IP: hyperplaneIP, Groups: []string{"sg-fn"}},
		},
		Groups: []netplane.SecurityGroup{
			{ID: "sg-fn", Egress: []netplane.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{all}}}},
			{ID: "sg-instance", Ingress: []netplane.Rule{{Protocol: "tcp", FromPort: sinkPort, ToPort: sinkPort,
				Prefixes: []netip.Prefix{netip.PrefixFrom(hyperplaneIP, 32)}}}},
		},
		// The default ACL of a VPC, so its chains are on the path as on AWS.
		ACLs: []netplane.NetworkACL{{ID: "acl-bench", Entries: []netplane.ACLEntry{
			{RuleNumber: 100, Protocol: "-1", Allow: true, CIDR: all},
			{RuleNumber: 100, Egress: true, Protocol: "-1", Allow: true, CIDR: all},
		}}},
	}}}
	if err := netplane.Apply(ctx, topo); err != nil {
		return err
	}
	env := netplane.EnvNetns(prefix, "env")
	if _, err := netplane.AttachEnvironment(prefix, hyperplane, env); err != nil {
		return err
	}
	np, err := openPath(netplane.ENINetns(prefix, instance), env, netip.AddrPortFrom(instanceIP, sinkPort))
	if err != nil {
		return fmt.Errorf("netplane path: %w", err)
	}
	defer np.close()
	if np.peer != hyperplaneIP {
		return fmt.Errorf("the instance saw the function's connection from %s, not from its Hyperplane ENI %s", np.peer, hyperplaneIP)
	}
	nr.tputPeer = np.peer.String()
	nr.tputNetplaneDesc = "environment -> Hyperplane ENI namespace (forward, SNAT) -> VPC router (ACL, groups) -> instance namespace"

	a, b := rawPrefix+"-a", rawPrefix+"-b"
	if err := bareVeth(a, b); err != nil {
		return err
	}
	veth, err := openPath(b, a, netip.AddrPortFrom(netip.MustParseAddr("10.78.0.2"), sinkPort))
	if err != nil {
		return fmt.Errorf("bare veth: %w", err)
	}
	defer veth.close()
	nr.tputVethDesc = "one veth pair between two namespaces, no nft"

	var bytes [2]int64
	var elapsed [2]time.Duration
	paths := [2]*tcpPath{np, veth}
	slice := d / tputSlices
	for i := range 2 * tputSlices {
		k := (i + i/2) % 2 // 0 1 1 0 0 1 1 0
		n, t, err := paths[k].burst(ctx, slice)
		if err != nil {
			return fmt.Errorf("%s: %w", [2]string{"netplane path", "bare veth"}[k], err)
		}
		bytes[k] += n
		elapsed[k] += t
	}
	nr.tputNetplane = float64(bytes[0]) / elapsed[0].Seconds()
	nr.tputVeth = float64(bytes[1]) / elapsed[1].Seconds()
	return nil
}

// bareVeth makes namespaces a and b joined by a veth pair, 10.78.0.1/30 in
// a and 10.78.0.2/30 in b.
func bareVeth(a, b string) error {
	return onThread(func() error {
		nsB, err := netns.NewNamed(b)
		if err != nil {
			return err
		}
		defer nsB.Close()
		nsA, err := netns.NewNamed(a)
		if err != nil {
			return err
		}
		defer nsA.Close()
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lpa"}, PeerName: "lpb",
			PeerNamespace: netlink.NsFd(int(nsB))}); err != nil {
			return err
		}
		if err := upByName("lpa", netip.MustParsePrefix("10.78.0.1/30")); err != nil {
			return err
		}
		if err := netns.Set(nsB); err != nil {
			return err
		}
		return upByName("lpb", netip.MustParsePrefix("10.78.0.2/30"))
	})
}

func upByName(name string, addr netip.Prefix) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return err
	}
	return netlink.LinkSetUp(link)
}

// tcpPath is one TCP connection from a socket of one namespace to a sink
// in another, which reads and counts everything that arrives.
type tcpPath struct {
	ln       net.Listener
	out, in  net.Conn
	peer     netip.Addr // where the sink saw the connection come from
	received atomic.Int64
	sinkErr  chan error
	closing  atomic.Bool
}

func openPath(sinkNS, srcNS string, sinkAddr netip.AddrPort) (*tcpPath, error) {
	p := &tcpPath{sinkErr: make(chan error, 1)}
	if err := netplane.Do(sinkNS, func() (err error) {
		p.ln, err = net.Listen("tcp4", sinkAddr.String())
		return err
	}); err != nil {
		return nil, err
	}
	if err := netplane.Do(srcNS, func() (err error) {
		p.out, err = net.DialTimeout("tcp4", sinkAddr.String(), 2*time.Second)
		return err
	}); err != nil {
		p.ln.Close()
		return nil, err
	}
	in, err := p.ln.Accept()
	if err != nil {
		p.out.Close()
		p.ln.Close()
		return nil, err
	}
	p.in = in
	p.peer = netip.MustParseAddrPort(in.RemoteAddr().String()).Addr()
	go func() {
		buf := make([]byte, tputWrite)
		for {
			n, err := in.Read(buf)
			p.received.Add(int64(n))
			if err != nil {
				if !p.closing.Load() {
					p.sinkErr <- fmt.Errorf("sink: %w", err)
				}
				close(p.sinkErr)
				return
			}
		}
	}()
	return p, nil
}

func (p *tcpPath) close() {
	p.closing.Store(true)
	p.out.Close()
	p.in.Close()
	p.ln.Close()
	for range p.sinkErr {
	}
}

// burst writes for tputRamp plus d and returns how many bytes the sink
// received during d. It returns once the sink has read everything in
// flight, so that no burst leaves work for the next.
func (p *tcpPath) burst(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	var stop atomic.Bool
	wrote := make(chan error, 1)
	go func() {
		buf := make([]byte, tputWrite)
		for !stop.Load() {
			if _, err := p.out.Write(buf); err != nil {
				wrote <- fmt.Errorf("sender: %w", err)
				return
			}
		}
		wrote <- nil
	}()
	wait := func(t time.Duration) error {
		select {
		case <-time.After(t):
			return nil
		case err := <-p.sinkErr:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := wait(tputRamp)
	from, start := p.received.Load(), time.Now()
	if err == nil {
		err = wait(d)
	}
	got, elapsed := p.received.Load()-from, time.Since(start)
	stop.Store(true)
	if err != nil {
		// The sender may be blocked on a full window; closing unblocks it.
		p.out.Close()
	}
	werr := <-wrote
	if err == nil {
		err = werr
	}
	if err != nil {
		return 0, 0, err
	}
	for last := int64(-1); last != p.received.Load(); time.Sleep(5 * time.Millisecond) {
		last = p.received.Load()
	}
	return got, elapsed, nil
}
