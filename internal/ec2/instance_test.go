package ec2_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lambdaplane/lambdaplane/internal/ec2"
	"github.com/lambdaplane/lambdaplane/internal/store"
)

// instRun launches instances; image and counts default to one of ami-12345678.
func instRun(t *testing.T, c *sdk.Client, in *sdk.RunInstancesInput) []types.Instance {
	t.Helper()
	if in.ImageId == nil {
		in.ImageId = aws.String("ami-12345678")
	}
	if in.MinCount == nil {
		in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(1)
	}
	out, err := c.RunInstances(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.Instances
}

func instDescribe(t *testing.T, c *sdk.Client, id string) types.Instance {
	t.Helper()
	out, err := c.DescribeInstances(ctx, &sdk.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("describe %s: %+v", id, out.Reservations)
	}
	return out.Reservations[0].Instances[0]
}

func instState(code int32, name types.InstanceStateName) types.InstanceState {
	return types.InstanceState{Code: aws.Int32(code), Name: name}
}

func instWantChange(t *testing.T, got []types.InstanceStateChange, id string, prev, cur types.InstanceState) {
	t.Helper()
	if len(got) != 1 || aws.ToString(got[0].InstanceId) != id ||
		aws.ToInt32(got[0].PreviousState.Code) != aws.ToInt32(prev.Code) || got[0].PreviousState.Name != prev.Name ||
		aws.ToInt32(got[0].CurrentState.Code) != aws.ToInt32(cur.Code) || got[0].CurrentState.Name != cur.Name {
		t.Fatalf("state change of %s: got %+v, want %v → %v", id, got, prev, cur)
	}
}

var (
	instPending      = instState(0, types.InstanceStateNamePending)
	instRunning      = instState(16, types.InstanceStateNameRunning)
	instShuttingDown = instState(32, types.InstanceStateNameShuttingDown)
	instTerminated   = instState(48, types.InstanceStateNameTerminated)
	instStopping     = instState(64, types.InstanceStateNameStopping)
	instStopped      = instState(80, types.InstanceStateNameStopped)
)

// instStored is the instance as the store keeps it, for what the API does
// not show (user data).
func instStored(t *testing.T, st store.Store, id string) map[string]any {
	t.Helper()
	var out map[string]any
	err := st.View(func(tx store.ReadTx) error {
		kv, ok := tx.Get(ec2.StoreKey(id))
		if !ok {
			t.Fatalf("%s not stored", id)
		}
		return json.Unmarshal(kv.Value, &out)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunInstancesInDefaultVpc(t *testing.T) {
	e := newEnv(t)
	script := "#!/bin/sh\necho hello\n"
	out, err := e.ec2.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(script))), KeyName: aws.String("mykey"),
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("web-profile")},
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}},
			{ResourceType: types.ResourceTypeNetworkInterface, Tags: []types.Tag{{Key: aws.String("role"), Value: aws.String("eth0")}}},
			{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{{Key: aws.String("cost"), Value: aws.String("cc1")}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(out.ReservationId), "r-") || len(aws.ToString(out.ReservationId)) != 19 ||
		aws.ToString(out.OwnerId) != "123456789012" || out.Groups == nil || len(out.Groups) != 0 || len(out.Instances) != 1 {
		t.Fatalf("reservation: %+v", out)
	}
	i := out.Instances[0]
	id := aws.ToString(i.InstanceId)
	if !strings.HasPrefix(id, "i-") || len(id) != 19 || i.State.Name != types.InstanceStateNamePending || aws.ToInt32(i.State.Code) != 0 ||
		i.InstanceType != types.InstanceTypeM1Small || aws.ToString(i.ImageId) != "ami-0123456789abcdef0" || aws.ToString(i.KeyName) != "mykey" ||
		aws.ToString(i.StateReason.Code) != "pending" || aws.ToInt32(i.AmiLaunchIndex) != 0 || i.LaunchTime == nil ||
		aws.ToString(i.IamInstanceProfile.Arn) != "arn:aws:iam::123456789012:instance-profile/web-profile" ||
		len(i.Tags) != 1 || aws.ToString(i.Tags[0].Key) != "Name" {
		t.Fatalf("instance: %+v", i)
	}
	// The default subnet of the first zone of the default VPC, which gives
	// public addresses.
	subs, _ := e.ec2.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(i.SubnetId)}})
	if len(subs.Subnets) != 1 || !aws.ToBool(subs.Subnets[0].DefaultForAz) || aws.ToString(subs.Subnets[0].AvailabilityZone) != "us-east-1a" ||
		aws.ToString(i.Placement.AvailabilityZone) != "us-east-1a" || i.Placement.Tenancy != types.TenancyDefault {
		t.Fatalf("subnet: %+v placement %+v", subs.Subnets, i.Placement)
	}
	if aws.ToInt32(subs.Subnets[0].AvailableIpAddressCount) != 4090 {
		t.Fatalf("default subnet free: %d", aws.ToInt32(subs.Subnets[0].AvailableIpAddressCount))
	}
	if aws.ToString(i.PrivateIpAddress) != "172.31.0.4" || aws.ToString(i.PrivateDnsName) != "ip-172-31-0-4.ec2.internal" ||
		aws.ToString(i.PublicIpAddress) != "198.51.100.1" || aws.ToString(i.PublicDnsName) != "ec2-198-51-100-1.compute-1.amazonaws.com" {
		t.Fatalf("addresses: %s %s %s %s", aws.ToString(i.PrivateIpAddress), aws.ToString(i.PrivateDnsName), aws.ToString(i.PublicIpAddress), aws.ToString(i.PublicDnsName))
	}
	if len(i.SecurityGroups) != 1 || aws.ToString(i.SecurityGroups[0].GroupName) != "default" {
		t.Fatalf("groups: %+v", i.SecurityGroups)
	}
	if len(i.NetworkInterfaces) != 1 {
		t.Fatalf("interfaces: %+v", i.NetworkInterfaces)
	}
	n := i.NetworkInterfaces[0]
	if aws.ToInt32(n.Attachment.DeviceIndex) != 0 || !aws.ToBool(n.Attachment.DeleteOnTermination) ||
		!strings.HasPrefix(aws.ToString(n.Attachment.AttachmentId), "eni-attach-") || n.Status != types.NetworkInterfaceStatusInUse ||
		aws.ToString(n.Association.PublicIp) != "198.51.100.1" || aws.ToString(n.Association.IpOwnerId) != "amazon" ||
		aws.ToString(n.PrivateIpAddress) != "172.31.0.4" || aws.ToString(n.Description) != "" {
		t.Fatalf("primary interface: %+v %+v", n, n.Attachment)
	}
	// The instance runs once described; its interface shows it.
	d := instDescribe(t, e.ec2, id)
	if d.State.Name != types.InstanceStateNameRunning || aws.ToInt32(d.State.Code) != 16 || d.StateReason != nil ||
		aws.ToString(d.PublicIpAddress) != "198.51.100.1" {
		t.Fatalf("described: %+v", d)
	}
	eni := eniDescribe(t, e.ec2, aws.ToString(n.NetworkInterfaceId))
	if aws.ToString(eni.Attachment.InstanceId) != id || aws.ToString(eni.Association.PublicDnsName) != "ec2-198-51-100-1.compute-1.amazonaws.com" ||
		len(eni.TagSet) != 1 || aws.ToString(eni.TagSet[0].Value) != "eth0" {
		t.Fatalf("interface: %+v", eni)
	}
	// UserData is kept as given, for the data plane to run.
	if got := instStored(t, e.st, id)["userData"]; got != base64.StdEncoding.EncodeToString([]byte(script)) {
		t.Fatalf("stored user data %v", got)
	}
	// The running instance keeps its subnet in use.
	_, err = e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: i.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "")
}

