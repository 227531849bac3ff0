package ec2_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func eniCreate(t *testing.T, c *sdk.Client, in *sdk.CreateNetworkInterfaceInput) types.NetworkInterface {
	t.Helper()
	out, err := c.CreateNetworkInterface(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.NetworkInterface
}

func eniDescribe(t *testing.T, c *sdk.Client, id string) types.NetworkInterface {
	t.Helper()
	out, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NetworkInterfaces) != 1 {
		t.Fatalf("describe %s: %d interfaces", id, len(out.NetworkInterfaces))
	}
	return out.NetworkInterfaces[0]
}

// eniFree is the subnet's AvailableIpAddressCount.
func eniFree(t *testing.T, c *sdk.Client, subnet string) int32 {
	t.Helper()
	out, err := c.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{SubnetIds: []string{subnet}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToInt32(out.Subnets[0].AvailableIpAddressCount)
}

func eniFilter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func eniIDs(enis []types.NetworkInterface) []string {
	var out []string
	for _, e := range enis {
		out = append(out, aws.ToString(e.NetworkInterfaceId))
	}
	slices.Sort(out)
	return out
}

func eniDefaultGroup(t *testing.T, c *sdk.Client, vpc string) string {
	t.Helper()
	out, err := c.DescribeSecurityGroups(ctx, &sdk.DescribeSecurityGroupsInput{Filters: []types.Filter{
		eniFilter("vpc-id", vpc), eniFilter("group-name", "default")}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("default group of %s: %v %v", vpc, out, err)
	}
	return aws.ToString(out.SecurityGroups[0].GroupId)
}

func eniGroup(t *testing.T, c *sdk.Client, vpc, name string) string {
	t.Helper()
	out, err := c.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String(name), Description: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.GroupId)
}

func TestENICreateDescribeDelete(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1b")
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 251 {
		t.Fatalf("free before: %d", got)
	}
	created := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, Description: aws.String("my interface"),
		PrivateIpAddress: aws.String("10.0.1.17"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNetworkInterface,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}}}})
	id := aws.ToString(created.NetworkInterfaceId)
	if created.Status != types.NetworkInterfaceStatus("pending") || !strings.HasPrefix(id, "eni-") || len(id) != len("eni-")+17 {
		t.Fatalf("created: %+v", created)
	}
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 250 {
		t.Fatalf("free after create: %d", got)
	}
	d := eniDescribe(t, e.ec2, id)
	sg := eniDefaultGroup(t, e.ec2, *v.VpcId)
	if d.Status != types.NetworkInterfaceStatusAvailable || aws.ToString(d.PrivateIpAddress) != "10.0.1.17" ||
		aws.ToString(d.PrivateDnsName) != "ip-10-0-1-17.ec2.internal" || aws.ToString(d.Description) != "my interface" ||
		aws.ToString(d.SubnetId) != *s.SubnetId || aws.ToString(d.VpcId) != *v.VpcId ||
		aws.ToString(d.AvailabilityZone) != "us-east-1b" || aws.ToString(d.OwnerId) != "123456789012" ||
		d.InterfaceType != types.NetworkInterfaceTypeInterface || aws.ToBool(d.RequesterManaged) ||
		aws.ToString(d.RequesterId) != "123456789012" || !aws.ToBool(d.SourceDestCheck) || d.Attachment != nil ||
		d.Association != nil || !strings.HasPrefix(aws.ToString(d.MacAddress), "02:") || len(aws.ToString(d.MacAddress)) != 17 ||
		d.Ipv6Addresses == nil || len(d.Ipv6Addresses) != 0 {
		t.Fatalf("described: %+v", d)
	}
	if len(d.Groups) != 1 || aws.ToString(d.Groups[0].GroupId) != sg || aws.ToString(d.Groups[0].GroupName) != "default" {
		t.Fatalf("groups: %+v", d.Groups)
	}
	if len(d.PrivateIpAddresses) != 1 || !aws.ToBool(d.PrivateIpAddresses[0].Primary) ||
		aws.ToString(d.PrivateIpAddresses[0].PrivateDnsName) != "ip-10-0-1-17.ec2.internal" {
		t.Fatalf("addresses: %+v", d.PrivateIpAddresses)
	}
	if len(d.TagSet) != 1 || aws.ToString(d.TagSet[0].Value) != "web" {
		t.Fatalf("tags: %+v", d.TagSet)
	}
	// The next interface takes the lowest free address.
	next := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId})
	if aws.ToString(next.PrivateIpAddress) != "10.0.1.4" || len(next.TagSet) != 0 {
		t.Fatalf("second: %+v", next)
	}
	// The subnet cannot go while interfaces live in it.
	_, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "")

	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(id), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	for _, x := range []string{id, aws.ToString(next.NetworkInterfaceId)} {
		if _, err := e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(x)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 251 {
		t.Fatalf("free after delete: %d", got)
	}
	_, err = e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{id}})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '"+id+"' does not exist")
	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(id)})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '"+id+"' does not exist")
	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String("eni-xyz")})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.Malformed", "")
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
}

