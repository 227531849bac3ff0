package ec2_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

func createVpc(t *testing.T, c *sdk.Client, cidr string) types.Vpc {
	t.Helper()
	out, err := c.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.Vpc
}

func createSubnet(t *testing.T, c *sdk.Client, vpc, cidr, az string) types.Subnet {
	t.Helper()
	in := &sdk.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr)}
	if az != "" {
		in.AvailabilityZone = aws.String(az)
	}
	out, err := c.CreateSubnet(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.Subnet
}

func TestDefaultVpc(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vpcs) != 1 {
		t.Fatalf("default VPCs: %d", len(out.Vpcs))
	}
	v := out.Vpcs[0]
	if aws.ToString(v.CidrBlock) != "172.31.0.0/16" || !aws.ToBool(v.IsDefault) || v.State != types.VpcStateAvailable ||
		aws.ToString(v.OwnerId) != "123456789012" || len(aws.ToString(v.VpcId)) != len("vpc-")+17 {
		t.Fatalf("default VPC: %+v", v)
	}
	subs, err := e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{*v.VpcId}}}})
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, s := range subs.Subnets {
		if !aws.ToBool(s.DefaultForAz) || !aws.ToBool(s.MapPublicIpOnLaunch) || aws.ToInt32(s.AvailableIpAddressCount) != 4091 {
			t.Fatalf("default subnet: %+v", s)
		}
		zones = append(zones, aws.ToString(s.AvailabilityZone))
	}
	slices.Sort(zones)
	if strings.Join(zones, ",") != "us-east-1a,us-east-1b,us-east-1c" {
		t.Fatalf("zones %v", zones)
	}
	attr, err := e.ec2.DescribeVpcAttribute(ctx, &sdk.DescribeVpcAttributeInput{VpcId: v.VpcId, Attribute: types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || !aws.ToBool(attr.EnableDnsHostnames.Value) {
		t.Fatalf("default VPC DNS hostnames: %v %v", attr, err)
	}
	// Another region has its own default VPC; deleting one does not bring it back.
	west := e.clientIn("us-west-2", "test", "test", "")
	wv, err := west.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{})
	if err != nil || len(wv.Vpcs) != 1 || aws.ToString(wv.Vpcs[0].VpcId) == aws.ToString(v.VpcId) {
		t.Fatalf("us-west-2: %+v %v", wv, err)
	}
}

func TestVpcLifecycle(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("app")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	v := out.Vpc
	if v.State != types.VpcStatePending || v.InstanceTenancy != types.TenancyDefault || len(v.Tags) != 1 ||
		len(v.CidrBlockAssociationSet) != 1 || aws.ToString(v.CidrBlockAssociationSet[0].CidrBlock) != "10.0.0.0/16" {
		t.Fatalf("created: %+v", v)
	}
	d, err := e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("tag:Name"), Values: []string{"ap*"}}}})
	if err != nil || len(d.Vpcs) != 1 || d.Vpcs[0].State != types.VpcStateAvailable {
		t.Fatalf("by tag: %+v %v", d, err)
	}
	attr, err := e.ec2.DescribeVpcAttribute(ctx, &sdk.DescribeVpcAttributeInput{VpcId: v.VpcId, Attribute: types.VpcAttributeNameEnableDnsSupport})
	if err != nil || !aws.ToBool(attr.EnableDnsSupport.Value) {
		t.Fatalf("dns support: %v %v", attr, err)
	}
	_, err = e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: v.VpcId,
		EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}, EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
	wantAPIError(t, err, "InvalidParameterCombination", "")
	if _, err := e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: v.VpcId, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	attr, err = e.ec2.DescribeVpcAttribute(ctx, &sdk.DescribeVpcAttributeInput{VpcId: v.VpcId, Attribute: types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || !aws.ToBool(attr.EnableDnsHostnames.Value) {
		t.Fatalf("dns hostnames: %v %v", attr, err)
	}
	_, err = e.ec2.ModifyVpcAttribute(ctx, &sdk.ModifyVpcAttributeInput{VpcId: v.VpcId, EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	wantAPIError(t, err, "InvalidParameterValue", "")

	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1a")
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId})
	wantAPIError(t, err, "DependencyViolation", "The vpc '"+*v.VpcId+"' has dependencies and cannot be deleted.")
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{VpcIds: []string{*v.VpcId}})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "The vpc ID '"+*v.VpcId+"' does not exist")
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: aws.String("vpc-12")})
	wantAPIError(t, err, "InvalidVpcId.Malformed", "The vpc ID 'vpc-12' is malformed")
}