func TestInstanceLifecycle(t *testing.T) {
	var skew atomic.Int64
	e := newEnvWith(t, store.NewMemory(), ec2.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1c")
	if _, err := e.ec2.ModifySubnetAttribute(ctx, &sdk.ModifySubnetAttributeInput{SubnetId: s.SubnetId, MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	a := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId, PrivateIpAddress: aws.String("10.0.1.10")})[0]
	b := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId})[0]
	aid, bid := aws.ToString(a.InstanceId), aws.ToString(b.InstanceId)
	if aws.ToString(a.PrivateIpAddress) != "10.0.1.10" || aws.ToString(a.PublicIpAddress) == "" || aws.ToString(a.PublicDnsName) != "" {
		t.Fatalf("launched: %+v", a)
	}
	// b gets an Elastic IP, which stays through a stop.
	igw, err := e.ec2.CreateInternetGateway(ctx, &sdk.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AttachInternetGateway(ctx, &sdk.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
	alloc, err := e.ec2.AllocateAddress(ctx, &sdk.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssociateAddress(ctx, &sdk.AssociateAddressInput{AllocationId: alloc.AllocationId, InstanceId: aws.String(bid)}); err != nil {
		t.Fatal(err)
	}
	bENI := eniDescribe(t, e.ec2, aws.ToString(b.NetworkInterfaces[0].NetworkInterfaceId))
	if bENI.Association == nil || aws.ToString(bENI.Association.AllocationId) != aws.ToString(alloc.AllocationId) ||
		aws.ToString(bENI.Association.IpOwnerId) != "123456789012" || aws.ToString(bENI.Association.AssociationId) == "" ||
		aws.ToString(bENI.Association.PublicIp) != aws.ToString(alloc.PublicIp) {
		t.Fatalf("elastic ip on interface: %+v", bENI.Association)
	}

	_, err = e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{aid}, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	stop, err := e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{aid}})
	if err != nil {
		t.Fatal(err)
	}
	instWantChange(t, stop.StoppingInstances, aid, instRunning, instStopping)
	if _, err := e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{bid}}); err != nil {
		t.Fatal(err)
	}
	da := instDescribe(t, e.ec2, aid)
	if da.State.Name != types.InstanceStateNameStopped || aws.ToInt32(da.State.Code) != 80 || da.PublicIpAddress != nil ||
		aws.ToString(da.PrivateIpAddress) != "10.0.1.10" || aws.ToString(da.StateReason.Code) != "Client.UserInitiatedShutdown" ||
		!strings.HasPrefix(aws.ToString(da.StateTransitionReason), "User initiated (") || da.Tags != nil {
		t.Fatalf("stopped: %+v", da)
	}
	if db := instDescribe(t, e.ec2, bid); aws.ToString(db.PublicIpAddress) != aws.ToString(alloc.PublicIp) {
		t.Fatalf("elastic ip after stop: %+v", db)
	}
	for _, f := range []types.Filter{eniFilter("association.allocation-id", aws.ToString(alloc.AllocationId)),
		eniFilter("association.public-ip", aws.ToString(alloc.PublicIp)), eniFilter("association.ip-owner-id", "123456789012")} {
		out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{f}})
		if err != nil || len(out.NetworkInterfaces) != 1 || aws.ToString(out.NetworkInterfaces[0].NetworkInterfaceId) != aws.ToString(bENI.NetworkInterfaceId) {
			t.Fatalf("filter %s: %+v %v", aws.ToString(f.Name), out, err)
		}
	}
	out, err := e.ec2.DescribeNetworkInterfaces(ctx, &sdk.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		eniFilter("vpc-id", *v.VpcId), eniFilter("association.public-ip", "198.51.100.*")}})
	if err != nil || len(out.NetworkInterfaces) != 1 {
		t.Fatalf("public addresses after stop: %+v %v", out, err)
	}
	// Stopping again changes nothing.
	stop, err = e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{aid}})
	if err != nil {
		t.Fatal(err)
	}
	instWantChange(t, stop.StoppingInstances, aid, instStopped, instStopped)

	_, err = e.ec2.StartInstances(ctx, &sdk.StartInstancesInput{InstanceIds: []string{aid}, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	start, err := e.ec2.StartInstances(ctx, &sdk.StartInstancesInput{InstanceIds: []string{aid}})
	if err != nil {
		t.Fatal(err)
	}
	instWantChange(t, start.StartingInstances, aid, instStopped, instPending)
	da = instDescribe(t, e.ec2, aid)
	if da.State.Name != types.InstanceStateNameRunning || aws.ToString(da.PublicIpAddress) == "" || da.StateReason != nil ||
		aws.ToString(da.StateTransitionReason) != "" {
		t.Fatalf("restarted: %+v", da)
	}
	start, err = e.ec2.StartInstances(ctx, &sdk.StartInstancesInput{InstanceIds: []string{aid}})
	if err != nil {
		t.Fatal(err)
	}
	instWantChange(t, start.StartingInstances, aid, instRunning, instRunning)

	status, err := e.ec2.DescribeInstanceStatus(ctx, &sdk.DescribeInstanceStatusInput{InstanceIds: []string{aid, bid}})
	if err != nil || len(status.InstanceStatuses) != 1 || status.InstanceStatuses[0].InstanceStatus.Status != types.SummaryStatusOk ||
		aws.ToString(status.InstanceStatuses[0].AvailabilityZone) != "us-east-1c" {
		t.Fatalf("status of running: %+v %v", status, err)
	}
	status, err = e.ec2.DescribeInstanceStatus(ctx, &sdk.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true),
		Filters: []types.Filter{eniFilter("instance-state-name", "stopped")}})
	if err != nil || len(status.InstanceStatuses) != 1 || aws.ToString(status.InstanceStatuses[0].InstanceId) != bid ||
		status.InstanceStatuses[0].SystemStatus.Status != types.SummaryStatusNotApplicable {
		t.Fatalf("status of stopped: %+v %v", status, err)
	}

	// Terminating takes the instances' own interfaces (and their addresses)
	// away; the Elastic IP stays allocated, unassociated.
	_, err = e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{aid, bid}, DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	term, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{bid}})
	if err != nil {
		t.Fatal(err)
	}
	instWantChange(t, term.TerminatingInstances, bid, instStopped, instShuttingDown)
	term, err = e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{aid}})
	if err != nil {
		t.Fatal(err)
	}
	instWantChange(t, term.TerminatingInstances, aid, instRunning, instShuttingDown)
	addrs, err := e.ec2.DescribeAddresses(ctx, &sdk.DescribeAddressesInput{AllocationIds: []string{aws.ToString(alloc.AllocationId)}})
	if err != nil || len(addrs.Addresses) != 1 || addrs.Addresses[0].AssociationId != nil || addrs.Addresses[0].InstanceId != nil {
		t.Fatalf("address after terminate: %+v %v", addrs, err)
	}
	if got := eniFree(t, e.ec2, *s.SubnetId); got != 251 {
		t.Fatalf("free after terminate: %d", got)
	}
	dt := instDescribe(t, e.ec2, aid)
	if dt.State.Name != types.InstanceStateNameTerminated || aws.ToInt32(dt.State.Code) != 48 || dt.PrivateIpAddress != nil ||
		dt.SubnetId != nil || len(dt.NetworkInterfaces) != 0 {
		t.Fatalf("terminated: %+v", dt)
	}
	term, err = e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{aid}})
	if err != nil {
		t.Fatal(err)
	}
	instWantChange(t, term.TerminatingInstances, aid, instTerminated, instTerminated)
	_, err = e.ec2.StartInstances(ctx, &sdk.StartInstancesInput{InstanceIds: []string{aid}})
	wantAPIError(t, err, "IncorrectInstanceState", "The instance '"+aid+"' is not in a state from which it can be started.")
	_, err = e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{aid}})
	wantAPIError(t, err, "IncorrectInstanceState", "This instance '"+aid+"' is not in a state from which it can be stopped.")
	// A terminated instance does not hold its subnet.
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	// About an hour later it is gone.
	skew.Store(int64(59 * time.Minute))
	instDescribe(t, e.ec2, aid)
	skew.Store(int64(61 * time.Minute))
	_, err = e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{InstanceIds: []string{aid}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "The instance ID '"+aid+"' does not exist")
	all, err := e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{})
	if err != nil || len(all.Reservations) != 0 {
		t.Fatalf("after an hour: %+v %v", all.Reservations, err)
	}
	// The settler forgets it for good at the next write.
	createVpc(t, e.ec2, "10.9.0.0/16")
	waitFor(t, func() bool {
		var found bool
		e.st.View(func(tx store.ReadTx) error {
			_, found = tx.Get(ec2.StoreKey(aid))
			return nil
		})
		return !found
	})
}

