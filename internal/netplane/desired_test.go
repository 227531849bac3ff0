package netplane

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func testTopology(prefix string) Topology {
	return Topology{Prefix: prefix, VPCs: []VPC{{
		ID:    "vpc-0a1b2c3d",
		CIDRs: []netip.Prefix{netip.MustParsePrefix("10.23.0.0/16")},
		Subnets: []Subnet{
			{ID: "subnet-a", CIDR: netip.MustParsePrefix("10.23.1.0/24"), RouteTable: "rtb-main"},
			{ID: "subnet-b", CIDR: netip.MustParsePrefix("10.23.2.0/24"), RouteTable: "rtb-b"},
		},
		RouteTables: []RouteTable{
			{ID: "rtb-main", Routes: []Route{
				{Dst: netip.MustParsePrefix("203.0.113.0/24"), Target: TargetBlackhole},
				{Dst: netip.MustParsePrefix("198.51.100.0/24"), Target: TargetENI, Via: "eni-c"},
			}},
			{ID: "rtb-b"},
		},
		ENIs: []ENI{
			{ID: "eni-a", SubnetID: "subnet-a", IP: netip.MustParseAddr("10.23.1.10"), MAC: "02:00:00:00:0a:01"},
			{ID: "eni-b", SubnetID: "subnet-a", IP: netip.MustParseAddr("10.23.1.11")},
			{ID: "eni-c", SubnetID: "subnet-b", IP: netip.MustParseAddr("10.23.2.10")},
		},
	}}}
}

func TestBuildPlan(t *testing.T) {
	const prefix = "lpab"
	p, err := buildPlan(testTopology(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.vpcs) != 1 {
		t.Fatalf("%d VPC plans", len(p.vpcs))
	}
	v := p.vpcs[0]
	if v.ns != RouterNetns(prefix, "vpc-0a1b2c3d") {
		t.Errorf("router namespace %s", v.ns)
	}
	tables, _ := assignTables(testTopology(prefix).VPCs[0])
	main, b := tables["rtb-main"], tables["rtb-b"]
	if main == b || main < tableBase || b < tableBase {
		t.Fatalf("tables %d and %d", main, b)
	}
	pfx := netip.MustParsePrefix
	wantRules := []ruleSpec{
		{rulePriority, pfx("10.23.1.0/24"), main},
		{rulePriority, pfx("10.23.2.0/24"), b},
	}
	if !slices.Equal(v.rules, wantRules) {
		t.Errorf("rules %v, want %v", v.rules, wantRules)
	}
	ra, rc := routerLinkName(prefix, "eni-a"), routerLinkName(prefix, "eni-c")
	wantRoutes := []routeSpec{
		{table: mainTable, dst: pfx("0.0.0.0/0"), kind: routeBlackhole},
		{table: mainTable, dst: pfx("10.23.1.10/32"), dev: ra},
		{table: mainTable, dst: pfx("10.23.1.11/32"), dev: routerLinkName(prefix, "eni-b")},
		{table: mainTable, dst: pfx("10.23.2.10/32"), dev: rc},
		{table: main, dst: pfx("10.23.0.0/16"), kind: routeThrow},
		{table: main, dst: pfx("198.51.100.0/24"), dev: rc, gw: netip.MustParseAddr("10.23.2.10")},
		{table: main, dst: pfx("203.0.113.0/24"), kind: routeBlackhole},
		{table: b, dst: pfx("10.23.0.0/16"), kind: routeThrow},
	}
	slices.SortFunc(wantRoutes, compareRoutes)
	if !slices.Equal(v.routes, wantRoutes) {
		t.Errorf("routes\n%v\nwant\n%v", v.routes, wantRoutes)
	}
	var a linkPlan
	for _, l := range v.links {
		if l.eniID == "eni-a" {
			a = l
		}
	}
	want := linkPlan{
		eniID: "eni-a", name: ra, peer: workloadLinkName(prefix, "eni-a"), peerNS: ENINetns(prefix, "eni-a"),
		mac: "02:00:00:00:0a:01", routerAddr: pfx("10.23.1.1/32"), addr: pfx("10.23.1.10/24"),
		gateway: netip.MustParseAddr("10.23.1.1"), defaultRoute: true,
	}
	if a != want {
		t.Errorf("eni-a plan %+v, want %+v", a, want)
	}
	if len(p.workloadNS) != 3 || len(p.wantedNS()) != 4 {
		t.Errorf("namespaces %v, wanted %v", p.workloadNS, p.wantedNS())
	}
}

func TestPlanSharedNetnsAndForeignNetns(t *testing.T) {
	topo := testTopology("lpab")
	enis := topo.VPCs[0].ENIs
	enis[0].Netns, enis[1].Netns = "lpab-shared", "lpab-shared"
	enis[2].Netns = "somebody-else"
	p, err := buildPlan(topo)
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]bool{}
	for _, l := range p.vpcs[0].links {
		defaults[l.eniID] = l.defaultRoute
	}
	// One default route per namespace, through the first ENI listed.
	if !defaults["eni-a"] || defaults["eni-b"] || !defaults["eni-c"] {
		t.Errorf("default routes %v", defaults)
	}
	wanted := p.wantedNS()
	if !wanted["lpab-shared"] || wanted["somebody-else"] {
		t.Errorf("owned namespaces %v: a namespace without the prefix must never be deleted", wanted)
	}
}

