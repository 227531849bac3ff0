package netplane

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// internetTopology is the seed's shape: a public subnet (route to the
// internet gateway) holding a web instance with a public IP and a NAT
// gateway, a private subnet whose default route is the NAT gateway, and a
// second VPC peered with the first.
func internetTopology(prefix string, withNAT, peered bool) Topology {
	all := netip.MustParsePrefix("0.0.0.0/0")
	open := []SecurityGroup{{
		ID:      "sg-open",
		Ingress: []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{all}}},
		Egress:  []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, Prefixes: []netip.Prefix{all}}},
	}}
	private := RouteTable{ID: "rtb-private"}
	if withNAT {
		private.Routes = append(private.Routes, Route{Dst: all, Target: TargetENI, Via: "eni-nat"})
	}
	other := RouteTable{ID: "rtb-other"}
	if peered {
		private.Routes = append(private.Routes, Route{Dst: netip.MustParsePrefix("10.41.0.0/16"), Target: TargetPeering, Via: "pcx-1"})
		other.Routes = append(other.Routes, Route{Dst: netip.MustParsePrefix("10.40.2.0/24"), Target: TargetPeering, Via: "pcx-1"})
	}
	t := Topology{Prefix: prefix, Internet: true, VPCs: []VPC{{
		ID:      "vpc-main",
		Gateway: "igw-main",
		DNS:     []netip.Addr{netip.MustParseAddr("10.40.0.2"), netip.MustParseAddr("169.254.169.253")},
		CIDRs:   []netip.Prefix{netip.MustParsePrefix("10.40.0.0/16")},
		Subnets: []Subnet{
			{ID: "subnet-public", CIDR: netip.MustParsePrefix("10.40.1.0/24"), RouteTable: "rtb-public"},
			{ID: "subnet-private", CIDR: netip.MustParsePrefix("10.40.2.0/24"), RouteTable: "rtb-private"},
		},
		RouteTables: []RouteTable{
			{ID: "rtb-public", Routes: []Route{{Dst: all, Target: TargetGateway, Via: "igw-main"}}},
			private,
		},
		ENIs: []ENI{
			{ID: "eni-web", SubnetID: "subnet-public", IP: netip.MustParseAddr("10.40.1.10"), Groups: []string{"sg-open"}},
			{ID: "eni-lonely", SubnetID: "subnet-public", IP: netip.MustParseAddr("10.40.1.11"), Groups: []string{"sg-open"}},
			{ID: "eni-nat", SubnetID: "subnet-public", IP: netip.MustParseAddr("10.40.1.20"), NAT: true},
			{ID: "eni-app", SubnetID: "subnet-private", IP: netip.MustParseAddr("10.40.2.10"), Groups: []string{"sg-open"}},
		},
		Groups: open,
		PublicIPs: []PublicIP{
			{Private: netip.MustParseAddr("10.40.1.10"), Public: netip.MustParseAddr("198.51.100.10")},
			{Private: netip.MustParseAddr("10.40.1.20"), Public: netip.MustParseAddr("198.51.100.20")},
		},
	}, {
		ID:          "vpc-other",
		CIDRs:       []netip.Prefix{netip.MustParsePrefix("10.41.0.0/16")},
		Subnets:     []Subnet{{ID: "subnet-other", CIDR: netip.MustParsePrefix("10.41.1.0/24"), RouteTable: "rtb-other"}},
		RouteTables: []RouteTable{other},
		ENIs:        []ENI{{ID: "eni-other", SubnetID: "subnet-other", IP: netip.MustParseAddr("10.41.1.10"), Groups: []string{"sg-open"}}},
		Groups:      open,
	}}}
	if peered {
		t.Peerings = []Peering{{ID: "pcx-1", VPCs: [2]string{"vpc-main", "vpc-other"}}}
	}
	return t
}

