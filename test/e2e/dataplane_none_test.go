package e2e

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// --dataplane=none: the same API (a VPC function goes Pending → Active and
// gets its Hyperplane ENI) with no isolation, which the server says loudly:
// the function shares the host's network, and no namespace is made.
func TestDataplaneNoneSameAPI(t *testing.T) {
	t.Parallel()
	requirePython(t)
	s := startServer(t, func(o *serverOptions) { o.extraArgs = append(o.extraArgs, "--dataplane", "none") })
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.93", "")
	probe := createProbe(t, s, fx.subnetA, fx.groupA)
	if enis := lambdaENIs(t, ec2c, fx.vpc); len(enis) != 1 {
		t.Fatalf("Hyperplane ENIs: %d, want 1", len(enis))
	}
	// A loopback port of the host: unreachable from any network namespace.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	if got := probe("127.0.0.1", port); got != "connected" {
		t.Errorf("without isolation the function shares the host's network: got %q", got)
	}
	if !strings.Contains(s.logs.String(), "DATAPLANE NONE") {
		t.Error("the server did not warn that nothing is isolated")
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err == nil && strings.Contains(string(out), netplane.PrefixFor(s.dataDir)+"-") {
		t.Errorf("namespaces made with --dataplane=none:\n%s", out)
	}
}
