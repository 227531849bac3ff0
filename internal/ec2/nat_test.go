package ec2_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// natNet is a VPC with a public subnet: an internet gateway attached and
// an Elastic IP to give a NAT gateway.
type natNet struct {
	vpc, subnet, igw, alloc, publicIP string
}

func natPublicSetup(t *testing.T, c *sdk.Client) natNet {
	t.Helper()
	v := createVpc(t, c, "10.0.0.0/16")
	s := createSubnet(t, c, aws.ToString(v.VpcId), "10.0.0.0/24", "us-east-1a")
	igw := igwCreate(t, c)
	igwAttach(t, c, igw, aws.ToString(v.VpcId))
	a, err := c.AllocateAddress(ctx, &sdk.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	return natNet{vpc: aws.ToString(v.VpcId), subnet: aws.ToString(s.SubnetId), igw: igw,
		alloc: aws.ToString(a.AllocationId), publicIP: aws.ToString(a.PublicIp)}
}

func natCreate(t *testing.T, c *sdk.Client, subnet, alloc string) string {
	t.Helper()
	out, err := c.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: aws.String(subnet), AllocationId: aws.String(alloc)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.NatGateway.NatGatewayId)
}

func natGet(t *testing.T, c *sdk.Client, id string) types.NatGateway {
	t.Helper()
	out, err := c.DescribeNatGateways(ctx, &sdk.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if err != nil || len(out.NatGateways) != 1 {
		t.Fatalf("describe %s: %+v %v", id, out, err)
	}
	return out.NatGateways[0]
}

// natWait polls until the gateway is in state (the settle loop moves it in
// the background).
func natWait(t *testing.T, c *sdk.Client, id string, state types.NatGatewayState) types.NatGateway {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := natGet(t, c, id)
		if n.State == state {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s, want %s", id, n.State, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNatGatewayLifecycle(t *testing.T) {
	e := newEnvWith(t, store.NewMemory(), ec2.Options{NatCreateDelay: 300 * time.Millisecond})
	n := natPublicSetup(t, e.ec2)
	_, err := e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String(n.alloc), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	out, err := e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String(n.alloc),
		ClientToken: aws.String("nat-token-1"), PrivateIpAddress: aws.String("10.0.0.100"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNatgateway, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("egress")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	g := out.NatGateway
	nat := aws.ToString(g.NatGatewayId)
	if len(nat) != len("nat-")+17 || g.State != types.NatGatewayStatePending || aws.ToString(g.SubnetId) != n.subnet || aws.ToString(g.VpcId) != n.vpc ||
		g.ConnectivityType != types.ConnectivityTypePublic || aws.ToString(out.ClientToken) != "nat-token-1" || len(g.Tags) != 1 || g.CreateTime == nil {
		t.Fatalf("created: %+v", g)
	}
	if len(g.NatGatewayAddresses) != 1 {
		t.Fatalf("addresses: %+v", g.NatGatewayAddresses)
	}
	addr := g.NatGatewayAddresses[0]
	if aws.ToString(addr.AllocationId) != n.alloc || aws.ToString(addr.PublicIp) != n.publicIP || aws.ToString(addr.PrivateIp) != "10.0.0.100" ||
		!aws.ToBool(addr.IsPrimary) || addr.Status != types.NatGatewayAddressStatusAssociating || aws.ToString(addr.NetworkInterfaceId) == "" {
		t.Fatalf("address: %+v", addr)
	}
	// The same client token gives the same gateway.
	again, err := e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String(n.alloc), ClientToken: aws.String("nat-token-1")})
	if err != nil || aws.ToString(again.NatGateway.NatGatewayId) != nat {
		t.Fatalf("retry: %+v %v", again, err)
	}
	_, err = e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), ConnectivityType: types.ConnectivityTypePrivate, ClientToken: aws.String("nat-token-1")})
	wantAPIError(t, err, "IdempotentParameterMismatch", "")

	// Pending while it is being made, then available.
	if got := natGet(t, e.ec2, nat); got.State != types.NatGatewayStatePending {
		t.Fatalf("right after create: %s", got.State)
	}
	w := sdk.NewNatGatewayAvailableWaiter(e.ec2, func(o *sdk.NatGatewayAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(ctx, &sdk.DescribeNatGatewaysInput{NatGatewayIds: []string{nat}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got := natGet(t, e.ec2, nat)
	if got.State != types.NatGatewayStateAvailable || got.NatGatewayAddresses[0].Status != types.NatGatewayAddressStatusSucceeded ||
		aws.ToString(got.NatGatewayAddresses[0].AssociationId) == "" || got.DeleteTime != nil {
		t.Fatalf("available: %+v", got)
	}
	eni := aws.ToString(got.NatGatewayAddresses[0].NetworkInterfaceId)

	// Its interface is AWS's, with the Elastic IP on it.
	enis, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil || len(enis.NetworkInterfaces) != 1 {
		t.Fatalf("interface: %+v %v", enis, err)
	}
	ni := enis.NetworkInterfaces[0]
	// EC2 sends nat_gateway, though the model's enum spells natGateway.
	if ni.InterfaceType != "nat_gateway" || !aws.ToBool(ni.RequesterManaged) || aws.ToString(ni.RequesterId) != "036872051663" ||
		aws.ToString(ni.Description) != "Interface for NAT Gateway "+nat || aws.ToString(ni.PrivateIpAddress) != "10.0.0.100" ||
		ni.Association == nil || aws.ToString(ni.Association.PublicIp) != n.publicIP || aws.ToBool(ni.SourceDestCheck) {
		t.Fatalf("interface: %+v", ni)
	}
	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(eni)})
	if err == nil {
		t.Fatal("a NAT gateway's interface was deleted by a user")
	}
	addrs, err := e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{AllocationIds: []string{n.alloc}})
	if err != nil || aws.ToString(addrs.Addresses[0].NetworkInterfaceId) != eni || aws.ToString(addrs.Addresses[0].AssociationId) != aws.ToString(got.NatGatewayAddresses[0].AssociationId) {
		t.Fatalf("the Elastic IP: %+v %v", addrs, err)
	}

	for _, c := range []struct {
		f    types.Filter
		want int
	}{
		{rtbFilter("nat-gateway-id", nat), 1},
		{rtbFilter("state", "available"), 1},
		{rtbFilter("state", "pending", "failed"), 0},
		{rtbFilter("subnet-id", n.subnet), 1},
		{rtbFilter("vpc-id", n.vpc), 1},
		{rtbFilter("tag:Name", "egress"), 1},
		{rtbFilter("tag-key", "Nope"), 0},
	} {
		d, err := e.ec2.DescribeNatGateways(ctx, &sdk.DescribeNatGatewaysInput{Filter: []types.Filter{c.f}})
		if err != nil || len(d.NatGateways) != c.want {
			t.Errorf("filter %s=%v: %d, want %d (%v)", *c.f.Name, c.f.Values, len(d.NatGateways), c.want, err)
		}
	}
	_, err = e.ec2.DescribeNatGateways(ctx, &sdk.DescribeNatGatewaysInput{Filter: []types.Filter{rtbFilter("colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'colour' is invalid")

	// A route to it, a subnet and a VPC that cannot go while it is there.
	rt := rtbCreate(t, e.ec2, n.vpc)
	if _, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	// A NAT gateway given as a gateway is recorded as what it is.
	if _, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("192.0.2.0/24"), GatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	table := rtbGet(t, e.ec2, rt)
	for _, dst := range []string{"0.0.0.0/0", "192.0.2.0/24"} {
		if r, _ := rtbRoute(table, dst); aws.ToString(r.NatGatewayId) != nat || r.GatewayId != nil || r.State != types.RouteStateActive {
			t.Fatalf("route to the NAT gateway (%s): %+v", dst, r)
		}
	}
	if n := rtbCount(t, e.ec2, rtbFilter("route.nat-gateway-id", nat)); n != 1 {
		t.Fatalf("nat filter: %d", n)
	}
	_, err = e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: aws.String(n.subnet)})
	wantAPIError(t, err, "DependencyViolation", "")
	_, err = e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: aws.String(n.alloc)})
	wantAPIError(t, err, "AuthFailure", "You do not have permission to access the specified resource.")
	_, err = e.ec2.DisassociateAddress(ctx, &sdk.DisassociateAddressInput{AssociationId: got.NatGatewayAddresses[0].AssociationId})
	wantAPIError(t, err, "AuthFailure", "You do not have permission to access the specified resource.")

	// Deleting: deleting, then deleted; the interface goes and the Elastic
	// IP stays allocated, free.
	_, err = e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(nat), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	del, err := e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(nat)})
	if err != nil || aws.ToString(del.NatGatewayId) != nat {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if got := natGet(t, e.ec2, nat); got.State != types.NatGatewayStateDeleting || got.NatGatewayAddresses[0].Status != types.NatGatewayAddressStatusDisassociating {
		t.Fatalf("deleting: %+v", got)
	}
	if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); r.State != types.RouteStateActive {
		t.Fatalf("route to a deleting gateway: %+v", r)
	}
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("198.18.0.0/15"), NatGatewayId: aws.String(nat)})
	if err != nil {
		t.Fatalf("a route to a deleting gateway: %v", err)
	}
	dw := sdk.NewNatGatewayDeletedWaiter(e.ec2, func(o *sdk.NatGatewayDeletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	if err := dw.Wait(ctx, &sdk.DescribeNatGatewaysInput{NatGatewayIds: []string{nat}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r, _ := rtbRoute(rtbGet(t, e.ec2, rt), "0.0.0.0/0"); r.State != types.RouteStateBlackhole {
		t.Fatalf("route to a deleted gateway: %+v", r)
	}
	gone := natGet(t, e.ec2, nat)
	if gone.DeleteTime == nil || aws.ToString(gone.NatGatewayAddresses[0].AssociationId) != "" || aws.ToString(gone.NatGatewayAddresses[0].PublicIp) != n.publicIP {
		t.Fatalf("deleted: %+v", gone)
	}
	_, err = e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.NotFound", "")
	addrs, err = e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{AllocationIds: []string{n.alloc}})
	if err != nil || addrs.Addresses[0].AssociationId != nil || addrs.Addresses[0].NetworkInterfaceId != nil {
		t.Fatalf("the Elastic IP after: %+v %v", addrs, err)
	}
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("203.0.113.0/24"), NatGatewayId: aws.String(nat)})
	wantAPIError(t, err, "InvalidNatGatewayID.NotFound", "The natGateway ID '"+nat+"' does not exist")
	if _, err := e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatalf("deleting a deleted gateway again: %v", err)
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: aws.String(n.subnet)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.ReleaseAddress(ctx, &sdk.ReleaseAddressInput{AllocationId: aws.String(n.alloc)}); err != nil {
		t.Fatal(err)
	}
}