func TestENICreateErrors(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	foreign := eniGroup(t, e.ec2, *other.VpcId, "elsewhere")
	eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, PrivateIpAddress: aws.String("10.0.1.50")})
	for _, c := range []struct {
		in   sdk.CreateNetworkInterfaceInput
		code string
	}{
		{sdk.CreateNetworkInterfaceInput{SubnetId: aws.String("subnet-0123456789abcdef0")}, "InvalidSubnetID.NotFound"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: aws.String("subnet-nope")}, "InvalidSubnetID.Malformed"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, Groups: []string{foreign}}, "InvalidParameterValue"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, Groups: []string{"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, PrivateIpAddress: aws.String("10.0.1.50")}, "InvalidIPAddress.InUse"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, PrivateIpAddress: aws.String("10.0.2.5")}, "InvalidParameterValue"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, PrivateIpAddress: aws.String("10.0.1.1")}, "InvalidParameterValue"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, InterfaceType: types.NetworkInterfaceCreationTypeEfa}, "InvalidParameterValue"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, SecondaryPrivateIpAddressCount: aws.Int32(2)}, "InvalidParameterValue"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc,
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}}, "InvalidParameterValue"},
		{sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, DryRun: aws.Bool(true)}, "DryRunOperation"},
	} {
		_, err := e.ec2.CreateNetworkInterface(ctx, &c.in)
		wantAPIError(t, err, c.code, "")
	}
	// A client token makes a retry return the same interface.
	in := &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId, ClientToken: aws.String("tok-1")}
	a := eniCreate(t, e.ec2, in)
	b := eniCreate(t, e.ec2, in)
	if aws.ToString(a.NetworkInterfaceId) != aws.ToString(b.NetworkInterfaceId) {
		t.Fatalf("client token: %s then %s", aws.ToString(a.NetworkInterfaceId), aws.ToString(b.NetworkInterfaceId))
	}
	// PrivateIpAddresses.N with one primary address is the same as PrivateIpAddress.
	p := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId,
		PrivateIpAddresses: []types.PrivateIpAddressSpecification{{PrivateIpAddress: aws.String("10.0.1.99"), Primary: aws.Bool(true)}}})
	if aws.ToString(p.PrivateIpAddress) != "10.0.1.99" {
		t.Fatalf("primary via list: %+v", p)
	}
}

