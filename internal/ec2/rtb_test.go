package ec2_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// rtbGet describes one route table.
func rtbGet(t *testing.T, c *sdk.Client, id string) types.RouteTable {
	t.Helper()
	out, err := c.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("describe %s: %+v %v", id, out, err)
	}
	return out.RouteTables[0]
}

// rtbMain is a VPC's main route table.
func rtbMain(t *testing.T, c *sdk.Client, vpcID string) types.RouteTable {
	t.Helper()
	out, err := c.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpcID}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("main table of %s: %+v %v", vpcID, out, err)
	}
	return out.RouteTables[0]
}

func rtbCreate(t *testing.T, c *sdk.Client, vpcID string) string {
	t.Helper()
	out, err := c.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: aws.String(vpcID)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.RouteTable.RouteTableId)
}

// rtbRoute finds the route to dst (a CIDR or a prefix list) in a table.
func rtbRoute(rt types.RouteTable, dst string) (types.Route, bool) {
	for _, r := range rt.Routes {
		if aws.ToString(r.DestinationCidrBlock) == dst || aws.ToString(r.DestinationPrefixListId) == dst {
			return r, true
		}
	}
	return types.Route{}, false
}

func rtbCount(t *testing.T, c *sdk.Client, filters ...types.Filter) int {
	t.Helper()
	out, err := c.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.RouteTables)
}