func TestVpcValidation(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ cidr, tenancy, code string }{
		{"10.0.0.1/16", "", "InvalidParameterValue"},
		{"10.0.0.0/8", "", "InvalidVpc.Range"},
		{"10.0.0.0/29", "", "InvalidVpc.Range"},
		{"nonsense", "", "InvalidParameterValue"},
		{"10.0.0.0/16", "host", "InvalidParameterValue"},
	} {
		in := &sdk.CreateVpcInput{CidrBlock: aws.String(c.cidr)}
		if c.tenancy != "" {
			in.InstanceTenancy = types.Tenancy(c.tenancy)
		}
		_, err := e.ec2.CreateVpc(ctx, in)
		wantAPIError(t, err, c.code, "")
	}
	ded, err := e.ec2.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16"), InstanceTenancy: types.TenancyDedicated})
	if err != nil || ded.Vpc.InstanceTenancy != types.TenancyDedicated {
		t.Fatalf("dedicated: %v", err)
	}
	_, err = e.ec2.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	_, err = e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'colour' is invalid")
}

func TestSecondaryCidr(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	_, err := e.ec2.AssociateVpcCidrBlock(ctx, &sdk.AssociateVpcCidrBlockInput{VpcId: v.VpcId, CidrBlock: aws.String("10.0.128.0/17")})
	wantAPIError(t, err, "InvalidVpc.Range", "")
	a, err := e.ec2.AssociateVpcCidrBlock(ctx, &sdk.AssociateVpcCidrBlockInput{VpcId: v.VpcId, CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	s := createSubnet(t, e.ec2, *v.VpcId, "10.1.0.0/24", "")
	_, err = e.ec2.DisassociateVpcCidrBlock(ctx, &sdk.DisassociateVpcCidrBlockInput{AssociationId: a.CidrBlockAssociation.AssociationId})
	wantAPIError(t, err, "DependencyViolation", "")
	_, err = e.ec2.DisassociateVpcCidrBlock(ctx, &sdk.DisassociateVpcCidrBlockInput{AssociationId: v.CidrBlockAssociationSet[0].AssociationId})
	wantAPIError(t, err, "InvalidParameterValue", "")
	e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId})
	if _, err := e.ec2.DisassociateVpcCidrBlock(ctx, &sdk.DisassociateVpcCidrBlockInput{AssociationId: a.CidrBlockAssociation.AssociationId}); err != nil {
		t.Fatal(err)
	}
	d, _ := e.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{VpcIds: []string{*v.VpcId}})
	if len(d.Vpcs[0].CidrBlockAssociationSet) != 1 {
		t.Fatalf("after disassociate: %+v", d.Vpcs[0].CidrBlockAssociationSet)
	}
}

func TestSubnets(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1b")
	if aws.ToInt32(s.AvailableIpAddressCount) != 251 || aws.ToString(s.AvailabilityZoneId) != "use1-az2" ||
		aws.ToString(s.SubnetArn) != "arn:aws:ec2:us-east-1:123456789012:subnet/"+aws.ToString(s.SubnetId) {
		t.Fatalf("subnet: %+v", s)
	}
	for _, c := range []struct{ cidr, code string }{
		{"10.0.1.128/25", "InvalidSubnet.Conflict"},
		{"10.1.0.0/24", "InvalidSubnet.Range"},
		{"10.0.2.0/29", "InvalidSubnet.Range"},
		{"10.0.2.1/24", "InvalidParameterValue"},
	} {
		_, err := e.ec2.CreateSubnet(ctx, &sdk.CreateSubnetInput{VpcId: v.VpcId, CidrBlock: aws.String(c.cidr)})
		wantAPIError(t, err, c.code, "")
	}
	_, err := e.ec2.CreateSubnet(ctx, &sdk.CreateSubnetInput{VpcId: v.VpcId, CidrBlock: aws.String("10.0.3.0/24"), AvailabilityZone: aws.String("us-east-1z")})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.CreateSubnet(ctx, &sdk.CreateSubnetInput{VpcId: aws.String("vpc-0123456789abcdef0"), CidrBlock: aws.String("10.0.3.0/24")})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist")
	if _, err := e.ec2.ModifySubnetAttribute(ctx, &sdk.ModifySubnetAttributeInput{SubnetId: s.SubnetId, MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		createSubnet(t, e.ec2, *v.VpcId, "10.0."+strconv.Itoa(10+i)+".0/28", "")
	}
	var all []types.Subnet
	var next *string
	for pages := 0; ; pages++ {
		out, err := e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{MaxResults: aws.Int32(5), NextToken: next,
			Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{*v.VpcId}}}})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Subnets...)
		if next = out.NextToken; next == nil {
			break
		}
		if pages > 3 {
			t.Fatal("pagination does not end")
		}
	}
	if len(all) != 9 {
		t.Fatalf("paged %d subnets", len(all))
	}
	out, err := e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{*v.VpcId}}, {Name: aws.String("map-public-ip-on-launch"), Values: []string{"true"}}}})
	if err != nil || len(out.Subnets) != 1 || aws.ToString(out.Subnets[0].SubnetId) != aws.ToString(s.SubnetId) {
		t.Fatalf("filtered: %+v %v", out, err)
	}
	out, err = e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("available-ip-address-count"), Values: []string{"11"}}}})
	if err != nil || len(out.Subnets) != 8 {
		t.Fatalf("by free count: %d %v", len(out.Subnets), err)
	}
}