func TestENIFiltersAndPaging(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	a := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1a")
	b := createSubnet(t, e.ec2, *v.VpcId, "10.0.2.0/24", "us-east-1c")
	web := eniGroup(t, e.ec2, *v.VpcId, "web")
	var all []string
	for i := 0; i < 7; i++ {
		in := &sdk.CreateNetworkInterfaceInput{SubnetId: a.SubnetId, Description: aws.String("n" + strconv.Itoa(i))}
		if i >= 5 {
			in.SubnetId, in.Groups = b.SubnetId, []string{web}
		}
		all = append(all, aws.ToString(eniCreate(t, e.ec2, in).NetworkInterfaceId))
	}
	slices.Sort(all)
	one := eniDescribe(t, e.ec2, all[0])
	inB := []string{}
	for _, id := range all {
		if aws.ToString(eniDescribe(t, e.ec2, id).SubnetId) == *b.SubnetId {
			inB = append(inB, id)
		}
	}
	for _, c := range []struct {
		f    []types.Filter
		want []string
	}{
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId)}, all},
		{[]types.Filter{eniFilter("subnet-id", *b.SubnetId)}, inB},
		{[]types.Filter{eniFilter("availability-zone", "us-east-1c")}, inB},
		{[]types.Filter{eniFilter("group-id", web)}, inB},
		{[]types.Filter{eniFilter("group-name", "web")}, inB},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("group-name", "default")}, slices.DeleteFunc(slices.Clone(all), func(id string) bool { return slices.Contains(inB, id) })},
		{[]types.Filter{eniFilter("network-interface-id", all[0])}, all[:1]},
		{[]types.Filter{eniFilter("mac-address", aws.ToString(one.MacAddress))}, all[:1]},
		{[]types.Filter{eniFilter("private-ip-address", aws.ToString(one.PrivateIpAddress)), eniFilter("vpc-id", *v.VpcId)}, all[:1]},
		{[]types.Filter{eniFilter("private-dns-name", aws.ToString(one.PrivateDnsName)), eniFilter("vpc-id", *v.VpcId)}, all[:1]},
		{[]types.Filter{eniFilter("description", aws.ToString(one.Description))}, all[:1]},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("description", "n*")}, all},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("status", "available")}, all},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("status", "in-use")}, nil},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("interface-type", "interface")}, all},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("requester-managed", "false")}, all},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("requester-id", "123456789012")}, all},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("owner-id", "123456789012")}, all},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("attachment.status", "attached")}, nil},
		{[]types.Filter{eniFilter("vpc-id", *v.VpcId), eniFilter("association.public-ip", "*")}, nil},
	} {
		out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: c.f})
		if err != nil {
			t.Fatal(err)
		}
		if got := eniIDs(out.NetworkInterfaces); !slices.Equal(got, c.want) {
			t.Fatalf("filter %s=%v: got %v, want %v", aws.ToString(c.f[len(c.f)-1].Name), c.f[len(c.f)-1].Values, got, c.want)
		}
	}
	var paged []types.NetworkInterface
	var next *string
	for pages := 1; ; pages++ {
		out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(5), NextToken: next,
			Filters: []types.Filter{eniFilter("vpc-id", *v.VpcId)}})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, out.NetworkInterfaces...)
		if next = out.NextToken; next == nil {
			if pages != 2 {
				t.Fatalf("%d pages", pages)
			}
			break
		}
	}
	if got := eniIDs(paged); !slices.Equal(got, all) {
		t.Fatalf("paged %v", got)
	}
	_, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(3)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{eniFilter("colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'colour' is invalid")
	_, err = e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
}