func rtbFilter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func TestRouteTableLifecycle(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	main := rtbMain(t, e.ec2, vpc)
	if len(main.Routes) != 1 || aws.ToString(main.Routes[0].DestinationCidrBlock) != "10.0.0.0/16" ||
		aws.ToString(main.Routes[0].GatewayId) != "local" || main.Routes[0].State != types.RouteStateActive ||
		main.Routes[0].Origin != types.RouteOriginCreateRouteTable || aws.ToString(main.OwnerId) != "123456789012" {
		t.Fatalf("main table routes: %+v", main)
	}
	if len(main.Associations) != 1 || !aws.ToBool(main.Associations[0].Main) || main.Associations[0].SubnetId != nil ||
		aws.ToString(main.Associations[0].RouteTableId) != aws.ToString(main.RouteTableId) ||
		main.Associations[0].AssociationState.State != types.RouteTableAssociationStateCodeAssociated {
		t.Fatalf("main association: %+v", main.Associations)
	}

	out, err := e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: v.VpcId,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeRouteTable, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("private")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	rt := out.RouteTable
	id := aws.ToString(rt.RouteTableId)
	if len(id) != len("rtb-")+17 || len(rt.Routes) != 1 || len(rt.Associations) != 0 || len(rt.Tags) != 1 || aws.ToString(rt.VpcId) != vpc {
		t.Fatalf("created: %+v", rt)
	}
	// A secondary range brings its own local route.
	if _, err := e.ec2.AssociateVpcCidrBlock(ctx, &sdk.AssociateVpcCidrBlockInput{VpcId: v.VpcId, CidrBlock: aws.String("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if r, ok := rtbRoute(rtbGet(t, e.ec2, id), "10.1.0.0/16"); !ok || aws.ToString(r.GatewayId) != "local" {
		t.Fatalf("secondary local route: %+v", rtbGet(t, e.ec2, id).Routes)
	}

	for _, c := range []struct {
		f    []types.Filter
		want int
	}{
		{[]types.Filter{rtbFilter("vpc-id", vpc)}, 2},
		{[]types.Filter{rtbFilter("vpc-id", vpc), rtbFilter("association.main", "false")}, 0},
		{[]types.Filter{rtbFilter("route-table-id", id)}, 1},
		{[]types.Filter{rtbFilter("tag:Name", "priv*")}, 1},
		{[]types.Filter{rtbFilter("vpc-id", vpc), rtbFilter("route.gateway-id", "local")}, 2},
		{[]types.Filter{rtbFilter("vpc-id", vpc), rtbFilter("route.origin", "CreateRouteTable")}, 2},
		{[]types.Filter{rtbFilter("vpc-id", vpc), rtbFilter("route.destination-cidr-block", "10.1.0.0/16")}, 2},
		{[]types.Filter{rtbFilter("vpc-id", vpc), rtbFilter("association.route-table-id", id)}, 0},
		{[]types.Filter{rtbFilter("owner-id", "123456789012"), rtbFilter("vpc-id", vpc)}, 2},
	} {
		if n := rtbCount(t, e.ec2, c.f...); n != c.want {
			t.Errorf("filters %v: %d tables, want %d", *c.f[len(c.f)-1].Name, n, c.want)
		}
	}
	_, err = e.ec2.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{Filters: []types.Filter{rtbFilter("route.colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'route.colour' is invalid")

	_, err = e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: main.RouteTableId})
	wantAPIError(t, err, "DependencyViolation", "The routeTable '"+aws.ToString(main.RouteTableId)+"' has dependencies and cannot be deleted.")
	_, err = e.ec2.DisassociateRouteTable(ctx, &sdk.DisassociateRouteTableInput{AssociationId: main.Associations[0].RouteTableAssociationId})
	wantAPIError(t, err, "InvalidParameterValue", "cannot disassociate the main route table association "+aws.ToString(main.Associations[0].RouteTableAssociationId))

	// A subnet has one table.
	s := createSubnet(t, e.ec2, vpc, "10.0.1.0/24", "")
	a, err := e.ec2.AssociateRouteTable(ctx, &sdk.AssociateRouteTableInput{RouteTableId: aws.String(id), SubnetId: s.SubnetId})
	if err != nil || a.AssociationState.State != types.RouteTableAssociationStateCodeAssociated || len(aws.ToString(a.AssociationId)) != len("rtbassoc-")+17 {
		t.Fatalf("associate: %+v %v", a, err)
	}
	_, err = e.ec2.AssociateRouteTable(ctx, &sdk.AssociateRouteTableInput{RouteTableId: main.RouteTableId, SubnetId: s.SubnetId})
	wantAPIError(t, err, "Resource.AlreadyAssociated", "the specified association for route table "+aws.ToString(main.RouteTableId)+" conflicts with an existing association")
	if n := rtbCount(t, e.ec2, rtbFilter("association.subnet-id", aws.ToString(s.SubnetId))); n != 1 {
		t.Fatalf("by subnet: %d", n)
	}
	if n := rtbCount(t, e.ec2, rtbFilter("association.route-table-association-id", aws.ToString(a.AssociationId))); n != 1 {
		t.Fatalf("by association: %d", n)
	}
	got := rtbGet(t, e.ec2, id)
	if len(got.Associations) != 1 || aws.ToString(got.Associations[0].SubnetId) != aws.ToString(s.SubnetId) || aws.ToBool(got.Associations[0].Main) {
		t.Fatalf("subnet association: %+v", got.Associations)
	}
	_, err = e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String(id)})
	wantAPIError(t, err, "DependencyViolation", "The routeTable '"+id+"' has dependencies and cannot be deleted.")

	other := createVpc(t, e.ec2, "10.9.0.0/16")
	osub := createSubnet(t, e.ec2, aws.ToString(other.VpcId), "10.9.1.0/24", "")
	_, err = e.ec2.AssociateRouteTable(ctx, &sdk.AssociateRouteTableInput{RouteTableId: aws.String(id), SubnetId: osub.SubnetId})
	wantAPIError(t, err, "InvalidParameterValue", "route table "+id+" and subnet "+aws.ToString(osub.SubnetId)+" belong to different networks")
	_, err = e.ec2.AssociateRouteTable(ctx, &sdk.AssociateRouteTableInput{RouteTableId: aws.String(id)})
	wantAPIError(t, err, "MissingParameter", "")

	_, err = e.ec2.DisassociateRouteTable(ctx, &sdk.DisassociateRouteTableInput{AssociationId: a.AssociationId, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	if _, err := e.ec2.DisassociateRouteTable(ctx, &sdk.DisassociateRouteTableInput{AssociationId: a.AssociationId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DisassociateRouteTable(ctx, &sdk.DisassociateRouteTableInput{AssociationId: a.AssociationId})
	wantAPIError(t, err, "InvalidAssociationID.NotFound", "The association ID '"+aws.ToString(a.AssociationId)+"' does not exist")

	// Deleting a subnet takes its association with it.
	if _, err := e.ec2.AssociateRouteTable(ctx, &sdk.AssociateRouteTableInput{RouteTableId: aws.String(id), SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String(id), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	if _, err := e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	wantAPIError(t, err, "InvalidRouteTableID.NotFound", "The routeTable ID '"+id+"' does not exist")
	_, err = e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String("rtb-1")})
	wantAPIError(t, err, "InvalidRouteTableId.Malformed", "The routeTable ID 'rtb-1' is malformed")
	_, err = e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: aws.String("vpc-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist")
	_, err = e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: v.VpcId, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	// Every other table of the VPC is gone: the VPC goes with its main one.
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
	if n := rtbCount(t, e.ec2, rtbFilter("vpc-id", vpc)); n != 0 {
		t.Fatalf("tables left after the VPC: %d", n)
	}
}

func TestRouteTableClientTokenAndPaging(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	a, err := e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: v.VpcId, ClientToken: aws.String("tok-1")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: v.VpcId, ClientToken: aws.String("tok-1")})
	if err != nil || aws.ToString(b.RouteTable.RouteTableId) != aws.ToString(a.RouteTable.RouteTableId) || aws.ToString(b.ClientToken) != "tok-1" {
		t.Fatalf("retry with the same token: %+v %v", b, err)
	}
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	_, err = e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: other.VpcId, ClientToken: aws.String("tok-1")})
	wantAPIError(t, err, "IdempotentParameterMismatch", "")

	for i := 0; i < 5; i++ {
		rtbCreate(t, e.ec2, aws.ToString(v.VpcId))
	}
	seen := map[string]bool{}
	var next *string
	for pages := 0; ; pages++ {
		out, err := e.ec2.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{MaxResults: aws.Int32(5), NextToken: next,
			Filters: []types.Filter{rtbFilter("vpc-id", aws.ToString(v.VpcId))}})
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range out.RouteTables {
			seen[aws.ToString(rt.RouteTableId)] = true
		}
		if next = out.NextToken; next == nil {
			break
		}
		if pages > 2 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 7 {
		t.Fatalf("paged %d tables, want 7", len(seen))
	}
	_, err = e.ec2.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{MaxResults: aws.Int32(101)})
	wantAPIError(t, err, "InvalidParameterValue", "Value ( 101 ) for parameter maxResults is invalid. Expecting a value between 5 and 100.")
}

