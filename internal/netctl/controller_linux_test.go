package netctl_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/lambdaplane/lambdaplane/internal/netctl"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
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

// kernelPrefix is a fresh "lp" prefix whose kernel objects are removed
// when the test ends.
func kernelPrefix(t *testing.T) string {
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
		if err := netplane.Teardown(prefix); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return prefix
}

func listenIn(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	if err := netplane.Do(ns, func() (err error) {
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
	return netplane.Do(ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func nsExists(name string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", name))
	return err == nil
}

func TestControllerEnforcesGroups(t *testing.T) {
	requireRoot(t)
	prefix := kernelPrefix(t)
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	appSub, dbSub := e.subnet(vpc, "10.0.1.0/24"), e.subnet(vpc, "10.0.2.0/24")
	app, db := e.group(vpc, "app"), e.group(vpc, "db")
	e.allowFromGroup(db, app, 5432)
	appENI := e.eni(appSub, "10.0.1.10", app)
	dbENI := e.eni(dbSub, "10.0.2.20", db)

	c := netctl.New(prefix, e.svc, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	appNS, dbNS := netplane.ENINetns(prefix, appENI), netplane.ENINetns(prefix, dbENI)
	listenIn(t, dbNS, "0.0.0.0:5432")
	listenIn(t, dbNS, "0.0.0.0:6379")
	if err := dialFrom(appNS, "10.0.2.20:5432", 2*time.Second); err != nil {
		t.Fatalf("app → db:5432 allowed by a group reference: %v", err)
	}
	if err := dialFrom(appNS, "10.0.2.20:6379", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("app → db:6379 must time out (dropped, not refused), got %v", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	must(e.ec2.RevokeSecurityGroupIngress(ctx, &sdk.RevokeSecurityGroupIngressInput{GroupId: aws.String(db), IpPermissions: tcpFromGroup(app, 5432)}))
	eventually(t, "revoked rule stops new connections", func() bool {
		return isTimeout(dialFrom(appNS, "10.0.2.20:5432", 200*time.Millisecond))
	})

	must(e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(dbENI)}))
	eventually(t, "deleted ENI's namespace removed", func() bool { return !nsExists(dbNS) })

	// Stopping the controller leaves the network: only Teardown removes it.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
	done <- nil // for the cleanup
	if !nsExists(appNS) || !nsExists(netplane.RouterNetns(prefix, vpc)) {
		t.Fatal("Close removed kernel objects")
	}
	if err := c.Teardown(); err != nil {
		t.Fatal(err)
	}
	if nsExists(appNS) || nsExists(netplane.RouterNetns(prefix, vpc)) {
		t.Fatal("Teardown left namespaces")
	}
}

// testWriter sends the controller's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