func TestENIModifyAndDescribeAttribute(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	g1, g2 := eniGroup(t, e.ec2, *v.VpcId, "one"), eniGroup(t, e.ec2, *v.VpcId, "two")
	foreign := eniGroup(t, e.ec2, *other.VpcId, "three")
	id := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId}).NetworkInterfaceId

	mods := []sdk.ModifyNetworkInterfaceAttributeInput{
		{NetworkInterfaceId: id, Description: &types.AttributeValue{Value: aws.String("changed")}},
		{NetworkInterfaceId: id, SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}},
		{NetworkInterfaceId: id, Groups: []string{g1, g2}},
	}
	for _, m := range mods {
		if _, err := e.ec2.ModifyNetworkInterfaceAttribute(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}
	d := eniDescribe(t, e.ec2, *id)
	if aws.ToString(d.Description) != "changed" || aws.ToBool(d.SourceDestCheck) || len(d.Groups) != 2 ||
		aws.ToString(d.Groups[0].GroupName) != "one" || aws.ToString(d.Groups[1].GroupId) != g2 {
		t.Fatalf("modified: %+v", d)
	}
	for attr, check := range map[types.NetworkInterfaceAttribute]func(*sdk.DescribeNetworkInterfaceAttributeOutput) bool{
		types.NetworkInterfaceAttributeDescription: func(o *sdk.DescribeNetworkInterfaceAttributeOutput) bool {
			return aws.ToString(o.Description.Value) == "changed"
		},
		types.NetworkInterfaceAttributeSourceDestCheck: func(o *sdk.DescribeNetworkInterfaceAttributeOutput) bool { return !aws.ToBool(o.SourceDestCheck.Value) },
		types.NetworkInterfaceAttributeGroupSet: func(o *sdk.DescribeNetworkInterfaceAttributeOutput) bool {
			return len(o.Groups) == 2 && aws.ToString(o.Groups[1].GroupName) == "two"
		},
		types.NetworkInterfaceAttributeAttachment: func(o *sdk.DescribeNetworkInterfaceAttributeOutput) bool { return o.Attachment == nil },
		types.NetworkInterfaceAttributeAssociatePublicIpAddress: func(o *sdk.DescribeNetworkInterfaceAttributeOutput) bool {
			return o.AssociatePublicIpAddress != nil && !*o.AssociatePublicIpAddress
		},
	} {
		out, err := e.ec2.DescribeNetworkInterfaceAttribute(ctx, &sdk.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: id, Attribute: attr})
		if err != nil || aws.ToString(out.NetworkInterfaceId) != *id || !check(out) {
			t.Fatalf("attribute %s: %+v %v", attr, out, err)
		}
	}
	_, err := e.ec2.DescribeNetworkInterfaceAttribute(ctx, &sdk.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: id, Attribute: "colour"})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.DescribeNetworkInterfaceAttribute(ctx, &sdk.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: id})
	wantAPIError(t, err, "MissingParameter", "The request must contain the parameter Attribute")

	_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: id, Groups: []string{foreign}})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: id, Groups: []string{g1},
		Description: &types.AttributeValue{Value: aws.String("x")}})
	wantAPIError(t, err, "InvalidParameterCombination", "Fields for multiple attribute types specified: description, groupSet")
	_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: id})
	wantAPIError(t, err, "InvalidParameterCombination", "")
	_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: id,
		Attachment: &types.NetworkInterfaceAttachmentChanges{AttachmentId: aws.String("eni-attach-0123456789abcdef0"), DeleteOnTermination: aws.Bool(true)}})
	wantAPIError(t, err, "InvalidAttachmentID.NotFound", "")
	_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-0123456789abcdef0"), Groups: []string{g1}})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.NotFound", "")
	_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: id, Groups: []string{g1}, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.DescribeNetworkInterfaceAttribute(ctx, &sdk.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: id,
		Attribute: types.NetworkInterfaceAttributeDescription, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	// A group still used by an interface cannot be deleted.
	_, err = e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: aws.String(g1)})
	wantAPIError(t, err, "DependencyViolation", "")
}

