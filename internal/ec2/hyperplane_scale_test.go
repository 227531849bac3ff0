package ec2_test

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

func lambdaInterfaces(t *testing.T, e *env, subnet string) []types.NetworkInterface {
	t.Helper()
	out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		{Name: aws.String("interface-type"), Values: []string{"lambda"}}, {Name: aws.String("subnet-id"), Values: []string{subnet}}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.NetworkInterfaces
}

func lambdaIDs(enis []ec2.LambdaENI) []string {
	var ids []string
	for _, e := range enis {
		ids = append(ids, e.ID)
	}
	return ids
}

// A combination whose interfaces are busy gets more, which live and go
// with the combination's holders like the first.
func TestAddLambdaENI(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnvWith(t, store.NewMemory(), ec2.Options{Now: clock, EniDeleteDelay: 20 * time.Minute})
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	a := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	b := createSubnet(t, e.ec2, *v.VpcId, "10.0.2.0/28", "")
	g1, g2 := hpGroup(t, e, *v.VpcId, "one"), hpGroup(t, e, *v.VpcId, "two")
	subnets := []string{*a.SubnetId, *b.SubnetId}

	if _, err := e.svc.AddLambdaENI(hpAcct, hpRegion, *a.SubnetId, []string{g1, g2}); err == nil {
		t.Fatal("added an interface to a combination no function uses")
	}
	first, err := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn1:$LATEST", "AROAEXAMPLE:fn1", "fn1", subnets, []string{g1, g2})
	if err != nil || len(first) != 2 {
		t.Fatalf("%v %v", first, err)
	}
	tick(time.Second)
	// Groups in another order are the same combination.
	extra, err := e.svc.AddLambdaENI(hpAcct, hpRegion, *a.SubnetId, []string{g2, g1})
	if err != nil {
		t.Fatal(err)
	}
	if extra.ID == first[0].ID || extra.SubnetID != *a.SubnetId || extra.PrivateIP == first[0].PrivateIP ||
		!netip.MustParsePrefix("10.0.1.0/24").Contains(netip.MustParseAddr(extra.PrivateIP)) {
		t.Fatalf("added %+v next to %+v", extra, first[0])
	}
	inA := lambdaInterfaces(t, e, *a.SubnetId)
	if len(inA) != 2 {
		t.Fatalf("%d Lambda interfaces in the subnet, want 2", len(inA))
	}
	for _, n := range inA {
		var groups []string
		for _, g := range n.Groups {
			groups = append(groups, aws.ToString(g.GroupId))
		}
		slices.Sort(groups)
		want := []string{g1, g2}
		slices.Sort(want)
		if n.Status != types.NetworkInterfaceStatusInUse || aws.ToString(n.Attachment.InstanceOwnerId) != "amazon-aws" ||
			!aws.ToBool(n.RequesterManaged) || aws.ToString(n.Description) != "AWS Lambda VPC ENI-fn1" ||
			aws.ToString(n.RequesterId) != "AROAEXAMPLE:fn1" || !slices.Equal(groups, want) {
			t.Fatalf("interface %+v", n)
		}
	}
	if got := lambdaIDs(e.svc.LambdaENIsOf(hpAcct, hpRegion, "fn1:$LATEST")); len(got) != 3 || got[2] != extra.ID ||
		!slices.Contains(got, first[0].ID) || !slices.Contains(got, first[1].ID) {
		t.Fatalf("fn1 holds %v, want the first two then the added one", got)
	}
	// Another function on the combination shares all of them.
	second, err := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn2:$LATEST", "AROAEXAMPLE:fn2", "fn2", subnets, []string{g1, g2})
	if err != nil || !slices.Equal(lambdaIDs(second), []string{first[0].ID, extra.ID, first[1].ID}) {
		t.Fatalf("fn2 got %v, %v", lambdaIDs(second), err)
	}
	// Another group set is another combination: nothing added to it.
	if _, err := e.svc.AddLambdaENI(hpAcct, hpRegion, *a.SubnetId, []string{g1}); err == nil {
		t.Fatal("added an interface to a combination nobody uses")
	}

	// The last holder leaving starts the delete delay for all of them;
	// until it ends the subnet cannot go, and coming back revives them all.
	e.svc.ReleaseLambdaENIs(hpAcct, hpRegion, "fn1:$LATEST")
	if got := e.svc.LambdaENIsOf(hpAcct, hpRegion, "fn2:$LATEST"); len(got) != 3 {
		t.Fatalf("fn2 holds %d interfaces after fn1 left", len(got))
	}
	e.svc.ReleaseLambdaENIs(hpAcct, hpRegion, "fn2:$LATEST")
	for _, n := range lambdaInterfaces(t, e, *a.SubnetId) {
		if n.Status != types.NetworkInterfaceStatusAvailable {
			t.Fatalf("released interface %s is %s", aws.ToString(n.NetworkInterfaceId), n.Status)
		}
	}
	if _, err := e.svc.AddLambdaENI(hpAcct, hpRegion, *a.SubnetId, []string{g1, g2}); err == nil {
		t.Fatal("added an interface nobody would hold")
	}
	_, err = e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: a.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "")
	back, err := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn2:1", "AROAEXAMPLE:fn2", "fn2", subnets[:1], []string{g1, g2})
	if err != nil || !slices.Equal(lambdaIDs(back), []string{first[0].ID, extra.ID}) {
		t.Fatalf("coming back got %v, %v", lambdaIDs(back), err)
	}
	for _, n := range lambdaInterfaces(t, e, *a.SubnetId) {
		if n.Status != types.NetworkInterfaceStatusInUse {
			t.Fatalf("revived interface %s is %s", aws.ToString(n.NetworkInterfaceId), n.Status)
		}
	}
	e.svc.ReleaseLambdaENIs(hpAcct, hpRegion, "fn2:1")
	tick(21 * time.Minute)
	e.svc.Settle()
	if left := lambdaInterfaces(t, e, *a.SubnetId); len(left) != 0 {
		t.Fatalf("%d interfaces left after the delete delay", len(left))
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: a.SubnetId}); err != nil {
		t.Fatal(err)
	}
}