func TestApplyInternetNATAndPeering(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	ctx := context.Background()
	if err := Apply(ctx, internetTopology(prefix, false, false)); err != nil {
		t.Fatal(err)
	}
	inet := InternetNetns(prefix)
	ns := func(eni string) string { return ENINetns(prefix, eni) }
	server := acceptIn(t, inet, "192.0.2.80:80")
	reaches := func(from, addr string) (netip.AddrPort, bool) {
		t.Helper()
		err := dialFrom(from, addr, 400*time.Millisecond)
		if err != nil {
			if !isTimeout(err) {
				t.Errorf("%s → %s: want success or a timeout (a drop), got %v", from, addr, err)
			}
			return netip.AddrPort{}, false
		}
		select {
		case p := <-server:
			return p, true
		case <-time.After(time.Second):
			return netip.AddrPort{}, true // reached something other than the internet server
		}
	}

	// A public IP in a public subnet reaches the internet as its public IP.
	if p, ok := reaches(ns("eni-web"), "192.0.2.80:80"); !ok || p.Addr().String() != "198.51.100.10" {
		t.Errorf("web instance: reached=%v from %v, want from 198.51.100.10", ok, p)
	}
	// No public IP: the gateway does not translate it, so nothing leaves.
	if _, ok := reaches(ns("eni-lonely"), "192.0.2.80:80"); ok {
		t.Error("an ENI without a public IP reached the internet")
	}
	// A private subnet without a NAT route has no internet.
	if _, ok := reaches(ns("eni-app"), "192.0.2.80:80"); ok {
		t.Error("private subnet without NAT reached the internet")
	}
	// The internet reaches the public IP (the group allows it) and nothing else.
	listenIn(t, ns("eni-web"), "10.40.1.10:8080")
	listenIn(t, ns("eni-app"), "10.40.2.10:8080")
	if err := dialFrom(inet, "198.51.100.10:8080", time.Second); err != nil {
		t.Errorf("internet → public IP: %v", err)
	}
	if err := dialFrom(inet, "10.40.1.10:8080", 300*time.Millisecond); err == nil {
		t.Error("internet reached a private address")
	}

	// With the NAT route, the private instance appears as the NAT gateway's EIP.
	if err := Apply(ctx, internetTopology(prefix, true, false)); err != nil {
		t.Fatal(err)
	}
	if p, ok := reaches(ns("eni-app"), "192.0.2.80:80"); !ok || p.Addr().String() != "198.51.100.20" {
		t.Errorf("private instance through NAT: reached=%v from %v, want from 198.51.100.20", ok, p)
	}
	// The NAT gateway accepts nothing from the internet.
	listenIn(t, ns("eni-nat"), "0.0.0.0:8080")
	if err := dialFrom(inet, "198.51.100.20:8080", 300*time.Millisecond); err == nil {
		t.Error("internet opened a connection to the NAT gateway")
	}

	// Peering carries traffic only where both sides route it; the peered
	// VPC cannot use the NAT gateway or the internet gateway (no transit).
	listenIn(t, ns("eni-other"), "10.41.1.10:8080")
	if err := dialFrom(ns("eni-app"), "10.41.1.10:8080", 300*time.Millisecond); err == nil {
		t.Error("reached another VPC without peering")
	}
	if err := Apply(ctx, internetTopology(prefix, true, true)); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(ns("eni-app"), "10.41.1.10:8080", time.Second); err != nil {
		t.Errorf("peered: %v", err)
	}
	if err := dialFrom(ns("eni-other"), "10.40.2.10:8080", time.Second); err != nil {
		t.Errorf("peered, other way: %v", err)
	}
	if err := dialFrom(ns("eni-other"), "10.40.1.10:8080", 300*time.Millisecond); err == nil {
		t.Error("reached a subnet whose route table has no route back over the peering")
	}

	// The resolver's addresses answer every ENI, even with no route out.
	router := RouterNetns(prefix, "vpc-main")
	listenIn(t, router, "10.40.0.2:53")
	listenIn(t, router, "169.254.169.253:53")
	for _, addr := range []string{"10.40.0.2:53", "169.254.169.253:53"} {
		if err := dialFrom(ns("eni-app"), addr, time.Second); err != nil {
			t.Errorf("ENI → resolver %s: %v", addr, err)
		}
	}

	// Converged: a second Apply changes nothing.
	if lines, err := apply(ctx, internetTopology(prefix, true, true)); err != nil || len(lines) != 0 {
		t.Errorf("second apply: changes %q, %v", lines, err)
	}
	// Dropping the internet removes its namespace and the gateway link.
	top := internetTopology(prefix, true, true)
	top.Internet = false
	if err := Apply(ctx, top); err != nil {
		t.Fatal(err)
	}
	if nsExists(t, inet) {
		t.Error("internet namespace left after the internet was turned off")
	}
	if out := ipIn(t, RouterNetns(prefix, "vpc-main"), "-o", "link"); strings.Contains(out, gatewayLinkName(prefix, "vpc-main")) {
		t.Errorf("gateway link left: %s", out)
	}
}

