package netplane

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// holdIn listens in namespace ns and keeps every accepted connection open
// until its peer closes it (then closes its own end) or the test ends.
func holdIn(t *testing.T, ns, network, addr string) {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	if err := Do(ns, func() (err error) {
		if network == "udp4" {
			pc, err = net.ListenPacket(network, addr)
			return err
		}
		ln, err = net.Listen(network, addr)
		return err
	}); err != nil {
		t.Fatalf("listen %s %s in %s: %v", network, addr, ns, err)
	}
	if pc != nil {
		t.Cleanup(func() { pc.Close() })
		return
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
}

// openFrom opens n connections from namespace ns and keeps them open.
func openFrom(t *testing.T, ns, network, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	if err := Do(ns, func() error {
		for range n {
			c, err := net.DialTimeout(network, addr, 2*time.Second)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	}); err != nil {
		t.Fatalf("%s -> %s: %v", ns, addr, err)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

func TestConnectionCount(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	if err := Apply(context.Background(), hyperplaneTopology(prefix)); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if _, err := ConnectionCount(prefix, "eni-nope"); err == nil {
		t.Error("counted the connections of an ENI that Apply never made")
	}
	if _, err := ConnectionCount("nope", "eni-hp"); err == nil {
		t.Error("counted with an invalid prefix")
	}
	count := func() int {
		t.Helper()
		n, err := ConnectionCount(prefix, "eni-hp")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("an ENI nobody uses carries %d connections", n)
	}
	envA, envB := EnvNetns(prefix, "ctA"), EnvNetns(prefix, "ctB")
	for _, env := range []string{envA, envB} {
		t.Cleanup(func() {
			if err := DetachEnvironment(prefix, "eni-hp", env); err != nil {
				t.Errorf("detach %s: %v", env, err)
			}
		})
		if _, err := AttachEnvironment(prefix, "eni-hp", env); err != nil {
			t.Fatalf("attach %s: %v", env, err)
		}
	}
	hpNS, dbNS := ENINetns(prefix, "eni-hp"), ENINetns(prefix, "eni-db")
	holdIn(t, dbNS, "tcp4", "10.42.1.20:5432")
	holdIn(t, dbNS, "udp4", "10.42.1.20:5353")
	// A connection into the ENI's own address is tracked in its namespace
	// but is not one the ENI carries for its environments.
	holdIn(t, hpNS, "tcp4", "10.42.1.10:9000")
	openFrom(t, dbNS, "tcp4", "10.42.1.10:9000", 1)

	a := openFrom(t, envA, "tcp4", "10.42.1.20:5432", 3)
	openFrom(t, envB, "tcp4", "10.42.1.20:5432", 2)
	u := openFrom(t, envB, "udp4", "10.42.1.20:5353", 1)
	if _, err := u[0].Write([]byte("query")); err != nil {
		t.Fatal(err)
	}
	waitCount := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := count()
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d connections, want %d", what, n, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCount(6, "three and two TCP connections and a UDP flow")
	var all []*netlink.ConntrackFlow
	if err := Do(hpNS, func() (err error) {
		all, err = netlink.ConntrackTableList(netlink.ConntrackTable, netlink.FAMILY_V4)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) <= 6 {
		t.Fatalf("the ENI namespace tracks %d flows; the inbound one should be among them but not counted", len(all))
	}

	// Closed connections linger in conntrack (TIME_WAIT) but are over.
	for _, c := range a {
		c.Close()
	}
	waitCount(3, "after envA closed its connections")
}
