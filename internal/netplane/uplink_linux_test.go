package netplane

import (
	"context"
	"crypto/rand"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// throwawayNS makes an empty namespace "lp"+random, apart from any prefix
// (Apply would remove a namespace named with its prefix), removed when
// the test ends.
func throwawayNS(t *testing.T) string {
	t.Helper()
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	name := "lp" + string(b)
	if _, err := ensureNS(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeNS(name); err != nil {
			t.Errorf("remove %s: %v", name, err)
		}
	})
	ipIn(t, name, "link", "set", "lo", "up")
	return name
}

func nftTables(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables in %s: %v\n%s", ns, err, out)
	}
	return string(out)
}

// The uplink is tested against a stand-in host (a throwaway namespace)
// with a stand-in real network behind it (another one, "far", holding
// 100.64.7.1); nothing here touches the machine's own namespace.
func TestUplink(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	ctx := context.Background()
	top := internetTopology(prefix, true, false)
	if err := Apply(ctx, top); err != nil {
		t.Fatal(err)
	}
	host, far := throwawayNS(t), throwawayNS(t)
	hostPath := filepath.Join(netnsDir, host)
	ipIn(t, host, "link", "add", "lan", "type", "veth", "peer", "name", "lan", "netns", far)
	ipIn(t, host, "addr", "add", "100.64.7.2/24", "dev", "lan")
	ipIn(t, host, "link", "set", "lan", "up")
	ipIn(t, far, "addr", "add", "100.64.7.1/24", "dev", "lan")
	ipIn(t, far, "link", "set", "lan", "up")
	server := acceptIn(t, far, "100.64.7.1:80")
	web, lonely := ENINetns(prefix, "eni-web"), ENINetns(prefix, "eni-lonely")
	inet := InternetNetns(prefix)

	if err := dialFrom(web, "100.64.7.1:80", 300*time.Millisecond); err == nil {
		t.Fatal("reached the far network without an uplink")
	}
	if _, err := connectUplink(prefix, filepath.Join(netnsDir, inet)); err == nil {
		t.Error("the internet namespace was accepted as its own host")
	}
	if _, err := connectUplink(prefix, hostPath); err != nil {
		t.Fatal(err)
	}
	reachesFar := func(from string) (netip.AddrPort, bool) {
		t.Helper()
		if err := dialFrom(from, "100.64.7.1:80", time.Second); err != nil {
			return netip.AddrPort{}, false
		}
		select {
		case p := <-server:
			return p, true
		case <-time.After(time.Second):
			t.Fatal("connected, but not to the far server")
			return netip.AddrPort{}, false
		}
	}
	// Out through the internet gateway, the uplink and the host's
	// masquerade: the far side sees the host's address.
	if p, ok := reachesFar(web); !ok || p.Addr() != netip.MustParseAddr("100.64.7.2") {
		t.Errorf("public instance → far: reached=%v from %v, want from 100.64.7.2", ok, p)
	}
	if _, ok := reachesFar(lonely); ok {
		t.Error("an ENI without a public IP reached the real network")
	}
	// So do a private subnet behind the NAT gateway and a function without
	// VpcConfig.
	if p, ok := reachesFar(ENINetns(prefix, "eni-app")); !ok || p.Addr() != netip.MustParseAddr("100.64.7.2") {
		t.Errorf("private instance through NAT → far: reached=%v from %v", ok, p)
	}
	env := EnvNetns(prefix, "fn-1")
	if _, err := AttachEnvironment(prefix, LambdaNetworkID, env); err != nil {
		t.Fatal(err)
	}
	if _, ok := reachesFar(env); !ok {
		t.Error("the Lambda network did not reach the real network")
	}
	if got := ipIn(t, host, "-o", "link", "show", uplinkHostEnd(prefix)); !strings.Contains(got, uplinkHostEnd(prefix)) {
		t.Errorf("host end missing: %s", got)
	}
	if out, err := exec.Command("ip", "netns", "exec", host, "sysctl", "-n", "net.ipv4.ip_forward").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Errorf("host forwarding: %q, %v", out, err)
	}

	// Converged: neither ConnectUplink nor Apply changes anything now, and
	// Apply keeps the uplink's link and route.
	if lines, err := connectUplink(prefix, hostPath); err != nil || len(lines) != 0 {
		t.Errorf("second connect: changes %q, %v", lines, err)
	}
	if lines, err := apply(ctx, top); err != nil || len(lines) != 0 {
		t.Errorf("apply with the uplink: changes %q, %v", lines, err)
	}
	if _, ok := reachesFar(web); !ok {
		t.Error("uplink lost after Apply")
	}

	// Nothing from the real network opens a connection inward, even when
	// the host routes the simulated ranges at the uplink.
	inetAddr, hostAddr := uplinkAddrs(prefix)
	for _, dst := range []string{"192.0.2.0/24", "198.51.100.0/24", inetAddr.Masked().String()} {
		ipIn(t, host, "route", "replace", dst, "via", inetAddr.Addr().String(), "dev", uplinkHostEnd(prefix))
	}
	ipIn(t, far, "route", "add", "default", "via", "100.64.7.2")
	listenIn(t, inet, "192.0.2.80:80")
	listenIn(t, inet, "0.0.0.0:81")
	listenIn(t, web, "10.40.1.10:8080")
	if err := dialFrom(inet, "192.0.2.80:80", time.Second); err != nil {
		t.Fatalf("internet server: %v", err)
	}
	for _, addr := range []string{"192.0.2.80:80", "198.51.100.10:8080", netip.AddrPortFrom(inetAddr.Addr(), 81).String()} {
		if err := dialFrom(far, addr, 300*time.Millisecond); err == nil {
			t.Errorf("far network opened a connection to %s", addr)
		}
	}
	// Nor does the simulated internet reach the host itself.
	listenIn(t, host, "0.0.0.0:22")
	for _, addr := range []string{"100.64.7.2:22", netip.AddrPortFrom(hostAddr.Addr(), 22).String()} {
		if err := dialFrom(web, addr, 300*time.Millisecond); err == nil {
			t.Errorf("simulated internet opened a connection to the host at %s", addr)
		}
	}
	// The simulated ranges stay in, even an address nobody holds that the
	// real network would answer.
	ipIn(t, far, "addr", "add", "198.51.100.99/32", "dev", "lo")
	ipIn(t, host, "route", "replace", "198.51.100.99/32", "via", "100.64.7.1")
	listenIn(t, far, "198.51.100.99:80")
	if err := dialFrom(inet, "198.51.100.99:80", 300*time.Millisecond); err == nil {
		t.Error("a simulated address left through the uplink")
	}

	// Disconnecting removes everything on both sides, and then nothing.
	if _, err := disconnectUplink(prefix, hostPath); err != nil {
		t.Fatal(err)
	}
	if got := ipIn(t, host, "-o", "link"); strings.Contains(got, prefix) {
		t.Errorf("host links left: %s", got)
	}
	if got := ipIn(t, inet, "-o", "link"); strings.Contains(got, uplinkInternetEnd(prefix)) {
		t.Errorf("internet link left: %s", got)
	}
	if got := ipIn(t, inet, "route", "show", "default"); got != "" {
		t.Errorf("default route left: %s", got)
	}
	if got := ipIn(t, host, "route"); strings.Contains(got, "169.254.") || strings.Contains(got, "198.51.100.0") {
		t.Errorf("host routes left: %s", got)
	}
	for _, ns := range []string{host, inet} {
		if got := nftTables(t, ns); strings.Contains(got, uplinkTable(prefix)) {
			t.Errorf("nft table left in %s: %s", ns, got)
		}
	}
	if _, ok := reachesFar(web); ok {
		t.Error("reached the far network after disconnecting")
	}
	if lines, err := disconnectUplink(prefix, hostPath); err != nil || len(lines) != 0 {
		t.Errorf("second disconnect: changes %q, %v", lines, err)
	}

	// Teardown takes the link with the internet namespace; only the
	// host's table needs DisconnectUplink.
	if _, err := connectUplink(prefix, hostPath); err != nil {
		t.Fatal(err)
	}
	if err := Teardown(prefix); err != nil {
		t.Fatal(err)
	}
	if got := ipIn(t, host, "-o", "link"); strings.Contains(got, prefix) {
		t.Errorf("host end left after Teardown: %s", got)
	}
	if lines, err := disconnectUplink(prefix, hostPath); err != nil || len(lines) != 1 {
		t.Errorf("disconnect after Teardown: changes %q, %v; want the host's table removed", lines, err)
	}
}