func TestENIAttachDetach(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1a")
	far := createSubnet(t, e.ec2, *v.VpcId, "10.0.2.0/24", "us-east-1b")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	otherSub := createSubnet(t, e.ec2, *other.VpcId, "10.1.1.0/24", "us-east-1a")
	inst := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId})[0]
	iid := aws.ToString(inst.InstanceId)
	eni := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId}).NetworkInterfaceId

	_, err := e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: eni, InstanceId: aws.String(iid),
		DeviceIndex: aws.Int32(1), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	at, err := e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: eni, InstanceId: aws.String(iid), DeviceIndex: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	attID := aws.ToString(at.AttachmentId)
	if !strings.HasPrefix(attID, "eni-attach-") || aws.ToInt32(at.NetworkCardIndex) != 0 {
		t.Fatalf("attach: %+v", at)
	}
	d := eniDescribe(t, e.ec2, *eni)
	if d.Status != types.NetworkInterfaceStatusInUse || d.Attachment == nil || aws.ToString(d.Attachment.AttachmentId) != attID ||
		aws.ToString(d.Attachment.InstanceId) != iid || aws.ToString(d.Attachment.InstanceOwnerId) != "123456789012" ||
		aws.ToInt32(d.Attachment.DeviceIndex) != 1 || d.Attachment.Status != types.AttachmentStatusAttached ||
		aws.ToBool(d.Attachment.DeleteOnTermination) || d.Attachment.AttachTime == nil {
		t.Fatalf("attached: %+v %+v", d, d.Attachment)
	}
	for _, c := range []struct {
		f    types.Filter
		want int
	}{
		{eniFilter("attachment.instance-id", iid), 2},
		{eniFilter("attachment.attachment-id", attID), 1},
		{eniFilter("attachment.device-index", "1"), 1},
		{eniFilter("attachment.instance-owner-id", "123456789012"), 2},
		{eniFilter("status", "in-use"), 2},
	} {
		out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{c.f, eniFilter("vpc-id", *v.VpcId)}})
		if err != nil || len(out.NetworkInterfaces) != c.want {
			t.Fatalf("filter %s: %d %v", aws.ToString(c.f.Name), len(out.NetworkInterfaces), err)
		}
	}
	di := instDescribe(t, e.ec2, iid)
	if len(di.NetworkInterfaces) != 2 || aws.ToInt32(di.NetworkInterfaces[1].Attachment.DeviceIndex) != 1 {
		t.Fatalf("instance interfaces: %+v", di.NetworkInterfaces)
	}
	_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: eni,
		Attachment: &types.NetworkInterfaceAttachmentChanges{AttachmentId: aws.String(attID), DeleteOnTermination: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := eniDescribe(t, e.ec2, *eni); !aws.ToBool(d.Attachment.DeleteOnTermination) {
		t.Fatalf("delete on termination not set: %+v", d.Attachment)
	}
	attr, err := e.ec2.DescribeNetworkInterfaceAttribute(ctx, &sdk.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: eni, Attribute: types.NetworkInterfaceAttributeAttachment})
	if err != nil || aws.ToString(attr.Attachment.AttachmentId) != attID || aws.ToString(attr.Attachment.InstanceId) != iid {
		t.Fatalf("attachment attribute: %+v %v", attr, err)
	}

	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: eni})
	wantAPIError(t, err, "InvalidParameterValue", "Network interface '"+*eni+"' is currently in use.")
	_, err = e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: eni, InstanceId: aws.String(iid), DeviceIndex: aws.Int32(2)})
	wantAPIError(t, err, "InvalidNetworkInterface.InUse", "Interface: ["+*eni+"] in use.")
	second := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId}).NetworkInterfaceId
	_, err = e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: second, InstanceId: aws.String(iid), DeviceIndex: aws.Int32(1)})
	wantAPIError(t, err, "InvalidParameterValue", "Instance '"+iid+"' already has an interface attached at device index '1'.")
	farENI := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: far.SubnetId}).NetworkInterfaceId
	_, err = e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: farENI, InstanceId: aws.String(iid), DeviceIndex: aws.Int32(2)})
	wantAPIError(t, err, "InvalidParameterCombination", "You may not attach a network interface to an instance if they are not in the same availability zone")
	otherENI := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: otherSub.SubnetId}).NetworkInterfaceId
	_, err = e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: otherENI, InstanceId: aws.String(iid), DeviceIndex: aws.Int32(2)})
	wantAPIError(t, err, "InvalidParameterCombination", "")
	_, err = e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: second, InstanceId: aws.String("i-0123456789abcdef0"), DeviceIndex: aws.Int32(2)})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "The instance ID 'i-0123456789abcdef0' does not exist")

	// The primary interface stays; the service's attachments are not the user's.
	primaryAtt := aws.ToString(di.NetworkInterfaces[0].Attachment.AttachmentId)
	_, err = e.ec2.DetachNetworkInterface(ctx, &sdk.DetachNetworkInterfaceInput{AttachmentId: aws.String(primaryAtt)})
	wantAPIError(t, err, "OperationNotPermitted", "The network interface at device index 0 and networkCard index 0 cannot be detached.")
	_, err = e.ec2.DetachNetworkInterface(ctx, &sdk.DetachNetworkInterfaceInput{AttachmentId: aws.String("ela-attach-0123456789abcdef0")})
	wantAPIError(t, err, "OperationNotPermitted", "You are not allowed to manage 'ela-attach' attachments.")
	_, err = e.ec2.DetachNetworkInterface(ctx, &sdk.DetachNetworkInterfaceInput{AttachmentId: aws.String("eni-attach-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidAttachmentID.NotFound", "")
	_, err = e.ec2.DetachNetworkInterface(ctx, &sdk.DetachNetworkInterfaceInput{AttachmentId: aws.String(attID), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	if _, err := e.ec2.DetachNetworkInterface(ctx, &sdk.DetachNetworkInterfaceInput{AttachmentId: aws.String(attID), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if d := eniDescribe(t, e.ec2, *eni); d.Status != types.NetworkInterfaceStatusAvailable || d.Attachment != nil {
		t.Fatalf("detached: %+v", d)
	}
	if _, err := e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: eni}); err != nil {
		t.Fatal(err)
	}
	// Index 1 is free again; a stopped instance takes interfaces too.
	if _, err := e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{iid}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: second, InstanceId: aws.String(iid), DeviceIndex: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	// Termination deletes the interfaces made with the instance and
	// detaches the others.
	if _, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{iid}}); err != nil {
		t.Fatal(err)
	}
	if d := eniDescribe(t, e.ec2, *second); d.Status != types.NetworkInterfaceStatusAvailable {
		t.Fatalf("after terminate: %+v", d)
	}
	_, err = e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: second, InstanceId: aws.String(iid), DeviceIndex: aws.Int32(1)})
	wantAPIError(t, err, "IncorrectInstanceState", "")
}

