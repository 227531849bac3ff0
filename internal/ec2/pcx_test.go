package ec2_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/iam"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

const (
	pcxMe    = "123456789012"
	pcxOther = "111122223333"
)

// pcxEnv is newEnvWith with a second account, 111122223333, whose root
// signs with AKIAOTHER / s3cret.
func pcxEnv(t *testing.T, opts ec2.Options) *env {
	t.Helper()
	return newEnvWith(t, store.NewMemory(), opts, iam.AccountSpec{ID: pcxOther, AccessKey: "AKIAOTHER", Secret: "s3cret"})
}

func (e *env) pcxOtherClient(region string) *sdk.Client {
	return e.clientIn(region, "AKIAOTHER", "s3cret", "")
}

func pcxCreate(t *testing.T, c *sdk.Client, in *sdk.CreateVpcPeeringConnectionInput) types.VpcPeeringConnection {
	t.Helper()
	out, err := c.CreateVpcPeeringConnection(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.VpcPeeringConnection
}

// pcxGet describes one connection as c sees it (nil when c does not see it).
func pcxGet(t *testing.T, c *sdk.Client, id string) *types.VpcPeeringConnection {
	t.Helper()
	out, err := c.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{
		Filters: []types.Filter{{Name: aws.String("vpc-peering-connection-id"), Values: []string{id}}}})
	if err != nil {
		t.Fatal(err)
	}
	switch len(out.VpcPeeringConnections) {
	case 0:
		return nil
	case 1:
		return &out.VpcPeeringConnections[0]
	}
	t.Fatalf("%d connections with id %s", len(out.VpcPeeringConnections), id)
	return nil
}

func pcxWantStatus(t *testing.T, c *sdk.Client, id string, code types.VpcPeeringConnectionStateReasonCode, msg string) types.VpcPeeringConnection {
	t.Helper()
	p := pcxGet(t, c, id)
	if p == nil || p.Status.Code != code || (msg != "" && aws.ToString(p.Status.Message) != msg) {
		t.Fatalf("%s: want %s %q, got %+v", id, code, msg, p)
	}
	return *p
}

func TestPcxSameAccount(t *testing.T) {
	e := newEnv(t)
	a := createVpc(t, e.ec2, "10.0.0.0/16")
	b := createVpc(t, e.ec2, "10.1.0.0/16")
	before := time.Now()
	p := pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: b.VpcId,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpcPeeringConnection, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("a-b")}}}}})
	id := aws.ToString(p.VpcPeeringConnectionId)
	exp := aws.ToTime(p.ExpirationTime)
	if p.Status.Code != types.VpcPeeringConnectionStateReasonCodeInitiatingRequest || aws.ToString(p.Status.Message) != "Initiating Request to "+pcxMe ||
		aws.ToString(p.RequesterVpcInfo.VpcId) != aws.ToString(a.VpcId) || aws.ToString(p.RequesterVpcInfo.CidrBlock) != "10.0.0.0/16" ||
		len(p.RequesterVpcInfo.CidrBlockSet) != 1 || aws.ToString(p.RequesterVpcInfo.Region) != "us-east-1" || aws.ToString(p.RequesterVpcInfo.OwnerId) != pcxMe ||
		p.RequesterVpcInfo.PeeringOptions == nil || aws.ToBool(p.RequesterVpcInfo.PeeringOptions.AllowDnsResolutionFromRemoteVpc) ||
		aws.ToString(p.AccepterVpcInfo.VpcId) != aws.ToString(b.VpcId) || p.AccepterVpcInfo.CidrBlock != nil || aws.ToString(p.AccepterVpcInfo.OwnerId) != pcxMe ||
		exp.Before(before.Add(7*24*time.Hour-time.Minute)) || exp.After(time.Now().Add(7*24*time.Hour+time.Minute)) || len(p.Tags) != 1 {
		t.Fatalf("created: %+v", p)
	}
	pending := pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodePendingAcceptance, "Pending Acceptance by "+pcxMe)
	if pending.ExpirationTime == nil {
		t.Fatal("a pending request has no expiration time")
	}
	_, err := e.ec2.CreateVpcPeeringConnection(ctx, &sdk.CreateVpcPeeringConnectionInput{VpcId: b.VpcId, PeerVpcId: a.VpcId})
	wantAPIError(t, err, "VpcPeeringConnectionAlreadyExists", "")

	acc, err := e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if acc.VpcPeeringConnection.Status.Code != types.VpcPeeringConnectionStateReasonCodeProvisioning ||
		aws.ToString(acc.VpcPeeringConnection.AccepterVpcInfo.CidrBlock) != "10.1.0.0/16" || acc.VpcPeeringConnection.ExpirationTime != nil {
		t.Fatalf("accepted: %+v", acc.VpcPeeringConnection)
	}
	active := pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeActive, "Active")
	if aws.ToString(active.AccepterVpcInfo.CidrBlockSet[0].CidrBlock) != "10.1.0.0/16" || active.ExpirationTime != nil {
		t.Fatalf("active: %+v", active)
	}
	_, err = e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "InvalidStateTransition", "Invalid state transition for "+id+", attempted to transition from active to provisioning")
	_, err = e.ec2.RejectVpcPeeringConnection(ctx, &sdk.RejectVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "InvalidStateTransition", "")

	// Routes may name an active connection.
	mainA := vpceMainTable(t, e.ec2, aws.ToString(a.VpcId))
	if _, err := e.ec2.CreateRoute(ctx, &sdk.CreateRouteInput{RouteTableId: aws.String(mainA), DestinationCidrBlock: aws.String("10.1.0.0/16"),
		VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}

	// An active connection keeps both VPCs.
	for _, v := range []types.Vpc{a, b} {
		_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId})
		wantAPIError(t, err, "DependencyViolation", "The vpc '"+aws.ToString(v.VpcId)+"' has dependencies and cannot be deleted.")
	}
	if _, err := e.ec2.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeDeleted, "Deleted by "+pcxMe)
	_, err = e.ec2.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "InvalidStateTransition", "Invalid state transition for "+id+", attempted to transition from deleted to deleting")
	for _, v := range []types.Vpc{a, b} {
		if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
			t.Fatal(err)
		}
	}
	// The deleted connection still shows the VPCs' ranges.
	gone := pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeDeleted, "")
	if aws.ToString(gone.RequesterVpcInfo.CidrBlock) != "10.0.0.0/16" || aws.ToString(gone.AccepterVpcInfo.CidrBlock) != "10.1.0.0/16" {
		t.Fatalf("after the VPCs went: %+v", gone)
	}
}

