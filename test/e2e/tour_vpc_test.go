package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README tour's VPC part, command for command: a function in a
// private subnet calls STS with boto3 through the NAT gateway, and times
// out once the route to it is gone.
func TestCLITourVpcFunction(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	requireCLI(t)
	requirePython(t)
	s := startServer(t)
	allowVpcAccess(t, s)
	run := func(args ...string) map[string]any { t.Helper(); return s.cliJSON(t, args...) }
	text := func(args ...string) string {
		t.Helper()
		out, errOut, code := s.cli(t, args...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return strings.Trim(strings.TrimSpace(out), `"`)
	}
	vpc := jstr(run("ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"), "Vpc.VpcId")
	pub := jstr(run("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.0.0/24"), "Subnet.SubnetId")
	priv := jstr(run("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.1.0/24"), "Subnet.SubnetId")
	igw := jstr(run("ec2", "create-internet-gateway"), "InternetGateway.InternetGatewayId")
	text("ec2", "attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
	eip := jstr(run("ec2", "allocate-address", "--domain", "vpc"), "AllocationId")
	nat := jstr(run("ec2", "create-nat-gateway", "--subnet-id", pub, "--allocation-id", eip), "NatGateway.NatGatewayId")
	text("ec2", "wait", "nat-gateway-available", "--nat-gateway-ids", nat)
	rt := jstr(run("ec2", "create-route-table", "--vpc-id", vpc), "RouteTable.RouteTableId")
	text("ec2", "create-route", "--route-table-id", rt, "--destination-cidr-block", "0.0.0.0/0", "--nat-gateway-id", nat)
	text("ec2", "associate-route-table", "--route-table-id", rt, "--subnet-id", priv)
	// The public subnet's way out, which the tour's VPC leaves to the default route table.
	main := jstr(run("ec2", "describe-route-tables", "--filters", "Name=vpc-id,Values="+vpc, "Name=association.main,Values=true"), "RouteTables.0.RouteTableId")
	text("ec2", "create-route", "--route-table-id", main, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", igw)

	dir := t.TempDir()
	code := "import boto3\ndef handler(event, context):\n    return boto3.client(\"sts\").get_caller_identity()[\"Arn\"]\n"
	zip, err := makeZip(zipEntry{name: "whoami.py", data: []byte(code), mode: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "whoami.zip")
	if err := os.WriteFile(zipPath, zip, 0o644); err != nil {
		t.Fatal(err)
	}
	sg := jstr(run("ec2", "create-security-group", "--vpc-id", vpc, "--group-name", "fn", "--description", "fn"), "GroupId")
	run("lambda", "create-function", "--function-name", "whoami", "--runtime", pythonRuntime, "--handler", "whoami.handler",
		"--zip-file", "fileb://"+zipPath, "--role", "arn:aws:iam::123456789012:role/lambda-role", "--timeout", "5",
		"--vpc-config", "SubnetIds="+priv+",SecurityGroupIds="+sg)
	text("lambda", "wait", "function-active-v2", "--function-name", "whoami")
	out := filepath.Join(dir, "out.json")
	invoke := func() (map[string]any, string) {
		t.Helper()
		res := run("lambda", "invoke", "--function-name", "whoami", out)
		body, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(body)
	}
	res, body := invoke()
	if jstr(res, "FunctionError") != "" || !strings.Contains(body, "assumed-role/lambda-role/whoami") {
		t.Fatalf("through the NAT gateway: %v %s", res, body)
	}
	text("ec2", "delete-route", "--route-table-id", rt, "--destination-cidr-block", "0.0.0.0/0")
	res, body = invoke()
	if jstr(res, "FunctionError") != "Unhandled" || !strings.Contains(body, "Task timed out") {
		t.Fatalf("without the route: %v %s", res, body)
	}
	enis := run("ec2", "describe-network-interfaces", "--filters", "Name=interface-type,Values=lambda")
	if jstr(enis, "NetworkInterfaces.0.SubnetId") != priv {
		t.Errorf("Hyperplane ENI: %v", enis)
	}
}
