package ec2_test

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// vpceClock is a clock tests move by hand.
type vpceClock struct {
	mu  sync.Mutex
	now time.Time
}

func newVpceClock() *vpceClock { return &vpceClock{now: time.Now().UTC()} }

func (k *vpceClock) Now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now
}

func (k *vpceClock) Advance(d time.Duration) {
	k.mu.Lock()
	k.now = k.now.Add(d)
	k.mu.Unlock()
}

var vpceKicks int

// vpceEventually makes a write (so that the service settles its timed
// states at once) and retries check until it passes or time runs out.
func vpceEventually(t *testing.T, c *sdk.Client, anyVpc string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		vpceKicks++
		if _, err := c.CreateTags(ctx, &sdk.CreateTagsInput{Resources: []string{anyVpc},
			Tags: []types.Tag{{Key: aws.String("lp-kick"), Value: aws.String(fmt.Sprint(vpceKicks))}}}); err != nil {
			t.Fatal(err)
		}
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// vpceDNSVpc makes a VPC with both DNS attributes on.
func vpceDNSVpc(t *testing.T, c *sdk.Client, cidr string) types.Vpc {
	t.Helper()
	v := createVpc(t, c, cidr)
	if _, err := c.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: v.VpcId, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	return v
}

func vpceMainTable(t *testing.T, c *sdk.Client, vpc string) string {
	t.Helper()
	out, err := c.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("main route table of %s: %+v %v", vpc, out, err)
	}
	return aws.ToString(out.RouteTables[0].RouteTableId)
}

func vpceDescribe(t *testing.T, c *sdk.Client, id string) types.VpcEndpoint {
	t.Helper()
	out, err := c.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil || len(out.VpcEndpoints) != 1 {
		t.Fatalf("describe %s: %+v %v", id, out, err)
	}
	return out.VpcEndpoints[0]
}