func TestReplaceRouteTableAssociation(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	main := rtbMain(t, e.ec2, vpc)
	s := createSubnet(t, e.ec2, vpc, "10.0.1.0/24", "")
	a := rtbCreate(t, e.ec2, vpc)
	b := rtbCreate(t, e.ec2, vpc)
	assoc, err := e.ec2.AssociateRouteTable(ctx, &sdk.AssociateRouteTableInput{RouteTableId: aws.String(a), SubnetId: s.SubnetId})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := e.ec2.ReplaceRouteTableAssociation(ctx, &sdk.ReplaceRouteTableAssociationInput{AssociationId: assoc.AssociationId, RouteTableId: aws.String(b)})
	if err != nil || aws.ToString(moved.NewAssociationId) == aws.ToString(assoc.AssociationId) || moved.AssociationState.State != types.RouteTableAssociationStateCodeAssociated {
		t.Fatalf("replace: %+v %v", moved, err)
	}
	if got := rtbGet(t, e.ec2, b); len(got.Associations) != 1 || aws.ToString(got.Associations[0].SubnetId) != aws.ToString(s.SubnetId) ||
		aws.ToString(got.Associations[0].RouteTableAssociationId) != aws.ToString(moved.NewAssociationId) {
		t.Fatalf("new table: %+v", got.Associations)
	}
	if got := rtbGet(t, e.ec2, a); len(got.Associations) != 0 {
		t.Fatalf("old table kept: %+v", got.Associations)
	}
	_, err = e.ec2.ReplaceRouteTableAssociation(ctx, &sdk.ReplaceRouteTableAssociationInput{AssociationId: assoc.AssociationId, RouteTableId: aws.String(a)})
	wantAPIError(t, err, "InvalidAssociationID.NotFound", "")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	foreign := rtbCreate(t, e.ec2, aws.ToString(other.VpcId))
	_, err = e.ec2.ReplaceRouteTableAssociation(ctx, &sdk.ReplaceRouteTableAssociationInput{AssociationId: moved.NewAssociationId, RouteTableId: aws.String(foreign)})
	wantAPIError(t, err, "InvalidParameterValue", "")

	// The main association moves too; the VPC's main table follows it.
	newMain, err := e.ec2.ReplaceRouteTableAssociation(ctx, &sdk.ReplaceRouteTableAssociationInput{AssociationId: main.Associations[0].RouteTableAssociationId, RouteTableId: aws.String(a)})
	if err != nil {
		t.Fatal(err)
	}
	if got := rtbMain(t, e.ec2, vpc); aws.ToString(got.RouteTableId) != a || aws.ToString(got.Associations[0].RouteTableAssociationId) != aws.ToString(newMain.NewAssociationId) {
		t.Fatalf("main table now: %+v", got)
	}
	_, err = e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String(a)})
	wantAPIError(t, err, "DependencyViolation", "")
	_, err = e.ec2.DisassociateRouteTable(ctx, &sdk.DisassociateRouteTableInput{AssociationId: newMain.NewAssociationId})
	wantAPIError(t, err, "InvalidParameterValue", "")
	// The former main table is an ordinary one now, and keeps the VPC.
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId})
	wantAPIError(t, err, "DependencyViolation", "")
	if _, err := e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: main.RouteTableId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route-table-id", a)); n != 0 {
		t.Fatal("the main table outlived its VPC")
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	rt := rtbCreate(t, e.ec2, vpc)
	igw := igwCreate(t, e.ec2)

	create := func(dst, gw string) error {
		_, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String(dst), GatewayId: aws.String(gw)})
		return err
	}
	wantAPIError(t, create("0.0.0.0/0", igw), "InvalidParameterValue", "route table "+rt+" and network gateway "+igw+" belong to different networks")
	igwAttach(t, e.ec2, igw, vpc)
	_, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igw), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	if err := create("0.0.0.0/0", igw); err != nil {
		t.Fatal(err)
	}
	if r, ok := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); !ok || aws.ToString(r.GatewayId) != igw || r.State != types.RouteStateActive || r.Origin != types.RouteOriginCreateRoute {
		t.Fatalf("route: %+v", r)
	}
	if got := rtbGet(t, e.ec2, rt); aws.ToString(got.Routes[0].GatewayId) != "local" {
		t.Fatalf("the local route comes first: %+v", got.Routes)
	}
	wantAPIError(t, create("0.0.0.0/0", igw), "RouteAlreadyExists", "The route identified by 0.0.0.0/0 already exists.")
	wantAPIError(t, create("10.0.0.0/16", igw), "RouteAlreadyExists", "The route identified by 10.0.0.0/16 already exists.")
	wantAPIError(t, create("10.0.1.0/24", igw), "InvalidParameterValue",
		"The destination CIDR block 10.0.1.0/24 is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance.")
	wantAPIError(t, create("300.0.0.0/8", igw), "InvalidParameterValue", "Value (300.0.0.0/8) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.")
	wantAPIError(t, create("192.168.0.0/16", "igw-0123456789abcdef0"), "InvalidGatewayID.NotFound", "The gateway ID 'igw-0123456789abcdef0' does not exist")
	wantAPIError(t, create("192.168.0.0/16", "vgw-0123456789abcdef0"), "InvalidGatewayID.NotFound", "The gateway ID 'vgw-0123456789abcdef0' does not exist")
	// EC2 makes a destination canonical.
	if err := create("100.68.0.18/18", igw); err != nil {
		t.Fatal(err)
	}
	if _, ok := rtbRoute(rtbGet(t, e.ec2, rt), "100.68.0.0/18"); !ok {
		t.Fatalf("canonical destination: %+v", rtbGet(t, e.ec2, rt).Routes)
	}

	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("1.0.0.0/8")})
	wantAPIError(t, err, "MissingParameter", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), GatewayId: aws.String(igw)})
	wantAPIError(t, err, "MissingParameter", "The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("1.0.0.0/8"),
		GatewayId: aws.String(igw), NatGatewayId: aws.String("nat-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidParameterCombination", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("1.0.0.0/8"), NatGatewayId: aws.String("nat-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidNatGatewayID.NotFound", "The natGateway ID 'nat-0123456789abcdef0' does not exist")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("1.0.0.0/8"), NetworkInterfaceId: aws.String("eni-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.NotFound", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("1.0.0.0/8"), InstanceId: aws.String("i-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("1.0.0.0/8"), VpcPeeringConnectionId: aws.String("pcx-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidVpcPeeringConnectionID.NotFound", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("1.0.0.0/8"), TransitGatewayId: aws.String("tgw-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationPrefixListId: aws.String("pl-0123456789abcdef0"), GatewayId: aws.String(igw)})
	wantAPIError(t, err, "InvalidPrefixListID.NotFound", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String("rtb-0123456789abcdef0"), DestinationCidrBlock: aws.String("1.0.0.0/8"), GatewayId: aws.String(igw)})
	wantAPIError(t, err, "InvalidRouteTableID.NotFound", "")

	replace := func(dst string) error {
		_, err := e.ec2.ReplaceRoute(ctx, &sdk.ReplaceRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String(dst), GatewayId: aws.String(igw)})
		return err
	}
	wantAPIError(t, replace("1.0.0.0/8"), "InvalidParameterValue", "There is no route defined for '1.0.0.0/8' in the route table. Use CreateRoute instead.")
	wantAPIError(t, replace("10.0.0.0/16"), "InvalidParameterValue", "cannot replace local route 10.0.0.0/16 in route table "+rt)
	if err := replace("0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.ReplaceRoute(ctx, &sdk.ReplaceRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("10.0.0.0/16"), LocalTarget: aws.Bool(true)})
	if err != nil {
		t.Fatalf("restoring the local target of a local route: %v", err)
	}

	// A route whose gateway leaves is a blackhole until it is back.
	igwDetach(t, e.ec2, igw, vpc)
	if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); r.State != types.RouteStateBlackhole {
		t.Fatalf("after detach: %+v", r)
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route.state", "blackhole"), rtbFilter("vpc-id", vpc)); n != 1 {
		t.Fatalf("blackhole filter: %d", n)
	}
	igwAttach(t, e.ec2, igw, vpc)
	if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); r.State != types.RouteStateActive {
		t.Fatalf("after attach: %+v", r)
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route.gateway-id", igw)); n != 1 {
		t.Fatalf("gateway filter: %d", n)
	}
	igwDetach(t, e.ec2, igw, vpc)
	if _, err := e.ec2.DeleteInternetGateway(ctx, &sdk.DeleteInternetGatewayInput{InternetGatewayId: aws.String(igw)}); err != nil {
		t.Fatal(err)
	}
	if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); r.State != types.RouteStateBlackhole || aws.ToString(r.GatewayId) != igw {
		t.Fatalf("after the gateway is deleted: %+v", r)
	}

	del := func(dst string) error {
		_, err := e.ec2.DeleteRoute(ctx, &sdk.DeleteRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String(dst)})
		return err
	}
	wantAPIError(t, del("10.0.0.0/16"), "InvalidParameterValue", "cannot remove local route 10.0.0.0/16 in route table "+rt)
	wantAPIError(t, del("1.0.0.0/8"), "InvalidRoute.NotFound", "no route with destination-cidr-block 1.0.0.0/8 in route table "+rt)
	if err := del("0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	if err := del("100.68.0.18/18"); err != nil {
		t.Fatalf("delete by a non-canonical destination: %v", err)
	}
	if got := rtbGet(t, e.ec2, rt); len(got.Routes) != 1 {
		t.Fatalf("routes left: %+v", got.Routes)
	}
}