func TestPcxFailed(t *testing.T) {
	clock := newVpceClock()
	e := pcxEnv(t, ec2.Options{Now: clock.Now})
	a := createVpc(t, e.ec2, "10.0.0.0/16")
	overlap := createVpc(t, e.ec2, "10.0.128.0/17")
	theirs := createVpc(t, e.pcxOtherClient("us-east-1"), "10.0.0.0/24")

	// AWS answers the request, then the connection fails.
	for _, in := range []*sdk.CreateVpcPeeringConnectionInput{
		{VpcId: a.VpcId, PeerVpcId: overlap.VpcId},
		{VpcId: a.VpcId, PeerVpcId: aws.String("vpc-0123456789abcdef0")},
		{VpcId: a.VpcId, PeerVpcId: overlap.VpcId, PeerOwnerId: aws.String(pcxOther)},
		{VpcId: a.VpcId, PeerVpcId: overlap.VpcId, PeerRegion: aws.String("us-west-2")},
		{VpcId: a.VpcId, PeerVpcId: theirs.VpcId, PeerOwnerId: aws.String(pcxOther)},
	} {
		p := pcxCreate(t, e.ec2, in)
		id := aws.ToString(p.VpcPeeringConnectionId)
		if p.Status.Code != types.VpcPeeringConnectionStateReasonCodeInitiatingRequest {
			t.Fatalf("create answered %+v", p.Status)
		}
		pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeFailed, "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range")
		_, err := e.ec2.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
		wantAPIError(t, err, "InvalidStateTransition", "Invalid state transition for "+id+", attempted to transition from failed to deleting")
	}
	// Failed requests do not keep the VPC, and only the requester sees them.
	out, _ := e.pcxOtherClient("us-east-1").DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{})
	if len(out.VpcPeeringConnections) != 0 {
		t.Fatalf("accepter sees: %+v", out.VpcPeeringConnections)
	}
	mine, _ := e.ec2.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{
		Filters: []types.Filter{{Name: aws.String("status-code"), Values: []string{"failed"}}}})
	if len(mine.VpcPeeringConnections) != 5 {
		t.Fatalf("failed connections: %d", len(mine.VpcPeeringConnections))
	}
	// They stay visible for two hours.
	clock.Advance(2*time.Hour + time.Second)
	vpceEventually(t, e.ec2, aws.ToString(a.VpcId), func() error {
		out, err := e.ec2.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{})
		if err != nil || len(out.VpcPeeringConnections) != 0 {
			return fmt.Errorf("still visible: %d %v", len(out.VpcPeeringConnections), err)
		}
		return nil
	})
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: a.VpcId}); err != nil {
		t.Fatal(err)
	}
}

