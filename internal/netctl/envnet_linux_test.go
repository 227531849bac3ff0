package netctl_test

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lambdaplane/lambdaplane/internal/netctl"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// holdIn accepts connections on addr in namespace ns and keeps them open
// until the test ends.
func holdIn(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	if err := netplane.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
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
			held = append(held, c)
			mu.Unlock()
		}
	}()
}

// Environments behind each of a combination's interfaces, the first and
// one added for load: each interface counts the connections of its own
// environments.
func TestEnvNetworkCountsConnectionsPerInterface(t *testing.T) {
	requireRoot(t)
	prefix := kernelPrefix(t)
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	fnSub, dbSub := e.subnet(vpc, "10.0.1.0/24"), e.subnet(vpc, "10.0.2.0/24")
	fn, db := e.group(vpc, "fn"), e.group(vpc, "db")
	e.allowFromGroup(db, fn, 5432)
	dbENI := e.eni(dbSub, "10.0.2.20", db)
	const acct, region = "123456789012", "us-east-1"
	enis, err := e.svc.AcquireLambdaENIs(acct, region, "fn:$LATEST", "AROAEXAMPLE:fn", "fn", []string{fnSub}, []string{fn})
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.svc.AddLambdaENI(acct, region, fnSub, []string{fn})
	if err != nil {
		t.Fatal(err)
	}
	c := netctl.New(prefix, e.svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	holdIn(t, netplane.ENINetns(prefix, dbENI), "10.0.2.20:5432")

	n := netctl.EnvNetwork{Prefix: prefix}
	open := func(eni, env string, conns int) {
		t.Helper()
		path, err := n.AttachEnv(ctx, eni, env)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := n.DetachEnv(eni, env); err != nil {
				t.Errorf("detach %s: %v", env, err)
			}
		})
		if err := netplane.Do(filepath.Base(path.NetNS), func() error {
			for range conns {
				c, err := net.Dial("tcp4", "10.0.2.20:5432")
				if err != nil {
					return err
				}
				t.Cleanup(func() { c.Close() })
			}
			return nil
		}); err != nil {
			t.Fatalf("%s behind %s -> database: %v", env, eni, err)
		}
	}
	open(enis[0].ID, "first", 3)
	open(added.ID, "added", 1)
	for eni, want := range map[string]int{enis[0].ID: 3, added.ID: 1, dbENI: 0} {
		if got, err := n.ConnectionCount(eni); err != nil || got != want {
			t.Errorf("%s carries %d connections (%v), want %d", eni, got, err, want)
		}
	}
}
