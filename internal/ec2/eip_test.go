package ec2_test

import (
	"net/netip"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// eipInstance is an instance with its primary interface.
type eipInstance struct{ id, eni string }

func eipRunInstance(t *testing.T, c *sdk.Client, subnet string) eipInstance {
	t.Helper()
	out, err := c.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	enis, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{rtbFilter("attachment.instance-id", id)}})
	if err != nil || len(enis.NetworkInterfaces) != 1 {
		t.Fatalf("interface of %s: %+v %v", id, enis, err)
	}
	return eipInstance{id: id, eni: aws.ToString(enis.NetworkInterfaces[0].NetworkInterfaceId)}
}

func eipGet(t *testing.T, c *sdk.Client, alloc string) types.Address {
	t.Helper()
	out, err := c.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{AllocationIds: []string{alloc}})
	if err != nil || len(out.Addresses) != 1 {
		t.Fatalf("describe %s: %+v %v", alloc, out, err)
	}
	return out.Addresses[0]
}

// eipPublicIPOf is the public address an interface shows.
func eipPublicIPOf(t *testing.T, c *sdk.Client, eni string) string {
	t.Helper()
	out, err := c.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil || len(out.NetworkInterfaces) != 1 {
		t.Fatalf("describe %s: %+v %v", eni, out, err)
	}
	if a := out.NetworkInterfaces[0].Association; a != nil {
		return aws.ToString(a.PublicIp)
	}
	return ""
}

