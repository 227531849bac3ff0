package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// vpcFixture is a VPC with two subnets in two zones and two security groups.
type vpcFixture struct {
	vpc, subnetA, subnetB, groupA, groupB string
}

func makeVpcFixture(t *testing.T, c *ec2.Client, cidr string, tenancy ec2types.Tenancy) vpcFixture {
	t.Helper()
	ctx := ctxT(t)
	in := &ec2.CreateVpcInput{CidrBlock: aws.String(cidr + ".0.0/16")}
	if tenancy != "" {
		in.InstanceTenancy = tenancy
	}
	v, err := c.CreateVpc(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	f := vpcFixture{vpc: *v.Vpc.VpcId}
	for i, dst := range []*string{&f.subnetA, &f.subnetB} {
		s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(cidr + "." + string(rune('1'+i)) + ".0/24"),
			AvailabilityZone: aws.String("us-east-1" + string(rune('a'+i)))})
		if err != nil {
			t.Fatal(err)
		}
		*dst = *s.Subnet.SubnetId
	}
	for i, dst := range []*string{&f.groupA, &f.groupB} {
		g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: v.Vpc.VpcId, GroupName: aws.String("fn-" + string(rune('a'+i))), Description: aws.String("function")})
		if err != nil {
			t.Fatal(err)
		}
		*dst = *g.GroupId
	}
	return f
}

