package netctl_test

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/netctl"
	"github.com/lambdaplane/lambdaplane/internal/netplane"
)

const testPrefix = "lptest"

func (e *env) topoVPC(id string) netplane.VPC {
	e.t.Helper()
	for _, v := range netctl.Topology(testPrefix, e.svc.SettledSnapshot()).VPCs {
		if v.ID == id {
			return v
		}
	}
	e.t.Fatalf("VPC %s not in the topology", id)
	return netplane.VPC{}
}

func subnetOf(t *testing.T, v netplane.VPC, id string) netplane.Subnet {
	t.Helper()
	i := slices.IndexFunc(v.Subnets, func(s netplane.Subnet) bool { return s.ID == id })
	if i < 0 {
		t.Fatalf("subnet %s not in %+v", id, v.Subnets)
	}
	return v.Subnets[i]
}

func routeTo(t *testing.T, v netplane.VPC, rtb, dst string) netplane.Route {
	t.Helper()
	for _, rt := range v.RouteTables {
		if rt.ID != rtb {
			continue
		}
		for _, r := range rt.Routes {
			if r.Dst == netip.MustParsePrefix(dst) {
				return r
			}
		}
	}
	t.Fatalf("no route to %s in %s: %+v", dst, rtb, v.RouteTables)
	return netplane.Route{}
}

func mainTable(e *env, vpc string) string {
	out := must(e.ec2.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("association.main"), Values: []string{"true"}}}}))
	if len(out.RouteTables) != 1 {
		e.t.Fatalf("main tables of %s: %d", vpc, len(out.RouteTables))
	}
	return aws.ToString(out.RouteTables[0].RouteTableId)
}

func TestSubnetRouteTables(t *testing.T) {
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	must(e.ec2.AssociateVpcCidrBlock(ctx, &sdk.AssociateVpcCidrBlockInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.5.0.0/16")}))
	a, b := e.subnet(vpc, "10.0.1.0/24"), e.subnet(vpc, "10.5.2.0/24")
	main, custom := mainTable(e, vpc), e.routeTable(vpc)
	assoc := must(e.ec2.AssociateRouteTable(ctx, &sdk.AssociateRouteTableInput{RouteTableId: aws.String(custom), SubnetId: aws.String(b)}))

	v := e.topoVPC(vpc)
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("10.5.0.0/16")}; !slices.Equal(v.CIDRs, want) {
		t.Fatalf("CIDRs %v, want %v", v.CIDRs, want)
	}
	if got := subnetOf(t, v, a); got.RouteTable != main || got.CIDR != netip.MustParsePrefix("10.0.1.0/24") {
		t.Fatalf("unassociated subnet %+v, want main table %s", got, main)
	}
	if got := subnetOf(t, v, b).RouteTable; got != custom {
		t.Fatalf("associated subnet uses %s, want %s", got, custom)
	}
	if len(v.RouteTables) != 2 {
		t.Fatalf("route tables %+v", v.RouteTables)
	}

	// Replacing the main association moves every unassociated subnet.
	mainAssoc := must(e.ec2.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{RouteTableIds: []string{main}})).RouteTables[0].Associations[0].RouteTableAssociationId
	must(e.ec2.ReplaceRouteTableAssociation(ctx, &sdk.ReplaceRouteTableAssociationInput{AssociationId: mainAssoc, RouteTableId: aws.String(custom)}))
	must(e.ec2.DisassociateRouteTable(ctx, &sdk.DisassociateRouteTableInput{AssociationId: assoc.AssociationId}))
	v = e.topoVPC(vpc)
	for _, s := range []string{a, b} {
		if got := subnetOf(t, v, s).RouteTable; got != custom {
			t.Fatalf("subnet %s uses %s after the main table moved to %s", s, got, custom)
		}
	}
}