// Functions without VpcConfig reach the internet from the Lambda
// network's public address, and nothing in a VPC.
func TestLambdaNetwork(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	if err := Apply(context.Background(), internetTopology(prefix, true, false)); err != nil {
		t.Fatal(err)
	}
	env := EnvNetns(prefix, "fn-1")
	if _, err := AttachEnvironment(prefix, LambdaNetworkID, env); err != nil {
		t.Fatal(err)
	}
	server := acceptIn(t, InternetNetns(prefix), "192.0.2.9:443")
	if err := dialFrom(env, "192.0.2.9:443", time.Second); err != nil {
		t.Fatalf("no internet from the Lambda network: %v", err)
	}
	if p := <-server; p.Addr() != LambdaNetworkAddr {
		t.Errorf("seen from %v, want %v", p, LambdaNetworkAddr)
	}
	listenIn(t, ENINetns(prefix, "eni-app"), "10.40.2.10:8080")
	if err := dialFrom(env, "10.40.2.10:8080", 300*time.Millisecond); err == nil {
		t.Error("a function without VpcConfig reached a private address")
	}
	// The public web instance is reachable over the internet, as on AWS.
	listenIn(t, ENINetns(prefix, "eni-web"), "10.40.1.10:8080")
	if err := dialFrom(env, "198.51.100.10:8080", time.Second); err != nil {
		t.Errorf("function → public IP of an instance: %v", err)
	}
	if err := DetachEnvironment(prefix, LambdaNetworkID, env); err != nil {
		t.Fatal(err)
	}
}

// A gateway endpoint's routes reach the service's range privately: a
// private subnet without NAT gets to it, seen from its VPC's endpoint
// address, and nothing else on the internet.
func TestGatewayEndpoint(t *testing.T) {
	requireRoot(t)
	prefix := testPrefix(t)
	topo := internetTopology(prefix, false, false)
	if err := Apply(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	app := ENINetns(prefix, "eni-app")
	service := acceptIn(t, InternetNetns(prefix), "203.0.113.10:443")
	listenIn(t, InternetNetns(prefix), "192.0.2.10:443")
	if err := dialFrom(app, "203.0.113.10:443", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("service range without the endpoint's route: want a timeout, got %v", err)
	}
	topo.VPCs[0].RouteTables[1].Routes = append(topo.VPCs[0].RouteTables[1].Routes,
		Route{Dst: ServicePrefixes[0], Target: TargetEndpoint, Via: "vpce-s3"})
	if err := Apply(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(app, "203.0.113.10:443", time.Second); err != nil {
		t.Fatalf("through the gateway endpoint: %v", err)
	}
	if p := <-service; !endpointBlock.Contains(p.Addr()) {
		t.Errorf("the service saw %v, want the VPC's endpoint address in %s", p, endpointBlock)
	}
	if err := dialFrom(app, "192.0.2.10:443", 300*time.Millisecond); !isTimeout(err) {
		t.Errorf("the rest of the internet through the endpoint: want a timeout, got %v", err)
	}
	if lines, err := apply(context.Background(), topo); err != nil || len(lines) != 0 {
		t.Errorf("second apply: %v, %v", lines, err)
	}
	// The route gone, the link goes with it.
	topo.VPCs[0].RouteTables[1].Routes = nil
	if err := Apply(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	if out := ipIn(t, RouterNetns(prefix, "vpc-main"), "-o", "link"); strings.Contains(out, endpointLinkName(prefix, "vpc-main")) {
		t.Errorf("endpoint link left: %s", out)
	}
}