func vpceCreate(t *testing.T, c *sdk.Client, in *sdk.CreateVpcEndpointInput) types.VpcEndpoint {
	t.Helper()
	out, err := c.CreateVpcEndpoint(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.VpcEndpoint
}

func vpceWaitState(t *testing.T, c *sdk.Client, vpc, id string, want types.State) types.VpcEndpoint {
	t.Helper()
	var got types.VpcEndpoint
	vpceEventually(t, c, vpc, func() error {
		got = vpceDescribe(t, c, id)
		if got.State != want {
			return fmt.Errorf("endpoint %s is %s, want %s", id, got.State, want)
		}
		return nil
	})
	return got
}

const vpceGatewayPolicy = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`

func TestVpceServices(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range out.ServiceNames {
		names = append(names, strings.TrimPrefix(n, "com.amazonaws.us-east-1."))
	}
	if strings.Join(names, ",") != "dynamodb,ec2,lambda,logs,s3,sts" || len(out.ServiceDetails) != 7 {
		t.Fatalf("services: %v, %d details", names, len(out.ServiceDetails))
	}
	var lambda *types.ServiceDetail
	for i, d := range out.ServiceDetails {
		if aws.ToString(d.ServiceName) == "com.amazonaws.us-east-1.lambda" {
			lambda = &out.ServiceDetails[i]
		}
	}
	if lambda == nil || len(lambda.ServiceType) != 1 || lambda.ServiceType[0].ServiceType != types.ServiceTypeInterface ||
		aws.ToString(lambda.PrivateDnsName) != "lambda.us-east-1.amazonaws.com" || aws.ToBool(lambda.AcceptanceRequired) ||
		!aws.ToBool(lambda.VpcEndpointPolicySupported) || aws.ToString(lambda.Owner) != "amazon" ||
		strings.Join(lambda.AvailabilityZones, ",") != "us-east-1a,us-east-1b,us-east-1c" ||
		strings.Join(lambda.BaseEndpointDnsNames, ",") != "lambda.us-east-1.vpce.amazonaws.com" ||
		lambda.PrivateDnsNameVerificationState != types.DnsNameStateVerified ||
		!regexp.MustCompile(`^vpce-svc-[0-9a-f]{17}$`).MatchString(aws.ToString(lambda.ServiceId)) {
		t.Fatalf("lambda: %+v", lambda)
	}

	gw, err := e.ec2.DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{
		Filters: []types.Filter{{Name: aws.String("service-type"), Values: []string{"Gateway"}}}})
	if err != nil || strings.Join(gw.ServiceNames, ",") != "com.amazonaws.us-east-1.dynamodb,com.amazonaws.us-east-1.s3" {
		t.Fatalf("gateways: %+v %v", gw, err)
	}
	for _, d := range gw.ServiceDetails {
		if d.PrivateDnsName != nil || len(d.BaseEndpointDnsNames) != 1 || strings.Contains(d.BaseEndpointDnsNames[0], "vpce") {
			t.Fatalf("gateway detail: %+v", d)
		}
	}
	s3, err := e.ec2.DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{ServiceNames: []string{"com.amazonaws.us-east-1.s3"}})
	if err != nil || len(s3.ServiceNames) != 1 || len(s3.ServiceDetails) != 2 {
		t.Fatalf("s3: %+v %v", s3, err)
	}

	// Another region has its own names and zones.
	west, err := e.clientIn("eu-west-1", "test", "test", "").DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{
		Filters: []types.Filter{{Name: aws.String("service-name"), Values: []string{"*.lambda"}}}})
	if err != nil || len(west.ServiceDetails) != 1 || west.ServiceDetails[0].AvailabilityZones[0] != "eu-west-1a" {
		t.Fatalf("eu-west-1: %+v %v", west, err)
	}

	var all []string
	var next *string
	for pages := 0; ; pages++ {
		p, err := e.ec2.DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{MaxResults: aws.Int32(3), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.ServiceDetails {
			all = append(all, aws.ToString(d.ServiceName)+"/"+string(d.ServiceType[0].ServiceType))
		}
		if next = p.NextToken; next == nil {
			break
		}
		if pages > 3 {
			t.Fatal("pagination does not end")
		}
	}
	if len(all) != 7 || all[4] != "com.amazonaws.us-east-1.s3/Gateway" {
		t.Fatalf("paged: %v", all)
	}

	_, err = e.ec2.DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{ServiceNames: []string{"com.amazonaws.us-east-1.kinesis"}})
	wantAPIError(t, err, "InvalidServiceName", "The Vpc Endpoint Service 'com.amazonaws.us-east-1.kinesis' does not exist")
	_, err = e.ec2.DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'colour' is invalid")
	_, err = e.ec2.DescribeVpcEndpointServices(ctx, &sdk.DescribeVpcEndpointServicesInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
}

func TestVpcePrefixLists(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.DescribePrefixLists(ctx, &sdk.DescribePrefixListsInput{})
	if err != nil || len(out.PrefixLists) != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	byName := map[string]types.PrefixList{}
	for _, p := range out.PrefixLists {
		byName[aws.ToString(p.PrefixListName)] = p
	}
	s3, ddb := byName["com.amazonaws.us-east-1.s3"], byName["com.amazonaws.us-east-1.dynamodb"]
	if strings.Join(s3.Cidrs, ",") != "203.0.113.0/26" || strings.Join(ddb.Cidrs, ",") != "203.0.113.64/26" ||
		!regexp.MustCompile(`^pl-[0-9a-f]{8}$`).MatchString(aws.ToString(s3.PrefixListId)) {
		t.Fatalf("lists: %+v", byName)
	}
	// The exported table is the one the API shows.
	for _, pl := range ec2.GatewayPrefixLists("us-east-1") {
		p := byName[pl.Name]
		if aws.ToString(p.PrefixListId) != pl.ID || p.Cidrs[0] != pl.CIDRs[0].String() {
			t.Fatalf("exported %+v, API %+v", pl, p)
		}
	}
	// Ids are stable per region and differ between regions.
	west, err := e.clientIn("us-west-2", "test", "test", "").DescribePrefixLists(ctx, &sdk.DescribePrefixListsInput{
		Filters: []types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{"com.amazonaws.us-west-2.s3"}}}})
	if err != nil || len(west.PrefixLists) != 1 || aws.ToString(west.PrefixLists[0].PrefixListId) == aws.ToString(s3.PrefixListId) {
		t.Fatalf("us-west-2: %+v %v", west, err)
	}
	again, _ := e.ec2.DescribePrefixLists(ctx, &sdk.DescribePrefixListsInput{PrefixListIds: []string{aws.ToString(s3.PrefixListId)}})
	if len(again.PrefixLists) != 1 || aws.ToString(again.PrefixLists[0].PrefixListName) != "com.amazonaws.us-east-1.s3" {
		t.Fatalf("by id: %+v", again)
	}

	m, err := e.ec2.DescribeManagedPrefixLists(ctx, &sdk.DescribeManagedPrefixListsInput{
		Filters: []types.Filter{{Name: aws.String("owner-id"), Values: []string{"AWS"}}, {Name: aws.String("prefix-list-name"), Values: []string{"*dynamodb"}}}})
	if err != nil || len(m.PrefixLists) != 1 || aws.ToString(m.PrefixLists[0].PrefixListId) != aws.ToString(ddb.PrefixListId) ||
		aws.ToString(m.PrefixLists[0].AddressFamily) != "IPv4" || m.PrefixLists[0].State != types.PrefixListStateCreateComplete ||
		aws.ToString(m.PrefixLists[0].PrefixListArn) != "arn:aws:ec2:us-east-1:aws:prefix-list/"+aws.ToString(ddb.PrefixListId) {
		t.Fatalf("managed: %+v %v", m, err)
	}
	entries, err := e.ec2.GetManagedPrefixListEntries(ctx, &sdk.GetManagedPrefixListEntriesInput{PrefixListId: ddb.PrefixListId})
	if err != nil || len(entries.Entries) != 1 || aws.ToString(entries.Entries[0].Cidr) != "203.0.113.64/26" {
		t.Fatalf("entries: %+v %v", entries, err)
	}

	_, err = e.ec2.DescribePrefixLists(ctx, &sdk.DescribePrefixListsInput{PrefixListIds: []string{"pl-00000000"}})
	wantAPIError(t, err, "InvalidPrefixListID.NotFound", "The prefix list ID 'pl-00000000' does not exist")
	_, err = e.ec2.GetManagedPrefixListEntries(ctx, &sdk.GetManagedPrefixListEntriesInput{PrefixListId: aws.String("pl-00000000")})
	wantAPIError(t, err, "InvalidPrefixListID.NotFound", "")
	_, err = e.ec2.DescribeManagedPrefixLists(ctx, &sdk.DescribeManagedPrefixListsInput{Filters: []types.Filter{{Name: aws.String("cidr"), Values: []string{"x"}}}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'cidr' is invalid")
}

func TestVpceGatewayEndpoint(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	main := vpceMainTable(t, e.ec2, vpc)
	rt2, err := e.ec2.CreateRouteTable(ctx, &sdk.CreateRouteTableInput{VpcId: v.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	second := aws.ToString(rt2.RouteTable.RouteTableId)
	var s3pl, ddbpl string
	for _, pl := range ec2.GatewayPrefixLists("us-east-1") {
		if pl.Service == "s3" {
			s3pl = pl.ID
		} else {
			ddbpl = pl.ID
		}
	}

	// The type defaults to Gateway.
	ep := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3"),
		RouteTableIds:     []string{main},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpcEndpoint, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("s3")}}}}})
	id := aws.ToString(ep.VpcEndpointId)
	if !regexp.MustCompile(`^vpce-[0-9a-f]{17}$`).MatchString(id) || ep.VpcEndpointType != types.VpcEndpointTypeGateway ||
		ep.State != "available" || aws.ToString(ep.PolicyDocument) != vpceGatewayPolicy || len(ep.DnsEntries) != 0 ||
		len(ep.SubnetIds) != 0 || len(ep.Groups) != 0 || aws.ToBool(ep.PrivateDnsEnabled) ||
		strings.Join(ep.RouteTableIds, ",") != main || aws.ToString(ep.OwnerId) != "123456789012" || len(ep.Tags) != 1 {
		t.Fatalf("gateway endpoint: %+v", ep)
	}
	routes := func(rtb string) map[string]types.Route {
		out, err := e.ec2.DescribeRouteTables(ctx, &sdk.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]types.Route{}
		for _, r := range out.RouteTables[0].Routes {
			if r.DestinationPrefixListId != nil {
				m[aws.ToString(r.DestinationPrefixListId)] = r
			}
		}
		return m
	}
	r, ok := routes(main)[s3pl]
	if !ok || aws.ToString(r.GatewayId) != id || r.Origin != types.RouteOriginCreateRoute || r.State != types.RouteStateActive {
		t.Fatalf("S3 route in %s: %+v (%v)", main, r, ok)
	}

	// One route per prefix list and table.
	_, err = e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3"), RouteTableIds: []string{main}})
	wantAPIError(t, err, "RouteAlreadyExists", "route table "+main+" already has a route with destination-prefix-list-id "+s3pl)
	ddb := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.dynamodb"),
		VpcEndpointType: types.VpcEndpointTypeGateway, RouteTableIds: []string{main, second},
		PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"dynamodb:GetItem","Resource":"*"}]}`)})
	if len(routes(main)) != 2 || routes(second)[ddbpl].GatewayId == nil || !strings.Contains(aws.ToString(ddb.PolicyDocument), "GetItem") {
		t.Fatalf("dynamodb endpoint: %+v", ddb)
	}

	// The endpoint's routes move with its route tables.
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId,
		AddRouteTableIds: []string{second}, RemoveRouteTableIds: []string{main},
		PolicyDocument: aws.String(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := routes(main)[s3pl]; ok {
		t.Fatal("S3 route still in the main table")
	}
	if aws.ToString(routes(second)[s3pl].GatewayId) != id {
		t.Fatalf("S3 route not in %s", second)
	}
	got := vpceDescribe(t, e.ec2, id)
	if strings.Join(got.RouteTableIds, ",") != second || !strings.Contains(aws.ToString(got.PolicyDocument), "Deny") {
		t.Fatalf("after modify: %+v", got)
	}
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, ResetPolicy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if got := vpceDescribe(t, e.ec2, id); aws.ToString(got.PolicyDocument) != vpceGatewayPolicy {
		t.Fatalf("reset policy: %s", aws.ToString(got.PolicyDocument))
	}
	// Users may not change the endpoint's routes themselves.
	_, err = e.ec2.DeleteRoute(ctx, &sdk.DeleteRouteInput{RouteTableId: aws.String(second), DestinationPrefixListId: aws.String(s3pl)})
	if err == nil {
		t.Fatal("DeleteRoute removed an endpoint's route")
	}

	for _, c := range []struct {
		in   *sdk.ModifyVpcEndpointInput
		code string
		msg  string
	}{
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, AddSubnetIds: []string{"subnet-0123456789abcdef0"}}, "InvalidParameter", "Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints."},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)}, "InvalidParameter", ""},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, RemoveRouteTableIds: []string{main}}, "InvalidParameter", ""},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, AddRouteTableIds: []string{"rtb-0123456789abcdef0"}}, "InvalidRouteTableID.NotFound", ""},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, ResetPolicy: aws.Bool(true), PolicyDocument: aws.String(vpceGatewayPolicy)}, "InvalidParameterCombination", ""},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: aws.String("vpce-0123456789abcdef0")}, "InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id 'vpce-0123456789abcdef0' does not exist"},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, DryRun: aws.Bool(true)}, "DryRunOperation", ""},
	} {
		_, err := e.ec2.ModifyVpcEndpoint(ctx, c.in)
		wantAPIError(t, err, c.code, c.msg)
	}

	// A VPC with endpoints cannot go; deleting them frees it and its tables.
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId})
	wantAPIError(t, err, "DependencyViolation", "")
	del, err := e.ec2.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id, aws.ToString(ddb.VpcEndpointId)}})
	if err != nil || len(del.Unsuccessful) != 0 {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if got := vpceDescribe(t, e.ec2, id); got.State != "deleted" {
		t.Fatalf("deleted endpoint: %+v", got)
	}
	if len(routes(main)) != 0 || len(routes(second)) != 0 {
		t.Fatalf("routes left: %v %v", routes(main), routes(second))
	}
	if _, err := e.ec2.DeleteRouteTable(ctx, &sdk.DeleteRouteTableInput{RouteTableId: aws.String(second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
}

var vpceDNSName = regexp.MustCompile(`^(vpce-[0-9a-f]{17})-([a-z0-9]{8})(-us-east-1[abc])?\.lambda\.us-east-1\.vpce\.amazonaws\.com$`)

func TestVpceInterfaceEndpoint(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	subA := createSubnet(t, e.ec2, vpc, "10.0.1.0/24", "us-east-1a")
	subB := createSubnet(t, e.ec2, vpc, "10.0.2.0/24", "us-east-1b")
	subC := createSubnet(t, e.ec2, vpc, "10.0.3.0/24", "us-east-1c")
	subA2 := createSubnet(t, e.ec2, vpc, "10.0.4.0/24", "us-east-1a")
	subB2 := createSubnet(t, e.ec2, vpc, "10.0.5.0/24", "us-east-1b")
	sg, err := e.ec2.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{VpcId: v.VpcId, GroupName: aws.String("endpoints"), Description: aws.String("endpoints")})
	if err != nil {
		t.Fatal(err)
	}
	lambda := aws.String("com.amazonaws.us-east-1.lambda")

	// Private DNS is on by default, and this VPC has no DNS hostnames.
	_, err = e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: types.VpcEndpointTypeInterface,
		SubnetIds: []string{aws.ToString(subA.SubnetId)}})
	wantAPIError(t, err, "InvalidParameter", "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for "+vpc)
	// The default type is Gateway, which Lambda does not offer.
	_, err = e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda})
	wantAPIError(t, err, "InvalidParameter", "Endpoint type (Gateway) does not match available service types ([Interface]).")
	_, err = e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: types.VpcEndpointTypeInterface,
		PrivateDnsEnabled: aws.Bool(false), SubnetIds: []string{aws.ToString(subA.SubnetId), aws.ToString(subA2.SubnetId)}})
	wantAPIError(t, err, "DuplicateSubnetsInSameZone", "Found another VPC endpoint subnet in the availability zone of "+aws.ToString(subA2.SubnetId)+
		". VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.")

	ep := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: types.VpcEndpointTypeInterface,
		PrivateDnsEnabled: aws.Bool(false), SubnetIds: []string{aws.ToString(subA.SubnetId), aws.ToString(subB.SubnetId)},
		SecurityGroupIds: []string{aws.ToString(sg.GroupId)}})
	id := aws.ToString(ep.VpcEndpointId)
	if ep.State != "pending" || len(ep.NetworkInterfaceIds) != 2 || len(ep.SubnetIds) != 2 || aws.ToBool(ep.PrivateDnsEnabled) ||
		len(ep.Groups) != 1 || aws.ToString(ep.Groups[0].GroupName) != "endpoints" || ep.IpAddressType != types.IpAddressTypeIpv4 ||
		ep.DnsOptions == nil || ep.DnsOptions.DnsRecordIpType != types.DnsRecordIpTypeIpv4 || len(ep.RouteTableIds) != 0 ||
		aws.ToString(ep.PolicyDocument) != "{\n  \"Statement\": [\n    {\n      \"Action\": \"*\", \n      \"Effect\": \"Allow\", \n      \"Principal\": \"*\", \n      \"Resource\": \"*\"\n    }\n  ]\n}" {
		t.Fatalf("interface endpoint: %+v", ep)
	}
	// A regional name and one per zone, all with the same 8-character suffix.
	if len(ep.DnsEntries) != 3 {
		t.Fatalf("dns entries: %+v", ep.DnsEntries)
	}
	suffix := ""
	for i, d := range ep.DnsEntries {
		m := vpceDNSName.FindStringSubmatch(aws.ToString(d.DnsName))
		if m == nil || m[1] != id || aws.ToString(d.HostedZoneId) != "Z7HUB22UULQXV" || (i == 0) != (m[3] == "") {
			t.Fatalf("dns entry %d: %s %s", i, aws.ToString(d.DnsName), aws.ToString(d.HostedZoneId))
		}
		if suffix == "" {
			suffix = m[2]
		} else if m[2] != suffix {
			t.Fatalf("suffixes differ: %v", ep.DnsEntries)
		}
	}
	vpceWaitState(t, e.ec2, vpc, id, "available")

	// One requester-managed interface per subnet, with the endpoint's groups.
	enis, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("interface-type"), Values: []string{"vpc_endpoint"}}}})
	if err != nil || len(enis.NetworkInterfaces) != 2 {
		t.Fatalf("interfaces: %+v %v", enis, err)
	}
	for _, n := range enis.NetworkInterfaces {
		if aws.ToString(n.Description) != "VPC Endpoint Interface "+id || !aws.ToBool(n.RequesterManaged) ||
			aws.ToString(n.RequesterId) != "727180483921" || len(n.Groups) != 1 || aws.ToString(n.Groups[0].GroupId) != aws.ToString(sg.GroupId) ||
			!slices.Contains(ep.NetworkInterfaceIds, aws.ToString(n.NetworkInterfaceId)) {
			t.Fatalf("interface: %+v", n)
		}
	}
	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: enis.NetworkInterfaces[0].NetworkInterfaceId})
	if err == nil {
		t.Fatal("a user deleted an endpoint's interface")
	}
	subs, _ := e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(subA.SubnetId)}})
	if aws.ToInt32(subs.Subnets[0].AvailableIpAddressCount) != 250 {
		t.Fatalf("free addresses in %s: %d", aws.ToString(subA.SubnetId), aws.ToInt32(subs.Subnets[0].AvailableIpAddressCount))
	}
	_, err = e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: subA.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "")

	// What Lambda and the data plane read.
	info, ok := e.svc.VpcEndpoint(id)
	if !ok || info.VpcID != vpc || info.Type != "Interface" || len(info.Interfaces) != 2 || !strings.Contains(info.PolicyDocument, "Statement") {
		t.Fatalf("VpcEndpoint: %+v %v", info, ok)
	}
	for _, a := range info.Interfaces {
		if !netip.MustParsePrefix("10.0.0.0/16").Contains(netip.MustParseAddr(a.PrivateIP)) {
			t.Fatalf("address %+v", a)
		}
		at, ok := e.svc.VpcEndpointAt(vpc, a.PrivateIP)
		if !ok || at.ID != id {
			t.Fatalf("VpcEndpointAt(%s): %+v %v", a.PrivateIP, at, ok)
		}
	}
	if _, ok := e.svc.VpcEndpointAt(vpc, "10.0.9.9"); ok {
		t.Fatal("VpcEndpointAt found an endpoint at an unused address")
	}

	// Private DNS needs both VPC DNS attributes.
	_, err = e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)})
	wantAPIError(t, err, "InvalidParameter", "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for "+vpc)
	if _, err := e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: v.VpcId, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	got := vpceDescribe(t, e.ec2, id)
	last := got.DnsEntries[len(got.DnsEntries)-1]
	if !aws.ToBool(got.PrivateDnsEnabled) || len(got.DnsEntries) != 4 || aws.ToString(last.DnsName) != "lambda.us-east-1.amazonaws.com" ||
		!regexp.MustCompile(`^Z[0-9A-Z]{20}$`).MatchString(aws.ToString(last.HostedZoneId)) || aws.ToString(last.HostedZoneId) == "Z7HUB22UULQXV" {
		t.Fatalf("private DNS entries: %+v", got.DnsEntries)
	}
	if info, _ := e.svc.VpcEndpoint(id); !info.PrivateDNS {
		t.Fatal("VpcEndpoint does not show private DNS")
	}
	// The VPC's DNS attributes cannot be turned off under it.
	_, err = e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: v.VpcId, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	wantAPIError(t, err, "InvalidParameterValue", "")
	// Only one endpoint of a VPC may answer the service's name.
	_, err = e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: types.VpcEndpointTypeInterface,
		SubnetIds: []string{aws.ToString(subC.SubnetId)}})
	wantAPIError(t, err, "InvalidParameter", "private-dns-enabled cannot be set because there is already a conflicting DNS domain for lambda.us-east-1.amazonaws.com in the VPC "+vpc)
	plain := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: types.VpcEndpointTypeInterface,
		PrivateDnsEnabled: aws.Bool(false)})
	if len(plain.NetworkInterfaceIds) != 0 || len(plain.DnsEntries) != 1 || len(plain.Groups) != 1 || aws.ToString(plain.Groups[0].GroupName) != "default" {
		t.Fatalf("endpoint without subnets: %+v", plain)
	}
	_, err = e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: plain.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)})
	wantAPIError(t, err, "InvalidParameter", "private-dns-enabled cannot be set because there is already a conflicting DNS domain for lambda.us-east-1.amazonaws.com in the VPC "+vpc)

	// Subnets and groups: the interfaces follow.
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId,
		AddSubnetIds: []string{aws.ToString(subC.SubnetId)}, RemoveSubnetIds: []string{aws.ToString(subA.SubnetId)},
		AddSecurityGroupIds: []string{vpceDefaultGroup(t, e.ec2, vpc)}}); err != nil {
		t.Fatal(err)
	}
	got = vpceDescribe(t, e.ec2, id)
	if strings.Join(got.SubnetIds, ",") != aws.ToString(subB.SubnetId)+","+aws.ToString(subC.SubnetId) || len(got.NetworkInterfaceIds) != 2 || len(got.Groups) != 2 {
		t.Fatalf("after modify: %+v", got)
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: subA.SubnetId}); err != nil {
		t.Fatalf("subnet A still in use: %v", err)
	}
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, RemoveSecurityGroupIds: []string{aws.ToString(sg.GroupId)}}); err != nil {
		t.Fatal(err)
	}
	enis, _ = e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: got.NetworkInterfaceIds})
	for _, n := range enis.NetworkInterfaces {
		if len(n.Groups) != 1 || aws.ToString(n.Groups[0].GroupName) != "default" {
			t.Fatalf("interface groups: %+v", n.Groups)
		}
	}
	for _, c := range []struct {
		in   *sdk.ModifyVpcEndpointInput
		code string
		msg  string
	}{
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, AddSubnetIds: []string{aws.ToString(subB2.SubnetId)}}, "DuplicateSubnetsInSameZone", ""},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, RemoveSecurityGroupIds: []string{vpceDefaultGroup(t, e.ec2, vpc)}}, "InvalidParameter", ""},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, AddRouteTableIds: []string{vpceMainTable(t, e.ec2, vpc)}}, "InvalidParameter", "Route table IDs are only supported for Gateway type VPC Endpoint."},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, RemoveSubnetIds: []string{aws.ToString(subA2.SubnetId)}}, "InvalidParameter", ""},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PolicyDocument: aws.String(`{"Statement":[`)}, "InvalidPolicyDocument", "The Policy Document is not valid. Syntax error at position (1,15)"},
		{&sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, IpAddressType: types.IpAddressTypeDualstack}, "InvalidParameter", ""},
	} {
		_, err := e.ec2.ModifyVpcEndpoint(ctx, c.in)
		wantAPIError(t, err, c.code, c.msg)
	}

	// Deleting: the interfaces go at once; unknown ids are reported, not fatal.
	del, err := e.ec2.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id, "vpce-0123456789abcdef0", "vpce-x"}})
	if err != nil || len(del.Unsuccessful) != 2 {
		t.Fatalf("delete: %+v %v", del, err)
	}
	u := del.Unsuccessful[0]
	if aws.ToString(u.ResourceId) != "vpce-0123456789abcdef0" || aws.ToString(u.Error.Code) != "InvalidVpcEndpoint.NotFound" ||
		aws.ToString(del.Unsuccessful[1].Error.Code) != "InvalidVpcEndpointId.Malformed" {
		t.Fatalf("unsuccessful: %+v %+v", u.Error, del.Unsuccessful[1].Error)
	}
	if got := vpceDescribe(t, e.ec2, id); got.State != "deleted" || len(got.DnsEntries) != 0 {
		t.Fatalf("deleted: %+v", got)
	}
	if _, ok := e.svc.VpcEndpoint(id); ok {
		t.Fatal("VpcEndpoint still finds a deleted endpoint")
	}
	enis, _ = e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("description"), Values: []string{"VPC Endpoint Interface " + id}}}})
	if len(enis.NetworkInterfaces) != 0 {
		t.Fatalf("interfaces left: %+v", enis.NetworkInterfaces)
	}
	// Deleting it again reports it as not found.
	del, _ = e.ec2.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if len(del.Unsuccessful) != 1 {
		t.Fatalf("second delete: %+v", del)
	}
	// With the first endpoint gone, the name is free for another.
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: plain.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