// waitFor polls cond for up to two seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunInstancesNetworkInterfaces(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1a")
	web := eniGroup(t, e.ec2, *v.VpcId, "web")
	// A new interface with an address and a public IP the subnet would not give.
	i := instRun(t, e.ec2, &sdk.RunInstancesInput{NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{
		DeviceIndex: aws.Int32(0), SubnetId: s.SubnetId, Groups: []string{web}, PrivateIpAddress: aws.String("10.0.1.77"),
		AssociatePublicIpAddress: aws.Bool(true), Description: aws.String("eth0")}}})[0]
	if aws.ToString(i.PrivateIpAddress) != "10.0.1.77" || aws.ToString(i.PublicIpAddress) == "" || len(i.SecurityGroups) != 1 ||
		aws.ToString(i.SecurityGroups[0].GroupId) != web || aws.ToString(i.NetworkInterfaces[0].Description) != "eth0" ||
		aws.ToString(i.SubnetId) != *s.SubnetId || aws.ToString(i.VpcId) != *v.VpcId {
		t.Fatalf("launched: %+v", i)
	}
	// An existing interface as eth0 and a new one as eth1.
	own := eniCreate(t, e.ec2, &sdk.CreateNetworkInterfaceInput{SubnetId: s.SubnetId}).NetworkInterfaceId
	j := instRun(t, e.ec2, &sdk.RunInstancesInput{NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{
		{DeviceIndex: aws.Int32(1), SubnetId: s.SubnetId},
		{DeviceIndex: aws.Int32(0), NetworkInterfaceId: own},
	}})[0]
	if len(j.NetworkInterfaces) != 2 || aws.ToString(j.NetworkInterfaces[0].NetworkInterfaceId) != *own ||
		aws.ToBool(j.NetworkInterfaces[0].Attachment.DeleteOnTermination) || !aws.ToBool(j.NetworkInterfaces[1].Attachment.DeleteOnTermination) ||
		j.PublicIpAddress != nil {
		t.Fatalf("two interfaces: %+v", j.NetworkInterfaces)
	}
	out, err := e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{Filters: []types.Filter{eniFilter("network-interface.network-interface-id", *own)}})
	if err != nil || len(out.Reservations) != 1 || aws.ToString(out.Reservations[0].Instances[0].InstanceId) != aws.ToString(j.InstanceId) {
		t.Fatalf("by interface: %+v %v", out, err)
	}
	_, err = e.ec2.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), NetworkInterfaceId: own}}})
	wantAPIError(t, err, "InvalidNetworkInterface.InUse", "Interface: ["+*own+"] in use.")
	if _, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{aws.ToString(j.InstanceId)}}); err != nil {
		t.Fatal(err)
	}
	if d := eniDescribe(t, e.ec2, *own); d.Status != types.NetworkInterfaceStatusAvailable {
		t.Fatalf("own interface after terminate: %+v", d)
	}
	nis := func(specs ...types.InstanceNetworkInterfaceSpecification) *sdk.RunInstancesInput {
		return &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), NetworkInterfaces: specs}
	}
	for _, c := range []struct {
		in   *sdk.RunInstancesInput
		code string
		msg  string
	}{
		{func() *sdk.RunInstancesInput {
			in := nis(types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(0), SubnetId: s.SubnetId})
			in.SubnetId = s.SubnetId
			return in
		}(), "InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request"},
		{func() *sdk.RunInstancesInput {
			in := nis(types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(0), SubnetId: s.SubnetId})
			in.SecurityGroupIds = []string{web}
			return in
		}(), "InvalidParameterCombination", ""},
		{nis(types.InstanceNetworkInterfaceSpecification{SubnetId: s.SubnetId}), "InvalidParameterValue", "Each network interface requires a device index."},
		{nis(types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(1), SubnetId: s.SubnetId}), "InvalidParameterValue", ""},
		{nis(types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(0), SubnetId: s.SubnetId},
			types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(0), SubnetId: s.SubnetId}), "InvalidParameterValue", ""},
		{nis(types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(0), SubnetId: s.SubnetId, AssociatePublicIpAddress: aws.Bool(true)},
			types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(1), SubnetId: s.SubnetId}), "InvalidParameterCombination",
			"The associatePublicIPAddress parameter cannot be specified when launching with multiple network interfaces."},
		{nis(types.InstanceNetworkInterfaceSpecification{DeviceIndex: aws.Int32(0), SubnetId: aws.String("subnet-0123456789abcdef0")}), "InvalidSubnetID.NotFound", ""},
	} {
		_, err := e.ec2.RunInstances(ctx, c.in)
		wantAPIError(t, err, c.code, c.msg)
	}
}