func TestAvailabilityZonesAndRegions(t *testing.T) {
	e := newEnv(t)
	az, err := e.ec2.DescribeAvailabilityZones(ctx, &sdk.DescribeAvailabilityZonesInput{})
	if err != nil || len(az.AvailabilityZones) != 3 || aws.ToString(az.AvailabilityZones[0].ZoneId) != "use1-az1" ||
		aws.ToString(az.AvailabilityZones[2].ZoneName) != "us-east-1c" {
		t.Fatalf("%+v %v", az, err)
	}
	west := e.clientIn("ap-southeast-2", "test", "test", "")
	az, err = west.DescribeAvailabilityZones(ctx, &sdk.DescribeAvailabilityZonesInput{ZoneNames: []string{"ap-southeast-2b"}})
	if err != nil || len(az.AvailabilityZones) != 1 || aws.ToString(az.AvailabilityZones[0].ZoneId) != "apse2-az2" {
		t.Fatalf("%+v %v", az, err)
	}
	r, err := e.ec2.DescribeRegions(ctx, &sdk.DescribeRegionsInput{RegionNames: []string{"eu-west-1"}})
	if err != nil || len(r.Regions) != 1 || aws.ToString(r.Regions[0].Endpoint) != "ec2.eu-west-1.amazonaws.com" {
		t.Fatalf("%+v %v", r, err)
	}
}

// Everything acknowledged survives a restart on the same data directory.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, st, ec2.Options{})
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	e.svc.Close()
	st.Close()

	st2, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	e2 := newEnvWith(t, st2, ec2.Options{})
	out, err := e2.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{SubnetIds: []string{*s.SubnetId}})
	if err != nil || len(out.Subnets) != 1 || aws.ToString(out.Subnets[0].VpcId) != aws.ToString(v.VpcId) {
		t.Fatalf("after restart: %+v %v", out, err)
	}
	vs, _ := e2.ec2.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{})
	if len(vs.Vpcs) != 2 {
		t.Fatalf("VPCs after restart: %d (the default VPC must not be made twice)", len(vs.Vpcs))
	}
}

// Filters answered from an index see every write: a new tag, a removed
// one, a deleted subnet.
func TestIndexedFiltersFollowWrites(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	count := func(f types.Filter) int {
		t.Helper()
		out, err := e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{Filters: []types.Filter{f}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Subnets)
	}
	byTag := types.Filter{Name: aws.String("tag:tier"), Values: []string{"app"}}
	byVpc := types.Filter{Name: aws.String("vpc-id"), Values: []string{*v.VpcId}}
	if count(byTag) != 0 || count(byVpc) != 1 {
		t.Fatal("before tagging")
	}
	if _, err := e.ec2.CreateTags(ctx, &sdk.CreateTagsInput{Resources: []string{*s.SubnetId}, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("app")}}}); err != nil {
		t.Fatal(err)
	}
	if count(byTag) != 1 {
		t.Fatal("tag not seen")
	}
	createSubnet(t, e.ec2, *v.VpcId, "10.0.2.0/24", "")
	if count(byVpc) != 2 {
		t.Fatal("new subnet not seen")
	}
	e.ec2.DeleteTags(ctx, &sdk.DeleteTagsInput{Resources: []string{*s.SubnetId}})
	e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId})
	if count(byTag) != 0 || count(byVpc) != 1 {
		t.Fatal("delete not seen")
	}
	if count(types.Filter{Name: aws.String("vpc-id"), Values: []string{*v.VpcId, "vpc-0000000000000000f"}}) != 1 {
		t.Fatal("several values")
	}
}

// Security group rules take tags like any resource.
func TestSecurityGroupRuleTags(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	g, err := e.ec2.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{VpcId: v.VpcId, GroupName: aws.String("db"), Description: aws.String("db")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &sdk.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId,
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	rule := aws.ToString(a.SecurityGroupRules[0].SecurityGroupRuleId)
	if _, err := e.ec2.CreateTags(ctx, &sdk.CreateTagsInput{Resources: []string{rule}, Tags: []types.Tag{{Key: aws.String("purpose"), Value: aws.String("postgres")}}}); err != nil {
		t.Fatal(err)
	}
	d, err := e.ec2.DescribeTags(ctx, &sdk.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{rule}}}})
	if err != nil || len(d.Tags) != 1 || d.Tags[0].ResourceType != types.ResourceTypeSecurityGroupRule || aws.ToString(d.Tags[0].Value) != "postgres" {
		t.Fatalf("%+v %v", d, err)
	}
	r, _ := e.ec2.DescribeSecurityGroupRules(ctx, &sdk.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{rule}})
	if len(r.SecurityGroupRules) != 1 || len(r.SecurityGroupRules[0].Tags) != 1 {
		t.Fatalf("rule tags: %+v", r.SecurityGroupRules)
	}
	if _, err := e.ec2.DeleteTags(ctx, &sdk.DeleteTagsInput{Resources: []string{rule}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.CreateTags(ctx, &sdk.CreateTagsInput{Resources: []string{"sgr-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantAPIError(t, err, "InvalidSecurityGroupRuleId.NotFound", "")
}