func TestSubnetACLs(t *testing.T) {
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	a, b := e.subnet(vpc, "10.0.1.0/24"), e.subnet(vpc, "10.0.2.0/24")
	acls := must(e.ec2.DescribeNetworkAcls(ctx, &sdk.DescribeNetworkAclsInput{Filters: []types.Filter{
		{Name: aws.String("association.subnet-id"), Values: []string{b}}}}))
	def := aws.ToString(acls.NetworkAcls[0].NetworkAclId)
	var assocB string
	for _, as := range acls.NetworkAcls[0].Associations {
		if aws.ToString(as.SubnetId) == b {
			assocB = aws.ToString(as.NetworkAclAssociationId)
		}
	}
	acl := aws.ToString(must(e.ec2.CreateNetworkAcl(ctx, &sdk.CreateNetworkAclInput{VpcId: aws.String(vpc)})).NetworkAcl.NetworkAclId)
	must(e.ec2.ReplaceNetworkAclAssociation(ctx, &sdk.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(assocB), NetworkAclId: aws.String(acl)}))
	must(e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(100),
		Protocol: aws.String("tcp"), RuleAction: types.RuleActionAllow, Egress: aws.Bool(false), CidrBlock: aws.String("10.0.1.0/24"),
		PortRange: &types.PortRange{From: aws.Int32(5432), To: aws.Int32(5440)}}))
	must(e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(90),
		Protocol: aws.String("-1"), RuleAction: types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: aws.String("10.0.1.7/32")}))
	must(e.ec2.CreateNetworkAclEntry(ctx, &sdk.CreateNetworkAclEntryInput{NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(100),
		Protocol: aws.String("17"), RuleAction: types.RuleActionAllow, Egress: aws.Bool(true), CidrBlock: aws.String("0.0.0.0/0"),
		PortRange: &types.PortRange{From: aws.Int32(53), To: aws.Int32(53)}}))

	v := e.topoVPC(vpc)
	if got := subnetOf(t, v, a).ACL; got != def {
		t.Fatalf("subnet %s has ACL %s, want the default %s", a, got, def)
	}
	if got := subnetOf(t, v, b).ACL; got != acl {
		t.Fatalf("subnet %s has ACL %s, want %s", b, got, acl)
	}
	i := slices.IndexFunc(v.ACLs, func(x netplane.NetworkACL) bool { return x.ID == acl })
	var mine []netplane.ACLEntry
	for _, en := range v.ACLs[i].Entries {
		if en.RuleNumber < 32767 {
			mine = append(mine, en)
		}
	}
	want := []netplane.ACLEntry{
		{RuleNumber: 90, Protocol: "-1", CIDR: netip.MustParsePrefix("10.0.1.7/32")},
		{RuleNumber: 100, Protocol: "6", Allow: true, CIDR: netip.MustParsePrefix("10.0.1.0/24"), FromPort: 5432, ToPort: 5440},
		{RuleNumber: 100, Egress: true, Protocol: "17", Allow: true, CIDR: netip.MustParsePrefix("0.0.0.0/0"), FromPort: 53, ToPort: 53},
	}
	if !reflect.DeepEqual(mine, want) {
		t.Fatalf("entries\n got %+v\nwant %+v", mine, want)
	}
}

// snapshotUntil polls the state until cond holds, for states the EC2
// service settles on its own (NAT gateways become available later).
func (e *env) snapshotUntil(cond func(ec2.Snapshot) bool) {
	e.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond(e.svc.SettledSnapshot()) {
			return
		}
	}
	e.t.Fatal("state did not settle")
}

func natState(id, state string) func(ec2.Snapshot) bool {
	return func(s ec2.Snapshot) bool {
		for _, n := range s.NatGateways {
			if n.ID == id {
				return n.State == state
			}
		}
		return false
	}
}