// The default VPC's main table sends everything else to its gateway.
func TestDefaultVpcMainRouteTable(t *testing.T) {
	e := newEnv(t)
	vs, err := e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{Filters: []types.Filter{rtbFilter("is-default", "true")}})
	if err != nil || len(vs.Vpcs) != 1 {
		t.Fatal(vs, err)
	}
	vpc := aws.ToString(vs.Vpcs[0].VpcId)
	gws, err := e.ec2.DescribeInternetGateways(ctx, &sdk.DescribeInternetGatewaysInput{Filters: []types.Filter{rtbFilter("attachment.vpc-id", vpc)}})
	if err != nil || len(gws.InternetGateways) != 1 {
		t.Fatalf("default gateway: %+v %v", gws, err)
	}
	igw := aws.ToString(gws.InternetGateways[0].InternetGatewayId)
	main := rtbMain(t, e.ec2, vpc)
	r, ok := rtbRoute(main, "0.0.0.0/0")
	if !ok || aws.ToString(r.GatewayId) != igw || r.State != types.RouteStateActive || r.Origin != types.RouteOriginCreateRoute {
		t.Fatalf("default route: %+v", main.Routes)
	}
	if l, ok := rtbRoute(main, "172.31.0.0/16"); !ok || aws.ToString(l.GatewayId) != "local" {
		t.Fatalf("local route: %+v", main.Routes)
	}
	// Default subnets use the main table implicitly: no subnet associations.
	if len(main.Associations) != 1 || !aws.ToBool(main.Associations[0].Main) {
		t.Fatalf("associations: %+v", main.Associations)
	}
}