func TestPlanGatewayAndPeeringTargets(t *testing.T) {
	topo := testTopology("lpab")
	topo.VPCs[0].Gateway = "igw-1"
	topo.VPCs[0].PublicIPs = []PublicIP{{Private: netip.MustParseAddr("10.23.1.10"), Public: netip.MustParseAddr("198.51.100.7")}}
	topo.VPCs[0].RouteTables[1].Routes = []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Target: TargetGateway, Via: "igw-1"},
		{Dst: netip.MustParsePrefix("172.16.0.0/16"), Target: TargetPeering, Via: "pcx-1"},
		{Dst: netip.MustParsePrefix("172.17.0.0/16"), Target: TargetPeering, Via: "pcx-gone"},
	}
	topo.VPCs = append(topo.VPCs, VPC{ID: "vpc-peer", CIDRs: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/16")}})
	topo.Peerings = []Peering{{ID: "pcx-1", VPCs: [2]string{"vpc-0a1b2c3d", "vpc-peer"}}}

	kindOf := func(p *plan) map[string]routeSpec {
		m := map[string]routeSpec{}
		for _, r := range p.vpcs[0].routes {
			m[r.dst.String()] = r
		}
		return m
	}

	// Without the internet, the gateway's routes lead nowhere.
	p, err := buildPlan(topo)
	if err != nil {
		t.Fatal(err)
	}
	routes := kindOf(p)
	if r := routes["0.0.0.0/0"]; r.kind != routeBlackhole {
		t.Errorf("gateway route without the internet: %v", r)
	}
	if p.internet != nil || p.wantedNS()[InternetNetns("lpab")] {
		t.Error("internet planned without Topology.Internet")
	}
	peer := routes["172.16.0.0/16"]
	if peer.kind != routeUnicast || peer.dev != peeringLinkName("lpab", "pcx-1", "vpc-0a1b2c3d") || !peeringBlock.Contains(peer.gw) {
		t.Errorf("peering route %v", peer)
	}
	if r := routes["172.17.0.0/16"]; r.kind != routeBlackhole {
		t.Errorf("route to an unknown peering: %v", r)
	}
	if len(p.peerings) != 1 {
		t.Fatalf("peering links %v", p.peerings)
	}
	mine, other := p.peerings[0].endIn(RouterNetns("lpab", "vpc-0a1b2c3d"))
	if other.addr.Addr() != peer.gw || mine.addr.Bits() != 30 || !mine.addr.Contains(other.addr.Addr()) {
		t.Errorf("peering ends %v %v", mine, other)
	}

	topo.Internet = true
	p, err = buildPlan(topo)
	if err != nil {
		t.Fatal(err)
	}
	routes = kindOf(p)
	if r := routes["0.0.0.0/0"]; r.kind != routeUnicast || r.dev != gatewayLinkName("lpab", "vpc-0a1b2c3d") || r.gw != inetSideAddr {
		t.Errorf("gateway route %v", r)
	}
	var toPublic bool
	for _, r := range p.internet.routes {
		toPublic = toPublic || (r.dst == netip.MustParsePrefix("198.51.100.7/32") && r.gw == uplinkSideAddr)
	}
	if !toPublic {
		t.Errorf("no internet route to the public address: %v", p.internet.routes)
	}
	w := p.wantedNS()
	if !w[InternetNetns("lpab")] || !w[ENINetns("lpab", LambdaNetworkID)] {
		t.Errorf("wanted namespaces %v", w)
	}

	// A public address must be one of the VPC's ENIs and belong to one VPC.
	topo.VPCs[0].PublicIPs[0].Private = netip.MustParseAddr("10.23.9.9")
	if _, err := buildPlan(topo); err == nil {
		t.Error("public address of an unknown private address accepted")
	}
	topo.VPCs[0].PublicIPs[0] = PublicIP{Private: netip.MustParseAddr("10.23.1.10"), Public: LambdaNetworkAddr}
	if _, err := buildPlan(topo); err == nil {
		t.Error("public address taken twice accepted")
	}
}

func TestPlanRejects(t *testing.T) {
	cases := map[string]func(*Topology){
		"bad prefix":           func(t *Topology) { t.Prefix = "xx" },
		"ENI outside subnet":   func(t *Topology) { t.VPCs[0].ENIs[0].IP = netip.MustParseAddr("10.23.2.99") },
		"ENI on router":        func(t *Topology) { t.VPCs[0].ENIs[0].IP = netip.MustParseAddr("10.23.1.1") },
		"ENI on broadcast":     func(t *Topology) { t.VPCs[0].ENIs[0].IP = netip.MustParseAddr("10.23.1.255") },
		"ENI same IP":          func(t *Topology) { t.VPCs[0].ENIs[1].IP = t.VPCs[0].ENIs[0].IP },
		"ENI repeated":         func(t *Topology) { t.VPCs[0].ENIs[1].ID = "eni-a" },
		"ENI unknown subnet":   func(t *Topology) { t.VPCs[0].ENIs[0].SubnetID = "subnet-x" },
		"multicast MAC":        func(t *Topology) { t.VPCs[0].ENIs[0].MAC = "01:00:5e:00:00:01" },
		"netns with slash":     func(t *Topology) { t.VPCs[0].ENIs[0].Netns = "../etc" },
		"netns is a router":    func(t *Topology) { t.VPCs[0].ENIs[0].Netns = RouterNetns(t.Prefix, t.VPCs[0].ID) },
		"subnet outside VPC":   func(t *Topology) { t.VPCs[0].Subnets[1].CIDR = netip.MustParsePrefix("10.24.2.0/24") },
		"overlapping subnets":  func(t *Topology) { t.VPCs[0].Subnets[1].CIDR = netip.MustParsePrefix("10.23.1.128/25") },
		"unknown route table":  func(t *Topology) { t.VPCs[0].Subnets[1].RouteTable = "rtb-x" },
		"route to unknown ENI": func(t *Topology) { t.VPCs[0].RouteTables[0].Routes[1].Via = "eni-x" },
		"route is local":       func(t *Topology) { t.VPCs[0].RouteTables[0].Routes[0].Dst = netip.MustParsePrefix("10.23.0.0/16") },
		"repeated route":       func(t *Topology) { t.VPCs[0].RouteTables[0].Routes[1].Dst = netip.MustParsePrefix("203.0.113.0/24") },
		"repeated VPC": func(t *Topology) {
			t.VPCs = append(t.VPCs, t.VPCs[0])
		},
		"IPv6 VPC": func(t *Topology) { t.VPCs[0].CIDRs = []netip.Prefix{netip.MustParsePrefix("fd00::/56")} },
	}
	for name, mutate := range cases {
		topo := testTopology("lpab")
		mutate(&topo)
		if _, err := buildPlan(topo); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "netplane: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

func TestTablesAreStable(t *testing.T) {
	v := VPC{ID: "vpc-1", RouteTables: []RouteTable{{ID: "rtb-1"}, {ID: "rtb-2"}}}
	before, err := assignTables(v)
	if err != nil {
		t.Fatal(err)
	}
	v.RouteTables = append([]RouteTable{{ID: "rtb-0"}}, v.RouteTables...)
	after, err := assignTables(v)
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range before {
		if after[id] != n {
			t.Errorf("%s moved from table %d to %d when another table appeared", id, n, after[id])
		}
	}
	v.RouteTables = append(v.RouteTables, RouteTable{ID: "rtb-1"})
	if _, err := assignTables(v); err == nil {
		t.Error("repeated route table id accepted")
	}
}

func TestDiff(t *testing.T) {
	pfx := netip.MustParsePrefix
	keep := routeSpec{table: 7, dst: pfx("10.0.0.0/16"), kind: routeThrow}
	moved := routeSpec{table: 7, dst: pfx("192.0.2.0/24"), dev: "a", gw: netip.MustParseAddr("10.0.1.5")}
	movedTo := moved
	movedTo.dev, movedTo.gw = "b", netip.MustParseAddr("10.0.1.6")
	stray := routeSpec{table: 9, dst: pfx("0.0.0.0/0"), kind: routeBlackhole}
	add, del := diff([]routeSpec{keep, movedTo}, []routeSpec{keep, moved, stray})
	if !slices.Equal(add, []routeSpec{movedTo}) || !slices.Equal(del, []routeSpec{moved, stray}) {
		t.Errorf("add %v del %v", add, del)
	}
	add, del = diff([]routeSpec{keep}, []routeSpec{keep})
	if add != nil || del != nil {
		t.Errorf("converged state yields add %v del %v", add, del)
	}
}

func TestLastAddr(t *testing.T) {
	if got := lastAddr(netip.MustParsePrefix("10.23.1.0/24")); got != netip.MustParseAddr("10.23.1.255") {
		t.Errorf("got %s", got)
	}
	if got := lastAddr(netip.MustParsePrefix("10.0.0.0/16")); got != netip.MustParseAddr("10.0.255.255") {
		t.Errorf("got %s", got)
	}
}