// natClock is a clock tests move by hand.
type natClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *natClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *natClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// A deleted gateway stays visible for about an hour, then is gone.
func TestNatGatewayForgottenAfterAnHour(t *testing.T) {
	clock := &natClock{at: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newEnvWith(t, store.NewMemory(), ec2.Options{Now: clock.now})
	n := natPublicSetup(t, e.ec2)
	nat := natCreate(t, e.ec2, n.subnet, n.alloc)
	natWait(t, e.ec2, nat, types.NatGatewayStateAvailable)
	if _, err := e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	natWait(t, e.ec2, nat, types.NatGatewayStateDeleted)
	clock.add(59 * time.Minute)
	if _, err := e.ec2.CreateTags(ctx, &sdk.CreateTagsInput{Resources: []string{nat}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	natGet(t, e.ec2, nat)
	clock.add(2 * time.Minute)
	// Any write wakes the settle loop, which finds the hour is over.
	if _, err := e.ec2.CreateInternetGateway(ctx, &sdk.CreateInternetGatewayInput{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := e.ec2.DescribeNatGateways(ctx, &sdk.DescribeNatGatewaysInput{NatGatewayIds: []string{nat}})
		if err != nil {
			wantAPIError(t, err, "NatGatewayNotFound", "")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted gateway is still there after an hour")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(nat)})
	wantAPIError(t, err, "NatGatewayNotFound", "")
}

// Gateways AWS cannot make start pending and fail, with AWS's code and
// message.
func TestNatGatewayFailures(t *testing.T) {
	e := newEnv(t)
	n := natPublicSetup(t, e.ec2)
	first := natCreate(t, e.ec2, n.subnet, n.alloc)
	natWait(t, e.ec2, first, types.NatGatewayStateAvailable)

	// The Elastic IP is the other gateway's.
	taken, err := e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String(n.alloc)})
	if err != nil || taken.NatGateway.State != types.NatGatewayStatePending {
		t.Fatalf("create: %+v %v", taken, err)
	}
	id := aws.ToString(taken.NatGateway.NatGatewayId)
	w := sdk.NewNatGatewayAvailableWaiter(e.ec2, func(o *sdk.NatGatewayAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(ctx, &sdk.DescribeNatGatewaysInput{NatGatewayIds: []string{id}}, 5*time.Second); err == nil {
		t.Fatal("the waiter saw a failed gateway become available")
	}
	f := natWait(t, e.ec2, id, types.NatGatewayStateFailed)
	if aws.ToString(f.FailureCode) != "Resource.AlreadyAssociated" || aws.ToString(f.FailureMessage) != "Elastic IP address ["+n.alloc+"] is already associated" ||
		f.DeleteTime == nil || f.NatGatewayAddresses[0].Status != types.NatGatewayAddressStatusFailed {
		t.Fatalf("failed: %+v", f)
	}
	_, err = e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: rtbMain(t, e.ec2, n.vpc).RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(id)})
	wantAPIError(t, err, "InvalidNatGatewayID.NotFound", "")
	if _, err := e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if got := natGet(t, e.ec2, id); got.State != types.NatGatewayStateDeleted {
		t.Fatalf("deleting a failed gateway: %s", got.State)
	}

	// No internet gateway in the VPC.
	v := createVpc(t, e.ec2, "10.1.0.0/16")
	s := createSubnet(t, e.ec2, aws.ToString(v.VpcId), "10.1.0.0/28", "")
	a, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{})
	if err != nil {
		t.Fatal(err)
	}
	noIGW := natCreate(t, e.ec2, aws.ToString(s.SubnetId), aws.ToString(a.AllocationId))
	f = natWait(t, e.ec2, noIGW, types.NatGatewayStateFailed)
	if aws.ToString(f.FailureCode) != "Gateway.NotAttached" || aws.ToString(f.FailureMessage) != "Network "+aws.ToString(v.VpcId)+" has no Internet gateway attached" {
		t.Fatalf("failed: %+v", f)
	}
	// A failed gateway holds nothing: the subnet and address are free.
	if addrs, _ := e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{AllocationIds: []string{aws.ToString(a.AllocationId)}}); addrs.Addresses[0].AssociationId != nil {
		t.Fatalf("the address of a failed gateway: %+v", addrs.Addresses[0])
	}

	// A full subnet (/28: 11 addresses) has no address for it.
	igwAttach(t, e.ec2, igwCreate(t, e.ec2), aws.ToString(v.VpcId))
	for i := 0; i < 11; i++ {
		if _, err := e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: s.SubnetId, ConnectivityType: types.ConnectivityTypePrivate}); err != nil {
			t.Fatal(err)
		}
	}
	full := natCreate(t, e.ec2, aws.ToString(s.SubnetId), aws.ToString(a.AllocationId))
	f = natWait(t, e.ec2, full, types.NatGatewayStateFailed)
	if aws.ToString(f.FailureCode) != "InsufficientFreeAddressesInSubnet" || aws.ToString(f.FailureMessage) != "Subnet has insufficient free addresses to create this NAT gateway" {
		t.Fatalf("failed: %+v", f)
	}
	_, err = e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "")
}