func TestRouteTargets(t *testing.T) {
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	sub := e.subnet(vpc, "10.0.1.0/24")
	rtb := mainTable(e, vpc)
	route := func(in sdk.CreateRouteInput) {
		in.RouteTableId = aws.String(rtb)
		must(e.ec2.CreateRoute(ctx, &in))
	}
	want := func(dst string, target netplane.RouteTarget, via string) {
		t.Helper()
		if got := routeTo(t, e.topoVPC(vpc), rtb, dst); got.Target != target || got.Via != via {
			t.Fatalf("route to %s: %+v, want target %d via %q", dst, got, target, via)
		}
	}

	eni := e.eni(sub, "")
	route(sdk.CreateRouteInput{DestinationCidrBlock: aws.String("192.168.1.0/24"), NetworkInterfaceId: aws.String(eni)})
	want("192.168.1.0/24", netplane.TargetENI, eni)

	run := must(e.ec2.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(sub)}))
	inst := run.Instances[0]
	route(sdk.CreateRouteInput{DestinationCidrBlock: aws.String("192.168.2.0/24"), InstanceId: inst.InstanceId})
	want("192.168.2.0/24", netplane.TargetENI, aws.ToString(inst.NetworkInterfaces[0].NetworkInterfaceId))

	igw := aws.ToString(must(e.ec2.CreateInternetGateway(ctx, &sdk.CreateInternetGatewayInput{})).InternetGateway.InternetGatewayId)
	must(e.ec2.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: aws.String(vpc)}))
	route(sdk.CreateRouteInput{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igw)})
	want("0.0.0.0/0", netplane.TargetGateway, igw)

	alloc := must(e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{Domain: types.DomainTypeVpc})).AllocationId
	nat := must(e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: aws.String(sub), AllocationId: alloc})).NatGateway
	natID := aws.ToString(nat.NatGatewayId)
	route(sdk.CreateRouteInput{DestinationCidrBlock: aws.String("172.16.0.0/12"), NatGatewayId: aws.String(natID)})
	e.snapshotUntil(natState(natID, "available"))
	var natENI string
	for _, n := range e.svc.SettledSnapshot().NatGateways {
		if n.ID == natID {
			natENI = n.NetworkInterfaceID
		}
	}
	want("172.16.0.0/12", netplane.TargetENI, natENI)
	// The gateway's interface forwards, and its Elastic IP maps to it at
	// the internet gateway.
	tv := e.topoVPC(vpc)
	if tv.Gateway != igw {
		t.Errorf("gateway %q, want %s", tv.Gateway, igw)
	}
	eip := must(e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{AllocationIds: []string{aws.ToString(alloc)}})).Addresses[0]
	for _, n := range tv.ENIs {
		if n.NAT != (n.ID == natENI) {
			t.Errorf("ENI %s: NAT=%v", n.ID, n.NAT)
		}
	}
	if len(tv.PublicIPs) != 1 || tv.PublicIPs[0].Public.String() != aws.ToString(eip.PublicIp) || tv.PublicIPs[0].Private.String() != aws.ToString(eip.PrivateIpAddress) {
		t.Errorf("public IPs %+v, want %s → %s", tv.PublicIPs, aws.ToString(eip.PublicIp), aws.ToString(eip.PrivateIpAddress))
	}

	peerVPC := e.vpc("10.1.0.0/16")
	pcx := must(e.ec2.CreateVpcPeeringConnection(ctx, &sdk.CreateVpcPeeringConnectionInput{VpcId: aws.String(vpc), PeerVpcId: aws.String(peerVPC)})).VpcPeeringConnection.VpcPeeringConnectionId
	must(e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: pcx}))
	route(sdk.CreateRouteInput{DestinationCidrBlock: aws.String("10.1.0.0/16"), VpcPeeringConnectionId: pcx})
	want("10.1.0.0/16", netplane.TargetPeering, aws.ToString(pcx))
	if ps := netctl.Topology("lpt", e.svc.SettledSnapshot()).Peerings; len(ps) != 1 || ps[0].ID != aws.ToString(pcx) || ps[0].VPCs != [2]string{vpc, peerVPC} {
		t.Errorf("peerings %+v", ps)
	}

	// Every target gone: the routes stay, as blackholes.
	must(e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(eni)}))
	want("192.168.1.0/24", netplane.TargetBlackhole, "")
	must(e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{aws.ToString(inst.InstanceId)}}))
	e.snapshotUntil(func(s ec2.Snapshot) bool {
		return !slices.ContainsFunc(s.NetworkInterfaces, func(n *ec2.NetworkInterface) bool {
			return n.Attachment != nil && n.Attachment.InstanceID == aws.ToString(inst.InstanceId)
		})
	})
	want("192.168.2.0/24", netplane.TargetBlackhole, "")
	must(e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(natID)}))
	want("172.16.0.0/12", netplane.TargetBlackhole, "")
	// The gateway's address stays mapped until it is deleted, and a VPC
	// with mapped addresses keeps its internet gateway.
	e.snapshotUntil(natState(natID, "deleted"))
	must(e.ec2.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: aws.String(vpc)}))
	want("0.0.0.0/0", netplane.TargetBlackhole, "")
	must(e.ec2.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: pcx}))
	want("10.1.0.0/16", netplane.TargetBlackhole, "")
}