// Interfaces of NAT gateways, endpoints and Lambda are the services': users
// see them but cannot change, detach or delete them.
func TestENIOfServices(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1a")
	nat, err := e.svc.ENIOfService("123456789012", "us-east-1", *s.SubnetId, "nat_gateway", "nat-0123456789abcdef0",
		"Interface for NAT Gateway nat-0123456789abcdef0", true)
	if err != nil {
		t.Fatal(err)
	}
	lambda, err := e.svc.ENIOfService("123456789012", "us-east-1", *s.SubnetId, "lambda", "lambda", "AWS Lambda VPC ENI-fn", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 249 {
		t.Fatalf("free: %d", got)
	}
	d := eniDescribe(t, e.ec2, lambda)
	if d.InterfaceType != types.NetworkInterfaceTypeLambda || d.Status != types.NetworkInterfaceStatusInUse ||
		aws.ToBool(d.RequesterManaged) || aws.ToString(d.Description) != "AWS Lambda VPC ENI-fn" || d.Attachment == nil ||
		!strings.HasPrefix(aws.ToString(d.Attachment.AttachmentId), "ela-attach-") ||
		aws.ToString(d.Attachment.InstanceOwnerId) != "amazon-aws" || aws.ToInt32(d.Attachment.DeviceIndex) != 1 ||
		d.Attachment.InstanceId != nil || d.Attachment.AttachTime != nil || aws.ToBool(d.Attachment.DeleteOnTermination) ||
		d.Attachment.Status != types.AttachmentStatusAttached || len(d.TagSet) != 0 || len(d.Groups) != 1 {
		t.Fatalf("lambda interface: %+v %+v", d, d.Attachment)
	}
	n := eniDescribe(t, e.ec2, nat)
	if !aws.ToBool(n.RequesterManaged) || aws.ToBool(n.SourceDestCheck) || n.InterfaceType != "nat_gateway" {
		t.Fatalf("nat interface: %+v", n)
	}
	for _, c := range []struct {
		f    types.Filter
		want []string
	}{
		{eniFilter("interface-type", "lambda"), []string{lambda}},
		{eniFilter("interface-type", "nat_gateway"), []string{nat}},
		{eniFilter("requester-managed", "true"), []string{nat}},
		{eniFilter("attachment.instance-owner-id", "amazon-aws"), eniIDs([]types.NetworkInterface{d, n})},
		{eniFilter("description", "AWS Lambda VPC ENI*"), []string{lambda}},
		{eniFilter("requester-id", "AROAEXAMPLEROLEID:*"), eniIDs([]types.NetworkInterface{d, n})},
	} {
		out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{c.f}})
		if err != nil || !slices.Equal(eniIDs(out.NetworkInterfaces), c.want) {
			t.Fatalf("filter %s=%v: %v %v", aws.ToString(c.f.Name), c.f.Values, eniIDs(out.NetworkInterfaces), err)
		}
	}
	g := eniGroup(t, e.ec2, *v.VpcId, "mine")
	inst := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId})[0]
	for _, id := range []string{nat, lambda} {
		_, err := e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(id)})
		wantAPIError(t, err, "InvalidParameterValue", "Network interface '"+id+"' is currently in use.")
		att := eniDescribe(t, e.ec2, id).Attachment.AttachmentId
		_, err = e.ec2.DetachNetworkInterface(ctx, &sdk.DetachNetworkInterfaceInput{AttachmentId: att, Force: aws.Bool(true)})
		wantAPIError(t, err, "OperationNotPermitted", "You are not allowed to manage 'ela-attach' attachments.")
		_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(id), Groups: []string{g}})
		wantAPIError(t, err, "AuthFailure", "You do not have permission to access the specified resource.")
		_, err = e.ec2.ModifyNetworkInterfaceAttribute(ctx, &sdk.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(id),
			Attachment: &types.NetworkInterfaceAttachmentChanges{AttachmentId: att, DeleteOnTermination: aws.Bool(true)}})
		wantAPIError(t, err, "OperationNotPermitted", "You are not allowed to manage 'ela-attach' attachments.")
		_, err = e.ec2.AttachNetworkInterface(ctx, &sdk.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(id), InstanceId: inst.InstanceId, DeviceIndex: aws.Int32(3)})
		wantAPIError(t, err, "AuthFailure", "")
		_, err = e.ec2.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), NetworkInterfaceId: aws.String(id)}}})
		wantAPIError(t, err, "AuthFailure", "")
	}
	// The interfaces keep their subnet and VPC in use.
	_, err = e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "")
	// Once Lambda lets its interface go, the user may delete it; a
	// requester-managed one stays the service's.
	if err := e.svc.ReleaseENIOfService(lambda); err != nil {
		t.Fatal(err)
	}
	if d := eniDescribe(t, e.ec2, lambda); d.Status != types.NetworkInterfaceStatusAvailable {
		t.Fatalf("released: %+v", d)
	}
	if _, err := e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(lambda)}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ReleaseENIOfService(nat); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(nat)})
	wantAPIError(t, err, "AuthFailure", "")
}