func vpceDefaultGroup(t *testing.T, c *sdk.Client, vpc string) string {
	t.Helper()
	out, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("default group: %+v %v", out, err)
	}
	return aws.ToString(out.SecurityGroups[0].GroupId)
}

func TestVpceS3Interface(t *testing.T) {
	e := newEnv(t)
	v := vpceDNSVpc(t, e.ec2, "10.0.0.0/16")
	sub := createSubnet(t, e.ec2, aws.ToString(v.VpcId), "10.0.1.0/24", "us-east-1b")
	s3 := aws.String("com.amazonaws.us-east-1.s3")
	// Without private DNS by default; S3's names are wildcards.
	ep := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, VpcEndpointType: types.VpcEndpointTypeInterface,
		SubnetIds: []string{aws.ToString(sub.SubnetId)}})
	if aws.ToBool(ep.PrivateDnsEnabled) || len(ep.DnsEntries) != 2 ||
		!regexp.MustCompile(`^\*\.vpce-[0-9a-f]{17}-[a-z0-9]{8}-us-east-1b\.s3\.us-east-1\.vpce\.amazonaws\.com$`).MatchString(aws.ToString(ep.DnsEntries[1].DnsName)) {
		t.Fatalf("S3 interface endpoint: %+v", ep)
	}
	// Private DNS for S3 answers only inbound resolvers unless told
	// otherwise, which needs a gateway endpoint beside it.
	_, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)})
	wantAPIError(t, err, "InvalidParameter", "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC "+aws.ToString(v.VpcId)+" must have a Gateway endpoint for the service.")
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true),
		DnsOptions: &types.DnsOptionsSpecification{PrivateDnsOnlyForInboundResolverEndpoint: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	got := vpceDescribe(t, e.ec2, aws.ToString(ep.VpcEndpointId))
	if aws.ToString(got.DnsEntries[len(got.DnsEntries)-1].DnsName) != "*.s3.us-east-1.amazonaws.com" || got.DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint == nil ||
		*got.DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint {
		t.Fatalf("S3 private DNS: %+v %+v", got.DnsEntries, got.DnsOptions)
	}
	// Saying private DNS is on again keeps the mode chosen.
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &sdk.ModifyVpcEndpointInput{VpcEndpointId: ep.VpcEndpointId, PrivateDnsEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3,
		DnsOptions: &types.DnsOptionsSpecification{PrivateDnsOnlyForInboundResolverEndpoint: aws.Bool(true)}})
	wantAPIError(t, err, "InvalidParameter", "DnsOptions PrivateDnsOnlyForInboundResolverEndpoint is applicable only to Interface VPC Endpoints.")

	// With a gateway endpoint for S3 in the VPC, the inbound-only mode works.
	v2 := vpceDNSVpc(t, e.ec2, "10.1.0.0/16")
	vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v2.VpcId, ServiceName: s3})
	in := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v2.VpcId, ServiceName: s3, VpcEndpointType: types.VpcEndpointTypeInterface,
		PrivateDnsEnabled: aws.Bool(true)})
	if !aws.ToBool(in.PrivateDnsEnabled) || !aws.ToBool(in.DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint) {
		t.Fatalf("inbound-only S3: %+v", in.DnsOptions)
	}
}