func TestNatGatewayValidation(t *testing.T) {
	e := newEnv(t)
	n := natPublicSetup(t, e.ec2)
	for _, c := range []struct {
		in   sdk.CreateNatGatewayInput
		code string
		msg  string
	}{
		{sdk.CreateNatGatewayInput{AllocationId: aws.String(n.alloc)}, "MissingParameter", "The request must contain the parameter SubnetId"},
		{sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet)}, "MissingParameter", "The request must contain the parameter AllocationId"},
		{sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String(n.alloc), ConnectivityType: types.ConnectivityTypePrivate}, "InvalidParameterCombination", ""},
		{sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), ConnectivityType: "both"}, "InvalidParameterValue", ""},
		{sdk.CreateNatGatewayInput{SubnetId: aws.String("subnet-0123456789abcdef0"), AllocationId: aws.String(n.alloc)}, "InvalidSubnetID.NotFound", "The subnet ID 'subnet-0123456789abcdef0' does not exist"},
		{sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String("eipalloc-0123456789abcdef0")}, "InvalidAllocationID.NotFound", "The allocation ID 'eipalloc-0123456789abcdef0' does not exist"},
		{sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String(n.alloc), PrivateIpAddress: aws.String("10.0.0.1")}, "InvalidParameterValue", ""},
		{sdk.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: aws.String(n.alloc), TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}}, "InvalidParameterValue", ""},
		{sdk.CreateNatGatewayInput{VpcId: aws.String(n.vpc), AvailabilityMode: types.AvailabilityModeRegional}, "InvalidParameterValue", ""},
	} {
		in := c.in
		_, err := e.ec2.CreateNatGateway(ctx, &in)
		wantAPIError(t, err, c.code, c.msg)
	}
	_, err := e.ec2.DescribeNatGateways(ctx, &sdk.DescribeNatGatewaysInput{NatGatewayIds: []string{"nat-0123456789abcdef0"}})
	wantAPIError(t, err, "NatGatewayNotFound", "The Nat Gateway nat-0123456789abcdef0 was not found")
	_, err = e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String("nat-0123456789abcdef0")})
	wantAPIError(t, err, "NatGatewayNotFound", "")
	_, err = e.ec2.DescribeNatGateways(ctx, &sdk.DescribeNatGatewaysInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
}

