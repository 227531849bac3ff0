package netplane

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// requireRoot skips a privileged test without root, except in CI, where a
// skipped data-plane test would hide a broken environment.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("privileged test needs root, and CI=true")
	}
	t.Skip("needs root")
}

var operState = regexp.MustCompile(`NO-CARRIER,|,LOWER_UP|state [A-Z]+ `)

func testPrefix(t *testing.T) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	prefix := "lp" + string(b)
	t.Cleanup(func() {
		if err := Teardown(prefix); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return prefix
}

// listenIn opens a TCP listener inside namespace ns that accepts and
// closes connections until the test ends.
func listenIn(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	if err := Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func dialFrom(ns, addr string, timeout time.Duration) error {
	return Do(ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func ipIn(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %v: %v\n%s", ns, args, err, out)
	}
	return string(out)
}

// dump renders every namespace of the prefix as iproute2 sees it; ifindexes
// are included, so a link that was recreated shows up as a difference.
// Carrier and operational state are left out: the kernel settles them
// asynchronously (linkwatch) after a link comes up.
func dump(t *testing.T, prefix string) string {
	t.Helper()
	names, err := ownedNS(prefix)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ns := range names {
		b.WriteString("== " + ns + "\n")
		b.WriteString(ipIn(t, ns, "-d", "link"))
		b.WriteString(ipIn(t, ns, "-4", "addr"))
		b.WriteString(ipIn(t, ns, "-4", "rule"))
		b.WriteString(ipIn(t, ns, "-4", "route", "show", "table", "all"))
	}
	return operState.ReplaceAllString(b.String(), "")
}

func TestApplyConnectivity(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	topo := testTopology(prefix)
	ctx := context.Background()
	if _, err := apply(ctx, topo); err != nil {
		t.Fatalf("apply: %v", err)
	}
	nsA, nsB, nsC := ENINetns(prefix, "eni-a"), ENINetns(prefix, "eni-b"), ENINetns(prefix, "eni-c")
	router := RouterNetns(prefix, "vpc-0a1b2c3d")

	if out := ipIn(t, nsA, "link", "show", workloadLinkName(prefix, "eni-a")); !strings.Contains(out, "02:00:00:00:0a:01") {
		t.Errorf("ENI a does not carry its MAC:\n%s", out)
	}
	if got := ipIn(t, router, "route", "show", "table", "main"); !strings.Contains(got, "10.23.2.10 dev "+routerLinkName(prefix, "eni-c")) {
		t.Errorf("router main table lacks the /32 of eni-c:\n%s", got)
	}

	listenIn(t, nsB, "10.23.1.11:7000")
	listenIn(t, nsC, "10.23.2.10:7000")
	listenIn(t, nsA, "10.23.1.10:7000")
	// An address eni-c answers for although the VPC does not know it: only
	// the route table's TargetENI route can bring packets to it.
	ipIn(t, nsC, "addr", "add", "198.51.100.7/32", "dev", "lo")
	listenIn(t, nsC, "198.51.100.7:7000")

	reach := func(from, to string) {
		t.Helper()
		if err := dialFrom(from, to, 2*time.Second); err != nil {
			t.Errorf("%s -> %s: %v", from, to, err)
		}
	}
	reach(nsA, "10.23.1.11:7000") // same subnet
	reach(nsA, "10.23.2.10:7000") // other subnet
	reach(nsC, "10.23.1.10:7000") // and back
	reach(nsA, "198.51.100.7:7000")
	if err := dialFrom(nsA, "192.0.2.1:7000", 300*time.Millisecond); err == nil {
		t.Error("reached an address outside the VPC")
	}
	var nerr net.Error
	if err := dialFrom(nsA, "203.0.113.5:7000", 300*time.Millisecond); !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Errorf("blackhole: want a timeout (silent drop), got %v", err)
	}

	before := dump(t, prefix)
	if lines, err := apply(ctx, topo); err != nil || len(lines) != 0 {
		t.Fatalf("second apply: changes %q, err %v", lines, err)
	}
	if after := dump(t, prefix); after != before {
		t.Fatalf("second apply changed the kernel:\n--- before\n%s\n--- after\n%s", before, after)
	}

	// Drift and crash leftovers: a lost rule, a lost route, a downed
	// link, a stray link and an orphan namespace.
	ipIn(t, router, "rule", "del", "from", "10.23.2.0/24")
	ipIn(t, router, "route", "del", "10.23.1.11/32")
	ipIn(t, router, "link", "set", routerLinkName(prefix, "eni-c"), "down")
	ipIn(t, router, "link", "add", prefix+"-junk", "type", "veth", "peer", "name", prefix+"-junk2")
	ipIn(t, nsA, "route", "del", "default")
	ipIn(t, nsA, "link", "set", workloadLinkName(prefix, "eni-a"), "address", "02:00:00:00:0a:99")
	orphan := prefix + "-rdeadbe"
	if _, err := ensureNS(orphan); err != nil {
		t.Fatal(err)
	}
	// What a crash between creating a namespace file and mounting it leaves.
	if err := os.WriteFile(netnsDir+"/"+prefix+"-rdeadbf", nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if lines, err := apply(ctx, topo); err != nil || len(lines) == 0 {
		t.Fatalf("apply after drift: changes %q, err %v", lines, err)
	}
	if after := dump(t, prefix); after != before {
		t.Fatalf("apply did not repair drift:\n--- want\n%s\n--- got\n%s", before, after)
	}
	reach(nsA, "10.23.2.10:7000")

	// Removing an ENI removes its pair, its routes and its namespace.
	smaller := testTopology(prefix)
	smaller.VPCs[0].ENIs = slices.DeleteFunc(smaller.VPCs[0].ENIs, func(e ENI) bool { return e.ID == "eni-b" })
	if _, err := apply(ctx, smaller); err != nil {
		t.Fatalf("apply without eni-b: %v", err)
	}
	if links := ipIn(t, router, "link"); strings.Contains(links, routerLinkName(prefix, "eni-b")) {
		t.Errorf("eni-b's veth survived:\n%s", links)
	}
	if routes := ipIn(t, router, "route", "show", "table", "all"); strings.Contains(routes, "10.23.1.11") {
		t.Errorf("eni-b's route survived:\n%s", routes)
	}
	if names, _ := ownedNS(prefix); slices.Contains(names, nsB) {
		t.Errorf("eni-b's namespace survived: %v", names)
	}
	reach(nsA, "10.23.2.10:7000")

	if err := Teardown(prefix); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), prefix+"-") {
		t.Errorf("namespaces left after teardown:\n%s", out)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if owned(prefix, l.Attrs().Name) {
			t.Errorf("host link %s left after teardown", l.Attrs().Name)
		}
	}
}

func TestApplyMovesENIBetweenSubnets(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	topo := testTopology(prefix)
	ctx := context.Background()
	if err := Apply(ctx, topo); err != nil {
		t.Fatal(err)
	}
	// eni-b changes subnet and address; its pair is reused, its addresses
	// and routes follow.
	topo.VPCs[0].ENIs[1].SubnetID = "subnet-b"
	topo.VPCs[0].ENIs[1].IP = netip.MustParseAddr("10.23.2.20")
	if err := Apply(ctx, topo); err != nil {
		t.Fatal(err)
	}
	nsB := ENINetns(prefix, "eni-b")
	if addrs := ipIn(t, nsB, "-4", "addr"); !strings.Contains(addrs, "10.23.2.20/24") || strings.Contains(addrs, "10.23.1.11") {
		t.Errorf("eni-b addresses:\n%s", addrs)
	}
	if routes := ipIn(t, nsB, "route"); !strings.Contains(routes, "default via 10.23.2.1") {
		t.Errorf("eni-b routes:\n%s", routes)
	}
	listenIn(t, nsB, "10.23.2.20:7001")
	if err := dialFrom(ENINetns(prefix, "eni-a"), "10.23.2.20:7001", 2*time.Second); err != nil {
		t.Errorf("a -> moved b: %v", err)
	}
}

func TestApplyIsolatesVPCs(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	topo := testTopology(prefix)
	// Same CIDR, and even an address eni-b also has: VPCs share nothing.
	topo.VPCs = append(topo.VPCs, VPC{
		ID:          "vpc-other",
		CIDRs:       []netip.Prefix{netip.MustParsePrefix("10.23.0.0/16")},
		Subnets:     []Subnet{{ID: "subnet-x", CIDR: netip.MustParsePrefix("10.23.1.0/24"), RouteTable: "rtb-x"}},
		RouteTables: []RouteTable{{ID: "rtb-x"}},
		ENIs: []ENI{
			{ID: "eni-x", SubnetID: "subnet-x", IP: netip.MustParseAddr("10.23.1.11")},
			{ID: "eni-y", SubnetID: "subnet-x", IP: netip.MustParseAddr("10.23.1.20")},
		},
	})
	if err := Apply(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	nsA, nsB := ENINetns(prefix, "eni-a"), ENINetns(prefix, "eni-b")
	nsX, nsY := ENINetns(prefix, "eni-x"), ENINetns(prefix, "eni-y")
	listenIn(t, nsB, "10.23.1.11:7003")
	listenIn(t, nsX, "10.23.1.11:7004")
	listenIn(t, nsY, "10.23.1.20:7004")
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{nsA, "10.23.1.11:7003", true},
		{nsA, "10.23.1.11:7004", false}, // eni-b answers, not eni-x
		{nsA, "10.23.1.20:7004", false},
		{nsY, "10.23.1.11:7004", true},
		{nsY, "10.23.1.11:7003", false},
	} {
		err := dialFrom(c.from, c.to, 300*time.Millisecond)
		if (err == nil) != c.ok {
			t.Errorf("%s -> %s: err %v, want reachable %v", c.from, c.to, err, c.ok)
		}
	}
}

func TestApplyDropsSpoofedSources(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	if err := Apply(context.Background(), testTopology(prefix)); err != nil {
		t.Fatal(err)
	}
	nsA, nsC := ENINetns(prefix, "eni-a"), ENINetns(prefix, "eni-c")
	var ln net.PacketConn
	if err := Do(nsC, func() (err error) {
		ln, err = net.ListenPacket("udp4", "10.23.2.10:7002")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// eni-a claims eni-b's address as its own and sends from it.
	ipIn(t, nsA, "addr", "add", "10.23.1.11/32", "dev", "lo")
	send := func(src string) {
		t.Helper()
		if err := Do(nsA, func() error {
			c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(src+":0")),
				net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.23.2.10:7002")))
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte(src))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() string {
		buf := make([]byte, 64)
		ln.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, _, err := ln.ReadFrom(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	// The honest datagram goes first so that ARP between eni-a and the
	// router resolves from eni-a's own address.
	send("10.23.1.10")
	if got := recv(); got != "10.23.1.10" {
		t.Fatalf("eni-a's own datagram did not reach eni-c (got %q)", got)
	}
	send("10.23.1.11")
	if got := recv(); got != "" {
		t.Errorf("datagram spoofed from %s reached eni-c", got)
	}
}

func TestDoRefusesCallerNamespace(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	name := prefix + "-rhostns"
	// A name that leads to the host's own namespace must never be entered
	// as if it were one of ours.
	if err := os.WriteFile(netnsDir+"/"+name, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", "/proc/self/ns/net", netnsDir+"/"+name).CombinedOutput(); err != nil {
		t.Fatalf("bind: %v %s", err, out)
	}
	called := false
	err := Do(name, func() error { called = true; return nil })
	if err == nil || called {
		t.Fatalf("Do entered the caller's namespace: err %v", err)
	}
	if err := deleteNS(name); err != nil {
		t.Fatal(err)
	}
}
