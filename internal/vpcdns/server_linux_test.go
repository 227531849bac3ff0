package vpcdns

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// requireRoot skips a test that needs root, except in CI, where root is
// expected and its absence is a failure.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("privileged test needs root in CI")
	}
	t.Skip("needs root")
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// throwawayNetns makes a namespace with lo up and a link holding
// 169.254.169.253, removed when the test ends. The link is one end of a
// veth pair whose both ends stay inside: the dummy driver is a module
// that kernels do not always have.
func throwawayNetns(t *testing.T) string {
	var b [4]byte
	rand.Read(b[:])
	name := "lp" + hex.EncodeToString(b[:])
	ip(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ip(t, "-n", name, "link", "set", "lo", "up")
	ip(t, "-n", name, "link", "add", "lpdns0", "type", "veth", "peer", "name", "lpdns1")
	ip(t, "-n", name, "addr", "add", ResolverLinkLocal.String()+"/32", "dev", "lpdns0")
	ip(t, "-n", name, "link", "set", "lpdns0", "up")
	return name
}

// nsExchange asks addr from a socket made inside ns.
func nsExchange(t *testing.T, ns *netNS, network string, addr netip.AddrPort, m *dns.Msg) *dns.Msg {
	t.Helper()
	var conn net.Conn
	if err := ns.do(func() error {
		var err error
		conn, err = net.DialTimeout(network, addr.String(), 3*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := dns.Client{Net: network, Timeout: 3 * time.Second}
	resp, _, err := c.ExchangeWithConn(m, &dns.Conn{Conn: conn})
	if err != nil {
		t.Fatalf("%s %v over %s in the namespace: %v", addr, m.Question[0].Name, network, err)
	}
	return resp
}

func TestServeInNamespace(t *testing.T) {
	requireRoot(t)
	name := throwawayNetns(t)
	path := "/run/netns/" + name

	// The upstream listens on the namespace's loopback at a port that, on
	// the host's loopback, is held by a socket that never answers: a
	// forwarder dialing from the host namespace would get SERVFAIL.
	trap, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer trap.Close()
	upAddr := trap.LocalAddr().(*net.UDPAddr).AddrPort()
	inetZone, err := InternetZone(InternetConfig{Names: map[string][]netip.Addr{"lambda.us-east-1.amazonaws.com": {netip.MustParseAddr("203.0.113.10")}}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := Serve(path, []netip.AddrPort{upAddr}, inetZone)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()

	c := vpcConfig(true, true)
	c.PrivateDNS = nil
	c.Upstream = upAddr
	vpcZone, err := VPCZone(c)
	if err != nil {
		t.Fatal(err)
	}
	// 10.0.0.2 is not in the namespace yet: the server binds it anyway.
	base2 := netip.AddrPortFrom(ResolverAddr(netip.MustParsePrefix("10.0.0.0/16")), 53)
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:53"),
		netip.AddrPortFrom(ResolverLinkLocal, 53),
		base2,
	}
	s, err := Serve(path, addrs, vpcZone)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Addrs(); len(got) != 3 || got[0] != addrs[0] || got[1] != addrs[1] || got[2] != addrs[2] {
		t.Fatalf("Addrs() = %v, want %v", got, addrs)
	}
	ip(t, "-n", name, "addr", "add", base2.Addr().String()+"/32", "dev", "lpdns0")

	ns, err := openNetNS(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.close()
	for _, a := range addrs {
		for _, network := range []string{"udp", "tcp"} {
			check(t, nsExchange(t, ns, network, a, newQuery("ip-10-0-1-5.ec2.internal.", dns.TypeA)), dns.RcodeSuccess, false, "10.0.1.5")
			check(t, nsExchange(t, ns, network, a, newQuery("lambda.us-east-1.amazonaws.com.", dns.TypeA)), dns.RcodeSuccess, false, "203.0.113.10")
			check(t, nsExchange(t, ns, network, a, newQuery("www.example.com.", dns.TypeA)), dns.RcodeNameError, false)
		}
	}
	trap.SetReadDeadline(time.Now())
	if _, _, err := trap.ReadFrom(make([]byte, 512)); err == nil {
		t.Error("a query reached the host's loopback")
	}
}