func TestGroupReferencesFollowMembers(t *testing.T) {
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	sub := e.subnet(vpc, "10.0.1.0/24")
	app, db, other := e.group(vpc, "app"), e.group(vpc, "db"), e.group(vpc, "other")
	e.allowFromGroup(db, app, 5432)
	must(e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(db),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53),
			IpRanges: []types.IpRange{{CidrIp: aws.String("192.0.2.0/24")}}}}}))

	dbIngress := func() []netplane.Rule {
		v := e.topoVPC(vpc)
		i := slices.IndexFunc(v.Groups, func(g netplane.SecurityGroup) bool { return g.ID == db })
		return v.Groups[i].Ingress
	}
	cidrRule := netplane.Rule{Protocol: "udp", FromPort: 53, ToPort: 53, Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	pgFrom := func(ips ...string) netplane.Rule {
		r := netplane.Rule{Protocol: "tcp", FromPort: 5432, ToPort: 5432}
		for _, ip := range ips {
			r.Prefixes = append(r.Prefixes, netip.MustParsePrefix(ip+"/32"))
		}
		return r
	}
	check := func(want ...netplane.Rule) {
		t.Helper()
		if got := dbIngress(); !reflect.DeepEqual(got, want) {
			t.Fatalf("db ingress\n got %+v\nwant %+v", got, want)
		}
	}

	// An empty group resolves to nothing: the rule admits no one.
	check(cidrRule)
	e.eni(sub, "10.0.1.20", app)
	check(pgFrom("10.0.1.20"), cidrRule)
	second := e.eni(sub, "10.0.1.10", app, other)
	check(pgFrom("10.0.1.10", "10.0.1.20"), cidrRule)
	must(e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(second), Groups: []string{other}}))
	check(pgFrom("10.0.1.20"), cidrRule)
}

func TestTopologyDeterministic(t *testing.T) {
	e := newEnv(t)
	for _, cidr := range []string{"10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"} {
		vpc := e.vpc(cidr)
		p := netip.MustParsePrefix(cidr).Addr().As4()
		var subs []string
		for i := range 3 {
			subs = append(subs, e.subnet(vpc, netip.AddrFrom4([4]byte{p[0], p[1], byte(i), 0}).String()+"/24"))
		}
		a, b := e.group(vpc, "a"), e.group(vpc, "b")
		e.allowFromGroup(a, b, 443)
		e.allowFromGroup(b, a, 80)
		for i := range 6 {
			e.eni(subs[i%3], "", []string{a, b}[i%2])
		}
	}
	s := e.svc.SettledSnapshot()
	want := netctl.Topology(testPrefix, s)
	if len(want.VPCs) != 4 { // ours and the region's default VPC
		t.Fatalf("VPCs: %d", len(want.VPCs))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := s
		shuffle(r, &shuffled.Vpcs)
		shuffle(r, &shuffled.Subnets)
		shuffle(r, &shuffled.SecurityGroups)
		shuffle(r, &shuffled.NetworkACLs)
		shuffle(r, &shuffled.RouteTables)
		shuffle(r, &shuffled.NetworkInterfaces)
		if got := netctl.Topology(testPrefix, shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("a reordered snapshot gave another topology:\n got %+v\nwant %+v", got, want)
		}
	}
}

func shuffle[T any](r *rand.Rand, s *[]T) {
	c := slices.Clone(*s)
	r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	*s = c
}

func TestGatewayEndpointRoutes(t *testing.T) {
	e := newEnv(t)
	vpc := e.vpc("10.0.0.0/16")
	e.subnet(vpc, "10.0.1.0/24")
	rtb := mainTable(e, vpc)
	ep := must(e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: aws.String(vpc), VpcEndpointType: types.VpcEndpointTypeGateway,
		ServiceName: aws.String("com.amazonaws.us-east-1.s3"), RouteTableIds: []string{rtb}})).VpcEndpoint
	id := aws.ToString(ep.VpcEndpointId)
	var s3 []netip.Prefix
	for _, pl := range ec2.GatewayPrefixLists("us-east-1") {
		if pl.Service == "s3" {
			s3 = pl.CIDRs
		}
	}
	e.snapshotUntil(func(s ec2.Snapshot) bool {
		for _, r := range routeTableOf(netctl.Topology("lpt", s), vpc, rtb) {
			if r.Target == netplane.TargetEndpoint && r.Via == id && r.Dst == s3[0] {
				return true
			}
		}
		return false
	})
	must(e.ec2.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}}))
	e.snapshotUntil(func(s ec2.Snapshot) bool {
		return !slices.ContainsFunc(routeTableOf(netctl.Topology("lpt", s), vpc, rtb), func(r netplane.Route) bool { return r.Target == netplane.TargetEndpoint })
	})
}

func routeTableOf(t netplane.Topology, vpc, rtb string) []netplane.Route {
	for _, v := range t.VPCs {
		if v.ID != vpc {
			continue
		}
		for _, rt := range v.RouteTables {
			if rt.ID == rtb {
				return rt.Routes
			}
		}
	}
	return nil
}