func lambdaENIs(t *testing.T, c *ec2.Client, vpc string) []ec2types.NetworkInterface {
	t.Helper()
	out, err := c.DescribeNetworkInterfaces(ctxT(t), &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
		{Name: aws.String("interface-type"), Values: []string{"lambda"}}, {Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.NetworkInterfaces
}

// The seed "Configuring a Lambda function to access resources in a VPC",
// top to bottom, with the AWS CLI where the seed shows it.
func TestCLIFunctionInVpc(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	s := startServer(t, func(o *serverOptions) { o.extraArgs = append(o.extraArgs, "--eni-create-delay", "1s") })
	ctx := ctxT(t)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	lc := s.lambda()
	fx := makeVpcFixture(t, ec2c, "10.20", "")
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(zipPath, nodeEchoZip, 0o644); err != nil {
		t.Fatal(err)
	}
	create := func(name, subnets, groups string) (string, string, int) {
		return s.cli(t, "lambda", "create-function", "--function-name", name, "--runtime", "nodejs20.x", "--handler", "index.handler",
			"--zip-file", "fileb://"+zipPath, "--role", "arn:aws:iam::123456789012:role/lambda-role",
			"--vpc-config", "SubnetIds="+subnets+",SecurityGroupIds="+groups)
	}
	wantCLIError := func(out, errOut string, code int, exception, message string) {
		t.Helper()
		if code == 0 || !strings.Contains(errOut, "("+exception+")") || !strings.Contains(errOut, message) {
			t.Fatalf("want %s %q, got exit %d\n%s%s", exception, message, code, out, errOut)
		}
	}

	// The execution role needs the EC2 permissions; the seed's managed policy is enough.
	o, e, code := create("vpc-fn", fx.subnetA+","+fx.subnetB, fx.groupA)
	wantCLIError(o, e, code, "InvalidParameterValueException", "The provided execution role does not have permissions to call CreateNetworkInterface on EC2")
	if o, e, code := s.cli(t, "iam", "attach-role-policy", "--role-name", "lambda-role",
		"--policy-arn", "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"); code != 0 {
		t.Fatalf("attach-role-policy: %s%s", o, e)
	}

	// What EC2 says about the resources, groups first.
	o, e, code = create("vpc-fn", "subnet-0000000000000000a", "sg-0000000000000000b")
	wantCLIError(o, e, code, "InvalidParameterValueException", "Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. EC2 Error Message: The security group 'sg-0000000000000000b' does not exist")
	o, e, code = create("vpc-fn", "subnet-0000000000000000a", fx.groupA)
	wantCLIError(o, e, code, "InvalidParameterValueException", "Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. EC2 Error Message: The subnet ID 'subnet-0000000000000000a' does not exist")
	o, e, code = create("vpc-fn", "subnet-zz!", fx.groupA)
	wantCLIError(o, e, code, "ValidationException", "at 'vpcConfig.subnetIds' failed to satisfy constraint")
	o, e, code = create("vpc-fn", fx.subnetA, "[]")
	wantCLIError(o, e, code, "InvalidParameterValueException", "SubnetIds and SecurityIds must coexist or be both empty list.")
	dedicated := makeVpcFixture(t, ec2c, "10.30", ec2types.TenancyDedicated)
	o, e, code = create("vpc-fn", dedicated.subnetA, dedicated.groupA)
	wantCLIError(o, e, code, "InvalidParameterValueException", "dedicated instance tenancy")

	// Create: Pending while the interfaces are made, one per subnet.
	o, e, code = create("vpc-fn", fx.subnetA+","+fx.subnetB, fx.groupA)
	if code != 0 {
		t.Fatalf("create-function: %s%s", o, e)
	}
	created := decodeJSON[map[string]any](t, []byte(o))
	if jstr(created, "State") != "Pending" || jstr(created, "StateReasonCode") != "Creating" || jstr(created, "VpcConfig.VpcId") != fx.vpc {
		t.Fatalf("created: %v", created)
	}
	_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("vpc-fn")})
	checkAPIError(t, err, "ResourceConflictException", 409, "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	if o, e, code := s.cli(t, "lambda", "wait", "function-active-v2", "--function-name", "vpc-fn"); code != 0 {
		t.Fatalf("wait: %s%s", o, e)
	}
	enis := lambdaENIs(t, ec2c, fx.vpc)
	if len(enis) != 2 {
		t.Fatalf("%d interfaces for two subnets", len(enis))
	}
	for _, n := range enis {
		if n.Status != ec2types.NetworkInterfaceStatusInUse || aws.ToString(n.Description) != "AWS Lambda VPC ENI-vpc-fn" ||
			!strings.HasPrefix(aws.ToString(n.Attachment.AttachmentId), "ela-attach-") || aws.ToString(n.Attachment.InstanceOwnerId) != "amazon-aws" ||
			len(n.Groups) != 1 || aws.ToString(n.Groups[0].GroupId) != fx.groupA || !strings.HasPrefix(aws.ToString(n.RequesterId), "AROA") {
			t.Fatalf("interface %+v", n)
		}
	}
	// Users may not take them away.
	o, e, code = s.cli(t, "ec2", "delete-network-interface", "--network-interface-id", aws.ToString(enis[0].NetworkInterfaceId))
	wantCLIError(o, e, code, "InvalidParameterValue", "is currently in use")
	o, e, code = s.cli(t, "ec2", "detach-network-interface", "--attachment-id", aws.ToString(enis[0].Attachment.AttachmentId))
	wantCLIError(o, e, code, "OperationNotPermitted", "You are not allowed to manage 'ela-attach' attachments.")

	// A second function on the same subnets and group shares them.
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("vpc-fn2"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip},
		VpcConfig: &types.VpcConfig{SubnetIds: []string{fx.subnetB, fx.subnetA}, SecurityGroupIds: []string{fx.groupA}}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, lc, "vpc-fn2")
	if n := len(lambdaENIs(t, ec2c, fx.vpc)); n != 2 {
		t.Fatalf("%d interfaces after a second function on the same combination", n)
	}
	out := invoke(t, lc, "vpc-fn", map[string]any{"x": 1}, invokeOpts{})
	if out.FunctionError != nil {
		t.Fatalf("invoke: %s", out.Payload)
	}
	// The subnet and the group are in use.
	o, e, code = s.cli(t, "ec2", "delete-security-group", "--group-id", fx.groupA)
	wantCLIError(o, e, code, "DependencyViolation", "")

	// Another group: InProgress, other updates refused, then Successful.
	o, e, code = s.cli(t, "lambda", "update-function-configuration", "--function-name", "vpc-fn",
		"--vpc-config", "SubnetIds="+fx.subnetA+",SecurityGroupIds="+fx.groupB)
	if code != 0 {
		t.Fatalf("update: %s%s", o, e)
	}
	upd := decodeJSON[map[string]any](t, []byte(o))
	groups, _ := jget(upd, "VpcConfig.SecurityGroupIds").([]any)
	if jstr(upd, "State") != "Active" || jstr(upd, "LastUpdateStatus") != "InProgress" || len(groups) != 1 || groups[0] != fx.groupB {
		t.Fatalf("update: %v", upd)
	}
	_, err = lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("vpc-fn"), Description: aws.String("x")})
	checkAPIError(t, err, "ResourceConflictException", 409, "The operation cannot be performed at this time. An update is in progress for resource: "+fnARN("vpc-fn"))
	invoke(t, lc, "vpc-fn", map[string]any{"during": "update"}, invokeOpts{})
	if o, e, code := s.cli(t, "lambda", "wait", "function-updated-v2", "--function-name", "vpc-fn"); code != 0 {
		t.Fatalf("wait updated: %s%s", o, e)
	}
	if n := len(lambdaENIs(t, ec2c, fx.vpc)); n != 3 {
		t.Fatalf("%d interfaces after moving one function to another group (want the shared two and one new)", n)
	}

	// Disconnect, in the seed's words.
	o, e, code = s.cli(t, "lambda", "update-function-configuration", "--function-name", "vpc-fn", "--vpc-config", "SubnetIds=[],SecurityGroupIds=[]")
	if code != 0 {
		t.Fatalf("disconnect: %s%s", o, e)
	}
	waitUpdated(t, lc, "vpc-fn")
	got, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("vpc-fn")})
	if err != nil || got.VpcConfig == nil || len(got.VpcConfig.SubnetIds) != 0 || aws.ToString(got.VpcConfig.VpcId) != "" {
		t.Fatalf("after disconnect: %+v %v", got.VpcConfig, err)
	}
	// The new group's interface went (no delete delay on this server); the
	// shared ones stay for vpc-fn2 until it goes too.
	if n := len(lambdaENIs(t, ec2c, fx.vpc)); n != 2 {
		t.Fatalf("%d interfaces after disconnecting", n)
	}
	if _, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("vpc-fn2")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(lambdaENIs(t, ec2c, fx.vpc)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("interfaces of a deleted function were not deleted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := ec2c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(fx.groupA)}); err != nil {
		t.Fatalf("group still in use: %v", err)
	}
	// A function that never had a VPC shows no VpcConfig at all.
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("plain"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip}}); err != nil {
		t.Fatal(err)
	}
	plain := s.cliJSON(t, "lambda", "get-function-configuration", "--function-name", "plain")
	if _, has := plain["VpcConfig"]; has {
		t.Fatalf("never-connected function shows VpcConfig: %v", plain["VpcConfig"])
	}
}