// Routes to an instance go to its interface, and stop working while it
// is stopped.
func TestInstanceRoutes(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	s := createSubnet(t, e.ec2, vpc, "10.0.1.0/24", "")
	inst := eipRunInstance(t, e.ec2, aws.ToString(s.SubnetId))
	rt := rtbCreate(t, e.ec2, vpc)
	// Middlebox routing: a subnet's traffic may go through an instance.
	if _, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("10.0.2.0/24"), InstanceId: aws.String(inst.id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0"), NetworkInterfaceId: aws.String(inst.eni)}); err != nil {
		t.Fatal(err)
	}
	got := rtbGet(t, e.ec2, rt)
	for _, dst := range []string{"10.0.2.0/24", "0.0.0.0/0"} {
		r, ok := rtbRoute(got, dst)
		if !ok || aws.ToString(r.InstanceId) != inst.id || aws.ToString(r.NetworkInterfaceId) != inst.eni ||
			aws.ToString(r.InstanceOwnerId) != "123456789012" || r.State != types.RouteStateActive {
			t.Fatalf("route to %s: %+v", dst, r)
		}
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route.instance-id", inst.id)); n != 1 {
		t.Fatalf("instance filter: %d", n)
	}
	if _, err := e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{inst.id}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); r.State != types.RouteStateBlackhole {
		t.Fatalf("route to a stopped instance: %+v", r)
	}
	if _, err := e.ec2.StartInstances(ctx, &sdk.StartInstancesInput{InstanceIds: []string{inst.id}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); r.State != types.RouteStateActive {
		t.Fatalf("route to a started instance: %+v", r)
	}
	// Another VPC's interface is not a target here.
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	ort := rtbCreate(t, e.ec2, aws.ToString(other.VpcId))
	_, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(ort), DestinationCidrBlock: aws.String("0.0.0.0/0"), NetworkInterfaceId: aws.String(inst.eni)})
	wantAPIError(t, err, "InvalidParameterValue", "route table "+ort+" and interface "+inst.eni+" belong to different networks")

	if _, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{inst.id}}); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"10.0.2.0/24", "0.0.0.0/0"} {
		if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), dst); r.State != types.RouteStateBlackhole {
			t.Fatalf("route to %s of a terminated instance: %+v", dst, r)
		}
	}
	_, err = e.ec2.ReplaceRoute(ctx, &sdk.ReplaceRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0"), InstanceId: aws.String(inst.id)})
	wantAPIError(t, err, "IncorrectInstanceState", "")
}