func TestVpceCreateErrors(t *testing.T) {
	e := newEnv(t)
	v := vpceDNSVpc(t, e.ec2, "10.0.0.0/16")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	otherSub := createSubnet(t, e.ec2, aws.ToString(other.VpcId), "10.1.1.0/24", "us-east-1a")
	otherTable := vpceMainTable(t, e.ec2, aws.ToString(other.VpcId))
	otherGroup := vpceDefaultGroup(t, e.ec2, aws.ToString(other.VpcId))
	sub := createSubnet(t, e.ec2, aws.ToString(v.VpcId), "10.0.1.0/24", "us-east-1a")
	lambda, s3 := aws.String("com.amazonaws.us-east-1.lambda"), aws.String("com.amazonaws.us-east-1.s3")
	iface := types.VpcEndpointTypeInterface
	for i, c := range []struct {
		in   *sdk.CreateVpcEndpointInput
		code string
		msg  string
	}{
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.kinesis-streams")}, "InvalidServiceName", "The Vpc Endpoint Service 'com.amazonaws.us-east-1.kinesis-streams' does not exist"},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-west-2.s3")}, "InvalidServiceName", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: aws.String("vpc-0123456789abcdef0"), ServiceName: s3}, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist"},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, VpcEndpointType: types.VpcEndpointTypeGatewayLoadBalancer}, "InvalidParameter", "Endpoint type (GatewayLoadBalancer) does not match available service types ([Gateway, Interface])."},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, PolicyDocument: aws.String(`{"Statement": [}`)}, "InvalidPolicyDocument", "The Policy Document is not valid. Syntax error at position (1,16)"},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}`)}, "InvalidPolicyDocument", "The Policy Document is not valid. Policy statement must contain resources."},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, RouteTableIds: []string{otherTable}}, "InvalidParameter", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, RouteTableIds: []string{"rtb-0123456789abcdef0"}}, "InvalidRouteTableID.NotFound", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, SubnetIds: []string{aws.ToString(sub.SubnetId)}}, "InvalidParameter", "Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints."},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, SecurityGroupIds: []string{otherGroup}}, "InvalidParameter", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: iface, RouteTableIds: []string{otherTable}}, "InvalidParameter", "Route table IDs are only supported for Gateway type VPC Endpoint."},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: iface, SubnetIds: []string{aws.ToString(otherSub.SubnetId)}}, "InvalidParameter", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: iface, SubnetIds: []string{"subnet-0123456789abcdef0"}}, "InvalidSubnetID.NotFound", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: iface, SecurityGroupIds: []string{otherGroup}}, "InvalidParameterValue", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: iface, IpAddressType: types.IpAddressTypeIpv6}, "InvalidParameter", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: lambda, VpcEndpointType: iface, DnsOptions: &types.DnsOptionsSpecification{PrivateDnsOnlyForInboundResolverEndpoint: aws.Bool(true)}}, "InvalidParameter", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}}, "InvalidParameterValue", ""},
		{&sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: s3, DryRun: aws.Bool(true)}, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."},
	} {
		_, err := e.ec2.CreateVpcEndpoint(ctx, c.in)
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		wantAPIError(t, err, c.code, c.msg)
	}
	// Nothing was left behind by the failed calls.
	out, _ := e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{})
	enis, _ := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("interface-type"), Values: []string{"vpc_endpoint"}}}})
	if len(out.VpcEndpoints) != 0 || len(enis.NetworkInterfaces) != 0 {
		t.Fatalf("left behind: %+v %+v", out.VpcEndpoints, enis.NetworkInterfaces)
	}
}