// The caller, not only the role, must be allowed to describe what it names.
func TestVpcConfigNeedsCallerPermissions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := ctxT(t)
	ic := iam.NewFromConfig(s.awsConfig("test", "test"))
	allowVpcAccess(t, s)
	fx := makeVpcFixture(t, ec2.NewFromConfig(s.awsConfig("test", "test")), "10.40", "")
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("lambda"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:*","iam:PassRole"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	dev := lambda.NewFromConfig(s.awsConfig(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey))
	in := &lambda.CreateFunctionInput{FunctionName: aws.String("dev-fn"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip},
		VpcConfig: &types.VpcConfig{SubnetIds: []string{fx.subnetA}, SecurityGroupIds: []string{fx.groupA}}}
	_, err = dev.CreateFunction(ctx, in)
	checkAPIError(t, err, "AccessDeniedException", 403, "Your access has been denied by EC2, please make sure your request credentials have permission to DescribeSecurityGroups for "+fx.groupA+". EC2 Error Code: UnauthorizedOperation. EC2 Error Message: You are not authorized to perform this operation.")
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("ec2"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVpcs"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.CreateFunction(ctx, in); err != nil {
		t.Fatalf("with the seed's user permissions: %v", err)
	}
	waitActive(t, dev, "dev-fn")
}