// More interfaces follow the rules of the first: an address from the
// subnet, and the VPC's quota of interfaces.
func TestAddLambdaENILimits(t *testing.T) {
	e := newEnvWith(t, store.NewMemory(), ec2.Options{})
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	small := createSubnet(t, e.ec2, *v.VpcId, "10.0.2.0/28", "")
	big := createSubnet(t, e.ec2, *v.VpcId, "10.0.4.0/23", "")
	g := hpGroup(t, e, *v.VpcId, "fn")
	if _, err := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn:$LATEST", "AROAEXAMPLE:fn", "fn", []string{*small.SubnetId, *big.SubnetId}, []string{g}); err != nil {
		t.Fatal(err)
	}
	// A /28 has 11 addresses: the Lambda interface has one, the last one
	// goes to an added interface, and then there are none.
	for range 9 {
		if _, err := e.ec2.CreateNetworkInterface(ctx, &sdk.CreateNetworkInterfaceInput{SubnetId: small.SubnetId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.AddLambdaENI(hpAcct, hpRegion, *small.SubnetId, []string{g}); err != nil {
		t.Fatalf("the subnet's last address: %v", err)
	}
	var ee *ec2.ENIError
	_, err := e.svc.AddLambdaENI(hpAcct, hpRegion, *small.SubnetId, []string{g})
	if !errors.As(err, &ee) || ee.Reason != "SubnetOutOfIPAddresses" || ee.Message != "The subnet "+*small.SubnetId+" is out of IP addresses." {
		t.Fatalf("full subnet: %v", err)
	}
	// The VPC holds 1+1+9+1 interfaces; fill it to the quota of 250.
	for range 250 - 12 {
		if _, err := e.ec2.CreateNetworkInterface(ctx, &sdk.CreateNetworkInterfaceInput{SubnetId: big.SubnetId}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.AddLambdaENI(hpAcct, hpRegion, *big.SubnetId, []string{g})
	if !errors.As(err, &ee) || ee.Reason != "EniLimitExceeded" {
		t.Fatalf("VPC at its quota of interfaces: %v", err)
	}
	if n := len(lambdaInterfaces(t, e, *big.SubnetId)); n != 1 {
		t.Fatalf("%d Lambda interfaces in the big subnet, want 1", n)
	}
}