func TestVpceClientToken(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	in := &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3"), ClientToken: aws.String("tok-1")}
	first, err := e.ec2.CreateVpcEndpoint(ctx, in)
	if err != nil || aws.ToString(first.ClientToken) != "tok-1" {
		t.Fatalf("%+v %v", first, err)
	}
	again, err := e.ec2.CreateVpcEndpoint(ctx, in)
	if err != nil || aws.ToString(again.VpcEndpoint.VpcEndpointId) != aws.ToString(first.VpcEndpoint.VpcEndpointId) {
		t.Fatalf("retry made another endpoint: %+v %v", again, err)
	}
	in.ServiceName = aws.String("com.amazonaws.us-east-1.dynamodb")
	_, err = e.ec2.CreateVpcEndpoint(ctx, in)
	wantAPIError(t, err, "IdempotentParameterMismatch", "")
	out, _ := e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{})
	if len(out.VpcEndpoints) != 1 {
		t.Fatalf("endpoints: %d", len(out.VpcEndpoints))
	}
}

func TestVpceDescribe(t *testing.T) {
	e := newEnv(t)
	v := vpceDNSVpc(t, e.ec2, "10.0.0.0/16")
	v2 := createVpc(t, e.ec2, "10.1.0.0/16")
	s3 := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpcEndpoint, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("data")}}}}})
	ddb := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v2.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.dynamodb")})
	sts := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.sts"), VpcEndpointType: types.VpcEndpointTypeInterface})
	vpceWaitState(t, e.ec2, aws.ToString(v.VpcId), aws.ToString(sts.VpcEndpointId), "available")
	ids := func(fs ...types.Filter) string {
		out, err := e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{Filters: fs})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range out.VpcEndpoints {
			got = append(got, aws.ToString(x.VpcEndpointId))
		}
		slices.Sort(got)
		return strings.Join(got, ",")
	}
	sorted := func(xs ...*string) string {
		var s []string
		for _, x := range xs {
			s = append(s, aws.ToString(x))
		}
		slices.Sort(s)
		return strings.Join(s, ",")
	}
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	for _, c := range []struct {
		filters []types.Filter
		want    string
	}{
		{nil, sorted(s3.VpcEndpointId, ddb.VpcEndpointId, sts.VpcEndpointId)},
		{[]types.Filter{f("vpc-endpoint-type", "Gateway")}, sorted(s3.VpcEndpointId, ddb.VpcEndpointId)},
		{[]types.Filter{f("vpc-id", aws.ToString(v.VpcId))}, sorted(s3.VpcEndpointId, sts.VpcEndpointId)},
		{[]types.Filter{f("service-name", "com.amazonaws.us-east-1.sts")}, sorted(sts.VpcEndpointId)},
		{[]types.Filter{f("vpc-endpoint-state", "available"), f("vpc-id", aws.ToString(v2.VpcId))}, sorted(ddb.VpcEndpointId)},
		{[]types.Filter{f("vpc-endpoint-id", aws.ToString(s3.VpcEndpointId))}, sorted(s3.VpcEndpointId)},
		{[]types.Filter{f("ip-address-type", "ipv4")}, sorted(sts.VpcEndpointId)},
		{[]types.Filter{f("tag:tier", "data")}, sorted(s3.VpcEndpointId)},
		{[]types.Filter{f("tag-key", "tier")}, sorted(s3.VpcEndpointId)},
		{[]types.Filter{f("vpc-endpoint-state", "pending")}, ""},
	} {
		if got := ids(c.filters...); got != c.want {
			t.Fatalf("filters %v: %s, want %s", c.filters, got, c.want)
		}
	}
	var paged []string
	var next *string
	for pages := 0; ; pages++ {
		out, err := e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{MaxResults: aws.Int32(2), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out.VpcEndpoints {
			paged = append(paged, aws.ToString(x.VpcEndpointId))
		}
		if next = out.NextToken; next == nil {
			break
		}
		if pages > 2 {
			t.Fatal("pagination does not end")
		}
	}
	if strings.Join(paged, ",") != sorted(s3.VpcEndpointId, ddb.VpcEndpointId, sts.VpcEndpointId) {
		t.Fatalf("paged: %v", paged)
	}
	_, err := e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{VpcEndpointIds: []string{"vpce-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id 'vpce-0123456789abcdef0' does not exist")
	_, err = e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{VpcEndpointIds: []string{"vpce-12"}})
	wantAPIError(t, err, "InvalidVpcEndpointId.Malformed", "")
	_, err = e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{Filters: []types.Filter{f("state", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'state' is invalid")
	_, err = e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{aws.ToString(s3.VpcEndpointId)}, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
}

// Interface endpoints stay pending for the endpoint delay, and a deleted
// endpoint goes through deleting and deleted before it disappears.
func TestVpceTimedStates(t *testing.T) {
	clock := newVpceClock()
	e := newEnvWith(t, store.NewMemory(), ec2.Options{Now: clock.Now, EndpointCreateDelay: time.Minute})
	v := vpceDNSVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	sub := createSubnet(t, e.ec2, vpc, "10.0.1.0/24", "us-east-1a")
	ep := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.logs"),
		VpcEndpointType: types.VpcEndpointTypeInterface, SubnetIds: []string{aws.ToString(sub.SubnetId)}})
	id := aws.ToString(ep.VpcEndpointId)
	vpceEventually(t, e.ec2, vpc, func() error { return nil })
	if got := vpceDescribe(t, e.ec2, id); got.State != "pending" {
		t.Fatalf("before the delay: %s", got.State)
	}
	clock.Advance(time.Minute)
	vpceWaitState(t, e.ec2, vpc, id, "available")

	if _, err := e.ec2.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if got := vpceDescribe(t, e.ec2, id); got.State != "deleting" || len(got.NetworkInterfaceIds) != 0 {
		t.Fatalf("deleting: %+v", got)
	}
	// The subnet is free at once.
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: sub.SubnetId}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	vpceWaitState(t, e.ec2, vpc, id, "deleted")
	clock.Advance(10 * time.Minute)
	vpceEventually(t, e.ec2, vpc, func() error {
		out, err := e.ec2.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{})
		if err != nil {
			return err
		}
		if len(out.VpcEndpoints) != 0 {
			return fmt.Errorf("still listed: %+v", out.VpcEndpoints)
		}
		return nil
	})
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
}