func TestPcxCrossAccount(t *testing.T) {
	clock := newVpceClock()
	e := pcxEnv(t, ec2.Options{Now: clock.Now})
	other := e.pcxOtherClient("us-east-1")
	mine := createVpc(t, e.ec2, "10.0.0.0/16")
	theirs := createVpc(t, other, "10.1.0.0/16")
	p := pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: mine.VpcId, PeerVpcId: theirs.VpcId, PeerOwnerId: aws.String(pcxOther),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpcPeeringConnection, Tags: []types.Tag{{Key: aws.String("side"), Value: aws.String("requester")}}}}})
	id := aws.ToString(p.VpcPeeringConnectionId)
	if aws.ToString(p.Status.Message) != "Initiating Request to "+pcxOther || aws.ToString(p.AccepterVpcInfo.OwnerId) != pcxOther {
		t.Fatalf("created: %+v", p)
	}
	// Both accounts see it; tags stay with the account that set them.
	pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodePendingAcceptance, "Pending Acceptance by "+pcxOther)
	seen := pcxWantStatus(t, other, id, types.VpcPeeringConnectionStateReasonCodePendingAcceptance, "Pending Acceptance by "+pcxOther)
	if len(seen.Tags) != 0 || aws.ToString(seen.RequesterVpcInfo.OwnerId) != pcxMe {
		t.Fatalf("accepter's view: %+v", seen)
	}
	byTag, _ := other.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{Filters: []types.Filter{{Name: aws.String("tag:side"), Values: []string{"requester"}}}})
	if len(byTag.VpcPeeringConnections) != 0 {
		t.Fatal("the accepter's tag filter matched the requester's tags")
	}
	byID, err := other.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{id}})
	if err != nil || len(byID.VpcPeeringConnections) != 1 {
		t.Fatalf("accepter by id: %+v %v", byID, err)
	}
	// Another region of the accepter's account does not see it.
	_, err = e.pcxOtherClient("us-west-2").DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{id}})
	wantAPIError(t, err, "InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID '"+id+"' does not exist")

	// The accepter's VPC is held by the request; the requester cannot answer it.
	_, err = other.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: theirs.VpcId})
	wantAPIError(t, err, "DependencyViolation", "")
	_, err = e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "OperationNotPermitted", "User ("+pcxMe+") cannot accept peering "+id)
	_, err = e.ec2.RejectVpcPeeringConnection(ctx, &sdk.RejectVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "OperationNotPermitted", "User ("+pcxMe+") cannot reject peering "+id)
	_, err = other.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "OperationNotPermitted", "")
	_, err = other.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")

	acc, err := other.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	if err != nil || aws.ToString(acc.VpcPeeringConnection.AccepterVpcInfo.CidrBlock) != "10.1.0.0/16" {
		t.Fatalf("accept: %+v %v", acc, err)
	}
	pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeActive, "Active")
	for _, c := range []struct {
		c   *sdk.Client
		vpc *string
	}{{e.ec2, mine.VpcId}, {other, theirs.VpcId}} {
		_, err = c.c.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: c.vpc})
		wantAPIError(t, err, "DependencyViolation", "")
	}
	// The filters see the accepter's side too.
	f, _ := e.ec2.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{Filters: []types.Filter{
		{Name: aws.String("accepter-vpc-info.owner-id"), Values: []string{pcxOther}}, {Name: aws.String("accepter-vpc-info.cidr-block"), Values: []string{"10.1.0.0/16"}},
		{Name: aws.String("requester-vpc-info.vpc-id"), Values: []string{aws.ToString(mine.VpcId)}}, {Name: aws.String("tag:side"), Values: []string{"requester"}}}})
	if len(f.VpcPeeringConnections) != 1 {
		t.Fatalf("filtered: %+v", f)
	}

	// The accepter deletes it: it sees the deletion for two hours, the
	// requester for two days.
	if _, err := other.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeDeleted, "Deleted by "+pcxOther)
	pcxWantStatus(t, other, id, types.VpcPeeringConnectionStateReasonCodeDeleted, "Deleted by "+pcxOther)
	if _, err := other.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: theirs.VpcId}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Hour)
	if pcxGet(t, other, id) != nil {
		t.Fatal("the deleter still sees the connection after two hours")
	}
	pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeDeleted, "")
	clock.Advance(2 * 24 * time.Hour)
	if pcxGet(t, e.ec2, id) != nil {
		t.Fatal("the requester still sees the connection after two days")
	}

	// A rejected request: the accepter may then delete its VPC.
	theirs2 := createVpc(t, other, "10.2.0.0/16")
	r := pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: mine.VpcId, PeerVpcId: theirs2.VpcId, PeerOwnerId: aws.String(pcxOther)})
	rid := aws.ToString(r.VpcPeeringConnectionId)
	if _, err := other.RejectVpcPeeringConnection(ctx, &sdk.RejectVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(rid)}); err != nil {
		t.Fatal(err)
	}
	pcxWantStatus(t, e.ec2, rid, types.VpcPeeringConnectionStateReasonCodeRejected, "")
	_, err = other.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(rid)})
	wantAPIError(t, err, "InvalidStateTransition", "Invalid state transition for "+rid+", attempted to transition from rejected to provisioning")
	if _, err := other.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: theirs2.VpcId}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Hour)
	if pcxGet(t, other, rid) != nil || pcxGet(t, e.ec2, rid) == nil {
		t.Fatal("a rejected request is seen by the accepter for two hours and by the requester for two days")
	}
}

