package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

// runDoctor runs `lambdaplane doctor` on the server's data dir and wants
// it to succeed.
func runDoctor(t *testing.T, s *server) string {
	t.Helper()
	out, err := exec.Command(binPath, "doctor", "--data-dir", s.dataDir, "--sdk-dir", sdkDir).CombinedOutput()
	if err != nil {
		t.Fatalf("lambdaplane doctor: %v\n%s", err, out)
	}
	return string(out)
}

// eniLink is the name of the one interface (besides lo) in namespace ns,
// "" when there is none.
func eniLink(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show").CombinedOutput()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if name != "lo" {
				return name
			}
		}
	}
	return ""
}

func ipCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// While the server runs, doctor leaves its network to the server's
// controller; once it is stopped, doctor converges the kernel to the
// stored state, says what it repaired, and then that nothing is left.
func TestDoctorRepairsStoppedServersNetwork(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	s := startServer(t)
	ctx := ctxT(t)
	prefix := netplane.PrefixFor(s.dataDir)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.94", "")
	ni, err := ec2c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(fx.subnetA)})
	if err != nil {
		t.Fatal(err)
	}
	eni, ip := aws.ToString(ni.NetworkInterface.NetworkInterfaceId), aws.ToString(ni.NetworkInterface.PrivateIpAddress)
	ns := netplane.ENINetns(prefix, eni)
	var link string
	eventually(t, func() bool {
		link = eniLink(t, ns)
		if link == "" {
			return false
		}
		out, err := exec.Command("ip", "-n", ns, "route", "show", "default").CombinedOutput()
		return err == nil && strings.Contains(string(out), "dev "+link)
	}, "the controller realizes "+eni)

	// A leftover the running controller would remove on its next pass;
	// doctor must not be the one to do it.
	stale := prefix + "-rdeadbe"
	ipCmd(t, "netns", "add", stale)
	if out := runDoctor(t, s); !strings.Contains(out, "a server is running with this data dir") ||
		!strings.Contains(out, "the running server's controller keeps it converged") {
		t.Fatalf("doctor with the server running:\n%s", out)
	}
	if !strings.Contains(ipCmd(t, "netns", "list"), stale) {
		t.Fatal("doctor changed the network of a running server")
	}

	s.stop()
	ipCmd(t, "-n", ns, "link", "del", link)
	// A dead execution environment's namespace, as a crash leaves it.
	env := netplane.EnvNetns(prefix, "env-doctor")
	ipCmd(t, "netns", "add", env)

	out := runDoctor(t, s)
	t.Logf("doctor after the stop:\n%s", out)
	for _, want := range []string{
		"found and fixed",
		"removed stale namespace " + stale,
		"veth ",
		link + " (" + eni + ")",
		"added address " + ip + "/24 to " + link,
		"removed 1 namespace(s) of dead execution environments",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out)
		}
	}
	if got := eniLink(t, ns); got != link {
		t.Errorf("after doctor the ENI's namespace holds link %q, want %q", got, link)
	}
	if addrs := ipCmd(t, "-n", ns, "-4", "addr", "show", "dev", link); !strings.Contains(addrs, ip+"/24") {
		t.Errorf("%s lost its address %s:\n%s", link, ip, addrs)
	}
	list := ipCmd(t, "netns", "list")
	for _, gone := range []string{stale, env} {
		if strings.Contains(list, gone) {
			t.Errorf("namespace %s survived doctor", gone)
		}
	}

	if out := runDoctor(t, s); !strings.Contains(out, "kernel matches the stored state") ||
		!strings.Contains(out, "no namespace of a dead execution environment") {
		t.Errorf("second doctor:\n%s", out)
	}
}