func TestElasticIPAllocation(t *testing.T) {
	e := newEnv(t)
	a, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	ip, perr := netip.ParseAddr(aws.ToString(a.PublicIp))
	if perr != nil || !netip.MustParsePrefix("198.51.100.0/24").Contains(ip) || a.Domain != types.DomainTypeVpc ||
		aws.ToString(a.PublicIpv4Pool) != "amazon" || aws.ToString(a.NetworkBorderGroup) != "us-east-1" || len(aws.ToString(a.AllocationId)) != len("eipalloc-")+17 {
		t.Fatalf("allocated: %+v", a)
	}
	b, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{TagSpecifications: []types.TagSpecification{
		{ResourceType: types.ResourceTypeElasticIp, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("nat")}}}}})
	if err != nil || aws.ToString(b.PublicIp) == aws.ToString(a.PublicIp) {
		t.Fatalf("second: %+v %v", b, err)
	}
	// Public addresses are unique everywhere.
	west, err := e.clientIn("us-west-2", "test", "test", "").AllocateAddress(ctx, &sdk.AllocateAddressInput{})
	if err != nil || aws.ToString(west.PublicIp) == aws.ToString(a.PublicIp) || aws.ToString(west.PublicIp) == aws.ToString(b.PublicIp) ||
		aws.ToString(west.NetworkBorderGroup) != "us-west-2" {
		t.Fatalf("us-west-2: %+v %v", west, err)
	}

	for _, c := range []struct {
		in   sdk.AllocateAddressInput
		code string
	}{
		{sdk.AllocateAddressInput{Domain: types.DomainTypeStandard}, "InvalidParameterValue"},
		{sdk.AllocateAddressInput{PublicIpv4Pool: aws.String("ipv4pool-ec2-0123456789abcdef0")}, "InvalidPublicIpv4PoolID.NotFound"},
		{sdk.AllocateAddressInput{NetworkBorderGroup: aws.String("us-west-2")}, "InvalidParameterValue"},
		{sdk.AllocateAddressInput{Address: a.PublicIp}, "InvalidAddress.NotFound"},
		{sdk.AllocateAddressInput{Address: aws.String("192.0.2.1")}, "InvalidAddress.NotFound"},
		{sdk.AllocateAddressInput{TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}}, "InvalidParameterValue"},
		{sdk.AllocateAddressInput{DryRun: aws.Bool(true)}, "DryRunOperation"},
	} {
		in := c.in
		_, err := e.ec2.AllocateAddress(ctx, &in)
		wantAPIError(t, err, c.code, "")
	}

	got := eipGet(t, e.ec2, aws.ToString(b.AllocationId))
	if aws.ToString(got.PublicIp) != aws.ToString(b.PublicIp) || got.Domain != types.DomainTypeVpc || len(got.Tags) != 1 ||
		got.AssociationId != nil || aws.ToString(got.PublicIpv4Pool) != "amazon" || aws.ToString(got.NetworkBorderGroup) != "us-east-1" {
		t.Fatalf("described: %+v", got)
	}
	count := func(in *sdk.DescribeAddressesInput) int {
		t.Helper()
		out, err := e.ec2.DescribeAddresses(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Addresses)
	}
	for _, c := range []struct {
		in   sdk.DescribeAddressesInput
		want int
	}{
		{sdk.DescribeAddressesInput{}, 2},
		{sdk.DescribeAddressesInput{PublicIps: []string{aws.ToString(a.PublicIp)}}, 1},
		{sdk.DescribeAddressesInput{PublicIps: []string{aws.ToString(a.PublicIp)}, AllocationIds: []string{aws.ToString(b.AllocationId)}}, 2},
		{sdk.DescribeAddressesInput{PublicIps: []string{aws.ToString(a.PublicIp)}, AllocationIds: []string{aws.ToString(a.AllocationId)}}, 1},
		{sdk.DescribeAddressesInput{Filters: []types.Filter{rtbFilter("domain", "vpc")}}, 2},
		{sdk.DescribeAddressesInput{Filters: []types.Filter{rtbFilter("public-ip", aws.ToString(b.PublicIp))}}, 1},
		{sdk.DescribeAddressesInput{Filters: []types.Filter{rtbFilter("allocation-id", aws.ToString(a.AllocationId))}}, 1},
		{sdk.DescribeAddressesInput{Filters: []types.Filter{rtbFilter("tag:Name", "nat")}}, 1},
		{sdk.DescribeAddressesInput{Filters: []types.Filter{rtbFilter("network-border-group", "us-east-1")}}, 2},
		{sdk.DescribeAddressesInput{Filters: []types.Filter{rtbFilter("association-id", "*")}}, 0},
		{sdk.DescribeAddressesInput{PublicIps: []string{aws.ToString(a.PublicIp)}, Filters: []types.Filter{rtbFilter("tag:Name", "nat")}}, 0},
	} {
		in := c.in
		if n := count(&in); n != c.want {
			t.Errorf("%+v: %d addresses, want %d", c.in, n, c.want)
		}
	}
	_, err = e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{AllocationIds: []string{"eipalloc-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidAllocationID.NotFound", "The allocation ID 'eipalloc-0123456789abcdef0' does not exist")
	_, err = e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{PublicIps: []string{"192.0.2.1"}})
	wantAPIError(t, err, "InvalidAddress.NotFound", "Address '192.0.2.1' not found.")
	_, err = e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{Filters: []types.Filter{rtbFilter("colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'colour' is invalid")
	_, err = e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")

	_, err = e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: a.AllocationId, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: a.AllocationId, NetworkBorderGroup: aws.String("us-west-2")})
	wantAPIError(t, err, "InvalidAddress.NotFound", "")
	if _, err := e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: a.AllocationId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: a.AllocationId})
	wantAPIError(t, err, "InvalidAllocationID.NotFound", "")
	_, err = e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{})
	wantAPIError(t, err, "MissingParameter", "")
	if n := count(&sdk.DescribeAddressesInput{}); n != 1 {
		t.Fatalf("after release: %d", n)
	}
	// A released address can be taken back while it is free.
	back, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{Address: a.PublicIp})
	if err != nil || aws.ToString(back.PublicIp) != aws.ToString(a.PublicIp) || aws.ToString(back.AllocationId) == aws.ToString(a.AllocationId) {
		t.Fatalf("recovered: %+v %v", back, err)
	}
	// Release by the (deprecated) public address.
	if _, err := e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{PublicIp: back.PublicIp}); err != nil {
		t.Fatal(err)
	}
}

