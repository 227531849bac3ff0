package netplane

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func hyperplaneTopology(prefix string) Topology {
	return Topology{Prefix: prefix, VPCs: []VPC{{
		ID:          "vpc-hp",
		CIDRs:       []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		Subnets:     []Subnet{{ID: "subnet-a", CIDR: netip.MustParsePrefix("10.42.1.0/24"), RouteTable: "rtb-main"}},
		RouteTables: []RouteTable{{ID: "rtb-main"}},
		// No groups: the router's firewall lets everything through, so
		// whatever is refused below is refused by the ENI's namespace.
		ENIs: []ENI{
			{ID: "eni-hp", SubnetID: "subnet-a", IP: netip.MustParseAddr("10.42.1.10"), Hyperplane: true},
			{ID: "eni-db", SubnetID: "subnet-a", IP: netip.MustParseAddr("10.42.1.20")},
		},
	}}}
}

// acceptIn listens in namespace ns and reports the peer address of every
// connection it accepts.
func acceptIn(t *testing.T, ns, addr string) <-chan netip.AddrPort {
	t.Helper()
	var ln net.Listener
	if err := Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	peers := make(chan netip.AddrPort, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- netip.MustParseAddrPort(c.RemoteAddr().String())
			c.Close()
		}
	}()
	return peers
}