// Endpoints and peering connections survive a restart on the same data.
func TestVpcePersistence(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, st, ec2.Options{})
	v := vpceDNSVpc(t, e.ec2, "10.0.0.0/16")
	sub := createSubnet(t, e.ec2, aws.ToString(v.VpcId), "10.0.1.0/24", "us-east-1c")
	ep := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.lambda"),
		VpcEndpointType: types.VpcEndpointTypeInterface, SubnetIds: []string{aws.ToString(sub.SubnetId)}})
	gw := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.dynamodb"),
		RouteTableIds: []string{vpceMainTable(t, e.ec2, aws.ToString(v.VpcId))}})
	b := createVpc(t, e.ec2, "10.1.0.0/16")
	p := pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: v.VpcId, PeerVpcId: b.VpcId})
	e.svc.Close()
	st.Close()

	st2, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	e2 := newEnvWith(t, st2, ec2.Options{})
	got := vpceWaitState(t, e2.ec2, aws.ToString(v.VpcId), aws.ToString(ep.VpcEndpointId), "available")
	if len(got.DnsEntries) != len(ep.DnsEntries) || aws.ToString(got.DnsEntries[1].DnsName) != aws.ToString(ep.DnsEntries[1].DnsName) ||
		strings.Join(got.NetworkInterfaceIds, ",") != strings.Join(ep.NetworkInterfaceIds, ",") {
		t.Fatalf("after restart: %+v, before %+v", got.DnsEntries, ep.DnsEntries)
	}
	if g := vpceDescribe(t, e2.ec2, aws.ToString(gw.VpcEndpointId)); strings.Join(g.RouteTableIds, ",") != strings.Join(gw.RouteTableIds, ",") {
		t.Fatalf("gateway after restart: %+v", g)
	}
	pcxWantStatus(t, e2.ec2, aws.ToString(p.VpcPeeringConnectionId), types.VpcPeeringConnectionStateReasonCodePendingAcceptance, "")
}
