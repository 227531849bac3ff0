package ec2_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func igwCreate(t *testing.T, c *sdk.Client) string {
	t.Helper()
	out, err := c.CreateInternetGateway(ctx, &sdk.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.InternetGateway.InternetGatewayId)
}

func igwAttach(t *testing.T, c *sdk.Client, igw, vpc string) {
	t.Helper()
	if _, err := c.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
}

func igwDetach(t *testing.T, c *sdk.Client, igw, vpc string) {
	t.Helper()
	if _, err := c.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
}

func igwGet(t *testing.T, c *sdk.Client, igw string) types.InternetGateway {
	t.Helper()
	out, err := c.DescribeInternetGateways(ctx, &sdk.DescribeInternetGatewaysInput{InternetGatewayIds: []string{igw}})
	if err != nil || len(out.InternetGateways) != 1 {
		t.Fatalf("describe %s: %+v %v", igw, out, err)
	}
	return out.InternetGateways[0]
}

func TestInternetGatewayLifecycle(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.CreateInternetGateway(ctx, &sdk.CreateInternetGatewayInput{TagSpecifications: []types.TagSpecification{
		{ResourceType: types.ResourceTypeInternetGateway, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("edge")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	g := out.InternetGateway
	igw := aws.ToString(g.InternetGatewayId)
	if len(igw) != len("igw-")+17 || len(g.Attachments) != 0 || aws.ToString(g.OwnerId) != "123456789012" || len(g.Tags) != 1 {
		t.Fatalf("created: %+v", g)
	}
	_, err = e.ec2.CreateInternetGateway(ctx, &sdk.CreateInternetGatewayInput{TagSpecifications: []types.TagSpecification{
		{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("x")}}}}})
	wantAPIError(t, err, "InvalidParameterValue", "'vpc' is not a valid taggable resource type for this operation.")
	_, err = e.ec2.CreateInternetGateway(ctx, &sdk.CreateInternetGatewayInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")

	v := createVpc(t, e.ec2, "10.0.0.0/16")
	vpc := aws.ToString(v.VpcId)
	_, err = e.ec2.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: v.VpcId, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: aws.String("vpc-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "")
	igwAttach(t, e.ec2, igw, vpc)
	got := igwGet(t, e.ec2, igw)
	if len(got.Attachments) != 1 || aws.ToString(got.Attachments[0].VpcId) != vpc || got.Attachments[0].State != "available" {
		t.Fatalf("attached: %+v", got.Attachments)
	}
	_, err = e.ec2.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: v.VpcId})
	wantAPIError(t, err, "Resource.AlreadyAssociated", "resource "+igw+" is already attached to network "+vpc)
	second := igwCreate(t, e.ec2)
	_, err = e.ec2.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: aws.String(second), VpcId: v.VpcId})
	wantAPIError(t, err, "InvalidParameterValue", "Network "+vpc+" already has an internet gateway attached")

	for _, c := range []struct {
		f    types.Filter
		want int
	}{
		{rtbFilter("attachment.vpc-id", vpc), 1},
		{rtbFilter("attachment.state", "available"), 2}, // with the default VPC's
		{rtbFilter("internet-gateway-id", igw, second), 2},
		{rtbFilter("tag:Name", "edge"), 1},
		{rtbFilter("tag-key", "Name"), 1},
		{rtbFilter("owner-id", "123456789012"), 3},
		{rtbFilter("owner-id", "210987654321"), 0},
	} {
		d, err := e.ec2.DescribeInternetGateways(ctx, &sdk.DescribeInternetGatewaysInput{Filters: []types.Filter{c.f}})
		if err != nil || len(d.InternetGateways) != c.want {
			t.Errorf("filter %s=%v: %d gateways, want %d (%v)", *c.f.Name, c.f.Values, len(d.InternetGateways), c.want, err)
		}
	}
	_, err = e.ec2.DescribeInternetGateways(ctx, &sdk.DescribeInternetGatewaysInput{Filters: []types.Filter{rtbFilter("attachment.colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'attachment.colour' is invalid")

	_, err = e.ec2.DeleteInternetGateway(ctx, &sdk.DeleteInternetGatewayInput{InternetGatewayId: aws.String(igw)})
	wantAPIError(t, err, "DependencyViolation", "The internetGateway '"+igw+"' has dependencies and cannot be deleted.")
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId})
	wantAPIError(t, err, "DependencyViolation", "The vpc '"+vpc+"' has dependencies and cannot be deleted.")
	_, err = e.ec2.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: aws.String(second), VpcId: v.VpcId})
	wantAPIError(t, err, "Gateway.NotAttached", "resource "+second+" is not attached to network "+vpc)
	_, err = e.ec2.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: v.VpcId, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	igwDetach(t, e.ec2, igw, vpc)
	if got := igwGet(t, e.ec2, igw); len(got.Attachments) != 0 {
		t.Fatalf("detached: %+v", got.Attachments)
	}
	// The other gateway may take the VPC now.
	igwAttach(t, e.ec2, second, vpc)

	_, err = e.ec2.DeleteInternetGateway(ctx, &sdk.DeleteInternetGatewayInput{InternetGatewayId: aws.String(igw), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	if _, err := e.ec2.DeleteInternetGateway(ctx, &sdk.DeleteInternetGatewayInput{InternetGatewayId: aws.String(igw)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DescribeInternetGateways(ctx, &sdk.DescribeInternetGatewaysInput{InternetGatewayIds: []string{igw}})
	wantAPIError(t, err, "InvalidInternetGatewayID.NotFound", "The internetGateway ID '"+igw+"' does not exist")
	_, err = e.ec2.DeleteInternetGateway(ctx, &sdk.DeleteInternetGatewayInput{InternetGatewayId: aws.String("igw-zz")})
	wantAPIError(t, err, "InvalidInternetGatewayId.Malformed", "The internetGateway ID 'igw-zz' is malformed")
	_, err = e.ec2.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: v.VpcId})
	wantAPIError(t, err, "InvalidInternetGatewayID.NotFound", "")
	igwDetach(t, e.ec2, second, vpc)
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
}

func TestInternetGatewayPagingAndWaiter(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 6; i++ {
		igwCreate(t, e.ec2)
	}
	n := 0
	p := sdk.NewDescribeInternetGatewaysPaginator(e.ec2, &sdk.DescribeInternetGatewaysInput{MaxResults: aws.Int32(5)})
	for pages := 0; p.HasMorePages(); pages++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.InternetGateways) > 5 || pages > 2 {
			t.Fatalf("page %d: %d gateways", pages, len(out.InternetGateways))
		}
		n += len(out.InternetGateways)
	}
	if n != 7 { // with the default VPC's
		t.Fatalf("paged %d gateways, want 7", n)
	}
	_, err := e.ec2.DescribeInternetGateways(ctx, &sdk.DescribeInternetGatewaysInput{MaxResults: aws.Int32(4)})
	wantAPIError(t, err, "InvalidParameterValue", "")

	igw := igwCreate(t, e.ec2)
	w := sdk.NewInternetGatewayExistsWaiter(e.ec2, func(o *sdk.InternetGatewayExistsWaiterOptions) { o.MinDelay = time.Millisecond })
	if err := w.Wait(ctx, &sdk.DescribeInternetGatewaysInput{InternetGatewayIds: []string{igw}}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// A VPC whose addresses are mapped to the internet keeps its gateway.
func TestDetachInternetGatewayWithMappedAddresses(t *testing.T) {
	e := newEnv(t)
	n := natPublicSetup(t, e.ec2)
	nat := natCreate(t, e.ec2, n.subnet, n.alloc)
	_, err := e.ec2.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: aws.String(n.igw), VpcId: aws.String(n.vpc)})
	wantAPIError(t, err, "DependencyViolation", "Network "+n.vpc+" has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.")
	if _, err := e.ec2.DeleteNatGateway(ctx, &sdk.DeleteNatGatewayInput{NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	natWait(t, e.ec2, nat, types.NatGatewayStateDeleted)
	igwDetach(t, e.ec2, n.igw, n.vpc)

	// So does a VPC with an instance that has a public address.
	igwAttach(t, e.ec2, n.igw, n.vpc)
	if _, err := e.ec2.ModifySubnetAttribute(ctx, &sdk.ModifySubnetAttributeInput{SubnetId: aws.String(n.subnet),
		MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	inst := eipRunInstance(t, e.ec2, n.subnet)
	_, err = e.ec2.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: aws.String(n.igw), VpcId: aws.String(n.vpc)})
	wantAPIError(t, err, "DependencyViolation", "")
	if _, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{inst.id}}); err != nil {
		t.Fatal(err)
	}
	igwDetach(t, e.ec2, n.igw, n.vpc)
}