func TestPcxCrossRegion(t *testing.T) {
	e := newEnv(t)
	west := e.clientIn("us-west-2", "test", "test", "")
	east := createVpc(t, e.ec2, "10.0.0.0/16")
	wv := createVpc(t, west, "10.1.0.0/16")
	p := pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: east.VpcId, PeerVpcId: wv.VpcId, PeerRegion: aws.String("us-west-2")})
	id := aws.ToString(p.VpcPeeringConnectionId)
	if aws.ToString(p.AccepterVpcInfo.Region) != "us-west-2" || aws.ToString(p.RequesterVpcInfo.Region) != "us-east-1" {
		t.Fatalf("created: %+v", p)
	}
	_, err := e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "OperationNotPermitted", "Incorrect region (us-east-1) specified for this request. VPC peering connection "+id+" must be accepted in region us-west-2")
	_, err = e.ec2.RejectVpcPeeringConnection(ctx, &sdk.RejectVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "OperationNotPermitted", "Incorrect region (us-east-1) specified for this request. VPC peering connection "+id+" must be accepted or rejected in region us-west-2")
	if _, err := west.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*sdk.Client{e.ec2, west} {
		got := pcxWantStatus(t, c, id, types.VpcPeeringConnectionStateReasonCodeActive, "Active")
		if aws.ToString(got.AccepterVpcInfo.Region) != "us-west-2" || aws.ToString(got.RequesterVpcInfo.Region) != "us-east-1" {
			t.Fatalf("regions: %+v", got)
		}
	}
	// A third region sees nothing.
	out, _ := e.clientIn("eu-west-1", "test", "test", "").DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{})
	if len(out.VpcPeeringConnections) != 0 {
		t.Fatalf("eu-west-1 sees %+v", out.VpcPeeringConnections)
	}
	if _, err := west.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodeDeleted, "Deleted by "+pcxMe)
}

func TestPcxExpiry(t *testing.T) {
	clock := newVpceClock()
	e := newEnvWith(t, store.NewMemory(), ec2.Options{Now: clock.Now})
	a := createVpc(t, e.ec2, "10.0.0.0/16")
	b := createVpc(t, e.ec2, "10.1.0.0/16")
	id := aws.ToString(pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: b.VpcId}).VpcPeeringConnectionId)
	clock.Advance(7*24*time.Hour - time.Minute)
	vpceEventually(t, e.ec2, aws.ToString(a.VpcId), func() error { return nil })
	pcxWantStatus(t, e.ec2, id, types.VpcPeeringConnectionStateReasonCodePendingAcceptance, "")
	clock.Advance(time.Minute)
	vpceEventually(t, e.ec2, aws.ToString(a.VpcId), func() error {
		if p := pcxGet(t, e.ec2, id); p == nil || p.Status.Code != types.VpcPeeringConnectionStateReasonCodeExpired {
			return fmt.Errorf("not expired: %+v", p)
		}
		return nil
	})
	_, err := e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "InvalidStateTransition", "")
	// A new request between the same VPCs may be made.
	pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: b.VpcId})
	// Expired requests stay visible for two days, then the store forgets them.
	clock.Advance(2*24*time.Hour + time.Second)
	vpceEventually(t, e.ec2, aws.ToString(a.VpcId), func() error {
		if p := pcxGet(t, e.ec2, id); p != nil {
			return fmt.Errorf("still visible: %+v", p.Status)
		}
		return nil
	})
}

