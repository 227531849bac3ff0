package ec2_test

import (
	"errors"
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

const hpAcct, hpRegion = "123456789012", "us-east-1"

func hpGroup(t *testing.T, e *env, vpc, name string) string {
	t.Helper()
	out, err := e.ec2.CreateSecurityGroup(ctx, &sdk.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String(name), Description: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.GroupId
}

func TestResolveLambdaVpc(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	a := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	b := createSubnet(t, e.ec2, *v.VpcId, "10.0.2.0/28", "")
	x := createSubnet(t, e.ec2, *other.VpcId, "10.1.1.0/24", "")
	g := hpGroup(t, e, *v.VpcId, "fn")
	gx := hpGroup(t, e, *other.VpcId, "fn")

	vpc, err := e.svc.ResolveLambdaVpc(hpAcct, hpRegion, []string{*a.SubnetId, *b.SubnetId}, []string{g})
	if err != nil || vpc != *v.VpcId {
		t.Fatalf("%s %v", vpc, err)
	}
	var ce *ec2.VpcConfigError
	_, err = e.svc.ResolveLambdaVpc(hpAcct, hpRegion, []string{"subnet-0000000000000000a"}, []string{"sg-0000000000000000b"})
	if !errors.As(err, &ce) || err.Error() != "Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. EC2 Error Message: The security group 'sg-0000000000000000b' does not exist" {
		t.Fatalf("groups are checked first: %v", err)
	}
	_, err = e.svc.ResolveLambdaVpc(hpAcct, hpRegion, []string{"subnet-0000000000000000a"}, []string{g})
	if err == nil || err.Error() != "Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. EC2 Error Message: The subnet ID 'subnet-0000000000000000a' does not exist" {
		t.Fatalf("subnet: %v", err)
	}
	var p *ec2.VpcConfigProblem
	if _, err = e.svc.ResolveLambdaVpc(hpAcct, hpRegion, []string{*a.SubnetId}, []string{gx}); !errors.As(err, &p) || p.Message != "Security Groups are required to be in the same VPC." {
		t.Fatalf("groups elsewhere: %v", err)
	}
	if _, err = e.svc.ResolveLambdaVpc(hpAcct, hpRegion, []string{*a.SubnetId, *x.SubnetId}, []string{g}); !errors.As(err, &p) {
		t.Fatalf("subnets in two VPCs: %v", err)
	}
	ded, _ := e.ec2.CreateVpc(ctx, &sdk.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16"), InstanceTenancy: types.TenancyDedicated})
	ds := createSubnet(t, e.ec2, *ded.Vpc.VpcId, "10.2.0.0/24", "")
	dg := hpGroup(t, e, *ded.Vpc.VpcId, "fn")
	if _, err = e.svc.ResolveLambdaVpc(hpAcct, hpRegion, []string{*ds.SubnetId}, []string{dg}); !errors.As(err, &p) || !strings.Contains(p.Message, "dedicated") {
		t.Fatalf("dedicated tenancy: %v", err)
	}
	// A full subnet is refused, unless the combination already has its interface there.
	for i := 0; i < 11; i++ {
		if _, err := e.ec2.CreateNetworkInterface(ctx, &sdk.CreateNetworkInterfaceInput{SubnetId: b.SubnetId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err = e.svc.ResolveLambdaVpc(hpAcct, hpRegion, []string{*b.SubnetId}, []string{g}); !errors.As(err, &p) || p.Message != "The subnet "+*b.SubnetId+" is out of IP addresses." {
		t.Fatalf("full subnet: %v", err)
	}
}

func TestLambdaENIsShareAndRelease(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnvWith(t, store.NewMemory(), ec2.Options{Now: clock, EniDeleteDelay: 20 * time.Minute})
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	a := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	b := createSubnet(t, e.ec2, *v.VpcId, "10.0.2.0/24", "")
	g1, g2 := hpGroup(t, e, *v.VpcId, "one"), hpGroup(t, e, *v.VpcId, "two")
	subnets := []string{*a.SubnetId, *b.SubnetId}

	first, err := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn1:$LATEST", "AROAEXAMPLE:fn1", "fn1", subnets, []string{g1, g2})
	if err != nil || len(first) != 2 {
		t.Fatalf("%v %v", first, err)
	}
	// Same combination (groups in another order): the same interfaces.
	second, err := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn2:$LATEST", "AROAEXAMPLE:fn2", "fn2", subnets, []string{g2, g1})
	if err != nil || second[0].ID != first[0].ID || second[1].ID != first[1].ID {
		t.Fatalf("not shared: %v %v", second, err)
	}
	// Another group set: new interfaces.
	third, _ := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn3:$LATEST", "AROAEXAMPLE:fn3", "fn3", subnets[:1], []string{g1})
	if third[0].ID == first[0].ID {
		t.Fatal("different group set shares an interface")
	}
	out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("interface-type"), Values: []string{"lambda"}}}})
	if err != nil || len(out.NetworkInterfaces) != 3 {
		t.Fatalf("%d lambda interfaces, %v", len(out.NetworkInterfaces), err)
	}
	for _, n := range out.NetworkInterfaces {
		if n.Status != types.NetworkInterfaceStatusInUse || !strings.HasPrefix(aws.ToString(n.Attachment.AttachmentId), "ela-attach-") ||
			aws.ToString(n.Attachment.InstanceOwnerId) != "amazon-aws" || !aws.ToBool(n.RequesterManaged) ||
			!strings.HasPrefix(aws.ToString(n.Description), "AWS Lambda VPC ENI-fn") || len(n.TagSet) != 0 {
			t.Fatalf("interface %+v", n)
		}
	}
	// Users may neither delete nor detach them, nor delete what they use.
	_, err = e.ec2.DeleteNetworkInterface(ctx, &sdk.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(first[0].ID)})
	wantAPIError(t, err, "InvalidParameterValue", "Network interface '"+first[0].ID+"' is currently in use.")
	_, err = e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: a.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "")
	_, err = e.ec2.DeleteSecurityGroup(ctx, &sdk.DeleteSecurityGroupInput{GroupId: aws.String(g2)})
	wantAPIError(t, err, "DependencyViolation", "")

	// One holder leaving keeps the interface; the last one starts the delay.
	if err := e.svc.ReleaseLambdaENIs(hpAcct, hpRegion, "fn1:$LATEST"); err != nil {
		t.Fatal(err)
	}
	if got := e.svc.LambdaENIsOf(hpAcct, hpRegion, "fn2:$LATEST"); len(got) != 2 {
		t.Fatalf("fn2 lost its interfaces: %v", got)
	}
	e.svc.ReleaseLambdaENIs(hpAcct, hpRegion, "fn2:$LATEST")
	d, _ := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{first[0].ID}})
	if d.NetworkInterfaces[0].Status != types.NetworkInterfaceStatusAvailable {
		t.Fatalf("released interface is %s", d.NetworkInterfaces[0].Status)
	}
	// Coming back before the delay reuses it.
	again, _ := e.svc.AcquireLambdaENIs(hpAcct, hpRegion, "fn2:1", "AROAEXAMPLE:fn2", "fn2", subnets[:1], []string{g1, g2})
	if again[0].ID != first[0].ID {
		t.Fatal("idle interface not reused")
	}
	e.svc.ReleaseLambdaENIs(hpAcct, hpRegion, "fn2:1")
	mu.Lock()
	now = now.Add(21 * time.Minute)
	mu.Unlock()
	e.svc.Settle()
	left, _ := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("interface-type"), Values: []string{"lambda"}}}})
	if len(left.NetworkInterfaces) != 1 || aws.ToString(left.NetworkInterfaces[0].NetworkInterfaceId) != third[0].ID {
		t.Fatalf("after the delete delay: %d interfaces", len(left.NetworkInterfaces))
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: b.SubnetId}); err != nil {
		t.Fatal(err)
	}
}
