package netctl

import (
	"context"
	"crypto/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
	"github.com/lambdaplane/lambdaplane/internal/store"
	"github.com/lambdaplane/lambdaplane/internal/vpcdns"
)

func lpName(t *testing.T) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "lp" + string(b)
}

func ipNetns(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %v: %v\n%s", ns, args, err, out)
	}
	return string(out)
}

// A controller with an uplink connects it on apply, lets the internet's
// DNS server forward to the host's resolver, and takes the uplink out of
// the host on Close. The host is a throwaway namespace with a "far" one
// behind it; nothing touches the machine's own namespace.
func TestControllerUplink(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("privileged test needs root, and CI=true")
		}
		t.Skip("needs root")
	}
	prefix := lpName(t)
	t.Cleanup(func() {
		if err := netplane.Teardown(prefix); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	host, far := lpName(t), lpName(t)
	for _, ns := range []string{host, far} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipNetns(t, host, "link", "add", "lan", "type", "veth", "peer", "name", "lan", "netns", far)
	ipNetns(t, host, "addr", "add", "100.64.7.2/24", "dev", "lan")
	ipNetns(t, host, "link", "set", "lan", "up")
	ipNetns(t, far, "addr", "add", "100.64.7.1/24", "dev", "lan")
	ipNetns(t, far, "link", "set", "lan", "up")
	// The far network's resolver knows a name the simulated internet does not.
	world, err := vpcdns.NewZone(vpcdns.ZoneConfig{Authoritative: true,
		Hosts: map[string][]netip.Addr{"www.example.com": {netip.MustParseAddr("100.64.7.1")}}})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := vpcdns.Serve(filepath.Join(netnsDir, far), []netip.AddrPort{netip.MustParseAddrPort("100.64.7.1:53")}, world)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 100.64.7.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	st := store.NewMemory()
	accounts, err := iam.NewAccounts()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := iam.New(iam.Options{Store: st, Accounts: accounts})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ec2.New(ec2.Options{Store: st, Authorizer: ids})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	c := New(prefix, svc, nil).WithUplink(filepath.Join(netnsDir, host))
	c.dns.resolvConf = resolv
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ipNetns(t, host, "-o", "link"); !strings.Contains(got, prefix+"-") {
		t.Fatalf("no uplink in the host after Sync: %s", got)
	}

	lookup := func(name string) (int, []string) {
		t.Helper()
		var resp *dns.Msg
		err := netplane.Do(netplane.InternetNetns(prefix), func() (err error) {
			cl := dns.Client{Timeout: 3 * time.Second}
			resp, _, err = cl.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), netip.AddrPortFrom(netplane.InternetDNSAddr, 53).String())
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var addrs []string
		for _, rr := range resp.Answer {
			if a, ok := rr.(*dns.A); ok {
				addrs = append(addrs, a.A.String())
			}
		}
		return resp.Rcode, addrs
	}
	if rcode, addrs := lookup("www.example.com."); rcode != dns.RcodeSuccess || strings.Join(addrs, ",") != "100.64.7.1" {
		t.Errorf("real name through the host's resolver: %s %v", dns.RcodeToString[rcode], addrs)
	}
	if rcode, addrs := lookup("lambda.us-east-1.amazonaws.com."); rcode != dns.RcodeSuccess || strings.Join(addrs, ",") != netplane.ServiceAddr.String() {
		t.Errorf("simulated name: %s %v", dns.RcodeToString[rcode], addrs)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ipNetns(t, host, "-o", "link"); strings.Contains(got, prefix+"-") {
		t.Errorf("uplink left in the host after Close: %s", got)
	}
	if out, err := exec.Command("ip", "netns", "exec", host, "nft", "list", "tables").CombinedOutput(); err != nil || strings.Contains(string(out), prefix) {
		t.Errorf("host tables after Close: %s %v", out, err)
	}
}