// A VPC whose own request is unanswered may be deleted; the request ends
// with it.
func TestPcxRequesterVpcDeleted(t *testing.T) {
	e := newEnv(t)
	a := createVpc(t, e.ec2, "10.0.0.0/16")
	b := createVpc(t, e.ec2, "10.1.0.0/16")
	id := aws.ToString(pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: b.VpcId}).VpcPeeringConnectionId)
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: a.VpcId}); err != nil {
		t.Fatal(err)
	}
	vpceEventually(t, e.ec2, aws.ToString(b.VpcId), func() error {
		if p := pcxGet(t, e.ec2, id); p == nil || p.Status.Code != types.VpcPeeringConnectionStateReasonCodeDeleted {
			return fmt.Errorf("not deleted: %+v", p)
		}
		return nil
	})
	_, err := e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)})
	wantAPIError(t, err, "InvalidStateTransition", "")
}

func TestPcxErrors(t *testing.T) {
	e := newEnv(t)
	a := createVpc(t, e.ec2, "10.0.0.0/16")
	for _, c := range []struct {
		in   *sdk.CreateVpcPeeringConnectionInput
		code string
		msg  string
	}{
		{&sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId}, "MissingParameter", "The request must contain the parameter PeerVpcId"},
		{&sdk.CreateVpcPeeringConnectionInput{VpcId: aws.String("vpc-0123456789abcdef0"), PeerVpcId: a.VpcId}, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist"},
		{&sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: aws.String("vpc-1")}, "InvalidVpcId.Malformed", ""},
		{&sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: aws.String("vpc-0123456789abcdef0"), DryRun: aws.Bool(true)}, "DryRunOperation", ""},
		{&sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: aws.String("vpc-0123456789abcdef0"),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}}}, "InvalidParameterValue", ""},
	} {
		_, err := e.ec2.CreateVpcPeeringConnection(ctx, c.in)
		wantAPIError(t, err, c.code, c.msg)
	}
	_, err := e.ec2.AcceptVpcPeeringConnection(ctx, &sdk.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String("pcx-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID 'pcx-0123456789abcdef0' does not exist")
	_, err = e.ec2.DeleteVpcPeeringConnection(ctx, &sdk.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String("pcx-1")})
	wantAPIError(t, err, "InvalidVpcPeeringConnectionId.Malformed", "")
	_, err = e.ec2.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{Filters: []types.Filter{{Name: aws.String("state"), Values: []string{"x"}}}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'state' is invalid")
	_, err = e.ec2.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{MaxResults: aws.Int32(2)})
	wantAPIError(t, err, "InvalidParameterValue", "")

	// Pagination over several connections.
	var want []string
	for i := range 6 {
		b := createVpc(t, e.ec2, fmt.Sprintf("10.%d.0.0/16", i+1))
		want = append(want, aws.ToString(pcxCreate(t, e.ec2, &sdk.CreateVpcPeeringConnectionInput{VpcId: a.VpcId, PeerVpcId: b.VpcId}).VpcPeeringConnectionId))
	}
	var got []string
	var next *string
	for pages := 0; ; pages++ {
		out, err := e.ec2.DescribeVpcPeeringConnections(ctx, &sdk.DescribeVpcPeeringConnectionsInput{MaxResults: aws.Int32(5), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.VpcPeeringConnections {
			got = append(got, aws.ToString(p.VpcPeeringConnectionId))
		}
		if next = out.NextToken; next == nil {
			break
		}
		if pages > 2 {
			t.Fatal("pagination does not end")
		}
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d of %d", len(got), len(want))
	}
}

// Endpoints are the account's own: another account sees none of them.
func TestVpceOtherAccount(t *testing.T) {
	e := pcxEnv(t, ec2.Options{})
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	ep := vpceCreate(t, e.ec2, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3")})
	other := e.pcxOtherClient("us-east-1")
	out, err := other.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{})
	if err != nil || len(out.VpcEndpoints) != 0 {
		t.Fatalf("other account: %+v %v", out, err)
	}
	_, err = other.DescribeVpcEndpoints(ctx, &sdk.DescribeVpcEndpointsInput{VpcEndpointIds: []string{aws.ToString(ep.VpcEndpointId)}})
	wantAPIError(t, err, "InvalidVpcEndpointId.NotFound", "")
	_, err = other.CreateVpcEndpoint(ctx, &sdk.CreateVpcEndpointInput{VpcId: v.VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.s3")})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "")
	del, err := other.DeleteVpcEndpoints(ctx, &sdk.DeleteVpcEndpointsInput{VpcEndpointIds: []string{aws.ToString(ep.VpcEndpointId)}})
	if err != nil || len(del.Unsuccessful) != 1 {
		t.Fatalf("other account deleted: %+v %v", del, err)
	}
}