// Routes through a peering connection work while it is active.
func TestPeeringRoutes(t *testing.T) {
	e := newEnv(t)
	a := createVpc(t, e.ec2, "10.0.0.0/16")
	b := createVpc(t, e.ec2, "10.1.0.0/16")
	out, err := e.ec2.CreateVpcPeeringConnection(ctx, &sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: b.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	pcx := aws.ToString(out.VpcPeeringConnection.VpcPeeringConnectionId)
	art := aws.ToString(rtbMain(t, e.ec2, aws.ToString(a.VpcId)).RouteTableId)
	brt := aws.ToString(rtbMain(t, e.ec2, aws.ToString(b.VpcId)).RouteTableId)
	route := func(rt, dst string) error {
		_, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String(dst), VpcPeeringConnectionId: aws.String(pcx)})
		return err
	}
	if err := route(art, "10.1.0.0/16"); err != nil {
		t.Fatal(err)
	}
	if r, _ := rtbRoute(rtbGet(t, e.ec2, art), "10.1.0.0/16"); aws.ToString(r.VpcPeeringConnectionId) != pcx || r.State != types.RouteStateBlackhole {
		t.Fatalf("route through a pending connection: %+v", r)
	}
	if _, err := e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(pcx)}); err != nil {
		t.Fatal(err)
	}
	if err := route(brt, "10.0.0.0/16"); err != nil {
		t.Fatal(err)
	}
	for rt, dst := range map[string]string{art: "10.1.0.0/16", brt: "10.0.0.0/16"} {
		if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), dst); r.State != types.RouteStateActive {
			t.Fatalf("route through an active connection in %s: %+v", rt, r)
		}
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route.vpc-peering-connection-id", pcx)); n != 2 {
		t.Fatalf("peering filter: %d", n)
	}
	c := createVpc(t, e.ec2, "10.2.0.0/16")
	crt := aws.ToString(rtbMain(t, e.ec2, aws.ToString(c.VpcId)).RouteTableId)
	wantAPIError(t, route(crt, "10.0.0.0/16"), "InvalidParameterValue", "route table "+crt+" and peering connection "+pcx+" belong to different networks")

	if _, err := e.ec2.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(pcx)}); err != nil {
		t.Fatal(err)
	}
	if r, _ := rtbRoute(rtbGet(t, e.ec2, art), "10.1.0.0/16"); r.State != types.RouteStateBlackhole {
		t.Fatalf("route through a deleted connection: %+v", r)
	}
	wantAPIError(t, route(art, "10.9.0.0/16"), "InvalidVpcPeeringConnectionID.NotFound", "")
}