func isTimeout(err error) bool {
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

func nsExists(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

func TestHyperplaneEnvironments(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	if err := Apply(context.Background(), hyperplaneTopology(prefix)); err != nil {
		t.Fatalf("apply: %v", err)
	}
	hpNS, dbNS := ENINetns(prefix, "eni-hp"), ENINetns(prefix, "eni-db")
	router := RouterNetns(prefix, "vpc-hp")

	// envA is made by AttachEnvironment, envB by its caller.
	envA, envB := EnvNetns(prefix, "envA"), EnvNetns(prefix, "envB")
	if _, err := ensureNS(envB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, env := range []string{envA, envB} {
			if err := DetachEnvironment(prefix, "eni-hp", env); err != nil {
				t.Errorf("detach %s: %v", env, err)
			}
		}
	})
	if _, err := AttachEnvironment(prefix, "eni-nope", envA); err == nil {
		t.Error("attached to an ENI that Apply never made")
	}
	linkA, err := AttachEnvironment(prefix, "eni-hp", envA)
	if err != nil {
		t.Fatalf("attach A: %v", err)
	}
	linkB, err := AttachEnvironment(prefix, "eni-hp", envB)
	if err != nil {
		t.Fatalf("attach B: %v", err)
	}
	t.Logf("A %+v, B %+v", linkA, linkB)
	// The controller applies the topology again and again; environments
	// (named with EnvNetns) are not the topology's to remove.
	if err := Apply(context.Background(), hyperplaneTopology(prefix)); err != nil {
		t.Fatalf("apply again: %v", err)
	}
	if !nsExists(t, envA) || !nsExists(t, envB) {
		t.Fatal("a second Apply removed environment namespaces")
	}
	if linkA.Netns != envA || linkB.Netns != envB || linkA.Addr == linkB.Addr || linkA.Gateway == linkB.Gateway ||
		!envBlock.Contains(linkA.Addr) || linkA.Gateway.Next() != linkA.Addr {
		t.Fatalf("links A %+v, B %+v", linkA, linkB)
	}
	if routes := ipIn(t, envA, "route"); !strings.Contains(routes, "default via "+linkA.Gateway.String()) {
		t.Errorf("envA routes:\n%s", routes)
	}

	// Out: both environments reach the database, which sees the ENI.
	db := acceptIn(t, dbNS, "10.42.1.20:5432")
	for _, env := range []string{envA, envB} {
		if err := dialFrom(env, "10.42.1.20:5432", 2*time.Second); err != nil {
			t.Fatalf("%s -> database: %v", env, err)
		}
		select {
		case peer := <-db:
			if peer.Addr().String() != "10.42.1.10" {
				t.Errorf("database saw %s from %s, want the Hyperplane ENI's 10.42.1.10", peer, env)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("database accepted nothing from %s", env)
		}
	}

	// In: the environments listen on every address they have.
	acceptIn(t, envA, "0.0.0.0:8080")
	acceptIn(t, envB, "0.0.0.0:8080")
	if err := dialFrom(envA, "127.0.0.1:8080", time.Second); err != nil {
		t.Errorf("envA's own loopback: %v", err)
	}
	// The ENI's address has no listener and forwards nothing inward: the
	// ENI namespace's kernel refuses.
	err = dialFrom(dbNS, "10.42.1.10:8080", time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("database -> ENI address: want connection refused, got %v", err)
	}
	t.Logf("database -> ENI address :8080: %v", err)
	// Even a VPC that routed the environment links to the ENI gets no
	// new connection through: the ENI namespace drops it silently.
	ipIn(t, router, "route", "add", envBlock.String(), "via", "10.42.1.10", "dev", routerLinkName(prefix, "eni-hp"), "onlink")
	to := netip.AddrPortFrom(linkA.Addr, 8080).String()
	err = dialFrom(dbNS, to, 400*time.Millisecond)
	if !isTimeout(err) {
		t.Errorf("database -> environment via the ENI: want a timeout, got %v", err)
	}
	t.Logf("database -> environment %s routed through the ENI: %v", to, err)
	// Control: with the ENI namespace's forward filter open, the same
	// connection succeeds, so the timeout above was the filter's doing.
	table := hyperplaneTable(prefix)
	if out, err := exec.Command("ip", "netns", "exec", hpNS, "nft", "add", "rule", "inet", table, "forward", "accept").CombinedOutput(); err != nil {
		t.Fatalf("open filter: %v %s", err, out)
	}
	if err := dialFrom(dbNS, to, 2*time.Second); err != nil {
		t.Errorf("control: database -> environment with the filter open: %v", err)
	}

	// Applying again repairs the table; attaching again changes nothing.
	if err := Apply(context.Background(), hyperplaneTopology(prefix)); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		var b strings.Builder
		for _, ns := range []string{hpNS, envA, envB} {
			b.WriteString(ipIn(t, ns, "-d", "link"))
			b.WriteString(ipIn(t, ns, "addr"))
			b.WriteString(ipIn(t, ns, "route"))
		}
		return operState.ReplaceAllString(b.String(), "")
	}
	before := state()
	again, err := AttachEnvironment(prefix, "eni-hp", envA)
	if err != nil || again != linkA {
		t.Fatalf("attach A again: %+v, %v (first %+v)", again, err, linkA)
	}
	if after := state(); after != before {
		t.Errorf("attaching again changed the kernel:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if err := dialFrom(dbNS, to, 400*time.Millisecond); !isTimeout(err) {
		t.Errorf("after re-attach, database -> environment: want a timeout, got %v", err)
	}

	// Sideways: neither the other environment, nor its gateway, nor the
	// ENI's own address answers an environment.
	for _, dst := range []netip.Addr{linkB.Addr, linkB.Gateway, netip.MustParseAddr("10.42.1.10")} {
		to := netip.AddrPortFrom(dst, 8080).String()
		err := dialFrom(envA, to, 400*time.Millisecond)
		if !isTimeout(err) {
			t.Errorf("envA -> %s: want a timeout, got %v", to, err)
		}
		t.Logf("envA -> %s: %v", to, err)
	}

	// Detach: the namespace Attach made goes; the caller's stays, unlinked.
	hostA, hostB := envHostLinkName(prefix, envA), envHostLinkName(prefix, envB)
	for _, env := range []string{envA, envB} {
		if err := DetachEnvironment(prefix, "eni-hp", env); err != nil {
			t.Fatalf("detach %s: %v", env, err)
		}
		if err := DetachEnvironment(prefix, "eni-hp", env); err != nil {
			t.Fatalf("detach %s twice: %v", env, err)
		}
	}
	if nsExists(t, envA) {
		t.Error("envA's namespace survived its detach")
	}
	if !nsExists(t, envB) {
		t.Fatal("envB's namespace, made by the caller, was removed")
	}
	if links := ipIn(t, hpNS, "link"); strings.Contains(links, hostA) || strings.Contains(links, hostB) {
		t.Errorf("environment links survived in the ENI namespace:\n%s", links)
	}
	if links := ipIn(t, envB, "link"); strings.Contains(links, envPeerLinkName(prefix, envB)) {
		t.Errorf("envB still has its link:\n%s", links)
	}
	if err := dialFrom(envB, "10.42.1.20:5432", 300*time.Millisecond); err == nil {
		t.Error("detached envB still reaches the database")
	}
}

func TestHyperplaneConcurrentAttachAndCollision(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	if err := Apply(context.Background(), hyperplaneTopology(prefix)); err != nil {
		t.Fatalf("apply: %v", err)
	}
	envs := []string{prefix + "-c0", prefix + "-c1", prefix + "-c2", prefix + "-c3"}
	links := make([]EnvLink, len(envs))
	errs := make([]error, len(envs))
	done := make(chan int)
	for i, env := range envs {
		t.Cleanup(func() {
			if err := DetachEnvironment(prefix, "eni-hp", env); err != nil {
				t.Errorf("detach %s: %v", env, err)
			}
		})
		go func() {
			links[i], errs[i] = AttachEnvironment(prefix, "eni-hp", env)
			done <- i
		}()
	}
	for range envs {
		<-done
	}
	addrs := map[netip.Addr]string{}
	for i, l := range links {
		if errs[i] != nil {
			t.Fatalf("attach %s: %v", envs[i], errs[i])
		}
		if prev, dup := addrs[l.Addr]; dup {
			t.Errorf("%s and %s both got %s", prev, envs[i], l.Addr)
		}
		addrs[l.Addr] = envs[i]
	}

	// A link whose name another environment already holds is not taken
	// over, neither by attaching nor by detaching. The namespace is the
	// caller's, so that detaching leaves it (and the pair in it) alone.
	env := prefix + "-c4"
	if _, err := ensureNS(env); err != nil {
		t.Fatal(err)
	}
	if _, err := AttachEnvironment(prefix, "eni-hp", env); err != nil {
		t.Fatal(err)
	}
	hpNS := ENINetns(prefix, "eni-hp")
	host := envHostLinkName(prefix, env)
	ipIn(t, hpNS, "link", "set", host, "alias", envLinkAlias("someone-else"))
	if _, err := AttachEnvironment(prefix, "eni-hp", env); err == nil || !strings.Contains(err.Error(), "collide") {
		t.Errorf("attach over a colliding link: %v", err)
	}
	if err := DetachEnvironment(prefix, "eni-hp", env); err != nil {
		t.Fatal(err)
	}
	if out := ipIn(t, hpNS, "link"); !strings.Contains(out, host) {
		t.Errorf("detach removed another environment's link %s", host)
	}
}