// A private NAT gateway has an address of its subnet and no Elastic IP.
func TestPrivateNatGatewayAndPaging(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, aws.ToString(v.VpcId), "10.0.0.0/24", "")
	var ids []string
	for i := 0; i < 6; i++ {
		out, err := e.ec2.CreateNatGateway(ctx, &sdk.CreateNatGatewayInput{SubnetId: s.SubnetId, ConnectivityType: types.ConnectivityTypePrivate,
			PrivateIpAddress: aws.String("10.0.0." + strconv.Itoa(10+i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.NatGateway.NatGatewayId))
		if a := out.NatGateway.NatGatewayAddresses[0]; a.AllocationId != nil || a.PublicIp != nil || a.Status != types.NatGatewayAddressStatusAssigning {
			t.Fatalf("private address: %+v", a)
		}
	}
	got := natWait(t, e.ec2, ids[0], types.NatGatewayStateAvailable)
	if got.ConnectivityType != types.ConnectivityTypePrivate || aws.ToString(got.NatGatewayAddresses[0].PrivateIp) != "10.0.0.10" {
		t.Fatalf("private: %+v", got)
	}
	subs, err := e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(s.SubnetId)}})
	if err != nil || aws.ToInt32(subs.Subnets[0].AvailableIpAddressCount) != 251-6 {
		t.Fatalf("addresses left: %+v %v", subs, err)
	}
	seen := 0
	p := sdk.NewDescribeNatGatewaysPaginator(e.ec2, &sdk.DescribeNatGatewaysInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(out.NatGateways)
	}
	if seen != 6 {
		t.Fatalf("paged %d gateways", seen)
	}
	_, err = e.ec2.DescribeNatGateways(ctx, &sdk.DescribeNatGatewaysInput{MaxResults: aws.Int32(1001)})
	wantAPIError(t, err, "InvalidParameterValue", "")
}