func TestRunInstancesValidation(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	other := createVpc(t, e.ec2, "10.1.0.0/16")
	foreign := eniGroup(t, e.ec2, *other.VpcId, "foreign")
	run := func(mod func(in *sdk.RunInstancesInput)) error {
		in := &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
		mod(in)
		_, err := e.ec2.RunInstances(ctx, in)
		return err
	}
	for _, c := range []struct {
		mod       func(in *sdk.RunInstancesInput)
		code, msg string
	}{
		{func(in *sdk.RunInstancesInput) { in.ImageId = aws.String("img-1") }, "InvalidAMIID.Malformed", `Invalid id: "img-1" (expecting "ami-...")`},
		{func(in *sdk.RunInstancesInput) { in.MaxCount = aws.Int32(0) }, "InvalidParameterValue", "Maximum instance count must be greater than zero"},
		{func(in *sdk.RunInstancesInput) { in.MinCount = aws.Int32(3) }, "InvalidParameterValue", ""},
		{func(in *sdk.RunInstancesInput) { in.MinCount, in.MaxCount = aws.Int32(300), aws.Int32(300) }, "InstanceLimitExceeded", ""},
		{func(in *sdk.RunInstancesInput) { in.InstanceType = "not a type" }, "InvalidParameterValue", ""},
		{func(in *sdk.RunInstancesInput) { in.UserData = aws.String("%%%") }, "InvalidParameterValue", "Invalid BASE64 encoding of user data."},
		{func(in *sdk.RunInstancesInput) {
			in.UserData = aws.String(base64.StdEncoding.EncodeToString(make([]byte, 16385)))
		}, "InvalidParameterValue", "User data is limited to 16384 bytes"},
		{func(in *sdk.RunInstancesInput) {
			in.MaxCount, in.PrivateIpAddress = aws.Int32(2), aws.String("10.0.1.9")
		}, "InvalidParameterCombination", ""},
		{func(in *sdk.RunInstancesInput) { in.SubnetId, in.SecurityGroups = s.SubnetId, []string{"default"} }, "InvalidParameterCombination",
			"The parameter groupName cannot be used with the parameter subnet"},
		{func(in *sdk.RunInstancesInput) { in.SecurityGroups = []string{"nope"} }, "InvalidGroup.NotFound", ""},
		{func(in *sdk.RunInstancesInput) { in.SubnetId, in.SecurityGroupIds = s.SubnetId, []string{foreign} }, "InvalidParameterValue", ""},
		{func(in *sdk.RunInstancesInput) { in.SubnetId = aws.String("subnet-0123456789abcdef0") }, "InvalidSubnetID.NotFound", ""},
		{func(in *sdk.RunInstancesInput) { in.SubnetId, in.PrivateIpAddress = s.SubnetId, aws.String("10.9.0.4") }, "InvalidParameterValue", ""},
		{func(in *sdk.RunInstancesInput) {
			in.Placement = &types.Placement{AvailabilityZone: aws.String("us-east-1z")}
		}, "InvalidParameterValue",
			"Invalid availability zone: [us-east-1z]"},
		{func(in *sdk.RunInstancesInput) {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String("a"), Arn: aws.String("arn:aws:iam::123456789012:instance-profile/a")}
		}, "InvalidParameterCombination", ""},
		{func(in *sdk.RunInstancesInput) {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::123456789012:role/a")}
		}, "InvalidParameterValue", ""},
		{func(in *sdk.RunInstancesInput) {
			in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}
		}, "InvalidParameterValue", "'vpc' is not a valid taggable resource type for this operation."},
		{func(in *sdk.RunInstancesInput) { in.DryRun = aws.Bool(true) }, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."},
	} {
		wantAPIError(t, run(c.mod), c.code, c.msg)
	}
	// Group names name groups of the default VPC; launch into a chosen zone.
	i := instRun(t, e.ec2, &sdk.RunInstancesInput{SecurityGroups: []string{"default"}, InstanceType: types.InstanceTypeT3Micro,
		Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1b")}, Monitoring: &types.RunInstancesMonitoringEnabled{Enabled: aws.Bool(true)}})[0]
	if aws.ToString(i.Placement.AvailabilityZone) != "us-east-1b" || i.InstanceType != types.InstanceTypeT3Micro ||
		len(i.SecurityGroups) != 1 || aws.ToString(i.SecurityGroups[0].GroupName) != "default" || i.Monitoring.State != types.MonitoringStateEnabled {
		t.Fatalf("launched: %+v", i)
	}
	// A client token makes a retry return the same reservation, and refuses
	// a different request.
	first := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId, ClientToken: aws.String("launch-1"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2)})
	again := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId, ClientToken: aws.String("launch-1"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2)})
	if len(again) != 2 || aws.ToString(first[0].InstanceId) != aws.ToString(again[0].InstanceId) ||
		aws.ToString(first[1].InstanceId) != aws.ToString(again[1].InstanceId) || aws.ToString(again[0].ClientToken) != "launch-1" {
		t.Fatalf("idempotent launch: %+v then %+v", first, again)
	}
	err := run(func(in *sdk.RunInstancesInput) { in.SubnetId, in.ClientToken = s.SubnetId, aws.String("launch-1") })
	wantAPIError(t, err, "IdempotentParameterMismatch", "")
	// Without a default VPC, an instance needs a subnet.
	west := e.clientIn("us-west-2", "test", "test", "")
	wv, _ := west.DescribeVpcs(ctx, &sdk.DescribeVpcsInput{})
	wsubs, _ := west.DescribeSubnets(ctx, &sdk.DescribeSubnetsInput{})
	for _, sub := range wsubs.Subnets {
		west.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: sub.SubnetId})
	}
	_, err = west.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantAPIError(t, err, "MissingInput", "No subnets found for the default VPC '"+aws.ToString(wv.Vpcs[0].VpcId)+"'. Please specify a subnet.")
	igws, _ := west.DescribeInternetGateways(ctx, &sdk.DescribeInternetGatewaysInput{})
	for _, g := range igws.InternetGateways {
		west.DetachInternetGateway(ctx, &sdk.DetachInternetGatewayInput{InternetGatewayId: g.InternetGatewayId, VpcId: wv.Vpcs[0].VpcId})
		west.DeleteInternetGateway(ctx, &sdk.DeleteInternetGatewayInput{InternetGatewayId: g.InternetGatewayId})
	}
	if _, err := west.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: wv.Vpcs[0].VpcId}); err != nil {
		t.Fatal(err)
	}
	_, err = west.RunInstances(ctx, &sdk.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantAPIError(t, err, "VPCIdNotSpecified", "No default VPC for this user")
}