// A gateway endpoint's routes are shown as AWS shows them and change only
// through the endpoint.
func TestGatewayEndpointRoutes(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	rt := rtbCreate(t, e.ec2, vpc)
	ep, err := e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3"), RouteTableIds: []string{rt}})
	if err != nil {
		t.Fatal(err)
	}
	vpce := aws.ToString(ep.VpcEndpoint.VpcEndpointId)
	var pl string
	for _, r := range rtbGet(t, e.ec2, rt).Routes {
		if r.DestinationPrefixListId != nil {
			pl = aws.ToString(r.DestinationPrefixListId)
			if aws.ToString(r.GatewayId) != vpce || r.DestinationCidrBlock != nil || r.State != types.RouteStateActive || r.Origin != types.RouteOriginCreateRoute {
				t.Fatalf("endpoint route: %+v", r)
			}
		}
	}
	if pl == "" {
		t.Fatal("no endpoint route")
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route.destination-prefix-list-id", pl)); n != 1 {
		t.Fatalf("prefix list filter: %d", n)
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route.gateway-id", vpce)); n != 1 {
		t.Fatalf("gateway filter: %d", n)
	}
	igw := igwCreate(t, e.ec2)
	igwAttach(t, e.ec2, igw, vpc)
	_, err = e.ec2.DeleteRoute(ctx, &sdk.DeleteRouteInput{RouteTableId: aws.String(rt), DestinationPrefixListId: aws.String(pl)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.ReplaceRoute(ctx, &sdk.ReplaceRouteInput{RouteTableId: aws.String(rt), DestinationPrefixListId: aws.String(pl), GatewayId: aws.String(igw)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationPrefixListId: aws.String(pl), GatewayId: aws.String(igw)})
	wantAPIError(t, err, "RouteAlreadyExists", "The route identified by "+pl+" already exists.")
	other := rtbCreate(t, e.ec2, vpc)
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(other), DestinationPrefixListId: aws.String(pl), GatewayId: aws.String(igw)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(other), DestinationCidrBlock: aws.String("203.0.113.0/24"), GatewayId: aws.String(vpce)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(other), DestinationCidrBlock: aws.String("203.0.113.0/24"), VpcEndpointId: aws.String(vpce)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.DeleteRoute(ctx, &sdk.DeleteRouteInput{RouteTableId: aws.String(other), DestinationPrefixListId: aws.String(pl)})
	wantAPIError(t, err, "InvalidRoute.NotFound", "no route with destination-prefix-list-id "+pl+" in route table "+other)

	// Deleting the endpoint takes its routes away.
	if _, err := e.ec2.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{vpce}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := rtbRoute(rtbGet(t, e.ec2, rt), pl); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the endpoint route outlived the endpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String(rt)}); err != nil {
		t.Fatal(err)
	}
}