// A function Pending when the server stops (SIGKILL: nothing finishes
// gracefully) becomes Active after the restart, with its interfaces.
func TestVpcFunctionPendingAcrossRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(o *serverOptions) { o.extraArgs = append(o.extraArgs, "--eni-create-delay", "2s") })
	ctx := ctxT(t)
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.50", "")
	out, err := s.lambda().CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("restart-fn"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip},
		VpcConfig: &types.VpcConfig{SubnetIds: []string{fx.subnetA}, SecurityGroupIds: []string{fx.groupA}}})
	if err != nil || out.State != types.StatePending {
		t.Fatalf("%v %v", out, err)
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.start()
	waitActive(t, s.lambda(), "restart-fn")
	if n := len(lambdaENIs(t, ec2.NewFromConfig(s.awsConfig("test", "test")), fx.vpc)); n != 1 {
		t.Fatalf("%d interfaces after the restart", n)
	}
}

// An idle VPC function loses its interfaces and becomes Inactive; the
// next invocation fails with ResourceNotReadyException and brings it back.
func TestVpcFunctionIdleReclaim(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(o *serverOptions) {
		o.extraArgs = append(o.extraArgs, "--idle-reclaim-after", "2s", "--eni-create-delay", "500ms")
	})
	ctx := ctxT(t)
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.60", "")
	lc := s.lambda()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("idle-fn"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip},
		VpcConfig: &types.VpcConfig{SubnetIds: []string{fx.subnetA}, SecurityGroupIds: []string{fx.groupA}}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, lc, "idle-fn")
	invoke(t, lc, "idle-fn", map[string]any{}, invokeOpts{})
	state := func() *lambda.GetFunctionConfigurationOutput {
		out, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("idle-fn")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	deadline := time.Now().Add(15 * time.Second)
	for state().State != types.StateInactive {
		if time.Now().After(deadline) {
			t.Fatal("never became Inactive")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := state(); got.StateReasonCode != types.StateReasonCodeIdle || len(lambdaENIs(t, ec2c, fx.vpc)) != 0 {
		t.Fatalf("inactive: %s, %d interfaces", got.StateReasonCode, len(lambdaENIs(t, ec2c, fx.vpc)))
	}
	_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("idle-fn")})
	checkAPIError(t, err, "ResourceNotReadyException", 502, "")
	if got := state(); got.State != types.StatePending || got.StateReasonCode != types.StateReasonCodeRestoring {
		t.Fatalf("after the failed invocation: %s %s", got.State, got.StateReasonCode)
	}
	waitActive(t, lc, "idle-fn")
	invoke(t, lc, "idle-fn", map[string]any{}, invokeOpts{})
	if n := len(lambdaENIs(t, ec2c, fx.vpc)); n != 1 {
		t.Fatalf("%d interfaces after restoring", n)
	}
}

// What goes wrong while the interfaces are being made lands as Failed with
// the reason code Lambda uses.
func TestVpcFunctionFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(o *serverOptions) { o.extraArgs = append(o.extraArgs, "--eni-create-delay", "1s") })
	ctx := ctxT(t)
	ic := iam.NewFromConfig(s.awsConfig("test", "test"))
	vpcPolicy := aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
	if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("lambda-role"), PolicyArn: vpcPolicy}); err != nil {
		t.Fatal(err)
	}
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.70", "")
	small, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(fx.vpc), CidrBlock: aws.String("10.70.9.0/28")})
	if err != nil {
		t.Fatal(err)
	}
	lc := s.lambda()
	create := func(name, subnet string) {
		t.Helper()
		if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimeNodejs20x,
			Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip},
			VpcConfig: &types.VpcConfig{SubnetIds: []string{subnet}, SecurityGroupIds: []string{fx.groupA}}}); err != nil {
			t.Fatal(err)
		}
	}
	failed := func(name string, code types.StateReasonCode) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			out, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			if out.State == types.StateFailed {
				if out.StateReasonCode != code || aws.ToString(out.StateReason) == "" {
					t.Fatalf("%s failed with %s %q, want %s", name, out.StateReasonCode, aws.ToString(out.StateReason), code)
				}
				return
			}
			if out.State != types.StatePending || time.Now().After(deadline) {
				t.Fatalf("%s is %s, want Failed (%s)", name, out.State, code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The subnet fills up while the function is Pending.
	create("full-fn", *small.Subnet.SubnetId)
	for i := 0; i < 11; i++ {
		if _, err := ec2c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: small.Subnet.SubnetId}); err != nil {
			t.Fatal(err)
		}
	}
	failed("full-fn", types.StateReasonCodeSubnetOutOfIPAddresses)
	// The role loses its EC2 permissions while the function is Pending.
	create("role-fn", fx.subnetA)
	if _, err := ic.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("lambda-role"), PolicyArn: vpcPolicy}); err != nil {
		t.Fatal(err)
	}
	failed("role-fn", types.StateReasonCodeInsufficientRolePermissions)
	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("role-fn")})
	checkAPIError(t, err, "ResourceConflictException", 409, "The operation cannot be performed at this time. The function is currently in the following state: Failed")
}