func TestDescribeInstancesFiltersAndPaging(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "us-east-1b")
	web := eniGroup(t, e.ec2, *v.VpcId, "web")
	three := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId, MinCount: aws.Int32(3), MaxCount: aws.Int32(3),
		SecurityGroupIds: []string{web}, InstanceType: types.InstanceTypeT3Nano,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("web")}}}}})
	for n, i := range three {
		if aws.ToInt32(i.AmiLaunchIndex) != int32(n) {
			t.Fatalf("launch index %d: %d", n, aws.ToInt32(i.AmiLaunchIndex))
		}
	}
	four := instRun(t, e.ec2, &sdk.RunInstancesInput{MinCount: aws.Int32(4), MaxCount: aws.Int32(4), ImageId: aws.String("ami-87654321")})
	stopped := aws.ToString(four[0].InstanceId)
	if _, err := e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{stopped}}); err != nil {
		t.Fatal(err)
	}
	ids := func(is []types.Instance) []string {
		var out []string
		for _, i := range is {
			out = append(out, aws.ToString(i.InstanceId))
		}
		slices.Sort(out)
		return out
	}
	threeIDs, fourIDs := ids(three), ids(four)
	allIDs := append(slices.Clone(threeIDs), fourIDs...)
	slices.Sort(allIDs)
	first := three[0]
	for _, c := range []struct {
		f    types.Filter
		want []string
	}{
		{eniFilter("instance-id", aws.ToString(first.InstanceId)), []string{aws.ToString(first.InstanceId)}},
		{eniFilter("subnet-id", *s.SubnetId), threeIDs},
		{eniFilter("vpc-id", *v.VpcId), threeIDs},
		{eniFilter("availability-zone", "us-east-1b"), threeIDs},
		{eniFilter("instance.group-id", web), threeIDs},
		{eniFilter("instance.group-name", "web"), threeIDs},
		{eniFilter("instance-type", "t3.nano"), threeIDs},
		{eniFilter("image-id", "ami-87654321"), fourIDs},
		{eniFilter("tag:tier", "web"), threeIDs},
		{eniFilter("instance-state-name", "stopped"), []string{stopped}},
		{eniFilter("instance-state-code", "16"), slices.DeleteFunc(slices.Clone(allIDs), func(id string) bool { return id == stopped })},
		{eniFilter("private-ip-address", aws.ToString(first.PrivateIpAddress)), []string{aws.ToString(first.InstanceId)}},
		{eniFilter("ip-address", aws.ToString(four[1].PublicIpAddress)), []string{aws.ToString(four[1].InstanceId)}},
		{eniFilter("network-interface.network-interface-id", aws.ToString(first.NetworkInterfaces[0].NetworkInterfaceId)), []string{aws.ToString(first.InstanceId)}},
		{eniFilter("reservation-id", "r-*"), allIDs},
	} {
		out, err := e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{Filters: []types.Filter{c.f}})
		if err != nil {
			t.Fatal(err)
		}
		var got []types.Instance
		for _, r := range out.Reservations {
			got = append(got, r.Instances...)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Fatalf("filter %s=%v: got %v, want %v", aws.ToString(c.f.Name), c.f.Values, ids(got), c.want)
		}
	}
	// Instances come grouped by the launch that made them.
	out, err := e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{})
	if err != nil || len(out.Reservations) != 2 {
		t.Fatalf("reservations: %+v %v", out, err)
	}
	for _, r := range out.Reservations {
		if n := len(r.Instances); (n != 3 && n != 4) || aws.ToString(r.OwnerId) != "123456789012" {
			t.Fatalf("reservation %+v", r)
		}
	}
	var paged []types.Instance
	var next *string
	for pages := 1; ; pages++ {
		out, err := e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Reservations {
			paged = append(paged, r.Instances...)
		}
		if next = out.NextToken; next == nil {
			if pages != 2 {
				t.Fatalf("%d pages", pages)
			}
			break
		}
	}
	if !slices.Equal(ids(paged), allIDs) {
		t.Fatalf("paged %v", ids(paged))
	}
	_, err = e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{InstanceIds: allIDs[:1], MaxResults: aws.Int32(5)})
	wantAPIError(t, err, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	_, err = e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{MaxResults: aws.Int32(4)})
	wantAPIError(t, err, "InvalidParameterValue", "")
	_, err = e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{Filters: []types.Filter{eniFilter("colour", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'colour' is invalid")
	_, err = e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.DescribeInstances(ctx, &sdk.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0", "i-0123456789abcdef1"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "The instance IDs 'i-0123456789abcdef0, i-0123456789abcdef1' do not exist")
	_, err = e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{allIDs[0], "i-0123456789abcdef0"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "The instance ID 'i-0123456789abcdef0' does not exist")
	if d := instDescribe(t, e.ec2, allIDs[0]); d.State.Name == types.InstanceStateNameTerminated {
		t.Fatal("a failed terminate changed an instance")
	}
	_, err = e.ec2.StopInstances(ctx, &sdk.StopInstancesInput{InstanceIds: []string{"i-zz"}})
	wantAPIError(t, err, "InvalidInstanceID.Malformed", "")
	status, err := e.ec2.DescribeInstanceStatus(ctx, &sdk.DescribeInstanceStatusInput{MaxResults: aws.Int32(5)})
	if err != nil || len(status.InstanceStatuses) != 5 || status.NextToken == nil {
		t.Fatalf("status page: %+v %v", status, err)
	}
	_, err = e.ec2.DescribeInstanceStatus(ctx, &sdk.DescribeInstanceStatusInput{DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
}

func TestGetConsoleOutput(t *testing.T) {
	e := newEnv(t)
	i := instRun(t, e.ec2, &sdk.RunInstancesInput{})[0]
	id := aws.ToString(i.InstanceId)
	out, err := e.ec2.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String(id)})
	if err != nil || aws.ToString(out.InstanceId) != id || out.Output != nil || out.Timestamp == nil {
		t.Fatalf("before output: %+v %v", out, err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := e.svc.PrintToConsole(id, "hello from user data\n", at); err != nil {
		t.Fatal(err)
	}
	out, err = e.ec2.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String(id), Latest: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
	if string(text) != "hello from user data\n" || !out.Timestamp.Equal(at) {
		t.Fatalf("output %q at %v", text, out.Timestamp)
	}
	_, err = e.ec2.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String(id), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "DryRunOperation", "")
	_, err = e.ec2.GetConsoleOutput(ctx, &sdk.GetConsoleOutputInput{InstanceId: aws.String("i-0123456789abcdef0")})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "")
}

// An instance in a VPC keeps the VPC from being deleted until it is
// terminated.
func TestInstanceBlocksVpcDelete(t *testing.T) {
	e := newEnv(t)
	v := createVpc(t, e.ec2, "10.0.0.0/16")
	s := createSubnet(t, e.ec2, *v.VpcId, "10.0.1.0/24", "")
	i := instRun(t, e.ec2, &sdk.RunInstancesInput{SubnetId: s.SubnetId})[0]
	_, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId})
	wantAPIError(t, err, "DependencyViolation", "The subnet '"+*s.SubnetId+"' has dependencies and cannot be deleted.")
	_, err = e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId})
	wantAPIError(t, err, "DependencyViolation", "")
	if _, err := e.ec2.TerminateInstances(ctx, &sdk.TerminateInstancesInput{InstanceIds: []string{aws.ToString(i.InstanceId)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &sdk.DeleteSubnetInput{SubnetId: s.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &sdk.DeleteVpcInput{VpcId: v.VpcId}); err != nil {
		t.Fatal(err)
	}
}