func TestElasticIPAssociation(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	s := createSubnet(t, e.ec2, vpc, "10.0.1.0/24", "")
	one := eipRunInstance(t, e.ec2, aws.ToString(s.SubnetId))
	two := eipRunInstance(t, e.ec2, aws.ToString(s.SubnetId))
	a, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{})
	if err != nil {
		t.Fatal(err)
	}
	alloc := aws.ToString(a.AllocationId)

	_, err = e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String(one.id)})
	wantAPIError(t, err, "Gateway.NotAttached", "Network "+vpc+" is not attached to any internet gateway")
	igw := igwCreate(t, e.ec2)
	igwAttach(t, e.ec2, igw, vpc)

	for _, c := range []struct {
		in   sdk.AssociateAddressInput
		code string
	}{
		{sdk.AssociateAddressInput{InstanceId: aws.String(one.id)}, "MissingParameter"},
		{sdk.AssociateAddressInput{AllocationId: aws.String(alloc)}, "MissingParameter"},
		{sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String(one.id), NetworkInterfaceId: aws.String(one.eni)}, "InvalidParameterCombination"},
		{sdk.AssociateAddressInput{AllocationId: aws.String("eipalloc-0123456789abcdef0"), InstanceId: aws.String(one.id)}, "InvalidAllocationID.NotFound"},
		{sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String("i-0123456789abcdef0")}, "InvalidInstanceID.NotFound"},
		{sdk.AssociateAddressInput{AllocationId: aws.String(alloc), NetworkInterfaceId: aws.String("eni-0123456789abcdef0")}, "InvalidNetworkInterfaceID.NotFound"},
		{sdk.AssociateAddressInput{AllocationId: aws.String(alloc), NetworkInterfaceId: aws.String(one.eni), PrivateIpAddress: aws.String("10.0.1.200")}, "InvalidParameterValue"},
		{sdk.AssociateAddressInput{PublicIp: aws.String("192.0.2.1"), InstanceId: aws.String(one.id)}, "AuthFailure"},
		{sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String(one.id), DryRun: aws.Bool(true)}, "DryRunOperation"},
	} {
		in := c.in
		_, err := e.ec2.AssociateAddress(ctx, &in)
		wantAPIError(t, err, c.code, "")
	}

	assoc, err := e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String(one.id)})
	if err != nil || len(aws.ToString(assoc.AssociationId)) != len("eipassoc-")+17 {
		t.Fatalf("associate: %+v %v", assoc, err)
	}
	got := eipGet(t, e.ec2, alloc)
	if aws.ToString(got.AssociationId) != aws.ToString(assoc.AssociationId) || aws.ToString(got.InstanceId) != one.id ||
		aws.ToString(got.NetworkInterfaceId) != one.eni || aws.ToString(got.NetworkInterfaceOwnerId) != "123456789012" ||
		aws.ToString(got.PrivateIpAddress) == "" {
		t.Fatalf("associated: %+v", got)
	}
	if ip := eipPublicIPOf(t, e.ec2, one.eni); ip != aws.ToString(a.PublicIp) {
		t.Fatalf("the interface shows %q", ip)
	}
	for _, f := range []types.Filter{
		rtbFilter("instance-id", one.id), rtbFilter("association-id", aws.ToString(assoc.AssociationId)),
		rtbFilter("network-interface-id", one.eni), rtbFilter("private-ip-address", aws.ToString(got.PrivateIpAddress)),
		rtbFilter("network-interface-owner-id", "123456789012"),
	} {
		out, err := e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{Filters: []types.Filter{f}})
		if err != nil || len(out.Addresses) != 1 {
			t.Errorf("filter %s: %+v %v", *f.Name, out, err)
		}
	}
	// Associating again where it already is changes nothing.
	same, err := e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: aws.String(alloc), NetworkInterfaceId: aws.String(one.eni)})
	if err != nil || aws.ToString(same.AssociationId) != aws.ToString(assoc.AssociationId) {
		t.Fatalf("again: %+v %v", same, err)
	}

	// Moving it: refused when reassociation is turned off, done otherwise.
	_, err = e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String(two.id), AllowReassociation: aws.Bool(false)})
	wantAPIError(t, err, "Resource.AlreadyAssociated", "resource "+alloc+" is already associated with associate-id "+aws.ToString(assoc.AssociationId))
	moved, err := e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String(two.id)})
	if err != nil || aws.ToString(moved.AssociationId) == aws.ToString(assoc.AssociationId) {
		t.Fatalf("reassociate: %+v %v", moved, err)
	}
	if ip := eipPublicIPOf(t, e.ec2, one.eni); ip != "" {
		t.Fatalf("the first interface kept %q", ip)
	}
	if got := eipGet(t, e.ec2, alloc); aws.ToString(got.InstanceId) != two.id || aws.ToString(got.NetworkInterfaceId) != two.eni {
		t.Fatalf("moved: %+v", got)
	}

	// A second address on the same interface replaces the first.
	b, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: b.AllocationId, NetworkInterfaceId: aws.String(two.eni)}); err != nil {
		t.Fatal(err)
	}
	if got := eipGet(t, e.ec2, alloc); got.AssociationId != nil || got.InstanceId != nil {
		t.Fatalf("the replaced address: %+v", got)
	}
	if ip := eipPublicIPOf(t, e.ec2, two.eni); ip != aws.ToString(b.PublicIp) {
		t.Fatalf("the interface shows %q", ip)
	}

	_, err = e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: b.AllocationId})
	wantAPIError(t, err, "InvalidIPAddress.InUse", "Address "+aws.ToString(b.PublicIp)+" is in use.")
	_, err = e.ec2.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: aws.String(vpc)})
	wantAPIError(t, err, "DependencyViolation", "Network "+vpc+" has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.")

	bAssoc := eipGet(t, e.ec2, aws.ToString(b.AllocationId)).AssociationId
	_, err = e.ec2.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{AssociationId: bAssoc, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	if _, err := e.ec2.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{AssociationId: bAssoc}); err != nil {
		t.Fatal(err)
	}
	if ip := eipPublicIPOf(t, e.ec2, two.eni); ip != "" {
		t.Fatalf("after disassociate the interface shows %q", ip)
	}
	_, err = e.ec2.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{AssociationId: bAssoc})
	wantAPIError(t, err, "InvalidAssociationID.NotFound", "The association ID '"+aws.ToString(bAssoc)+"' does not exist")
	_, err = e.ec2.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{})
	wantAPIError(t, err, "MissingParameter", "")
	// By the (deprecated) public address, an address with no association
	// is left as it is.
	if _, err := e.ec2.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{PublicIp: b.PublicIp}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: b.AllocationId}); err != nil {
		t.Fatal(err)
	}
	igwDetach(t, e.ec2, igw, vpc)

	// An instance that goes takes its association with it; the address
	// stays allocated.
	igwAttach(t, e.ec2, igw, vpc)
	if _, err := e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: aws.String(alloc), InstanceId: aws.String(one.id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{one.id}}); err != nil {
		t.Fatal(err)
	}
	if got := eipGet(t, e.ec2, alloc); got.AssociationId != nil || got.NetworkInterfaceId != nil {
		t.Fatalf("after terminate: %+v", got)
	}
}

// A NAT gateway's interface and Elastic IP are the gateway's.
func TestElasticIPOfNatGateway(t *testing.T) {
	e := newEnv(t)
	n := natPublicSetup(t, e.ec2)
	nat := natWait(t, e.ec2, natCreate(t, e.ec2, n.subnet, n.alloc), types.NatGatewayStateAvailable)
	eni := aws.ToString(nat.NatGatewayAddresses[0].NetworkInterfaceId)
	other, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: other.AllocationId, NetworkInterfaceId: aws.String(eni)})
	wantAPIError(t, err, "AuthFailure", "You do not have permission to access the specified resource.")
	inst := eipRunInstance(t, e.ec2, n.subnet)
	_, err = e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: aws.String(n.alloc), InstanceId: aws.String(inst.id)})
	wantAPIError(t, err, "Resource.AlreadyAssociated", "")
	if got := eipGet(t, e.ec2, n.alloc); aws.ToString(got.NetworkInterfaceId) != eni || got.InstanceId != nil {
		t.Fatalf("the gateway's address: %+v", got)
	}
}