// A published version keeps its own VPC configuration, and with it its
// interfaces, after $LATEST disconnects.
func TestVpcVersionsPinInterfaces(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := ctxT(t)
	allowVpcAccess(t, s)
	ec2c := ec2.NewFromConfig(s.awsConfig("test", "test"))
	fx := makeVpcFixture(t, ec2c, "10.80", "")
	lc := s.lambda()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("ver-fn"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip},
		VpcConfig: &types.VpcConfig{SubnetIds: []string{fx.subnetA, fx.subnetB}, SecurityGroupIds: []string{fx.groupA}}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, lc, "ver-fn")
	v, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("ver-fn")})
	if err != nil || aws.ToString(v.VpcConfig.VpcId) != fx.vpc {
		t.Fatalf("publish: %+v %v", v, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(lc, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("ver-fn"), Qualifier: aws.String("1")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("ver-fn"),
		VpcConfig: &types.VpcConfig{SubnetIds: []string{}, SecurityGroupIds: []string{}}}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, lc, "ver-fn")
	if n := len(lambdaENIs(t, ec2c, fx.vpc)); n != 2 {
		t.Fatalf("%d interfaces while version 1 still uses the VPC", n)
	}
	invoke(t, lc, "ver-fn:1", map[string]any{}, invokeOpts{})
	if _, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("ver-fn"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if n := len(lambdaENIs(t, ec2c, fx.vpc)); n != 0 {
		t.Fatalf("%d interfaces after the last version using them went", n)
	}
}

// Policies can require a VPC through Lambda's condition keys.
func TestVpcConditionKeys(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := ctxT(t)
	ic := iam.NewFromConfig(s.awsConfig("test", "test"))
	allowVpcAccess(t, s)
	fx := makeVpcFixture(t, ec2.NewFromConfig(s.awsConfig("test", "test")), "10.90", "")
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	// Creating functions is allowed only in this VPC.
	doc := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":["iam:PassRole","ec2:Describe*","lambda:GetFunction*"],"Resource":"*"},
	  {"Effect":"Allow","Action":["lambda:CreateFunction","lambda:UpdateFunctionConfiguration"],"Resource":"*","Condition":{"StringEquals":{"lambda:VpcIds":["` + fx.vpc + `"]}}}]}`
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("vpc-only"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	dev := lambda.NewFromConfig(s.awsConfig(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey))
	in := func(name string, vpc *types.VpcConfig) *lambda.CreateFunctionInput {
		return &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimeNodejs20x, Handler: aws.String("index.handler"),
			Role: aws.String("arn:aws:iam::123456789012:role/lambda-role"), Code: &types.FunctionCode{ZipFile: nodeEchoZip}, VpcConfig: vpc}
	}
	_, err = dev.CreateFunction(ctx, in("outside", nil))
	checkAPIError(t, err, "AccessDeniedException", 403, "")
	if _, err := dev.CreateFunction(ctx, in("inside", &types.VpcConfig{SubnetIds: []string{fx.subnetA}, SecurityGroupIds: []string{fx.groupA}})); err != nil {
		t.Fatalf("in the allowed VPC: %v", err)
	}
	waitActive(t, dev, "inside")
	_, err = dev.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("inside"),
		VpcConfig: &types.VpcConfig{SubnetIds: []string{}, SecurityGroupIds: []string{}}})
	checkAPIError(t, err, "AccessDeniedException", 403, "")
}