// A /28 has 11 addresses for interfaces; the count follows every
// interface, whoever made it.
func TestENISubnetAddressAccounting(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.0.16/28", "us-east-1a")
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 11 {
		t.Fatalf("fresh /28: %d", got)
	}
	var enis []string
	for i := 0; i < 6; i++ {
		enis = append(enis, aws.ToString(eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId}).NetworkInterfaceId))
		if got := eniFree(t, e.ec2, *s.SubnetId); got != int32(10-i) {
			t.Fatalf("after %d interfaces: %d", i+1, got)
		}
	}
	if _, err := e.svc.ENIOfService("123456789012", "us-east-1", *s.SubnetId, "vpc_endpoint", "vpce-0123456789abcdef0", "VPC Endpoint Interface vpce-0123456789abcdef0", true); err != nil {
		t.Fatal(err)
	}
	// Four left: a launch asking for at least five fails whole.
	_, err := e.ec2.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(5), MaxCount: aws.Int32(6), SubnetId: s.SubnetId})
	wantAPIError(t, err, "InsufficientFreeAddressesInSubnet", "")
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 4 {
		t.Fatalf("after failed launch: %d", got)
	}
	// One asking for two to nine gets the four there are.
	insts := instRun(t, e.ec2, &sdk.RunInstancesInput{MinCount: aws.Int32(2), MaxCount: aws.Int32(9), SubnetId: s.SubnetId})
	if len(insts) != 4 || eniFree(t, e.ec2, *s.SubnetId) != 0 {
		t.Fatalf("launched %d, free %d", len(insts), eniFree(t, e.ec2, *s.SubnetId))
	}
	_, err = e.ec2.CreateNetworkInterface(ctx, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId})
	wantAPIError(t, err, "InsufficientFreeAddressesInSubnet", "")
	if _, err := e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(enis[2])}); err != nil {
		t.Fatal(err)
	}
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 1 {
		t.Fatalf("after delete: %d", got)
	}
	// The freed address is the one the next interface gets.
	d := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId})
	if aws.ToString(d.PrivateIpAddress) != "10.0.0.22" {
		t.Fatalf("reused address: %s", aws.ToString(d.PrivateIpAddress))
	}
	var ids []string
	for _, i := range insts {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	if _, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 4 {
		t.Fatalf("after terminate: %d", got)
	}
}
